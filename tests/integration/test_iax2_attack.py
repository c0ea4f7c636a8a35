"""The IAX2 trunk under attack (issue 13, item 3): two real vfaxd, "a" faxing to "b" over IAX2 on
127.0.0.1, while raw UDP sockets on 127.0.0.2-127.0.0.9 (many ports each) flood b with NEW, REGREQ
and POKE, none of which echoes a CALLTOKEN. The fax still goes through during the flood, and no
answer to an attacker's socket is longer than what that socket sent. Known and unknown peer names
get byte-identical refusals (call numbers and timestamps aside), and a source whose MD5 answers
keep failing is ignored. All traffic stays on 127.0.0.0/8."""
import os
import random
import socket
import struct
import threading
import time
import unittest

from vfaxtest import Daemon, VfaxTestCase, free_udp_port, make_pdf, receive_datagrams

SECRET = "attack-test-secret"
IAX, NEW, REJECT, AUTHREQ, AUTHREP, ACK = 6, 1, 6, 8, 9, 4
POKE, PONG, REGREQ, REGAUTH, REGREJ, CALLTOKEN = 30, 3, 13, 14, 16, 40
IE_CALLED, IE_USERNAME, IE_FORMAT, IE_CAPABILITY, IE_VERSION = 1, 6, 9, 8, 11
IE_CHALLENGE, IE_MD5, IE_REFRESH, IE_CALLTOKEN = 15, 16, 19, 54


def ie(ident, value=b""):
    return bytes([ident, len(value)]) + value


def frame(src, cmd, ies=b"", dst=0, oseq=0, iseq=0, ts=5):
    return struct.pack("!HHIBBBB", 0x8000 | src, dst, ts, oseq, iseq, IAX, cmd) + ies


def parse(data):
    """(src call, dst call, subclass, {ie: value}) of a full IAX frame, or None."""
    if len(data) < 12 or not data[0] & 0x80 or data[10] != IAX:
        return None
    src, dst = struct.unpack("!HH", data[:4])
    ies, i = {}, 12
    while i + 2 <= len(data):
        ies.setdefault(data[i], data[i + 2:i + 2 + data[i + 1]])
        i += 2 + data[i + 1]
    return src & 0x7FFF, dst & 0x7FFF, data[11], ies


def new_ies(user, token=None):
    out = (ie(IE_VERSION, struct.pack("!H", 2)) + ie(IE_CALLED, b"5552000") + ie(IE_FORMAT, struct.pack("!I", 8))
           + ie(IE_CAPABILITY, struct.pack("!I", 12)) + ie(IE_USERNAME, user.encode()))
    return out + (ie(IE_CALLTOKEN, token) if token is not None else b"")


def reg_ies(user, token=None, md5=None):
    out = ie(IE_USERNAME, user.encode()) + ie(IE_REFRESH, struct.pack("!H", 60))
    if md5 is not None:
        out += ie(IE_MD5, md5.encode())
    return out + (ie(IE_CALLTOKEN, token) if token is not None else b"")


def receive(sock, seconds):
    return [data for data, _ in receive_datagrams(sock, seconds)]


def first(sock, subclass, seconds=5):
    for data in receive_until(sock, subclass, seconds):
        return data
    return None


