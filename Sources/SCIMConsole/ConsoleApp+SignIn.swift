import SCIMAdmin
import SCIMCore

/// Signing in and out, and accepting an invite.
extension ConsoleApp {
    func signIn(_ request: ConsoleRequest) -> HTTPResponse {
        let tenant = request.field("tenant").map { String($0.trimmingSpaces).lowercased() } ?? ""
        let email = request.field("email").map { String($0.trimmingSpaces) } ?? ""
        let password = request.field("password") ?? ""
        let next = request.field("next") ?? ""
        func failed() -> HTTPResponse {
            render("sign-in", SignInPage(tenant: tenant, email: email, next: next, error: SignInPage.failure), status: 401)
        }
        guard Route.isValidSlug(tenant), !email.isEmpty, !password.isEmpty else { return failed() }
        do {
            guard let account = try store.account(tenantSlug: tenant, email: email), let stored = account.passwordHash else {
                // As long as a real check, so the answer's timing does not tell which addresses exist.
                _ = hasher.verify(password, against: PasswordHasher.decoy)
                return failed()
            }
            if SignInThrottle.mustWait(account) { return failed() }
            guard hasher.verify(password, against: stored) else {
                try store.recordFailedSignIn(userId: account.userId)
                return failed()
            }
            let session = NewConsoleSession()
            let user = try store.startSession(userId: account.userId, session)
            return ConsoleResponse.redirect(Self.safeNext(next, tenant: user.tenantSlug),
                                            headers: [("Set-Cookie", request.sessionCookie(session.cookie))])
        } catch {
            return message(status: error.status, "Sign-in failed", error.detail, tenant: tenant)
        }
    }

    func signOut(_ request: ConsoleRequest, tenant: String) -> HTTPResponse {
        let clear = [("Set-Cookie", request.expiredSessionCookie)]
        guard let hash = request.sessionTokenHash, Route.isValidSlug(tenant) else {
            return ConsoleResponse.redirect("/console/sign-in", headers: clear)
        }
        do {
            let user = try store.administer(tenantSlug: tenant, as: .consoleSession(tokenHash: hash)) { (_, actor) throws(SCIMError) in
                actor.consoleUser
            }
            guard let user, request.carriesCSRFToken(of: user) else { return csrfRefusal(tenant: tenant) }
            try store.endSession(tokenHash: hash)
        } catch where error.status == 401 {
            // Already ended: signing out again is harmless.
        } catch {
            return message(status: error.status, "Sign-out failed", error.detail, tenant: tenant)
        }
        return ConsoleResponse.redirect("/console/sign-in?tenant=\(tenant)&signedOut=1", headers: clear)
    }

    func invitePage(_ request: ConsoleRequest, tenant: String) -> HTTPResponse {
        let token = request.http.queryValue("token") ?? ""
        let invitation = try? store.invitation(tokenHash: SecretToken.hash(token))
        guard let invitation, invitation.tenantSlug == tenant else {
            return render("invite", InvitePage(tenant: tenant, email: "", token: "", usable: false), status: 404)
        }
        return render("invite", InvitePage(tenant: tenant, email: invitation.email, token: invitation.usable ? token : "",
                                           usable: invitation.usable), status: invitation.usable ? 200 : 410)
    }

    func acceptInvite(_ request: ConsoleRequest, tenant: String) -> HTTPResponse {
        let token = request.field("token") ?? ""
        let password = request.field("password") ?? ""
        let confirmation = request.field("confirmPassword") ?? ""
        let hash = SecretToken.hash(token)
        guard let invitation = try? store.invitation(tokenHash: hash), invitation.tenantSlug == tenant, invitation.usable else {
            return render("invite", InvitePage(tenant: tenant, email: "", token: "", usable: false), status: 410)
        }
        var problem = PasswordHasher.weakness(of: password)
        if problem == nil && password != confirmation { problem = "The two passwords are not the same." }
        if let problem {
            return render("invite", InvitePage(tenant: tenant, email: invitation.email, token: token, usable: true, passwordError: problem),
                          status: 400)
        }
        do {
            let session = NewConsoleSession()
            guard let user = try store.acceptInvitation(tokenHash: hash, passwordHash: try hashPassword(password), session: session) else {
                return render("invite", InvitePage(tenant: tenant, email: "", token: "", usable: false), status: 410)
            }
            return ConsoleResponse.redirect("/console/\(user.tenantSlug)/scim", headers: [("Set-Cookie", request.sessionCookie(session.cookie))])
        } catch {
            return message(status: error.status, "The invitation could not be accepted", error.detail, tenant: tenant)
        }
    }

    private func hashPassword(_ password: String) throws(SCIMError) -> String {
        do {
            return try hasher.hash(password)
        } catch {
            throw .internalError("The password could not be hashed: \(error).")
        }
    }

    func csrfRefusal(tenant: String) -> HTTPResponse {
        message(status: 403, "Refused", "This form is out of date or did not come from this console. Reload the page and try again.",
                tenant: tenant)
    }

    /// Where to go after signing in: a console page of the same tenant, never another site.
    static func safeNext(_ next: String, tenant: String) -> String {
        let home = "/console/\(tenant)/"
        guard next.hasPrefix(home), !next.contains("//"), !next.contains("\\"), !next.contains(where: { $0.isNewline }) else {
            return home + "scim"
        }
        return next
    }
}
