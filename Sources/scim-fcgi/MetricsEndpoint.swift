import SCIMCore
import SCIMFastCGI

/// `GET /metrics`: the Prometheus text of the workers' shared board. No key: nginx lets only the
/// networks in scim-metrics-access.conf reach it.
enum MetricsEndpoint {
    static func response(_ request: HTTPRequest, _ board: MetricsBoard?) -> HTTPResponse {
        guard request.method.uppercased() == "GET" else {
            return .error(.methodNotAllowed("\(request.method) is not supported on /metrics.", allow: "GET"))
        }
        guard let board else { return .error(.unavailable("The metrics board could not be made at start.", retryAfterSeconds: 60)) }
        return HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8"), ("Cache-Control", "no-store")],
                            body: Array(board.render().utf8))
    }
}
