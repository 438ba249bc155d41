import SCIMCore

/// Console answers: HTML pages with the headers every page carries, and redirects.
enum ConsoleResponse {
    /// No inline script or style, no framing, forms only to ourselves; `no-store` because pages
    /// show session-bound data and, once, new secrets. `same-origin` referrers (not `no-referrer`)
    /// because under `no-referrer` a browser sends `Origin: null` with our own forms.
    static let securityHeaders: [(String, String)] = [
        ("Content-Security-Policy",
         "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Cache-Control", "no-store"),
    ]

    static func page(_ html: String, status: Int = 200, headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "text/html; charset=utf-8")] + securityHeaders + headers,
                     body: Array(html.utf8))
    }

    /// POST/Redirect/GET, and every other move between pages.
    static func redirect(_ location: String, headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: 303, headers: [("Location", location)] + securityHeaders + headers)
    }

    static func asset(_ bytes: [UInt8], contentType: String) -> HTTPResponse {
        HTTPResponse(status: 200, headers: [("Content-Type", contentType), ("Cache-Control", "public, max-age=3600"),
                                            ("X-Content-Type-Options", "nosniff")], body: bytes)
    }
}
