"""Every bad input gets a clear 4xx JSON error (CLI: the message and a non-zero exit), nothing is
half-created, and what was already accepted is not lost."""
import os
import unittest

from vfaxtest import VfaxTestCase, make_pdf


class BadInput(VfaxTestCase):
    @classmethod
    def setUpClass(cls):
        pass

    def setUp(self):
        super().setUp()
        self.d = self.daemon({"api": {"max_upload_mb": 1}})
        self.add_device(self.d, "300")
        self.pdf_path = make_pdf(os.path.join(self.tmp, "ok.pdf"), 1)
        with open(self.pdf_path, "rb") as f:
            self.pdf = f.read()
        # One job accepted before the bad inputs: it must survive all of them.
        status, body = self.d.post_fax({"to": "300"}, [("ok.pdf", self.pdf, "application/pdf")])
        self.assertEqual(status, 201, body)
        self.accepted = body["id"]

    def assertError(self, result, status, code=None):
        got_status, body = result
        self.assertEqual(got_status, status, body)
        self.assertIn("error", body)
        self.assertTrue(body["error"]["message"])
        if code:
            self.assertEqual(body["error"]["code"], code, body)

    def assertNothingCreated(self):
        out = self.d.faxes("out")
        self.assertEqual([f["id"] for f in out], [self.accepted])
        staging = [n for n in os.listdir(os.path.join(self.d.data, "faxes")) if n.startswith("tmp-")]
        self.assertEqual(staging, [])

    def test_unparseable_number(self):
        self.assertError(self.d.post_fax({"to": "call me maybe"}, [("a.pdf", self.pdf, "application/pdf")]),
                         400, "invalid_number")
        p = self.d.cli("send", "-t", "12ab", self.pdf_path, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("number", p.stderr.lower())
        self.assertNothingCreated()

    def test_empty_file(self):
        self.assertError(self.d.post_fax({"to": "300"}, [("empty.pdf", b"", "application/pdf")]), 400, "empty_file")
        empty = os.path.join(self.tmp, "empty.pdf")
        open(empty, "wb").close()
        p = self.d.cli("send", "-t", "300", empty, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertTrue(p.stderr.strip())
        self.assertNothingCreated()

    def test_corrupt_file(self):
        broken = self.pdf[: len(self.pdf) // 3]
        status, body = self.d.post_fax({"to": "300"}, [("broken.pdf", b"%PDF-1.4\n" + os.urandom(3000), "application/pdf")])
        self.assertIn(status, (400, 415, 422), body)
        self.assertIn("error", body)
        # A truncated PDF is either refused now or fails its job with a clear error; never a crash.
        status, body = self.d.post_fax({"to": "300"}, [("cut.pdf", broken, "application/pdf")])
        if status == 201:
            final = self.d.wait_final(body["id"])
            self.assertIn(final["state"], ("failed", "done"))
        self.assertEqual(self.d.request("GET", "/api/v1/healthz", auth=False)[0], 200)

    def test_unsupported_type(self):
        self.assertError(self.d.post_fax({"to": "300"}, [("x.zip", b"PK\x03\x04" + b"\0" * 200, "application/zip")]),
                         415, "unsupported_type")
        self.assertError(self.d.post_fax({"to": "300"}, [("x.pdf", b"\x7fELF" + b"\1" * 500, "application/pdf")]),
                         415, "unsupported_type")
        self.assertNothingCreated()

    def test_file_over_size_limit(self):
        big = b"%PDF-1.4\n" + b"0" * (2 * 1024 * 1024)
        status, body = self.d.post_fax({"to": "300"}, [("big.pdf", big, "application/pdf")])
        self.assertEqual(status, 413, body)
        self.assertNothingCreated()

    def test_no_file(self):
        self.assertError(self.d.post_fax({"to": "300"}, []), 400, "no_file")
        self.assertNothingCreated()

    def test_unknown_device(self):
        status, body = self.d.post_fax({"to": "300", "device": "999"}, [("a.pdf", self.pdf, "application/pdf")])
        self.assertIn(status, (400, 404), body)
        self.assertEqual(body["error"]["code"], "unknown_device")
        self.assertNothingCreated()

    def test_invalid_settings(self):
        before = self.d.request("GET", "/api/v1/settings")[1]
        self.assertError(self.d.request("PUT", "/api/v1/settings", {"total_lines": "abc"}), 400, "invalid_setting")
        self.assertError(self.d.request("PUT", "/api/v1/settings", {"total_lines": 2, "reserved_inbound_lines": 5}),
                         400, "invalid_setting")
        self.assertError(self.d.request("PUT", "/api/v1/settings", {"no_such_key": 1}), 400, "unknown_setting")
        self.assertError(self.d.request("PUT", "/api/v1/settings", {"cleanup_schedule": "99 * * * *"}), 400)
        self.assertEqual(self.d.request("GET", "/api/v1/settings")[1], before)  # nothing half-applied
        p = self.d.cli("settings", "send_attempts=0", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("send_attempts", p.stderr)

    def test_invalid_device(self):
        self.assertError(self.d.request("POST", "/api/v1/devices",
                                        {"kind": "user", "name": "x", "email": "nope", "extension": "301"}), 400)
        self.assertError(self.d.request("POST", "/api/v1/devices",
                                        {"kind": "user", "name": "x", "email": "a@b.test", "extension": "30a"}), 400)
        self.assertError(self.d.request("POST", "/api/v1/devices",
                                        {"kind": "user", "name": "x", "email": "a@b.test", "extension": "300"}), 409,
                         "conflict")
        self.assertError(self.d.request("POST", "/api/v1/devices",
                                        {"kind": "user", "name": "x", "email": "a@b.test", "extension": "302",
                                         "tsi": "way too long a station id 123"}), 400)
        self.assertEqual(len(self.d.request("GET", "/api/v1/devices")[1]["devices"]), 1)

    def test_tokens(self):
        self.assertError(self.d.request("GET", "/api/v1/faxes", auth=False), 401, "unauthorized")
        self.assertError(self.d.request("GET", "/api/v1/faxes", token="vfx_wrong"), 401, "unauthorized")
        p = self.d.cli("list", token="vfx_wrong", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("token", p.stderr.lower())
        reader = self.d.add_user("reader")
        created = self.d.cli_json("token", "create", "reader", "--user", str(reader["id"]))
        user_token = created["token"]
        self.assertEqual(self.d.request("GET", "/api/v1/faxes", token=user_token)[0], 200)
        self.assertError(self.d.request("PUT", "/api/v1/settings", {"send_attempts": 2}, token=user_token), 403)
        self.d.cli("token", "revoke", str(created["id"]))
        self.assertError(self.d.request("GET", "/api/v1/faxes", token=user_token), 401)
        # The built-in admin cannot be deleted, nor the last enabled admin disabled.
        admin = self.d.request("GET", "/api/v1/session")[1]["user"]
        self.assertError(self.d.request("DELETE", f"/api/v1/users/{admin['id']}"), 409, "conflict")
        self.assertError(self.d.request("PUT", f"/api/v1/users/{admin['id']}", {"enabled": False}), 409, "conflict")
        self.assertEqual(self.d.request("GET", "/api/v1/faxes", auth=True)[0], 200)

    def test_text_that_is_not_utf8(self):
        # A field with bytes that are not UTF-8 is stored and shown with replacement characters.
        boundary = "vfaxtestutf8"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n300\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"tag\"\r\n\r\n").encode() + \
            b"x\xffy" + f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; " \
            f"filename=\"a.pdf\"\r\nContent-Type: application/pdf\r\n\r\n".encode() + self.pdf + \
            f"\r\n--{boundary}--\r\n".encode()
        status, fax = self.d.request("POST", "/api/v1/faxes", body,
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        self.assertIn(status, (201, 400), fax)
        if status == 201:
            self.assertEqual(self.d.fax(fax["id"])["id"], fax["id"])
            self.assertEqual(len(self.d.faxes("out")), 2)
            self.d.wait_final(fax["id"])

    def test_unknown_fax_and_cancel_final(self):
        self.assertError(self.d.request("GET", "/api/v1/faxes/424242"), 404, "not_found")
        final = self.d.wait_final(self.accepted)
        self.assertEqual(final["state"], "done")
        self.assertError(self.d.request("POST", f"/api/v1/faxes/{self.accepted}/cancel"), 409, "conflict")
        p = self.d.cli("show", "424242", check=False)
        self.assertNotEqual(p.returncode, 0)

    def test_unreachable_server(self):
        p = self.d.cli("list", url="http://127.0.0.1:9", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("127.0.0.1:9", p.stderr)

    def tearDown(self):
        # The job accepted first is never lost: it finishes.
        try:
            self.assertEqual(self.d.wait_final(self.accepted)["state"], "done")
        finally:
            super().tearDown()


if __name__ == "__main__":
    unittest.main()
