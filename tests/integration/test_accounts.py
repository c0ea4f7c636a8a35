"""Accounts against the real vfaxd: every route for {owner, other user, team member, admin, no
credentials, expired token, disabled user}; sessions with CSRF; login throttling; the daily page
limit; the audit log; the user CLI."""
import http.client
import json
import os
import time
import unittest

from vfaxtest import VfaxTestCase, make_pdf


class Accounts(VfaxTestCase):
    def setUp(self):
        super().setUp()
        d = self.d = self.daemon()
        pdf = make_pdf(os.path.join(self.tmp, "one.pdf"), 1)
        with open(pdf, "rb") as f:
            self.pdf = f.read()
        self.users = {}
        for name in ("ann", "bob", "tina", "dan"):
            self.users[name] = d.add_user(name, password=name + "-secret-pw", email=f"{name}@example.test")
        ids = {n: u["id"] for n, u in self.users.items()}
        dev = lambda body: d.request("POST", "/api/v1/devices", body)[1]
        self.dev_ann = dev({"kind": "user", "name": "Ann", "email": "ann@example.test", "extension": "201",
                            "owner": ids["ann"]})
        self.dev_bob = dev({"kind": "user", "name": "Bob", "email": "bob@example.test", "extension": "202",
                            "owner": ids["bob"]})
        self.dev_team = dev({"kind": "team", "name": "Sales", "email": "sales@example.test", "extension": "300",
                             "members": [ids["tina"]]})
        self.tokens = {}
        for name in ("ann", "bob", "tina", "dan"):
            status, t = d.request("POST", "/api/v1/tokens", {"name": name, "user": ids[name]})
            self.assertEqual(status, 201, t)
            self.tokens[name] = t["token"]
        status, t = d.request("POST", "/api/v1/tokens",
                              {"name": "short", "user": ids["ann"], "expires_in_days": 0.00001})
        self.assertEqual(status, 201, t)
        self.tokens["expired"] = t["token"]
        self.tokens["admin"] = d.token
        # Ann faxes Bob (internal), Tina faxes Ann through the team device.
        status, fax = d.post_fax({"to": "202"}, [("a.pdf", self.pdf, "application/pdf")], token=self.tokens["ann"])
        self.assertEqual(status, 201, fax)
        self.ann_out = fax["id"]
        self.assertEqual(fax["device"], self.dev_ann["id"])
        self.assertEqual(fax["notify"], "ann@example.test")
        status, fax = d.post_fax({"to": "201"}, [("t.pdf", self.pdf, "application/pdf")], token=self.tokens["tina"])
        self.assertEqual(status, 201, fax)
        self.team_out = fax["id"]
        d.wait_final(self.ann_out)
        d.wait_final(self.team_out)
        self.bob_in = d.wait_for(lambda: [f["id"] for f in d.faxes("in") if f["device"] == self.dev_bob["id"]],
                                 what="Bob's inbound fax")[0]
        self.assertEqual(d.request("PUT", f"/api/v1/users/{ids['dan']}", {"enabled": False})[0], 200)
        time.sleep(1.2)  # the short token expires

    def call(self, who, method, path, body=None):
        if who == "none":
            return self.d.request(method, path, body, auth=False)
        return self.d.request(method, path, body, token=self.tokens[who])

    def test_every_route_for_every_caller(self):
        a, t, b = self.ann_out, self.team_out, self.bob_in
        ann, bob = self.users["ann"]["id"], self.users["bob"]["id"]
        who = ("ann", "bob", "tina", "admin", "none", "expired", "dan")
        # route -> expected status for (ann, bob, tina, admin); none/expired/dan always 401.
        table = [
            ("GET", f"/api/v1/faxes/{a}", (200, 404, 404, 200)),
            ("GET", f"/api/v1/faxes/{a}/document.pdf", (200, 404, 404, 200)),
            ("GET", f"/api/v1/faxes/{a}/document.tiff", (200, 404, 404, 200)),
            ("GET", f"/api/v1/faxes/{a}/preview.png", (200, 404, 404, 200)),
            ("GET", f"/api/v1/faxes/{a}/pages/1.png", (200, 404, 404, 200)),
            ("POST", f"/api/v1/faxes/{a}/cancel", (409, 404, 404, 409)),
            ("GET", f"/api/v1/faxes/{a}/pages/1.png?width=860", (200, 404, 404, 200)),
            ("POST", f"/api/v1/faxes/{b}/resend", (404, 400, 404, 400)),  # a received fax needs `to`
            ("GET", f"/api/v1/previews/{'0' * 32}/pages/1.png", (404, 404, 404, 404)),
            ("GET", f"/api/v1/faxes/{t}", (404, 404, 200, 200)),
            ("GET", f"/api/v1/faxes/{b}", (404, 200, 404, 200)),
            ("GET", "/api/v1/faxes", (200, 200, 200, 200)),
            ("GET", "/api/v1/settings", (403, 403, 403, 200)),
            ("PUT", "/api/v1/settings", (403, 403, 403, 200)),
            ("GET", "/api/v1/devices", (200, 200, 200, 200)),
            ("GET", f"/api/v1/devices/{self.dev_bob['id']}", (404, 200, 404, 200)),
            ("POST", "/api/v1/devices", (403, 403, 403, 400)),
            ("PUT", f"/api/v1/devices/{self.dev_ann['id']}", (403, 403, 403, 200)),
            ("DELETE", "/api/v1/devices/999", (403, 403, 403, 404)),
            ("GET", "/api/v1/users", (403, 403, 403, 200)),
            ("POST", "/api/v1/users", (403, 403, 403, 400)),
            ("GET", f"/api/v1/users/{ann}", (200, 404, 404, 200)),
            ("PUT", f"/api/v1/users/{ann}", (200, 404, 404, 200)),
            ("DELETE", f"/api/v1/users/{bob}", (403, 403, 403, None)),
            ("GET", "/api/v1/tokens", (200, 200, 200, 200)),
            ("GET", "/api/v1/session", (200, 200, 200, 200)),
            ("GET", "/api/v1/lines", (200, 200, 200, 200)),
            ("GET", "/api/v1/audit", (403, 403, 403, 200)),
            ("POST", "/api/v1/maintenance/cleanup", (403, 403, 403, None)),
            ("GET", "/api/v1/trunks/iax2", (403, 403, 403, 200)),
            ("GET", "/api/v1/trunks/sip", (403, 403, 403, 200)),
            ("PUT", "/api/v1/trunks/sip", (403, 403, 403, 200)),
            ("DELETE", "/api/v1/trunks/sip/peers/nobody", (403, 403, 403, 404)),
            ("GET", "/api/v1/mail/settings", (403, 403, 403, 200)),
            ("PUT", "/api/v1/mail/settings", (403, 403, 403, 200)),
            ("GET", "/api/v1/mail/outbox", (200, 200, 200, 200)),
            ("POST", "/api/v1/mail/check", (403, 403, 403, 409)),  # no mailbox set up
            ("GET", "/metrics", (200, 200, 200, 200)),
        ]
        bodies = {"PUT": {}, "POST": {}}
        failures = []
        for method, path, expect in table:
            for i, caller in enumerate(who):
                want = expect[i] if i < 4 else 401
                if want is None:
                    continue
                status, body = self.call(caller, method, path, bodies.get(method))
                if status != want:
                    failures.append(f"{caller} {method} {path}: {status} (want {want}) {str(body)[:120]}")
        self.assertEqual(failures, [])
        # Lists show only what is the caller's.
        ids = lambda who: {f["id"] for f in self.call(who, "GET", "/api/v1/faxes?limit=500")[1]["faxes"]}
        self.assertIn(a, ids("ann"))
        self.assertNotIn(t, ids("ann"))
        self.assertNotIn(b, ids("ann"))
        self.assertEqual(ids("bob") & {a, t}, set())
        self.assertIn(b, ids("bob"))
        self.assertEqual(ids("tina") & {a, b}, set())
        self.assertTrue({a, t, b} <= ids("admin"))
        devs = lambda who: [x["id"] for x in self.call(who, "GET", "/api/v1/devices")[1]["devices"]]
        self.assertEqual(devs("ann"), [self.dev_ann["id"]])
        self.assertEqual(devs("tina"), [self.dev_team["id"]])
        toks = {x["user"] for x in self.call("ann", "GET", "/api/v1/tokens")[1]["tokens"]}
        self.assertEqual(toks, {ann})

    def test_sending_with_someone_elses_device_or_none(self):
        status, body = self.d.post_fax({"to": "300", "device": str(self.dev_bob["id"])},
                                       [("a.pdf", self.pdf, "application/pdf")], token=self.tokens["ann"])
        self.assertEqual((status, body["error"]["code"]), (400, "unknown_device"), body)
        carl = self.d.user_token("carl")
        status, body = self.d.post_fax({"to": "300"}, [("a.pdf", self.pdf, "application/pdf")], token=carl)
        self.assertEqual((status, body["error"]["code"]), (403, "forbidden"), body)
        # A user cannot make themselves admin, nor create tokens for others.
        ann = self.users["ann"]["id"]
        self.assertEqual(self.call("ann", "PUT", f"/api/v1/users/{ann}", {"role": "admin"})[0], 403)
        self.assertEqual(self.call("ann", "POST", "/api/v1/tokens",
                                   {"name": "x", "user": self.users["bob"]["id"]})[0], 403)

    def test_bad_account_input_gets_a_clear_error_and_changes_nothing(self):
        users_before = self.d.request("GET", "/api/v1/users")[1]["users"]
        ann = self.users["ann"]["id"]
        cases = [
            ("POST", "/api/v1/users", {"username": "bad name"}, 400, "invalid_request", "username"),
            ("POST", "/api/v1/users", {"username": "carl", "password": "short"}, 400, "invalid_request", "password"),
            ("POST", "/api/v1/users", {"username": "carl", "role": "root"}, 400, "invalid_request", "role"),
            ("POST", "/api/v1/users", {"username": "carl", "email": "not-an-address"}, 400, "invalid_request", "email"),
            ("POST", "/api/v1/users", {"username": "carl", "shoe_size": 9}, 400, "unknown_field", "shoe_size"),
            ("POST", "/api/v1/users", {"username": "ANN"}, 409, "conflict", "already a user"),
            ("POST", "/api/v1/users", [1], 400, "invalid_json", None),
            ("PUT", f"/api/v1/users/{ann}", {"enabled": "yes"}, 400, "invalid_request", "enabled"),
            ("PUT", "/api/v1/users/424242", {"name": "x"}, 404, "not_found", None),
            ("POST", "/api/v1/tokens", {"name": ""}, 400, "invalid_request", "name"),
            ("POST", "/api/v1/tokens", {"name": "x", "user": 424242}, 400, "invalid_request", "user"),
            ("POST", "/api/v1/tokens", {"name": "x", "expires_in_days": 0}, 400, "invalid_request", "expires_in_days"),
            ("POST", "/api/v1/devices", {"kind": "user", "name": "X", "email": "x@example.test",
                                         "extension": "250", "owner": 424242}, 400, "invalid_device", "424242"),
            ("POST", "/api/v1/devices", {"kind": "team", "name": "X", "email": "x@example.test",
                                         "extension": "251", "owner": ann}, 400, "invalid_device", "owner"),
            ("POST", "/api/v1/devices", {"kind": "user", "name": "X", "email": "x@example.test",
                                         "extension": "252", "members": [ann]}, 400, "invalid_device", "members"),
            ("POST", "/api/v1/session", {"username": "ann"}, 400, "invalid_request", "password"),
            ("POST", "/api/v1/session", {"username": "ann", "password": 5}, 400, "invalid_request", "password"),
            ("GET", "/api/v1/audit?limit=0", None, 400, "invalid_query", "limit"),
            ("GET", "/api/v1/tokens?user=x", None, 400, "invalid_query", "user"),
        ]
        for method, path, body, status, code, word in cases:
            got, reply = self.d.request(method, path, body)
            self.assertEqual((got, reply["error"]["code"]), (status, code), (method, path, body, reply))
            if word:
                self.assertIn(word, reply["error"]["message"], (method, path, reply))
        self.assertEqual(self.d.request("GET", "/api/v1/users")[1]["users"], users_before)
        self.assertEqual(len(self.d.request("GET", "/api/v1/devices")[1]["devices"]), 3)

    def test_daily_page_limit(self):
        self.assertEqual(self.d.request("PUT", "/api/v1/settings", {"daily_page_limit": 1})[0], 200)
        status, body = self.d.post_fax({"to": "202"}, [("a.pdf", self.pdf, "application/pdf")],
                                       token=self.tokens["ann"])
        self.assertEqual((status, body["error"]["code"]), (422, "destination_not_allowed"), body)
        self.assertIn("daily page limit", body["error"]["message"])
        # Bob has sent nothing today.
        status, body = self.d.post_fax({"to": "201"}, [("a.pdf", self.pdf, "application/pdf")],
                                       token=self.tokens["bob"])
        self.assertEqual(status, 201, body)

    def login(self, username, password, source="127.0.0.1"):
        host, port = self.d.url.split("//")[1].split(":")
        c = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(source, 0))
        c.request("POST", "/api/v1/session", json.dumps({"username": username, "password": password}),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
        return r.status, r.headers, json.loads(body) if body else None

    def test_session_cookie_and_csrf(self):
        status, headers, body = self.login("ann", "ann-secret-pw")
        self.assertEqual(status, 201, body)
        cookie = headers["Set-Cookie"]
        for attr in ("HttpOnly", "SameSite=Strict", "Path=/"):
            self.assertIn(attr, cookie)
        value = cookie.split(";")[0]
        csrf = body["csrf_token"]
        origin = self.d.url
        ann = self.users["ann"]["id"]
        req = lambda method, path, body=None, h=None: self.d.request(
            method, path, body, auth=False, headers={"Cookie": value, **(h or {})})
        status, me = req("GET", "/api/v1/session")
        self.assertEqual((status, me["user"]["username"], me["csrf_token"]), (200, "ann", csrf), me)
        self.assertEqual(req("GET", f"/api/v1/faxes/{self.ann_out}")[0], 200)
        # Writes with the cookie need the CSRF token and our own Origin.
        self.assertEqual(req("PUT", f"/api/v1/users/{ann}", {"name": "A"})[0], 403)
        self.assertEqual(req("PUT", f"/api/v1/users/{ann}", {"name": "A"},
                             {"X-CSRF-Token": csrf, "Origin": "http://evil.example"})[0], 403)
        self.assertEqual(req("PUT", f"/api/v1/users/{ann}", {"name": "A"},
                             {"X-CSRF-Token": "0" * 40, "Origin": origin})[0], 403)
        self.assertEqual(req("PUT", f"/api/v1/users/{ann}", {"name": "A"},
                             {"X-CSRF-Token": csrf, "Origin": origin})[0], 200)
        # Changing the password needs the current one, and ends the user's other sessions.
        other = self.login("ann", "ann-secret-pw")[1]["Set-Cookie"].split(";")[0]
        self.assertEqual(req("PUT", f"/api/v1/users/{ann}", {"password": "new-secret-pw"},
                             {"X-CSRF-Token": csrf, "Origin": origin})[0], 403)
        # A GET result sent back as it is changes nothing, and is no attempt to change the role.
        status, mine = req("GET", f"/api/v1/users/{ann}")
        self.assertEqual(req("PUT", f"/api/v1/users/{ann}", mine, {"X-CSRF-Token": csrf, "Origin": origin})[0], 200)
        # A login from another site is refused (login CSRF).
        status, _ = self.d.request("POST", "/api/v1/session", {"username": "ann", "password": "ann-secret-pw"},
                                   auth=False, headers={"Origin": "http://evil.example"})
        self.assertEqual(status, 403)
        self.assertEqual(req("PUT", f"/api/v1/users/{ann}",
                             {"password": "new-secret-pw", "current_password": "ann-secret-pw"},
                             {"X-CSRF-Token": csrf, "Origin": origin})[0], 200)
        self.assertEqual(self.d.request("GET", "/api/v1/session", auth=False, headers={"Cookie": other})[0], 401)
        self.assertEqual(req("DELETE", "/api/v1/session", None, {"X-CSRF-Token": csrf, "Origin": origin})[0], 204)
        self.assertEqual(req("GET", "/api/v1/session")[0], 401)
        # A disabled user cannot log in.
        self.assertEqual(self.login("dan", "dan-secret-pw")[0], 401)

    def test_login_throttling(self):
        for _ in range(5):
            self.assertEqual(self.login("bob", "wrong-password")[0], 401)
        status, headers, body = self.login("bob", "bob-secret-pw")
        self.assertEqual((status, body["error"]["code"]), (429, "too_many_requests"), body)
        self.assertGreaterEqual(int(headers["Retry-After"]), 1)
        # From another address the real user still gets in.
        status, _, body = self.login("bob", "bob-secret-pw", source="127.0.0.2")
        self.assertEqual(status, 201, body)
        # Failures of others from a shared address (NAT, a proxy) do not hold a user who logged in
        # from there before; a user new at that address is held.
        self.assertEqual(self.login("tina", "tina-secret-pw", source="127.0.0.5")[0], 201)
        for i in range(25):
            self.login(f"guess{i}", "wrong-password", source="127.0.0.5")
        self.assertEqual(self.login("tina", "tina-secret-pw", source="127.0.0.5")[0], 201)
        self.assertEqual(self.login("ann", "ann-secret-pw", source="127.0.0.5")[0], 429)
        # Unknown users answer as wrong passwords do.
        status, _, body = self.login("nobody", "whatever-pw", source="127.0.0.3")
        self.assertEqual((status, body["error"]["code"]), (401, "unauthorized"))

    def test_cli_login_keeps_a_personal_token(self):
        home = os.path.join(self.tmp, "home")
        os.makedirs(home)
        env = dict(os.environ, HOME=home, XDG_CONFIG_HOME="", VFAX_TOKEN="", VFAX_URL=self.d.url)
        run = lambda *args, **kw: __import__("subprocess").run(
            [os.environ["VFAX"], *args], env=env, capture_output=True, text=True, timeout=120, **kw)
        p = run("login", "ann", "--password-stdin", input="wrong-password\n")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("wrong username or password", p.stderr)
        p = run("login", "ann", "--password-stdin", input="ann-secret-pw\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        path = os.path.join(home, ".config", "vfax", "credentials")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        self.assertNotIn("ann-secret-pw", open(path).read())
        # Later commands use it, with Ann's rights.
        env["VFAX_URL"] = ""
        p = run("whoami")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("ann (user)", p.stdout)
        self.assertEqual(run("settings").returncode, 1)
        p = run("logout")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertFalse(os.path.exists(path))
        names = [t["name"] for t in self.call("admin", "GET", f"/api/v1/tokens?user={self.users['ann']['id']}")[1]["tokens"]]
        self.assertFalse([n for n in names if n.startswith("vfax CLI on")])

    def test_admin_password_reset_revokes_tokens(self):
        bob = self.users["bob"]["id"]
        self.assertEqual(self.call("bob", "GET", "/api/v1/session")[0], 200)
        self.assertEqual(self.d.request("PUT", f"/api/v1/users/{bob}", {"password": "reset-by-admin"})[0], 200)
        self.assertEqual(self.call("bob", "GET", "/api/v1/session")[0], 401)
        # A disabled user's tokens stop working at once.
        self.assertEqual(self.call("tina", "GET", "/api/v1/session")[0], 200)
        self.assertEqual(self.d.request("PUT", f"/api/v1/users/{self.users['tina']['id']}", {"enabled": False})[0], 200)
        self.assertEqual(self.call("tina", "GET", "/api/v1/session")[0], 401)

    def test_audit_log_and_user_cli(self):
        self.login("bob", "wrong-password", source="127.0.0.4")
        self.d.request("GET", f"/api/v1/faxes/{self.ann_out}/document.pdf", token=self.tokens["ann"])
        p = self.d.cli("user", "add", "carl", "--email", "carl@example.test", "--password-stdin",
                       "--json", input="carl-secret-pw\n")
        carl = json.loads(p.stdout)
        self.assertEqual((carl["username"], carl["role"], carl["has_password"]), ("carl", "user", True))
        self.assertNotIn("carl-secret-pw", p.stdout + p.stderr)
        self.assertEqual(self.login("carl", "carl-secret-pw")[0], 201)
        self.assertIn("carl", self.d.cli("user", "list").stdout)
        self.d.cli("user", "update", "carl", "--role", "admin")
        self.d.cli("user", "rm", "carl")
        who = self.d.cli("whoami", token=self.tokens["ann"]).stdout
        self.assertIn("ann (user)", who)
        status, log = self.d.request("GET", "/api/v1/audit?limit=1000")
        self.assertEqual(status, 200, log)
        actions = [(e["action"], e["username"]) for e in log["entries"]]
        for want in [("fax.send", "ann"), ("fax.send", "tina"), ("login_failed", "bob"), ("fax.download", "ann"),
                     ("user.create", "admin"), ("user.update", "admin"), ("user.delete", "admin"),
                     ("device.create", "admin"), ("token.create", "admin"), ("login", "carl")]:
            self.assertIn(want, actions)
        failed = [e for e in log["entries"] if e["action"] == "login_failed"][0]
        self.assertEqual(failed["source"], "127.0.0.4")
        self.assertNotIn("wrong-password", json.dumps(log))
        # A username with control characters reaches the log without them.
        self.login("x\x1b[2Jy", "wrong-password", source="127.0.0.6")
        status, log = self.d.request("GET", "/api/v1/audit?action=login_failed")
        self.assertTrue(any(e["username"] == "x?[2Jy" for e in log["entries"]), log)
        self.assertIn("login_failed", self.d.cli("audit", "--action", "login_failed").stdout)
        status, only = self.d.request("GET", "/api/v1/audit?action=fax.")
        self.assertTrue(only["entries"] and all(e["action"].startswith("fax.") for e in only["entries"]))
        self.assertEqual(self.d.request("GET", "/api/v1/audit?bogus=1")[0], 400)


if __name__ == "__main__":
    unittest.main()
