import ArgumentParser
import Foundation
import SCIMAdmin
import SCIMCore
import SCIMPostgres

/// Every admin API endpoint from the command line, as the database owner: the same code, the same
/// JSON, no key needed (bootstrap, scripts, a locked-out administrator).
struct AdminCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Call an admin API endpoint of a tenant directly (mappings, departments, roles, keys, log, errors).",
        discussion: """
            PATH is what follows /admin/v1/TENANT/ in the API, with its query string. Examples:
              scimctl admin demo GET column-mappings
              scimctl admin demo POST departments --data '{"name": "Engineering"}'
              scimctl admin demo POST department-mappings --dry-run --data '{"sourceValue": "eng", "department": "Engineering"}'
              scimctl admin demo POST group-role-mappings --data '{"matchBy": "displayName", "matchValue": "Editors", "role": "Editor"}'
              scimctl admin demo GET 'errors?resolved=false'
              scimctl admin demo GET errors/summary
              scimctl admin demo POST keys/sk_abc123defg/rotate --data '{"overlapHours": 48}'
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant slug.") var tenant: String
    @Argument(help: "GET, POST, PUT, PATCH or DELETE.") var method: String
    @Argument(help: "Endpoint path, e.g. column-mappings or errors?status=4xx.") var path: String
    @Option(help: "JSON request body.") var data: String?
    @Flag(help: "Show what a mapping change would do, and save nothing.") var dryRun = false

    func run() throws {
        let api = AdminJSONAPI(store: try global.store(), publicOrigin: try global.origin)
        let parts = path.split(separator: "?", maxSplits: 1)
        var query = parts.count > 1 ? HTTPRequest.parseQuery(String(parts[1])) : []
        if dryRun { query.append((name: "dryRun", value: "true")) }
        let request = HTTPRequest(method: method.uppercased(), path: String(parts.first ?? ""), query: query,
                                  body: Array((data ?? "").utf8), origin: try global.origin)
        let response = api.handleAsOwner(tenantSlug: tenant, request, actor: global.actor)
        let text = response.body.isEmpty ? "" : String(decoding: response.body, as: UTF8.self)
        if response.status >= 400 {
            FileHandle.standardError.write(Data("error (\(response.status)): \(text)\n".utf8))
            throw ExitCode.failure
        }
        if !text.isEmpty { print(text) }
    }
}

/// Works off a tenant's pending re-apply job here and now, printing progress (the responders do
/// the same in the background when idle).
struct ReapplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reapply",
        abstract: "Re-apply the mappings to every user of a tenant now, in batches, showing progress.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant slug.") var tenant: String

    func run() throws {
        let store = try global.store()
        let api = AdminJSONAPI(store: store, publicOrigin: try global.origin)
        // A job of its own, so the run covers every user even when none was pending.
        let started = api.handleAsOwner(tenantSlug: tenant, HTTPRequest(method: "POST", path: "jobs"), actor: global.actor)
        guard started.status < 400 else {
            FileHandle.standardError.write(Data("error: \(String(decoding: started.body, as: UTF8.self))\n".utf8))
            throw ExitCode.failure
        }
        let runner = ReapplyJobRunner(store: store)
        let tenantId = try global.administer(tenant) { (admin) throws(SCIMError) in admin.tenantId }
        while true {
            switch try runner.runBatch(tenantId: tenantId) {
            case .idle:
                print("Nothing (more) to re-apply.")
                return
            case .progressed(let job, let processed, let finished):
                print("job \(job): \(processed) users re-applied\(finished ? ", done" : "")")
                if finished { return }
            }
        }
    }
}
