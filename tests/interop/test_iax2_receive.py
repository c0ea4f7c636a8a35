"""efax sends a fax through iaxmodem to a vfax device's extension over IAX2: vfax must receive
every page, matching what was sent, with the caller id recorded."""
import os
import subprocess
import unittest

from iaxtest import SECRET, FAXCMP, InteropCase, join_tiffs, text_pages


class Receive(InteropCase):
    def receive(self, codec, pages):
        d = self.iax_daemon([{"name": "iaxmodem", "secret": SECRET}])
        dev = self.add_device(d, "100")
        m = self.modem(codec=codec)
        self.wait_registered(d, "iaxmodem")
        files = text_pages(self.tmp, pages, f"efax to vfax over IAX2 ({codec})")
        rc, out = m.efax_send("100", files)
        self.assertEqual(rc, 0, out + "\n--- vfaxd ---\n" + d.log())
        rx = d.wait_for(lambda: [f for f in d.faxes("in") if f["state"] in ("received", "failed")],
                        120, "the received fax")[0]
        self.assertEqual(rx["state"], "received", rx)
        self.assertEqual(rx["pages"], pages, rx)
        self.assertEqual(rx["device"], dev["id"])
        self.assertIn("5551000", str(rx.get("caller_number", "")) + str(rx), rx)
        sent = join_tiffs(files, os.path.join(self.tmp, "sent.tif"))
        got = os.path.join(self.tmp, "rx.tif")
        d.cli("get", str(rx["id"]), "--tiff", "-o", got)
        cmp = subprocess.run([FAXCMP, sent, got], capture_output=True, text=True)
        self.assertEqual(cmp.returncode, 0, cmp.stdout + cmp.stderr)

    def test_two_pages_slinear(self):
        self.receive("slinear", 2)

    def test_one_page_ulaw(self):
        self.receive("ulaw", 1)

    def test_one_page_alaw(self):
        self.receive("alaw", 1)


if __name__ == "__main__":
    unittest.main()
