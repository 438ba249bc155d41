/// A resource as the store returns it.
public struct StoredResource: Sendable, Equatable {
    public var id: String
    /// The normalised attributes (see `ResourceNormalizer`); `id` and `meta` are not in it.
    public var attributes: JSONObject
    public var version: Int
    /// RFC 3339 UTC timestamps.
    public var created: String
    public var lastModified: String

    public init(id: String, attributes: JSONObject, version: Int, created: String, lastModified: String) {
        self.id = id
        self.attributes = attributes
        self.version = version
        self.created = created
        self.lastModified = lastModified
    }
}

/// A user about to be written, with the values the store keeps in real columns for filtering and
/// uniqueness, derived in one place (`UserWrite.init`) from the attributes.
public struct UserWrite: Sendable {
    public var attributes: JSONObject
    public var userName: String
    public var externalId: String?
    public var displayName: String?
    public var active: Bool
    /// The application user's fields (`DirectoryMapper.fields(of:)`), written by the same
    /// statement as the user: the application directory follows every SCIM write.
    public var directoryFields: JSONObject?
    /// The request that writes, for errors the directory records.
    public var requestId: String?

    public init(attributes: JSONObject) throws(SCIMError) {
        guard let userName = attributes["userName"]?.stringValue, !userName.trimmingSpaces.isEmpty else {
            throw .badRequest(.invalidValue, "'userName' is required and must be a non-empty string.")
        }
        self.attributes = attributes
        self.userName = userName
        self.externalId = attributes["externalId"]?.stringValue
        self.displayName = attributes["displayName"]?.stringValue
        // RFC 7643 leaves an absent "active" to the provider; a provisioned user is active unless told otherwise.
        self.active = attributes["active"]?.boolValue ?? true
    }
}

/// A group about to be written. Members are not part of it: they live in their own table and
/// change through `StoreTransaction`'s member operations, one row each.
public struct GroupWrite: Sendable {
    public var attributes: JSONObject
    public var displayName: String
    public var externalId: String?

    public init(attributes: JSONObject) throws(SCIMError) {
        var attributes = attributes
        attributes["members"] = nil
        guard let displayName = attributes["displayName"]?.stringValue, !displayName.trimmingSpaces.isEmpty else {
            throw .badRequest(.invalidValue, "'displayName' is required and must be a non-empty string.")
        }
        self.attributes = attributes
        self.displayName = displayName
        self.externalId = attributes["externalId"]?.stringValue
    }
}

/// The outcome of checking a bearer token against a tenant.
public struct AuthenticatedKey: Sendable {
    public var tenantId: String
    public var tenantSlug: String
    public var keyId: String
    public var keyPrefix: String
    public var scopes: [String]
    public var scimEnabled: Bool
    /// Changes whenever the tenant's extension schemas do.
    public var schemaVersion: Int
    /// Changes whenever the tenant's mappings (or custom fields) do.
    public var mappingVersion: Int = 0
    /// The key's last use was recorded more than a minute ago: record this one (after the
    /// request's transaction, see `ResourceStore.recordKeyUse`).
    public var lastUseIsStale = false

    public init(tenantId: String, tenantSlug: String, keyId: String, keyPrefix: String, scopes: [String], scimEnabled: Bool,
                schemaVersion: Int) {
        self.schemaVersion = schemaVersion
        self.tenantId = tenantId
        self.tenantSlug = tenantSlug
        self.keyId = keyId
        self.keyPrefix = keyPrefix
        self.scopes = scopes
        self.scimEnabled = scimEnabled
    }
}

public struct ListPage: Sendable {
    public var totalResults: Int
    public var resources: [StoredResource]
    /// In cursor paging, whether resources follow this page.
    public var hasMore: Bool

    public init(totalResults: Int, resources: [StoredResource], hasMore: Bool = false) {
        self.totalResults = totalResults
        self.resources = resources
        self.hasMore = hasMore
    }
}

/// What a listing reads of each resource: the stored keys a projection needs (nil: all), and
/// whether to compute the memberships (a user's `groups`, a group's `members`).
public struct FieldSelection: Sendable, Equatable {
    public var keys: [String]?
    public var memberships: Bool

    public static let all = FieldSelection(keys: nil, memberships: true)

    public init(keys: [String]?, memberships: Bool) {
        self.keys = keys
        self.memberships = memberships
    }

    public init(_ projection: Projection, _ resourceType: ResourceTypeDefinition, membershipAttribute: String) {
        keys = projection.storedKeys(resourceType)
        memberships = !projection.excludes(membershipAttribute)
    }
}

extension StoreTransaction {
    public func listUsers(filter: ResolvedFilter?, window: ListWindow, sort: ResolvedSort?) throws(SCIMError) -> ListPage {
        try listUsers(filter: filter, window: window, sort: sort, fields: .all)
    }
}

/// Which part of a result a list request wants: RFC 7644 §3.4.2.4 index paging, or RFC 9865
/// cursor paging, which continues after the last id seen (in id order) however the data changed.
public struct ListWindow: Sendable, Equatable {
    public enum Cursor: Sendable, Equatable {
        case first
        case after(String)
    }

    public var startIndex: Int
    public var count: Int
    public var cursor: Cursor?

    public static func index(_ startIndex: Int, _ count: Int) -> ListWindow {
        ListWindow(startIndex: startIndex, count: count, cursor: nil)
    }
}

