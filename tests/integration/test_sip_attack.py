"""The SIP trunk under attack (issue 12, part 5 "Safety"): the real vfaxd with a [sip] section on
127.0.0.1, attacked from raw UDP and TCP sockets on other loopback addresses.

Peers of every test: "pbx" is allowed by address (127.0.0.2, no secret), "digest" is allowed from
127.0.0.1 and 127.0.0.3 with a username and secret (every INVITE needs a digest). Anything else
(127.0.0.5 and up, 127.0.1.x) is a stranger. All traffic stays on 127.0.0.0/8.

Tests marked expectedFailure document a finding of the SIP attack review (the comment names it);
the lead flips them once the fix is in."""
import hashlib
import os
import re
import socket
import time
import unittest

from vfaxtest import Daemon, VfaxTestCase, make_pdf, receive_datagrams

PEER_IP = "127.0.0.2"
DIGEST_IP = "127.0.0.1"
DIGEST_IP2 = "127.0.0.3"
DIGEST_USER = "vfaxpeer"
DIGEST_SECRET = "digest-secret-1"
REALM = "vfax"
FINAL = re.compile(rb"^SIP/2\.0 ([2-6]\d\d) ")


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (vfaxd's [sip] listen needs a number to tell us)."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise AssertionError("no free port")


def udp(ip, port=0, timeout=1.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((ip, port))
    s.settimeout(timeout)
    return s


def receive(sock, seconds):
    return receive_datagrams(sock, seconds)


def status_of(packet):
    m = re.match(rb"^SIP/2\.0 (\d\d\d) ", packet)
    return int(m.group(1)) if m else None


def header(packet, name):
    m = re.search(rb"^" + name.encode() + rb":\s*(.*?)\r$", packet, re.M | re.I)
    return m.group(1).decode() if m else None


def md5(text):
    return hashlib.md5(text.encode()).hexdigest()


def sdp(ip="127.0.0.2", audio_port=40000, extra=""):
    return ("v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
            "m=audio {port} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n{extra}").format(
                ip=ip, port=audio_port, extra=extra).encode()


class Sip:
    """One SIP user agent on a UDP socket bound to a loopback address."""

    def __init__(self, server_port, ip, timeout=1.0):
        self.server = ("127.0.0.1", server_port)
        self.sock = udp(ip, timeout=timeout)
        self.ip, self.port = self.sock.getsockname()
        self.n = 0

    def close(self):
        self.sock.close()

    def request(self, method, call_id, body=b"", cseq=1, via=None, extra="", uri=None, to_tag="",
                content_type="application/sdp", branch=None):
        self.n += 1
        uri = uri or f"sip:100@127.0.0.1:{self.server[1]}"
        via = via or f"{self.ip}:{self.port}"
        branch = branch or f"z9hG4bK{call_id}-{self.n}"
        lines = [f"{method} {uri} SIP/2.0",
                 f"Via: SIP/2.0/UDP {via};branch={branch}",
                 "Max-Forwards: 70",
                 f"From: \"Tester\" <sip:555@{self.ip}>;tag=t{call_id}",
                 f"To: <sip:100@127.0.0.1>{';tag=' + to_tag if to_tag else ''}",
                 f"Call-ID: {call_id}",
                 f"CSeq: {cseq} {method}",
                 f"Contact: <sip:555@{self.ip}:{self.port}>"]
        if extra:
            lines.append(extra.rstrip("\r\n"))
        if body:
            lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def send(self, packet):
        self.sock.sendto(packet, self.server)

    def answers(self, seconds=1.5):
        return [d for d, _ in receive(self.sock, seconds)]

    def final(self, call_id, seconds=5.0):
        """The first final answer for `call_id`, or None."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for data in self.answers(min(0.5, deadline - time.monotonic())):
                if FINAL.match(data) and f"Call-ID: {call_id}".encode() in data:
                    return data
        return None

    def ack(self, call_id, final, cseq=1):
        """ACK of a non-2xx final (same branch as the INVITE: taken from its Via)."""
        via = header(final, "Via")
        branch = re.search(r"branch=([^;\s]+)", via).group(1)
        to = header(final, "To")
        tag = re.search(r"tag=([^;\s]+)", to).group(1)
        self.send(self.request("ACK", call_id, cseq=cseq, to_tag=tag, branch=branch))


def authorization(challenge, uri, user=DIGEST_USER, secret=DIGEST_SECRET, method="INVITE", nc="00000001",
                  cnonce="0a4f113b", nonce=None):
    """An Authorization header answering a 401's WWW-Authenticate (qop=auth)."""
    if nonce is None:
        nonce = re.search(r'nonce="([^"]+)"', header(challenge, "WWW-Authenticate")).group(1)
    ha1 = md5(f"{user}:{REALM}:{secret}")
    ha2 = md5(f"{method}:{uri}")
    response = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
    return (f'Authorization: Digest username="{user}", realm="{REALM}", nonce="{nonce}", uri="{uri}", '
            f'response="{response}", algorithm=MD5, qop=auth, nc={nc}, cnonce="{cnonce}"')


class SipAttack(VfaxTestCase):
    def setUp(self):
        super().setUp()
        self.port = free_port()
        d = Daemon(self.tmp, {"sip": {"listen": [f"udp:127.0.0.1:{self.port}", f"tcp:127.0.0.1:{self.port}"]}})
        with open(d.config_path, "a") as f:
            f.write(f'[[sip.peer]]\nname = "pbx"\nmatch = ["{PEER_IP}"]\n'
                    f'[[sip.peer]]\nname = "digest"\nmatch = ["{DIGEST_IP}", "{DIGEST_IP2}"]\n'
                    f'username = "{DIGEST_USER}"\nsecret = "{DIGEST_SECRET}"\n')
        self.daemons.append(d)
        # The sanitizer build keeps freed memory in a 256 MB quarantine, which would hide what the
        # RSS check looks for: a small quarantine for this vfaxd (no effect on other builds).
        saved = os.environ.get("ASAN_OPTIONS")
        os.environ["ASAN_OPTIONS"] = ((saved + ":") if saved else "") + "quarantine_size_mb=4"
        try:
            self.d = d.start()
        finally:
            if saved is None:
                del os.environ["ASAN_OPTIONS"]
            else:
                os.environ["ASAN_OPTIONS"] = saved
        self.sockets = []
        # Ready when the allowed peer's OPTIONS gets its 200.
        pbx = self.ua(PEER_IP)
        for i in range(100):
            pbx.send(pbx.request("OPTIONS", f"ready{i}"))
            got = pbx.answers(0.3)
            if any(status_of(a) == 200 for a in got):
                return
        raise AssertionError("the SIP trunk never answered the peer's OPTIONS\n" + d.log())

    def tearDown(self):
        for s in self.sockets:
            s.close()
        super().tearDown()

    def ua(self, ip, timeout=1.0):
        s = Sip(self.port, ip, timeout)
        self.sockets.append(s)
        return s

    def rss_kb(self):
        with open(f"/proc/{self.d.proc.pid}/status") as f:
            return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))

    def assert_alive(self):
        self.assertIsNone(self.d.proc.poll(), "vfaxd exited\n" + self.d.log())
        status, body = self.d.request("GET", "/api/v1/healthz", auth=False)
        self.assertEqual(status, 200, body)

    def sip_stats(self):
        status, body = self.d.request("GET", "/api/v1/trunks/sip")
        self.assertEqual(status, 200, body)
        return body

    def assert_call_works(self, ua, call_id, auth_from=None):
        """An INVITE that gets to ringing (or answered), then CANCEL (or BYE): the trunk still takes calls."""
        uri = f"sip:100@127.0.0.1:{self.port}"
        extra = ""
        if auth_from is not None:
            extra = authorization(auth_from, uri)
        invite = ua.request("INVITE", call_id, body=sdp(ua.ip), extra=extra)
        ua.send(invite)
        got = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            got += ua.answers(0.5)
            codes = [status_of(a) for a in got]
            if 180 in codes or 183 in codes or 200 in codes or any(c and c >= 300 for c in codes):
                break
        codes = [status_of(a) for a in got]
        self.assertTrue({180, 183, 200} & set(codes), f"no ringing or answer, got {codes}\n{self.d.log()}")
        if 200 in codes:
            ok = next(a for a in got if status_of(a) == 200)
            tag = re.search(r"tag=([^;\s]+)", header(ok, "To")).group(1)
            ua.send(ua.request("ACK", call_id, to_tag=tag))
            ua.send(ua.request("BYE", call_id, cseq=2, to_tag=tag))
            return
        # CANCEL: same branch and CSeq number as the INVITE.
        branch = re.search(rb"branch=([^;\s]+)", invite).group(1).decode()
        ua.send(ua.request("CANCEL", call_id, branch=branch))
        final = ua.final(call_id, 10)
        if final is not None and status_of(final) >= 300:
            ua.ack(call_id, final)

    # ------------------------------------------------------------------------------------------

    def test_invite_flood_from_a_stranger_is_answered_small_rate_limited_and_costs_nothing(self):
        flood = self.ua("127.0.0.5", timeout=0.2)
        rss_before = self.rss_kb()
        requests = {}
        started = time.monotonic()
        answers = []
        for i in range(4000):
            call_id = f"flood{i}"
            packet = flood.request("INVITE", call_id, body=sdp(flood.ip))
            requests[call_id] = len(packet)
            flood.send(packet)
            if i % 200 == 199:  # keep our receive buffer from overflowing
                answers += flood.answers(0.01)
        # Many sources, one INVITE each (a scan): bounded bookkeeping in the gate.
        for b in range(1, 3):
            for c in range(1, 251):
                scan = Sip(self.port, f"127.0.{b}.{c}")
                scan.send(scan.request("INVITE", f"scan{b}-{c}", body=sdp(scan.ip)))
                scan.close()
        answers += flood.answers(1.5)
        elapsed = time.monotonic() - started
        self.assertTrue(answers, "not even one 403 to the stranger")
        for a in answers:
            self.assertEqual(status_of(a), 403, a)
            call_id = header(a, "Call-ID")
            self.assertIn(call_id, requests)
            self.assertLessEqual(len(a), requests[call_id], a)
        # 2 answers a second to one source: a generous bound from the flood's own duration.
        self.assertLessEqual(len(answers), 2 * (int(elapsed) + 2), f"{len(answers)} answers in {elapsed:.1f} s")
        self.assertLess(len(answers), len(requests) // 20)
        # Nothing was created: no fax, no call; the trunk counted the refusals.
        self.assertEqual(self.d.faxes(), [])
        status, lines = self.d.request("GET", "/api/v1/lines")
        self.assertEqual((status, lines["calls"]), (200, []), lines)
        stats = self.sip_stats()
        self.assertEqual(stats["calls"], 0, stats)
        # (The kernel drops part of the flood at vfaxd's socket: refused <= sent.)
        self.assertGreaterEqual(stats["stats"]["invites_refused"], len(answers), stats)
        self.assertEqual(stats["stats"]["invites_refused"], stats["stats"]["invites_in"], stats)
        rss_after = self.rss_kb()
        # Generous (allocator caches; the quarantine is kept small in setUp).
        self.assertLess(rss_after - rss_before, 32 * 1024, f"VmRSS {rss_before} kB -> {rss_after} kB")
        self.assert_alive()
        self.assert_call_works(self.ua(PEER_IP), "after-flood")


    def test_403_is_never_larger_than_a_compact_invite(self):
        ua = self.ua("127.0.0.6")
        packet = (f"INVITE sip:a@127.0.0.1 SIP/2.0\r\nv:SIP/2.0/UDP {ua.ip}:{ua.port};branch=z9hG4bKc1\r\n"
                  f"f:<sip:a@b>;tag=1\r\nt:<sip:b@c>\r\ni:c1\r\nCSeq:1 INVITE\r\nl:0\r\n\r\n").encode()
        ua.send(packet)
        got = ua.answers(1.5)
        self.assertTrue(all(len(a) <= len(packet) for a in got), [(len(a), len(packet)) for a in got])

    def test_options_register_and_in_dialog_requests_from_strangers_get_no_answer(self):
        ua = self.ua("127.0.0.6")
        for i in range(20):
            ua.send(ua.request("OPTIONS", f"scan-o{i}"))
            ua.send(ua.request("REGISTER", f"scan-r{i}", uri="sip:127.0.0.1",
                               extra="Expires: 3600"))
            ua.send(ua.request("BYE", f"scan-b{i}", to_tag="x1"))
            ua.send(ua.request("INVITE", f"scan-i{i}", to_tag="x2", body=sdp(ua.ip)))
            ua.send(ua.request("MESSAGE", f"scan-m{i}", body=b"hi", content_type="text/plain"))
        self.assertEqual(ua.answers(2.0), [])
        # The same OPTIONS from the peer is answered: the silence above is the gate's.
        pbx = self.ua(PEER_IP)
        pbx.send(pbx.request("OPTIONS", "peer-o"))
        self.assertIn(200, [status_of(a) for a in pbx.answers(2.0)])
        self.assert_alive()

    def test_a_forged_via_never_redirects_the_answer(self):
        ua = self.ua("127.0.0.7")
        victim_same_ip = self.ua("127.0.0.7")
        victim = self.ua("127.0.0.8")
        for target in (victim_same_ip, victim):
            call_id = f"forged-{target.ip}-{target.port}"
            via = f"{target.ip}:{target.port}"
            ua.send(ua.request("INVITE", call_id, via=via, body=sdp(ua.ip)))
            got = ua.answers(1.5)
            self.assertEqual([status_of(a) for a in got], [403], got)
            time.sleep(1.0)  # the next second's answer budget (rate limit: 2 a second)
        # A CANCEL from a stranger with a forged Via to another address: libre answers 481 for an
        # unknown transaction, to the source address (the Via's port: see finding F3 below).
        ua.send(ua.request("CANCEL", "forged-cancel", via=f"{victim.ip}:{victim.port}"))
        ua.answers(1.0)
        self.assertEqual(victim.answers(0.5), [])
        self.assertEqual(victim_same_ip.answers(0.5), [])


    def test_a_cancel_from_a_stranger_gets_no_answer(self):
        ua = self.ua("127.0.0.7")
        victim = self.ua("127.0.0.7")
        ua.send(ua.request("CANCEL", "stranger-cancel"))
        ua.send(ua.request("CANCEL", "forged-cancel-port", via=f"{victim.ip}:{victim.port}"))
        self.assertEqual(ua.answers(1.0) + victim.answers(0.5), [])

    def test_tcp_stranger_gets_403_and_scanners_nothing(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(s.close)
        s.bind(("127.0.0.9", 0))
        s.settimeout(3)
        s.connect(("127.0.0.1", self.port))
        ip, port = s.getsockname()
        body = sdp(ip)
        invite = (f"INVITE sip:100@127.0.0.1:{self.port};transport=tcp SIP/2.0\r\n"
                  f"Via: SIP/2.0/TCP {ip}:{port};branch=z9hG4bKtcp1\r\nMax-Forwards: 70\r\n"
                  f"From: <sip:555@{ip}>;tag=tcp1\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: tcp1\r\n"
                  f"CSeq: 1 INVITE\r\nContact: <sip:555@{ip}:{port};transport=tcp>\r\n"
                  f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        options = (f"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP {ip}:{port};branch=z9hG4bKtcp2\r\n"
                   f"Max-Forwards: 70\r\nFrom: <sip:555@{ip}>;tag=tcp2\r\nTo: <sip:127.0.0.1>\r\n"
                   f"Call-ID: tcp2\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()
        s.sendall(options + invite)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65535)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
        self.assertTrue(data.startswith(b"SIP/2.0 403 "), data)
        self.assertIn(b"Call-ID: tcp1", data)
        self.assertLessEqual(len(data), len(invite))
        # A huge Content-Length over TCP: the connection may wait or close, vfaxd must not grow or die.
        s.sendall(f"INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP {ip}:{port};branch=z9hG4bKtcp3\r\n"
                  f"Call-ID: tcp3\r\nCSeq: 1 INVITE\r\nContent-Length: 4000000000\r\n\r\n".encode() + b"x" * 65536)
        self.assert_alive()
        self.assertEqual(self.sip_stats()["calls"], 0)

    def digest_challenge(self, ua, call_id):
        ua.send(ua.request("INVITE", call_id, body=sdp(ua.ip)))
        final = ua.final(call_id, 3)
        self.assertIsNotNone(final, "no 401 to an INVITE without credentials")
        self.assertEqual(status_of(final), 401, final)
        self.assertIn('realm="vfax"', header(final, "WWW-Authenticate"))
        ua.ack(call_id, final)
        return final

    def test_digest_failures_from_a_peer_address_are_throttled_but_never_lock_the_peer_out(self):
        # Bad digests from one of the peer's own addresses (which anyone can spoof over UDP) are
        # answered at most twice a second, but they never block that address: else five forged
        # packets would lock the real PBX out. Strangers' failures do block (sip_gate_test).
        ua = self.ua(DIGEST_IP)
        uri = f"sip:100@127.0.0.1:{self.port}"
        challenge = self.digest_challenge(ua, "dg0")
        codes = []
        for i in range(1, 7):
            call_id = f"dg{i}"
            ua.send(ua.request("INVITE", call_id, body=sdp(ua.ip),
                               extra=authorization(challenge, uri, secret=f"wrong-password-{i}")))
            final = ua.final(call_id, 1.2)  # 403, or nothing when the answer budget is spent
            codes.append(status_of(final) if final else None)
        self.assertTrue(all(c in (403, None) for c in codes), codes)
        self.assertIn(403, codes)
        time.sleep(1.1)  # a new second: a new answer budget
        fresh = self.digest_challenge(ua, "dg-fresh")
        self.assert_call_works(ua, "dg-right", auth_from=fresh)
        # A nonce given to another source does not work there.
        other = self.ua(DIGEST_IP2)
        other.send(other.request("INVITE", "dg-foreign-nonce", body=sdp(other.ip),
                                 extra=authorization(challenge, uri)))
        final = other.final("dg-foreign-nonce", 3)
        self.assertEqual(status_of(final), 401, final)
        self.assertIn("stale=true", header(final, "WWW-Authenticate"))
        other.ack("dg-foreign-nonce", final)
        self.assert_alive()

    def test_digest_stale_and_forged_nonces_are_refused(self):
        ua = self.ua(DIGEST_IP2)
        uri = f"sip:100@127.0.0.1:{self.port}"
        challenge = self.digest_challenge(ua, "st0")
        nonce = re.search(r'nonce="([^"]+)"', header(challenge, "WWW-Authenticate")).group(1)
        t, mac = nonce.split(".")
        cases = {
            "st-old": f"{int(t, 16) - 400:x}.{mac}",   # older than 5 minutes, right password
            "st-future": f"{int(t, 16) + 50:x}.{mac}",  # from the future
            "st-forged": f"{t}.{'0' * 32}",              # the right time, a made-up MAC
            "st-nodot": "deadbeef",
        }
        for call_id, forged in cases.items():
            ua.send(ua.request("INVITE", call_id, body=sdp(ua.ip),
                               extra=authorization(challenge, uri, nonce=forged)))
            final = ua.final(call_id, 3)
            self.assertIsNotNone(final, call_id)
            self.assertEqual(status_of(final), 401, (call_id, final))
            ua.ack(call_id, final)
        self.assertEqual(self.sip_stats()["calls"], 0)
        self.assertEqual(self.d.faxes(), [])


    def test_digest_replay_is_refused(self):
        ua = self.ua(DIGEST_IP2)
        uri = f"sip:100@127.0.0.1:{self.port}"
        challenge = self.digest_challenge(ua, "rp0")
        self.assert_call_works(ua, "rp1", auth_from=challenge)
        # The same Authorization again (a captured INVITE replayed by someone on the path), and
        # the same digest on another Request-URI (another number): both must be challenged.
        auth = authorization(challenge, uri)
        ua.send(ua.request("INVITE", "rp2", body=sdp(ua.ip), extra=auth))
        final_replay = ua.final("rp2", 3)
        ua.send(ua.request("INVITE", "rp3", body=sdp(ua.ip), extra=auth, uri=f"sip:999@127.0.0.1:{self.port}"))
        final_uri = ua.final("rp3", 3)
        for call_id in ("rp2", "rp3"):
            ua.send(ua.request("CANCEL", call_id))
        self.assertIn(status_of(final_replay) if final_replay else None, (401, 403), final_replay)
        self.assertIn(status_of(final_uri) if final_uri else None, (401, 403), final_uri)

    def test_malformed_sip_and_sdp_from_a_peer(self):
        ua = self.ua(PEER_IP)
        # Unparseable: nothing to answer, nothing must break.
        for junk in (os.urandom(1200), b"\x00" * 40, b"INVITE", b"SIP/2.0 200 OK\r\n\r\n",
                     b"INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5;branch=z9hG4bKt\r\nFrom: <sip:a",
                     ua.request("INVITE", "hugecl", body=b"v=0\r\n").replace(b"Content-Length: 5",
                                                                            b"Content-Length: 4294967295"),
                     ua.request("INVITE", "negcl", body=b"").replace(b"Content-Length: 0", b"Content-Length: -5"),
                     ua.request("INVITE", "longhdr", extra="X-Long: " + "a" * 60000)[:65000]):
            ua.send(junk)
        ua.answers(1.0)
        self.assert_alive()
        bad_t38 = ("v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n"
                   "m=image 40002 udptl t38\r\na=T38FaxVersion:banana\r\na=T38MaxBitRate:-1\r\n"
                   "a=T38FaxMaxDatagram:99999999999999999999\r\na=T38FaxUdpEC:t38UDPMagic\r\n").encode()
        image_port0 = ("v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n"
                       "m=image 0 udptl t38\r\na=T38FaxVersion:0\r\n").encode()
        no_m = b"v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n"
        audio_no_codec = ("v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n"
                          "m=audio 40000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n").encode()
        many_m = (no_m + b"".join(b"m=audio %d RTP/AVP 0\r\n" % (40000 + 2 * i) for i in range(2000)))[:60000]
        cases = [
            ("notsdp", b"this is not a session description at all", "text/plain"),
            ("garbage-sdp", b"\xff\xfe\x00garbage=\r\n" * 20, "application/sdp"),
            ("bad-t38", bad_t38, "application/sdp"),
            ("image-port0", image_port0, "application/sdp"),
            ("no-m", no_m, "application/sdp"),
            ("no-codec", audio_no_codec, "application/sdp"),
            ("many-m", many_m, "application/sdp"),
        ]
        for call_id, body, ctype in cases:
            ua.send(ua.request("INVITE", call_id, body=body, content_type=ctype))
            final = ua.final(call_id, 3)
            self.assertIsNotNone(final, f"{call_id}: no final answer\n{self.d.log()[-3000:]}")
            code = status_of(final)
            self.assertTrue(400 <= code < 500, (call_id, final))
            ua.ack(call_id, final)
        # Session-Expires nonsense and a negative CSeq: a 4xx or a call, never a crash.
        ua.send(ua.request("INVITE", "se-bad", body=sdp(ua.ip), extra="Session-Expires: -1;refresher=x"))
        ua.send(ua.request("INVITE", "se-small", body=sdp(ua.ip), extra="Session-Expires: 10"))
        final = ua.final("se-small", 3)
        self.assertEqual(status_of(final), 422, final)
        ua.ack("se-small", final)
        ua.answers(1.0)
        ua.send(ua.request("CANCEL", "se-bad"))
        ua.answers(1.0)
        self.assert_alive()
        self.assert_call_works(self.ua(PEER_IP), "after-malformed")
        self.assert_alive()

    def start_answered_call(self, ua, media, call_id):
        """An INVITE from the peer with its audio on `media`; waits for vfaxd's 200 and ACKs it.
        Returns vfaxd's RTP port."""
        ua.send(ua.request("INVITE", call_id, body=sdp(ua.ip, media.getsockname()[1])))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for a in ua.answers(0.5):
                if status_of(a) == 200 and f"Call-ID: {call_id}".encode() in a:
                    tag = re.search(r"tag=([^;\s]+)", header(a, "To")).group(1)
                    ua.send(ua.request("ACK", call_id, to_tag=tag))
                    self.call_tag = tag
                    return int(re.search(rb"m=audio (\d+) ", a).group(1))
        raise AssertionError("vfaxd did not answer the peer's call\n" + self.d.log())


    def test_rtp_from_a_foreign_address_does_not_take_over_the_media(self):
        ua = self.ua(PEER_IP)
        media = udp(PEER_IP)
        attacker = udp("127.0.0.66")
        self.addCleanup(media.close)
        self.addCleanup(attacker.close)
        rtp_port = self.start_answered_call(ua, media, "rtp1")
        try:
            # The attacker is first: a burst of PCMA silence from 127.0.0.66 to vfaxd's RTP port.
            for seq in range(50):
                pkt = bytes([0x80, 8, seq >> 8, seq & 0xff]) + (seq * 160).to_bytes(4, "big") + \
                    b"\x12\x34\x56\x78" + b"\xd5" * 160
                attacker.sendto(pkt, ("127.0.0.1", rtp_port))
            # Then the real far end.
            for seq in range(50):
                pkt = bytes([0x80, 8, seq >> 8, seq & 0xff]) + (seq * 160).to_bytes(4, "big") + \
                    b"\x01\x02\x03\x04" + b"\xd5" * 160
                media.sendto(pkt, ("127.0.0.1", rtp_port))
            receive(media, 0.5)
            receive(attacker, 0.5)
            to_attacker = len(receive(attacker, 1.5))
            to_peer = len(receive(media, 1.5))
        finally:
            ua.send(ua.request("BYE", "rtp1", cseq=2, to_tag=self.call_tag))
        self.assertEqual(to_attacker, 0, f"vfaxd sent {to_attacker} RTP packets to the attacker, {to_peer} to the peer")
        self.assertGreater(to_peer, 0)
        # Once the call is over, the trunk's counters show what was dropped.
        stats = self.d.wait_for(
            lambda: (st := self.d.request("GET", "/api/v1/trunks/sip")[1].get("stats", {}))
            and st.get("media_foreign", 0) > 0 and st, 20, "the call's media counters")
        self.assertGreaterEqual(stats["media_foreign"], 25, stats)
        for key in ("audio_late", "audio_overflows", "audio_underruns", "t38_lost",
                    "t38_recovered", "t38_oversized"):
            self.assertIn(key, stats)


    def test_a_device_name_cannot_inject_headers_into_our_invite(self):
        """A device name (set by an admin, or imported) with a quote and a line break is the From's
        display name of our outbound INVITE: it must be escaped, never end the header."""
        pbx = udp(PEER_IP, timeout=30)
        self.addCleanup(pbx.close)
        port = free_port()
        d = Daemon(self.tmp, {"sip": {"listen": [f"udp:127.0.0.1:{port}"], "outbound": "out"}}, name="vfaxd-out")
        with open(d.config_path, "a") as f:
            f.write(f'[[sip.peer]]\nname = "out"\nhost = "{PEER_IP}"\nport = {pbx.getsockname()[1]}\n'
                    f'match = ["{PEER_IP}"]\nkeepalive = 0\n[[route]]\nprefix = "0"\ntrunk = "sip:out"\n')
        self.daemons.append(d)
        d.start()
        status, dev = d.request("POST", "/api/v1/devices", {"name": 'Sales "East"\r\nX-Injected: yes',
                                                            "email": "sales@example.test", "extension": "21"})
        self.assertEqual(status, 201, dev)
        pdf = make_pdf(os.path.join(self.tmp, "doc.pdf"), 1)
        with open(pdf, "rb") as f:
            status, fax = d.post_fax({"to": "0301234567", "device": str(dev["id"])},
                                     [("doc.pdf", f.read(), "application/pdf")])
        self.assertEqual(status, 201, fax)
        invite = None
        while invite is None:
            data, _ = pbx.recvfrom(65535)  # the socket's timeout ends a wait for nothing
            if data.startswith(b"INVITE "):
                invite = data
        head = invite.split(b"\r\n\r\n", 1)[0]
        self.assertNotIn(b"\r\nX-Injected:", head)
        from_header = header(invite, "From")
        # Quotes, backslashes and control characters are dropped from the display name.
        self.assertIsNotNone(re.match(r'^"Sales East[^"\\\r\n]*" <sip:', from_header), from_header)


if __name__ == "__main__":
    unittest.main()
