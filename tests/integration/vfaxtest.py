"""Test harness: starts the real vfaxd on a temp data dir and a free port, and drives it through
the real `vfax` CLI and the REST API. Binaries come from the environment CTest sets."""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import uuid

VFAXD = os.environ.get("VFAXD", "vfaxd")
VFAX = os.environ.get("VFAX", "vfax")
FAXCMP = os.environ.get("FAXCMP", "faxcmp")


def kernel_has_landlock():
    """vfaxd refuses documents without Landlock unless told otherwise (README, "Hostile
    documents"); on such kernels the tests allow it, except those of the refusal itself."""
    try:
        import ctypes
        return ctypes.CDLL(None, use_errno=True).syscall(444, None, 0, 1) >= 1  # ABI version
    except (OSError, AttributeError):
        return False


HAVE_LANDLOCK = kernel_has_landlock()


def free_udp_port(host="127.0.0.1"):
    """A UDP port on `host` that was free a moment ago (for a peer the test starts)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def receive_datagrams(sock, seconds):
    """Every (data, address) that arrives on a UDP socket within `seconds` (quiet time for the
    attack tests, not a timing assertion)."""
    out = []
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return out
        sock.settimeout(left)
        try:
            out.append(sock.recvfrom(65535))
        except (TimeoutError, BlockingIOError):
            return out


def make_pdf(path, pages, title="vfax test"):
    """A real multi-page PDF from PostScript through Ghostscript: text, lines and a grey box."""
    ps = ["%!PS"]
    for p in range(1, pages + 1):
        ps.append("/Helvetica findfont 28 scalefont setfont")
        ps.append(f"72 740 moveto ({title} - page {p} of {pages}) show")
        ps.append("/Times-Roman findfont 14 scalefont setfont")
        for i in range(30):
            ps.append(f"72 {700 - i * 20} moveto (Line {i + 1}: the quick brown fox jumps over the lazy dog {p * 100 + i}) show")
        ps.append(f"{2 + p} setlinewidth 72 80 moveto 540 {80 + p * 30} lineto stroke")
        ps.append("showpage")
    src = path + ".ps"
    with open(src, "w") as f:
        f.write("\n".join(ps) + "\n")
    subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite",
                    "-sPAPERSIZE=a4", f"-sOutputFile={path}", src], check=True)
    os.unlink(src)
    return path


class Daemon:
    """One vfaxd process with its own data dir and config."""

    def __init__(self, workdir, config=None, name="vfaxd"):
        self.workdir = workdir
        self.data = os.path.join(workdir, "data")
        self.config_path = os.path.join(workdir, f"{name}.toml")
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.proc = None
        self.url = None
        self.cafile = None  # https: the CA (or self-signed certificate) that requests trust
        cfg = {"server": {"log_level": "debug"}, "loopback": {"realtime": False}}
        if not HAVE_LANDLOCK:
            cfg["documents"] = {"allow_unsandboxed": True}
        for section, values in (config or {}).items():
            cfg.setdefault(section, {}).update(values)
        with open(self.config_path, "w") as f:
            for section, values in cfg.items():
                f.write(f"[{section}]\n")
                for k, v in values.items():
                    f.write(f"{k} = {json.dumps(v)}\n")

    def start(self, timeout=60):
        url_file = os.path.join(self.data, "http-url")
        if os.path.exists(url_file):
            os.unlink(url_file)
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen([VFAXD, "--config", self.config_path, "--data", self.data,
                                          "--http", "127.0.0.1:0"], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"vfaxd exited with {self.proc.returncode}:\n{self.log()}")
            if os.path.exists(url_file):
                with open(url_file) as f:
                    self.url = f.read().strip()
                if self.url:
                    try:
                        self.request("GET", "/api/v1/healthz", auth=False)
                        return self
                    except (OSError, urllib.error.URLError):
                        pass
            time.sleep(0.1)
        raise AssertionError("vfaxd did not come up:\n" + self.log())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("vfaxd did not stop on SIGTERM within 30 s")
        return self.proc.returncode if self.proc else None

    def terminate(self):
        """SIGTERM; returns (exit status, seconds until the process was gone). Waits at most 30 s
        so that a hang shows as a failure with the log rather than a stuck test."""
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("vfaxd did not stop on SIGTERM within 30 s:\n" + self.log())
        return self.proc.returncode, time.monotonic() - start

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-20000:]
        except OSError:
            return ""

    @property
    def token(self):
        with open(os.path.join(self.data, "admin-token")) as f:
            return f.read().strip()

    # -- CLI -------------------------------------------------------------------------------
    def cli(self, *args, check=True, token=None, url=None, input=None):
        env = dict(os.environ, VFAX_URL=url or self.url, VFAX_TOKEN=token if token is not None else self.token)
        extra = {} if input is None else {"input": input}
        p = subprocess.run([VFAX, *args], env=env, capture_output=True, text=True, timeout=600, **extra)
        if check and p.returncode != 0:
            raise AssertionError(f"vfax {' '.join(args)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
        return p

    def cli_json(self, *args):
        return json.loads(self.cli(*args, "--json").stdout)

    # -- API -------------------------------------------------------------------------------
    def request(self, method, path, body=None, auth=True, token=None, headers=None, raw=False):
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            if isinstance(body, (bytes, bytearray)):
                data = bytes(body)
            else:
                data = json.dumps(body).encode()
                hdrs.setdefault("Content-Type", "application/json")
        if auth:
            hdrs["Authorization"] = "Bearer " + (token if token is not None else self.token)
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            context = ssl.create_default_context(cafile=self.cafile) if self.cafile else None
            with urllib.request.urlopen(req, timeout=120, context=context) as r:
                payload = r.read()
                status = r.status
                ctype = r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            payload = e.read()
            status = e.code
            ctype = e.headers.get("Content-Type", "")
        if raw or not ctype.startswith("application/json"):
            return status, payload
        return status, json.loads(payload) if payload else None

    def add_user(self, username, role="user", password=None, email=None, **fields):
        """Creates a user through the API; returns its JSON."""
        body = {"username": username, "role": role, **fields}
        if password:
            body["password"] = password
        if email:
            body["email"] = email
        status, user = self.request("POST", "/api/v1/users", body)
        assert status == 201, user
        return user

    def user_token(self, username="user", role="user", **fields):
        """A new user (role `user` unless said) and a token of theirs; returns the secret."""
        user = self.add_user(username, role=role, **fields)
        status, t = self.request("POST", "/api/v1/tokens", {"name": username, "user": user["id"]})
        assert status == 201, t
        return t["token"]

    def post_fax(self, fields, files, token=None):
        """multipart/form-data POST /faxes; files: list of (filename, bytes, content type)."""
        boundary = "vfaxtest" + uuid.uuid4().hex
        parts = []
        for k, v in fields.items():
            parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode())
        for name, content, ctype in files:
            parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                         f"Content-Type: {ctype}\r\n\r\n".encode() + content + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request("POST", "/api/v1/faxes", b"".join(parts), token=token,
                            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def faxes(self, direction=None, state=None):
        q = []
        if direction:
            q.append("direction=" + direction)
        if state:
            q.append("state=" + state)
        status, body = self.request("GET", "/api/v1/faxes?" + "&".join(q) + "&limit=500")
        assert status == 200, body
        return body["faxes"]

    def fax(self, fid):
        status, body = self.request("GET", f"/api/v1/faxes/{fid}")
        assert status == 200, body
        return body

    def wait_for(self, predicate, timeout=300, what="condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}\n--- vfaxd log ---\n{self.log()}")

    def wait_for_log(self, text, timeout=30):
        """vfaxd logs through an asynchronous queue: a line may reach the file a little after the
        event a test observed. Waits for `text` to appear in the log."""
        return self.wait_for(lambda: text in self.log(), timeout, f"the log line {text!r}")

    def wait_final(self, fid, timeout=300):
        final = {"done", "failed", "canceled", "received"}
        return self.wait_for(lambda: (f := self.fax(fid))["state"] in final and f, timeout,
                             f"fax {fid} to finish")


class VfaxTestCase(unittest.TestCase):
    """Gives each test a temp dir and stops every daemon it started, keeping logs on failure."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vfax-it-")
        self.daemons = []

    def tearDown(self):
        for d in self.daemons:
            try:
                d.stop()
            except AssertionError as e:
                print(e)
        failed = any(err for _, err in (self._outcome.result.errors + self._outcome.result.failures)
                     if _ is self) if hasattr(self._outcome, "result") else False
        if failed:
            for d in self.daemons:
                print(f"--- {d.log_path} ---\n{d.log()}")
        shutil.rmtree(self.tmp, ignore_errors=True)

    def daemon(self, config=None, name="vfaxd"):
        d = Daemon(self.tmp, config, name)
        self.daemons.append(d)
        return d.start()

    def restart(self, old, config=None, name="vfaxd-restart"):
        """A new vfaxd on the data dir of `old` (which must have stopped or been killed)."""
        d = Daemon(self.tmp, config, name)
        d.data = old.data
        self.daemons.append(d)
        return d.start()

    def add_device(self, d, extension, name="Accounting", email="fax@example.test"):
        out = d.cli("device", "add", "--kind", "team", "--name", name, "--email", email,
                    "--extension", extension, "--json")
        return json.loads(out.stdout)
