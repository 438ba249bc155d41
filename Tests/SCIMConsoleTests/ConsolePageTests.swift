import SCIMCore
import Testing
@testable import SCIMAdmin
@testable import SCIMConsole

let user = ConsoleUser(id: "u1", email: "ann@example.com", tenantSlug: "acme", csrfToken: "csrf-token-value")

@Suite struct ConsolePageTests {
    @Test("the activity chart scales bars to the busiest hour and keeps empty hours")
    func chart() {
        let hours = [ActivitySummary.Hour(start: "2026-11-29T10:00Z", requests: 0, failures: 0),
                     ActivitySummary.Hour(start: "2026-11-29T11:00Z", requests: 50, failures: 5),
                     ActivitySummary.Hour(start: "2026-11-29T12:00Z", requests: 100, failures: 100)]
        let chart = ActivityChart(hours)
        #expect(chart.bars.count == 3)
        #expect(chart.bars[0].requestsHeight == 0)
        #expect(chart.bars[2].requestsHeight == ActivityChart.baseline - 10)
        #expect(chart.bars[1].requestsHeight == chart.bars[2].requestsHeight / 2)
        #expect(chart.bars[2].failuresHeight == chart.bars[2].requestsHeight)
        #expect(chart.bars.allSatisfy { $0.requestsY + $0.requestsHeight == ActivityChart.baseline })
        #expect(chart.summary == "150 requests, 105 failed, in the last 3 hours")
        let one = ActivityChart([ActivitySummary.Hour(start: "2026-11-29T10:00Z", requests: 1, failures: 0)])
        #expect(one.summary == "1 request, 0 failed, in the last 1 hour")
        #expect(chart.busiestHour == "100 requests")
        #expect(one.busiestHour == "1 request")
        let quiet = ActivityChart([ActivitySummary.Hour(start: "2026-11-29T10:00Z", requests: 0, failures: 0)])
        #expect(quiet.busiestHour == "0 requests")
        #expect(quiet.bars[0].requestsHeight == 0)
    }

    @Test("keys: status, scope words and the warning 14 days before expiry")
    func keys() throws {
        let now = try #require(KeysPage.epoch("2026-11-29T12:00:00+00:00"))
        let keys = try JSONParser.parse("""
            {"items": [
              {"id": "k1", "name": "Entra", "prefix": "abc", "scopes": ["scim"], "createdAt": "2026-11-01T10:00:00.5+00:00",
               "lastUsedAt": null, "expiresAt": "2026-12-05T12:00:00+00:00", "revokedAt": null},
              {"id": "k2", "name": "Old", "prefix": "def", "scopes": ["admin"], "createdAt": "2026-10-01T10:00:00+00:00",
               "lastUsedAt": "2026-11-02T09:30:00+00:00", "expiresAt": null, "revokedAt": "2026-11-03T00:00:00+00:00"},
              {"id": "k3", "name": "Later", "prefix": "ghi", "scopes": ["scim", "admin"], "createdAt": "2026-10-01T10:00:00+00:00",
               "lastUsedAt": null, "expiresAt": "2027-06-01T00:00:00+02:00", "revokedAt": null}]}
            """).objectValue!
        let page = KeysPage(user: user, keys: keys, nowEpoch: now)
        #expect(page.keys.map(\.status) == ["Active", "Revoked", "Active"])
        #expect(page.keys.map(\.expiresSoon) == [true, false, false])
        #expect(page.keys.map(\.scope) == ["SCIM", "Admin", "SCIM, Admin"])
        #expect(page.keys[0].prefix == "sk_abc" && page.keys[0].lastUsed == "Never")
        #expect(page.keys[1].lastUsed == "2026-11-02 09:30 UTC")
        #expect(page.keys[0].revokeHref == "/console/acme/keys/k1/revoke")
    }

    @Test("an error says how often it was seen in words: once, 2 times")
    func errorsSeen() throws {
        let list = try JSONParser.parse("""
            {"items": [
              {"id": "e1", "kind": "rejected", "cause": "uniqueness", "occurrences": 1, "lastSeenAt": "2026-11-29T10:00:00Z"},
              {"id": "e2", "kind": "rejected", "cause": "invalidValue", "occurrences": 2, "lastSeenAt": "2026-11-29T11:00:00Z"}]}
            """).objectValue!
        let page = ErrorsPage(user: user, summary: JSONObject(), list: list, showingResolved: false)
        #expect(page.errors.map(\.seen) == ["once", "2 times"])
    }

    @Test("timestamps with offsets become seconds since 1970")
    func epoch() {
        #expect(KeysPage.epoch("1970-01-01T00:00:00+00:00") == 0)
        #expect(KeysPage.epoch("2000-03-01T00:00:00Z") == 951_868_800)
        #expect(KeysPage.epoch("2026-11-29T14:00:00.123+02:00") == KeysPage.epoch("2026-11-29T12:00:00+00:00"))
        #expect(KeysPage.epoch("not a time") == nil)
    }

