"""A real 3-page PDF sent through the CLI and the API to a device's extension over the loopback
trunk (audio and T.38); the received fax must have 3 pages matching the bitmaps that were sent."""
import os
import subprocess
import unittest

from vfaxtest import FAXCMP, VfaxTestCase, make_pdf


class EndToEnd(VfaxTestCase):
    def roundtrip(self, media):
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

        inbound = d.wait_for(lambda: [f for f in d.faxes("in") if f["state"] == "received"],
                             what="the received fax")
        self.assertEqual(len(inbound), 1)
        rx = inbound[0]
        self.assertEqual(rx["pages"], 3)
        self.assertEqual(rx["device"], dev["id"])
        self.assertTrue(rx["remote_id"], rx)

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
        self.roundtrip("audio")

    def test_t38(self):
        self.roundtrip("t38")


if __name__ == "__main__":
    unittest.main()
