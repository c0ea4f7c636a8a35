"""Live events (GET /api/v1/events, Server-Sent Events) and the live calls of GET /lines against the
real vfaxd: a user's stream shows their own fax from queued to done with page progress and never
another user's fax; the admin's stream gets `lines` events with the live call; the stream limits
answer 503 while the API keeps answering; a stop with open streams is quick; no credentials: 401."""
import http.client
import json
import os
import queue
import socket
import threading
import time
import unittest

from vfaxtest import VfaxTestCase, make_pdf

ORDER = ["queued", "converting", "waiting", "dialing", "sending", "done"]


class EventStream:
    """One GET /api/v1/events connection, read on a thread of its own into a queue of events."""

    def __init__(self, d, token=None, cookie=None):
        host, port = d.url[len("http://"):].rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=300)
        headers = {"Accept": "text/event-stream"}
        if token:
            headers["Authorization"] = "Bearer " + token
        if cookie:
            headers["Cookie"] = cookie
        self.conn.request("GET", "/api/v1/events", headers=headers)
        # The server answers with Connection: close, so http.client hands the socket to the
        # response; close() shuts it down itself (as a browser's EventSource.close() does).
        self.sock = self.conn.sock
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = self.resp.headers
        self.events = queue.Queue()
        self.ended = threading.Event()
        self.body = None
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()
        else:
            self.body = json.loads(self.resp.read())
            self.conn.close()

    def _read(self):
        ev = {}
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    break
                line = line.decode().rstrip("\r\n")
                if line == "":
                    if ev:
                        self.events.put(ev)
                    ev = {}
                elif line.startswith(":"):
                    ev["comment"] = line[1:].strip()
                else:
                    k, _, v = line.partition(":")
                    ev[k] = v[1:] if v.startswith(" ") else v
        except (OSError, ValueError, AttributeError, http.client.HTTPException):  # closed by us
            pass
        self.ended.set()

    def next(self, timeout=300):
        return self.events.get(timeout=timeout)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()


