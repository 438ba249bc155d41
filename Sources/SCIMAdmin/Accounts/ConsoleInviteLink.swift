/// Where an invite link points: the console's page that accepts it. The secret travels in the
/// query string, which neither nginx's access log format nor the responder's request log records.
public enum ConsoleInviteLink {
    public static func path(tenantSlug: String, token: SecretToken) -> String {
        "/console/\(tenantSlug)/invite?token=\(token.value)"
    }
}
