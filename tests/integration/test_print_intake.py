"""Print-to-Fax intake in vfaxd: the internal routes vfax-printer calls (POST /api/v1/print/authorize
and /print/jobs with the printer secret), control fields (each dialect, blanked out on the faxed
page), mail merge, held jobs (released from the CLI, expired with a mail), mode `fields`, and bad
input. vfax-printer itself is not started here: the secret comes from VFAX_PRINTER_SECRET."""
import json
import os
import shutil
import subprocess
import unittest
import uuid

from mailpeers import SmtpSink
from vfaxtest import VfaxTestCase

SECRET = "a1" * 32
PASSWORD = "print-secret-1"


def ps_escape(text):
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_letter_pdf(path, pages):
    """pages: list of lists of text lines; one PDF page each (Ghostscript pdfwrite)."""
    ps = ["%!PS"]
    for lines in pages:
        ps.append("/Helvetica findfont 16 scalefont setfont")
        for i, line in enumerate(lines):
            ps.append(f"72 {740 - i * 28} moveto ({ps_escape(line)}) show")
        ps.append("showpage")
    src = path + ".ps"
    with open(src, "w") as f:
        f.write("\n".join(ps) + "\n")
    subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite",
                    "-sPAPERSIZE=a4", f"-sOutputFile={path}", src], check=True)
    os.unlink(src)
    with open(path, "rb") as f:
        return f.read()


def post_print_job(d, content, user=None, fields=None, secret=SECRET, ctype="application/pdf"):
    """POST /api/v1/print/jobs as vfax-printer does (multipart, the printer secret)."""
    boundary = "vfaxprint" + uuid.uuid4().hex
    form = {"format": ctype, "job_name": "letter.pdf", "ipp_job_id": "7", "address": "127.0.0.1"}
    if user is not None:
        form["user"] = str(user)
    form.update(fields or {})
    parts = [f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode()
             for k, v in form.items()]
    for i, one in enumerate(content if isinstance(content, list) else [content]):
        parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"page{i + 1}\"\r\n"
                     f"Content-Type: {ctype}\r\n\r\n".encode() + one + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    if secret is not None:
        headers["X-Vfax-Printer"] = secret
    return d.request("POST", "/api/v1/print/jobs", b"".join(parts), auth=False, headers=headers)


LETTER = ["Dear customer,", "thank you for your order of the blue widgets.",
          "We deliver them on Friday.", "Kind regards, Example Ltd"]


