"""A real browser for the web page's tests: Debian's headless Chromium driven through
chromedriver by Selenium. Controls are found the way a person finds them: by their label, or by
role and accessible name (Chromium's accessibility tree), never by CSS class."""
import os
import shutil
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException,
                                        TimeoutException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

# Which elements have which implicit ARIA role (enough for this page).
ROLE_SELECTORS = {
    "button": "button, [role=button], input[type=submit], input[type=button]",
    "link": "a[href]",
    "textbox": "input:not([type]), input[type=text], input[type=tel], input[type=email], "
               "input[type=search], input[type=password], textarea",
    "checkbox": "input[type=checkbox]",
    "combobox": "select",
    "heading": "h1, h2, h3",
    "table": "table",
    "row": "tr",
    "img": "img",
    "alert": "[role=alert]",
    "status": "[role=status]",
    "dialog": "dialog",
    "navigation": "nav",
    "group": "[role=group], fieldset",
    "listitem": "li",
    "form": "form",
}


class Browser:
    def __init__(self, width=1280, height=900, lang="en-US", download_dir=None):
        self.profile = tempfile.mkdtemp(prefix="vfax-chromium-")
        self.download_dir = download_dir or os.path.join(self.profile, "downloads")
        os.makedirs(self.download_dir, exist_ok=True)
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--disable-extensions", "--disable-dev-shm-usage",
                  "--no-default-browser-check", "--disable-features=Translate,MediaRouter,OptimizationHints",
                  f"--user-data-dir={self.profile}", f"--window-size={width},{height}", f"--lang={lang}"):
            opts.add_argument(a)
        opts.add_experimental_option("prefs", {
            "intl.accept_languages": lang,
            "download.default_directory": self.download_dir,
            "download.prompt_for_download": False,
        })
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        self.driver.set_window_size(width, height)
        self.driver.execute_cdp_cmd("Page.setDownloadBehavior",
                                    {"behavior": "allow", "downloadPath": self.download_dir})
        self.console = []

    def close(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    # -- navigation -------------------------------------------------------------------------
    def get(self, url):
        self.driver.get(url)

    def wait(self, predicate, timeout=30, what="condition"):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1,
                                 ignored_exceptions=(NoSuchElementException,
                                                     StaleElementReferenceException)).until(
                lambda _: predicate())
        except TimeoutException:
            raise AssertionError(f"timed out waiting for {what}; page text:\n{self.text()[:3000]}"
                                 f"\nconsole: {self.console_messages()}")

    def text(self):
        try:
            return self.driver.find_element(By.TAG_NAME, "body").text
        except Exception:  # noqa: BLE001
            return ""

    # -- finding things as a person does ----------------------------------------------------
    def by_label(self, label, timeout=15, within=None):
        """The form control whose <label> (or aria-label) reads `label` (inside the element
        `within`, such as a form found by role and name, when the page has several)."""
        root = within or self.driver

        def find():
            for lab in root.find_elements(By.TAG_NAME, "label"):
                if lab.text.strip() != label or not lab.is_displayed():
                    continue
                target = lab.get_attribute("for")
                if target:
                    return self.driver.find_element(By.ID, target)
                inner = lab.find_elements(By.CSS_SELECTOR, "input, select, textarea")
                if inner:
                    return inner[0]
            for el in root.find_elements(By.CSS_SELECTOR, "[aria-label]"):
                if el.get_attribute("aria-label") == label and el.is_displayed():
                    return el
            return None
        return self.wait(find, timeout, f"a control labelled {label!r}")

    def by_role(self, role, name=None, timeout=15, exact=True):
        """The visible element of ARIA `role` whose accessible name is `name`."""
        def find():
            for el in self.driver.find_elements(By.CSS_SELECTOR, ROLE_SELECTORS[role]):
                if not el.is_displayed():
                    continue
                if name is None:
                    return el
                acc = (el.accessible_name or "").strip()
                if acc == name or (not exact and name in acc):
                    return el
            return None
        return self.wait(find, timeout, f"{role} {name!r}")

    def all_by_role(self, role):
        return [el for el in self.driver.find_elements(By.CSS_SELECTOR, ROLE_SELECTORS[role])
                if el.is_displayed()]

    def click(self, role, name, **kw):
        el = self.by_role(role, name, **kw)
        el.click()
        return el

    def fill(self, label, value, within=None):
        el = self.by_label(label, within=within)
        el.clear()
        el.send_keys(value)
        return el

    def heading(self, text, timeout=15):
        return self.by_role("heading", text, timeout=timeout)

    # -- checks -----------------------------------------------------------------------------
    def console_messages(self):
        try:
            self.console.extend(self.driver.get_log("browser"))
        except Exception:  # noqa: BLE001
            pass
        return self.console

    def console_errors(self):
        """SEVERE console entries (script errors, refused CSP, failed loads) other than the
        expected 4xx answers of API calls a test provoked on purpose."""
        return [m for m in self.console_messages() if m.get("level") == "SEVERE"
                and not (m.get("source") == "network" and "/api/v1/" in m.get("message", "")
                         and "status of 4" in m.get("message", ""))]

    def horizontal_overflow(self):
        return self.driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")

    def screenshot(self, path, full_page=True):
        if full_page:
            height = self.driver.execute_script(
                "return Math.min(document.documentElement.scrollHeight, 6000)")
            width = self.driver.execute_script("return window.innerWidth")
            self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500})
            time.sleep(0.3)
        self.driver.save_screenshot(path)
        if full_page:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
