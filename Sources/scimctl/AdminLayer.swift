import ArgumentParser
import Foundation
import Logging
import SCIMAdmin
import SCIMCore
import SCIMPostgres

extension GlobalOptions {
    /// Who scimctl acts as in the audit trail: the operating-system user.
    var actor: String { "scimctl:\(ProcessInfo.processInfo.environment["USER"] ?? "unknown")" }

    var endpointBase: String { get throws { "\(try origin)/scim/v2/" } }

    func store() throws -> PostgresStore {
        PostgresStore(connection: try connection(), logger: Logger(label: "scimctl"))
    }

    /// Runs one admin-layer operation on a tenant as the database owner, in one transaction; an
    /// error is printed as the admin API would word it, with exit status 1.
    func administer<T>(_ tenantSlug: String, _ body: (any TenantAdministrator) throws(SCIMError) -> T) throws -> T {
        let store = try store()
        do {
            return try store.administerChecked(tenantSlug: tenantSlug, as: .owner(actor: actor)) { (admin, _) throws(SCIMError) -> T in
                try body(admin)
            }
        } catch {
            FileHandle.standardError.write(Data("error: \(error.detail)\n".utf8))
            throw ExitCode.failure
        }
    }
}

/// The browser console's people: the operator invites a tenant's first administrator here.
struct ConsoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console", abstract: "Invite people to a tenant's browser console.",
        subcommands: [Invite.self, Users.self])

    struct Invite: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a one-time invite link (valid 24 hours) that lets ADDRESS choose a password and sign in.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Tenant slug.") var tenant: String
        @Option(help: "The person's e-mail address; they sign in with it.") var email: String

        func run() throws {
            let secret = SecretToken.generate()
            let invited = try options.administer(tenant) { (admin) throws(SCIMError) in
                try admin.inviteConsoleUser(try ConsoleInvite(email: email, tokenHash: secret.hash))
            }
            let url = "\(try options.origin)\(ConsoleInviteLink.path(tenantSlug: tenant, token: secret))"
            print("Invited \(invited.email) to the console of \(tenant). Send them this link (single use, valid 24 hours):")
            print("  \(url)")
            print("CONSOLE_INVITE_URL=\(url)")
        }
    }

    struct Users: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a tenant's console users.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Tenant slug.") var tenant: String
        @Flag(help: "Print a JSON array instead of lines.") var json = false

        func run() throws {
            let users = try options.administer(tenant) { (admin) throws(SCIMError) in try admin.consoleUsers() }
            if json {
                printJSON(.array(users.map { user in
                    .object(JSONObject([("id", .string(user.id)), ("email", .string(user.email)), ("active", .bool(user.active)),
                                        ("createdAt", .string(user.createdAt)), ("createdBy", .string(user.createdBy)),
                                        ("lastSignedInAt", user.lastSignedInAt.map(JSONValue.string) ?? .null)]))
                }))
                return
            }
            if users.isEmpty { print("No console users: scimctl console invite \(tenant) --email ADDRESS"); return }
            for user in users {
                print("\(user.email)  \(user.active ? "active" : "invited")  last sign-in: \(user.lastSignedInAt ?? "never")")
            }
        }
    }
}
