import SCIMAdmin
import SCIMCore

/// Administration > SCIM mappings: column, department and group-role mappings, each change
/// previewed (a dry run) before it is saved, and the re-apply job's progress after.
struct MappingsPage {
    struct ColumnRow {
        let scimPath: String
        let field: String
        let transforms: String
        let defaultValue: String
        let deleteAction: String
    }

    struct DepartmentRow {
        let sourceValue: String
        let department: String
        let deleteAction: String
    }

    struct GroupRoleRow {
        let match: String
        let role: String
        let groups: String
        let deleteAction: String
    }

    /// The form being previewed or refused, with its values.
    struct Form {
        var kind = ""
        var scimPath = ""
        var field = ""
        var transforms: [String] = []
        var defaultValue = ""
        var sourceValue = ""
        var department = ""
        var matchBy = "displayName"
        var group = ""
        var role = ""
        var error: String?
    }

    struct Preview {
        struct Sample {
            let username: String
            let before: String
            let after: String
        }

        let kindLabel: String
        let usersEvaluated: Int
        let usersChanged: Int
        let fields: String
        let samples: [Sample]
        let hasSamples: Bool
    }

    struct Job {
        let id: String
        let reason: String
        let state: String
        let processed: Int
        let total: Int
        let percent: Int
        let running: Bool
        let statusHref: String
    }

    let layout: Layout
    let columns: [ColumnRow]
    let departments: [DepartmentRow]
    let groupRoles: [GroupRoleRow]
    let fieldOptions: [Option]
    let departmentOptions: [Option]
    let roleOptions: [Option]
    let matchByOptions: [Option]
    let groupNames: [String]
    let transformOptions: [Option]
    let unmappedOptions: [Option]
    let form: Form
    let columnForm: Bool
    let departmentForm: Bool
    let groupRoleForm: Bool
    let preview: Preview?
    let job: Job?
    let base: String
    let message: String?

    init(user: ConsoleUser, columns: JSONObject, departments: JSONObject, groupRoles: JSONObject, settings: JSONObject,
         departmentList: JSONObject, roleList: JSONObject, customFields: JSONObject, groups: JSONObject, latestJob: JSONObject?,
         form: Form = Form(), preview: JSONObject? = nil, message: String? = nil) {
        layout = Layout(title: "Mappings", section: "mappings", user: user)
        let base = "/console/\(user.tenantSlug)/mappings"
        self.base = base
        self.columns = columns.listItems.map { mapping in
            ColumnRow(scimPath: mapping["scimPath"]?.stringValue ?? "", field: mapping["field"]?.stringValue ?? "",
                      transforms: (mapping["transforms"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ", "),
                      defaultValue: mapping["defaultValue"]?.stringValue ?? "",
                      deleteAction: "\(base)/column/\(mapping["id"]?.stringValue ?? "")/delete")
        }
        self.departments = departments.listItems.map { mapping in
            DepartmentRow(sourceValue: mapping["sourceValue"]?.stringValue ?? "", department: mapping["department"]?.stringValue ?? "",
                          deleteAction: "\(base)/department/\(mapping["id"]?.stringValue ?? "")/delete")
        }
        self.groupRoles = groupRoles.listItems.map { mapping in
            let by = mapping["matchBy"]?.stringValue ?? "displayName"
            let groups = (mapping["groups"]?.arrayValue ?? []).compactMap { $0.objectValue?["displayName"]?.stringValue }
            return GroupRoleRow(match: (by == "displayName" ? "" : by + " ") + (mapping["matchValue"]?.stringValue ?? ""),
                                role: mapping["role"]?.stringValue ?? "",
                                groups: groups.isEmpty ? "No provisioned group matches yet" : groups.joined(separator: ", "),
                                deleteAction: "\(base)/group-role/\(mapping["id"]?.stringValue ?? "")/delete")
        }
        let fields = ApplicationField.builtIn.map(\.name)
            + customFields.listItems.compactMap { $0["name"]?.stringValue.map { ApplicationField.customPrefix + $0 } }
        fieldOptions = fields.map { Option(value: $0, label: $0, selected: $0 == form.field) }
        departmentOptions = departmentList.listItems.compactMap { $0["name"]?.stringValue }
            .map { Option(value: $0, label: $0, selected: $0 == form.department) }
        roleOptions = roleList.listItems.compactMap { $0["name"]?.stringValue }.map { Option(value: $0, label: $0, selected: $0 == form.role) }
        matchByOptions = [("displayName", "Group name"), ("externalId", "External id"), ("id", "SCIM id")]
            .map { Option(value: $0.0, label: $0.1, selected: $0.0 == form.matchBy) }
        groupNames = groups.listItems.compactMap { $0["displayName"]?.stringValue }
        transformOptions = ColumnMapping.Transform.allCases.map(\.rawValue)
            .map { Option(value: $0, label: $0, selected: form.transforms.contains($0)) }
        let policy = settings["unmappedDepartment"]?.stringValue ?? "record_error"
        unmappedOptions = [("record_error", "Leave the user without a department and show an error"),
                           ("create", "Create a department with that name")]
            .map { Option(value: $0.0, label: $0.1, selected: $0.0 == policy) }
        self.form = form
        columnForm = form.kind == "column"
        departmentForm = form.kind == "department"
        groupRoleForm = form.kind == "group-role"
        self.preview = preview.map { MappingsPage.preview($0, kind: form.kind) }
        job = latestJob.map { job in
            let total = job["totalUsers"]?.intValue ?? 0
            let processed = job["processed"]?.intValue ?? 0
            let state = job["state"]?.stringValue ?? ""
            return Job(id: job["id"]?.stringValue ?? "", reason: job["reason"]?.stringValue ?? "", state: state,
                       processed: processed, total: total, percent: total > 0 ? min(100, processed * 100 / total) : (state == "done" ? 100 : 0),
                       running: state == "pending" || state == "running",
                       statusHref: "\(base)/jobs/\(job["id"]?.stringValue ?? "")")
        }
        self.message = message
    }

    static func preview(_ result: JSONObject, kind: String) -> Preview {
        let counts = result["changesByField"]?.objectValue?.members.map { "\($0.key): \($0.value.intValue ?? 0)" } ?? []
        let samples = (result["samples"]?.arrayValue ?? []).compactMap(\.objectValue).map { sample in
            Preview.Sample(username: sample["username"]?.stringValue ?? "", before: describe(sample["before"]?.objectValue),
                           after: describe(sample["after"]?.objectValue))
        }
        return Preview(kindLabel: kind == "column" ? "column mapping" : kind == "department" ? "department mapping" : "group-role mapping",
                       usersEvaluated: result["usersEvaluated"]?.intValue ?? 0, usersChanged: result["usersChanged"]?.intValue ?? 0,
                       fields: counts.isEmpty ? "no field changes" : counts.joined(separator: ", "),
                       samples: samples, hasSamples: !samples.isEmpty)
    }

    /// `firstName: "Ann", roles: [...]` in a readable line.
    static func describe(_ fields: JSONObject?) -> String {
        guard let fields, !fields.members.isEmpty else { return "—" }
        return fields.members.map { "\($0.key): \($0.value == .null ? "(none)" : $0.value.stringValue ?? $0.value.serialized())" }
            .joined(separator: "; ")
    }
}
