-- POST /Users with a name no other request uses (thread id, counter, random run prefix).
local token = os.getenv("BENCH_TOKEN")
local run = os.getenv("BENCH_RUN") or "0"
local counter = 0
local thread_id = 0
setup = function(thread) thread:set("tid", thread_id); thread_id = thread_id + 1 end
init = function() thread_tag = tid end
request = function()
    counter = counter + 1
    local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"new-' .. run .. '-' .. thread_tag .. '-' .. counter ..
        '@example.com","name":{"givenName":"New","familyName":"User"},"emails":[{"value":"n@example.com","type":"work","primary":true}],"active":true}'
    return wrk.format("POST", "/scim/v2/bench/Users",
        {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/scim+json"}, body)
end
done = function(summary, latency, requests)
    io.write(string.format("create: requests=%d non2xx3xx=%d p50=%.2fms\n", summary.requests, summary.errors.status,
        latency:percentile(50) / 1000))
end
