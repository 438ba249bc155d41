"""The product guide's steps in the console, as the customer's administrator takes them, in
order: accept the invite, sign in, copy the endpoint, switch SCIM on and off, make a SCIM key,
map departments, columns and groups, find and resolve errors, read the logs. Then what must be
refused. Each test saves a screenshot of the page it ends on."""
import re
import urllib.parse

from selenium.webdriver.common.by import By

from conftest import BASE_URL, PASSWORD, Browser, Tenant, http, new_driver, psql, scimctl, wait_until


def test_invite_accepted_and_password_chosen(browser, tenant):
    browser.open(tenant.invite_url)
    assert browser.heading == "Accept your invitation"
    assert tenant.email in browser.text
    browser.screenshot("01-invite")
    browser.fill("New password", "short")
    browser.fill("Repeat the password", "short")
    browser.click("Set password and sign in")
    assert "at least 12 characters" in browser.text
    browser.fill("New password", PASSWORD)
    browser.fill("Repeat the password", PASSWORD)
    browser.click("Set password and sign in")
    assert browser.heading == "SCIM"
    assert tenant.email in browser.text
    # The link worked once.
    browser.open(tenant.invite_url)
    assert "not valid" in browser.text
    browser.open(tenant.page("scim"))
    assert browser.heading == "SCIM"


def test_sign_out_then_wrong_password_then_sign_in(browser, tenant):
    browser.open(tenant.page("scim"))
    browser.click("Sign out")
    assert browser.heading == "Sign in"
    assert "You are signed out." in browser.text
    # The old session is over on the server too.
    browser.open(tenant.page("keys"))
    assert browser.heading == "Sign in"
    browser.fill("Organization", tenant.slug)
    browser.fill("E-mail address", tenant.email)
    browser.fill("Password", "not the password at all")
    browser.click("Sign in")
    wrong = browser.text
    assert "is not right" in wrong
    # An unknown address gets the same words.
    browser.fill("E-mail address", "nobody@" + tenant.slug + ".example.com")
    browser.fill("Password", "not the password at all")
    browser.click("Sign in")
    assert "is not right" in browser.text
    browser.screenshot("02-sign-in-refused")
    browser.fill("E-mail address", tenant.email)
    browser.fill("Password", PASSWORD)
    browser.click("Sign in")
    # Back to the page that was wanted before signing in.
    assert browser.heading == "API Keys"


def test_endpoint_url_is_shown_and_copied(browser, tenant):
    browser.open(tenant.page("scim"))
    endpoint = browser.field("Endpoint URL").get_attribute("value")
    assert endpoint == f"{BASE_URL}/scim/v2/{tenant.slug}"
    browser.driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": BASE_URL, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    copy = browser.driver.find_element(By.XPATH, "//input[@id='endpoint-url']/following-sibling::button")
    copy.click()
    assert wait_until(lambda: copy.text == "Copied", timeout=5)
    copied = browser.driver.execute_async_script("navigator.clipboard.readText().then(arguments[0], function(e){ arguments[0]('error: ' + e); });")
    assert copied == endpoint


def test_scim_key_created_shown_once_and_used(browser, tenant):
    browser.open(tenant.page("keys"))
    assert "No keys yet" in browser.text
    browser.click("+ API Key")
    browser.fill("Name", "")
    browser.click("Create key")
    assert "non-empty string" in browser.text  # the message next to the Name field
    browser.fill("Name", "Entra ID <provisioning>")
    browser.field("SCIM (the identity provider provisions with it)").click()
    browser.click("Create key")
    assert "It will not be shown again" in browser.text
    token = browser.driver.find_element(By.ID, "new-key").get_attribute("value")
    assert re.fullmatch(r"sk_[0-9a-z]{10}_[0-9A-Za-z]{40}", token)
    assert "Entra ID <provisioning>" in browser.text  # escaped, shown as typed
    browser.screenshot("04-api-keys-created")
    status, _, _ = http("GET", f"/scim/v2/{tenant.slug}/Users?count=1", token=token)
    assert status == 200
    tenant.scim_token = token
    browser.open(tenant.page("keys"))
    assert token not in browser.driver.page_source
    assert "Active" in browser.text


