# What a wrk run printed, read back: sourced by bench/run.sh, bench/ha.sh and bench/cycle.sh.
rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
# Non-2xx answers and socket errors (connect, read, write, timeout) together.
errors() { awk '/Non-2xx/ {n += $NF} /Socket errors/ {for (i = 4; i <= NF; i += 2) n += $i} END {print n + 0}' "$1"; }
