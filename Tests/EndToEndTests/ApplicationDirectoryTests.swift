import Foundation
import Testing
@testable import SCIMCore

/// A tenant with an admin client as well, and the mappings the tests share: departments
/// Engineering and Sales ("eng" maps to Engineering), roles Editor and Viewer, groups "Editors"
/// -> Editor, "Staff" -> Viewer and "Writers" -> Editor.
struct DirectoryTenant {
    let tenant: TestTenant
    let admin: SCIMClient

    static func make() async throws -> DirectoryTenant {
        let tenant = try TestTenant.make()
        let (baseURL, _) = try Stack.require()
        let admin = SCIMClient(base: "\(baseURL)/admin/v1/\(tenant.slug)", token: try TestTenant.createKey(tenant.slug, scope: "admin"))
        let directory = DirectoryTenant(tenant: tenant, admin: admin)
        for name in ["Engineering", "Sales"] { try await directory.expect(201, "POST", "/departments", #"{"name":"\#(name)"}"#) }
        for name in ["Editor", "Viewer"] { try await directory.expect(201, "POST", "/roles", #"{"name":"\#(name)"}"#) }
        try await directory.expect(201, "POST", "/department-mappings", #"{"sourceValue":"ENG","department":"Engineering"}"#)
        for (group, role) in [("Editors", "Editor"), ("Staff", "Viewer"), ("Writers", "Editor")] {
            try await directory.expect(201, "POST", "/group-role-mappings", #"{"matchBy":"displayName","matchValue":"\#(group)","role":"\#(role)"}"#)
        }
        return directory
    }

    @discardableResult
    func expect(_ status: Int, _ method: String, _ path: String, _ body: String? = nil,
                sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONObject {
        let response = try await admin.request(method, path, body: body)
        #expect(response.status == status, "\(method) \(path): \(response.text)", sourceLocation: sourceLocation)
        return response.object ?? JSONObject()
    }

    /// The application user of a SCIM user, as the admin API shows it.
    func applicationUser(_ scimId: String) async throws -> JSONObject {
        try await expect(200, "GET", "/users/\(scimId)")
    }

    /// Role names with their source ("Editor<-Editors", "Viewer<-manual").
    func roles(_ scimId: String) async throws -> [String] {
        let user = try await applicationUser(scimId)
        return (user["roles"]?.arrayValue ?? []).compactMap { role in
            guard let object = role.objectValue, let name = object["role"]?.stringValue else { return nil }
            return name + "<-" + (object["group"]?.stringValue ?? object["source"]?.stringValue ?? "?")
        }.sorted()
    }

    func createGroup(_ name: String, members: [String] = []) async throws -> String {
        let list = members.map { #"{"value":"\#($0)"}"# }.joined(separator: ",")
        let response = try await tenant.client.post("/Groups", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"\#(name)","members":[\#(list)]}"#)
        #expect(response.status == 201, "\(response.text)")
        return try #require(response.object?["id"]?.stringValue)
    }

    /// PATCHes a SCIM user's `active`, as Entra deactivates and reactivates; the answer's status.
    func setActive(_ user: String, _ active: Bool) async throws -> Int {
        try await tenant.client.patch("/Users/\(user)", #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":\#(active)}]}"#).status
    }

    func patchMembers(_ group: String, _ op: String, _ user: String) async throws -> Int {
        let body = op == "add"
            ? #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"\#(user)"}]}]}"#
            : #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"\#(user)\"]"}]}"#
        return try await tenant.client.patch("/Groups/\(group)", body).status
    }

    /// Waits for the tenant's newest re-apply job to finish (idle responders work it off).
    func waitForReapply(sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONObject {
        for _ in 0..<100 {
            let jobs = try await expect(200, "GET", "/jobs")
            if let newest = jobs["items"]?.arrayValue?.first?.objectValue, newest["state"]?.stringValue == "done" { return newest }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        Issue.record("the re-apply job did not finish within 10 s", sourceLocation: sourceLocation)
        return JSONObject()
    }
}

func entraUser(_ userName: String, given: String, family: String, department: String, manager: String? = nil,
               email: String? = nil, title: String = "Engineer") -> String {
    let managerPart = manager.map { #","manager":{"value":"\#($0)"}"# } ?? ""
    return #"""
        {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
         "externalId":"\#(userName.prefix(5))","userName":"\#(userName)","active":true,"displayName":"\#(given) \#(family)",
         "title":"\#(title)","preferredLanguage":"en-US",
         "emails":[{"primary":true,"type":"work","value":"\#(email ?? userName)"}],
         "name":{"formatted":"\#(given) \#(family)","familyName":"\#(family)","givenName":"\#(given)"},
         "phoneNumbers":[{"type":"work","value":"+1 555 0100"},{"type":"mobile","value":"+1 555 0199"}],
         "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"E-\#(given)","department":"\#(department)"\#(managerPart)}}
        """#
}

@Suite("Application directory: SCIM provisioning becomes users, departments and roles", .enabled(if: Stack.available))
struct ApplicationDirectoryTests {
    @Test("an Entra cycle fills the application tables with exactly the mapped fields, departments, managers and roles")
    func entraCycle() async throws {
        let directory = try await DirectoryTenant.make()
        let client = directory.tenant.client
        let boss = try await client.post("/Users", entraUser("boss@contoso.com", given: "Bea", family: "Boss", department: "Sales"))
        let bossId = try #require(boss.object?["id"]?.stringValue)
        let alice = try await client.post("/Users", entraUser("alice@contoso.com", given: " Alice ", family: "Smith", department: "eng", manager: bossId))
        let aliceId = try #require(alice.object?["id"]?.stringValue)
        let editors = try await directory.createGroup("Editors", members: [aliceId])
        _ = try await directory.createGroup("Staff", members: [aliceId, bossId])
        _ = editors

        let user = try await directory.applicationUser(aliceId)
        #expect(user["username"]?.stringValue == "alice@contoso.com")
        #expect(user["email"]?.stringValue == "alice@contoso.com")
        #expect(user["firstName"]?.stringValue == "Alice", "trimmed by the default mapping")
        #expect(user["lastName"]?.stringValue == "Smith")
        #expect(user["displayName"]?.stringValue == " Alice  Smith".trimmingCharacters(in: .whitespaces))
        #expect(user["phone"]?.stringValue == "+1 555 0100")
        #expect(user["mobile"]?.stringValue == "+1 555 0199")
        #expect(user["jobTitle"]?.stringValue == "Engineer")
        #expect(user["employeeNumber"]?.stringValue == "E- Alice")
        #expect(user["department"]?.stringValue == "Engineering", "\"eng\" maps to Engineering, ignoring case")
        #expect(user["manager"]?.stringValue == "boss@contoso.com")
        #expect(user["locale"]?.stringValue == "en-US")
        #expect(user["active"]?.boolValue == true)
        #expect(try await directory.roles(aliceId) == ["Editor<-Editors", "Viewer<-Staff"])
        let bossUser = try await directory.applicationUser(bossId)
        #expect(bossUser["department"]?.stringValue == "Sales", "a department of the same name needs no mapping")
        #expect(try await directory.roles(bossId) == ["Viewer<-Staff"])

        // An Entra default-dialect update: the application user follows in the same request.
        let patch = try await client.patch("/Users/\(aliceId)", #"""
            {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
             {"op":"Replace","path":"title","value":"Staff Engineer"},
             {"op":"Replace","path":"phoneNumbers[type eq \"mobile\"].value","value":"+1 555 0123"}]}
            """#)
        #expect(patch.status == 200)
        let updated = try await directory.applicationUser(aliceId)
        #expect(updated["jobTitle"]?.stringValue == "Staff Engineer")
        #expect(updated["mobile"]?.stringValue == "+1 555 0123")

        // A manager provisioned after the report is linked when it arrives.
        let late = try await client.post("/Users", entraUser("carl@contoso.com", given: "Carl", family: "Late", department: "eng",
                                                              manager: "11111111-2222-3333-4444-555555555555"))
        let carlId = try #require(late.object?["id"]?.stringValue)
        #expect(try await directory.applicationUser(carlId)["manager"] == .null)
    }

    @Test("membership changes, renames, deactivation and deletion grant and revoke exactly the group-derived roles; manual roles stay")
    func roleLifecycle() async throws {
        let directory = try await DirectoryTenant.make()
        let client = directory.tenant.client
        let (userId, _) = try await client.createUser("roles@contoso.com")
        let editors = try await directory.createGroup("Editors")
        let writers = try await directory.createGroup("Writers")
        let other = try await directory.createGroup("Unmapped")
        try await directory.expect(200, "POST", "/users/\(userId)/roles", #"{"role":"Viewer"}"#)
        #expect(try await directory.roles(userId) == ["Viewer<-manual"])

        #expect(try await directory.patchMembers(editors, "add", userId) == 204)
        #expect(try await directory.patchMembers(writers, "add", userId) == 204)
        #expect(try await directory.patchMembers(other, "add", userId) == 204)
        #expect(try await directory.roles(userId) == ["Editor<-Editors", "Editor<-Writers", "Viewer<-manual"])

        // Removed from one granting group: the other still grants the role.
        #expect(try await directory.patchMembers(editors, "remove", userId) == 204)
        #expect(try await directory.roles(userId) == ["Editor<-Writers", "Viewer<-manual"])

        // Renamed out of its mapping, then back in.
        let rename = { (name: String) async throws -> Int in
            try await client.patch("/Groups/\(writers)", #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"\#(name)"}]}"#).status
        }
        #expect(try await rename("Authors") == 204)
        #expect(try await directory.roles(userId) == ["Viewer<-manual"])
        let missing = try await directory.expect(200, "GET", "/errors?kind=mapped_group_missing&resolved=false&text=writers")
        #expect(missing["totalResults"]?.intValue == 1, "the Writers mapping now matches no group: \(missing)")
        #expect(missing["items"]?.arrayValue?.first?.objectValue?["cause"]?.stringValue == "displayName Writers")
        #expect(try await rename("writers") == 204)
        #expect(try await directory.roles(userId) == ["Editor<-writers", "Viewer<-manual"])
        let resolved = try await directory.expect(200, "GET", "/errors?kind=mapped_group_missing&resolved=false&text=writers")
        #expect(resolved["totalResults"]?.intValue == 0)

        // Deactivated: no group-derived role, manual kept; reactivated: back.
        #expect(try await directory.setActive(userId, false) == 200)
        var user = try await directory.applicationUser(userId)
        #expect(user["active"]?.boolValue == false)
        #expect(user["deprovisionedAt"] != .null)
        #expect(try await directory.roles(userId) == ["Viewer<-manual"])
        #expect(try await directory.setActive(userId, true) == 200)
        #expect(try await directory.roles(userId) == ["Editor<-writers", "Viewer<-manual"])

        // A deleted group takes its roles along.
        #expect(try await client.delete("/Groups/\(writers)").status == 204)
        #expect(try await directory.roles(userId) == ["Viewer<-manual"])

        // A deleted user stays in the application: inactive, unlinked, manual role kept.
        #expect(try await directory.patchMembers(editors, "add", userId) == 204)
        let applicationId = try #require(try await directory.applicationUser(userId)["id"]?.stringValue)
        #expect(try await client.delete("/Users/\(userId)").status == 204)
        user = try await directory.applicationUser(applicationId)
        #expect(user["active"]?.boolValue == false)
        #expect(user["scimUserId"] == .null)
        #expect(try await directory.roles(applicationId) == ["Viewer<-manual"])

        // Re-created under the same name, the user gets the same application user back.
        let (again, _) = try await client.createUser("roles@contoso.com")
        user = try await directory.applicationUser(again)
        #expect(user["id"]?.stringValue == applicationId)
        #expect(user["active"]?.boolValue == true)
    }

    @Test("a mapping change is previewed by a dry run (nothing saved), then saved and re-applied to existing users in batches")
    func mappingChangeWithDryRun() async throws {
        let directory = try await DirectoryTenant.make()
        let client = directory.tenant.client
        var ids: [String] = []
        for i in 0..<230 {
            let response = try await client.post("/Users", entraUser("bulk\(i)@contoso.com", given: "U\(i)", family: "Bulk", department: "eng"))
            ids.append(try #require(response.object?["id"]?.stringValue))
        }
        let mappings = try await directory.expect(200, "GET", "/column-mappings")
        let jobTitle = try #require(mappings["items"]?.arrayValue?.first { $0.objectValue?["field"]?.stringValue == "job_title" }?.objectValue)
        let mappingId = try #require(jobTitle["id"]?.stringValue)
        let change = #"{"scimPath":"title","field":"job_title","transforms":["trim","uppercase"]}"#

        let preview = try await directory.expect(200, "PUT", "/column-mappings/\(mappingId)?dryRun=true", change)
        #expect(preview["dryRun"]?.boolValue == true)
        #expect(preview["usersEvaluated"]?.intValue == 230)
        #expect(preview["usersChanged"]?.intValue == 230)
        #expect(preview["changesByField"]?.objectValue?["jobTitle"]?.intValue == 230)
        let sample = try #require(preview["samples"]?.arrayValue?.first?.objectValue)
        #expect(sample["before"]?.objectValue?["jobTitle"]?.stringValue == "Engineer")
        #expect(sample["after"]?.objectValue?["jobTitle"]?.stringValue == "ENGINEER")
        #expect(try await directory.applicationUser(ids[0])["jobTitle"]?.stringValue == "Engineer", "a dry run saves nothing")
        let unchanged = try await directory.expect(200, "GET", "/column-mappings")
        #expect(unchanged == mappings)

        let saved = try await directory.expect(200, "PUT", "/column-mappings/\(mappingId)", change)
        #expect(saved["reapplyJob"]?.objectValue?["totalUsers"]?.intValue == 230)
        let job = try await directory.waitForReapply()
        #expect(job["processed"]?.intValue == 230)
        #expect(job["changed"]?.intValue == 230)
        for id in [ids[0], ids[229]] {
            #expect(try await directory.applicationUser(id)["jobTitle"]?.stringValue == "ENGINEER")
        }
        // New provisioning uses the new mapping at once.
        let (fresh, _) = try await client.createUser("fresh@contoso.com", extra: #","title":"lead""#)
        #expect(try await directory.applicationUser(fresh)["jobTitle"]?.stringValue == "LEAD")

        let changes = try await directory.expect(200, "GET", "/changes")
        let latest = try #require(changes["items"]?.arrayValue?.first?.objectValue)
        #expect(latest["kind"]?.stringValue == "column_mapping")
        #expect(latest["action"]?.stringValue == "update")
        #expect(latest["old"]?.objectValue?["transforms"] == .array([.string("trim")]))
        #expect(latest["changedBy"]?.stringValue?.hasPrefix("admin-api:sk_") == true || latest["changedBy"]?.stringValue?.hasPrefix("admin-api:") == true)
    }

    @Test("unmapped departments and values that do not fit become errors grouped by cause, resolved when fixed or by an admin")
    func mappingErrors() async throws {
        let directory = try await DirectoryTenant.make()
        let client = directory.tenant.client
        var ids: [String] = []
        for i in 0..<3 {
            let response = try await client.post("/Users", entraUser("err\(i)@contoso.com", given: "E\(i)", family: "Rr", department: "Research",
                                                                   email: i == 0 ? "not-an-address" : nil))
            #expect(response.status == 201, "mapping problems never fail the SCIM request")
            ids.append(try #require(response.object?["id"]?.stringValue))
        }
        let summary = try await directory.expect(200, "GET", "/errors/summary")
        let groups = summary["items"]?.arrayValue?.compactMap(\.objectValue) ?? []
        let research = try #require(groups.first { $0["kind"]?.stringValue == "unmapped_department" })
        #expect(research["cause"]?.stringValue == "research")
        #expect(research["resources"]?.intValue == 3)
        #expect(research["suggestion"]?.stringValue?.contains("department mapping") == true)
        let email = try #require(groups.first { $0["kind"]?.stringValue == "invalid_field_value" })
        #expect(email["cause"]?.stringValue == "email")
        #expect(email["resources"]?.intValue == 1)
        let withoutEmail = try await directory.applicationUser(ids[0])
        #expect(withoutEmail["email"] == .null, "a value that does not fit is left out")
        #expect(withoutEmail["department"] == .null)

        // The fix: a mapping, re-applied; the errors resolve themselves.
        try await directory.expect(201, "POST", "/department-mappings", #"{"sourceValue":"research","department":"Engineering"}"#)
        _ = try await directory.waitForReapply()
        let open = try await directory.expect(200, "GET", "/errors?kind=unmapped_department&resolved=false")
        #expect(open["totalResults"]?.intValue == 0)
        let closed = try await directory.expect(200, "GET", "/errors?kind=unmapped_department&resolved=true")
        #expect(closed["items"]?.arrayValue?.first?.objectValue?["resolvedBy"]?.stringValue == "system")

        // A rejected SCIM request is an error too; an admin marks it resolved.
        #expect(try await client.post("/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"err1@contoso.com"}"#).status == 409)
        let rejected = try await directory.expect(200, "GET", "/errors?kind=rejected_request&resolved=false")
        let item = try #require(rejected["items"]?.arrayValue?.first?.objectValue)
        #expect(item["detail"]?.stringValue?.contains("already exists") == true)
        let resolved = try await directory.expect(200, "POST", "/errors/\(try #require(item["id"]?.stringValue))/resolve")
        #expect(resolved["resolvedBy"]?.stringValue?.hasPrefix("admin-api:") == true)
    }

    @Test("concurrent PATCHes adding one user to two mapped groups, and removals racing adds, leave exactly the right roles")
    func concurrentRoleGrants() async throws {
        let directory = try await DirectoryTenant.make()
        let client = directory.tenant.client
        let editors = try await directory.createGroup("Editors")
        let writers = try await directory.createGroup("Writers")
        for round in 0..<8 {
            let (userId, _) = try await client.createUser("race\(round)@contoso.com")
            // Two groups granting the same role, at once.
            async let a = directory.patchMembers(editors, "add", userId)
            async let b = directory.patchMembers(writers, "add", userId)
            #expect(try await [a, b] == [204, 204])
            #expect(try await directory.roles(userId) == ["Editor<-Editors", "Editor<-Writers"])
            // Removal from one racing a re-add to the other: Writers still grants the role.
            async let c = directory.patchMembers(editors, "remove", userId)
            async let d = directory.patchMembers(writers, "add", userId)
            #expect(try await [c, d] == [204, 204])
            #expect(try await directory.roles(userId) == ["Editor<-Writers"])
            // Removal from both at once: the role goes.
            async let e = directory.patchMembers(writers, "remove", userId)
            async let f = directory.patchMembers(editors, "remove", userId)
            #expect(try await [e, f] == [204, 204])
            #expect(try await directory.roles(userId) == [])
        }
    }

    @Test("a membership added while its user is deactivated, at once or before, grants no role; reactivation grants it")
    func membershipRacingDeactivation() async throws {
        let directory = try await DirectoryTenant.make()
        let client = directory.tenant.client
        let editors = try await directory.createGroup("Editors")
        for round in 0..<8 {
            let (userId, _) = try await client.createUser("deactivated\(round)@contoso.com")
            async let added = directory.patchMembers(editors, "add", userId)
            async let deactivated = directory.setActive(userId, false)
            #expect(try await [added, deactivated] == [204, 200])
            #expect(try await directory.roles(userId) == [], "round \(round): an inactive member holds no group role")
            #expect(try await directory.setActive(userId, true) == 200)
            #expect(try await directory.roles(userId) == ["Editor<-Editors"], "round \(round)")
        }
        let (late, _) = try await client.createUser("inactive-first@contoso.com")
        #expect(try await directory.setActive(late, false) == 200)
        #expect(try await directory.patchMembers(editors, "add", late) == 204)
        #expect(try await directory.roles(late) == [])
        #expect(try await directory.patchMembers(editors, "remove", late) == 204)
        #expect(try await directory.setActive(late, true) == 200)
        #expect(try await directory.roles(late) == [], "removed before reactivation: nothing to grant")
    }
}

@Suite("Admin API: keys, scopes and settings", .enabled(if: Stack.available))
struct AdminAPITests {
    @Test("a scim key cannot use the admin API and an admin key cannot provision")
    func scopesAreSeparate() async throws {
        let directory = try await DirectoryTenant.make()
        let scimOnAdmin = try await directory.admin.with(token: directory.tenant.token).get("/settings")
        expectSCIMError(scimOnAdmin, status: 403)
        let adminOnSCIM = try await directory.tenant.client.with(token: directory.admin.token).get("/Users")
        expectSCIMError(adminOnSCIM, status: 403)
        let nobody = try await directory.admin.with(token: nil).get("/settings")
        expectSCIMError(nobody, status: 401)
        // Another tenant's admin key sees nothing of this tenant.
        let other = try await DirectoryTenant.make()
        expectSCIMError(try await directory.admin.with(token: other.admin.token).get("/settings"), status: 401)
    }

    @Test("settings: Enable SCIM switch and endpoint URL; bad input is a SCIM error that changes nothing")
    func settings() async throws {
        let directory = try await DirectoryTenant.make()
        let settings = try await directory.expect(200, "GET", "/settings")
        #expect(settings["endpointUrl"]?.stringValue?.hasSuffix("/scim/v2/\(directory.tenant.slug)") == true)
        #expect(settings["scimEnabled"]?.boolValue == true)
        try await directory.expect(200, "PATCH", "/settings", #"{"scimEnabled":false}"#)
        expectSCIMError(try await directory.tenant.client.get("/Users"), status: 403)
        try await directory.expect(200, "PATCH", "/settings", #"{"scimEnabled":true}"#)
        #expect(try await directory.tenant.client.get("/Users").status == 200)
        expectSCIMError(try await directory.admin.request("PATCH", "/settings", body: #"{"scimEnabled":"yes"}"#), status: 400, scimType: "invalidValue")
        expectSCIMError(try await directory.admin.request("POST", "/column-mappings", body: #"{"scimPath":"nosuch.attr","field":"email"}"#),
                        status: 400, scimType: "invalidPath")
        expectSCIMError(try await directory.admin.request("POST", "/column-mappings", body: #"{"scimPath":"title","field":"nosuch"}"#),
                        status: 400, scimType: "invalidValue")
        expectSCIMError(try await directory.admin.request("POST", "/departments", body: #"{"name":"engineering"}"#), status: 409)
        expectSCIMError(try await directory.admin.request("POST", "/departments", body: "{"), status: 400, scimType: "invalidSyntax")
        let departments = try await directory.expect(200, "GET", "/departments")
        #expect(departments["totalResults"]?.intValue == 2)
        // Renames: a department (users follow by id; the mappings are re-applied) and a role.
        let sales = try #require(departments["items"]?.arrayValue?.compactMap(\.objectValue).first { $0["name"]?.stringValue == "Sales" })
        let salesId = try #require(sales["id"]?.stringValue)
        expectSCIMError(try await directory.admin.request("PUT", "/departments/\(salesId)", body: #"{"name":"ENGINEERING"}"#), status: 409)
        let renamed = try await directory.expect(200, "PUT", "/departments/\(salesId)", #"{"name":"Sales & Marketing"}"#)
        #expect(renamed["name"]?.stringValue == "Sales & Marketing")
        let roles = try await directory.expect(200, "GET", "/roles")
        let editorId = try #require(roles["items"]?.arrayValue?.compactMap(\.objectValue).first { $0["name"]?.stringValue == "Editor" }?["id"]?.stringValue)
        let role = try await directory.expect(200, "PUT", "/roles/\(editorId)", #"{"name":"Content editor","description":"Edits content"}"#)
        #expect(role["description"]?.stringValue == "Edits content")
        let audit = try await directory.expect(200, "GET", "/changes?count=2")
        #expect(audit["items"]?.arrayValue?.compactMap { $0.objectValue?["kind"]?.stringValue } == ["role", "department"])
    }

    @Test("key rotation: the new key works at once, the old one until the overlap ends; revocation is immediate")
    func keyRotation() async throws {
        let directory = try await DirectoryTenant.make()
        let created = try await directory.expect(201, "POST", "/keys", #"{"name":"entra","scopes":["scim"]}"#)
        let token = try #require(created["token"]?.stringValue)
        let prefix = try #require(created["prefix"]?.stringValue)
        let scim = directory.tenant.client.with(token: token)
        #expect(try await scim.get("/Users").status == 200)
        let listed = try await directory.expect(200, "GET", "/keys")
        #expect(!JSONValue.object(listed).serialized().contains(token), "a key's secret is shown once only")
        let another = try await directory.admin.post("/keys", #"{"name":"uncached","scopes":["scim"]}"#)
        #expect(another.status == 201 && another.header("Cache-Control") == "no-store", "no cache keeps a new token")
        // A whole token never names a key: it would put the secret in URLs and access logs.
        expectSCIMError(try await directory.admin.request("DELETE", "/keys/\(token)"), status: 404)
        #expect(try await scim.get("/Users").status == 200)

        let rotated = try await directory.expect(201, "POST", "/keys/\(prefix)/rotate", #"{"overlapHours":1}"#)
        let newToken = try #require(rotated["key"]?.objectValue?["token"]?.stringValue)
        #expect(rotated["previous"]?.objectValue?["expiresAt"] != .null)
        #expect(try await scim.get("/Users").status == 200, "the old key works during the overlap")
        #expect(try await scim.with(token: newToken).get("/Users").status == 200)

        let immediate = try await directory.expect(201, "POST", "/keys/\(try #require(rotated["key"]?.objectValue?["prefix"]?.stringValue))/rotate",
                                                   #"{"overlapHours":0}"#)
        #expect(try await scim.with(token: newToken).get("/Users").status == 401, "overlap 0 ends the old key now")
        let newest = try #require(immediate["key"]?.objectValue?["token"]?.stringValue)
        #expect(try await scim.with(token: newest).get("/Users").status == 200)
        try await directory.expect(200, "DELETE", "/keys/\(try #require(immediate["key"]?.objectValue?["id"]?.stringValue))")
        #expect(try await scim.with(token: newest).get("/Users").status == 401)
    }

    @Test("a value the database refuses is a 400 a client can act on, naming no table, constraint or stored value")
    func databaseRefusalsAreWorded() async throws {
        let directory = try await DirectoryTenant.make()
        for (method, path, body) in [("POST", "/keys", #"{"name":"k","scopes":["scim"],"expiresAt":"2026-13-45T00:00:00Z"}"#),
                                     ("GET", "/log?since=2026-99-01", nil), ("GET", "/errors?until=2026-02-31T00:00:00Z", nil)] {
            let response = try await directory.admin.request(method, path, body: body)
            expectSCIMError(response, status: 400, scimType: "invalidValue")
            let detail = response.object?["detail"]?.stringValue ?? ""
            #expect(detail.contains("date or time"), "\(path): \(detail)")
            for raw in ["out of range", "relation", "constraint", "api_keys", "provisioning", "2026-13-45", "2026-99"] {
                #expect(!detail.contains(raw), "\(path): \(detail)")
            }
        }
    }

    @Test("the console's user search finds users by part of the user name or display name, in any case, deprovisioned ones too")
    func userSearch() async throws {
        let directory = try await DirectoryTenant.make()
        let client = directory.tenant.client
        var ids: [String: String] = [:]
        for (userName, given, family) in [("ann.quill@contoso.com", "Ann", "Quill"), ("bo.quillon@contoso.com", "Bo", "Quillon"),
                                          ("cy@contoso.com", "Cy", "Zed"), ("gone@contoso.com", "Dee", "Parted")] {
            let created = try await client.post("/Users", entraUser(userName, given: given, family: family, department: "Sales"))
            ids[userName] = try #require(created.object?["id"]?.stringValue, "\(created.text)")
        }
        #expect(try await client.delete("/Users/\(try #require(ids["gone@contoso.com"]))").status == 204)

        func usernames(_ query: String) async throws -> (total: Int?, names: [String]) {
            let page = try await directory.expect(200, "GET", "/users?\(query)")
            let names = (page["items"]?.arrayValue ?? []).compactMap { $0.objectValue?["username"]?.stringValue }
            return (page["totalResults"]?.intValue, names)
        }
        let byDisplayName = try await usernames("text=QUILL")
        #expect(byDisplayName.total == 2)
        #expect(byDisplayName.names == ["ann.quill@contoso.com", "bo.quillon@contoso.com"])
        #expect(try await usernames("text=quillon").names == ["bo.quillon@contoso.com"], "display name \"Bo Quillon\" and user name both hold it")
        #expect(try await usernames("text=y%40contoso").names == ["cy@contoso.com"], "part of the user name")
        #expect(try await usernames("text=Cy%20Zed").names == ["cy@contoso.com"], "the display name, across its space")
        let deprovisioned = try await directory.expect(200, "GET", "/users?text=gone%40")["items"]?.arrayValue ?? []
        #expect(deprovisioned.count == 1, "a deleted SCIM user's application user is still found")
        #expect(deprovisioned.first?.objectValue?["username"]?.stringValue == "gone@contoso.com")
        #expect(deprovisioned.first?.objectValue?["scimUserId"] == .null)
        #expect(deprovisioned.first?.objectValue?["deprovisionedAt"]?.stringValue != nil)
        #expect(try await usernames("text=quill&startIndex=2&count=1") == (2, ["bo.quillon@contoso.com"]))
        // LIKE's wildcards are text to search for, not patterns.
        #expect(try await usernames("text=%25").total == 0)
        #expect(try await usernames("text=_").total == 0)
        #expect(try await usernames("text=nobody-has-this").total == 0)
        #expect(try await usernames("").total == 4)
    }

    @Test("the log is filtered by status, resource and text, and paged")
    func logFilters() async throws {
        let directory = try await DirectoryTenant.make()
        let client = directory.tenant.client
        _ = try await client.createUser("logged@contoso.com")
        #expect(try await client.post("/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"logged@contoso.com"}"#).status == 409)
        let failures = try await directory.expect(200, "GET", "/log?status=4xx&resourceType=User")
        #expect(failures["totalResults"]?.intValue == 1)
        #expect(failures["items"]?.arrayValue?.first?.objectValue?["status"]?.intValue == 409)
        let text = try await directory.expect(200, "GET", "/log?text=logged%40contoso&count=1")
        #expect(text["totalResults"]?.intValue == 2)
        #expect(text["itemsPerPage"]?.intValue == 1)
        expectSCIMError(try await directory.admin.get("/log?status=teapot"), status: 400, scimType: "invalidValue")
    }
}
