import SCIMAdmin
import SCIMCore

/// What the console reads from an HTTP request: the form, the session cookie, and whether the
/// request came from one of our own pages.
struct ConsoleRequest {
    let http: HTTPRequest
    /// The configured public origin (SCIM_PUBLIC_URL), when the stack sits behind another name.
    var publicOrigin: String?

    /// https behind nginx's TLS: the cookie is `__Host-` prefixed and `Secure`. The loopback dev
    /// stack serves plain http, where a browser would drop such a cookie, so it gets a plain name.
    var isSecure: Bool { http.origin.hasPrefix("https://") || publicOrigin?.hasPrefix("https://") == true }

    var sessionCookieName: String { isSecure ? "__Host-scim_console" : "scim_console" }

    /// Fields of an `application/x-www-form-urlencoded` body.
    var form: [(name: String, value: String)] {
        HTTPRequest.parseQuery(String(decoding: http.body, as: UTF8.self))
    }

    func field(_ name: String) -> String? { form.first { $0.name == name }?.value }

    func fields(_ name: String) -> [String] { form.filter { $0.name == name }.map(\.value) }

    /// The value of a cookie (RFC 6265 §5.4: `name=value` pairs separated by `; `).
    func cookie(_ name: String) -> String? {
        guard let header = http.header("cookie") else { return nil }
        for pair in header.split(separator: ";") {
            let parts = pair.trimmingSpaces.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == name { return String(parts[1]) }
        }
        return nil
    }

    var sessionTokenHash: [UInt8]? { cookie(sessionCookieName).map(SecretToken.hash) }

    /// False for a request a page of another site made: its `Origin` (or, without one, its
    /// `Sec-Fetch-Site`) names someone else. Browsers send `Origin` with every form POST.
    var isSameOrigin: Bool {
        if let origin = http.header("origin") {
            return origin == http.origin || origin == publicOrigin
        }
        if let site = http.header("sec-fetch-site") {
            return site == "same-origin" || site == "none"
        }
        return true
    }

    /// The session's anti-forgery token came back with the form.
    func carriesCSRFToken(of user: ConsoleUser) -> Bool {
        guard let sent = field("csrf") else { return false }
        return SecretToken.constantTimeEquals(Array(sent.utf8), Array(user.csrfToken.utf8))
    }

    func sessionCookie(_ token: SecretToken) -> String {
        "\(sessionCookieName)=\(token.value); Path=/; HttpOnly; SameSite=Strict\(isSecure ? "; Secure" : "")"
    }

    var expiredSessionCookie: String {
        "\(sessionCookieName)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict\(isSecure ? "; Secure" : "")"
    }
}