class Events(VfaxTestCase):
    def setUp(self):
        super().setUp()
        pdf = make_pdf(os.path.join(self.tmp, "two.pdf"), 2)
        with open(pdf, "rb") as f:
            self.pdf = f.read()

    def users(self, d):
        ids = {}
        for name in ("ann", "bob"):
            ids[name] = d.add_user(name, password=name + "-secret-pw", email=f"{name}@example.test")["id"]
        dev = lambda body: d.request("POST", "/api/v1/devices", body)[1]
        self.dev_ann = dev({"kind": "user", "name": "Ann", "email": "ann@example.test", "extension": "201",
                            "owner": ids["ann"]})
        self.dev_bob = dev({"kind": "user", "name": "Bob", "email": "bob@example.test", "extension": "202",
                            "owner": ids["bob"]})
        tokens = {}
        for name in ("ann", "bob"):
            status, t = d.request("POST", "/api/v1/tokens", {"name": name, "user": ids[name]})
            self.assertEqual(status, 201, t)
            tokens[name] = t["token"]
        return ids, tokens

    def login(self, d, username, password):
        """Returns (cookie, csrf token)."""
        host, port = d.url[len("http://"):].rsplit(":", 1)
        c = http.client.HTTPConnection(host, int(port), timeout=30)
        c.request("POST", "/api/v1/session", json.dumps({"username": username, "password": password}),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        body = json.loads(r.read())
        c.close()
        self.assertEqual(r.status, 201)
        return r.headers["Set-Cookie"].split(";")[0], body["csrf_token"]

    def stream(self, d, **kw):
        s = EventStream(d, **kw)
        self.addCleanup(s.close)
        return s

    def collect(self, s, until, timeout=300):
        """Events of `s` until `until(event)` is true; returns them all."""
        seen = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                ev = s.next(timeout=max(0.1, deadline - time.time()))
            except queue.Empty:
                break
            seen.append(ev)
            if until(ev):
                return seen
        raise AssertionError(f"the awaited event did not come; seen: {seen}")

    def test_own_fax_live_with_pages_and_lines(self):
        d = self.daemon({"loopback": {"realtime": True}})
        _, tokens = self.users(d)
        # Ann's page logs in with a cookie: EventSource sends it and no other header.
        ann = self.stream(d, cookie=self.login(d, "ann", "ann-secret-pw")[0])
        bob = self.stream(d, token=tokens["bob"])
        admin = self.stream(d, token=d.token)
        for s in (ann, bob, admin):
            self.assertEqual(s.status, 200)
            self.assertTrue(s.headers["Content-Type"].startswith("text/event-stream"))
            self.assertEqual(s.next(timeout=30), {"retry": "3000"})

        status, fax = d.post_fax({"to": "202"}, [("two.pdf", self.pdf, "application/pdf")], token=tokens["ann"])
        self.assertEqual(status, 201, fax)
        fid = fax["id"]

        # Ann: her fax, queued (or a step after it) to done, with page progress on the way.
        seen = self.collect(ann, lambda e: e.get("event") == "fax" and json.loads(e["data"])["state"] == "done")
        faxes = [json.loads(e["data"]) for e in seen if e.get("event") == "fax"]
        self.assertEqual({f["id"] for f in faxes}, {fid}, seen)  # never Bob's inbound fax
        states = [f["state"] for f in faxes]
        self.assertIn(states[0], ORDER[:4], states)
        self.assertEqual([s for s in ORDER if s in states], sorted(set(states), key=ORDER.index))
        for a, b in zip(states, states[1:]):
            self.assertLessEqual(ORDER.index(a), ORDER.index(b), states)
        progress = [f["pages"] for f in faxes if f["state"] == "sending"]
        self.assertIn(1, progress, faxes)  # the first page confirmed while the call went on
        self.assertEqual(faxes[-1]["pages"], 2)
        self.assertEqual(faxes[-1]["pages_total"], 2)
        ids = [int(e["id"]) for e in seen if "id" in e]
        self.assertEqual(ids, sorted(set(ids)), seen)  # increasing ids
        # The same JSON as GET /faxes/{id}.
        self.assertEqual(faxes[-1]["id"], d.fax(fid)["id"])
        self.assertEqual(set(faxes[-1]), set(d.fax(fid)))

        # Bob: the inbound fax on his device, receiving to received; never Ann's outbound one.
        seen = self.collect(bob, lambda e: e.get("event") == "fax" and json.loads(e["data"])["state"] == "received")
        bob_faxes = [json.loads(e["data"]) for e in seen if e.get("event") == "fax"]
        self.assertTrue(all(f["direction"] == "in" and f["device"] == self.dev_bob["id"] for f in bob_faxes),
                        bob_faxes)
        self.assertEqual(bob_faxes[0]["state"], "receiving")
        self.assertEqual(bob_faxes[-1]["pages"], 2)

        # The admin: both faxes, and `lines` with the live calls (out and in) while they ran.
        seen = self.collect(admin, lambda e: e.get("event") == "fax"
                            and json.loads(e["data"])["state"] == "received")
        lines = [json.loads(e["data"]) for e in seen if e.get("event") == "lines"]
        calls = [c for l in lines for c in l["calls"]]
        out = [c for c in calls if c["fax"] == fid]
        self.assertTrue(out, lines)
        self.assertTrue(all(c["direction"] == "out" and c["number"] == "202" and c["trunk"] == "loopback"
                            and c["device"] == self.dev_ann["id"] and c["pages_total"] == 2 for c in out), out)
        self.assertTrue({c["phase"] for c in out} <= {"dialing", "training", "sending", "ending"}, out)
        self.assertIn("sending", {c["phase"] for c in out}, out)
        self.assertTrue(any(c["bit_rate"] for c in out), out)
        self.assertTrue(all(1 <= c["page"] <= 2 or c["phase"] in ("dialing", "ending") for c in out), out)
        inbound = [c for c in calls if c["direction"] == "in"]
        self.assertTrue(inbound and all(c["device"] == self.dev_bob["id"] and c["pages_total"] is None
                                        for c in inbound), inbound)
        admin_faxes = {json.loads(e["data"])["id"] for e in seen if e.get("event") == "fax"}
        self.assertEqual(len(admin_faxes), 2)
        # Ann's and Bob's streams carry `lines` too, with their own calls only.
        for e in list(ann.events.queue) + list(bob.events.queue):
            if e.get("event") == "lines":
                for c in json.loads(e["data"])["calls"]:
                    self.assertIn(c["device"], (self.dev_ann["id"], self.dev_bob["id"]))
        # And now no calls: GET /lines shows none.
        status, l = d.request("GET", "/api/v1/lines")
        self.assertEqual((status, l["calls"]), (200, []))

    def test_lines_calls_visible_to_their_owner_only(self):
        d = self.daemon({"loopback": {"realtime": True}})
        _, tokens = self.users(d)
        status, fax = d.post_fax({"to": "202"}, [("two.pdf", self.pdf, "application/pdf")], token=tokens["ann"])
        self.assertEqual(status, 201, fax)
        live = d.wait_for(lambda: [c for c in d.request("GET", "/api/v1/lines")[1]["calls"] if c["fax"] == fax["id"]],
                          timeout=120, what="the live call in /lines")
        self.assertEqual(live[0]["direction"], "out")
        d.wait_for(lambda: f"call       {fax['id']} out 202 via loopback: " in d.cli("lines").stdout,
                   timeout=120, what="the call in vfax lines")
        mine = d.request("GET", "/api/v1/lines", token=tokens["ann"])[1]["calls"]
        self.assertTrue(all(c["device"] == self.dev_ann["id"] for c in mine), mine)
        theirs = d.request("GET", "/api/v1/lines", token=tokens["bob"])[1]["calls"]
        self.assertTrue(all(c["device"] == self.dev_bob["id"] for c in theirs), theirs)
        self.assertNotIn(fax["id"], [c["fax"] for c in theirs])
        d.wait_final(fax["id"])

    def test_limits_unauthenticated_and_a_quick_stop(self):
        d = self.daemon({"api": {"max_event_streams": 12}})
        _, tokens = self.users(d)
        # No credentials, a wrong token, a broken cookie: 401 as JSON.
        for kw in ({}, {"token": "nope"}, {"cookie": "vfax_session=nope"}):
            s = self.stream(d, **kw)
            self.assertEqual(s.status, 401, kw)
            self.assertEqual(s.body["error"]["code"], "unauthorized")
        # 8 per user.
        anns = [self.stream(d, token=tokens["ann"]) for _ in range(8)]
        self.assertEqual([s.status for s in anns], [200] * 8)
        s = self.stream(d, token=tokens["ann"])
        self.assertEqual((s.status, s.body["error"]["code"]), (503, "too_many_streams"))
        # 12 in all: more than httplib's 8 default workers are held, and the API still answers.
        others = [self.stream(d, token=tokens["bob"]) for _ in range(4)]
        self.assertEqual([s.status for s in others], [200] * 4)
        s = self.stream(d, token=d.token)
        self.assertEqual((s.status, s.body["error"]["code"]), (503, "too_many_streams"))
        status, metrics = d.request("GET", "/metrics", raw=True)
        self.assertEqual(status, 200)
        self.assertIn(b"vfax_event_streams 12\n", metrics)
        self.assertIn(b"vfax_event_streams_max 12\n", metrics)
        for _ in range(3):
            self.assertEqual(d.request("GET", "/api/v1/lines")[0], 200)
            self.assertEqual(d.request("GET", "/api/v1/faxes")[0], 200)
        status, fax = d.post_fax({"to": "202"}, [("two.pdf", self.pdf, "application/pdf")], token=tokens["ann"])
        self.assertEqual(status, 201, fax)
        self.assertEqual(d.wait_final(fax["id"])["state"], "done")
        # A closed stream frees its place.
        anns[0].close()
        # (vfaxd learns of it when a write fails: the keep-alive comments every 15 s.)
        d.wait_for(lambda: self.stream(d, token=d.token).status == 200, timeout=90, what="a free stream")
        # Stopping with every stream open is quick, and each stream ends.
        status, seconds = d.terminate()
        self.assertEqual(status, 0, d.log())
        self.assertLess(seconds, 5.0, d.log())
        for s in anns[1:] + others:
            self.assertTrue(s.ended.wait(10))

    def test_a_stream_ends_when_its_session_or_token_does(self):
        d = self.daemon()
        ids, tokens = self.users(d)
        cookie, csrf = self.login(d, "ann", "ann-secret-pw")
        by_cookie = self.stream(d, cookie=cookie)
        status, t = d.request("POST", "/api/v1/tokens", {"name": "page", "user": ids["bob"]})
        by_token = self.stream(d, token=t["token"])
        kept = self.stream(d, token=tokens["bob"])
        for s in (by_cookie, by_token, kept):
            self.assertEqual(s.status, 200)
        status, _ = d.request("DELETE", "/api/v1/session", auth=False,
                              headers={"Cookie": cookie, "X-CSRF-Token": csrf, "Origin": d.url})
        self.assertEqual(status, 204)
        self.assertEqual(d.request("DELETE", f"/api/v1/tokens/{t['id']}")[0], 204)
        # Checked again at least every 60 s.
        self.assertTrue(by_cookie.ended.wait(90), d.log())
        self.assertTrue(by_token.ended.wait(90), d.log())
        self.assertFalse(kept.ended.is_set())
        self.assertEqual(self.stream(d, cookie=cookie).status, 401)

    def test_bad_config_value(self):
        from vfaxtest import Daemon
        bad = Daemon(self.tmp, {"api": {"max_event_streams": 0}}, name="bad")
        with self.assertRaises(AssertionError) as e:
            bad.start(timeout=20)
        self.assertIn("max_event_streams", str(e.exception))


if __name__ == "__main__":
    unittest.main()
