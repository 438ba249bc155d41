-- PATCH one member into (or out of) a group: alternately add and remove a random user.
local token = os.getenv("BENCH_TOKEN")
local group = os.getenv("BENCH_GROUP")
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
local flip = false
request = function()
    flip = not flip
    local id = ids[math.random(1, #ids)]
    local body
    if flip then
        body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"' .. id .. '"}]}]}'
    else
        body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \\"' .. id .. '\\"]"}]}'
    end
    return wrk.format("PATCH", "/scim/v2/bench/Groups/" .. group,
        {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/scim+json"}, body)
end
