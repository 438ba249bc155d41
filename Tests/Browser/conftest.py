"""A real Chromium (Debian's chromium + chromium-driver, through Selenium) against the running
stack: nginx, the responder, PostgreSQL. Controls are found by their visible label text, the
way a person reads the page. deploy/test.sh runs this with the stack up."""
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.support.ui import WebDriverWait

BASE_URL = os.environ.get("SCIM_TEST_BASE_URL", "http://127.0.0.1:8080")
SCIMCTL = os.environ.get("SCIM_TEST_SCIMCTL", ".build/release/scimctl")
DATABASE_URL = os.environ.get("SCIM_TEST_DATABASE_URL", "")
SCREENSHOTS = os.environ.get("SCIM_TEST_SCREENSHOTS", ".local/log/console-screenshots")
PASSWORD = "a long and correct password"


def scimctl(*args):
    return subprocess.run([SCIMCTL, *args], check=True, capture_output=True, text=True).stdout


def psql(sql):
    return subprocess.run(["psql", DATABASE_URL, "-qtAc", sql], check=True, capture_output=True, text=True).stdout.strip()


def http(method, path, token=None, body=None, headers=None, cookie=None):
    """One request through nginx; returns (status, headers, text)."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(BASE_URL + path, data=data, method=method)
    if token:
        request.add_header("Authorization", "Bearer " + token)
    if body is not None and not isinstance(body, bytes):
        request.add_header("Content-Type", "application/scim+json")
    if cookie:
        request.add_header("Cookie", cookie)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Tenant:
    """A fresh tenant with SCIM on and one console user invited (not yet accepted)."""

    def __init__(self):
        self.slug = "web-" + uuid.uuid4().hex[:10]
        scimctl("tenant", "create", self.slug, "--name", "Browser test", "--enable-scim")
        self.email = "admin@" + self.slug + ".example.com"
        output = scimctl("console", "invite", self.slug, "--email", self.email)
        self.invite_url = next(line.split("=", 1)[1] for line in output.splitlines() if line.startswith("CONSOLE_INVITE_URL="))
        self.scim_token = None

    def page(self, name):
        return f"{BASE_URL}/console/{self.slug}/{name}"


class Browser:
    """The person at the browser: reads labels, clicks buttons by their words, looks at pages."""

    def __init__(self, driver):
        self.driver = driver

    def open(self, url):
        self.driver.get(url)
        self.wait_until_loaded()

    def wait_until_loaded(self):
        WebDriverWait(self.driver, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")

    @property
    def heading(self):
        return self.driver.find_element(By.TAG_NAME, "h1").text

    @property
    def text(self):
        return self.driver.find_element(By.TAG_NAME, "body").text

    def field(self, label):
        """The control a <label> with this visible text is for."""
        element = self.driver.find_element(By.XPATH, f"//label[normalize-space()={xpath_literal(label)}]")
        return self.driver.find_element(By.ID, element.get_attribute("for"))

    def fill(self, label, value):
        control = self.field(label)
        control.clear()
        control.send_keys(value)

    def choose(self, label, option_text):
        from selenium.webdriver.support.ui import Select
        Select(self.field(label)).select_by_visible_text(option_text)

    def click(self, words, within=None):
        """A button, link or summary with these words (or this aria-label)."""
        scope = within or self.driver
        literal = xpath_literal(words)
        element = scope.find_element(By.XPATH, f".//*[self::button or self::a or self::summary][normalize-space()={literal} or @aria-label={literal}]")
        navigates = element.tag_name != "summary" and element.get_attribute("type") != "button"
        page = self.driver.find_element(By.TAG_NAME, "html")
        element.click()
        if navigates:
            # The old page goes as navigation starts; wait for the new one to be whole before a
            # person (or the next step) reads or types into it.
            WebDriverWait(self.driver, 20).until(gone(page))
            self.wait_until_loaded()

    def section(self, heading):
        literal = xpath_literal(heading)
        return self.driver.find_element(By.XPATH, f"//section[.//h2[normalize-space()={literal}] or .//h3[normalize-space()={literal}]]")

    def form_with(self, heading):
        return self.driver.find_element(By.XPATH, f"//form[.//h3[normalize-space()={xpath_literal(heading)}]]")

    def wait_for_text(self, text, timeout=20):
        WebDriverWait(self.driver, timeout).until(lambda d: text in d.find_element(By.TAG_NAME, "body").text)

    def screenshot(self, name):
        os.makedirs(SCREENSHOTS, exist_ok=True)
        # The whole page, not only the first screenful.
        size = self.driver.get_window_size()
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(size["width"], max(size["height"], min(height + 40, 4000)))
        path = os.path.join(SCREENSHOTS, name + ".png")
        self.driver.save_screenshot(path)
        self.driver.set_window_size(size["width"], size["height"])
        return path

    @property
    def session_cookie(self):
        for cookie in self.driver.get_cookies():
            if cookie["name"] in ("scim_console", "__Host-scim_console"):
                return f"{cookie['name']}={cookie['value']}"
        return None


def gone(element):
    """A wait condition: the element's document has been replaced. Chromium's driver reports a
    node of a replaced document either as stale or as "does not belong to the document"."""
    def check(_driver):
        try:
            element.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error):
                return True
            raise
    return check


def xpath_literal(text):
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return "concat('" + text.replace("'", "',\"'\",'") + "')"


def new_driver():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("SCIM_TEST_CHROMIUM", "/usr/bin/chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900", "--disable-gpu"):
        options.add_argument(argument)
    service = Service(executable_path=os.environ.get("SCIM_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.implicitly_wait(2)
    return driver


@pytest.fixture(scope="module")
def tenant():
    return Tenant()


@pytest.fixture(scope="module")
def browser():
    driver = new_driver()
    yield Browser(driver)
    driver.quit()


def wait_until(condition, timeout=20, interval=0.25):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False
