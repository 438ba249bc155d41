#!/usr/bin/env bash
# Draws req/s against concurrency for GET and POST, with the pgbench ceilings as horizontal lines,
# as an SVG on stdout (no plotting package needed). Usage:
#   bench/chart.sh SELECT_TPS INSERT_TPS "1:r 4:r 16:r 64:r" "1:r 4:r 16:r 64:r"
set -euo pipefail
awk -v select_tps="$1" -v insert_tps="$2" -v get="$3" -v post="$4" '
function x(i) { return 70 + i * 170 }
# A logarithmic scale: the ceilings are ten to a hundred times what one request path reaches.
function lg(v) { return log(v < 1 ? 1 : v) / log(10) }
function y(v) { return 330 - (lg(v) - lg(bottom)) / (lg(top) - lg(bottom)) * 290 }
function series(points, color, label,   n, i, pair, path) {
    n = split(points, pair_list, " ")
    path = ""
    for (i = 1; i <= n; i++) {
        split(pair_list[i], pair, ":")
        path = path (i == 1 ? "M" : " L") x(i - 1) "," y(pair[2] + 0)
        printf "<circle cx=\"%d\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", x(i - 1), y(pair[2] + 0), color
        printf "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" fill=\"%s\" text-anchor=\"middle\">%d</text>\n", x(i - 1), y(pair[2] + 0) - 8, color, pair[2] + 0.5
    }
    printf "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>\n", path, color
}
function ceiling(v, color, label) {
    printf "<line x1=\"60\" x2=\"640\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-dasharray=\"6 4\"/>\n", y(v), y(v), color
    printf "<text x=\"636\" y=\"%.1f\" font-size=\"11\" fill=\"%s\" text-anchor=\"end\">%s %d tps</text>\n", y(v) - 4, color, label, v + 0.5
}
BEGIN {
    top = select_tps > insert_tps ? select_tps : insert_tps
    n = split(get " " post, all, " ")
    for (i = 1; i <= n; i++) { split(all[i], p, ":"); if (p[2] + 0 > top) top = p[2] + 0 }
    top = top * 1.5
    bottom = top
    for (i = 1; i <= n; i++) { split(all[i], p, ":"); if (p[2] + 0 > 0 && p[2] + 0 < bottom) bottom = p[2] + 0 }
    bottom = bottom / 2
    print "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"660\" height=\"380\" font-family=\"DejaVu Sans, sans-serif\">"
    print "<rect width=\"660\" height=\"380\" fill=\"white\"/>"
    print "<text x=\"330\" y=\"22\" font-size=\"14\" text-anchor=\"middle\">req/s by concurrency (log scale); dashed: the database ceiling</text>"
    print "<line x1=\"60\" x2=\"640\" y1=\"330\" y2=\"330\" stroke=\"#555\"/><line x1=\"60\" x2=\"60\" y1=\"40\" y2=\"330\" stroke=\"#555\"/>"
    for (g = 1; g <= top; g *= 10) if (g >= bottom) {
        printf "<line x1=\"60\" x2=\"640\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", y(g), y(g)
        printf "<text x=\"54\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%d</text>\n", y(g) + 4, g
    }
    split("1 4 16 64", labels, " ")
    for (i = 1; i <= 4; i++) printf "<text x=\"%d\" y=\"348\" font-size=\"12\" text-anchor=\"middle\">%s clients</text>\n", x(i - 1), labels[i]
    ceiling(select_tps, "#1f6feb", "SELECT ceiling")
    ceiling(insert_tps, "#d1242f", "INSERT ceiling")
    series(get, "#1f6feb", "GET")
    series(post, "#d1242f", "POST")
    print "<text x=\"70\" y=\"370\" font-size=\"12\" fill=\"#1f6feb\">GET /Users?filter=userName eq</text>"
    print "<text x=\"330\" y=\"370\" font-size=\"12\" fill=\"#d1242f\">POST /Users</text>"
    print "</svg>"
}'
