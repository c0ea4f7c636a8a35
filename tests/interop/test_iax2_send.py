"""vfax sends a fax over IAX2 to iaxmodem, where `efax -r` receives it; a busy modem makes the
vfax job retry until the modem is free."""
import glob
import os
import subprocess
import time
import unittest

from iaxtest import FAXCMP, InteropCase, join_tiffs
from vfaxtest import make_pdf


class Send(InteropCase):
    def send(self, codec, pages, busy_first=False):
        d = self.iax_daemon([{"name": "iaxmodem", "secret": "password"}],
                            retry_seconds=15 if busy_first else 2)
        m = self.modem(codec=codec)
        self.wait_registered(d, "iaxmodem")
        blocker = None
        if busy_first:
            # Another program holds the modem off hook: iaxmodem refuses calls as busy.
            blocker = os.open(m.device, os.O_RDWR | os.O_NOCTTY)
            os.write(blocker, b"ATH1\r")
            time.sleep(1)
        pdf = make_pdf(os.path.join(self.tmp, "doc.pdf"), pages, f"vfax to efax over IAX2 ({codec})")
        prefix = os.path.join(self.tmp, "rx")
        rx = None
        if not busy_first:
            rx = m.efax_receive(prefix)
            self.procs.append(rx)
            time.sleep(1)
        out = d.cli("send", "-t", "5552000", pdf, "--json")
        fid = __import__("json").loads(out.stdout)["id"]
        if busy_first:
            d.wait_for(lambda: any(a.get("outcome") == "busy" for a in d.fax(fid)["attempts"]), 120,
                       "a busy attempt")
            os.write(blocker, b"ATH0\r")
            time.sleep(0.5)
            os.close(blocker)
            rx = m.efax_receive(prefix)
            self.procs.append(rx)
        job = d.wait_final(fid, timeout=300)
        rc = rx.wait(timeout=60)
        with open(prefix + ".log") as f:
            efax_log = f.read()
        self.assertEqual(job["state"], "done", str(job) + "\n--- efax ---\n" + efax_log)
        self.assertEqual(job["pages"], pages)
        self.assertEqual(rc, 0, efax_log)
        if busy_first:
            self.assertGreaterEqual(len(job["attempts"]), 2, job)
            self.assertEqual(job["attempts"][0]["outcome"], "busy", job)
        got = sorted(glob.glob(prefix + ".[0-9][0-9][0-9]"))
        self.assertEqual(len(got), pages, efax_log)
        sent = os.path.join(self.tmp, "sent.tif")
        d.cli("get", str(fid), "--tiff", "-o", sent)
        received = join_tiffs(got, os.path.join(self.tmp, "received.tif"))
        cmp = subprocess.run([FAXCMP, sent, received], capture_output=True, text=True)
        self.assertEqual(cmp.returncode, 0, cmp.stdout + cmp.stderr)

    def test_two_pages_alaw(self):
        self.send("alaw", 2)

    def test_busy_then_retry_slinear(self):
        self.send("slinear", 1, busy_first=True)


if __name__ == "__main__":
    unittest.main()
