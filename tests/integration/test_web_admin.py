"""The admin console in a real browser (Debian's Chromium through Selenium) against the real vfaxd:
settings saved and refused next to the field, users and devices made with the forms, a device name
that is markup shown as text, no admin console for a user, a live call on the lines page, the
audit log, and every admin page without console errors or sideways scrolling on a 390 px phone.
Controls are found by label or role and accessible name, as a person finds them."""
import os
import re
import shutil
import tempfile
import time
import unittest

from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from browser import Browser
from vfaxtest import Daemon, make_pdf

ADMIN_PAGES = [("settings", "Settings"), ("users", "Users"), ("devices", "Devices"),
               ("trunks", "Trunks"), ("mail", "Mail"), ("lines", "Lines"), ("cleanup", "Cleanup"),
               ("outbox", "Mail outbox"), ("audit", "Audit log")]
PASSWORD = "admin-password-1"
XSS_ALERT = "<img src=x onerror=alert(1)>"
XSS_FLAG = "<img src=x onerror=window.__xss=1><script>window.__xss=2</script>"


class WebAdminTest(unittest.TestCase):
    """One vfaxd for the suite (loopback in real time, so a call lasts a few seconds)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vfax-webadmin-")
        cls.d = Daemon(cls.tmp, {"loopback": {"realtime": True}})
        cls.d.start()
        cls.admin = cls.d.add_user("boss", role="admin", password=PASSWORD, name="Big Boss")

    @classmethod
    def tearDownClass(cls):
        try:
            cls.d.stop()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.browsers = []

    def tearDown(self):
        failed = any(err for _, err in (self._outcome.result.errors + self._outcome.result.failures)
                     if _ is self) if hasattr(self._outcome, "result") else False
        if failed:
            print(self.d.log()[-6000:])
        for b in self.browsers:
            b.close()

    # -- helpers ----------------------------------------------------------------------------
    def api(self, method, path, body=None):
        return self.d.request(method, "/api/v1" + path, body)

    def browser(self, **kw):
        b = Browser(**kw)
        self.browsers.append(b)
        return b

    def login(self, b, username="boss", password=PASSWORD):
        b.get(self.d.url + "/")
        b.fill("User name", username)
        b.fill("Password", password)
        b.click("button", "Log in")
        b.by_role("button", "Log out")
        return b

    def page(self, b, sub, heading):
        b.get(self.d.url + "/#/admin/" + sub)
        b.heading(heading)

    def error_of(self, b, control):
        """The error text shown next to a control (its aria-describedby error paragraph)."""
        err = b.driver.find_element(By.ID, control.get_attribute("id") + "-error")
        return err.text if err.is_displayed() else ""

    def status_text(self, b, text, timeout=20):
        return b.wait(lambda: any(text in s.text for s in b.all_by_role("status") + b.all_by_role("alert")),
                      timeout, f"a status reading {text!r}")

    def confirm(self, b, answer):
        """Clicks `answer` in the open dialog (buttons behind it may have the same name)."""
        dlg = b.by_role("dialog", None, timeout=5)
        btn = next(x for x in dlg.find_elements(By.TAG_NAME, "button") if x.text.strip() == answer)
        btn.click()
        b.wait(lambda: not b.all_by_role("dialog"), 5, "the dialog to close")

    def assert_clean(self, b):
        self.assertEqual(b.console_errors(), [])

    # -- tests ------------------------------------------------------------------------------
    def test_settings_saved_and_bad_values_next_to_their_field(self):
        b = self.login(self.browser())
        self.page(b, "settings", "Settings")
        attempts = b.by_label("Send attempts")
        b.wait(lambda: attempts.get_attribute("value") != "", what="the settings to load")
        b.fill("Send attempts", "7")
        b.click("button", "Save")
        self.status_text(b, "Saved.")
        self.assertEqual(self.api("GET", "/settings")[1]["send_attempts"], 7)

        total = int(self.api("GET", "/settings")[1]["total_lines"])
        reserved = b.fill("Lines reserved for inbound", str(total))
        b.click("button", "Save")
        message = b.wait(lambda: self.error_of(b, reserved), what="the reserved lines error")
        self.assertIn("reserved_inbound_lines", message)
        self.assertEqual(reserved.get_attribute("aria-invalid"), "true")
        self.assertNotEqual(self.api("GET", "/settings")[1]["reserved_inbound_lines"], total)

        # The cleanup page edits the schedule; a bad cron expression is refused at that field.
        self.page(b, "cleanup", "Cleanup")
        b.wait(lambda: b.by_label("Keep faxes (days)").get_attribute("value") != "",
               what="retention to load")
        schedule = b.fill("Cleanup schedule", "61 * * * *")
        b.click("button", "Save")
        message = b.wait(lambda: self.error_of(b, schedule), what="the cron error")
        self.assertIn("cleanup_schedule", message)
        b.fill("Cleanup schedule", "0 3 * * *")
        b.click("button", "Save")
        self.status_text(b, "Saved.")
        self.assertEqual(self.api("GET", "/settings")[1]["cleanup_schedule"], "0 3 * * *")

        # Clean up now, with its confirmation.
        b.fill("Older than (days)", "3650")
        b.click("button", "Clean up now")
        self.confirm(b, "Clean up now")
        self.status_text(b, "faxes deleted")
        self.assert_clean(b)

    def test_users_and_devices_with_the_forms(self):
        b = self.login(self.browser())
        self.page(b, "users", "Users")
        # By keyboard: Enter opens the form with the focus in its first field, Escape closes it
        # and the focus returns to the button.
        add = b.by_role("button", "Add a user")
        add.send_keys(Keys.ENTER)
        b.wait(lambda: b.driver.switch_to.active_element == b.by_label("User name"), 5, "focus in the form")
        b.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
        b.wait(lambda: b.driver.switch_to.active_element == add, 5, "focus back on the button")
        self.assertFalse(any(h.text == "Add a user" for h in b.all_by_role("heading")))
        b.click("button", "Add a user")
        b.fill("User name", "carla")
        b.fill("Full name", "Carla Client")
        b.fill("E-mail", "not-an-address")
        b.fill("Password", "carla-password")
        b.click("button", "Create the user")
        email = b.by_label("E-mail")
        self.assertIn("email", b.wait(lambda: self.error_of(b, email), what="the e-mail error"))
        b.fill("E-mail", "carla@example.test")
        b.click("button", "Create the user")
        self.status_text(b, "User carla is added.")
        users = {u["username"]: u for u in self.api("GET", "/users")[1]["users"]}
        self.assertEqual(users["carla"]["name"], "Carla Client")
        self.assertEqual(users["carla"]["email"], "carla@example.test")
        self.assertTrue(users["carla"]["has_password"])
        carla = users["carla"]["id"]

        # Edit: role and enabled.
        b.click("button", "Edit user carla")
        Select(b.by_label("Role")).select_by_visible_text("Administrator")
        b.click("button", "Save")
        self.status_text(b, "User carla is saved.")
        self.assertEqual(self.api("GET", f"/users/{carla}")[1]["role"], "admin")
        b.click("button", "Edit user carla")
        Select(b.by_label("Role")).select_by_visible_text("User")
        b.click("button", "Save")
        self.status_text(b, "User carla is saved.")

        # Reset the password in its dialog; carla logs in with the new one later.
        b.click("button", "Reset password of carla")
        b.fill("New password", "short")
        b.click("button", "Reset password", timeout=5)
        self.assertIn("8", b.wait(lambda: self.error_of(b, b.by_label("New password")), what="short"))
        b.fill("New password", "carla-new-password")
        b.click("button", "Reset password")
        self.status_text(b, "The password of carla is changed")

        # A device for carla, with the form.
        self.page(b, "devices", "Devices")
        b.click("button", "Add a device")
        b.fill("Device name", "Carla's fax")
        b.fill("E-mail address", "carla-fax@example.test")
        b.fill("Extension", "12x")
        Select(b.by_label("Received faxes by e-mail as")).select_by_visible_text("TIFF attachment")
        Select(b.by_label("Owner")).select_by_visible_text("Carla Client (carla)")
        b.fill("New Mail-to-Fax PIN", "4711")
        b.click("button", "Create the device")
        ext = b.by_label("Extension")
        self.assertIn("extension", b.wait(lambda: self.error_of(b, ext), what="extension error"))
        b.fill("Extension", "301")
        b.click("button", "Create the device")
        self.status_text(b, "Device Carla's fax is added.")
        dev = next(x for x in self.api("GET", "/devices")[1]["devices"] if x["extension"] == "301")
        self.assertEqual((dev["name"], dev["owner"], dev["inbound_format"], dev["has_pin"]),
                         ("Carla's fax", carla, "tiff", True))

        # A team device with two members, then edited.
        b.click("button", "Add a device")
        Select(b.by_label("Kind")).select_by_visible_text("Team device")
        b.fill("Device name", "Sales")
        b.fill("E-mail address", "sales@example.test")
        b.fill("Extension", "302")
        b.by_label("Carla Client (carla)").click()
        b.by_label("Big Boss (boss)").click()
        b.click("button", "Create the device")
        self.status_text(b, "Device Sales is added.")
        team = next(x for x in self.api("GET", "/devices")[1]["devices"] if x["extension"] == "302")
        self.assertEqual((team["kind"], sorted(team["members"])), ("team", sorted([carla, self.admin["id"]])))
        b.fill("Find a device", "sales")
        b.wait(lambda: "Carla's fax" not in b.text() and "sales@example.test" in b.text(), 5, "the search")
        b.click("button", "Edit device Sales")
        b.fill("Station id (TSI)", "+49 89 1234")
        b.click("button", "Save")
        self.status_text(b, "Device Sales is saved.")
        self.assertEqual(self.api("GET", f"/devices/{team['id']}")[1]["tsi"], "+49 89 1234")
        b.click("button", "Delete device Sales")
        self.confirm(b, "Delete")
        self.status_text(b, "Device Sales is deleted.")
        self.assertEqual(self.api("GET", f"/devices/{team['id']}")[0], 404)

        # Deleting a user asks first.
        self.api("POST", "/users", {"username": "temp"})
        self.page(b, "users", "Users")
        b.click("button", "Delete user temp")
        self.confirm(b, "Cancel")
        self.assertIn("temp", [u["username"] for u in self.api("GET", "/users")[1]["users"]])
        b.click("button", "Delete user temp")
        self.confirm(b, "Delete")
        self.status_text(b, "User temp is deleted.")
        self.assertNotIn("temp", [u["username"] for u in self.api("GET", "/users")[1]["users"]])
        self.assert_clean(b)

        # carla logs in with the password the admin set.
        c = self.login(self.browser(), "carla", "carla-new-password")
        self.assert_clean(c)

    def test_markup_in_a_device_name_is_text(self):
        for i, name in enumerate((XSS_ALERT, XSS_FLAG)):
            status, out = self.api("POST", "/devices", {"kind": "team", "name": name,
                                                         "email": "x@example.test",
                                                         "extension": str(410 + i)})
            self.assertEqual(status, 201, out)
            self.d.add_user(f"mallory{i}", name=name)
        b = self.login(self.browser())
        for sub, heading in (("devices", "Devices"), ("users", "Users")):
            self.page(b, sub, heading)
            b.wait(lambda: XSS_ALERT in b.text(), what="the device name as text")
            self.assertIn(XSS_FLAG, b.text())
            time.sleep(0.5)  # give an injected onerror the time to fire
            with self.assertRaises(NoAlertPresentException):
                b.driver.switch_to.alert.text  # noqa: B018
            self.assertIsNone(b.driver.execute_script("return window.__xss"))
            self.assertEqual(b.driver.find_elements(By.CSS_SELECTOR, "main img[src=x]"), [])
        self.page(b, "devices", "Devices")
        b.click("button", f"Edit device {XSS_ALERT}")
        self.assertEqual(b.by_label("Device name").get_attribute("value"), XSS_ALERT)
        self.assert_clean(b)

    def test_a_user_gets_no_admin_console(self):
        self.d.add_user("ulla", password="ulla-password")
        b = self.login(self.browser(), "ulla", "ulla-password")
        nav = b.by_role("navigation", None)
        self.assertNotIn("Administration", b.driver.find_element(By.TAG_NAME, "header").text)
        self.assertTrue(nav)
        b.get(self.d.url + "/#/admin/users")
        b.heading("Page not found")
        # The data of the admin pages, fetched with ulla's own session: 403.
        statuses = b.driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            const paths = ['/users', '/settings', '/trunks/iax2', '/mail/settings', '/audit'];
            Promise.all(paths.map((p) => fetch('/api/v1' + p).then((r) => r.status)))
              .then(done, (e) => done(String(e)));""")
        self.assertEqual(statuses, [403] * 5)
        self.assertEqual(b.text().count("Users"), 0)

    def test_lines_page_shows_a_live_call(self):
        ext = "520"
        status, dev = self.api("POST", "/devices", {"kind": "team", "name": "Loop", "email": "loop@example.test",
                                                     "extension": ext})
        self.assertEqual(status, 201, dev)
        b = self.login(self.browser())
        self.page(b, "lines", "Lines")
        b.wait(lambda: "Lines in use" in b.text(), what="the lines")
        pdf = make_pdf(os.path.join(self.tmp, "lines.pdf"), 1)
        with open(pdf, "rb") as f:
            status, fax = self.d.post_fax({"to": ext, "device": str(dev["id"])},
                                          [("lines.pdf", f.read(), "application/pdf")])
        self.assertEqual(status, 201, fax)
        calls_listed = "calls" in self.api("GET", "/lines")[1]
        if calls_listed:
            # The call's row: the number and its phase, page x of y and bit rate as they come.
            row = b.wait(lambda: next((r for r in b.all_by_role("row") if f"Fax {fax['id']}" in r.text), None),
                         60, "the call's row")
            self.assertIn(ext, row.text)
        else:  # a vfaxd without the call list: the lines in use still move
            b.wait(lambda: any(f"{n} of" in b.text() for n in (1, 2)), 60, "a line in use")
        final = self.d.wait_final(fax["id"], timeout=180)
        self.assertEqual(final["state"], "done", final)
        b.wait(lambda: "No calls right now." in b.text(), 30, "the call to end on the page")
        self.assert_clean(b)

    def test_audit_trunks_mail_and_outbox(self):
        b = self.login(self.browser())
        self.page(b, "audit", "Audit log")
        Select(b.by_label("User")).select_by_visible_text("boss")
        b.fill("Action", "login")
        b.click("button", "Show")
        b.wait(lambda: any("boss" in r.text and "login" in r.text for r in b.all_by_role("row")),
               what="the admin's login in the audit log")
        self.assertNotIn("fax.send", b.text())

        self.page(b, "trunks", "Trunks")
        b.wait(lambda: "Running" in b.text(), what="the IAX2 state")
        b.fill("Peer name", "modem1")
        b.fill("Secret", "s3cret-modem")
        self.assertEqual(Select(b.by_label("CALLTOKEN")).first_selected_option.text, "required")
        Select(b.by_label("CALLTOKEN")).select_by_visible_text("optional")  # an iaxmodem
        b.click("button", "Add a peer", exact=True)
        self.status_text(b, "Peer modem1 is saved.")
        peers = self.api("GET", "/trunks/iax2")[1]["peers"]
        self.assertIn("modem1", [p["name"] for p in peers])
        self.assertEqual(next(p for p in peers if p["name"] == "modem1")["calltoken"], "optional")
        b.wait(lambda: any("modem1" in r.text and "not registered" in r.text for r in b.all_by_role("row")),
               what="the peer's state")
        # Changed: a new user name, the secret kept (left empty).
        b.click("button", "Edit peer modem1")
        b.fill("User name", "modem-user")
        b.click("button", "Save the peer")
        self.status_text(b, "Peer modem1 is saved.")
        peer = next(p for p in self.api("GET", "/trunks/iax2")[1]["peers"] if p["name"] == "modem1")
        self.assertEqual(peer["username"], "modem-user")
        self.assertEqual(peer["calltoken"], "optional")  # the edit form showed and kept it
        self.assertTrue(peer["secret"])
        b.click("button", "Remove peer modem1")
        self.confirm(b, "Remove")
        self.status_text(b, "Peer modem1 is removed.")
        self.assertNotIn("modem1", [p["name"] for p in self.api("GET", "/trunks/iax2")[1]["peers"]])

        self.page(b, "mail", "Mail")
        b.wait(lambda: b.by_label("SMTP port").get_attribute("value") != "", what="mail settings")
        b.fill("Sender address", "fax@example.test")
        b.fill("SMTP password", "smtp-secret-1")
        b.click("button", "Save")
        self.status_text(b, "Saved.")
        mail = self.api("GET", "/mail/settings")[1]
        self.assertEqual(mail["smtp_from"], "fax@example.test")
        self.assertNotIn("smtp-secret-1", str(mail))
        self.assertTrue(mail["smtp_password"])
        self.assertEqual(b.by_label("SMTP password").get_attribute("value"), "")
        b.fill("Test mail to", "someone@example.test")
        b.click("button", "Send a test mail")
        self.status_text(b, "is queued")
        b.click("button", "Check the mailbox")
        # Its answer: the poll's result, or why it could not be done (no mailbox set up here;
        # a vfaxd without the route says so).
        b.wait(lambda: any(re.search(r"mailbox|Mail-to-Fax", s.text) and "Checking" not in s.text
                           for s in b.all_by_role("status") + b.all_by_role("alert")),
               what="the mailbox check's answer")

        self.page(b, "outbox", "Mail outbox")
        b.wait(lambda: any("someone@example.test" in r.text for r in b.all_by_role("row")),
               what="the test mail in the outbox")
        self.assert_clean(b)

    def test_sip_registration_added_listed_with_its_state_and_bad_values_next_to_their_field(self):
        b = self.login(self.browser())
        self.page(b, "trunks", "Trunks")
        b.heading("SIP")
        reg = b.by_role("form", "Add a SIP registration")
        b.fill("Registration name", "provider", within=reg)
        b.fill("Registrar", "127.0.0.1:5070", within=reg)
        b.fill("User name", "100", within=reg)
        b.fill("Secret", "reg-secret-1", within=reg)
        Select(b.by_label("Transport", within=reg)).select_by_visible_text("TCP")
        b.click("button", "Add a SIP registration")
        self.status_text(b, "SIP registration provider is saved.")
        got = next(r for r in self.api("GET", "/trunks/sip")[1]["registrations"] if r["name"] == "provider")
        self.assertEqual((got["registrar"], got["transport"], got["secret"]), ("127.0.0.1:5070", "tcp", "r*******"))
        # Listed with its live state (no SIP trunk runs in this vfaxd: not registered).
        b.wait(lambda: any("provider" in r.text and "not registered" in r.text and "127.0.0.1:5070" in r.text
                           for r in b.all_by_role("row")), what="the registration's row with its state")
        self.assertNotIn("reg-secret-1", b.text())

        # A bad value is shown next to its field, and nothing is saved.
        reg = b.by_role("form", "Add a SIP registration")
        b.fill("Registration name", "other", within=reg)
        b.fill("Registrar", "127.0.0.1", within=reg)
        b.fill("User name", "200", within=reg)
        b.fill("Secret", "other-secret", within=reg)
        expires = b.fill("Expires (seconds)", "30", within=reg)
        b.click("button", "Add a SIP registration")
        b.wait(lambda: "expires must be 60 to 3600" in self.error_of(b, expires), what="the error next to Expires")
        self.assertNotIn("other", [r["name"] for r in self.api("GET", "/trunks/sip")[1]["registrations"]])
        settings = b.by_role("form", "SIP settings")
        timer = b.fill("Session timer (seconds)", "30", within=settings)
        settings.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        b.wait(lambda: "session_expires must be" in self.error_of(b, timer),
               what="the error next to the session timer")
        self.assertEqual(self.api("GET", "/trunks/sip")[1]["session_expires"], 1800)
        Select(b.by_label("T.38", within=settings)).select_by_visible_text("right after answering")
        b.fill("Session timer (seconds)", "900", within=settings)
        settings.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        b.wait(lambda: self.api("GET", "/trunks/sip")[1]["session_expires"] == 900, what="the saved timer")
        self.assertEqual(self.api("GET", "/trunks/sip")[1]["t38"], "immediate")

        b.click("button", "Remove SIP registration provider")
        self.confirm(b, "Remove")
        self.status_text(b, "SIP registration provider is removed.")
        self.assertEqual(self.api("GET", "/trunks/sip")[1]["registrations"], [])
        self.assert_clean(b)

    def test_every_admin_page_on_a_phone_and_in_german(self):
        for width, lang in ((390, "en-US"), (390, "de-DE"), (1280, "de-DE")):
            b = self.browser(width=width, height=844, lang=lang)
            b.get(self.d.url + "/")
            if lang == "de-DE":
                b.fill("Benutzername", "boss")
                b.fill("Passwort", PASSWORD)
                b.click("button", "Anmelden")
                b.by_role("button", "Abmelden")
            else:
                self.login(b)
            for sub, heading in ADMIN_PAGES:
                b.get(self.d.url + "/#/admin/" + sub)
                b.wait(lambda: b.driver.find_element(By.TAG_NAME, "h1").text != "", what=f"{sub} heading")
                if lang == "en-US":
                    b.heading(heading)
                b.wait(lambda: not re.search("Loading…|Lade…", b.text()), what=f"{sub} data")
                time.sleep(0.5)  # data of a second request (users, devices) may follow
                self.assertLessEqual(b.horizontal_overflow(), 0, f"{sub} scrolls sideways at {width} px")
                self.assertNotIn("vfax: no text", str(b.console_messages()), sub)
                self.assertEqual(b.console_errors(), [], sub)


if __name__ == "__main__":
    unittest.main()
