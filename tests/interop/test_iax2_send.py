"""vfax sends a fax over IAX2 to iaxmodem, where `efax -r` receives it; a busy modem makes the
vfax job retry until the modem is free; a job for a modem that has not registered yet waits,
spends no attempt, and is sent once the modem registers."""
import glob
import os
import subprocess
import time
import unittest

from iaxtest import SECRET, FAXCMP, InteropCase, join_tiffs
from vfaxtest import make_pdf


class Send(InteropCase):
    def send(self, codec, pages, busy_first=False):
        d = self.iax_daemon([{"name": "iaxmodem", "secret": SECRET}],
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


    def test_job_waits_for_an_unregistered_peer_without_spending_attempts(self):
        d = self.iax_daemon([{"name": "iaxmodem", "secret": SECRET}],
                            extra={"outbound": "iaxmodem"})
        pdf = make_pdf(os.path.join(self.tmp, "doc.pdf"), 1, "vfax to a modem that comes later")
        fid = __import__("json").loads(d.cli("send", "-t", "5552000", pdf, "--json").stdout)["id"]
        waiting = "waiting for IAX2 peer 'iaxmodem' to register"
        d.wait_for(lambda: waiting in (d.fax(fid).get("error") or ""), 120, "the job to wait")
        job = d.fax(fid)
        self.assertEqual(job["state"], "waiting", job)
        self.assertEqual(job["attempts"], [], job)  # nothing was dialled: no attempt spent
        self.assertEqual(job["attempt_count"], 0, job)
        # The modem comes up and registers; the job goes out at its next try.
        m = self.modem(codec="alaw")
        prefix = os.path.join(self.tmp, "rx")
        rx = m.efax_receive(prefix)
        self.procs.append(rx)
        self.wait_registered(d, "iaxmodem")
        job = d.wait_final(fid, timeout=300)
        rx.wait(timeout=60)
        self.assertEqual(job["state"], "done", job)
        self.assertEqual(len(job["attempts"]), 1, job)
        self.assertEqual(job["attempts"][0]["outcome"], "ok", job)


if __name__ == "__main__":
    unittest.main()
