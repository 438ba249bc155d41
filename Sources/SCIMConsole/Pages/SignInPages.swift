/// Sign in: organisation (the tenant), e-mail address and password.
struct SignInPage {
    let layout: Layout
    let tenant: String
    let email: String
    let next: String
    let error: String?
    let notice: String?

    init(tenant: String, email: String = "", next: String = "", error: String? = nil, notice: String? = nil) {
        layout = Layout(signedOutTitle: "Sign in", tenant: tenant)
        self.tenant = tenant
        self.email = email
        self.next = next
        self.error = error
        self.notice = notice
    }

    /// The same words for an unknown address, a wrong password and an account that must wait,
    /// so the page tells a stranger nothing about which addresses exist.
    static let failure = "The e-mail address or password is not right, or there were too many attempts. Check them and try again in a minute."
}

/// Accept an invite: choose a password.
struct InvitePage {
    let layout: Layout
    let tenant: String
    let email: String
    let token: String
    let usable: Bool
    let action: String
    let passwordError: String?

    init(tenant: String, email: String, token: String, usable: Bool, passwordError: String? = nil) {
        layout = Layout(signedOutTitle: usable ? "Accept your invitation" : "Invitation not valid", tenant: tenant)
        self.tenant = tenant
        self.email = email
        self.token = token
        self.usable = usable
        action = "/console/\(tenant)/invite"
        self.passwordError = passwordError
    }
}

/// A page that says something went wrong, with a way on.
struct MessagePage {
    let layout: Layout
    let heading: String
    let text: String
    let linkHref: String
    let linkLabel: String
}
