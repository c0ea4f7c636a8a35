"""The SIP trunk's administration (issue 12): [sip] in the config file, GET|PUT /api/v1/trunks/sip,
the peer and registration routes, /lines, and `vfax trunk sip ...`, through the real vfaxd and CLI.
The trunk itself is the lead's part: these tests see its settings, not its calls."""
import json
import os
import unittest

from vfaxtest import VFAXD, Daemon, VfaxTestCase

PATH = "/api/v1/trunks/sip"

GENERAL_KEYS = {"listen", "outbound", "codecs", "t38", "t38_max_bitrate", "t38_max_datagram", "t38_ec",
                "t38_redundancy", "session_expires", "min_session_expires", "rtp_ports", "media_address",
                "tls_verify", "tls_ca_file", "tls_cert", "tls_key", "user_agent"}


class SipAdmin(VfaxTestCase):
    def expect_error(self, d, method, path, body, status, code, starts=None):
        got_status, got = d.request(method, path, body)
        self.assertEqual((got_status, got["error"]["code"]), (status, code), got)
        if starts:
            self.assertTrue(got["error"]["message"].startswith(starts), got["error"]["message"])
        return got

    def test_defaults_and_admin_only(self):
        d = self.daemon()
        status, body = d.request("GET", PATH)
        self.assertEqual(status, 200, body)
        self.assertEqual(set(body), GENERAL_KEYS | {"running", "peers", "registrations"})
        self.assertFalse(body["running"])
        self.assertEqual(body["listen"], ["udp:127.0.0.1:5060"])
        self.assertEqual((body["codecs"], body["t38"], body["t38_ec"]), ("PCMA,PCMU", "detect", "redundancy"))
        self.assertEqual((body["session_expires"], body["min_session_expires"]), (1800, 90))
        self.assertEqual((body["rtp_ports"], body["tls_verify"], body["user_agent"]), ("10000-20000", True, "vfax"))
        self.assertEqual((body["peers"], body["registrations"]), ([], []))
        user = d.user_token()
        for method, path, payload in (("GET", PATH, None), ("PUT", PATH, {"t38": "off"}),
                                      ("POST", PATH + "/peers", {"name": "x", "host": "127.0.0.1"}),
                                      ("DELETE", PATH + "/peers/x", None),
                                      ("POST", PATH + "/registrations", {"name": "x"}),
                                      ("DELETE", PATH + "/registrations/x", None)):
            status, got = d.request(method, path, payload, token=user)
            self.assertEqual((status, got["error"]["code"]), (403, "forbidden"), (method, path, got))
        self.assertEqual(d.request("GET", PATH, auth=False)[0], 401)
        self.assertEqual(d.request("GET", PATH)[1]["t38"], "detect")  # nothing changed

    def test_bad_input_names_the_key_and_changes_nothing(self):
        d = self.daemon()
        before = d.request("GET", PATH)[1]
        self.expect_error(d, "PUT", PATH, [], 400, "invalid_json")
        self.expect_error(d, "PUT", PATH, b"{not json", 400, "invalid_json")
        self.expect_error(d, "PUT", PATH, {"bogus": 1}, 400, "unknown_setting")
        self.expect_error(d, "PUT", PATH, {"enabled": False}, 400, "unknown_setting")
        cases = [
            ({"t38": "always"}, "t38 must be off, accept, detect or immediate"),
            ({"t38": True}, "t38 must be a string"),
            ({"session_expires": "1800"}, "session_expires must be a whole number"),
            ({"session_expires": 60}, "session_expires must be"),
            ({"min_session_expires": 30}, "min_session_expires must be at least 90"),
            ({"codecs": "G729"}, "codecs must list PCMA and/or PCMU"),
            ({"codecs": "PCMA,PCMA"}, "codecs names PCMA twice"),
            ({"listen": "udp:127.0.0.1:5060"}, "listen must be a list of strings"),
            ({"listen": ["udp:pbx.example.test:5060"]}, "listen 'udp:pbx.example.test:5060'"),
            ({"listen": []}, "listen must name at least one address"),
            ({"listen": ["tls:127.0.0.1:5061"]}, "tls_cert and tls_key are required"),
            ({"rtp_ports": "10001-20000"}, "rtp_ports must start at an even port"),
            ({"t38_max_bitrate": 1000}, "t38_max_bitrate must be"),
            ({"t38_ec": "parity"}, "t38_ec must be none, redundancy or fec"),
            ({"tls_verify": "no"}, "tls_verify must be true or false"),
            ({"tls_cert": "/nonexistent.pem", "tls_key": "/nonexistent.pem"}, "tls_cert cannot read"),
            ({"media_address": "fax.example.test"}, "media_address 'fax.example.test'"),
            ({"user_agent": "a\r\nX-Injected: 1"}, "user_agent must be"),
            ({"outbound": "nobody"}, "outbound 'nobody' names no peer or registration"),
            ({"peers": {}}, "peers must be an array"),
            ({"peers": [{"name": "pbx"}]}, "host or match is required"),
            ({"registrations": [{"name": "p", "registrar": "127.0.0.1", "username": "1"}]},
             "secret is required (registration 'p')"),
        ]
        for payload, starts in cases:
            self.expect_error(d, "PUT", PATH, payload, 400, "invalid_setting", starts)
        peer_cases = [
            ({"name": "bad name!", "host": "127.0.0.1"}, "name must be"),
            ({"name": "pbx", "host": "127.0.0.1", "port": "5060"}, "port must be a whole number"),
            ({"name": "pbx", "host": "127.0.0.1", "port": 70000}, "port must be 1 to 65535"),
            ({"name": "pbx", "match": ["10.0.0.0/33"]}, "match '10.0.0.0/33'"),
            ({"name": "pbx", "match": "127.0.0.1"}, "match must be a list of strings"),
            ({"name": "pbx", "host": "127.0.0.1", "username": "vfax", "secret": "short"},
             "secret must be 8 to 128 characters"),
            ({"name": "pbx", "host": "127.0.0.1", "username": "vfax"}, "secret is required with a username"),
            ({"name": "pbx", "host": "127.0.0.1", "transport": "sctp"}, "transport must be udp, tcp or tls"),
            ({"name": "pbx", "host": "127.0.0.1", "caller_id": "rpid"}, "caller_id must be from, pai or both"),
            ({"name": "pbx", "host": "127.0.0.1", "t38": "yes"}, "t38 must be true or false"),
            ({"name": "pbx", "host": "127.0.0.1", "keepalive": 3}, "keepalive must be 0"),
        ]
        for payload, starts in peer_cases:
            self.expect_error(d, "POST", PATH + "/peers", payload, 400, "invalid_setting", starts)
        self.expect_error(d, "POST", PATH + "/peers", {"name": "pbx", "registrar": "x"}, 400, "unknown_setting")
        self.expect_error(d, "POST", PATH + "/peers", [1], 400, "invalid_json")
        reg = {"name": "provider", "registrar": "127.0.0.1:5070", "username": "100", "secret": "secret-1"}
        reg_cases = [
            ({"expires": 30}, "expires must be 60 to 3600"),
            ({"registrar": ""}, "registrar is required"),
            ({"registrar": "pbx:99999"}, "registrar 'pbx:99999'"),
            ({"username": "a b"}, "username must be"),
            ({"secret": "1234567"}, "secret must be 8 to 128 characters"),
        ]
        for change, starts in reg_cases:
            self.expect_error(d, "POST", PATH + "/registrations", {**reg, **change}, 400, "invalid_setting",
                              starts)
        self.expect_error(d, "DELETE", PATH + "/peers/nope", None, 404, "not_found")
        self.expect_error(d, "DELETE", PATH + "/registrations/nope", None, 404, "not_found")
        self.assertEqual(d.request("GET", PATH)[1], before)

    def test_settings_peers_and_registrations_through_the_api_and_a_restart(self):
        d = self.daemon()
        status, body = d.request("PUT", PATH, {"t38": "immediate", "codecs": "pcmu", "session_expires": 600,
                                               "listen": ["udp:127.0.0.1:0", "tcp:[::1]:0"]})
        self.assertEqual(status, 200, body)
        self.assertEqual((body["t38"], body["codecs"], body["session_expires"]), ("immediate", "PCMU", 600))
        self.assertEqual(body["listen"], ["udp:127.0.0.1:0", "tcp:[::1]:0"])
        self.assertEqual(body["t38_ec"], "redundancy")  # unset: stays

        status, body = d.request("POST", PATH + "/peers", {
            "name": "pbx", "host": "127.0.0.1", "port": 5080, "match": ["127.0.0.1", "10.0.0.0/8"],
            "username": "vfax", "secret": "peer-secret", "caller_id": "both", "t38": False, "keepalive": 0})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["peers"], [{
            "name": "pbx", "host": "127.0.0.1", "port": 5080, "match": ["127.0.0.1", "10.0.0.0/8"],
            "transport": "udp", "username": "vfax", "secret": "p*******", "domain": "", "caller_id": "both",
            "t38": False, "keepalive": 0, "source": "api"}])
        status, body = d.request("POST", PATH + "/registrations", {
            "name": "provider", "registrar": "127.0.0.1:5070", "username": "100", "secret": "reg-secret",
            "expires": 600})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["registrations"], [{
            "name": "provider", "registrar": "127.0.0.1:5070", "backup_registrar": "", "transport": "udp",
            "username": "100", "auth_username": "", "secret": "r*******", "domain": "", "expires": 600,
            "caller_id": "from", "t38": True, "source": "api", "registered": False}])
        self.assertNotIn("peer-secret", json.dumps(body))
        self.assertNotIn("reg-secret", json.dumps(body))
        # A name is unique across peers and registrations.
        self.expect_error(d, "POST", PATH + "/registrations",
                          {"name": "pbx", "registrar": "127.0.0.1", "username": "1", "secret": "secret-1"},
                          400, "invalid_setting", "name 'pbx' is given twice")
        # Without "secret" the stored one stays; the rest is replaced.
        status, body = d.request("POST", PATH + "/peers", {"name": "pbx", "host": "127.0.0.2", "username": "vfax"})
        self.assertEqual(status, 200, body)
        self.assertEqual((body["peers"][0]["host"], body["peers"][0]["secret"], body["peers"][0]["port"]),
                         ("127.0.0.2", "p*******", 5060))
        # The outbound route must name something that can dial; then it holds what it names.
        status, body = d.request("PUT", PATH, {"outbound": "provider"})
        self.assertEqual((status, body["outbound"]), (200, "provider"), body)
        self.expect_error(d, "DELETE", PATH + "/registrations/provider", None, 409, "conflict",
                          "outbound 'provider'")
        # Lists in PUT replace the API's lists (secrets kept by name).
        status, body = d.request("PUT", PATH, {"registrations": [
            {"name": "provider", "registrar": "127.0.0.1:5071", "username": "100"},
            {"name": "backup", "registrar": "[::1]:5070", "username": "200", "secret": "backup-secret",
             "transport": "tcp"}]})
        self.assertEqual(status, 200, body)
        self.assertEqual([(r["name"], r["registrar"], r["secret"]) for r in body["registrations"]],
                         [("provider", "127.0.0.1:5071", "r*******"), ("backup", "[::1]:5070", "b*******")])

        # The API's part survives a restart (stored, secrets sealed in the database).
        d.stop()
        with open(os.path.join(d.data, "vfax.db"), "rb") as f:
            db = f.read()
        for secret in (b"peer-secret", b"reg-secret", b"backup-secret"):
            self.assertNotIn(secret, db)
        d.start()
        status, body = d.request("GET", PATH)
        self.assertEqual(status, 200, body)
        self.assertEqual((body["t38"], body["codecs"], body["outbound"]), ("immediate", "PCMU", "provider"))
        self.assertEqual([r["name"] for r in body["registrations"]], ["provider", "backup"])
        self.assertEqual(body["peers"][0]["host"], "127.0.0.2")

        status, body = d.request("DELETE", PATH + "/peers/pbx")
        self.assertEqual((status, body["peers"]), (200, []), body)
        self.assertEqual(d.request("PUT", PATH, {"outbound": ""})[0], 200)
        status, body = d.request("DELETE", PATH + "/registrations/provider")
        self.assertEqual((status, [r["name"] for r in body["registrations"]]), (200, ["backup"]), body)

    def test_config_file_entries_are_shown_and_read_only(self):
        d = Daemon(self.tmp, {"sip": {"listen": ["udp:127.0.0.1:0"], "t38": "accept", "outbound": "pbx"}})
        with open(d.config_path, "a") as f:
            f.write('[[sip.peer]]\nname = "pbx"\nhost = "127.0.0.1"\nmatch = ["127.0.0.1"]\n'
                    'username = "vfax"\nsecret = "file-secret"\n'
                    '[[sip.register]]\nname = "provider"\nregistrar = "127.0.0.1:5070"\nusername = "100"\n'
                    'secret = "file-secret-2"\n')
        self.daemons.append(d)
        d.start()
        status, body = d.request("GET", PATH)
        self.assertEqual(status, 200, body)
        self.assertEqual((body["t38"], body["outbound"], body["listen"]), ("accept", "pbx", ["udp:127.0.0.1:0"]))
        self.assertEqual((body["peers"][0]["source"], body["peers"][0]["secret"]), ("config", "f*******"))
        self.assertEqual(body["registrations"][0]["source"], "config")
        self.assertNotIn("file-secret", json.dumps(body))
        self.expect_error(d, "DELETE", PATH + "/peers/pbx", None, 409, "conflict")
        self.expect_error(d, "DELETE", PATH + "/registrations/provider", None, 409, "conflict")
        self.expect_error(d, "POST", PATH + "/peers", {"name": "pbx", "host": "127.0.0.1"}, 400,
                          "invalid_setting", "name 'pbx' belongs to the config file")
        # An API setting overrides the file's until changed again.
        status, body = d.request("PUT", PATH, {"t38": "off"})
        self.assertEqual((status, body["t38"]), (200, "off"), body)

    def test_bad_config_stops_vfaxd_with_the_key_named(self):
        cases = [
            ('[sip]\nt38 = "sometimes"\n', "[sip] t38 must be off, accept, detect or immediate"),
            ('[sip]\nlisten = ["udp:127.0.0.1"]\n', "[sip] listen 'udp:127.0.0.1' must be"),
            ('[sip]\n[[sip.peer]]\nname = "pbx"\n', "[[sip.peer]] host or match is required"),
            ('[sip]\n[[sip.register]]\nname = "p"\nregistrar = "127.0.0.1"\nusername = "1"\nsecret = "x"\n',
             "[[sip.register]] secret must be 8 to 128 characters (registration 'p')"),
            ('[sip]\noutbound = "nobody"\n', "[sip] outbound 'nobody' must name"),
        ]
        for text, want in cases:
            path = os.path.join(self.tmp, "bad.toml")
            with open(path, "w") as f:
                f.write(text)
            import subprocess
            p = subprocess.run([VFAXD, "--config", path, "--data", os.path.join(self.tmp, "bad-data"),
                                "--http", "127.0.0.1:0"], capture_output=True, text=True, timeout=60)
            self.assertNotEqual(p.returncode, 0, text)
            self.assertIn(want, p.stdout + p.stderr, text)

    def test_cli(self):
        d = self.daemon()
        out = d.cli("trunk", "sip", "show").stdout
        self.assertIn("SIP trunk: not running", out)
        self.assertIn("listen udp:127.0.0.1:5060", out)
        out = d.cli("trunk", "sip", "set", "t38=accept", "session_expires=900",
                    "listen=udp:127.0.0.1:0,tcp:127.0.0.1:0", "tls_verify=false").stdout
        self.assertIn("t38 accept", out)
        got = d.request("GET", PATH)[1]
        self.assertEqual((got["t38"], got["session_expires"], got["tls_verify"]), ("accept", 900, False))
        self.assertEqual(got["listen"], ["udp:127.0.0.1:0", "tcp:127.0.0.1:0"])
        bad = d.cli("trunk", "sip", "set", "t38=always", check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("t38 must be off, accept, detect or immediate", bad.stderr)

        # A registration's secret from stdin, never from argv.
        r = d.cli("trunk", "sip", "register", "add", "provider", "--registrar", "127.0.0.1:5070",
                  "--username", "100", "--expires", "120", "--secret-stdin", "--json", input="reg-secret\n")
        body = json.loads(r.stdout)
        self.assertEqual(body["registrations"][0]["secret"], "r*******")
        self.assertEqual(body["registrations"][0]["expires"], 120)
        # ... or from a file.
        secret_file = os.path.join(self.tmp, "peer.secret")
        with open(secret_file, "w") as f:
            f.write("peer-secret\n")
        out = d.cli("trunk", "sip", "peer", "add", "pbx", "--host", "127.0.0.1", "--match", "127.0.0.1",
                    "--match", "10.0.0.0/8", "--username", "vfax", "--secret-file", secret_file).stdout
        self.assertIn("peer pbx", out)
        self.assertIn("match 127.0.0.1, 10.0.0.0/8", out)
        self.assertIn("register provider  100@127.0.0.1:5070", out)
        self.assertNotIn("peer-secret", out)
        # A change that keeps the stored secret (stdin is no terminal here: nothing is asked).
        d.cli("trunk", "sip", "peer", "add", "pbx", "--host", "127.0.0.3", "--username", "vfax", "--keep-secret")
        peer = d.request("GET", PATH)[1]["peers"][0]
        self.assertEqual((peer["host"], peer["secret"], peer["match"]), ("127.0.0.3", "p*******", []))
        # There is no --secret option: a secret on argv is refused as a usage error.
        r = d.cli("trunk", "sip", "peer", "add", "x", "--host", "127.0.0.1", "--secret", "s3cret-s3cret",
                  check=False)
        self.assertNotEqual(r.returncode, 0)
        bad = d.cli("trunk", "sip", "register", "add", "p2", "--registrar", "127.0.0.1", "--username", "1",
                    "--secret-stdin", check=False, input="short\n")
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("secret must be 8 to 128 characters", bad.stderr)
        missing = d.cli("trunk", "sip", "register", "add", "p3", "--registrar", "127.0.0.1", "--username", "1",
                        "--secret-file", os.path.join(self.tmp, "nope"), check=False)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("cannot read the secret file", missing.stderr)

        d.cli("trunk", "sip", "peer", "rm", "pbx")
        d.cli("trunk", "sip", "register", "rm", "provider")
        got = d.request("GET", PATH)[1]
        self.assertEqual((got["peers"], got["registrations"]), ([], []))
        gone = d.cli("trunk", "sip", "peer", "rm", "pbx", check=False)
        self.assertNotEqual(gone.returncode, 0)
        self.assertIn("There is no SIP peer 'pbx'", gone.stderr)
        # A plain user may not.
        user = d.user_token()
        r = d.cli("trunk", "sip", "show", token=user, check=False)
        self.assertNotEqual(r.returncode, 0)


if __name__ == "__main__":
    unittest.main()