def test_enable_scim_switch_turns_provisioning_off_and_on(browser, tenant):
    browser.open(tenant.page("scim"))
    assert browser.driver.find_element(By.ID, "scim-state").text == "Active"
    caption = browser.driver.find_element(By.CSS_SELECTOR, "figure.chart figcaption").text
    assert re.search(r"busiest hour: \d+ requests?\)", caption), caption
    switch = browser.field("Enable SCIM")
    assert switch.is_selected()
    switch.click()
    browser.click("Save")
    assert browser.driver.find_element(By.ID, "scim-state").text == "Inactive"
    status, _, body = http("GET", f"/scim/v2/{tenant.slug}/Users", token=tenant.scim_token)
    assert status == 403, body
    browser.screenshot("03-scim-inactive")
    browser.field("Enable SCIM").click()
    browser.click("Save")
    assert browser.driver.find_element(By.ID, "scim-state").text == "Active"
    status, _, _ = http("GET", f"/scim/v2/{tenant.slug}/Users", token=tenant.scim_token)
    assert status == 200


def provision_user(tenant, user_name, department=None, title=None, display_name=None):
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "userName": user_name, "active": True, "displayName": display_name or user_name}
    if title:
        body["title"] = title
    if department:
        body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] = {"department": department}
    status, _, text = http("POST", f"/scim/v2/{tenant.slug}/Users", token=tenant.scim_token, body=body)
    assert status == 201, text
    return text


def test_department_mapping_previewed_then_saved_and_applied(browser, tenant):
    for i in range(3):
        provision_user(tenant, f"eng{i}@{tenant.slug}.example.com", department="eng", title="engineer")
    browser.open(tenant.page("mappings"))
    browser.fill("New department", "Engineering")
    browser.click("Add department")
    browser.fill("Incoming department", "eng")
    browser.choose("Department", "Engineering")
    browser.click("Preview", within=browser.form_with("Add a department mapping"))
    summary = browser.driver.find_element(By.ID, "preview-summary").text
    assert summary.startswith("3 of 3 users would change"), summary
    assert "department: 3" in summary
    browser.screenshot("05-mappings-preview")
    # Nothing was saved by the preview.
    assert psql(f"select count(*) from scim.department_mappings m join scim.tenants t on t.id = m.tenant_id where t.slug = '{tenant.slug}'") == "0"
    browser.click("Save", within=browser.form_with("Add a department mapping"))
    assert "Saved" in browser.text
    assert wait_until(lambda: browser.driver.find_element(By.ID, "job-state").text == "3 of 3 users, done")
    assert psql(f"select count(*) from app.users u join app.departments d on d.id = u.department_id join scim.tenants t on t.id = u.tenant_id "
                f"where t.slug = '{tenant.slug}' and d.name = 'Engineering'") == "3"


def test_column_mapping_previewed_then_saved(browser, tenant):
    browser.open(tenant.page("mappings"))
    form = browser.form_with("Add or change a column mapping")
    browser.fill("SCIM attribute", "title")
    browser.choose("Application field", "job_title")
    browser.field("uppercase").click()
    browser.click("Preview", within=form)
    summary = browser.driver.find_element(By.ID, "preview-summary").text
    assert summary.startswith("3 of 3 users would change"), summary
    assert "jobTitle: 3" in summary
    assert "ENGINEER" in browser.text  # the after column of the samples
    browser.click("Save", within=browser.form_with("Add or change a column mapping"))
    assert wait_until(lambda: browser.driver.find_element(By.ID, "job-state").text == "3 of 3 users, done")
    assert psql(f"select string_agg(distinct u.job_title, ',') from app.users u join scim.tenants t on t.id = u.tenant_id where t.slug = '{tenant.slug}'") == "ENGINEER"


def test_group_role_mapping_for_a_group_not_provisioned_yet(browser, tenant):
    browser.open(tenant.page("mappings"))
    browser.fill("New role", "Editor")
    browser.click("Add role")
    browser.choose("Match the group by", "Group name")
    browser.fill("Group", "Editors")
    browser.choose("Role", "Editor")
    browser.click("Preview", within=browser.form_with("Add a group-role mapping"))
    assert browser.driver.find_element(By.ID, "preview-summary").text.startswith("0 of 3 users would change")
    browser.click("Save", within=browser.form_with("Add a group-role mapping"))
    assert wait_until(lambda: browser.driver.find_element(By.ID, "job-state").text == "3 of 3 users, done")
    assert "No provisioned group matches yet" in browser.text
    # The group arrives with a member: the member gets the role.
    user_id = psql(f"select u.id from scim.users u join scim.tenants t on t.id = u.tenant_id where t.slug = '{tenant.slug}' order by u.user_name limit 1")
    status, _, text = http("POST", f"/scim/v2/{tenant.slug}/Groups", token=tenant.scim_token,
                           body={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Editors",
                                 "members": [{"value": user_id}]})
    assert status == 201, text
    browser.open(tenant.page("directory"))
    assert "Editor (from group Editors)" in browser.text
    browser.screenshot("06-users-and-groups")
    # The user's own page: the SCIM resource it came as, its groups, the application user it became.
    browser.click(psql(f"select user_name from scim.users where id = '{user_id}'"))
    assert browser.driver.find_element(By.ID, "user-groups").text == "Editors"
    assert '"userName": ' in browser.driver.find_element(By.ID, "scim-resource").text
    assert "Editor (from group Editors)" in browser.text and "Engineering" in browser.text
    browser.screenshot("06-user")
    browser.open(tenant.page("mappings"))
    browser.screenshot("05-mappings")


