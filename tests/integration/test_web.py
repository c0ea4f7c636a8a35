"""The web page in a real browser (Debian's headless Chromium through Selenium) against the real
vfaxd: logging in, sending through the send form and following the job live, a colleague
receiving and downloading it, a held print job released on its page, users kept apart, hostile strings shown as text, the page's
security headers, German and English, a 390 px phone, and 10,000 faxes."""
import json
import os
import re
import sqlite3
import subprocess
import time
import unittest
import urllib.request

from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

from browser import Browser
from test_print_intake import LETTER, SECRET as PRINTER_SECRET, make_letter_pdf, post_print_job
from vfaxtest import VfaxTestCase, make_pdf

WEB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "web")
XSS = '<img src=x onerror="window.__xss=1;alert(1)">'


class WebCase(VfaxTestCase):
    """A vfaxd with users ann and bob (a user device each) and carol (a device of her own)."""
    config = None

    def setUp(self):
        super().setUp()
        d = self.d = self.daemon(self.config)
        self.ids = {}
        self.devices = {}
        for name, ext in (("ann", "201"), ("bob", "202"), ("carol", "203")):
            u = d.add_user(name, password=f"{name}-secret-pw", email=f"{name}@example.test",
                           name=name.capitalize() + " Example")
            self.ids[name] = u["id"]
            status, dev = d.request("POST", "/api/v1/devices", {
                "kind": "user", "name": name.capitalize(), "email": f"{name}@example.test",
                "extension": ext, "owner": u["id"]})
            self.assertEqual(status, 201, dev)
            self.devices[name] = dev
        self.browsers = []

    def tearDown(self):
        for b in self.browsers:
            b.close()
        super().tearDown()

    def browser(self, **kw):
        b = Browser(**kw)
        self.browsers.append(b)
        return b

    def login(self, b, name, password=None, lang_en=True):
        b.get(self.d.url + "/")
        b.fill("User name" if lang_en else "Benutzername", name)
        b.fill("Password" if lang_en else "Passwort", password or f"{name}-secret-pw")
        b.click("button", "Log in" if lang_en else "Anmelden")
        b.heading("Faxes" if lang_en else "Faxe")
        return b

    def no_xss(self, b):
        try:
            b.driver.switch_to.alert.dismiss()
            self.fail("a script from a hostile string ran (an alert is open)")
        except NoAlertPresentException:
            pass
        self.assertIsNone(b.driver.execute_script("return window.__xss"))

    def assert_clean(self, b):
        self.assertEqual(b.console_errors(), [])
        self.assertLessEqual(b.horizontal_overflow(), 0, "the page scrolls sideways")


class SendAndReceive(WebCase):
    config = {"loopback": {"realtime": True}}

    def test_send_follow_live_then_colleague_downloads(self):
        pdf = make_pdf(os.path.join(self.tmp, "letter.pdf"), 2, title="Invoice 4711")
        ann = self.login(self.browser(), "ann")
        ann.click("link", "Send a fax")
        ann.heading("Send a fax")
        ann.fill("Fax number", "202")
        # The number is shown as it will be dialled while it is typed.
        ann.wait(lambda: "Internal extension 202" in ann.text(), what="the number check")
        ann.by_label("Choose files…").send_keys(pdf)
        ann.wait(lambda: "letter.pdf" in ann.text(), what="the file in the list")
        ann.click("button", "Preview")
        ann.wait(lambda: "The preview shows 2 pages." in ann.text(), timeout=60, what="the preview")
        imgs = [i for i in ann.all_by_role("img") if i.accessible_name.startswith("Page ")]
        self.assertEqual(len(imgs), 2)
        ann.wait(lambda: all(ann.driver.execute_script("return arguments[0].naturalWidth", i) > 0
                             for i in imgs), what="the preview pages to load")
        ann.driver.execute_script("window.__sameDocument = true")
        ann.click("button", "Send")
        fid = int(ann.wait(lambda: re.match(r".*#/faxes/(\d+)$", ann.driver.current_url),
                           what="the fax page").group(1))
        ann.heading(f"Fax {fid}")
        # Live: the state moves to sending and on to done without a reload.
        seen = set()

        def state():
            badge = ann.driver.find_elements(By.CSS_SELECTOR, "main .page-head [data-state]")
            if badge:
                seen.add(badge[0].get_attribute("data-state"))
            return "done" in seen
        ann.wait(state, timeout=240, what="the fax to reach done on the page")
        self.assertIn("sending", seen, f"states seen: {seen}")
        self.assertTrue(ann.driver.execute_script("return window.__sameDocument === true"),
                        "the page was reloaded")
        self.assertEqual(self.d.fax(fid)["state"], "done")
        self.assert_clean(ann)

        # Bob finds it received, opens it, sees both pages and downloads the PDF.
        inbound = self.d.wait_for(lambda: [f for f in self.d.faxes(direction="in")
                                           if f["state"] == "received"], what="the inbound fax")[0]
        bob = self.login(self.browser(), "bob")
        link = bob.wait(lambda: [a for a in bob.all_by_role("link")
                                 if a.get_attribute("href").endswith(f"#/faxes/{inbound['id']}")],
                        what="the received fax in bob's list")[0]
        link.click()
        bob.heading(f"Fax {inbound['id']}")
        pages = bob.wait(lambda: [i for i in bob.all_by_role("img") if i.accessible_name in
                                  ("Page 1 of 2", "Page 2 of 2")], what="the pages")
        self.assertEqual(len(pages), 2)
        bob.click("link", "Download PDF")
        pdf_path = bob.wait(lambda: next((os.path.join(bob.download_dir, f) for f in os.listdir(bob.download_dir)
                                          if f.endswith(".pdf")), None), what="the download")
        info = subprocess.run(["pdfinfo", pdf_path], capture_output=True, text=True, check=True).stdout
        self.assertRegex(info, r"Pages:\s+2")
        self.assert_clean(bob)

        # Carol sees neither fax, not even by its address.
        carol = self.login(self.browser(), "carol")
        carol.wait(lambda: "No faxes match." in carol.text(), what="carol's empty list")
        carol.get(f"{self.d.url}/#/faxes/{fid}")
        carol.wait(lambda: "There is no such fax, or it is not yours." in carol.text(),
                   what="carol refused")
        self.assert_clean(carol)


