import SCIMAdmin
import SCIMCore

/// Users and groups: provisioned users with their department, state and roles (and why), and
/// provisioned groups with their members and the roles they grant.
struct DirectoryPage {
    struct Person {
        let username: String
        let displayName: String
        let department: String
        let active: String
        let roles: String
        let href: String
    }

    struct Group {
        let displayName: String
        let members: Int
        let roles: String
    }

    let layout: Layout
    let text: String
    let people: [Person]
    let hasPeople: Bool
    let groups: [Group]
    let hasGroups: Bool
    let paging: Paging

    init(user: ConsoleUser, users: JSONObject, groups: JSONObject, text: String) {
        layout = Layout(title: "Users and groups", section: "directory", user: user)
        self.text = text
        people = users.listItems.map { person in
            Person(username: person["username"]?.stringValue ?? "", displayName: person["displayName"]?.stringValue ?? "",
                   department: person["department"]?.stringValue ?? "—", active: person["active"]?.boolValue == true ? "Active" : "Inactive",
                   roles: DirectoryPage.roles(person), href: "/console/\(user.tenantSlug)/directory/users/\(person["id"]?.stringValue ?? "")")
        }
        hasPeople = !people.isEmpty
        self.groups = groups.listItems.map { group in
            let roles = (group["roles"]?.arrayValue ?? []).compactMap(\.stringValue)
            return Group(displayName: group["displayName"]?.stringValue ?? "", members: group["members"]?.intValue ?? 0,
                         roles: roles.isEmpty ? "—" : roles.joined(separator: ", "))
        }
        hasGroups = !self.groups.isEmpty
        paging = Paging(users, basePath: "/console/\(user.tenantSlug)/directory", query: text.isEmpty ? [] : [("text", text)])
    }

    /// "Editor (from group Editors), Auditor (manual)".
    static func roles(_ person: JSONObject) -> String {
        let roles = (person["roles"]?.arrayValue ?? []).compactMap(\.objectValue).map { role in
            let name = role["role"]?.stringValue ?? ""
            if role["source"]?.stringValue == "manual" { return "\(name) (manual)" }
            return "\(name) (from group \(role["group"]?.stringValue ?? "?"))"
        }
        return roles.isEmpty ? "—" : roles.joined(separator: ", ")
    }
}

/// One user: the SCIM resource's identity, the application user it became, its roles and why,
/// and its recent log entries.
struct UserPage {
    struct Field {
        let name: String
        let value: String
    }

    let layout: Layout
    let username: String
    let scimUserId: String
    let fields: [Field]
    let roles: String
    /// The SCIM resource as stored, pretty-printed; nil once the SCIM user is gone.
    let resource: String?
    let groups: String
    let entries: [LogsPage.Entry]
    let hasEntries: Bool

    init(user: ConsoleUser, person: JSONObject, provisioned: JSONObject, log: JSONObject) {
        username = person["username"]?.stringValue ?? ""
        layout = Layout(title: "User \(username)", section: "directory", user: user)
        scimUserId = person["scimUserId"]?.stringValue ?? ""
        fields = person.members.filter { !["id", "roles", "scimUserId"].contains($0.key) }.map { member in
            Field(name: member.key, value: member.value == .null ? "—" : member.value.stringValue ?? member.value.serialized())
        }
        roles = DirectoryPage.roles(person)
        resource = provisioned["resource"].map { $0.prettyPrinted() }
        let groupNames = (provisioned["groups"]?.arrayValue ?? []).compactMap(\.stringValue)
        groups = groupNames.isEmpty ? "None" : groupNames.joined(separator: ", ")
        entries = LogsPage(user: user, log: log, filter: LogsPage.Filter()).entries
        hasEntries = !entries.isEmpty
    }
}

extension JSONValue {
    /// Two-space indented JSON, for reading on a page.
    func prettyPrinted(indent: String = "") -> String {
        let inner = indent + "  "
        switch self {
        case .object(let object) where !object.members.isEmpty:
            let members = object.members.map { inner + JSONValue.string($0.key).serialized() + ": " + $0.value.prettyPrinted(indent: inner) }
            return "{\n" + members.joined(separator: ",\n") + "\n" + indent + "}"
        case .array(let items) where !items.isEmpty:
            return "[\n" + items.map { inner + $0.prettyPrinted(indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        default:
            return serialized()
        }
    }
}