def test_error_grouped_then_resolved_by_a_good_request(browser, tenant):
    name = f"dup@{tenant.slug}.example.com"
    provision_user(tenant, name)
    status, _, _ = http("POST", f"/scim/v2/{tenant.slug}/Users", token=tenant.scim_token,
                        body={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name.upper()})
    assert status == 409
    browser.open(tenant.page("errors"))
    groups = browser.section("Open problems by cause").text
    assert "409 uniqueness" in groups and name.upper() in groups
    assert "Another user or group already has this value" in groups
    assert "Seen once, last" in browser.text
    browser.screenshot("07-errors")
    # The identity provider fixes its data and writes the same user successfully.
    user_id = psql(f"select u.id from scim.users u join scim.tenants t on t.id = u.tenant_id where t.slug = '{tenant.slug}' and u.user_name = '{name}'")
    status, _, _ = http("PATCH", f"/scim/v2/{tenant.slug}/Users/{user_id}", token=tenant.scim_token,
                        body={"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                              "Operations": [{"op": "replace", "path": "userName", "value": name.upper()}]})
    assert status == 200
    browser.open(tenant.page("errors"))
    assert "No open errors." in browser.text
    browser.click("Show resolved errors")
    assert "Resolved" in browser.text and "by system" in browser.text


def test_error_resolved_by_hand(browser, tenant):
    status, _, _ = http("POST", f"/scim/v2/{tenant.slug}/Users", token=tenant.scim_token,
                        body={"schemas": ["urn:ietf:params:scim:core:2.0:User"], "userName": ""})
    assert status == 400
    browser.open(tenant.page("errors"))
    assert "400" in browser.section("Open problems by cause").text
    browser.click("Resolve", within=browser.driver.find_element(By.CSS_SELECTOR, ".cards"))
    assert "Marked as resolved." in browser.text
    assert "No open errors." in browser.text


def test_a_delete_of_a_user_already_gone_is_no_error(browser, tenant):
    status, _, _ = http("DELETE", f"/scim/v2/{tenant.slug}/Users/00000000-0000-4000-8000-000000000000", token=tenant.scim_token)
    assert status == 404
    browser.open(tenant.page("errors"))
    assert "No open errors." in browser.text


def test_request_found_in_logs_with_its_details(browser, tenant):
    name = f"dup@{tenant.slug}.example.com".upper()
    browser.open(tenant.page("logs"))
    browser.choose("Status", "Refused (4xx)")
    browser.fill("User or group name", name)
    browser.click("Filter")
    entries = browser.driver.find_elements(By.CSS_SELECTOR, ".log li")
    assert len(entries) == 1
    entries[0].find_element(By.TAG_NAME, "summary").click()
    details = entries[0].text
    assert "409" in details and "Request id" in details and "uniqueness" in details
    assert "Entra ID <provisioning>" in details  # the key that sent it
    browser.screenshot("08-logs")


def test_audit_and_console_users(browser, tenant):
    browser.open(tenant.page("audit"))
    text = browser.text
    assert f"console:{tenant.email}" in text and "api key" in text and "department mapping" in text
    browser.screenshot("09-audit")
    browser.open(tenant.page("people"))
    browser.fill("E-mail address", "not an address")
    browser.driver.execute_script("document.getElementById('invite-email').type = 'text'")  # past the browser's own check
    browser.click("Create invitation link")
    assert "Enter an e-mail address" in browser.text
    browser.fill("E-mail address", "second@" + tenant.slug + ".example.com")
    browser.click("Create invitation link")
    link = browser.field("Invitation link").get_attribute("value")
    assert link.startswith(f"{BASE_URL}/console/{tenant.slug}/invite?token=")
    browser.screenshot("10-console-users")
    # Removing yourself while you are the only console user is refused.
    browser.click(f"Remove {tenant.email}")
    assert "last console user" in browser.text


def test_markup_from_the_identity_provider_is_shown_as_text(browser, tenant):
    hostile = f"<img src=x onerror=alert(1)>\"'@{tenant.slug}.example.com"
    provision_user(tenant, hostile, display_name="<script>alert('x')</script>")
    browser.open(tenant.page("directory") + "?text=" + urllib.parse.quote("<img"))
    assert hostile in browser.text
    assert "<script>alert('x')</script>" in browser.text
    assert not browser.driver.find_elements(By.XPATH, "//main//img | //main//script")
    assert "&lt;script&gt;" in browser.driver.page_source


def test_expired_session_signs_in_again_and_returns(browser, tenant):
    psql(f"update scim.console_sessions s set last_seen_at = now() - interval '31 minutes' from scim.tenants t "
         f"where t.id = s.tenant_id and t.slug = '{tenant.slug}'")
    browser.open(tenant.page("logs") + "?status=4xx")
    assert browser.heading == "Sign in"
    browser.fill("E-mail address", tenant.email)
    browser.fill("Password", PASSWORD)
    browser.click("Sign in")
    assert browser.heading == "Logs"
    assert browser.driver.current_url.endswith("/logs?status=4xx")


def test_form_without_csrf_token_or_from_another_site_is_refused(browser, tenant):
    browser.open(tenant.page("scim"))
    cookie = browser.session_cookie
    # The form as our page sends it, less its anti-forgery token.
    browser.driver.execute_script("document.querySelector('form.switch-form input[name=csrf]').remove()")
    browser.field("Enable SCIM").click()
    browser.click("Save")
    assert browser.driver.find_element(By.CSS_SELECTOR, "[role=alert]").text.startswith("This form is out of date")
    assert psql(f"select scim_enabled from scim.tenants where slug = '{tenant.slug}'") == "t"
    browser.screenshot("11-refused")
    csrf = re.search(r'name="csrf" value="([^"]+)"', http("GET", f"/console/{tenant.slug}/scim", cookie=cookie)[2]).group(1)
    form = urllib.parse.urlencode({"csrf": csrf}).encode()
    status, _, _ = http("POST", f"/console/{tenant.slug}/scim", body=form, cookie=cookie,
                        headers={"Origin": "https://attacker.example", "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 403
    assert psql(f"select scim_enabled from scim.tenants where slug = '{tenant.slug}'") == "t"
    # The same request from our own origin goes through (the refusal above was for the origin).
    status, headers, _ = http("POST", f"/console/{tenant.slug}/scim", body=form, cookie=cookie,
                              headers={"Origin": BASE_URL, "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 303 and psql(f"select scim_enabled from scim.tenants where slug = '{tenant.slug}'") == "f"


def test_a_console_user_of_one_tenant_sees_nothing_of_another(browser, tenant):
    other = Tenant()
    for page in ("scim", "keys", "errors", "logs", "mappings", "audit", "people", "directory"):
        browser.open(other.page(page))
        assert browser.heading == "Sign in", page
    cookie = browser.session_cookie
    status, headers, _ = http("GET", f"/console/{other.slug}/keys", cookie=cookie)
    assert status == 303 and "/console/sign-in" in headers["Location"]


def test_repeated_wrong_passwords_slow_the_account_down(tenant):
    def sign_in(password):
        form = urllib.parse.urlencode({"tenant": tenant.slug, "email": tenant.email, "password": password}).encode()
        return http("POST", "/console/sign-in", body=form,
                    headers={"Origin": BASE_URL, "Content-Type": "application/x-www-form-urlencoded"})
    for _ in range(6):
        status, _, body = sign_in("wrong password, again")
        assert status == 401 and "is not right" in body
    # Now even the right password waits (and says the same words), without locking the account.
    status, _, body = sign_in(PASSWORD)
    assert status == 401 and "is not right" in body
    psql(f"update scim.console_users set last_failed_at = now() - interval '10 minutes' where lower(email) = lower('{tenant.email}')")
    status, headers, _ = sign_in(PASSWORD)
    assert status == 303 and headers["Location"] == f"/console/{tenant.slug}/scim"
    assert psql(f"select failed_sign_ins from scim.console_users where lower(email) = lower('{tenant.email}')") == "0"


def test_pages_answer_with_security_headers():
    status, headers, _ = http("GET", "/console/sign-in")
    assert status == 200
    assert "script-src 'self'" in headers["Content-Security-Policy"] and "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cache-Control"] == "no-store"


def test_sign_in_page_on_a_phone(tenant):
    driver = new_driver()
    try:
        driver.set_window_size(390, 844)
        phone = Browser(driver)
        phone.open(f"{BASE_URL}/console/sign-in?tenant={tenant.slug}")
        phone.fill("E-mail address", tenant.email)
        phone.fill("Password", PASSWORD)
        phone.click("Sign in")
        assert phone.heading == "SCIM"
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide on a 390 px screen"
        phone.screenshot("12-scim-on-a-phone")
    finally:
        driver.quit()
