-- Entra's membership change: PATCH a group with 20 members at a time, added and then removed again
-- (value arrays, as Entra sends them), the 20 drawn at random from BENCH_IDS.
local token = os.getenv("BENCH_TOKEN")
local tenant = os.getenv("BENCH_TENANT")
local group = os.getenv("BENCH_GROUP")
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
local adding = false
local batch = {}
request = function()
    adding = not adding
    if adding then
        batch = {}
        for i = 1, 20 do batch[i] = '{"value":"' .. ids[math.random(1, #ids)] .. '"}' end
    end
    local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"'
        .. (adding and "add" or "remove") .. '","path":"members","value":[' .. table.concat(batch, ",") .. ']}]}'
    return wrk.format("PATCH", "/scim/v2/" .. tenant .. "/Groups/" .. group,
        {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/scim+json"}, body)
end
done = function(summary, latency, requests)
    io.write(string.format("members20: requests=%d non2xx3xx=%d p50=%.2fms\n", summary.requests, summary.errors.status,
        latency:percentile(50) / 1000))
end
