-- GET /Users?filter=userName eq "userN@example.com" for random N in the bench tenant.
local token = os.getenv("BENCH_TOKEN")
local users = tonumber(os.getenv("BENCH_USERS") or "100000")
request = function()
    local n = math.random(1, users)
    local path = "/scim/v2/bench/Users?filter=userName%20eq%20%22user" .. n .. "%40example.com%22"
    return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end
