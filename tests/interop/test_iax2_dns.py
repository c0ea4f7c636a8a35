"""IAX2 peers given by host name, resolved through a DNS server that takes 2 s to answer: vfax
faxes to the peer by its name, and the slow lookups (at start and for peers added during the
call) never stall the media of a call in progress (the reactor's media ticks are not late).
Runs in its own network and mount namespace (run_in_netns.sh), where /etc/resolv.conf is
replaced by one naming the test's DNS server."""
import glob
import json
import os
import re
import subprocess
import time
import unittest

from iaxtest import SECRET, FAXCMP, IaxModem, InteropCase, free_udp_port, iax2_config, join_tiffs
from slowdns import SlowDns
from vfaxtest import Daemon, make_pdf

DELAY = 2.0


class SlowDnsCase(InteropCase):
    def setUp(self):
        super().setUp()
        if os.environ.get("VFAX_IN_NETNS") != "1":
            self.skipTest("needs the network and mount namespace of run_in_netns.sh")
        self.dns = SlowDns({"modem.vfax.test": "127.0.0.1", "extra1.vfax.test": "127.0.0.1",
                            "extra2.vfax.test": "127.0.0.1"}, delay=DELAY).start()
        self.addCleanup(self.dns.stop)
        resolv = os.path.join(self.tmp, "resolv.conf")
        with open(resolv, "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:5 attempts:1\n")
        subprocess.run(["mount", "--bind", resolv, "/etc/resolv.conf"], check=True)
        self.addCleanup(subprocess.run, ["umount", "/etc/resolv.conf"])

    def test_peer_by_host_name_over_slow_dns_keeps_media_on_time(self):
        self.iax_port = free_udp_port()
        m = IaxModem(self.tmp, self.iax_port, name="ttyIAX0", codec="alaw")
        self.modems.append(m)
        d = Daemon(self.tmp, None, "vfaxd")
        with open(d.config_path, "w") as f:
            f.write(iax2_config(self.iax_port, [{"name": "iaxmodem", "secret": SECRET,
                                                 "host": "modem.vfax.test", "port": m.port}],
                                {"outbound": "iaxmodem"}))
        self.daemons.append(d)
        t0 = time.time()
        d.start()
        # vfaxd answered at once although the peer's name takes 2 s to resolve.
        self.assertTrue(any(q[1] == "modem.vfax.test" for q in self.dns.queries), self.dns.queries)
        time.sleep(DELAY + 1.5 - min(time.time() - t0, DELAY))  # let the prefetch land
        m.start()
        prefix = os.path.join(self.tmp, "rx")
        rx = m.efax_receive(prefix)
        self.procs.append(rx)
        time.sleep(1)
        pdf = make_pdf(os.path.join(self.tmp, "doc.pdf"), 2, "vfax to a peer named by DNS")
        fid = json.loads(d.cli("send", "-t", "5552000", pdf, "--json").stdout)["id"]
        d.wait_for(lambda: d.fax(fid)["state"] == "sending", 120, "the call to be answered")
        # During the call: new peers whose names take 2 s each to resolve.
        for i, name in enumerate(["extra1.vfax.test", "extra2.vfax.test"]):
            d.request("POST", "/api/v1/trunks/iax2/peers",
                      {"name": f"extra{i + 1}", "secret": "another-long-secret", "host": name})
            time.sleep(DELAY + 0.5)
        job = d.wait_final(fid, timeout=300)
        rc = rx.wait(timeout=60)
        with open(prefix + ".log") as f:
            efax_log = f.read()
        self.assertEqual(job["state"], "done", str(job) + "\n--- efax ---\n" + efax_log)
        self.assertEqual(rc, 0, efax_log)
        asked = {q[1] for q in self.dns.queries}
        self.assertIn("extra1.vfax.test", asked)
        self.assertIn("extra2.vfax.test", asked)
        got = sorted(glob.glob(prefix + ".[0-9][0-9][0-9]"))
        sent = os.path.join(self.tmp, "sent.tif")
        d.cli("get", str(fid), "--tiff", "-o", sent)
        received = join_tiffs(got, os.path.join(self.tmp, "received.tif"))
        cmp = subprocess.run([FAXCMP, sent, received], capture_output=True, text=True)
        self.assertEqual(cmp.returncode, 0, cmp.stdout + cmp.stderr)
        d.stop()
        stats = re.search(r"media ticks (\d+), late (\d+), max lag ([\d.]+) ms", d.log())
        self.assertIsNotNone(stats, d.log())
        ticks, late, lag = int(stats.group(1)), int(stats.group(2)), float(stats.group(3))
        self.assertGreater(ticks, 500)
        # A loop that waited for the DNS server would have stalled its calls for 2 s.
        self.assertLess(lag, DELAY * 1000 / 2, f"{late} late ticks of {ticks}")
        print(f"slow DNS during the call: {ticks} media ticks, {late} late, max lag {lag} ms")


if __name__ == "__main__":
    unittest.main()
