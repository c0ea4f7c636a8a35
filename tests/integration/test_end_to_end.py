"""A real 3-page PDF sent through the CLI and the API to a device's extension over the loopback
trunk (audio, T.38, and audio switched to T.38 on fax tones); the received fax must have 3 pages
matching the bitmaps that were sent, and both sides' attempts say what the fax went over."""
import os
import subprocess
import unittest

from vfaxtest import FAXCMP, VfaxTestCase, make_pdf


class EndToEnd(VfaxTestCase):
    def roundtrip(self, media, want_media, want_codec):
        d = self.daemon({"loopback": {"media": media}})
        dev = self.add_device(d, "100")
        pdf = make_pdf(os.path.join(self.tmp, "doc.pdf"), 3)

        # Through the CLI: send and wait for the final state.
        out = d.cli("send", "-t", "100", pdf, "--wait", "--json")
        job = d.wait_final(__import__("json").loads(out.stdout)["id"])
        self.assertEqual(job["state"], "done", job)
        self.assertEqual(job["pages"], 3)
        self.assertEqual(job["pages_total"], 3)
        self.assertEqual(len(job["attempts"]), 1)
        attempt = job["attempts"][0]
        self.assertEqual(attempt["outcome"], "ok")
        self.assertGreater(attempt["bit_rate"], 0)
        self.assertTrue(attempt["ecm"])
        self.assertEqual(attempt["media"], want_media, attempt)
        self.assertEqual(attempt.get("codec"), want_codec, attempt)

        inbound = d.wait_for(lambda: [f for f in d.faxes("in") if f["state"] == "received"],
                             what="the received fax")
        self.assertEqual(len(inbound), 1)
        rx = inbound[0]
        self.assertEqual(rx["pages"], 3)
        self.assertEqual(rx["device"], dev["id"])
        self.assertTrue(rx["remote_id"], rx)
        self.assertEqual(len(rx["attempts"]), 1, rx)
        self.assertEqual(rx["attempts"][0]["media"], want_media, rx)
        self.assertEqual(rx["attempts"][0].get("codec"), want_codec, rx)
        shown = d.cli("show", str(rx["id"])).stdout
        self.assertIn(want_media, shown.lower().replace(".", ""))

        sent_tif = os.path.join(self.tmp, "sent.tif")
        rx_tif = os.path.join(self.tmp, "rx.tif")
        rx_pdf = os.path.join(self.tmp, "rx.pdf")
        d.cli("get", str(job["id"]), "--tiff", "-o", sent_tif)
        d.cli("get", str(rx["id"]), "--tiff", "-o", rx_tif)
        d.cli("get", str(rx["id"]), "-o", rx_pdf)
        cmp = subprocess.run([FAXCMP, sent_tif, rx_tif], capture_output=True, text=True)
        self.assertEqual(cmp.returncode, 0, cmp.stdout + cmp.stderr)
        info = subprocess.run(["pdfinfo", rx_pdf], capture_output=True, text=True, check=True).stdout
        self.assertRegex(info, r"Pages:\s+3\n")

        # The same through the REST API.
        with open(pdf, "rb") as f:
            status, body = d.post_fax({"to": "100"}, [("doc.pdf", f.read(), "application/pdf")])
        self.assertEqual(status, 201, body)
        job2 = d.wait_final(body["id"])
        self.assertEqual(job2["state"], "done", job2)
        status, png = d.request("GET", f"/api/v1/faxes/{rx['id']}/preview.png", raw=True)
        self.assertEqual(status, 200)
        self.assertTrue(png.startswith(b"\x89PNG"))
        received = d.wait_for(lambda: len([f for f in d.faxes("in") if f["state"] == "received"]) == 2,
                              what="the second received fax")
        self.assertTrue(received)

    def test_audio(self):
        self.roundtrip("audio", "audio", "PCMA")

    def test_t38(self):
        self.roundtrip("t38", "t38", None)

    def test_switch_to_t38_on_fax_tones(self):
        self.roundtrip("switch", "t38", "PCMA")


if __name__ == "__main__":
    unittest.main()
