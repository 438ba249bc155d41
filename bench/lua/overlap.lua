-- Memberships as Okta changes them, where users sit in several groups: every request adds 20
-- users drawn at random to a group drawn at random, or removes 20 such users from one, so
-- concurrent PATCHes to different groups keep meeting the same users (and their role refreshes
-- the same application users). Env: BENCH_TOKEN, BENCH_PREFIX (/scim/v2/TENANT), BENCH_GROUPS and
-- BENCH_IDS (files of group and user ids, one a line).
local token = os.getenv("BENCH_TOKEN")
local prefix = os.getenv("BENCH_PREFIX")
local function lines(path)
    local all = {}
    for line in io.lines(path) do all[#all + 1] = line end
    return all
end
local groups, ids = lines(os.getenv("BENCH_GROUPS")), lines(os.getenv("BENCH_IDS"))
request = function()
    local values = {}
    for i = 1, 20 do values[i] = '{"value":"' .. ids[math.random(1, #ids)] .. '"}' end
    local op = math.random(1, 2) == 1 and "add" or "remove"
    return wrk.format("PATCH", prefix .. "/Groups/" .. groups[math.random(1, #groups)],
        {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/scim+json"},
        '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"' .. op
        .. '","path":"members","value":[' .. table.concat(values, ",") .. ']}]}')
end
done = function(summary, latency, requests)
    io.write(string.format("overlap: requests=%d non2xx3xx=%d rps=%.1f p50=%.2fms p99=%.2fms\n", summary.requests,
        summary.errors.status, summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
        latency:percentile(99) / 1000))
end
