"""iaxmodem registers to vfax over IAX2: the right secret is accepted, a wrong one refused, and
an unregistered or unknown modem cannot place a call (toll fraud)."""
import unittest

from iaxtest import SECRET, InteropCase


class Register(InteropCase):
    def test_right_and_wrong_secret(self):
        d = self.iax_daemon([{"name": "good", "secret": SECRET},
                             {"name": "bad", "secret": "other-secret"}])
        self.modem(peername="good", secret=SECRET)
        self.modem(peername="bad", secret="wrong")
        self.wait_registered(d, "good")
        d.wait_for(lambda: "refused the registration of 'bad'" in d.log(), 30,
                   "the wrong secret to be refused")
        self.assertNotIn("peer 'bad' registered", d.log())

    def test_unknown_peer_is_refused(self):
        d = self.iax_daemon([{"name": "good", "secret": SECRET}])
        self.modem(peername="intruder", secret=SECRET)
        # iaxmodem sends no CALLTOKEN: an unknown name gets no answer at all (only peers with
        # calltoken = "optional" are taken without one).
        d.wait_for(lambda: "ignored a request without CALLTOKEN" in d.log(), 30,
                   "the unknown peer to be ignored")
        self.assertNotIn("peer 'intruder' registered", d.log())

    def test_peers_through_the_cli_apply_without_restart(self):
        d = self.iax_daemon([])
        out = d.cli_json("trunk", "peer-add", "fax1", "--secret", "topsecret-1234",
                         "--calltoken", "optional")
        peer = [p for p in out["peers"] if p["name"] == "fax1"][0]
        self.assertNotIn("topsecret-1234", str(out))
        self.assertEqual(peer["secret"], "t*******")
        self.assertEqual(peer["source"], "api")
        self.modem(peername="fax1", secret="topsecret-1234")
        self.wait_registered(d, "fax1")
        shown = d.cli_json("trunk", "show")
        self.assertTrue([p for p in shown["peers"] if p["name"] == "fax1"][0]["registered"], shown)
        self.assertNotIn("topsecret-1234", d.cli("trunk", "show").stdout)
        status, body = d.request("GET", "/api/v1/trunks/iax2")
        self.assertEqual(status, 200)
        self.assertNotIn("topsecret-1234", str(body))
        status, _ = d.request("PUT", "/api/v1/trunks/iax2", {"codecs": "g729"})
        self.assertEqual(status, 400)
        d.cli("trunk", "peer-rm", "fax1")
        shown = d.cli_json("trunk", "show")
        self.assertEqual(shown["peers"], [])
        # The sealed secret is not in the database file in clear.
        with open(f"{d.data}/vfax.db", "rb") as f:
            self.assertNotIn(b"topsecret-1234", f.read())

    def test_no_free_line_is_busy(self):
        import threading
        from iaxtest import text_pages
        d = self.iax_daemon([{"name": "m0", "secret": "secret-number-0"}, {"name": "m1", "secret": "secret-number-1"}])
        self.add_device(d, "100")
        d.cli("settings", "total_lines=1", "reserved_inbound_lines=0")
        modems = [self.modem(peername="m0", secret="secret-number-0", codec="ulaw"),
                  self.modem(peername="m1", secret="secret-number-1", codec="alaw")]
        self.wait_registered(d, "m0")
        self.wait_registered(d, "m1")
        files = text_pages(self.tmp, 1, "one line only")
        results = [None, None]

        def send(i):
            results[i] = modems[i].efax_send("100", files, timeout=240)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
            __import__("time").sleep(0.5)
        for t in threads:
            t.join()
        codes = sorted(r[0] for r in results)
        self.assertEqual(codes[0], 0, results)
        self.assertNotEqual(codes[1], 0, results)
        self.assertIn("refused: ", d.log())
        self.assertIn("(cause 17)", d.log())
        received = [f for f in d.faxes("in") if f["state"] == "received"]
        self.assertEqual(len(received), 1, d.faxes("in"))

    def test_a_peer_without_secret_is_a_config_error(self):
        import subprocess
        from iaxtest import iax2_config
        from vfaxtest import VFAXD
        cfg = f"{self.tmp}/bad.toml"
        with open(cfg, "w") as f:
            f.write(iax2_config(4569, [{"name": "open"}]))
        p = subprocess.run([VFAXD, "--config", cfg, "--data", f"{self.tmp}/bad", "--http", "127.0.0.1:0"],
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("secret is required", p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()
