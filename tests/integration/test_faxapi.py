"""The web page's fax API through the real vfaxd and vfax CLI: previews (made, shown, sent
without converting again, owned, expiring, limited per user), every page as PNG, cancel, delete,
resend and forward, list filters, and POST /mail/check; bad input of every kind gets a clear
error and leaves nothing queued."""
import glob
import json
import os
import struct
import time
import uuid

from vfaxtest import VfaxTestCase, make_pdf


def multipart(fields, files):
    boundary = "vfaxtest" + uuid.uuid4().hex
    parts = []
    for k, v in fields.items():
        parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode())
    for name, content, ctype in files:
        parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                     f"Content-Type: {ctype}\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:64]
    return struct.unpack(">II", data[16:24])


class FaxApi(VfaxTestCase):
    def setUp(self):
        super().setUp()
        self.pdf = make_pdf(os.path.join(self.tmp, "doc.pdf"), 2)
        with open(self.pdf, "rb") as f:
            self.pdf_bytes = f.read()

    def preview(self, d, fields, files=None, token=None):
        body, headers = multipart(fields, files if files is not None else
                                  [("doc.pdf", self.pdf_bytes, "application/pdf")])
        return d.request("POST", "/api/v1/faxes/preview", body, token=token, headers=headers)

    def assertError(self, reply, status, code):
        self.assertEqual(reply[0], status, reply)
        self.assertEqual(reply[1]["error"]["code"], code, reply)
        self.assertTrue(reply[1]["error"]["message"])

    def previews_on_disk(self, d):
        return [p for p in glob.glob(os.path.join(d.data, "previews", "*")) if os.path.isdir(p)]

    def test_preview_then_send_the_same_pages(self):
        d = self.daemon()
        self.add_device(d, "100")
        before = len(d.faxes())
        status, p = self.preview(d, {"to": "100", "cover": "true", "subject": "Angebot 4711"})
        self.assertEqual(status, 201, p)
        self.assertEqual(p["pages"], 3)  # the cover page and two pages
        self.assertRegex(p["id"], "^[0-9a-f]{32}$")
        self.assertGreater(p["expires_at"], int(time.time() * 1000) + 25 * 60 * 1000)
        self.assertEqual(len(d.faxes()), before)  # nothing queued

        for n in (1, 2, 3):
            status, png = d.request("GET", f"/api/v1/previews/{p['id']}/pages/{n}.png", raw=True)
            self.assertEqual(status, 200)
            self.assertEqual(png_size(png)[0], 860)
        status, png = d.request("GET", f"/api/v1/previews/{p['id']}/pages/2.png?width=1728", raw=True)
        self.assertEqual(png_size(png)[0], 1728)
        status, png = d.request("GET", f"/api/v1/previews/{p['id']}/pages/2.png?width=100", raw=True)
        self.assertEqual(png_size(png)[0], 200)  # rounded up to the thumbnail width
        self.assertError(d.request("GET", f"/api/v1/previews/{p['id']}/pages/4.png"), 404, "not_found")
        for w in ("99", "1729", "abc", "", "-5"):
            self.assertError(d.request("GET", f"/api/v1/previews/{p['id']}/pages/1.png?width={w}"),
                             400, "invalid_request")
        # Another user cannot see it, nor send it.
        other = d.user_token("mallory")
        self.assertError(d.request("GET", f"/api/v1/previews/{p['id']}/pages/1.png", token=other),
                         404, "not_found")
        self.assertError(d.post_fax({"preview": p["id"]}, [], token=other), 404, "not_found")

        # The previewed pages leave as they were seen: the job's TIFF is the preview's.
        with open(os.path.join(d.data, "previews", p["id"], "fax.tif"), "rb") as f:
            previewed = f.read()
        # What shaped the pages must not change; the rest may.
        self.assertError(d.post_fax({"preview": p["id"], "subject": "Other"}, []), 400,
                         "invalid_request")
        self.assertError(d.post_fax({"preview": p["id"], "to": "0891234"}, []), 400,
                         "invalid_request")  # the cover page names 100
        status, job = d.post_fax({"preview": p["id"], "tag": "from-preview"}, [])
        self.assertEqual(status, 201, job)
        self.assertEqual(job["pages_total"], 3)
        self.assertEqual(job["subject"], "Angebot 4711")
        self.assertEqual(job["tag"], "from-preview")
        self.assertIs(job["cover"], True)
        final = d.wait_final(job["id"])
        self.assertEqual(final["state"], "done", final)
        self.assertEqual(final["pages"], 3)
        with open(os.path.join(d.data, "faxes", str(job["id"]), "fax.tif"), "rb") as f:
            self.assertEqual(f.read(), previewed)
        # A preview is sent once.
        self.assertError(d.post_fax({"preview": p["id"]}, []), 404, "not_found")
        self.assertEqual(self.previews_on_disk(d), [])
        d.wait_for(lambda: any("preview" in e["detail"] for e in
                               d.request("GET", "/api/v1/audit?action=fax.send")[1]["entries"]),
                   what="the audit entry of the preview sent")

    def test_preview_of_a_large_scan_and_page_widths(self):
        # A scan of 1.4 MB (noise does not compress): over the 1 MiB of a JSON body, well within
        # the upload limit, so it is previewed like it would be sent.
        import random
        import zlib
        w = h = 1200
        rng = random.Random(7)
        raw = b"".join(b"\x00" + bytes(rng.getrandbits(8) for _ in range(w)) for _ in range(h))
        def chunk(kind, data):
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
               chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))
        self.assertGreater(len(png), 1 << 20)
        d = self.daemon()
        self.add_device(d, "100")
        status, p = self.preview(d, {"to": "100"}, [("scan.png", png, "image/png")])
        self.assertEqual(status, 201, p)
        # Widths are rounded up to the three that are rendered (200, 860, 1728).
        for asked, got in (("100", 200), ("201", 860), ("900", 1728)):
            status, img = d.request("GET", f"/api/v1/previews/{p['id']}/pages/1.png?width={asked}", raw=True)
            self.assertEqual(status, 200)
            self.assertEqual(png_size(img)[0], got)

    def test_preview_without_number_then_send_with_one(self):
        d = self.daemon()
        self.add_device(d, "100")
        status, p = self.preview(d, {"cover": "false"})
        self.assertEqual(status, 201, p)
        self.assertEqual(p["pages"], 2)
        self.assertError(d.post_fax({"preview": p["id"]}, []), 400, "invalid_number")
        self.assertError(d.post_fax({"preview": p["id"], "to": "not a number"}, []), 400,
                         "invalid_number")
        status, job = d.post_fax({"preview": p["id"], "to": "100"}, [])
        self.assertEqual(status, 201, job)
        self.assertEqual(d.wait_final(job["id"])["state"], "done")

    def test_bad_previews(self):
        d = self.daemon({"api": {"previews_per_user": 2}})
        self.add_device(d, "100")
        before = len(d.faxes())
        # A corrupt PDF: a clear error, nothing queued, nothing kept.
        status, body = self.preview(d, {"to": "100"}, [("bad.pdf", b"%PDF-1.4\n1 0 obj <<\n%%garbage",
                                                         "application/pdf")])
        self.assertIn(status, (400, 422), body)
        self.assertIn(body["error"]["code"], ("corrupt_file", "conversion_failed"), body)
        self.assertError(self.preview(d, {"to": "100"}, []), 400, "no_file")
        self.assertError(self.preview(d, {"to": "no number"}), 400, "invalid_number")
        self.assertError(self.preview(d, {"to": "100", "preview": "x"}), 400, "invalid_request")
        self.assertError(self.preview(d, {"to": "100", "cover": "maybe"}), 400, "invalid_request")
        self.assertError(self.preview(d, {"to": "100", "device": "999"}), 400, "unknown_device")
        status, body = d.request("POST", "/api/v1/faxes/preview", {"to": "100"})
        self.assertEqual(status, 415, body)
        self.assertEqual(len(d.faxes()), before)
        self.assertEqual(self.previews_on_disk(d), [])
        # Files and a preview at once; a preview that does not exist; ids of the wrong form.
        status, p = self.preview(d, {"to": "100"})
        self.assertEqual(status, 201, p)
        self.assertError(d.post_fax({"preview": p["id"], "to": "100"},
                                    [("doc.pdf", self.pdf_bytes, "application/pdf")]),
                         400, "invalid_request")
        self.assertError(d.post_fax({"preview": "0" * 32, "to": "100"}, []), 404, "not_found")
        self.assertError(d.post_fax({"preview": "../../faxes/1", "to": "100"}, []), 404, "not_found")
        self.assertEqual(d.request("GET", "/api/v1/previews/xyz/pages/1.png")[0], 404)
        self.assertEqual(d.request("GET", f"/api/v1/previews/{p['id']}/pages/0.png")[0], 404)
        self.assertEqual(d.request("GET", f"/api/v1/previews/{p['id']}/pages/1.png", auth=False)[0], 401)
        # At most two per user here: a third drops the oldest.
        second = self.preview(d, {"to": "100"})[1]
        third = self.preview(d, {"to": "100"})[1]
        self.assertError(d.request("GET", f"/api/v1/previews/{p['id']}/pages/1.png"), 404, "not_found")
        for q in (second, third):
            self.assertEqual(d.request("GET", f"/api/v1/previews/{q['id']}/pages/1.png", raw=True)[0], 200)
        self.assertEqual(len(self.previews_on_disk(d)), 2)
        self.assertEqual(len(d.faxes()), before)

    def test_expired_preview(self):
        d = self.daemon({"api": {"preview_ttl_seconds": 1}})
        self.add_device(d, "100")
        status, p = self.preview(d, {"to": "100"})
        self.assertEqual(status, 201, p)
        d.wait_for(lambda: int(time.time() * 1000) > p["expires_at"] + 50, what="the preview to expire")
        self.assertError(d.request("GET", f"/api/v1/previews/{p['id']}/pages/1.png"), 404, "not_found")
        self.assertError(d.post_fax({"preview": p["id"]}, []), 404, "not_found")
        self.assertEqual(self.previews_on_disk(d), [])
        self.assertEqual(d.faxes(), [])

    def test_every_page_delete_resend_forward(self):
        d = self.daemon()
        self.add_device(d, "100")
        pdf6 = make_pdf(os.path.join(self.tmp, "six.pdf"), 6)
        job = d.cli_json("send", "-t", "100", pdf6)
        self.assertEqual(d.wait_final(job["id"])["state"], "done")
        rx = d.wait_for(lambda: [f for f in d.faxes("in") if f["state"] == "received"],
                        what="the received fax")[0]
        # Every page, beyond the thumbnails made at conversion; default width as the thumbnails.
        for fid in (job["id"], rx["id"]):
            for n in (1, 5, 6):
                status, png = d.request("GET", f"/api/v1/faxes/{fid}/pages/{n}.png", raw=True)
                self.assertEqual(status, 200)
                self.assertEqual(png_size(png)[0], 200)
            status, png = d.request("GET", f"/api/v1/faxes/{fid}/pages/6.png?width=1000", raw=True)
            self.assertEqual(png_size(png)[0], 1728)  # rounded up to the full fax width
            # The full width is made for the one reply; the two small ones are kept with the fax.
            folder = os.path.join(d.data, "faxes", str(fid))
            self.assertEqual(glob.glob(os.path.join(folder, "*.once-*")), [])
            self.assertEqual(glob.glob(os.path.join(folder, "*-w1728.png")), [])
            self.assertEqual(glob.glob(os.path.join(folder, "*.tmp-*")), [])
            self.assertTrue(os.path.exists(os.path.join(folder, "page-6-w200.png")))
            self.assertError(d.request("GET", f"/api/v1/faxes/{fid}/pages/7.png"), 404, "not_found")
            self.assertError(d.request("GET", f"/api/v1/faxes/{fid}/pages/1.png?width=5000"), 400,
                             "invalid_request")
        self.assertError(d.request("GET", "/api/v1/faxes/424242/pages/1.png"), 404, "not_found")
        self.assertEqual(d.request("GET", "/api/v1/faxes/0/pages/1.png")[0], 404)
        other = d.user_token("eve")
        self.assertError(d.request("GET", f"/api/v1/faxes/{job['id']}/pages/1.png", token=other),
                         404, "not_found")

        # Resend: the same pages again, to the same number.
        status, again = d.request("POST", f"/api/v1/faxes/{job['id']}/resend", {})
        self.assertEqual(status, 201, again)
        self.assertEqual(again["number"], job["number"])
        self.assertEqual(again["pages_total"], 6)
        self.assertEqual(d.wait_final(again["id"])["state"], "done")
        with open(os.path.join(d.data, "faxes", str(job["id"]), "fax.tif"), "rb") as a, \
                open(os.path.join(d.data, "faxes", str(again["id"]), "fax.tif"), "rb") as b:
            self.assertEqual(a.read(), b.read())
        # Forward a received fax: `to` is needed.
        self.assertError(d.request("POST", f"/api/v1/faxes/{rx['id']}/resend", {}), 400, "invalid_number")
        self.assertError(d.request("POST", f"/api/v1/faxes/{rx['id']}/resend", {"to": "x!"}), 400,
                         "invalid_number")
        self.assertError(d.request("POST", f"/api/v1/faxes/{rx['id']}/resend", {"to": 5}), 400,
                         "invalid_number")
        self.assertError(d.request("POST", f"/api/v1/faxes/{rx['id']}/resend", {"too": "1"}), 400,
                         "invalid_request")
        self.assertError(d.request("POST", f"/api/v1/faxes/{rx['id']}/resend", b"[",
                                   headers={"Content-Type": "application/json"}), 400, "invalid_json")
        self.assertError(d.request("POST", f"/api/v1/faxes/{rx['id']}/resend", {"to": "100"}, token=other),
                         404, "not_found")
        self.assertError(d.request("POST", "/api/v1/faxes/424242/resend", {"to": "100"}), 404, "not_found")
        fwd = json.loads(d.cli("resend", str(rx["id"]), "-t", "100", "--json").stdout)
        self.assertEqual(fwd["direction"], "out")
        self.assertEqual(fwd["pages_total"], 6)
        self.assertEqual(d.wait_final(fwd["id"])["state"], "done")

        # Delete final faxes: record, attempts and files go; audited.
        self.assertError(d.request("DELETE", f"/api/v1/faxes/{job['id']}", token=other), 404, "not_found")
        status, _ = d.request("DELETE", f"/api/v1/faxes/{job['id']}")
        self.assertEqual(status, 204)
        self.assertError(d.request("GET", f"/api/v1/faxes/{job['id']}"), 404, "not_found")
        self.assertFalse(os.path.exists(os.path.join(d.data, "faxes", str(job["id"]))))
        self.assertError(d.request("DELETE", f"/api/v1/faxes/{job['id']}"), 404, "not_found")
        out = d.cli("rm", str(rx["id"]))
        self.assertIn("deleted", out.stdout)
        self.assertFalse(os.path.exists(os.path.join(d.data, "faxes", str(rx["id"]))))
        self.assertNotEqual(d.cli("rm", str(rx["id"]), check=False).returncode, 0)
        def audited():
            actions = [e["action"] for e in d.request("GET", "/api/v1/audit?action=fax.")[1]["entries"]]
            return "fax.delete" in actions and "fax.resend" in actions
        d.wait_for(audited, what="audit entries of delete and resend")
        # Resending a deleted fax is impossible; its copy is untouched.
        self.assertError(d.request("POST", f"/api/v1/faxes/{job['id']}/resend", {}), 404, "not_found")
        self.assertEqual(d.fax(again["id"])["state"], "done")

    def test_cancel_and_delete_of_active_jobs(self):
        # Real-time calls: a six-page fax takes long enough to be caught on its way.
        d = self.daemon({"loopback": {"realtime": True}})
        self.add_device(d, "100")
        pdf6 = make_pdf(os.path.join(self.tmp, "six.pdf"), 6)
        a = d.cli_json("send", "-t", "100", pdf6)
        b = d.cli_json("send", "-t", "100", pdf6)
        status, canceled = d.request("POST", f"/api/v1/faxes/{a['id']}/cancel")
        self.assertEqual(status, 200, canceled)
        self.assertEqual(canceled["state"], "canceled")
        self.assertError(d.request("POST", f"/api/v1/faxes/{a['id']}/cancel"), 409, "conflict")
        # DELETE of an active job cancels it (as it always did) and keeps it.
        status, body = d.request("DELETE", f"/api/v1/faxes/{b['id']}")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["state"], "canceled")
        self.assertEqual(d.wait_final(b["id"])["state"], "canceled")
        # Once final, DELETE deletes.
        self.assertEqual(d.request("DELETE", f"/api/v1/faxes/{b['id']}")[0], 204)
        c = d.cli_json("send", "-t", "100", pdf6)
        out = d.cli("cancel", str(c["id"]))
        self.assertIn("canceled", out.stdout)
        self.assertError(d.request("POST", "/api/v1/faxes/424242/cancel"), 404, "not_found")
        d.wait_for(lambda: len([e for e in d.request("GET", "/api/v1/audit?action=fax.")[1]["entries"]
                                if e["action"] == "fax.cancel"]) == 3, what="three cancels audited")

    def test_list_filters(self):
        d = self.daemon()
        self.add_device(d, "100")
        self.add_device(d, "200", name="Sales")
        for ext in ("100", "200", "100"):
            d.wait_final(d.cli_json("send", "-t", ext, self.pdf)["id"])
        all_faxes = d.faxes()

        def ids(query):
            status, body = d.request("GET", "/api/v1/faxes?" + query)
            self.assertEqual(status, 200, body)
            return [f["id"] for f in body["faxes"]]

        out200 = [f["id"] for f in all_faxes if f["direction"] == "out" and f["number"].endswith("200")]
        self.assertEqual(ids("direction=out&q=200"), out200)
        self.assertEqual(len(ids("q=89%20123456%20200")), len([f for f in all_faxes if f["remote_id"] and
                                                                 "89 123456 200" in f["remote_id"]]))
        self.assertEqual(ids("q=%25"), [])  # wildcards are text
        today = time.strftime("%Y-%m-%d", time.gmtime())
        self.assertEqual(len(ids(f"since={today}&until={today}")), len(all_faxes))
        self.assertEqual(ids("until=2000-01-01"), [])
        self.assertEqual(len(ids(f"since={int(time.time() * 1000) - 3600_000}")), len(all_faxes))
        self.assertEqual(ids(f"since={int(time.time() * 1000) + 3600_000}"), [])
        for bad in ("since=yesterday", "until=2026-02-30", "since=2026-12-01T10:00", "until=-1",
                    "since=1&since=2", "q=" + "x" * 101):
            self.assertError(d.request("GET", "/api/v1/faxes?" + bad), 400, "invalid_query")
        table = d.cli("list", "--search", "200", "--since", today, "--out").stdout
        self.assertEqual(len(table.strip().splitlines()) - 1, len(out200))
        self.assertNotEqual(d.cli("list", "--since", "garbage", check=False).returncode, 0)

    def test_mail_check(self):
        d = self.daemon()
        self.assertError(d.request("POST", "/api/v1/mail/check"), 409, "conflict")
        user = d.user_token("bob")
        self.assertEqual(d.request("POST", "/api/v1/mail/check", token=user)[0], 403)
        # A mailbox nobody answers at: the poll's error, in words.
        status, body = d.request("PUT", "/api/v1/mail/settings",
                                 {"mailbox_server": "127.0.0.1", "mailbox_port": 9,
                                  "mailbox_protocol": "imap", "mailbox_tls": "none",
                                  "mailbox_user": "fax", "mailbox_password": "secret"})
        self.assertEqual(status, 200, body)
        status, body = d.request("POST", "/api/v1/mail/check")
        self.assertEqual(status, 200, body)
        self.assertIs(body["check"]["ok"], False)
        self.assertTrue(body["check"]["error"])
        self.assertEqual(body["check"]["mails_fetched"], 0)
        self.assertIn("mailbox_status", body)
        self.assertEqual(body["mailbox_status"]["last_error"], body["check"]["error"])
        p = d.cli("mail", "check", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("mailbox", p.stderr)


if __name__ == "__main__":
    import unittest
    unittest.main()
