"""The destination policy (who may make vfax dial) against the real vfaxd: the settings keys from
the API and the CLI with their validation, refusals from every way in (API, CLI; Mail-to-Fax is in
test_mail.py), GET /numbers/parse and `vfax number`, and a queued job that meets a tightened policy
before it is dialled."""
import os
import urllib.parse

from vfaxtest import Daemon, VfaxTestCase, make_pdf


class PolicyTestCase(VfaxTestCase):
    def setUp(self):
        super().setUp()
        self.pdf = make_pdf(os.path.join(self.tmp, "one.pdf"), 1, "policy")
        with open(self.pdf, "rb") as f:
            self.pdf_bytes = f.read()

    def send(self, d, to, **fields):
        return d.post_fax(dict(fields, to=to), [("one.pdf", self.pdf_bytes, "application/pdf")])

    def parse(self, d, to, token=None):
        return d.request("GET", "/api/v1/numbers/parse?to=" + urllib.parse.quote(to), token=token)

    def settings(self, d, **changes):
        return d.request("PUT", "/api/v1/settings", changes)


class Settings(PolicyTestCase):
    def test_defaults_and_lists_from_api_and_cli(self):
        d = self.daemon()
        status, s = d.request("GET", "/api/v1/settings")
        self.assertEqual(status, 200, s)
        self.assertEqual(s["allowed_destinations"], ["+49"])
        self.assertEqual(s["blocked_number_types"], ["premium_rate", "shared_cost", "personal_number", "uan", "voip"])
        self.assertEqual(s["blocked_prefixes"], [])
        self.assertEqual(s["daily_page_limit"], 0)
        # Unset, the allowed destinations follow the country code; sending back what GET showed
        # does not pin them.
        status, s = self.settings(d, country_code="43", area_code="1", allowed_destinations=["+49"])
        self.assertEqual(status, 200, s)
        self.assertEqual(s["allowed_destinations"], ["+43"])
        status, s = self.settings(d, allowed_destinations=["+43", "+49 89"], blocked_prefixes=["+43 900"],
                                  blocked_number_types=["premium_rate", "mobile"], daily_page_limit=200)
        self.assertEqual(status, 200, s)
        self.assertEqual(s["allowed_destinations"], ["+43", "+4989"])
        self.assertEqual(s["blocked_prefixes"], ["+43900"])
        self.assertEqual(s["blocked_number_types"], ["premium_rate", "mobile"])
        self.assertEqual(s["daily_page_limit"], 200)
        status, s = self.settings(d, allowed_destinations=None, country_code="49", area_code="89")
        self.assertEqual(s["allowed_destinations"], ["+49"])
        # The CLI: comma-separated in and out.
        out = d.cli("settings", "blocked_prefixes=+44, +1 900", "allowed_destinations=+").stdout
        self.assertIn("blocked_prefixes = +44,+1900\n", out)
        self.assertIn("allowed_destinations = +\n", out)
        self.assertIn("blocked_number_types = premium_rate,mobile\n", d.cli("settings").stdout)
        self.assertEqual(d.cli_json("settings")["blocked_prefixes"], ["+44", "+1900"])
        # Kept across a restart.
        d.stop()
        d = self.restart(d)
        status, s = d.request("GET", "/api/v1/settings")
        self.assertEqual(s["allowed_destinations"], ["+"])
        self.assertEqual(s["daily_page_limit"], 200)

    def test_bad_values_are_refused_naming_the_key(self):
        d = self.daemon()
        cases = [
            ({"blocked_number_types": ["premium"]}, "blocked_number_types", "known types are"),
            ({"allowed_destinations": ["49"]}, "allowed_destinations", "E.164 prefixes"),
            ({"allowed_destinations": ["+049"]}, "allowed_destinations", "E.164 prefixes"),
            ({"blocked_prefixes": ["+"]}, "blocked_prefixes", "every number"),
            ({"blocked_prefixes": [49]}, "blocked_prefixes", "array of strings"),
            ({"blocked_prefixes": ["+44,+45"]}, "blocked_prefixes", "comma"),
            ({"daily_page_limit": -1}, "daily_page_limit", "whole number"),
            ({"daily_page_limit": "lots"}, "daily_page_limit", "whole number"),
            ({"total_lines": ["4"]}, "total_lines", "array"),
        ]
        before = d.request("GET", "/api/v1/settings")[1]
        for body, key, words in cases:
            status, err = self.settings(d, **body)
            self.assertEqual(status, 400, (body, err))
            self.assertEqual(err["error"]["code"], "invalid_setting", err)
            self.assertIn(key, err["error"]["message"])
            self.assertIn(words, err["error"]["message"])
        # All or nothing: a good key next to a bad one is not applied either.
        status, _ = self.settings(d, blocked_prefixes=["+44"], daily_page_limit=-5)
        self.assertEqual(status, 400)
        self.assertEqual(d.request("GET", "/api/v1/settings")[1], before)
        p = d.cli("settings", "blocked_number_types=premium_rate,premium", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("blocked_number_types: unknown number type 'premium'", p.stderr)
        p = d.cli("settings", "daily_page_limit=x", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("daily_page_limit must be a whole number", p.stderr)


class NumbersParse(PolicyTestCase):
    def test_parse_route(self):
        d = self.daemon()
        self.add_device(d, "100")
        status, n = self.parse(d, "0 089 123456")
        self.assertEqual(status, 200, n)
        self.assertEqual(n, {"input": "0 089 123456", "valid": True, "e164": "+4989123456",
                             "dial_string": "0123456", "national": "089 123456",
                             "international": "+49 89 123456", "as_you_type": "0 089 123456",
                             "type": "fixed_line", "internal": False, "allowed": True, "reason": None,
                             "reason_code": None})
        status, n = self.parse(d, "+49 900 1234567")
        self.assertEqual((n["valid"], n["allowed"], n["type"]), (True, False, "premium_rate"))
        self.assertEqual(n["reason_code"], "destination_not_allowed")
        self.assertIn("premium-rate", n["reason"])
        status, n = self.parse(d, "+49 20")
        self.assertEqual(status, 200)
        self.assertEqual((n["valid"], n["allowed"], n["e164"]), (False, False, None))
        self.assertEqual(n["reason_code"], "invalid_number")
        self.assertIn("not a valid number in DE (+49)", n["reason"])
        status, n = self.parse(d, "+4989")  # while typing
        self.assertEqual(n["as_you_type"], "+49 89")
        status, n = self.parse(d, "100")
        self.assertEqual((n["valid"], n["internal"], n["allowed"], n["dial_string"]), (True, True, True, "100"))
        # Bad requests.
        self.assertEqual(d.request("GET", "/api/v1/numbers/parse")[1]["error"]["code"], "invalid_query")
        status, err = d.request("GET", "/api/v1/numbers/parse?to=1&x=2")
        self.assertEqual((status, err["error"]["code"]), (400, "invalid_query"))
        status, err = self.parse(d, "1" * 101)
        self.assertEqual((status, err["error"]["code"]), (400, "invalid_number"))
        self.assertEqual(d.request("GET", "/api/v1/numbers/parse?to=089", auth=False)[0], 401)

    def test_cli_number(self):
        d = self.daemon()
        p = d.cli("number", "0", "089", "123456")
        self.assertIn("e164           +4989123456\n", p.stdout)
        self.assertIn("national       089 123456\n", p.stdout)
        self.assertIn("allowed        yes\n", p.stdout)
        p = d.cli("number", "+49 900 1234567", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("type           premium_rate\n", p.stdout)
        self.assertIn("allowed        no\n", p.stdout)
        self.assertIn("premium-rate", p.stderr)
        p = d.cli("number", "+49 20", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not a valid number in DE (+49)", p.stderr)
        self.assertEqual(d.cli_json("number", "089 123456")["e164"], "+4989123456")


class Refusals(PolicyTestCase):
    def assertRefused(self, reply, *words):
        status, body = reply
        self.assertEqual(status, 422, body)
        self.assertEqual(body["error"]["code"], "destination_not_allowed", body)
        for w in words:
            self.assertIn(w, body["error"]["message"])

    def test_api_refuses_and_creates_nothing(self):
        d = self.daemon()
        self.add_device(d, "100")
        self.assertRefused(self.send(d, "0 0900 1234567"), "premium-rate", "blocked_number_types")
        self.assertRefused(self.send(d, "0180 5 1234567"), "shared-cost")
        self.assertRefused(self.send(d, "0700 12345678"), "personal number")
        self.assertRefused(self.send(d, "+43 1 2345678"), "not in the allowed destinations (+49",
                           "allowed_destinations")
        status, err = self.send(d, "+49 20")
        self.assertEqual((status, err["error"]["code"]), (400, "invalid_number"))
        self.assertEqual(d.faxes(direction="out"), [])
        # Extra blocked prefixes; the own extensions stay allowed under any policy.
        self.assertEqual(self.settings(d, allowed_destinations=["+43"], blocked_prefixes=["+4989"])[0], 200)
        self.assertRefused(self.send(d, "089 123456"), "not in the allowed destinations (+43")
        self.assertEqual(self.settings(d, allowed_destinations=["+"])[0], 200)
        self.assertRefused(self.send(d, "089 123456"), "starting with +4989", "blocked_prefixes")
        status, job = self.send(d, "100")
        self.assertEqual(status, 201, job)
        self.assertEqual(d.wait_final(job["id"])["state"], "done")
        # Opened up, the Austrian number is taken (and fails later only for want of a trunk).
        status, job = self.send(d, "+43 1 2345678")
        self.assertEqual(status, 201, job)
        self.assertEqual(job["number"], "+4312345678")

    def test_cli_send_refused(self):
        d = self.daemon()
        p = d.cli("send", "-t", "+49 900 1234567", self.pdf, check=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("premium-rate", p.stderr)
        self.assertIn("blocked_number_types", p.stderr)
        self.assertEqual(d.faxes(direction="out"), [])
        d.cli("settings", "blocked_number_types=")
        p = d.cli("send", "-t", "+49 900 1234567", self.pdf, check=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(len(d.faxes(direction="out")), 1)


class Tightened(PolicyTestCase):
    def test_a_queued_job_is_checked_again_before_it_is_dialled(self):
        # An IAX2 peer that never registers: a job to it waits (no attempt spent) and is tried
        # again every second, each time through the policy check.
        d = Daemon(self.tmp, {"iax2": {"bind": "127.0.0.1:0"},
                              "scheduler": {"retry_unavailable_seconds": 1, "retry_unavailable_max_seconds": 1}})
        with open(d.config_path, "a") as f:
            f.write('[[iax2.peer]]\nname = "pbx"\nsecret = "s3cret-s3cret"\n')
        self.daemons.append(d)
        d.start()
        self.assertEqual(self.settings(d, allowed_destinations=["+"])[0], 200)
        status, job = self.send(d, "+43 1 2345678")
        self.assertEqual(status, 201, job)
        d.wait_for(lambda: (f := d.fax(job["id"]))["state"] == "waiting" and f["error"], 60,
                   "the job waiting for the trunk")
        self.assertEqual(self.settings(d, allowed_destinations=None)[0], 200)  # back to +49
        f = d.wait_final(job["id"], 60)
        self.assertEqual(f["state"], "failed")
        self.assertTrue(f["error"].startswith("destination_not_allowed: "), f["error"])
        self.assertIn("not in the allowed destinations (+49", f["error"])
        self.assertEqual(f["attempts"], [])
        d.wait_for_log("may not be dialled")
