"""Helpers for the Print-to-Fax tests: a stand-in for vfaxd's two internal print routes (a fake
at the process boundary that records what vfax-printer sends and can inject vfaxd's refusals),
the real vfax-printer process, ipptool runs, and a private CUPS."""
import email.parser
import email.policy
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

VFAX_PRINTER = os.environ.get("VFAX_PRINTER", "vfax-printer")
SECRET = "5eb1c2d3e4f5061728394a5b6c7d8e9f00112233445566778899aabbccddeeff"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeVfaxd:
    """POST /api/v1/print/authorize and /api/v1/print/jobs as the print contract defines them.
    users: {name: (password, id)}; anonymous: {"allow": [addresses], "device": id or None};
    reject: a function (document bytes, fields) -> (status, code, message) or None."""

    def __init__(self, users=None, anonymous=None, reject=None):
        self.users = users or {}
        self.anonymous = anonymous or {"allow": [], "device": None}
        self.reject = reject
        self.authorizations = []
        self.jobs = []
        self.cond = threading.Condition()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if self.headers.get("X-Vfax-Printer") != SECRET:
                    return self.answer(404, {"error": {"code": "not_found", "message": "no such route"}})
                if self.path == "/api/v1/print/authorize":
                    return self.answer(*fake.authorize(json.loads(body)))
                if self.path == "/api/v1/print/jobs":
                    return self.answer(*fake.job(self.headers.get("Content-Type", ""), body))
                return self.answer(404, {"error": {"code": "not_found", "message": "no such route"}})

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def authorize(self, req):
        with self.cond:
            self.authorizations.append(req)
        unauthorized = (401, {"error": {"code": "unauthorized", "message": "wrong user name or password"}})
        if "username" in req:
            entry = self.users.get(req["username"])
            if not entry or entry[0] != req.get("password"):
                return unauthorized
            return 200, {"user": entry[1], "username": req["username"], "device": 3}
        if self.anonymous["device"] is not None and req.get("address") in self.anonymous["allow"]:
            return 200, {"user": None, "device": self.anonymous["device"]}
        return unauthorized

    def job(self, ctype, body):
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
        fields, document, doc_type = {}, None, None
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name == "file":
                document = part.get_payload(decode=True)
                doc_type = part.get_content_type()
            else:
                fields[name] = part.get_payload(decode=True).decode()
        record = {"fields": fields, "document": document, "content_type": doc_type}
        result = self.reject(document, fields) if self.reject else None
        record["answer"] = result or (201, None, None)
        with self.cond:
            self.jobs.append(record)
            self.cond.notify_all()
        if result:
            status, code, message = result
            return status, {"error": {"code": code, "message": message}}
        return 201, {"faxes": [{"id": len(self.jobs), "state": "queued"}], "held": False}

    def wait_jobs(self, n, timeout=60):
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.jobs) >= n, timeout):
                raise AssertionError(f"vfax-printer handed over {len(self.jobs)} jobs, expected {n}")
            return list(self.jobs)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Printer:
    """The real vfax-printer on a free loopback port, talking to `api_url`."""

    def __init__(self, workdir, api_url, secret=SECRET, extra=None):
        self.port = free_port()
        self.spool = os.path.join(workdir, "print-spool")
        self.log_path = os.path.join(workdir, "vfax-printer.log")
        env = dict(os.environ, VFAX_PRINTER_SECRET=secret)
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                [VFAX_PRINTER, "--listen", f"127.0.0.1:{self.port}", "--spool", self.spool,
                 "--api", api_url, "--log-level", "debug", "--no-dnssd", *(["--anonymous"] if extra is None else extra)],
                stdout=log, stderr=subprocess.STDOUT, env=env)
        self.uri = f"ipp://127.0.0.1:{self.port}/ipp/print"
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"vfax-printer exited {self.proc.returncode}:\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("vfax-printer did not listen:\n" + self.log())

    def uri_for(self, user=None, password=None):
        if user is None:
            return self.uri
        return f"ipp://{user}:{password}@127.0.0.1:{self.port}/ipp/print"

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()[-20000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("vfax-printer did not stop on SIGTERM")
        return self.proc.returncode


def ipptool(uri, testfile, *args, document=None, timeout=120):
    cmd = ["ipptool", "-T", "30", "-tv"]
    if document:
        cmd += ["-f", document]
    cmd += [*args, uri, testfile]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


# Print-Job, then Get-Job-Attributes until the job is final; shows what a print dialog sees.
PRINT_AND_FOLLOW = """
{
  NAME "Print-Job"
  OPERATION Print-Job
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR name requesting-user-name $requser
  ATTR mimeMediaType document-format $filetype
  ATTR name job-name $filename
  FILE $filename
  STATUS successful-ok
  EXPECT job-id OF-TYPE integer
  EXPECT job-uri OF-TYPE uri
}
{
  NAME "Follow the job"
  OPERATION Get-Job-Attributes
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR integer job-id $job-id
  ATTR name requesting-user-name $requser
  STATUS successful-ok
  EXPECT job-state WITH-VALUE >6 REPEAT-NO-MATCH
  DISPLAY job-state
  DISPLAY job-state-reasons
  DISPLAY job-state-message
  DISPLAY job-originating-user-name
}
"""

# What a desktop print dialog does for a queue with auth-info-required=username,password: the
# job waits in CUPS ("cups-held-for-authentication") until the dialog sends the credentials.
AUTHENTICATE_JOB = """
{
  NAME "CUPS-Authenticate-Job"
  OPERATION CUPS-Authenticate-Job
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR integer job-id $jobid
  ATTR name requesting-user-name $authuser
  ATTR text auth-info "$authuser","$authpassword"
  STATUS successful-ok
}
"""

ADMIN_OP = """
{
  NAME "Disable-Printer"
  OPERATION Disable-Printer
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR name requesting-user-name $requser
  STATUS successful-ok
}
"""


class PrivateCups:
    """A cupsd of the test's own (ServerRoot, spool, logs, port), as root; stopped by pid."""

    def __init__(self, workdir):
        self.root = os.path.join(workdir, "cups")
        self.port = free_port()
        for d in ("", "spool", "spool/tmp", "cache", "run", "ppd", "ssl"):
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
        with open(os.path.join(self.root, "cups-files.conf"), "w") as f:
            f.write(f"""ServerRoot {self.root}
RequestRoot {self.root}/spool
TempDir {self.root}/spool/tmp
CacheDir {self.root}/cache
StateDir {self.root}/run
ServerBin /usr/lib/cups
DataDir /usr/share/cups
DocumentRoot /usr/share/cups/doc-root
ErrorLog {self.root}/error_log
AccessLog {self.root}/access_log
PageLog {self.root}/page_log
User lp
Group lp
SystemGroup root
FileDevice No
""")
        with open(os.path.join(self.root, "cupsd.conf"), "w") as f:
            f.write(f"""Listen 127.0.0.1:{self.port}
LogLevel debug
Browsing No
WebInterface No
DefaultAuthType None
<Location />
  Order allow,deny
  Allow 127.0.0.1
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
""")
        os.chmod(workdir, 0o755)  # cupsd's filters run as lp and read the spooled job
        self.proc = subprocess.Popen(["/usr/sbin/cupsd", "-f", "-c", os.path.join(self.root, "cupsd.conf"),
                                      "-s", os.path.join(self.root, "cups-files.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.env = dict(os.environ, CUPS_SERVER=f"127.0.0.1:{self.port}")
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"cupsd exited {self.proc.returncode}:\n{self.log()}")
            if "scheduler is running" in self.run("lpstat", "-r", check=False).stdout:
                return
            time.sleep(0.2)
        raise AssertionError("cupsd did not come up:\n" + self.log())

    def run(self, *args, check=True):
        p = subprocess.run(list(args), capture_output=True, text=True, env=self.env, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {p.returncode}: {p.stdout}{p.stderr}\n{self.log()}")
        return p

    def log(self):
        try:
            with open(os.path.join(self.root, "error_log"), errors="replace") as f:
                return f.read()[-15000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def have_cups():
    return os.geteuid() == 0 and shutil.which("/usr/sbin/cupsd") and shutil.which("lpadmin")