class HeldPrintJob(WebCase):
    """A print job without a number is held; its user completes it on the fax's page."""

    def setUp(self):
        os.environ["VFAX_PRINTER_SECRET"] = PRINTER_SECRET
        try:
            super().setUp()
        finally:
            os.environ.pop("VFAX_PRINTER_SECRET", None)

    def test_release_form_with_the_number_check(self):
        pdf = make_letter_pdf(os.path.join(self.tmp, "held.pdf"), [LETTER])
        status, body = post_print_job(self.d, pdf, user=self.ids["ann"])
        self.assertEqual(status, 201, body)
        fid = body["faxes"][0]["id"]
        ann = self.login(self.browser(), "ann")
        ann.get(f"{self.d.url}/#/faxes/{fid}")
        ann.heading("Send this print job")
        ann.wait(lambda: [i for i in ann.all_by_role("img") if i.accessible_name == "Page 1 of 1"],
                 what="the held page")
        ann.click("button", "Send")  # no number yet: told so, nothing sent
        ann.wait(lambda: "Give the number to fax to." in ann.text(), what="the missing number")
        self.assertEqual(self.d.fax(fid)["state"], "held")
        ann.fill("Fax number", "202")
        ann.wait(lambda: "Internal extension 202" in ann.text(), what="the number check")
        ann.click("button", "Send")
        self.d.wait_for(lambda: self.d.fax(fid)["state"] != "held", what="the release")
        ann.wait(lambda: not [h for h in ann.all_by_role("heading")
                              if h.accessible_name == "Send this print job"], what="the form to go")
        self.assertEqual(self.d.wait_final(fid)["state"], "done")
        self.assert_clean(ann)


