"""Settings, devices and faxes survive a restart; cancel; cleanup; lines; bad config."""
import json
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
        status, health = d.request("GET", "/healthz", auth=False)
        self.assertEqual((status, health["status"]), (200, "ok"), health)
        self.assertNotIn("reasons", health)
        self.assertIn("trunk      loopback: up, 0 call(s)", d.cli("lines").stdout)
        status, metrics = d.request("GET", "/metrics", raw=True)
        self.assertEqual(status, 200)
        self.assertIn(b'vfax_trunk_up{trunk="loopback"} 1\n', metrics)
        self.assertIn(b'vfax_media_ticks_late_total 0\n', metrics)

    def test_a_trunk_that_cannot_bind_makes_health_degraded_not_down_and_recovers(self):
        # The IAX2 port is taken: vfaxd still starts, every job waits, and /healthz says why
        # with HTTP 200 (liveness probes keep working). Once the port frees, the trunk binds.
        taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        taken.bind(("127.0.0.1", 0))
        self.addCleanup(taken.close)
        port = taken.getsockname()[1]
        d = self.daemon({"iax2": {"bind": f"127.0.0.1:{port}"}})
        trunks = {t["name"]: t for t in d.request("GET", "/api/v1/lines")[1]["trunks"]}
        self.assertIn("iax2", trunks)
        self.assertFalse(trunks["iax2"]["up"], trunks)
        self.assertIn(f"cannot listen on 127.0.0.1:{port}", trunks["iax2"]["reason"])
        status, health = d.request("GET", "/healthz", auth=False)
        self.assertEqual(status, 200)
        self.assertEqual(health["status"], "degraded")
        self.assertTrue(any(r.startswith("trunk iax2: ") for r in health["reasons"]), health)
        self.assertIn("trunk      iax2: DOWN", d.cli("lines").stdout)
        status, metrics = d.request("GET", "/metrics", raw=True)
        self.assertIn(b'vfax_trunk_up{trunk="iax2"} 0\n', metrics)
        taken.close()
        d.wait_for(lambda: d.request("GET", "/healthz", auth=False)[1]["status"] == "ok", 60,
                   "the IAX2 trunk to bind once its port is free")
        trunks = {t["name"]: t for t in d.request("GET", "/api/v1/lines")[1]["trunks"]}
        self.assertEqual(trunks["iax2"], {"name": "iax2", "up": True, "reason": "", "calls": 0})

    def refused(self, toml, http="127.0.0.1:0"):
        """vfaxd with this config must refuse to start; returns what it printed."""
        bad = os.path.join(self.tmp, "bad.toml")
        with open(bad, "w") as f:
            f.write(toml)
        p = subprocess.run([VFAXD, "--config", bad, "--data", os.path.join(self.tmp, "x"), "--http", http],
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotIn("listening on", p.stdout)
        return p.stderr + p.stdout

    def test_bad_config_is_refused(self):
        self.assertIn("realtimee", self.refused("[loopback]\nrealtimee = false\n"))
        out = self.refused('[loopback]\nmedia = "t.38"\n')
        self.assertIn('[loopback] media must be "audio", "t38" or "switch"', out)

    def test_configurations_that_cannot_work_are_refused_naming_the_keys(self):
        # An outbound route naming no peer or registration: every outbound call would fail.
        out = self.refused('[iax2]\nbind = "127.0.0.1:0"\noutbound = "nobody"\n'
                           '[[iax2.peer]]\nname = "modem"\nsecret = "s3cret-s3cret"\n')
        self.assertIn("[iax2] outbound 'nobody' names no peer or registration", out)
        # A peer's secret of fewer than 12 characters, and a calltoken that is neither value.
        out = self.refused('[iax2]\nbind = "127.0.0.1:0"\n'
                           '[[iax2.peer]]\nname = "modem"\nsecret = "s3cret"\n')
        self.assertIn("[[iax2.peer]] secret must be at least 12 characters", out)
        out = self.refused('[iax2]\nbind = "127.0.0.1:0"\n'
                           '[[iax2.peer]]\nname = "modem"\nsecret = "s3cret-s3cret"\ncalltoken = "no"\n')
        self.assertIn('[[iax2.peer]] calltoken must be "required" or "optional"', out)
        # Bind addresses that do not parse.
        self.assertIn("[iax2] bind must be ADDR:PORT", self.refused('[iax2]\nbind = ":4569"\n'))
        self.assertIn("[iax2] bind must be ADDR:PORT", self.refused('[iax2]\nbind = "127.0.0.1:45x9"\n'))
        self.assertIn("[server] http must be ADDR:PORT", self.refused('[server]\nhttp = "127.0.0.1"\n'))
        self.assertIn("--http must be ADDR:PORT", self.refused("", http="8080"))
        # Two peers of one name: the second would never be used.
        out = self.refused('[iax2]\nbind = "127.0.0.1:0"\n'
                           '[[iax2.peer]]\nname = "modem"\nsecret = "a-long-secret"\n'
                           '[[iax2.peer]]\nname = "modem"\nsecret = "b-long-secret"\n')
        self.assertIn("[[iax2.peer]] name 'modem' is given twice", out)
        # trunk is a boolean (as Asterisk's trunk=yes, but TOML).
        out = self.refused('[iax2]\nbind = "127.0.0.1:0"\n'
                           '[[iax2.peer]]\nname = "pbx"\nsecret = "a-long-secret"\nhost = "127.0.0.1"\ntrunk = "yes"\n')
        self.assertIn("[[iax2.peer]] trunk must be true or false", out)
        out = self.refused('[iax2]\nbind = "127.0.0.1:0"\n[[iax2.register]]\nserver = "127.0.0.1"\n'
                           'username = "vfax"\nsecret = "pw"\ntrunk_timestamps = 0\n')
        self.assertIn("[[iax2.register]] trunk_timestamps must be true or false", out)
        # An inbound default that no device can have.
        self.assertIn("[inbound] default_extension must be 1 to 15 digits",
                      self.refused('[inbound]\ndefault_extension = "reception"\n'))
        # A peer or registrar host that is neither an address nor a host name.
        out = self.refused('[iax2]\nbind = "127.0.0.1:0"\n'
                           '[[iax2.peer]]\nname = "pbx"\nsecret = "s3cret-s3cret"\nhost = "pbx example"\n')
        self.assertIn("host 'pbx example' is not an address or host name", out)
        out = self.refused('[iax2]\nbind = "127.0.0.1:0"\n[[iax2.register]]\nserver = "-pbx"\n'
                           'username = "vfax"\nsecret = "pw"\n')
        self.assertIn("server '-pbx' is not an address or host name", out)
        # A back-off for trunk trouble that would spin or never grow.
        self.assertIn("retry_unavailable_seconds must be at least 1",
                      self.refused('[scheduler]\nretry_unavailable_seconds = 0\n'))
        self.assertIn("retry_unavailable_max_seconds at least retry_unavailable_seconds",
                      self.refused('[scheduler]\nretry_unavailable_seconds = 60\n'
                                   'retry_unavailable_max_seconds = 5\n'))

    def test_outbound_route_may_name_a_registration_and_iax2_runs_without_realtime(self):
        # The route may name a registration's username as well as a peer. And the IAX2 trunk no
        # longer asks for [loopback] realtime = true (the harness runs with realtime = false).
        d = Daemon(self.tmp, {"iax2": {"bind": "127.0.0.1:0", "outbound": "vfax"}})
        with open(d.config_path, "a") as f:
            f.write('[[iax2.register]]\nserver = "127.0.0.1"\nport = 4569\nusername = "vfax"\nsecret = "pw"\n')
        self.daemons.append(d)
        d.start()
        self.assertEqual(d.request("GET", "/api/v1/trunks/iax2")[1]["outbound"], "vfax")
        self.assertNotIn("realtime", d.log())


class Iax2Admin(VfaxTestCase):
    """The /trunks/iax2 routes: JSON shapes, status codes and error codes (docs/openapi.yaml)."""

    def expect_error(self, d, method, path, body, status, code):
        got_status, got = d.request(method, path, body)
        self.assertEqual((got_status, got["error"]["code"]), (status, code), got)

    def test_settings_peers_and_registrations_through_the_api(self):
        d = self.daemon()
        path = "/api/v1/trunks/iax2"
        status, body = d.request("GET", path)
        self.assertEqual(status, 200, body)
        self.assertEqual(body, {"running": False, "bind": "127.0.0.1:4569", "outbound": "",
                                "codecs": "alaw,ulaw,slinear", "peers": [], "registrations": []})
        user = d.user_token()
        self.assertEqual(d.request("GET", path, token=user)[0], 403)
        self.assertEqual(d.request("PUT", path, {}, token=user)[0], 403)

        self.expect_error(d, "PUT", path, {"bogus": 1}, 400, "unknown_setting")
        self.expect_error(d, "PUT", path, [], 400, "invalid_json")
        self.expect_error(d, "PUT", path, {"bind": "nonsense"}, 400, "invalid_setting")
        self.expect_error(d, "PUT", path, {"bind": 5}, 400, "invalid_setting")
        self.expect_error(d, "PUT", path, {"codecs": "g729"}, 400, "invalid_setting")
        self.expect_error(d, "PUT", path, {"peers": {}}, 400, "invalid_setting")
        self.expect_error(d, "PUT", path, {"registrations": [{"server": "", "username": "x"}]}, 400,
                          "invalid_setting")
        self.expect_error(d, "POST", path + "/peers", {"name": "bad name!", "secret": "x"}, 400,
                          "invalid_setting")
        self.expect_error(d, "POST", path + "/peers", {"name": "modem", "secret": "x", "port": "1"}, 400,
                          "invalid_setting")
        self.expect_error(d, "POST", path + "/peers", {"name": "modem"}, 400, "invalid_setting")
        # trunk / trunk_timestamps are booleans, nothing else.
        status, body = d.request("POST", path + "/peers", {"name": "modem", "secret": "x", "trunk": "yes"})
        self.assertEqual((status, body["error"]["code"]), (400, "invalid_setting"), body)
        self.assertIn("trunk must be true or false", body["error"]["message"])
        self.expect_error(d, "PUT", path, {"registrations": [{"server": "127.0.0.1", "username": "v",
                                                              "secret": "p", "trunk_timestamps": 1}]},
                          400, "invalid_setting")
        # Host names are welcome (resolved in the background); anything else is not a host.
        self.expect_error(d, "POST", path + "/peers",
                          {"name": "pbx", "secret": "a-long-secret", "host": "pbx example"}, 400,
                          "invalid_setting")
        status, body = d.request("POST", path + "/peers",
                                 {"name": "pbx", "secret": "a-long-secret", "host": "pbx.example.test"})
        self.assertEqual(status, 200, body)
        self.assertIn("pbx.example.test", str(body))
        self.assertEqual(d.request("POST", path + "/peers/remove", {"name": "pbx"})[0], 200)

        # A new secret needs 12 characters; calltoken is "required" (default) or "optional".
        status, body = d.request("POST", path + "/peers", {"name": "modem", "secret": "sekrit"})
        self.assertEqual((status, body["error"]["code"]), (400, "invalid_setting"), body)
        self.assertIn("secret must be at least 12 characters", body["error"]["message"])
        self.expect_error(d, "POST", path + "/peers",
                          {"name": "modem", "secret": "sekrit-sekrit", "calltoken": "maybe"}, 400,
                          "invalid_setting")
        self.expect_error(d, "POST", path + "/peers",
                          {"name": "modem", "secret": "sekrit-sekrit", "calltoken": True}, 400,
                          "invalid_setting")
        status, body = d.request("POST", path + "/peers", {"name": "modem", "secret": "sekrit-sekrit", "port": 4570})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["peers"], [{"name": "modem", "secret": "s*******", "host": "", "port": 4570,
                                          "username": "", "trunk": False, "trunk_timestamps": True,
                                          "calltoken": "required", "weak_secret": False,
                                          "source": "api", "registered": False}])
        status, body = d.request("POST", path + "/peers", {"name": "old-modem", "secret": "sekrit-sekrit",
                                                           "calltoken": "optional"})
        self.assertEqual(status, 200, body)
        self.assertEqual([p["calltoken"] for p in body["peers"] if p["name"] == "old-modem"], ["optional"])
        # A change that does not name calltoken (the web page's form) keeps it.
        status, body = d.request("POST", path + "/peers", {"name": "old-modem", "port": 4571})
        self.assertEqual(status, 200, body)
        self.assertEqual([p["calltoken"] for p in body["peers"] if p["name"] == "old-modem"], ["optional"])
        self.assertEqual(d.request("POST", path + "/peers/remove", {"name": "old-modem"})[0], 200)
        # IAX2 trunking for a PBX peer (Asterisk's trunk=yes), kept across changes.
        status, body = d.request("POST", path + "/peers", {"name": "asterisk", "secret": "pw-asterisk-1", "host": "127.0.0.1",
                                                           "trunk": True, "trunk_timestamps": False})
        self.assertEqual(status, 200, body)
        peer = [p for p in body["peers"] if p["name"] == "asterisk"][0]
        self.assertEqual((peer["trunk"], peer["trunk_timestamps"]), (True, False))
        self.assertEqual(d.request("POST", path + "/peers/remove", {"name": "asterisk"})[0], 200)
        # Without "secret" the stored one stays.
        status, body = d.request("POST", path + "/peers", {"name": "modem", "host": "127.0.0.1"})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["peers"][0]["secret"], "s*******")
        self.assertEqual(body["peers"][0]["host"], "127.0.0.1")
        self.assertEqual(body["peers"][0]["port"], 4569)

        status, body = d.request("PUT", path, {
            "outbound": "modem", "codecs": "ulaw, alaw", "bind": "127.0.0.1:4599",
            "registrations": [{"server": "127.0.0.1", "username": "vfax", "secret": "pw", "refresh_seconds": 60,
                               "trunk": True}]})
        self.assertEqual(status, 200, body)
        self.assertEqual((body["outbound"], body["codecs"], body["bind"]), ("modem", "ulaw,alaw", "127.0.0.1:4599"))
        self.assertEqual(body["registrations"], [{"server": "127.0.0.1", "port": 4569, "username": "vfax",
                                                  "secret": "p*******", "refresh_seconds": 60,
                                                  "trunk": True, "trunk_timestamps": True,
                                                  "registered": False}])
        self.assertEqual(len(body["peers"]), 1)
        self.assertNotIn("sekrit-sekrit", json.dumps(body))

        self.expect_error(d, "POST", path + "/peers/remove", {"name": "nope"}, 404, "not_found")
        self.expect_error(d, "POST", path + "/peers/remove", {"name": 3}, 400, "invalid_setting")
        status, body = d.request("POST", path + "/peers/remove", {"name": "modem"})
        self.assertEqual((status, body["peers"]), (200, []), body)

        # The API's part survives a restart; the trunk runs now that the API holds a registration.
        d.stop()
        d.start()
        status, body = d.request("GET", path)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["registrations"][0]["username"], "vfax")
        self.assertTrue(body["registrations"][0]["trunk"])
        self.assertEqual(body["outbound"], "modem")

    def test_config_peers_are_read_only_and_the_running_trunk_reports_its_state(self):
        d = self.daemon({"iax2": {"bind": "127.0.0.1:0"}})
        with open(d.config_path, "a") as f:
            f.write('[[iax2.peer]]\nname = "pbx"\nsecret = "filesecret-12"\nhost = "127.0.0.1"\ntrunk = true\n')
        d.stop()
        d.start()
        path = "/api/v1/trunks/iax2"
        status, body = d.request("GET", path)
        self.assertEqual(status, 200, body)
        self.assertTrue(body["running"], body)
        self.assertEqual(set(body), {"running", "bind", "outbound", "codecs", "peers", "registrations",
                                     "bound", "calls", "stats"})
        self.assertEqual(set(body["stats"]), {"frames_in", "frames_out", "dropped", "retransmits",
                                              "auth_failures", "trunk_frames_in", "trunk_frames_out",
                                              "trunk_dropped", "calltokens_sent", "pongs_sent",
                                              "unproven_dropped"})
        self.assertTrue(body["peers"][0]["trunk"])
        self.assertTrue(body["peers"][0]["trunk_timestamps"])
        self.assertEqual(body["calls"], 0)
        self.assertEqual(body["peers"][0]["source"], "config")
        self.assertEqual(body["peers"][0]["secret"], "f*******")
        self.expect_error(d, "POST", path + "/peers/remove", {"name": "pbx"}, 409, "conflict")


if __name__ == "__main__":
    unittest.main()