    @Test("after sign-in, only a page of the same tenant's console is a destination", arguments: [
        ("/console/acme/logs?status=4xx", "/console/acme/logs?status=4xx"),
        ("https://evil.example/console/acme/", "/console/acme/scim"),
        ("//evil.example/console/acme/", "/console/acme/scim"),
        ("/console/other/keys", "/console/acme/scim"),
        ("/console/acme//evil.example", "/console/acme/scim"),
        ("", "/console/acme/scim"),
    ])
    func next(_ wanted: String, _ destination: String) {
        #expect(ConsoleApp.safeNext(wanted, tenant: "acme") == destination)
    }

    @Test("query values are percent-encoded for links")
    func escaping() {
        #expect(Paging.escaped("a b&c=d/é") == "a%20b%26c%3Dd%2F%C3%A9")
    }

    @Test("times are shown to the minute, in UTC")
    func times() {
        #expect(ConsoleFormat.time("2026-11-29T21:40:12.123456+00:00") == "2026-11-29 21:40 UTC")
        #expect(ConsoleFormat.time("2026-11-29 21:40:12+00") == "2026-11-29 21:40 UTC")
        #expect(ConsoleFormat.time(nil) == "")
    }

    @Test("what an identity provider or a person typed is escaped in every page")
    func htmlEscaping() throws {
        let templates = try #require(ConsoleTemplates.bundled, "the console's templates are bundled with the module")
        let keys = try JSONParser.parse("""
            {"items": [{"id": "k1", "name": "<script>alert(1)</script>", "prefix": "\\"onmouseover=x", "scopes": ["scim"],
                        "createdAt": "2026-11-01T10:00:00+00:00"}]}
            """).objectValue!
        let html = templates.render("keys", KeysPage(user: user, keys: keys, nowEpoch: 0))
        #expect(!html.contains("<script>alert"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("sk_&quot;onmouseover=x"))
        #expect(html.contains(#"<input type="hidden" name="csrf" value="csrf-token-value">"#))
        #expect(html.contains("<label for=\"key-name\">Name</label>"))
    }

    @Test("every template renders with its page's model and the shared layout")
    func templates() throws {
        let templates = try #require(ConsoleTemplates.bundled)
        let html = templates.render("sign-in", SignInPage(tenant: "acme", email: "a@b.c", error: SignInPage.failure))
        #expect(html.hasPrefix("<!doctype html>"))
        #expect(html.contains("<h1>Sign in</h1>"))
        #expect(html.contains(#"value="acme""#))
        #expect(!html.contains("Sign out"))
        let scim = templates.render("scim", SCIMPage(user: user, settings: JSONObject([("endpointUrl", .string("https://h/scim/v2/acme")),
                                                                                       ("scimEnabled", .bool(false))]),
                                                     summary: ActivitySummary(lastRequest: nil, lastSuccessfulWriteAt: nil, hours: [], openErrors: 0)))
        #expect(scim.contains(#"<span class="state inactive" id="scim-state">Inactive</span>"#))
        #expect(scim.contains("Sign out") && scim.contains(#"aria-current="page">SCIM</a>"#))
        for name in ["audit", "directory", "errors", "invite", "keys", "logs", "mappings", "message", "people", "revoke-key", "user"] {
            #expect(templates.library.getTemplate(named: name) != nil, "\(name)")
        }
    }
}

@Suite struct ConsoleRequestTests {
    func request(_ headers: [String: String], body: String = "", origin: String = "http://127.0.0.1:8080") -> ConsoleRequest {
        ConsoleRequest(http: HTTPRequest(method: "POST", path: "/console/acme/scim", headers: headers, body: Array(body.utf8), origin: origin))
    }

    @Test("a form from our own origin passes; another site's, or Origin: null, does not")
    func origin() {
        #expect(request(["origin": "http://127.0.0.1:8080"]).isSameOrigin)
        #expect(!request(["origin": "https://attacker.example"]).isSameOrigin)
        #expect(!request(["origin": "null"]).isSameOrigin)
        #expect(!request(["sec-fetch-site": "cross-site"]).isSameOrigin)
        var behindProxy = request(["origin": "https://scim.example.com"])
        behindProxy.publicOrigin = "https://scim.example.com"
        #expect(behindProxy.isSameOrigin)
    }

    @Test("the anti-forgery token must come back exactly")
    func csrf() {
        #expect(request([:], body: "csrf=csrf-token-value&scimEnabled=on").carriesCSRFToken(of: user))
        #expect(!request([:], body: "scimEnabled=on").carriesCSRFToken(of: user))
        #expect(!request([:], body: "csrf=csrf-token-valuE").carriesCSRFToken(of: user))
    }

    @Test("the session cookie: __Host- and Secure over https, HttpOnly and SameSite=Strict always")
    func cookie() {
        let token = SecretToken(value: "abc")
        let secure = request([:], origin: "https://scim.example.com")
        #expect(secure.sessionCookie(token) == "__Host-scim_console=abc; Path=/; HttpOnly; SameSite=Strict; Secure")
        #expect(request([:]).sessionCookie(token) == "scim_console=abc; Path=/; HttpOnly; SameSite=Strict")
        let sent = request(["cookie": "other=1; scim_console=abc; x=y"])
        #expect(sent.cookie("scim_console") == "abc")
        #expect(sent.sessionTokenHash == SecretToken.hash("abc"))
    }
}
