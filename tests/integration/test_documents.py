"""Documents through the real vfaxd: every input type by content, the cover page (API, CLI and the
settings default), the OCR text layer of a received fax after a real fax round trip over the
loopback trunk, thumbnails, and clear errors for bad inputs while vfaxd keeps running."""
import os
import shutil
import subprocess
import unittest

from vfaxtest import VfaxTestCase, make_pdf

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "documents")

LETTER = ("Sehr geehrte Damen und Herren,\n\n"
          "wir bestaetigen Ihre Bestellung vom Montag.\n"
          "Die Lieferung erfolgt in der naechsten Woche.\n\n"
          "Mit freundlichen Gruessen\n")


def read_data(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def pdf_text(path):
    return subprocess.run(["pdftotext", path, "-"], capture_output=True, text=True, check=True).stdout


class Documents(VfaxTestCase):
    def test_cover_page_and_searchable_received_fax(self):
        if not shutil.which("tesseract"):
            self.skipTest("tesseract missing")
        d = self.daemon()
        self.add_device(d, "100")
        status, body = d.request("PUT", "/api/v1/settings", {"ocr_received": True})
        self.assertEqual(status, 200, body)
        self.assertIs(body["ocr_received"], True)
        self.assertIs(body["cover_page_default"], False)

        letter = os.path.join(self.tmp, "letter")  # no extension: the content says text
        with open(letter, "w") as f:
            f.write(LETTER)
        out = d.cli("send", "-t", "100", letter, "--cover", "--subject", "Angebot 4711",
                    "--comment", "Bitte bis Freitag bestaetigen", "--json")
        job = d.wait_final(__import__("json").loads(out.stdout)["id"])
        self.assertEqual(job["state"], "done", job)
        self.assertEqual(job["pages_total"], 2)  # the cover and the letter
        self.assertIs(job["cover"], True)
        self.assertEqual(job["subject"], "Angebot 4711")

        rx = d.wait_for(lambda: [f for f in d.faxes("in") if f["state"] == "received"],
                        what="the received fax")[0]
        self.assertEqual(rx["pages"], 2)
        rx_pdf = os.path.join(self.tmp, "rx.pdf")
        d.cli("get", str(rx["id"]), "-o", rx_pdf)
        # The received pages went through T.30; tesseract read them back.
        text = pdf_text(rx_pdf)
        words = LETTER.split()
        found = [w for w in words if w in text]
        self.assertGreaterEqual(len(found), 0.9 * len(words), text)
        for expected in ("TELEFAX", "Angebot", "4711", "Freitag"):
            self.assertIn(expected, text)
        folder = os.path.join(d.data, "faxes", str(rx["id"]))
        self.assertTrue(os.path.exists(os.path.join(folder, "thumb-1.png")))
        self.assertTrue(os.path.exists(os.path.join(folder, "thumb-2.png")))
        # Outbound documents are vfax's own: no OCR layer is needed to search them.
        sent_pdf = os.path.join(self.tmp, "sent.pdf")
        d.cli("get", str(job["id"]), "-o", sent_pdf)
        self.assertEqual(pdf_text(sent_pdf).strip(), "")

    def test_cover_page_default_from_settings(self):
        d = self.daemon()
        self.add_device(d, "100")
        d.cli("settings", "cover_page_default=true")
        pdf = make_pdf(os.path.join(self.tmp, "doc.pdf"), 1)
        with open(pdf, "rb") as f:
            content = f.read()
        status, with_default = d.post_fax({"to": "100"}, [("doc.pdf", content, "application/pdf")])
        self.assertEqual(status, 201, with_default)
        status, without = d.post_fax({"to": "100", "cover": "false"},
                                     [("doc.pdf", content, "application/pdf")])
        self.assertEqual(status, 201, without)
        self.assertEqual(d.wait_final(with_default["id"])["pages_total"], 2)
        self.assertEqual(d.wait_final(without["id"])["pages_total"], 1)
        # Thumbnails of the pages (the first few) for the web page.
        status, png = d.request("GET", f"/api/v1/faxes/{with_default['id']}/pages/2.png", raw=True)
        self.assertEqual(status, 200)
        self.assertTrue(png.startswith(b"\x89PNG"))
        status, body = d.request("GET", f"/api/v1/faxes/{with_default['id']}/pages/9.png")
        self.assertEqual(status, 404, body)
        status, body = d.post_fax({"to": "100", "cover": "maybe"}, [("doc.pdf", content, "application/pdf")])
        self.assertEqual(status, 400, body)
        status, body = d.request("PUT", "/api/v1/settings", {"cover_page_default": "perhaps"})
        self.assertEqual(status, 400, body)
        self.assertEqual(body["error"]["code"], "invalid_setting")

    def test_every_type_by_content(self):
        d = self.daemon()
        self.add_device(d, "100")
        inputs = [
            ("a.bin", LETTER.encode("latin-1"), 1),
            ("mail", b"<html><body><h1>Hallo</h1><p>Gr\xc3\xbc\xc3\x9fe</p></body></html>", 1),
            ("photo.gif", read_data("photo.gif"), 1),
            ("photo.jpg", read_data("photo.jpg"), 1),
            ("photo.png", read_data("photo.png"), 1),
            ("job.prn", read_data("photo.ps"), 1),
        ]
        if shutil.which("soffice"):
            inputs += [("letter.docx", read_data("letter.docx"), 1),
                       ("sheet", read_data("sheet.xlsx"), 1)]
        ids = []
        for name, content, pages in inputs:
            status, body = d.post_fax({"to": "100"}, [(name, content, "application/octet-stream")])
            self.assertEqual(status, 201, (name, body))
            ids.append((name, body["id"], pages))
        for name, fid, pages in ids:
            job = d.wait_final(fid)
            self.assertEqual(job["state"], "done", (name, job))
            self.assertEqual(job["pages_total"], pages, name)

    def test_bad_inputs_give_clear_errors_and_vfaxd_goes_on(self):
        d = self.daemon()
        self.add_device(d, "100")
        plain = make_pdf(os.path.join(self.tmp, "plain.pdf"), 1)
        locked = os.path.join(self.tmp, "locked.pdf")
        subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite",
                        "-sOwnerPassword=o", "-sUserPassword=u", f"-sOutputFile={locked}", plain],
                       check=True)
        with open(locked, "rb") as f:
            locked_pdf = f.read()
        huge_png = (b"\x89PNG\r\n\x1a\n" + (13).to_bytes(4, "big") + b"IHDR" +
                    (20000).to_bytes(4, "big") * 2 + b"\x08\x00\x00\x00\x00" + b"\0\0\0\0" +
                    b"\0\0\0\0IEND\0\0\0\0")
        cases = [
            ("locked.pdf", locked_pdf, 400, "encrypted_pdf"),
            ("x.pdf", b"\x7fELF\x02\x01\x01\0\0\0\0" * 10, 415, "unsupported_type"),
            ("empty.pdf", b"", 400, "empty_file"),
            ("cut.pdf", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n", 400,
             "corrupt_file"),
        ]
        for name, content, status_expected, code in cases:
            status, body = d.post_fax({"to": "100"}, [(name, content, "application/pdf")])
            self.assertEqual(status, status_expected, (name, body))
            self.assertEqual(body["error"]["code"], code, name)
            self.assertGreater(len(body["error"]["message"]), 20)
        # An image header that claims gigapixels is refused before anything is decoded.
        status, body = d.post_fax({"to": "100"}, [("huge.png", huge_png, "image/png")])
        self.assertEqual(status, 400, body)
        self.assertEqual(body["error"]["code"], "image_too_large")
        status, _ = d.request("GET", "/api/v1/healthz", auth=False)
        self.assertEqual(status, 200)
        with open(plain, "rb") as f:
            status, body = d.post_fax({"to": "100"}, [("plain.pdf", f.read(), "application/pdf")])
        self.assertEqual(status, 201, body)
        self.assertEqual(d.wait_final(body["id"])["state"], "done")


if __name__ == "__main__":
    unittest.main()
