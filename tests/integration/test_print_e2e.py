"""Print-to-Fax with the real vfaxd: vfaxd starts, watches and stops vfax-printer ([print]); a
PDF printed with ipptool becomes a fax."""
import os
import re
import signal
import socket
import subprocess
import time
import unittest

from printertest import PRINT_AND_FOLLOW, PrivateCups, free_port, have_cups, ipptool
from test_print_intake import LETTER, make_letter_pdf
from vfaxtest import VfaxTestCase, make_pdf

VFAX_PRINTER = os.environ.get("VFAX_PRINTER", "")


def children(pid):
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


class PrintE2ETest(VfaxTestCase):
    def start(self, **print_cfg):
        self.port = free_port()
        cfg = {"enabled": True, "listen": f"127.0.0.1:{self.port}", "log_level": "debug"}
        cfg.update(print_cfg)
        d = self.daemon({"print": cfg})
        self.uri = f"ipp://127.0.0.1:{self.port}/ipp/print"
        self.wait_listening()
        return d

    def wait_listening(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the printer did not listen:\n" + self.daemons[-1].log())

    def printer_pid(self, d, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            pids = [p for p in children(d.proc.pid) if comm(p).startswith("vfax-printer")]
            if pids:
                return pids[0]
            time.sleep(0.1)
        raise AssertionError("no vfax-printer child:\n" + d.log())

    def test_vfaxd_runs_the_printer_and_stops_it(self):
        d = self.start()
        pid = self.printer_pid(d)
        rc, out = ipptool(self.uri, "/usr/share/cups/ipptool/get-printer-attributes.test")
        self.assertEqual(rc, 0, out)
        self.assertEqual(d.request("GET", "/healthz", auth=False)[1]["status"], "ok")
        # The secret travels in the environment, never on the command line.
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().decode(errors="replace")
        self.assertNotRegex(argv, r"[0-9a-f]{64}")
        self.assertIn("--spool", argv)
        with open(f"/proc/{pid}/environ", "rb") as f:
            self.assertRegex(f.read().decode(errors="replace"), r"VFAX_PRINTER_SECRET=[0-9a-f]{64}")
        status, elapsed = d.terminate()
        self.assertEqual(status, 0, d.log())
        # Its stderr lines are in vfaxd's log (flushed at the latest when vfaxd stops).
        with open(d.log_path, errors="replace") as f:
            log = f.read()
        for line in ("printer: vfax-printer: ready on ipp://127.0.0.1", "Get-Printer-Attributes successful-ok",
                     "stop: the printer stopped"):
            self.assertTrue(line in log, f"'{line}' in vfaxd's log")
        self.assertFalse(os.path.exists(f"/proc/{pid}") and comm(pid).startswith("vfax-printer"),
                         "vfax-printer stopped with vfaxd")

    def test_a_dead_printer_is_restarted(self):
        d = self.start()
        first = self.printer_pid(d)
        os.kill(first, signal.SIGKILL)
        d.wait_for(lambda: "killed by signal 9; restarting it" in d.log(), 30, "restart notice")
        second = d.wait_for(lambda: [p for p in children(d.proc.pid)
                                     if p != first and comm(p).startswith("vfax-printer")], 60,
                            "a new vfax-printer")[0]
        self.assertNotEqual(first, second)
        self.wait_listening()
        rc, out = ipptool(self.uri, "/usr/share/cups/ipptool/get-printer-attributes.test")
        self.assertEqual(rc, 0, out)

    def test_healthz_says_when_the_printer_cannot_run(self):
        # Its port taken by someone else: the printer exits at each start, and /healthz says so.
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        self.addCleanup(blocker.close)
        port = blocker.getsockname()[1]
        d = self.daemon({"print": {"enabled": True, "listen": f"127.0.0.1:{port}"}})
        health = d.wait_for(lambda: (h := d.request("GET", "/healthz", auth=False)[1])["status"] == "degraded" and h,
                            60, "/healthz degraded")
        self.assertTrue(any(r.startswith("printer: ") for r in health["reasons"]), health)

    def test_the_printer_ends_when_vfaxd_is_killed(self):
        d = self.start()
        pid = self.printer_pid(d)
        d.kill9()
        deadline = time.time() + 30
        while os.path.exists(f"/proc/{pid}") and comm(pid).startswith("vfax-printer"):
            try:  # a zombie is gone for our purpose: reap it if it is ours (it is not)
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().split(")")[1].split()[0] == "Z":
                        break
            except OSError:
                break
            self.assertLess(time.time(), deadline, "vfax-printer outlived a killed vfaxd")
            time.sleep(0.1)
        # Its port is free again for the next vfaxd.
        self.wait_closed()

    def wait_closed(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                time.sleep(0.1)
            except OSError:
                return
        raise AssertionError("the printer's port is still open")

    def test_print_config_mistakes_stop_vfaxd_at_start(self):
        for cfg, message in (({"listen": "fax.example.com:8631"}, "[print] listen must name a numeric address"),
                             ({"anonymous_allow": ["10.0.0.0/33"]}, "[print] anonymous_allow: '10.0.0.0/33'"),
                             ({"anonymous_allow": ["printer.lan"]}, "[print] anonymous_allow: 'printer.lan'"),
                             ({"tls_cert": "/nonexistent.pem", "tls_key": "/nonexistent.key"},
                              "[print] cannot read /nonexistent.pem"),
                             ({"tls_cert": "/etc/hostname"}, "[print] tls_cert and tls_key go together"),
                             ({"anonymous_device": "sales"}, "[print] anonymous_device must be"),
                             ({"colour": True}, "unknown key 'colour' in [print]")):
            with self.subTest(cfg=cfg):
                with self.assertRaises(AssertionError) as ctx:
                    self.daemon({"print": {"enabled": True, **cfg}}, name=f"bad{len(self.daemons)}")
                self.assertIn(message, str(ctx.exception))
        # Networks are allowed in anonymous_allow: a config with them starts.
        self.daemon({"print": {"enabled": False, "anonymous_allow": ["10.0.0.0/8", "fd00::/8"]}},
                    name="networks").stop()

    def test_printed_pdf_with_a_fax_field_is_faxed(self):
        """Printed through the real printer into the real intake: a fax, done."""
        d = self.start()
        ann = d.add_user("ann", password="ann-secret-pw", email="ann@example.test")
        status, dev = d.request("POST", "/api/v1/devices", {
            "kind": "user", "name": "Ann", "email": "ann@example.test", "extension": "201",
            "owner": ann["id"]})
        self.assertEqual(status, 201, dev)
        self.add_device(d, "300", name="Sales")
        pdf = make_pdf(os.path.join(self.tmp, "letter.pdf"), 1, title="Invoice 4711 @@+FAX:300@@")
        test = os.path.join(self.tmp, "follow.test")
        with open(test, "w") as f:
            f.write(PRINT_AND_FOLLOW)
        uri = f"ipp://ann:ann-secret-pw@127.0.0.1:{self.port}/ipp/print"
        rc, out = ipptool(uri, test, "-d", "requser=ann", document=pdf)
        if rc != 0:
            d.stop()  # flushes vfaxd's log
        self.assertEqual(rc, 0, out + d.log())
        self.assertIn("job-state (enum) = completed", out)
        fax = d.wait_for(lambda: [f for f in d.faxes("out") if f["state"] == "done"], 300,
                         "the printed fax to be done")[0]
        self.assertTrue(fax["number"].endswith("300"), fax)

    @unittest.skipUnless(have_cups(), "needs root and cupsd/lpadmin (scripts/install-deps)")
    def test_lp_through_a_private_cups_is_faxed_without_its_field(self):
        """The whole way a user's print takes: lp, a private CUPS with an IPP Everywhere queue made
        by lpadmin -m everywhere, vfax-printer, vfaxd's intake, a fax over loopback; the received
        page has the letter's text (OCR) but not the field."""
        d = self.start()
        status, body = d.request("PUT", "/api/v1/settings", {"ocr_received": True})
        self.assertEqual(status, 200, body)
        ann = d.add_user("ann", password="ann-secret-pw", email="ann@example.test")
        status, dev = d.request("POST", "/api/v1/devices", {
            "kind": "user", "name": "Ann", "email": "ann@example.test", "extension": "201",
            "owner": ann["id"]})
        self.assertEqual(status, 201, dev)
        self.add_device(d, "300", name="Sales")
        letter = os.path.join(self.tmp, "letter.pdf")
        make_letter_pdf(letter, [["@@+FAX:300@@"] + LETTER])
        os.chmod(letter, 0o644)
        cups = PrivateCups(self.tmp)
        try:
            cups.run("lpadmin", "-p", "vfax", "-E", "-v",
                     f"ipp://ann:ann-secret-pw@127.0.0.1:{self.port}/ipp/print", "-m", "everywhere")
            d.wait_for(lambda: "enabled" in cups.run("lpstat", "-p", "vfax", check=False).stdout, 60,
                       "the CUPS queue")
            cups.run("lp", "-d", "vfax", "-U", "ann", "-t", "Order 4711", letter)
            rx = d.wait_for(lambda: [f for f in d.faxes("in") if f["state"] == "received"], 300,
                            "the printed letter to be received:\n" + cups.log())[0]
        finally:
            cups.stop()
        sent = [f for f in d.faxes("out")]
        self.assertEqual(len(sent), 1, sent)
        self.assertEqual(sent[0]["state"], "done", sent)
        self.assertTrue(sent[0]["number"].endswith("300"), sent)
        self.assertEqual(sent[0]["device"], dev["id"])  # ann's device: her TSI, her mails
        rx_pdf = os.path.join(self.tmp, "rx.pdf")
        d.cli("get", str(rx["id"]), "-o", rx_pdf)
        text = subprocess.run(["pdftotext", rx_pdf, "-"], capture_output=True, text=True,
                              check=True).stdout
        self.assertIn("widgets", text)
        self.assertNotIn("@@", text)
        self.assertNotIn("FAX:", text)


if __name__ == "__main__":
    unittest.main()
