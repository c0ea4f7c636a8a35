"""The API under slow and hostile clients (issue 13, item 2): slowloris connections from other
sources never starve /healthz or a logged-in user, idle and stalled connections are closed, bodies
are bounded before they are read (chunked ones too, credentials first), and the API over TLS.
Attackers use other loopback source addresses (127.0.0.10...) than the well-behaved client
(127.0.0.1), as they would come from other hosts."""
import os
import select
import socket
import ssl
import subprocess
import threading
import time
import unittest
import urllib.parse

from vfaxtest import VFAX, VFAXD, Daemon, VfaxTestCase

GENEROUS = 60  # seconds; no timing assertions, only "answers at all within this"


def host_port(url):
    u = urllib.parse.urlsplit(url)
    return u.hostname, u.port


def connect(url, source="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(GENEROUS)
    s.connect(host_port(url))
    return s


def read_status(sock, timeout=GENEROUS):
    """The status code of the response on `sock` (None: closed without one), and its text."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        # the body, if any, as far as it came
        sock.settimeout(1)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout, TimeoutError, OSError):
        pass
    if not data.startswith(b"HTTP/1.1 "):
        return None, data
    return int(data[9:12]), data


def closed_by_server(sock, timeout=GENEROUS):
    """True once the server closed the connection (EOF or reset) within `timeout`."""
    sock.settimeout(timeout)
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return True
    except ConnectionResetError:
        return True
    except (socket.timeout, TimeoutError):
        return False


def send_body_until_answer(sock, header, chunks):
    """Sends the header, then the body's chunks until the server answers or closes. Returns
    (status, bytes of the body sent)."""
    sock.sendall(header)
    sock.setblocking(False)
    sent = 0
    pending = b""
    deadline = time.monotonic() + GENEROUS
    it = iter(chunks)
    while time.monotonic() < deadline:
        readable, writable, _ = select.select([sock], [sock], [], 1)
        if readable:
            break
        if writable:
            if not pending:
                pending = next(it, b"")
                if not pending:
                    break
            try:
                n = sock.send(pending)
            except (BrokenPipeError, ConnectionResetError, BlockingIOError):
                break
            sent += n
            pending = pending[n:]
    sock.setblocking(True)
    status, _ = read_status(sock)
    return status, sent


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Slowloris:
    """Connections that send a request header one byte at a time, never finishing it, from
    `sources`; when the server closes one, it opens another (as a real attacker would)."""

    def __init__(self, url, sources, per_source, interval=0.5):
        self.url, self.sources, self.per_source, self.interval = url, sources, per_source, interval
        self.socks = []
        self.refused = 0  # connections the server answered with 503 at once
        self.reopened = 0
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()

    def open_one(self, source):
        s = connect(self.url, source)
        s.setblocking(False)
        return [s, source, 0]

    def start(self):
        for src in self.sources:
            for _ in range(self.per_source):
                self.socks.append(self.open_one(src))
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def run(self):
        header = b"GET /api/v1/healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10000
        while not self.stop_flag.is_set():
            for entry in self.socks:
                s, src, pos = entry
                try:
                    s.send(header[pos % len(header):pos % len(header) + 1])
                    entry[2] = pos + 1
                except BlockingIOError:
                    pass
                except OSError:
                    s.close()
                    try:
                        entry[:] = self.open_one(src)
                        with self.lock:
                            self.reopened += 1
                    except OSError:
                        pass
            self.stop_flag.wait(self.interval)

    def stop(self):
        self.stop_flag.set()
        self.thread.join()
        for s, _, _ in self.socks:
            s.close()


class SlowClients(VfaxTestCase):
    def test_slowloris_does_not_starve_health_or_users(self):
        d = self.daemon({"server": {"http_header_timeout_seconds": 30}})
        user = d.user_token("alice")
        # 10 sources x 32 connections: each source at its cap, 320 in all, none finishing a header.
        attack = Slowloris(d.url, [f"127.0.0.{10 + i}" for i in range(10)], 32).start()
        try:
            time.sleep(2)  # a few bytes into every header
            status, body = d.request("GET", "/healthz", auth=False)
            self.assertEqual(status, 200, body)
            status, body = d.request("GET", "/api/v1/faxes", token=user)
            self.assertEqual(status, 200, body)
            self.assertIn("faxes", body)
            lines = d.cli("lines", "--json")
            self.assertEqual(lines.returncode, 0, lines.stderr)
            # One more from a source at its cap: refused at once with 503, not queued.
            extra = connect(d.url, "127.0.0.10")
            extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            status, text = read_status(extra)
            self.assertIn(status, (503, None), text)  # None: reset before the 503 was read
            extra.close()
            # ... while the well-behaved source still gets answers.
            status, body = d.request("GET", "/healthz", auth=False)
            self.assertEqual(status, 200, body)
            status, metrics = d.request("GET", "/metrics")
            self.assertEqual(status, 200)
            values = dict(line.split(" ", 1) for line in metrics.decode().splitlines()
                          if line.startswith("vfax_http_"))
            self.assertGreaterEqual(int(values["vfax_http_refused_total"]), 1, values)
            self.assertGreaterEqual(int(values["vfax_http_connections"]), 320, values)
        finally:
            attack.stop()
        d.wait_for_log("refused a connection from 127.0.0.10")

    def test_idle_and_stalled_connections_are_closed(self):
        d = self.daemon({"server": {"http_header_timeout_seconds": 2,
                                    "http_request_timeout_seconds": 2}})
        idle = connect(d.url, "127.0.0.20")                       # sends nothing
        partial = connect(d.url, "127.0.0.21")                    # half a header
        partial.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        stalled = connect(d.url, "127.0.0.22")                    # a header, then no body
        stalled.sendall(b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: "
                        b"application/json\r\nContent-Length: 100\r\n\r\n{\"user")
        for name, s in (("idle", idle), ("partial", partial), ("stalled", stalled)):
            self.assertTrue(closed_by_server(s), f"the {name} connection was not closed")
            s.close()
        d.wait_for_log("no whole request header in time")
        d.wait_for_log("past its deadline")
        status, body = d.request("GET", "/healthz", auth=False)
        self.assertEqual(status, 200, body)


class Bodies(VfaxTestCase):
    def setUp(self):
        super().setUp()
        self.d = self.daemon({"api": {"max_upload_mb": 1}})
        self.token = self.d.token

    def upload_header(self, extra, token=None, path="/api/v1/faxes"):
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        return (f"POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: multipart/form-data; "
                f"boundary=b0undary\r\n{extra}\r\n").encode()

    def test_unauthenticated_chunked_50_mib_is_refused_unread(self):
        before = rss_kib(self.d.proc.pid)
        total = 50 << 20
        piece = b"%x\r\n" % (1 << 16) + b"x" * (1 << 16) + b"\r\n"
        chunks = (piece for _ in range(total >> 16))
        s = connect(self.d.url)
        status, sent = send_body_until_answer(
            s, self.upload_header("Transfer-Encoding: chunked\r\n"), chunks)
        s.close()
        self.assertEqual(status, 401)
        self.assertLess(sent, total // 4, "the server read most of the body before refusing it")
        self.assertLess(rss_kib(self.d.proc.pid) - before, 20 << 10, "vfaxd grew by > 20 MiB")
        # The same with an announced length: refused from the header (over the upload limit: 413,
        # within it but over 1 MiB: 401).
        for length, expected in ((total, 413), ((1 << 20) + 1, 401)):
            s = connect(self.d.url)
            status, _ = send_body_until_answer(
                s, self.upload_header(f"Content-Length: {length}\r\n"),
                (b"x" * (1 << 16) for _ in range(length >> 16)))
            s.close()
            self.assertEqual(status, expected)
        self.assertLess(rss_kib(self.d.proc.pid) - before, 20 << 10, "vfaxd grew by > 20 MiB")

    def test_authenticated_chunked_upload_over_the_limit_is_413(self):
        total = 3 << 20  # the limit is 1 MiB
        body = (b"--b0undary\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n300\r\n"
                b"--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\""
                b"\r\nContent-Type: application/pdf\r\n\r\n")
        first = b"%x\r\n" % len(body) + body + b"\r\n"
        piece = b"%x\r\n" % (1 << 16) + b"x" * (1 << 16) + b"\r\n"
        chunks = [first] + [piece] * (total >> 16)
        s = connect(self.d.url)
        status, sent = send_body_until_answer(
            s, self.upload_header("Transfer-Encoding: chunked\r\n", token=self.token), chunks)
        s.close()
        self.assertEqual(status, 413)
        self.assertEqual(self.d.faxes("out"), [])
        staging = os.path.join(self.d.data, "staging")
        self.assertEqual(os.listdir(staging) if os.path.isdir(staging) else [], [])

    def raw(self, request, source="127.0.0.1"):
        s = connect(self.d.url, source)
        s.sendall(request)
        status, text = read_status(s)
        s.close()
        return status, text

    def test_bodies_of_api_routes_need_a_length_within_1_mib(self):
        auth = f"Authorization: Bearer {self.token}\r\n"
        # chunked on a JSON route: 411, even with credentials
        status, text = self.raw(
            f"PUT /api/v1/settings HTTP/1.1\r\nHost: x\r\n{auth}Transfer-Encoding: chunked\r\n"
            "Content-Type: application/json\r\n\r\n2\r\n{}\r\n0\r\n\r\n".encode())
        self.assertEqual(status, 411, text)
        self.assertIn(b"length_required", text)
        # no length at all
        status, text = self.raw(b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\n\r\n{}")
        self.assertEqual(status, 411, text)
        # over 1 MiB announced: 413 from the header, unauthenticated or not
        for a in ("", auth):
            status, text = self.raw(
                f"POST /api/v1/session HTTP/1.1\r\nHost: x\r\n{a}Content-Length: 2000000\r\n"
                "Content-Type: application/json\r\n\r\n{".encode())
            self.assertEqual(status, 413, text)
        # both framings at once (request smuggling material)
        status, text = self.raw(
            f"POST /api/v1/faxes HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 5\r\n"
            "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n".encode())
        self.assertEqual(status, 400, text)
        # an ordinary JSON body still works, and bodiless POSTs with Content-Length: 0
        status, body = self.d.request("POST", "/api/v1/session", {"username": "x", "password": "y"},
                                      auth=False)
        self.assertEqual(status, 401, body)
        status, body = self.d.request("GET", "/api/v1/lines")
        self.assertEqual(status, 200, body)


def make_cert(directory, name="cert", cn="127.0.0.1"):
    cert, key = os.path.join(directory, name + ".pem"), os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


class Tls(VfaxTestCase):
    def test_api_over_tls(self):
        cert, key = make_cert(self.tmp)
        d = Daemon(self.tmp, {"server": {"tls_cert": cert, "tls_key": key}})
        d.cafile = cert
        self.daemons.append(d)
        d.start()
        self.assertTrue(d.url.startswith("https://127.0.0.1:"), d.url)
        ctx = ssl.create_default_context(cafile=cert)
        import urllib.request
        with urllib.request.urlopen(d.url + "/healthz", context=ctx, timeout=GENEROUS) as r:
            self.assertEqual(r.status, 200)
            self.assertIn("max-age=", r.headers.get("Strict-Transport-Security", ""))
        # TLS 1.1 is not spoken
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.load_verify_locations(cert)
        old.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        old.maximum_version = ssl.TLSVersion.TLSv1_1
        with self.assertRaises((ssl.SSLError, OSError)):
            with socket.create_connection(host_port(d.url), timeout=GENEROUS) as raw:
                with old.wrap_socket(raw, server_hostname="127.0.0.1"):
                    pass
        # plain HTTP on the TLS port gets no answer
        s = connect(d.url)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _ = read_status(s)
        self.assertIsNone(status)
        s.close()
        # a session cookie is Secure
        user = d.add_user("bob", password="correct horse battery")
        self.assertTrue(user["id"])
        req = urllib.request.Request(d.url + "/api/v1/session", method="POST",
                                     data=b'{"username":"bob","password":"correct horse battery"}',
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=ctx, timeout=GENEROUS) as r:
            cookies = [v for k, v in r.headers.items() if k.lower() == "set-cookie"]
        self.assertTrue(any("vfax_session=" in c and "Secure" in c for c in cookies), cookies)
        # the CLI: with the CA file it works; without, it refuses the unknown certificate
        out = d.cli("--ca-file", cert, "lines", "--json")
        self.assertEqual(out.returncode, 0, out.stderr)
        env = dict(os.environ, VFAX_URL=d.url, VFAX_TOKEN=d.token, VFAX_CA_FILE=cert)
        p = subprocess.run([VFAX, "lines"], env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        bad = d.cli("lines", check=False)
        self.assertEqual(bad.returncode, 3, bad.stdout + bad.stderr)
        self.assertIn("not trusted", bad.stderr)
        # a TLS slowloris is cut at the header deadline too (the handshake never finishes)
        stuck = connect(d.url, "127.0.0.30")
        self.assertTrue(closed_by_server(stuck))
        stuck.close()

    def refused_start(self, server):
        cfg = os.path.join(self.tmp, "bad.toml")
        with open(cfg, "w") as f:
            f.write("[server]\n" + "".join(f'{k} = "{v}"\n' for k, v in server.items()))
        p = subprocess.run([VFAXD, "--config", cfg, "--data", os.path.join(self.tmp, "bad-data"),
                            "--http", "127.0.0.1:0"], capture_output=True, text=True, timeout=120)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        return p.stdout + p.stderr

    def test_bad_tls_config_is_a_clear_startup_error(self):
        cert, key = make_cert(self.tmp)
        _, other_key = make_cert(self.tmp, "other")
        missing = os.path.join(self.tmp, "missing.pem")
        out = self.refused_start({"tls_cert": missing, "tls_key": key})
        self.assertIn("tls_cert", out)
        self.assertIn("missing.pem", out)
        out = self.refused_start({"tls_cert": key, "tls_key": key})
        self.assertIn("cannot load a PEM certificate", out)
        out = self.refused_start({"tls_cert": cert, "tls_key": cert})
        self.assertIn("tls_key", out)
        out = self.refused_start({"tls_cert": cert, "tls_key": other_key})
        self.assertIn("does not match", out)
        out = self.refused_start({"tls_cert": cert})
        self.assertIn("tls_cert and tls_key go together", out)


if __name__ == "__main__":
    unittest.main()
