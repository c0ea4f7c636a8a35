"""vfax-printer, the real process, with real IPP clients (ipptool, a private CUPS), against a
stand-in for vfaxd's two internal print routes that records what the printer hands over. The
same flow against the real vfaxd is test_print_e2e.py."""
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from printertest import (ADMIN_OP, AUTHENTICATE_JOB, PRINT_AND_FOLLOW, FakeVfaxd, Printer, PrivateCups, have_cups,
                         ipptool)
from vfaxtest import make_pdf

IPPTOOL_DIR = "/usr/share/cups/ipptool"
USERS = {"ann": ("ann-pw-1", 7), "bob": ("bob-pw-2", 8)}


def corrupt_pdf_rejected(document, fields):
    if fields.get("format") == "application/pdf" and b"%%EOF" not in document[-64:]:
        return 422, "corrupt_file", "The PDF is damaged: it ends before its end-of-file marker."
    return None


class PrinterTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vfax-printer-")
        self.fake = FakeVfaxd(USERS, {"allow": [], "device": None}, corrupt_pdf_rejected)
        self.printer = Printer(self.tmp, self.fake.url)
        self.test_file = os.path.join(self.tmp, "follow.test")
        with open(self.test_file, "w") as f:
            f.write(PRINT_AND_FOLLOW)
        self.pdf = make_pdf(os.path.join(self.tmp, "letter.pdf"), 2, "Print to fax")

    def tearDown(self):
        status = self.printer.stop()
        self.fake.close()
        failed = any(t is self for t, _ in self._outcome.result.errors + self._outcome.result.failures) \
            if hasattr(self._outcome, "result") else False
        if failed:
            print("--- vfax-printer log ---\n" + self.printer.log())
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.assertEqual(status, 0, "vfax-printer exits 0 on SIGTERM")

    def follow(self, document, user=None, password=None):
        rc, out = ipptool(self.printer.uri_for(user, password), self.test_file,
                          "-d", f"requser={user or 'nobody'}", document=document)
        return rc, out

    # -- Debian's ipptool test files -------------------------------------------------------
    def test_get_printer_attributes(self):
        rc, out = ipptool(self.printer.uri, os.path.join(IPPTOOL_DIR, "get-printer-attributes.test"))
        self.assertEqual(rc, 0, out)
        for line in ("document-format-preferred (mimeMediaType) = application/pdf",
                     "pwg-raster-document-type-supported (1setOf keyword) = black_1,sgray_8",
                     "color-supported (boolean) = false",
                     "printer-resolution-supported (resolution) = 300dpi",
                     "media-supported (1setOf keyword) = iso_a4_210x297mm,na_letter_8.5x11in"):
            self.assertIn(line, out)
        formats = next(l for l in out.splitlines() if "document-format-supported" in l)
        for fmt in ("application/pdf", "application/postscript", "image/pwg-raster", "image/urf",
                    "image/jpeg", "image/png"):
            self.assertIn(fmt, formats)
        self.assertIn("RS300", next(l for l in out.splitlines() if "urf-supported" in l))
        self.assertEqual(self.fake.authorizations, [], "Get-Printer-Attributes needs no login")

    def test_print_job_test_file(self):
        """Debian's print-job.test with a PDF the test made, and Basic credentials."""
        rc, out = ipptool(self.printer.uri_for("ann", "ann-pw-1"),
                          os.path.join(IPPTOOL_DIR, "print-job.test"), document=self.pdf)
        self.assertEqual(rc, 0, out)
        jobs = self.fake.wait_jobs(1)
        self.assertEqual(jobs[0]["fields"]["format"], "application/pdf")

    def test_ipp_everywhere_test_file(self):
        """For information: PAPPL 1.3.1 does not pass all of PWG 5100.14 for a fax printer (see
        src/print/README.md); the parts that must hold are asserted."""
        rc, out = ipptool(self.printer.uri_for("ann", "ann-pw-1"),
                          os.path.join(IPPTOOL_DIR, "ipp-everywhere.test"), document=self.pdf,
                          timeout=300)
        self.assertIn("Get-Printer-Attributes", out)
        fails = [l.strip() for l in out.splitlines() if l.rstrip().endswith("[FAIL]")]
        print(f"\nipp-everywhere.test: exit {rc}; failing tests: {fails}")
        self.assertRegex(out, r"RFC 8011 section 4.2.1: Print-Job Operation +\[PASS\]")
        self.assertRegex(out, r"PWG 5100.12 section 6.2 - Required Printer Description Attributes +\[PASS\]")

    # -- hand-over -------------------------------------------------------------------------
    def test_pdf_with_basic_auth_is_handed_over(self):
        rc, out = self.follow(self.pdf, "ann", "ann-pw-1")
        self.assertEqual(rc, 0, out)
        self.assertIn("job-state (enum) = completed", out)
        self.assertIn("job-originating-user-name (nameWithoutLanguage) = ann", out)
        job = self.fake.wait_jobs(1)[0]
        with open(self.pdf, "rb") as f:
            self.assertEqual(job["document"], f.read(), "the document exactly as printed")
        self.assertEqual(job["fields"]["format"], "application/pdf")
        self.assertEqual(job["fields"]["user"], "7")
        self.assertNotIn("anonymous_device", job["fields"])
        self.assertEqual(job["fields"]["address"], "127.0.0.1")
        self.assertTrue(job["fields"]["job_name"].endswith("letter.pdf"), job["fields"])
        self.assertTrue(int(job["fields"]["ipp_job_id"]) >= 1)
        # The spool holds nothing once the job is over.
        self.assertEqual(os.listdir(os.path.join(self.printer.spool, "jobs")), [])

    def test_requesting_user_name_cannot_spoof_the_owner(self):
        rc, out = ipptool(self.printer.uri_for("bob", "bob-pw-2"), self.test_file,
                          "-d", "requser=ann", document=self.pdf)
        self.assertEqual(rc, 0, out)
        self.assertIn("job-originating-user-name (nameWithoutLanguage) = bob", out)
        self.assertEqual(self.fake.wait_jobs(1)[0]["fields"]["user"], "8")

    def test_wrong_password_is_401(self):
        rc, out = self.follow(self.pdf, "ann", "wrong")
        self.assertNotEqual(rc, 0, out)
        self.assertRegex(out, r"(?i)unauthori[sz]ed|not-authorized|401")
        self.assertEqual(self.fake.jobs, [])
        tried = [a for a in self.fake.authorizations if "username" in a]
        self.assertEqual(tried[0]["username"], "ann")
        self.assertEqual(tried[0]["address"], "127.0.0.1")

    def test_no_credentials_outside_the_allow_list_is_401(self):
        rc, out = self.follow(self.pdf)
        self.assertNotEqual(rc, 0, out)
        self.assertRegex(out, r"(?i)unauthori[sz]ed|not-authorized|401")
        self.assertEqual(self.fake.authorizations, [{"address": "127.0.0.1"}])
        self.assertEqual(self.fake.jobs, [])

    def test_anonymous_allow_listed_address_prints_to_the_anonymous_device(self):
        self.fake.anonymous = {"allow": ["127.0.0.1"], "device": 5}
        rc, out = self.follow(self.pdf)
        self.assertEqual(rc, 0, out)
        self.assertIn("job-originating-user-name (nameWithoutLanguage) = anon@127.0.0.1", out)
        job = self.fake.wait_jobs(1)[0]
        self.assertEqual(job["fields"]["anonymous_device"], "5")
        self.assertNotIn("user", job["fields"])

    def test_without_anonymous_device_no_credentials_never_reach_vfaxd(self):
        self.printer.stop()
        self.printer = Printer(self.tmp, self.fake.url, extra=[])
        rc, out = self.follow(self.pdf)
        self.assertNotEqual(rc, 0, out)
        self.assertRegex(out, r"(?i)unauthori[sz]ed|not-authorized|401")
        self.assertEqual(self.fake.authorizations, [])
        rc, out = self.follow(self.pdf, "ann", "ann-pw-1")
        self.assertEqual(rc, 0, out)
        self.assertEqual([a.get("username") for a in self.fake.authorizations], ["ann"])

    def test_admin_operations_are_forbidden_even_with_credentials(self):
        path = os.path.join(self.tmp, "admin.test")
        with open(path, "w") as f:
            f.write(ADMIN_OP)
        for uri in (self.printer.uri, self.printer.uri_for("ann", "ann-pw-1")):
            rc, out = ipptool(uri, path, "-d", "requser=ann")
            self.assertNotEqual(rc, 0, out)
            self.assertRegex(out, r"(?i)forbidden|not-authorized|403")
        rc, out = ipptool(self.printer.uri, os.path.join(IPPTOOL_DIR, "get-printer-attributes.test"))
        self.assertIn("printer-is-accepting-jobs (boolean) = true", out)

    def test_corrupt_pdf_aborts_the_ipp_job_with_vfaxds_message(self):
        broken = os.path.join(self.tmp, "broken.pdf")
        with open(self.pdf, "rb") as f:
            data = f.read()
        with open(broken, "wb") as f:
            f.write(data[: len(data) // 2])
        rc, out = self.follow(broken, "ann", "ann-pw-1")
        self.assertIn("job-state (enum) = aborted", out)
        self.assertIn("job-state-message (textWithoutLanguage) = The PDF is damaged: it ends before "
                      "its end-of-file marker.", out)
        self.assertIn("document-format-error", out)
        self.assertEqual(self.fake.wait_jobs(1)[0]["answer"][0], 422)

    def test_pwg_raster_becomes_a_multipage_tiff(self):
        ps = os.path.join(self.tmp, "pages.ps")
        with open(ps, "w") as f:
            f.write("%!PS\n/Helvetica findfont 40 scalefont setfont\n"
                    "72 700 moveto (Raster page one) show showpage\n"
                    "72 700 moveto (Raster page two) show showpage\n")
        pwg = os.path.join(self.tmp, "pages.pwg")
        subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pwgraster",
                        "-r300", "-sPAPERSIZE=a4", "-dcupsColorSpace=18", "-dcupsBitsPerColor=8",
                        f"-sOutputFile={pwg}", ps], check=True, capture_output=True)
        rc, out = self.follow(pwg, "ann", "ann-pw-1")
        self.assertEqual(rc, 0, out)
        self.assertIn("job-state (enum) = completed", out)
        job = self.fake.wait_jobs(1)[0]
        self.assertEqual(job["fields"]["format"], "image/tiff")
        tif = os.path.join(self.tmp, "got.tif")
        with open(tif, "wb") as f:
            f.write(job["document"])
        info = subprocess.run(["tiffinfo", tif], capture_output=True, text=True).stdout
        self.assertEqual(info.count("TIFF Directory"), 2, info)
        self.assertIn("Resolution: 300, 300 pixels/inch", info)
        self.assertIn("Bits/Sample: 8", info)

    def test_jpeg_is_handed_over_as_received(self):
        jpg = os.path.join(self.tmp, "photo.jpg")
        subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=jpeggray", "-r100",
                        f"-sOutputFile={jpg}", self.pdf], check=True, capture_output=True)
        # gs names one file per page only with %d; one file holds the last page here.
        rc, out = self.follow(jpg, "ann", "ann-pw-1")
        self.assertEqual(rc, 0, out)
        job = self.fake.wait_jobs(1)[0]
        self.assertEqual(job["fields"]["format"], "image/jpeg")
        with open(jpg, "rb") as f:
            self.assertEqual(job["document"], f.read())

    def test_postscript_is_handed_over_as_received(self):
        ps = os.path.join(self.tmp, "memo.ps")
        with open(ps, "w") as f:
            f.write("%!PS\n/Helvetica findfont 24 scalefont setfont 72 700 moveto (Memo) show showpage\n")
        rc, out = self.follow(ps, "ann", "ann-pw-1")
        self.assertEqual(rc, 0, out)
        job = self.fake.wait_jobs(1)[0]
        self.assertEqual(job["fields"]["format"], "application/postscript")
        with open(ps, "rb") as f:
            self.assertEqual(job["document"], f.read())

    def test_a_document_over_the_upload_limit_is_aborted_without_reaching_vfaxd(self):
        self.printer.stop()
        self.printer = Printer(self.tmp, self.fake.url, extra=["--max-bytes", "1000"])
        rc, out = self.follow(self.pdf, "ann", "ann-pw-1")
        self.assertIn("job-state (enum) = aborted", out)
        self.assertIn("larger than the fax server accepts (1000 bytes)", out)
        self.assertEqual(self.fake.jobs, [])

    def test_vfaxd_down_aborts_with_a_clear_message(self):
        self.fake.anonymous = {"allow": ["127.0.0.1"], "device": 5}
        rc, out = self.follow(self.pdf)  # authorized, then vfaxd goes away
        self.assertEqual(rc, 0, out)
        self.fake.wait_jobs(1)
        self.fake.close()
        rc, out = self.follow(self.pdf)
        self.assertNotEqual(rc, 0, out)
        self.assertRegex(out, r"(?i)service-unavailable|503|server-error")

    def test_tls_with_the_configured_certificate(self):
        self.printer.stop()
        cert, key = os.path.join(self.tmp, "cert.pem"), os.path.join(self.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "2", "-subj", "/CN=fax.example.test"],
                       check=True, capture_output=True)
        self.printer = Printer(self.tmp, self.fake.url,
                               extra=["--tls-cert", cert, "--tls-key", key])
        # ipp and ipps share the port; TLS answers with our certificate.
        s = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{self.printer.port}"],
                           input="", capture_output=True, text=True, timeout=60)
        self.assertIn("subject=CN = fax.example.test", s.stdout)
        rc, out = ipptool(f"ipps://ann:ann-pw-1@127.0.0.1:{self.printer.port}/ipp/print",
                          self.test_file, "-d", "requser=ann", document=self.pdf)
        self.assertEqual(rc, 0, out)
        self.assertIn("job-state (enum) = completed", out)
        self.assertEqual(self.fake.wait_jobs(1)[0]["fields"]["user"], "7")

    def test_tls_without_a_certificate_makes_a_self_signed_one_in_its_keystore(self):
        rc, out = ipptool(f"ipps://127.0.0.1:{self.printer.port}/ipp/print",
                          os.path.join(IPPTOOL_DIR, "get-printer-attributes.test"))
        self.assertEqual(rc, 0, out)
        made = os.listdir(os.path.join(self.tmp, "print-tls"))
        self.assertTrue(any(n.endswith(".crt") for n in made), made)

    # -- a private CUPS with an IPP Everywhere queue ---------------------------------------
    @unittest.skipUnless(have_cups(), "needs root and cupsd/lpadmin (scripts/install-deps)")
    def test_cups_everywhere_queue(self):
        cups = PrivateCups(self.tmp)
        try:
            # The queue holds the credentials in its device URI: CUPS' ipp backend answers the
            # printer's Basic challenge with them (a shared office queue, one fax account).
            cups.run("lpadmin", "-p", "vfax", "-E", "-v", self.printer.uri_for("ann", "ann-pw-1"),
                     "-m", "everywhere")
            deadline = time.time() + 60
            while "enabled" not in cups.run("lpstat", "-p", "vfax", check=False).stdout:
                self.assertLess(time.time(), deadline, "queue not created:\n" + cups.log())
                time.sleep(0.5)
            os.chmod(self.pdf, 0o644)
            cups.run("lp", "-d", "vfax", "-U", "ann", "-t", "CUPS letter", self.pdf)
            job = self.fake.wait_jobs(1, timeout=120)[0]
            self.assertEqual(job["fields"]["user"], "7")
            self.assertEqual(job["fields"]["format"], "application/pdf")
            self.assertTrue(job["document"].startswith(b"%PDF"))
            self.assertEqual(job["fields"]["job_name"], "CUPS letter")
        finally:
            cups.stop()


