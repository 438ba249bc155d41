import SCIMAdmin
import SCIMCore

/// Mappings (Preview, then Save, then the re-apply job's progress) and the provisioned users and groups.
extension ConsoleApp {
    func mappingOrDirectoryPage(_ request: ConsoleRequest, method: String, route: [String], admin: any TenantAdministrator,
                                user: ConsoleUser) throws(SCIMError) -> HTTPResponse {
        let home = "/console/\(user.tenantSlug)"
        switch (method, route.first ?? "", route.count) {
        case ("GET", "mappings", 1):
            return render("mappings", try mappingsPage(admin, user: user, message: request.http.queryValue("saved").map { _ in
                "Saved. The mappings are being applied to every user." }))
        case ("GET", "mappings", 3) where route[1] == "jobs":
            let job = try admin.job(route[2])
            return .json(200, .object(job), headers: [("Cache-Control", "no-store")])
        case ("POST", "mappings", 2) where ["column", "department", "group-role"].contains(route[1]):
            let form = Self.mappingForm(request, kind: route[1])
            let dryRun = request.field("intent") == "preview"
            let body = Self.mappingBody(form)
            let result: JSONObject
            switch route[1] {
            case "column":
                // One mapping per application field: choosing a mapped field changes its mapping.
                let existing = try admin.columnMappings().listItems
                    .first { $0["field"]?.stringValue == form.field }?["id"]?.stringValue
                result = try admin.saveColumnMapping(id: existing, body, dryRun: dryRun)
            case "department": result = try admin.saveDepartmentMapping(id: nil, body, dryRun: dryRun)
            default: result = try admin.saveGroupRoleMapping(id: nil, body, dryRun: dryRun)
            }
            if dryRun { return render("mappings", try mappingsPage(admin, user: user, form: form, preview: result)) }
            return ConsoleResponse.redirect("\(home)/mappings?saved=1")
        case ("POST", "mappings", 4) where route[3] == "delete":
            switch route[1] {
            case "column": _ = try admin.deleteColumnMapping(route[2], dryRun: false)
            case "department": _ = try admin.deleteDepartmentMapping(route[2], dryRun: false)
            case "group-role": _ = try admin.deleteGroupRoleMapping(route[2], dryRun: false)
            default: throw .notFound("There is no such mapping.")
            }
            return ConsoleResponse.redirect("\(home)/mappings?saved=1")
        case ("POST", "mappings", 2) where route[1] == "unmapped-department":
            let policy = try SettingsChange.unmappedDepartment(request.field("unmappedDepartment") ?? "")
            _ = try admin.updateSettings(SettingsChange(unmappedDepartment: policy), endpointBase: endpointBase(request))
            return ConsoleResponse.redirect("\(home)/mappings?saved=1")
        case ("POST", "mappings", 2) where route[1] == "new-department":
            _ = try admin.createDepartment(JSONObject([("name", .string(request.field("name") ?? ""))]))
            return ConsoleResponse.redirect("\(home)/mappings?saved=1")
        case ("POST", "mappings", 2) where route[1] == "new-role":
            _ = try admin.createRole(JSONObject([("name", .string(request.field("name") ?? ""))]))
            return ConsoleResponse.redirect("\(home)/mappings?saved=1")

        case ("GET", "directory", 1):
            let text = request.http.queryValue("text").flatMap { $0.isEmpty ? nil : $0 }
            let start = Self.startIndex(request.http)
            return render("directory", DirectoryPage(user: user, users: try admin.applicationUsers(startIndex: start, count: Paging.pageSize, text: text),
                                                     groups: try admin.provisionedGroups(startIndex: 1, count: 100, text: nil), text: text ?? ""))
        case ("GET", "directory", 3) where route[1] == "users":
            let person = try admin.applicationUser(route[2])
            let subject = person["username"]?.stringValue ?? ""
            let log = try admin.log(try ActivityFilter(since: nil, until: nil, status: nil, resourceType: "User", text: subject, count: 10))
            let provisioned = try person["scimUserId"]?.stringValue.map { (id) throws(SCIMError) in try admin.provisionedUser(scimId: id) }
            return render("user", UserPage(user: user, person: person, provisioned: provisioned ?? JSONObject(), log: log))
        default:
            throw .notFound("There is no console page here.")
        }
    }

    func refusedMappingChange(_ request: ConsoleRequest, route: [String], admin: any TenantAdministrator, user: ConsoleUser,
                              error: SCIMError) throws(SCIMError) -> HTTPResponse {
        var form = Self.mappingForm(request, kind: route.count == 2 ? route[1] : "")
        form.error = error.detail
        return render("mappings", try mappingsPage(admin, user: user, form: form, message: form.kind.isEmpty ? error.detail : nil),
                      status: error.status)
    }

    private func mappingsPage(_ admin: any TenantAdministrator, user: ConsoleUser, form: MappingsPage.Form = MappingsPage.Form(),
                              preview: JSONObject? = nil, message: String? = nil) throws(SCIMError) -> MappingsPage {
        MappingsPage(user: user, columns: try admin.columnMappings(), departments: try admin.departmentMappings(),
                     groupRoles: try admin.groupRoleMappings(), settings: try admin.settings(endpointBase: ""),
                     departmentList: try admin.departments(), roleList: try admin.roles(), customFields: try admin.customFields(),
                     groups: try admin.provisionedGroups(startIndex: 1, count: 500, text: nil),
                     latestJob: try admin.jobs().listItems.first,
                     form: form, preview: preview, message: message)
    }

    static func mappingForm(_ request: ConsoleRequest, kind: String) -> MappingsPage.Form {
        MappingsPage.Form(kind: kind, scimPath: request.field("scimPath") ?? "", field: request.field("field") ?? "",
                          transforms: request.fields("transform"), defaultValue: request.field("defaultValue") ?? "",
                          sourceValue: request.field("sourceValue") ?? "", department: request.field("department") ?? "",
                          matchBy: request.field("matchBy") ?? "displayName", group: request.field("group") ?? "",
                          role: request.field("role") ?? "")
    }

    /// The form as the admin layer's mapping body (the same one the JSON API takes).
    static func mappingBody(_ form: MappingsPage.Form) -> JSONObject {
        switch form.kind {
        case "column":
            return JSONObject([("scimPath", .string(form.scimPath)), ("field", .string(form.field)),
                               ("defaultValue", form.defaultValue.isEmpty ? .null : .string(form.defaultValue)),
                               ("transforms", .array(form.transforms.map(JSONValue.string)))])
        case "department":
            return JSONObject([("sourceValue", .string(form.sourceValue)), ("department", .string(form.department))])
        default:
            return JSONObject([("matchBy", .string(form.matchBy)), ("matchValue", .string(form.group)), ("role", .string(form.role))])
        }
    }
}
