import SCIMCore

/// Groups and their members.
extension PostgresTransaction {
    func insertGroup(_ group: GroupWrite) throws(SCIMError) -> StoredResource {
        let rows = try query("""
            insert into scim.groups as r (tenant_id, display_name, external_id, attributes)
            values (\(tenant), \(group.displayName), \(group.externalId), \(group.attributes.jsonText)::jsonb)
            returning \(Self.groupColumns)
            """)
        return try resource(rows, 0, .group)
    }

    func fetchGroup(id: String, forUpdate: Bool, includeMembers: Bool) throws(SCIMError) -> StoredResource? {
        let rows = try query("""
            select \(Self.groupColumns) from scim.groups r
            where r.tenant_id = \(tenant) and r.id = \(id)::uuid \(forUpdate ? "for update" : "" as SQL)
            """)
        guard !rows.rows.isEmpty else { return nil }
        var group = try resource(rows, 0, .group)
        if includeMembers { group = try withMembers([group])[0] }
        return group
    }

    func listGroups(filter: ResolvedFilter?, window: ListWindow, sort: ResolvedSort?, includeMembers: Bool) throws(SCIMError) -> ListPage {
        var page = try list(table: "scim.groups", columns: Self.groupColumns, renderer: .groups, kind: .group, filter: filter,
                            window: window, sort: sort)
        if includeMembers { page.resources = try withMembers(page.resources) }
        return page
    }

    /// Reads the members of these groups in one statement, from the join table alone (RFC 7643
    /// §8.7.1 gives members value, $ref and type; no display name, so no join to users).
    func withMembers(_ groups: [StoredResource]) throws(SCIMError) -> [StoredResource] {
        guard !groups.isEmpty else { return groups }
        let rows = try query("""
            select m.group_id, m.member_id, m.member_type
            from scim.group_members m
            where m.tenant_id = \(tenant) and m.group_id = any(\(Self.uuidArray(groups.map(\.id)))::uuid[])
            order by m.group_id, m.added_at, m.member_id
            """)
        var members: [String: [JSONValue]] = [:]
        for row in rows.rows {
            guard let group = row[0], let member = row[1], let type = row[2] else { continue }
            let object = JSONObject([("value", .string(member)), ("type", .string(type))])
            members[group, default: []].append(.object(object))
        }
        return groups.map { group in
            var group = group
            group.attributes["members"] = .array(members[group.id] ?? [])
            return group
        }
    }

    func updateGroup(id: String, _ group: GroupWrite) throws(SCIMError) -> StoredResource? {
        let rows = try query("""
            update scim.groups r set display_name = \(group.displayName), external_id = \(group.externalId),
                attributes = \(group.attributes.jsonText)::jsonb,
                \(Self.nextVersion)
            where r.tenant_id = \(tenant) and r.id = \(id)::uuid
            returning \(Self.groupColumns)
            """)
        return rows.rows.isEmpty ? nil : try resource(rows, 0, .group)
    }

    func touchGroup(id: String) throws(SCIMError) {
        try sendWithNextRoundTrip("update scim.groups r set \(Self.nextVersion) where r.tenant_id = \(tenant) and r.id = \(id)::uuid")
    }

    func deleteGroup(id: String) throws(SCIMError) -> Bool {
        // Its own members go with it by the foreign key.
        try deleteResource(table: "scim.groups", id: id)
    }

    func lockMemberships(groupId: String, memberIds: [String], currentMembers: Bool) throws(SCIMError) {
        let ids = memberIds.filter(ResourceID.isValid)
        guard !ids.isEmpty || currentMembers else { return }
        // The membership triggers lock the same rows, in id order, one statement at a time; held
        // already, they cost those statements nothing and no two PATCHes can cross.
        // Two texts, not one with a flag: a flag bound at run time would leave the plan reading
        // every member of a large group for a PATCH that adds one.
        let members: SQL = currentMembers
            ? """
              (u.scim_user_id = any(\(Self.uuidArray(ids))::uuid[]) or u.scim_user_id in (
                  select m.member_id from scim.group_members m where m.tenant_id = \(tenant) and m.group_id = \(groupId)::uuid))
              """
            : "u.scim_user_id = any(\(Self.uuidArray(ids))::uuid[])"
        // The locks are taken by the round trip of the change itself: nothing waits for them alone.
        try sendWithNextRoundTrip("""
            select 1 from app.users u
             where u.tenant_id = \(tenant) and \(members)
             order by u.id
               for update of u
            """)
    }

    func addMembers(groupId: String, memberIds: [String]) throws(SCIMError) -> Int {
        guard !memberIds.isEmpty else { return 0 }
        let invalid = memberIds.filter { !ResourceID.isValid($0) }
        guard invalid.isEmpty else { throw Self.unknownMembers(invalid) }
        // Users looked up by key; groups only when some id is not a user's (Entra's members are
        // users), since a generic plan reads the tenant's groups to find a few of them.
        let ids = Self.uuidArray(memberIds)
        let rows = try query("""
            with wanted as (select distinct unnest(\(ids)::uuid[]) as id),
            users as (
                select u.id from scim.users u where u.tenant_id = \(tenant) and u.id = any(\(ids)::uuid[])
            ),
            found as (
                select id, 'User' as member_type from users
                union all
                select g.id, 'Group' from scim.groups g
                where (select count(*) from users) < (select count(*) from wanted)
                  and g.tenant_id = \(tenant) and g.id = any(\(ids)::uuid[])
            ),
            added as (
                insert into scim.group_members (tenant_id, group_id, member_id, member_type)
                select \(tenant), \(groupId)::uuid, id, member_type from found
                where exists (select 1 from wanted) and (select count(*) from wanted) = (select count(*) from found)
                on conflict do nothing
                returning member_id
            )
            select (select count(*) from added) as added,
                   (select array_agg(w.id::text) from wanted w where w.id not in (select id from found)) as missing
            """)
        if let missing = rows.textArray(0, "missing"), !missing.isEmpty {
            throw Self.unknownMembers(missing)
        }
        return rows.int(0, "added") ?? 0
    }

    static func unknownMembers(_ ids: [String]) -> SCIMError {
        .badRequest(.invalidValue, "No user or group of this tenant has the id \(ids.prefix(5).map { "\"\($0.prefix(100))\"" }.joined(separator: ", "))"
                    + (ids.count > 5 ? " (and \(ids.count - 5) more)" : "") + "; no member was added.")
    }

    func removeMembers(groupId: String, memberIds: [String]?) throws(SCIMError) -> Int {
        if let memberIds {
            let valid = memberIds.filter(ResourceID.isValid)
            guard !valid.isEmpty else { return 0 }
            // Planned for the group at hand: a generic plan cannot tell a 10-member group from a
            // 100,000-member one, and for the large one it read every member to find one.
            let rows = try query("""
                delete from scim.group_members
                where tenant_id = \(tenant) and group_id = \(groupId)::uuid
                  and member_id = any(\(Self.uuidArray(valid))::uuid[])
                """, prepared: false)
            return rows.affected
        }
        let rows = try query("""
            delete from scim.group_members where tenant_id = \(tenant) and group_id = \(groupId)::uuid
            """)
        return rows.affected
    }

    /// `{a,b,c}`: the text form of a uuid[] bind. Only validated UUIDs reach it.
    static func uuidArray(_ ids: [String]) -> String { "{" + ids.joined(separator: ",") + "}" }
}