@unittest.skipUnless(have_cups(), "needs root and cupsd/lpadmin (scripts/install-deps)")
class CupsAskingForCredentialsTest(unittest.TestCase):
    """The usual desktop setup: one shared queue, each user's own fax account. The queue says
    auth-info-required=username,password; `lp` leaves the job held for authentication; the print
    dialog (here ipptool) sends the user's credentials with CUPS-Authenticate-Job; CUPS' ipp
    backend answers vfax-printer's Basic challenge with them."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vfax-cups-")
        self.fake = FakeVfaxd(USERS)
        self.printer = Printer(self.tmp, self.fake.url, extra=[])
        self.cups = PrivateCups(self.tmp)
        self.cups.run("lpadmin", "-p", "vfax", "-E", "-v", self.printer.uri, "-m", "everywhere",
                      "-o", "auth-info-required=username,password")
        deadline = time.time() + 60
        while "enabled" not in self.cups.run("lpstat", "-p", "vfax", check=False).stdout:
            self.assertLess(time.time(), deadline, "queue not created:\n" + self.cups.log())
            time.sleep(0.5)
        self.pdf = make_pdf(os.path.join(self.tmp, "letter.pdf"), 1, "Desktop letter")
        os.chmod(self.pdf, 0o644)
        self.auth_test = os.path.join(self.tmp, "auth.test")
        with open(self.auth_test, "w") as f:
            f.write(AUTHENTICATE_JOB)

    def tearDown(self):
        self.cups.stop()
        self.printer.stop()
        self.fake.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def held_for_authentication(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if "cups-held-for-authentication" in self.cups.run("lpstat", "-l", "-o", check=False).stdout:
                return True
            time.sleep(0.3)
        return False

    def authenticate(self, job_id, user, password):
        rc, out = ipptool(f"ipp://127.0.0.1:{self.cups.port}/printers/vfax", self.auth_test,
                          "-d", f"jobid={job_id}", "-d", f"authuser={user}",
                          "-d", f"authpassword={password}")
        self.assertEqual(rc, 0, out)

    def test_credentials_from_the_print_dialog(self):
        out = self.cups.run("lp", "-d", "vfax", "-U", "ann", self.pdf).stdout
        job_id = re.search(r"vfax-(\d+)", out).group(1)
        self.assertTrue(self.held_for_authentication(), self.cups.log())
        self.assertEqual(self.fake.jobs, [])
        self.authenticate(job_id, "ann", "ann-pw-1")
        job = self.fake.wait_jobs(1, timeout=120)[0]
        self.assertEqual(job["fields"]["user"], "7")
        self.assertEqual(job["fields"]["format"], "application/pdf")

    def test_wrong_password_is_refused_and_the_job_waits_for_new_credentials(self):
        out = self.cups.run("lp", "-d", "vfax", "-U", "ann", self.pdf).stdout
        job_id = re.search(r"vfax-(\d+)", out).group(1)
        self.assertTrue(self.held_for_authentication(), self.cups.log())
        self.authenticate(job_id, "ann", "not-her-password")
        deadline = time.time() + 60
        while not any(a.get("password") == "not-her-password" for a in self.fake.authorizations):
            self.assertLess(time.time(), deadline, "the backend never tried the password")
            time.sleep(0.3)
        # vfax-printer answered 401: CUPS holds the job for authentication again, nothing faxed.
        self.assertTrue(self.held_for_authentication(), self.cups.log())
        self.assertEqual(self.fake.jobs, [])
        self.authenticate(job_id, "ann", "ann-pw-1")
        self.assertEqual(self.fake.wait_jobs(1, timeout=120)[0]["fields"]["user"], "7")


if __name__ == "__main__":
    unittest.main()
