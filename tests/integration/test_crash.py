"""kill -9 of vfaxd in the middle of a call: after a restart the job is retried and done, the cut
call counts as a failed attempt, and there is no duplicate received fax."""
import http.client
import json
import os
import time
import unittest

from vfaxtest import VfaxTestCase, make_pdf


class Crash(VfaxTestCase):
    def test_kill9_mid_call(self):
        # Real time, so that the call lasts long enough to be cut in the middle.
        d = self.daemon({"loopback": {"realtime": True}})
        self.add_device(d, "200")
        pdf = make_pdf(os.path.join(self.tmp, "doc.pdf"), 3)
        job = d.cli_json("send", "-t", "200", pdf)
        d.wait_for(lambda: d.fax(job["id"])["state"] == "sending", timeout=120, what="sending")
        d.wait_for(lambda: [f for f in d.faxes("in") if f["state"] == "receiving"], timeout=60,
                   what="the inbound side")
        time.sleep(3)  # well inside the first page's transfer
        d.kill9()

        # Restart on the same data dir, now as fast as the CPU allows.
        d2 = self.restart(d, {"loopback": {"realtime": False}})
        final = d2.wait_final(job["id"])
        self.assertEqual(final["state"], "done", final)
        self.assertEqual(final["pages"], 3)
        self.assertEqual(len(final["attempts"]), 2, final["attempts"])
        self.assertEqual(final["attempts"][0]["outcome"], "dropped")
        self.assertIn("restart", final["attempts"][0]["reason"])
        self.assertEqual(final["attempts"][1]["outcome"], "ok")

        inbound = d2.wait_for(lambda: (lst := d2.faxes("in")) and all(
            f["state"] in ("received", "failed") for f in lst) and lst, what="inbound records final")
        received = [f for f in inbound if f["state"] == "received"]
        self.assertEqual(len(received), 1, inbound)  # the retry's, once
        self.assertEqual(received[0]["pages"], 3)
        cut = [f for f in inbound if f["state"] == "failed"]
        self.assertEqual(len(cut), 1, inbound)  # the cut call: kept, marked failed
        self.assertIn("restart", cut[0]["error"])

    def test_sigterm_mid_call(self):
        """A graceful stop hangs up, ends vfaxd within 5 s, keeps the job, and the restart sends
        it without waiting for a retry delay or spending the attempt budget."""
        d = self.daemon({"loopback": {"realtime": True}})
        d.cli("settings", "send_attempts=1")
        self.add_device(d, "201")
        pdf = make_pdf(os.path.join(self.tmp, "doc.pdf"), 2)
        job = d.cli_json("send", "-t", "201", pdf)
        d.wait_for(lambda: d.fax(job["id"])["state"] == "sending", timeout=120, what="sending")
        time.sleep(2)
        status, seconds = d.terminate()
        self.assertEqual(status, 0, d.log())
        self.assertLess(seconds, 5.0, d.log())  # the bound issue 8 sets for SIGTERM
        self.assertIn("vfaxd: stopped", d.log())
        d2 = self.restart(d, {"loopback": {"realtime": False}})
        final = d2.wait_final(job["id"])
        self.assertEqual(final["state"], "done", final)
        self.assertIn("shutting down", final["attempts"][0]["reason"])

    def test_sigterm_with_an_idle_api_connection_open(self):
        """A client's idle keep-alive connection (a browser, a script) does not hold the stop."""
        d = self.daemon()
        host, port = d.url[len("http://"):].rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self.addCleanup(conn.close)
        conn.request("GET", "/healthz")
        self.assertEqual(json.loads(conn.getresponse().read())["status"], "ok")
        status, seconds = d.terminate()
        self.assertEqual(status, 0, d.log())
        self.assertLess(seconds, 5.0, d.log())
        self.assertNotIn("overran", d.log())
        # The URL file says "the API serves here": gone with the API.
        self.assertFalse(os.path.exists(os.path.join(d.data, "http-url")))


if __name__ == "__main__":
    unittest.main()
