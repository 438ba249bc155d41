import SCIMAdmin
import SCIMCore

/// Administration > SCIM: the endpoint to paste into Entra, the Enable SCIM switch, and how
/// provisioning is going.
struct SCIMPage {
    let layout: Layout
    let endpointUrl: String
    let enabled: Bool
    let stateLabel: String
    let lastRequestAt: String
    let lastRequestKey: String?
    let lastRequestStatus: String?
    let lastWriteAt: String
    let requests24h: Int
    let failures24h: Int
    let openErrors: Int
    let hasOpenErrors: Bool
    let errorsHref: String
    let chart: ActivityChart
    let message: String?

    init(user: ConsoleUser, settings: JSONObject, summary: ActivitySummary, message: String? = nil) {
        layout = Layout(title: "SCIM", section: "scim", user: user)
        endpointUrl = settings["endpointUrl"]?.stringValue ?? ""
        enabled = settings["scimEnabled"]?.boolValue ?? false
        stateLabel = enabled ? "Active" : "Inactive"
        lastRequestAt = summary.lastRequest.map { ConsoleFormat.time($0.at) } ?? "Never"
        lastRequestKey = summary.lastRequest?.key.flatMap { $0.isEmpty ? nil : $0 }
        lastRequestStatus = summary.lastRequest.map { String($0.status) }
        lastWriteAt = summary.lastSuccessfulWriteAt.map { ConsoleFormat.time($0) } ?? "Never"
        requests24h = summary.requestCount
        failures24h = summary.failureCount
        openErrors = summary.openErrors
        hasOpenErrors = summary.openErrors > 0
        errorsHref = "/console/\(user.tenantSlug)/errors"
        chart = ActivityChart(summary.hours)
        let state = stateLabel
        self.message = message.map { "\($0) SCIM is now \(state)." }
    }
}

/// Requests and failures per hour as SVG bars, drawn by the server (no script, no image).
struct ActivityChart {
    struct Bar {
        let x: Int
        let width: Int
        let requestsY: Int
        let requestsHeight: Int
        let failuresY: Int
        let failuresHeight: Int
        let label: String
    }

    static let width = 720
    static let height = 160
    static let baseline = 140

    let width = ActivityChart.width
    let height = ActivityChart.height
    let baseline = ActivityChart.baseline
    let bars: [Bar]
    let maximum: Int
    /// "0 requests" when nothing came: the scale's floor of 1 is not a count.
    let busiestHour: String
    let firstHour: String
    let lastHour: String
    let summary: String

    init(_ hours: [ActivitySummary.Hour]) {
        let busiest = hours.map(\.requests).max() ?? 0
        let maximum = max(1, busiest)
        let slot = hours.isEmpty ? Self.width : Self.width / hours.count
        let plot = Self.baseline - 10
        bars = hours.enumerated().map { index, hour in
            let requestsHeight = hour.requests * plot / maximum
            let failuresHeight = hour.failures * plot / maximum
            return Bar(x: index * slot + 2, width: max(1, slot - 4),
                       requestsY: Self.baseline - requestsHeight, requestsHeight: requestsHeight,
                       failuresY: Self.baseline - failuresHeight, failuresHeight: failuresHeight,
                       label: "\(ConsoleFormat.time(hour.start)): \(ConsoleFormat.count(hour.requests, "request")), \(hour.failures) failed")
        }
        self.maximum = maximum
        busiestHour = ConsoleFormat.count(busiest, "request")
        firstHour = hours.first.map { ConsoleFormat.time($0.start) } ?? ""
        lastHour = hours.last.map { ConsoleFormat.time($0.start) } ?? ""
        let total = hours.reduce(0) { $0 + $1.requests }
        let failed = hours.reduce(0) { $0 + $1.failures }
        summary = "\(ConsoleFormat.count(total, "request")), \(failed) failed, in the last \(ConsoleFormat.count(hours.count, "hour"))"
    }
}