class PrintIntake(VfaxTestCase):
    def setUp(self):
        super().setUp()
        os.environ["VFAX_PRINTER_SECRET"] = SECRET
        self.smtp = None

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            os.environ.pop("VFAX_PRINTER_SECRET", None)
            os.environ.pop("VFAX_TEST_HOLD_HOUR_MS", None)
            if self.smtp:
                self.smtp.stop()

    def start(self, mail=False, settings=None):
        config = {}
        if mail:
            self.smtp = SmtpSink(self.tmp).start()
            config = {"smtp": {"host": "127.0.0.1", "port": self.smtp.port, "tls": "none",
                               "from": "vfax@example.test"},
                      "mail": {"language": "en", "retry_initial_seconds": 1, "retry_max_seconds": 2}}
        d = self.daemon(config)
        self.user = d.add_user("pat", password=PASSWORD, email="pat@example.test")
        status, dev = d.request("POST", "/api/v1/devices", {
            "kind": "user", "name": "Pat", "email": "pat-dev@example.test", "extension": "200",
            "owner": self.user["id"]})
        self.assertEqual(status, 201, dev)
        self.device = dev
        for ext in ("100", "101", "102"):
            self.add_device(d, ext, name="Receiver " + ext, email=f"rx{ext}@example.test")
        if settings:
            status, body = d.request("PUT", "/api/v1/settings", settings)
            self.assertEqual(status, 200, body)
        return d

    def print_job(self, d, content, user=None, fields=None, secret=SECRET, ctype="application/pdf"):
        return post_print_job(d, content, user, fields, secret, ctype)

    def received(self, d, extension, count=1):
        return d.wait_for(lambda: (r := [f for f in d.faxes("in") if f["state"] == "received"
                                          and self.ext_of(d, f) == extension]) and len(r) >= count and r,
                          what=f"{count} fax(es) received at {extension}")

    def ext_of(self, d, fax):
        return d.fax(fax["id"]).get("extension")

    def pdf(self, name, pages):
        return make_letter_pdf(os.path.join(self.tmp, name), pages)

    # ---------------------------------------------------------------------------------------------

    def test_field_faxed_and_blanked_out(self):
        d = self.start(settings={"ocr_received": True})
        status, body = self.print_job(d, self.pdf("one.pdf", [["@@+FAX:100@@"] + LETTER]),
                                      user=self.user["id"])
        self.assertEqual(status, 201, body)
        self.assertIs(body["held"], False)
        self.assertEqual(len(body["faxes"]), 1)
        job = d.wait_final(body["faxes"][0]["id"])
        self.assertEqual(job["state"], "done", job)
        self.assertEqual(job["pages_total"], 1)
        self.assertEqual(job["device"], self.device["id"])
        rx = self.received(d, "100")[0]
        if not shutil.which("tesseract") or not shutil.which("pdftotext"):
            self.skipTest("tesseract or pdftotext missing: the OCR check needs them")
        rx_pdf = os.path.join(self.tmp, "rx.pdf")
        d.cli("get", str(rx["id"]), "-o", rx_pdf)
        text = subprocess.run(["pdftotext", rx_pdf, "-"], capture_output=True, text=True,
                              check=True).stdout
        self.assertIn("widgets", text)
        self.assertIn("Friday", text)
        self.assertNotIn("@@", text)
        self.assertNotIn("FAX:", text)

    def test_no_field_held_then_released_from_cli(self):
        d = self.start()
        status, body = self.print_job(d, self.pdf("plain.pdf", [LETTER, LETTER]), user=self.user["id"])
        self.assertEqual(status, 201, body)
        self.assertIs(body["held"], True)
        held = body["faxes"][0]
        self.assertEqual(held["state"], "held")
        self.assertEqual(held["pages_total"], 2)
        listed = d.cli_json("list", "--held")["faxes"]
        self.assertEqual([f["id"] for f in listed], [held["id"]])
        self.assertEqual([f["id"] for f in d.faxes(state="held")], [held["id"]])
        # Its pages are ready to be looked at while it waits.
        status, png = d.request("GET", f"/api/v1/faxes/{held['id']}/pages/1.png", raw=True)
        self.assertEqual(status, 200)
        self.assertTrue(png.startswith(b"\x89PNG"))
        # The user who printed releases it from the CLI with their own token.
        status, tok = d.request("POST", "/api/v1/tokens", {"name": "pat", "user": self.user["id"]})
        self.assertEqual(status, 201, tok)
        out = d.cli("release", str(held["id"]), "-t", "101", "--json", token=tok["token"])
        released = json.loads(out.stdout)
        self.assertEqual(released["state"], "queued")
        job = d.wait_final(held["id"])
        self.assertEqual(job["state"], "done", job)
        self.assertEqual(job["pages"], 2)
        self.received(d, "101")
        # Released once: a second release is a conflict.
        status, err = d.request("POST", f"/api/v1/faxes/{held['id']}/release", {"to": "101"})
        self.assertEqual(status, 409, err)

    def test_release_checks_and_delete(self):
        d = self.start()
        _, body = self.print_job(d, self.pdf("plain.pdf", [LETTER]), user=self.user["id"])
        fid = body["faxes"][0]["id"]
        for payload, code in (({}, "invalid_number"), ({"to": "abc"}, "invalid_number"),
                              ({"to": "+499001234567"}, "destination_not_allowed"),
                              ({"to": "101", "bogus": 1}, "unknown_field"),
                              ({"to": "101", "priority": 500}, "invalid_request")):
            status, err = d.request("POST", f"/api/v1/faxes/{fid}/release", payload)
            self.assertEqual(err["error"]["code"], code, (payload, err))
            self.assertEqual(d.fax(fid)["state"], "held")
        # Another user sees no such fax.
        other = d.user_token("other")
        status, err = d.request("POST", f"/api/v1/faxes/{fid}/release", {"to": "101"}, token=other)
        self.assertEqual(status, 404, err)
        # With a cover page: converted again behind it.
        status, rel = d.request("POST", f"/api/v1/faxes/{fid}/release",
                                {"to": "101", "cover": True, "subject": "Order"})
        self.assertEqual(status, 200, rel)
        job = d.wait_final(fid)
        self.assertEqual(job["state"], "done", job)
        self.assertEqual(job["pages_total"], 2)
        # DELETE drops a held job at once.
        _, body = self.print_job(d, self.pdf("plain2.pdf", [LETTER]), user=self.user["id"])
        fid2 = body["faxes"][0]["id"]
        status, _ = d.request("DELETE", f"/api/v1/faxes/{fid2}")
        self.assertIn(status, (200, 204))
        status, _ = d.request("GET", f"/api/v1/faxes/{fid2}")
        self.assertEqual(status, 404)

    def test_mail_merge_three_letters(self):
        d = self.start()
        pages = [["@@+FAX:100@@"] + LETTER, ["page two of letter one"],
                 ["@@+FAX:101@@"] + LETTER,
                 ["@@+FAX:102@@"] + LETTER, ["letter three, page two"], ["letter three, page three"]]
        status, body = self.print_job(d, self.pdf("merge.pdf", pages), user=self.user["id"])
        self.assertEqual(status, 201, body)
        self.assertEqual(len(body["faxes"]), 3, body)
        by_number = {}
        for f in body["faxes"]:
            job = d.wait_final(f["id"])
            self.assertEqual(job["state"], "done", job)
            by_number[job["number"][-3:]] = job["pages_total"]
        self.assertEqual(by_number, {"100": 2, "101": 1, "102": 3})

    def test_each_dialect(self):
        d = self.start()
        dialects = {"hylafax": "@@+FAX:100@@", "swyx": "@@NUMBER 100@@", "yajhfc": "@@fax:100@@",
                    "winprint": "###100###", "rightfax": "<TOFAXNUM:100>"}
        for name, field in dialects.items():
            with self.subTest(dialect=name):
                status, body = self.print_job(d, self.pdf(name + ".pdf", [[field] + LETTER]),
                                              user=self.user["id"])
                self.assertEqual(status, 201, body)
                self.assertIs(body["held"], False, body)
                job = body["faxes"][0]
                self.assertTrue(job["number"].endswith("100"), job)
        # Tag, notify and priority fields ride along.
        status, body = self.print_job(d, self.pdf("opts.pdf", [[
            "@@+FAX:101@@ @@+TAG:invoice 42@@ @@+NOTIFY:boss@example.test@@ @@+PRIO:0@@"] + LETTER]),
            user=self.user["id"])
        self.assertEqual(status, 201, body)
        job = body["faxes"][0]
        self.assertEqual(job["tag"], "invoice 42")
        self.assertEqual(job["notify"], "boss@example.test")
        self.assertGreater(job["priority"], 0)

    def test_raster_pages_are_held(self):
        # PWG/Apple raster arrives as the pages vfax-printer assembled: here one PNG per page.
        pdf = os.path.join(self.tmp, "r.pdf")
        with open(pdf, "wb") as f:
            f.write(self.pdf("r.pdf", [["@@+FAX:100@@"] + LETTER, LETTER]))
        subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pnggray", "-r100",
                        f"-sOutputFile={self.tmp}/r-%d.png", pdf], check=True)
        pngs = []
        for n in (1, 2):
            with open(os.path.join(self.tmp, f"r-{n}.png"), "rb") as f:
                pngs.append(f.read())
        d = self.start()
        status, body = self.print_job(d, pngs, user=self.user["id"], ctype="image/png",
                                      fields={"format": "image/pwg-raster"})
        self.assertEqual(status, 201, body)
        self.assertIs(body["held"], True)  # raster has no text: the field is not read
        self.assertEqual(body["faxes"][0]["pages_total"], 2)

    def test_admin_patterns(self):
        d = self.start()
        for bad in (["(?<bogus>[0-9]+)"], ["FAX=(?<number>[0-9]+"], ["x" * 2001], "not a list"):
            status, err = d.request("PUT", "/api/v1/settings", {"print_field_patterns": bad})
            self.assertEqual(status, 400, (bad, err))
            self.assertEqual(err["error"]["code"], "invalid_setting")
            self.assertIn("print_field_patterns", err["error"]["message"])
        status, body = d.request("PUT", "/api/v1/settings",
                                 {"print_field_patterns": ["FAXTO=(?<number>[0-9]{3,20})"]})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["print_field_patterns"], ["FAXTO=(?<number>[0-9]{3,20})"])
        out = d.cli("settings", "--json")
        self.assertEqual(json.loads(out.stdout)["print_field_patterns"], ["FAXTO=(?<number>[0-9]{3,20})"])
        status, body = self.print_job(d, self.pdf("pat.pdf", [["FAXTO=102"] + LETTER]),
                                      user=self.user["id"])
        self.assertEqual(status, 201, body)
        self.assertIs(body["held"], False)
        self.assertTrue(body["faxes"][0]["number"].endswith("102"), body)

    def test_mode_fields_refuses_with_a_mail_and_client_holds(self):
        d = self.start(mail=True, settings={"print_to_fax_mode": "fields"})
        status, err = self.print_job(d, self.pdf("plain.pdf", [LETTER]), user=self.user["id"])
        self.assertEqual(status, 422, err)
        self.assertEqual(err["error"]["code"], "no_number")
        self.assertEqual(d.faxes(), [])
        mail = self.smtp.wait_for(lambda m: "pat@example.test" in m["X-RcptTo"],
                                  what="the refusal mail")[0]
        self.assertIn("not faxed", str(mail["Subject"]))
        # Mode client: even a job with a field is held.
        status, body = d.request("PUT", "/api/v1/settings", {"print_to_fax_mode": "client"})
        self.assertEqual(status, 200, body)
        status, body = self.print_job(d, self.pdf("f.pdf", [["@@+FAX:100@@"] + LETTER]),
                                      user=self.user["id"])
        self.assertEqual(status, 201, body)
        self.assertIs(body["held"], True)

    def test_held_job_expires_with_a_mail(self):
        os.environ["VFAX_TEST_HOLD_HOUR_MS"] = "1500"
        d = self.start(mail=True, settings={"print_hold_hours": 1})
        _, body = self.print_job(d, self.pdf("plain.pdf", [LETTER]), user=self.user["id"])
        fid = body["faxes"][0]["id"]
        job = d.wait_final(fid, timeout=120)
        self.assertEqual(job["state"], "failed")
        self.assertIn("print_hold_hours", job["error"])
        mail = self.smtp.wait_for(lambda m: "pat@example.test" in m["X-RcptTo"],
                                  what="the expiry mail")[0]
        self.assertIn("expired", str(mail["Subject"]))

    def test_authorize_and_secret(self):
        d = self.start()
        auth = lambda body, secret=SECRET: d.request(  # noqa: E731
            "POST", "/api/v1/print/authorize", body, auth=False,
            headers={"X-Vfax-Printer": secret} if secret else {})
        status, body = auth({"username": "pat", "password": PASSWORD, "address": "10.0.0.5"})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["user"], self.user["id"])
        self.assertEqual(body["device"], self.device["id"])
        status, body = auth({"username": "pat", "password": "wrong-password", "address": "10.0.0.5"})
        self.assertEqual(status, 401, body)
        # No anonymous device configured: unauthenticated jobs are refused.
        status, body = auth({"address": "127.0.0.1"})
        self.assertEqual(status, 401, body)
        # A wrong or missing secret: the routes do not exist.
        for secret in ("b2" * 32, None, SECRET[:-1]):
            status, body = auth({"username": "pat", "password": PASSWORD, "address": "1.2.3.4"}, secret)
            self.assertEqual(status, 404, body)
            status, body = self.print_job(d, self.pdf("x.pdf", [LETTER]), user=self.user["id"],
                                          secret=secret)
            self.assertEqual(status, 404, body)
        self.assertEqual(d.faxes(), [])
        # Audited like logins.
        status, audit = d.request("GET", "/api/v1/audit?action=print.")
        self.assertEqual(status, 200, audit)
        actions = {e["action"] for e in audit["entries"]}
        self.assertTrue({"print.login", "print.login_failed"} <= actions, actions)
        # Throttled like POST /session, by the printing client's address.
        codes = [auth({"username": "pat", "password": "nope-nope", "address": "10.9.9.9"})[0]
                 for _ in range(8)]
        self.assertIn(429, codes)

    def test_anonymous_device_from_allowed_addresses(self):
        os.environ["VFAX_PRINT_ANONYMOUS_DEVICE"] = "100"
        os.environ["VFAX_PRINT_ANONYMOUS_ALLOW"] = "127.0.0.1,192.168.7.0/24"
        try:
            d = self.start()
        finally:
            os.environ.pop("VFAX_PRINT_ANONYMOUS_DEVICE", None)
            os.environ.pop("VFAX_PRINT_ANONYMOUS_ALLOW", None)
        device = next(x for x in d.request("GET", "/api/v1/devices")[1]["devices"]
                      if x["extension"] == "100")
        auth = lambda address: d.request(  # noqa: E731
            "POST", "/api/v1/print/authorize", {"address": address}, auth=False,
            headers={"X-Vfax-Printer": SECRET})
        for address in ("127.0.0.1", "::ffff:127.0.0.1", "192.168.7.20"):
            status, body = auth(address)
            self.assertEqual((status, body), (200, {"user": None, "device": device["id"]}), address)
        status, body = auth("192.168.8.20")
        self.assertEqual(status, 401, body)
        # A job of the anonymous device: faxed with it, status mails to its address.
        status, body = self.print_job(d, self.pdf("anon.pdf", [["@@+FAX:101@@"] + LETTER]),
                                      fields={"anonymous_device": device["id"]})
        self.assertEqual(status, 201, body)
        job = body["faxes"][0]
        self.assertEqual(job["device"], device["id"])
        self.assertEqual(job["notify"], "rx100@example.test")
        self.assertEqual(d.wait_final(job["id"])["state"], "done")
        # Another device, or an address outside the list: refused.
        status, body = self.print_job(d, self.pdf("anon2.pdf", [LETTER]),
                                      fields={"anonymous_device": self.device["id"]})
        self.assertEqual(status, 401, body)
        status, body = self.print_job(d, self.pdf("anon3.pdf", [LETTER]),
                                      fields={"anonymous_device": device["id"],
                                              "address": "10.1.1.1"})
        self.assertEqual(status, 401, body)

    def test_bad_input(self):
        d = self.start()
        status, err = self.print_job(d, b"%PDF-1.4\n1 0 obj <<\ngarbage", user=self.user["id"])
        self.assertGreaterEqual(status, 400, err)
        self.assertLess(status, 500, err)
        self.assertIn(err["error"]["code"], ("corrupt_file", "conversion_failed"))
        status, err = self.print_job(d, b"", user=self.user["id"])
        self.assertEqual(status // 100, 4, err)
        status, err = self.print_job(d, self.pdf("a.pdf", [LETTER]), user=999)
        self.assertEqual(status, 401, err)
        status, err = self.print_job(d, self.pdf("b.pdf", [LETTER]))  # neither user nor device
        self.assertEqual(status, 400, err)
        status, err = self.print_job(d, self.pdf("c.pdf", [["@@+FAX:+499001234567@@"] + LETTER]),
                                     user=self.user["id"])
        self.assertEqual(status, 422, err)
        self.assertEqual(err["error"]["code"], "destination_not_allowed")
        self.assertEqual(d.faxes(), [])
        self.assertEqual(os.listdir(os.path.join(d.data, "print-intake")), [])


if __name__ == "__main__":
    unittest.main()
