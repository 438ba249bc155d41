-- An Entra-shaped initial cycle, one wrk thread per connection (run with -tN -cN): each thread is
-- one of Entra's workers and walks its share of the tenant in Entra's order, each request waiting
-- for the answer to the one before, as Tests/Operations/entra_cycle.py does with fewer requests a
-- second:
--   users:       GET /Users?filter=userName eq "...", then POST /Users when none is found;
--   groups:      GET /Groups?filter=displayName eq "..."&excludedAttributes=members, then POST;
--   memberships: PATCH add members, 20 at a time, every user of the thread in one of its groups;
--   updates:     PATCH replace displayName on every tenth user.
-- A failed step (5xx, 429, a lost answer) is taken again from its start, so a create whose answer
-- was lost is looked up before it is sent again (a 409 leads to the lookup too).
-- Env: CYCLE_PREFIX /scim/v2/TENANT, CYCLE_TOKEN, CYCLE_NAME (names begin with it), CYCLE_USERS,
--      CYCLE_GROUPS, CYCLE_THREADS (wrk's -t), CYCLE_OUT (folder: each thread writes THREAD.acks and THREAD.done there).
-- bench/cycle_report.py turns the .acks files into the report Tests/Operations/verify_cycle.py reads.
local prefix = os.getenv("CYCLE_PREFIX")
local token = os.getenv("CYCLE_TOKEN")
local name = os.getenv("CYCLE_NAME") or "cycle"
local user_count = tonumber(os.getenv("CYCLE_USERS") or "20000")
local group_count = tonumber(os.getenv("CYCLE_GROUPS") or "50")
local out = os.getenv("CYCLE_OUT")
local thread_count = 0

function setup(thread)
    thread_count = thread_count + 1
    thread:set("thread_number", thread_count)
end

-- Per thread (each has a Lua state of its own): the work, where it stands, and what was acknowledged.
local users, groups, batches, updates = {}, {}, {}, {}
local phase, index, step = "users", 1, "lookup"
local acks = {}
local failed = 0

function init(args)
    local threads = tonumber(os.getenv("CYCLE_THREADS"))
    local number = thread_number
    for i = number - 1, user_count - 1, threads do
        users[#users + 1] = { name = string.format("%s-%05d@example.com", name, i) }
    end
    for g = number - 1, group_count - 1, threads do
        groups[#groups + 1] = { name = string.format("%s group %03d", name, g), members = {} }
    end
    for i = 10, #users, 10 do updates[#updates + 1] = users[i] end
    wrk.headers["Authorization"] = "Bearer " .. token
    wrk.headers["Content-Type"] = "application/scim+json"
end

local function quoted(value)
    return (('"' .. value .. '"'):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local function patch(path, operation)
    return wrk.format("PATCH", prefix .. path, nil,
        '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[' .. operation .. ']}')
end

-- The memberships, once every user is in: the thread's users dealt round its groups, 20 a batch.
local function plan_batches()
    if #groups == 0 then return end
    local per_group = {}
    for g = 1, #groups do per_group[g] = {} end
    for i, user in ipairs(users) do
        if user.id then table.insert(per_group[(i - 1) % #groups + 1], user.id) end
    end
    for g, ids in ipairs(per_group) do
        for first = 1, #ids, 20 do
            local batch = { group = groups[g], ids = {} }
            for k = first, math.min(first + 19, #ids) do batch.ids[#batch.ids + 1] = ids[k] end
            batches[#batches + 1] = batch
        end
    end
end

local function advance()
    index, step = index + 1, "lookup"
    local lengths = { users = #users, groups = #groups, memberships = #batches, updates = #updates }
    while phase ~= "done" and index > lengths[phase] do
        if phase == "users" then phase = "groups"
        elseif phase == "groups" then plan_batches(); lengths.memberships = #batches; phase = "memberships"
        elseif phase == "memberships" then phase = "updates"
        else phase = "done" end
        index = 1
    end
    if phase == "done" then
        local file = io.open(out .. "/" .. thread_number .. ".acks", "w")
        acks[#acks + 1] = "failed " .. failed
        file:write(table.concat(acks, "\n"), "\n")
        file:close()
        io.open(out .. "/" .. thread_number .. ".done", "w"):close()
        wrk.thread:stop()
    end
end

function request()
    if phase == "users" or phase == "groups" then
        local item = (phase == "users" and users or groups)[index]
        if step == "lookup" then
            if phase == "users" then
                return wrk.format("GET", prefix .. "/Users?filter=userName%20eq%20" .. quoted(item.name))
            end
            return wrk.format("GET", prefix .. "/Groups?filter=displayName%20eq%20" .. quoted(item.name) .. "&excludedAttributes=members")
        end
        if phase == "users" then
            local short = item.name:match("^[^@]+")
            return wrk.format("POST", prefix .. "/Users", nil, string.format(
                '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s","active":true,"displayName":"User %s",'
                .. '"name":{"givenName":"Given","familyName":"%s"},"emails":[{"value":"%s","type":"work","primary":true}]}',
                item.name, short, short, item.name))
        end
        return wrk.format("POST", prefix .. "/Groups", nil,
            string.format('{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"%s"}', item.name))
    elseif phase == "memberships" then
        local batch = batches[index]
        local values = {}
        for k, id in ipairs(batch.ids) do values[k] = '{"value":"' .. id .. '"}' end
        return patch("/Groups/" .. batch.group.id, '{"op":"add","path":"members","value":[' .. table.concat(values, ",") .. ']}')
    elseif phase == "updates" then
        local user = updates[index]
        return patch("/Users/" .. user.id, '{"op":"replace","path":"displayName","value":"Updated ' .. user.name:match("^[^@]+") .. '"}')
    end
    -- Asked for one more after the thread stopped: a harmless read.
    return wrk.format("GET", prefix .. "/ServiceProviderConfig")
end

function response(status, headers, body)
    if phase == "users" or phase == "groups" then
        local item = (phase == "users" and users or groups)[index]
        if step == "lookup" and status == 200 then
            local total = tonumber(body:match('"totalResults"%s*:%s*(%d+)'))
            if total == 0 then
                step = "create"
                return
            elseif total == 1 then
                item.id = body:match('"id"%s*:%s*"([^"]+)"')
            end
        elseif step == "create" and status == 201 then
            item.id = body:match('"id"%s*:%s*"([^"]+)"')
        end
        if item.id then
            acks[#acks + 1] = (phase == "users" and "user " or "group ") .. item.id .. " " .. item.name
            advance()
        else
            if status ~= 409 then failed = failed + 1 end
            step = "lookup"
        end
    elseif phase == "memberships" then
        if status == 200 or status == 204 then
            local batch = batches[index]
            acks[#acks + 1] = "members " .. batch.group.id .. " " .. table.concat(batch.ids, " ")
            advance()
        else
            failed = failed + 1
        end
    elseif phase == "updates" then
        if status == 200 or status == 204 then
            acks[#acks + 1] = "update " .. updates[index].id
            advance()
        else
            failed = failed + 1
        end
    end
end