def receive_until(sock, subclass, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recvfrom(2048)[0]
        except socket.timeout:
            return
        p = parse(data)
        if p and p[2] == subclass:
            yield data
            return


def masked(data):
    """The frame without its call numbers and timestamp: what it says."""
    return b"\0" * 8 + data[8:]


class Iax2Attack(VfaxTestCase):
    def setUp(self):
        super().setUp()
        self.port_a, self.port_b = free_udp_port(), free_udp_port()
        # b takes calls from a (peer "stack-a", only from 127.0.0.1) and knows a dynamic peer
        # "dynpeer" (the known name of the enumeration test).
        self.b = self.start_daemon("b", [
            '[iax2]', f'bind = "127.0.0.1:{self.port_b}"',
            '[[iax2.peer]]', 'name = "stack-a"', f'secret = "{SECRET}"', 'host = "127.0.0.1"',
            f'port = {self.port_a}',
            '[[iax2.peer]]', 'name = "dynpeer"', f'secret = "{SECRET}"'])

    def start_daemon(self, name, lines):
        workdir = os.path.join(self.tmp, name)
        os.makedirs(workdir)
        d = Daemon(workdir, None, "vfaxd")
        with open(d.config_path, "a") as f:
            f.write("\n".join(lines) + "\n")
        self.daemons.append(d)
        return d.start()

    def sock(self, ip):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.bind((ip, 0))
        self.addCleanup(s.close)
        return s

    def stats(self):
        return self.b.request("GET", "/api/v1/trunks/iax2")[1]["stats"]

    def token(self, s, call):
        s.sendto(frame(call, NEW, new_ies("whoever", b"")), ("127.0.0.1", self.port_b))
        data = first(s, CALLTOKEN)
        self.assertIsNotNone(data, "no CALLTOKEN answer")
        return parse(data)[3][IE_CALLTOKEN]

    def failed_call(self, s, user, call):
        """NEW with a token -> AUTHREQ -> a wrong AUTHREP: (the AUTHREQ, the REJECT)."""
        s.sendto(frame(call, NEW, new_ies(user, self.token(s, call))), ("127.0.0.1", self.port_b))
        authreq = first(s, AUTHREQ)
        self.assertIsNotNone(authreq, f"no AUTHREQ for {user}")
        ours = parse(authreq)[0]
        s.sendto(frame(call, AUTHREP, ie(IE_MD5, b"0" * 32), dst=ours, oseq=1, iseq=1),
                 ("127.0.0.1", self.port_b))
        reject = first(s, REJECT)
        self.assertIsNotNone(reject, f"no REJECT for {user}")
        s.sendto(frame(call, ACK, dst=ours, oseq=2, iseq=2),
                 ("127.0.0.1", self.port_b))
        return authreq, reject

    def failed_registration(self, s, user, call):
        s.sendto(frame(call, REGREQ, reg_ies(user, self.token(s, call))), ("127.0.0.1", self.port_b))
        regauth = first(s, REGAUTH)
        self.assertIsNotNone(regauth, f"no REGAUTH for {user}")
        s.sendto(frame(call, REGREQ, reg_ies(user, md5="0" * 32), dst=parse(regauth)[0], oseq=1, iseq=1),
                 ("127.0.0.1", self.port_b))
        regrej = first(s, REGREJ)
        self.assertIsNotNone(regrej, f"no REGREJ for {user}")
        return regauth, regrej

    def test_a_fax_goes_through_a_flood_and_no_answer_is_larger_than_its_request(self):
        a = self.start_daemon("a", [
            '[iax2]', f'bind = "127.0.0.1:{self.port_a}"', 'outbound = "stack-b"',
            '[[iax2.peer]]', 'name = "stack-b"', f'secret = "{SECRET}"', 'host = "127.0.0.1"',
            f'port = {self.port_b}', 'username = "stack-a"'])
        self.add_device(self.b, "5552000")
        # The attackers: 8 addresses, 16 ports each, each socket always sending one kind of
        # request (so that its answers can be held against its request size).
        kinds = [
            lambda c: frame(c, NEW, new_ies("stack-a", b"")),            # asks for a token
            lambda c: frame(c, NEW, new_ies("dynpeer")),                  # no CALLTOKEN IE
            lambda c: frame(c, NEW, new_ies("nobody", b"AAAAAAAA")),      # a forged token
            lambda c: frame(c, REGREQ, reg_ies("dynpeer", b"")),
            lambda c: frame(c, REGREQ, reg_ies("x")),
            lambda c: frame(c, POKE),
            lambda c: frame(c, REGREQ, ie(IE_CALLTOKEN)),                 # too short to answer
        ]
        socks = []
        for host in range(2, 10):
            for i in range(16):
                s = self.sock(f"127.0.0.{host}")
                s.setblocking(False)
                socks.append((s, kinds[(host * 16 + i) % len(kinds)], []))
        stop = threading.Event()
        sent = [0]
        oversized = []

        def drain():
            for s, _, sizes in socks:
                while True:
                    try:
                        data = s.recv(2048)
                    except BlockingIOError:
                        break
                    if data and len(data) > min(sizes):
                        oversized.append((len(data), min(sizes), data[:16].hex()))

        def flood():
            rng = random.Random(13)
            t0 = time.monotonic()
            while not stop.is_set():
                for _ in range(20):
                    s, kind, sizes = socks[rng.randrange(len(socks))]
                    pkt = kind(rng.randrange(1, 0x7FFF))
                    sizes.append(len(pkt))
                    try:
                        s.sendto(pkt, ("127.0.0.1", self.port_b))
                        sent[0] += 1
                    except BlockingIOError:
                        pass
                drain()
                # About 1,000 requests a second (20 every 20 ms), several times the ~150/s that
                # used to lock every session.
                time.sleep(max(0.0, 0.02 - ((time.monotonic() - t0) % 0.02)))

        flooder = threading.Thread(target=flood, daemon=True)
        flooder.start()
        try:
            time.sleep(2)  # the flood is on before the call is placed
            pdf = make_pdf(os.path.join(self.tmp, "doc.pdf"), 1, "vfax to vfax over IAX2 under attack")
            fid = __import__("json").loads(a.cli("send", "-t", "5552000", pdf, "--json").stdout)["id"]
            job = a.wait_final(fid, timeout=240)
            flooding = flooder.is_alive() and not stop.is_set()
        finally:
            stop.set()
            flooder.join(timeout=10)
        time.sleep(1)
        drain()
        self.assertEqual(job["state"], "done", job)
        self.assertTrue(flooding)
        self.assertEqual(len(job["attempts"]), 1, job)
        received = self.b.wait_for(lambda: [f for f in self.b.faxes("in") if f["state"] == "received"], 60,
                                   "the received fax")
        self.assertEqual(received[0]["pages"], 1)
        self.assertGreater(sent[0], 3000, "the flood was too slow to mean anything")
        self.assertEqual(oversized, [], "answers longer than their requests")
        st = self.stats()
        print(f"\nflood: {sent[0]} requests from {len(socks)} sockets during the call; b's stats: {st}")
        self.assertGreater(st["calltokens_sent"], 0, st)
        self.assertGreater(st["pongs_sent"], 0, st)
        self.assertGreater(st["unproven_dropped"], 0, st)

    def test_known_and_unknown_names_get_identical_refusals(self):
        s1, s2 = self.sock("127.0.0.20"), self.sock("127.0.0.21")
        known_req, known_rej = self.failed_call(s1, "dynpeer", 100)
        unknown_req, unknown_rej = self.failed_call(s2, "dynpeez", 100)
        self.assertEqual(masked(known_rej), masked(unknown_rej))
        # The challenges differ only in their random digits.
        self.assertEqual(len(known_req), len(unknown_req))
        self.assertEqual(sorted(parse(known_req)[3]), sorted(parse(unknown_req)[3]))
        # "stack-a" is known too, but only from 127.0.0.1: from elsewhere it is refused alike.
        _, static_rej = self.failed_call(self.sock("127.0.0.22"), "stack-a", 100)
        self.assertEqual(masked(static_rej), masked(unknown_rej))
        _, known_regrej = self.failed_registration(self.sock("127.0.0.23"), "dynpeer", 200)
        _, unknown_regrej = self.failed_registration(self.sock("127.0.0.24"), "dynpeez", 200)
        self.assertEqual(masked(known_regrej), masked(unknown_regrej))

    def test_failed_authentications_are_throttled_per_source(self):
        s = self.sock("127.0.0.30")
        for i in range(5):
            self.failed_call(s, "dynpeer", 300 + i)
        # The source is ignored now: not even a CALLTOKEN answer, from any of its ports.
        other_port = self.sock("127.0.0.30")
        other_port.sendto(frame(400, NEW, new_ies("dynpeer", b"")), ("127.0.0.1", self.port_b))
        self.assertEqual(receive(other_port, 1.5), [])
        self.assertGreaterEqual(self.stats()["auth_failures"], 5)
        # Another source is not affected.
        self.token(self.sock("127.0.0.31"), 401)


if __name__ == "__main__":
    unittest.main()