class Pages(WebCase):
    def test_hostile_strings_are_text(self):
        # A device name, a subject and a file name carrying markup.
        status, dev = self.d.request("PUT", f"/api/v1/devices/{self.devices['ann']['id']}",
                                     {"name": XSS})
        self.assertEqual(status, 200, dev)
        evil = os.path.join(self.tmp, '<img src=x onerror="window.__xss=1">.pdf')
        make_pdf(evil, 1)
        with open(evil, "rb") as f:
            status, fax = self.d.post_fax({"to": "202", "subject": XSS, "cover": "true"},
                                          [("<b>x</b>.pdf", f.read(), "application/pdf")],
                                          token=self.token_of("ann"))
        self.assertEqual(status, 201, fax)
        ann = self.login(self.browser(), "ann")
        ann.wait(lambda: XSS in ann.text(), what="the device name as text in the list")
        ann.get(f"{self.d.url}/#/faxes/{fax['id']}")
        ann.wait(lambda: XSS in ann.text(), what="the subject as text")
        ann.get(f"{self.d.url}/#/send")
        ann.heading("Send a fax")
        ann.by_label("Choose files…").send_keys(evil)
        ann.wait(lambda: '<img src=x onerror="window.__xss=1">.pdf' in ann.text(), what="the file name")
        ann.get(f"{self.d.url}/#/account")
        ann.wait(lambda: XSS in ann.text(), what="the device on the account page")
        self.no_xss(ann)
        self.assert_clean(ann)

    def token_of(self, name):
        status, t = self.d.request("POST", "/api/v1/tokens", {"name": "t", "user": self.ids[name]})
        self.assertEqual(status, 201, t)
        return t["token"]

    def test_drop_documents_and_reorder_by_keyboard(self):
        b = self.login(self.browser(), "ann")
        b.click("link", "Send a fax")
        zone = b.by_role("group", "Documents")
        # Two files dropped at once, as a file manager drops them.
        b.driver.execute_script("""
            const dt = new DataTransfer();
            dt.items.add(new File(['%PDF-1.4 first'], 'first.pdf', {type: 'application/pdf'}));
            dt.items.add(new File(['%PDF-1.4 second'], 'second.pdf', {type: 'application/pdf'}));
            for (const type of ['dragover', 'drop']) {
              arguments[0].dispatchEvent(new DragEvent(type, {dataTransfer: dt, bubbles: true,
                                                              cancelable: true}));
            }""", zone)
        names = lambda: [li.text.split("\n")[0] for li in zone.find_elements(By.TAG_NAME, "li")]
        b.wait(lambda: names() == ["first.pdf", "second.pdf"], what="both files listed in order")
        up = b.by_role("button", "Move second.pdf up")
        up.send_keys(" ")  # the keyboard, not the mouse
        b.wait(lambda: names() == ["second.pdf", "first.pdf"], what="the new order")
        b.click("button", "Remove first.pdf")
        b.wait(lambda: names() == ["second.pdf"], what="the file removed")
        self.assert_clean(b)

    def test_security_headers_and_no_inline_script(self):
        with urllib.request.urlopen(self.d.url + "/") as r:
            csp = r.headers["Content-Security-Policy"]
            html = r.read().decode()
            self.assertEqual(r.headers["X-Frame-Options"], "DENY")
            self.assertEqual(r.headers["X-Content-Type-Options"], "nosniff")
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertIn("script-src 'self'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertNotIn("unsafe-eval", csp)
        self.assertIsNone(re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script in index.html")
        self.assertNotIn(" on", re.sub(r"<noscript>.*</noscript>", "", html).split("<body>")[1].lower()
                         .replace("json", ""))
        # An asset revalidates by its ETag.
        with urllib.request.urlopen(self.d.url + "/assets/js/app.js") as r:
            etag = r.headers["ETag"]
            self.assertTrue(r.headers["Content-Type"].startswith("text/javascript"))
        req = urllib.request.Request(self.d.url + "/assets/js/app.js", headers={"If-None-Match": etag})
        try:
            urllib.request.urlopen(req)
            self.fail("expected 304")
        except urllib.error.HTTPError as e:
            self.assertEqual(e.code, 304)
        for bad in ("/assets/../../etc/passwd", "/assets/js/nope.js", "/assets/%2e%2e/secret.key"):
            try:
                urllib.request.urlopen(self.d.url + bad)
                self.fail(f"{bad} answered")
            except urllib.error.HTTPError as e:
                self.assertIn(e.code, (400, 404))
        # The sources never parse strings as HTML.
        for root, _, files in os.walk(WEB_DIR):
            for name in files:
                if name.endswith(".js"):
                    with open(os.path.join(root, name)) as f:
                        src = f.read()
                    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                                 "new Function", "srcdoc"):
                        self.assertFalse(sink in src, f"{name} uses {sink}")

    def test_every_text_in_both_languages(self):
        keys = {}
        for lang in ("en", "de"):
            keys[lang] = set()
            for prefix in ("", "admin-"):
                with open(os.path.join(WEB_DIR, "js", "lang", f"{prefix}{lang}.js")) as f:
                    keys[lang] |= set(re.findall(r"'([a-zA-Z0-9_.+-]+)':", f.read()))
        self.assertEqual(sorted(keys["en"] - keys["de"]), [], "English texts without German")
        self.assertEqual(sorted(keys["de"] - keys["en"]), [], "German texts without English")
        used = set()
        for root, _, files in os.walk(os.path.join(WEB_DIR, "js")):
            for name in files:
                with open(os.path.join(root, name)) as f:
                    used |= set(re.findall(r"\bt\('([a-zA-Z0-9_.]+)'", f.read()))
        used = {k for k in used if not k.endswith(".")}  # prefixes of computed keys (state.X)
        self.assertEqual(sorted(used - keys["en"]), [], "texts used but not written")

    def test_german_by_browser_language_and_switch(self):
        b = self.browser(lang="de-DE")
        b.get(self.d.url + "/")
        b.heading("Bei vfax anmelden")
        lang = b.by_label("Sprache")
        lang.find_element(By.CSS_SELECTOR, "option[value=en]").click()
        b.heading("Log in to vfax")
        # The choice is kept.
        b.get(self.d.url + "/")
        b.heading("Log in to vfax")
        self.login(b, "ann")
        self.assert_clean(b)

    def test_wrong_password_and_logout(self):
        b = self.browser()
        b.get(self.d.url + "/")
        b.fill("User name", "ann")
        b.fill("Password", "wrong-password")
        b.click("button", "Log in")
        b.wait(lambda: "Wrong user name or password." in b.text(), what="the refusal")
        self.login(b, "ann")
        b.click("button", "Log out")
        b.heading("Log in to vfax")
        b.get(self.d.url + "/#/faxes")
        b.heading("Log in to vfax")
        self.assert_clean(b)

    def test_phone_width_and_keyboard(self):
        make_pdf(os.path.join(self.tmp, "p.pdf"), 1)
        with open(os.path.join(self.tmp, "p.pdf"), "rb") as f:
            status, fax = self.d.post_fax({"to": "202"}, [("p.pdf", f.read(), "application/pdf")],
                                          token=self.token_of("ann"))
        self.assertEqual(status, 201, fax)
        self.d.wait_final(fax["id"])
        b = self.login(self.browser(width=390, height=844), "ann")
        for path, heading in (("/#/faxes", "Faxes"), (f"/#/faxes/{fax['id']}", f"Fax {fax['id']}"),
                              ("/#/send", "Send a fax"), ("/#/account", "My account")):
            b.get(self.d.url + path)
            b.heading(heading)
            time.sleep(0.5)
            self.assertLessEqual(b.horizontal_overflow(), 0, f"{path} scrolls sideways at 390 px")
        # Keyboard: the login form is reachable and submits with Enter.
        b.click("button", "Log out")
        b.heading("Log in to vfax")
        active = b.driver.switch_to.active_element
        self.assertEqual(active.accessible_name, "User name")
        active.send_keys("ann")
        active.send_keys("\t")
        b.driver.switch_to.active_element.send_keys("ann-secret-pw\n")
        b.heading("Faxes")
        self.assert_clean(b)


class TenThousand(WebCase):
    def test_list_of_ten_thousand_faxes(self):
        pdf = make_pdf(os.path.join(self.tmp, "p.pdf"), 1)
        with open(pdf, "rb") as f:
            status, fax = self.d.post_fax({"to": "202"}, [("p.pdf", f.read(), "application/pdf")],
                                          token=self.token_of_ann())
        self.assertEqual(status, 201, fax)
        self.d.wait_final(fax["id"])
        self.d.stop()
        # Copies of the finished fax, straight into the database while vfaxd is stopped.
        db = sqlite3.connect(os.path.join(self.d.data, "vfax.db"))
        cols = [r[1] for r in db.execute("PRAGMA table_info(faxes)") if r[1] != "id"]
        collist = ",".join(cols)
        rows = [r for r in db.execute(f"SELECT {collist} FROM faxes WHERE id = ?", (fax["id"],))]
        marks = ",".join("?" * len(cols))
        db.executemany(f"INSERT INTO faxes ({collist}) VALUES ({marks})", rows * 10000)
        db.commit()
        count = db.execute("SELECT count(*) FROM faxes").fetchone()[0]
        db.close()
        self.assertGreaterEqual(count, 10001)
        d = self.restart(self.d)
        self.d = d
        b = self.login(self.browser(), "ann")
        b.wait(lambda: "50 faxes shown" in b.text(), what="the first page of the list")
        b.click("button", "Show more")
        b.wait(lambda: "100 faxes shown" in b.text(), what="the second page")
        search = b.by_label("Search")
        search.send_keys("no-such-number")
        b.wait(lambda: "No faxes match." in b.text(), what="the search")
        self.assert_clean(b)

    def token_of_ann(self):
        status, t = self.d.request("POST", "/api/v1/tokens", {"name": "t", "user": self.ids["ann"]})
        self.assertEqual(status, 201, t)
        return t["token"]


if __name__ == "__main__":
    unittest.main()