/// The store behind the service. Each request runs inside one `transaction`; what a transaction
/// reads and writes is confined to the tenant it was scoped to.
public protocol ResourceStore {
    /// Runs `body` in one database transaction, retried a bounded number of times on serialization
    /// failures and deadlocks. Errors from the database arrive as `SCIMError` (503 when unreachable).
    /// `readOnly`: the body writes nothing that must commit with what it read, so each of its round
    /// trips may be a transaction of its own (a read then waits for no `begin` and no `commit`).
    func transaction<T>(readOnly: Bool, _ body: (any StoreTransaction) throws(SCIMError) -> T) throws(SCIMError) -> T

    /// Appends to the tenant's provisioning log, in a statement of its own after the request's
    /// transaction, so failed requests are logged too. Best effort: a lost log row never fails
    /// the request it describes.
    func record(_ entry: ProvisioningLogEntry)

    /// Notes that a key was used, in a statement of its own after the request's transaction, and
    /// only if no one else holds the key's row: a request never waits for this bookkeeping.
    func recordKeyUse(keyId: String)

    /// Adds a worker's sums of successful reads to the tenants' counts (scim.read_counts), in a
    /// transaction of its own that waits for no flush to disk.
    func addReadCounts(_ counts: [ReadTally.Count]) throws(SCIMError)
}

extension ResourceStore {
    public func transaction<T>(_ body: (any StoreTransaction) throws(SCIMError) -> T) throws(SCIMError) -> T {
        try transaction(readOnly: false, body)
    }

    /// Whether the database answers: one empty transaction.
    public func checkReadiness() throws(SCIMError) {
        try transaction { (transaction) throws(SCIMError) in try transaction.ping() }
    }
}

public protocol StoreTransaction {
    /// One round trip to the database.
    func ping() throws(SCIMError)
    /// Appends a successful request's log row inside its own transaction, sent with the commit: a
    /// write and its row commit with one flush, a read's commit waits for none; a failure to log is
    /// the database's warning, never the request's error.
    func recordSuccess(_ entry: ProvisioningLogEntry) throws(SCIMError)
    /// Looks up a live key for the tenant with this slug. nil for an unknown tenant, an unknown,
    /// revoked or expired key, and a key of another tenant alike, so a caller learns nothing.
    func authenticate(tenantSlug: String, bearerToken: String) throws(SCIMError) -> AuthenticatedKey?
    /// The tenant's custom extension schemas ("User" or "Group", schema).
    func schemaExtensions(tenantId: String) throws(SCIMError) -> [(resourceType: String, schema: SchemaDefinition)]
    /// The tenant's column mappings and custom fields.
    func directoryConfiguration(tenantId: String) throws(SCIMError) -> (mappings: [ColumnMapping], customFields: [CustomField])
    /// Scopes the rest of the transaction to one tenant (row-level security reads it), whose
    /// resources are read and filtered by these schemas.
    func scope(toTenant tenantId: String, schemas: TenantSchemas) throws(SCIMError)

    /// Inserts the user and, when `user.directoryFields` is set, brings its application user in
    /// step in the same statement (`app.sync_user`).
    func insertUser(_ user: UserWrite) throws(SCIMError) -> StoredResource
    func fetchUser(id: String, forUpdate: Bool) throws(SCIMError) -> StoredResource?
    /// `fields` narrows what is read of each user (see `FieldSelection`).
    func listUsers(filter: ResolvedFilter?, window: ListWindow, sort: ResolvedSort?, fields: FieldSelection) throws(SCIMError) -> ListPage
    /// Overwrites the user; the version goes up by one. nil when the user does not exist.
    func updateUser(id: String, _ user: UserWrite) throws(SCIMError) -> StoredResource?
    func deleteUser(id: String) throws(SCIMError) -> Bool

    func insertGroup(_ group: GroupWrite) throws(SCIMError) -> StoredResource
    /// With `includeMembers`, `attributes["members"]` holds the members; without, no member row is read.
    func fetchGroup(id: String, forUpdate: Bool, includeMembers: Bool) throws(SCIMError) -> StoredResource?
    func listGroups(filter: ResolvedFilter?, window: ListWindow, sort: ResolvedSort?, includeMembers: Bool) throws(SCIMError) -> ListPage
    func updateGroup(id: String, _ group: GroupWrite) throws(SCIMError) -> StoredResource?
    func deleteGroup(id: String) throws(SCIMError) -> Bool
    /// Takes at once, in one global order, the locks the membership changes about to follow will
    /// need (the application users of these members and, with `currentMembers`, of the group's
    /// present ones), so concurrent changes of groups that share members never wait in a cycle.
    func lockMemberships(groupId: String, memberIds: [String], currentMembers: Bool) throws(SCIMError)
    /// Adds members by id (users or groups of the tenant); existing members are left as they are.
    /// An id that names no user or group of the tenant is a 400 and nothing is added.
    func addMembers(groupId: String, memberIds: [String]) throws(SCIMError) -> Int
    /// Removes the listed members; ids that are not members are ignored. nil removes every member.
    func removeMembers(groupId: String, memberIds: [String]?) throws(SCIMError) -> Int
    /// Runs `body` in a savepoint: when it throws, what it wrote is undone and the transaction goes on.
    func withSavepoint<T>(_ body: () throws(SCIMError) -> T) throws(SCIMError) -> T

    /// Records a change to the group (version and lastModified), after its members changed. The
    /// group is locked already; nothing waits for the answer, so a store may send it with its next
    /// statement (the commit at the latest), whose failure its failure then is.
    func touchGroup(id: String) throws(SCIMError)
}
