import SCIMCore

/// Everything an administrator of one tenant does, as operations. The JSON admin API, the
/// console and scimctl call these and only translate their input and output; the rules (what is
/// valid, what is audited, what re-applies the mappings) live behind them, once.
///
/// Results are the JSON documents the admin API sends (the console reads the same values).
/// Inputs are typed values where a face builds them from form fields or arguments, and the
/// admin API's JSON bodies where the body is the natural input (mappings, departments, roles).
public protocol TenantAdministrator {
    var tenantId: String { get }

    // Settings
    func settings(endpointBase: String) throws(SCIMError) -> JSONObject
    func updateSettings(_ change: SettingsChange, endpointBase: String) throws(SCIMError) -> JSONObject
    /// When the identity provider last reached us, writes, hourly traffic and open errors.
    func activitySummary(hours: Int) throws(SCIMError) -> ActivitySummary

    // API keys
    func keys() throws(SCIMError) -> JSONObject
    /// The answer holds the token, the only time it exists outside the caller.
    func createKey(_ key: NewAPIKey) throws(SCIMError) -> JSONObject
    func revokeKey(_ id: String) throws(SCIMError) -> JSONObject
    /// A new key with the same name and scopes; the old one keeps working for `overlapHours`.
    func rotateKey(_ id: String, overlapHours: Int) throws(SCIMError) -> JSONObject

    // Console users
    func consoleUsers() throws(SCIMError) -> [ConsoleUserRecord]
    /// Records an invite for `email` whose link carries the secret hashed to `tokenHash`.
    func inviteConsoleUser(_ invite: ConsoleInvite) throws(SCIMError) -> ConsoleUserRecord
    /// Removes a console user and their sessions; `currentUserId` may not remove themselves
    /// while they are the tenant's last console user.
    func removeConsoleUser(_ id: String, currentUserId: String?) throws(SCIMError)

    // Departments, roles, custom fields
    func departments() throws(SCIMError) -> JSONObject
    func createDepartment(_ body: JSONObject) throws(SCIMError) -> JSONObject
    func renameDepartment(_ id: String, _ body: JSONObject) throws(SCIMError) -> JSONObject
    func deleteDepartment(_ id: String) throws(SCIMError)
    func roles() throws(SCIMError) -> JSONObject
    func createRole(_ body: JSONObject) throws(SCIMError) -> JSONObject
    func updateRole(_ id: String, _ body: JSONObject) throws(SCIMError) -> JSONObject
    func deleteRole(_ id: String) throws(SCIMError)
    func customFields() throws(SCIMError) -> JSONObject
    func createCustomField(_ body: JSONObject) throws(SCIMError) -> JSONObject
    func deleteCustomField(_ name: String) throws(SCIMError)

    // Application users and manual roles
    func applicationUsers(startIndex: Int, count: Int, text: String?) throws(SCIMError) -> JSONObject
    func applicationUser(_ id: String) throws(SCIMError) -> JSONObject
    /// The SCIM resource a user was provisioned as (`resource`), and the groups it is a member of
    /// (`groups`); nil members when the SCIM user is gone.
    func provisionedUser(scimId: String) throws(SCIMError) -> JSONObject
    /// Provisioned groups (name contains `text`), with member counts and the roles they grant.
    func provisionedGroups(startIndex: Int, count: Int, text: String?) throws(SCIMError) -> JSONObject
    func grantRole(userId: String, _ body: JSONObject) throws(SCIMError) -> JSONObject
    func revokeRole(userId: String, roleId: String) throws(SCIMError) -> JSONObject

    // Mappings; a dry run applies the change and the re-apply in a savepoint, reports, rolls back
    func columnMappings() throws(SCIMError) -> JSONObject
    func saveColumnMapping(id: String?, _ body: JSONObject, dryRun: Bool) throws(SCIMError) -> JSONObject
    func deleteColumnMapping(_ id: String, dryRun: Bool) throws(SCIMError) -> JSONObject
    func departmentMappings() throws(SCIMError) -> JSONObject
    func saveDepartmentMapping(id: String?, _ body: JSONObject, dryRun: Bool) throws(SCIMError) -> JSONObject
    func deleteDepartmentMapping(_ id: String, dryRun: Bool) throws(SCIMError) -> JSONObject
    func groupRoleMappings() throws(SCIMError) -> JSONObject
    func saveGroupRoleMapping(id: String?, _ body: JSONObject, dryRun: Bool) throws(SCIMError) -> JSONObject
    func deleteGroupRoleMapping(_ id: String, dryRun: Bool) throws(SCIMError) -> JSONObject

    // Re-apply jobs
    func startReapply() throws(SCIMError) -> JSONObject
    func jobs() throws(SCIMError) -> JSONObject
    func job(_ id: String) throws(SCIMError) -> JSONObject

    // Log, errors, audit
    func log(_ filter: ActivityFilter) throws(SCIMError) -> JSONObject
    func errors(_ filter: ActivityFilter) throws(SCIMError) -> JSONObject
    func errorSummary() throws(SCIMError) -> JSONObject
    func resolveError(_ id: String) throws(SCIMError) -> JSONObject
    func changes(startIndex: Int, count: Int) throws(SCIMError) -> JSONObject
}
