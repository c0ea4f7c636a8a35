"""Real mail peers on 127.0.0.1 for the mail tests: Dovecot (IMAP, IMAPS, POP3, POP3S with a
self-signed certificate) and aiosmtpd storing what it receives in a Maildir. Each runs from files
written into a temp folder, on free ports, and is stopped by its pid."""
import email
import email.policy
import email.utils
import glob
import os
import signal
import socket
import subprocess
import time

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


def make_cert(folder):
    key, cert = os.path.join(folder, "key.pem"), os.path.join(folder, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return key, cert


class Dovecot:
    USER = "fax@example.test"
    PASSWORD = "secret"

    def __init__(self, folder):
        self.dir = os.path.join(folder, "dovecot")
        os.makedirs(self.dir)
        # Dovecot serves mail as nobody: every folder on the way must be passable.
        p = self.dir
        while p not in ("/", ""):
            os.chmod(p, os.stat(p).st_mode | 0o011)
            p = os.path.dirname(p)
        self.key, self.cert = make_cert(self.dir)
        self.mail = os.path.join(self.dir, "mail", "fax")
        os.makedirs(self.mail)
        os.chown(os.path.join(self.dir, "mail"), 65534, 65534)
        os.chown(self.mail, 65534, 65534)
        self.ports = {k: free_port() for k in ("imap", "imaps", "pop3", "pop3s")}
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            f.write(f"{self.USER}:{{PLAIN}}{self.PASSWORD}:65534:65534::{self.mail}::\n")
        lines = [
            f"base_dir = {self.dir}/run",
            f"state_dir = {self.dir}/state",
            f"log_path = {self.dir}/dovecot.log",
            f"info_log_path = {self.dir}/dovecot.log",
            "protocols = imap pop3",
            "listen = 127.0.0.1",
            "ssl = yes",
            f"ssl_cert = <{self.cert}",
            f"ssl_key = <{self.key}",
            "disable_plaintext_auth = no",
            "auth_mechanisms = plain login",
            "mail_location = maildir:~/Maildir",
            "first_valid_uid = 100",
            "pop3_uidl_format = %08Xu%08Xv",
            "passdb {",
            "  driver = passwd-file",
            f"  args = {self.dir}/passwd",
            "}",
            "userdb {",
            "  driver = passwd-file",
            f"  args = {self.dir}/passwd",
            "}",
        ]
        for service, listeners in (("imap-login", (("imap", "imap", False), ("imaps", "imaps", True))),
                                   ("pop3-login", (("pop3", "pop3", False), ("pop3s", "pop3s", True)))):
            lines.append(f"service {service} {{")
            for name, key, ssl in listeners:
                lines += [f"  inet_listener {name} {{", "    address = 127.0.0.1",
                          f"    port = {self.ports[key]}"]
                if ssl:
                    lines.append("    ssl = yes")
                lines.append("  }")
            lines.append("}")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        # Dovecot daemonizes: its output must not be a pipe that we wait on.
        with open(os.path.join(self.dir, "start.log"), "ab") as out:
            subprocess.run([DOVECOT, "-c", self.conf], check=True, stdout=out, stderr=out,
                           stdin=subprocess.DEVNULL)
        for p in self.ports.values():
            wait_port(p)
        deadline = time.time() + 10
        while self.pid() is None and time.time() < deadline:
            time.sleep(0.05)
        self.master_pid = self.pid()  # kept: the folder may be gone when we stop
        if self.master_pid is None:
            raise AssertionError("Dovecot wrote no master.pid:\n" + self.log())
        return self

    def pid(self):
        try:
            with open(os.path.join(self.dir, "run", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        pid = getattr(self, "master_pid", None) or self.pid()
        self.master_pid = None
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                return
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.1)

    def deliver(self, message_bytes):
        """Puts a mail into the INBOX."""
        subprocess.run([DOVEADM, "-c", self.conf, "save", "-u", self.USER, "-m", "INBOX"],
                       input=message_bytes, check=True, capture_output=True)

    def count(self, query="ALL"):
        out = subprocess.run([DOVEADM, "-c", self.conf, "search", "-u", self.USER, "mailbox", "INBOX", *query.split()],
                             check=True, capture_output=True, text=True).stdout
        return len([l for l in out.splitlines() if l.strip()])

    def log(self):
        try:
            with open(os.path.join(self.dir, "dovecot.log"), errors="replace") as f:
                return f.read()[-5000:]
        except OSError:
            return ""


class SmtpSink:
    """aiosmtpd storing every message in maildir/new (with X-RcptTo)."""

    def __init__(self, folder, port=None):
        self.dir = os.path.join(folder, "smtp")
        self.maildir = os.path.join(self.dir, "maildir")
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(self.maildir, sub), exist_ok=True)
        self.port = port or free_port()
        self.proc = None

    def start(self):
        self.log = open(os.path.join(self.dir, "aiosmtpd.log"), "ab")
        self.proc = subprocess.Popen(["/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}",
                                      "-c", "aiosmtpd.handlers.Mailbox", self.maildir],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_port(self.port)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        self.proc = None

    def messages(self):
        out = []
        for path in sorted(glob.glob(os.path.join(self.maildir, "new", "*")), key=os.path.getmtime):
            with open(path, "rb") as f:
                out.append(email.message_from_bytes(f.read(), policy=email.policy.default))
        return out

    def wait_for(self, predicate, timeout=120, what="a mail"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = [m for m in self.messages() if predicate(m)]
            if found:
                return found
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; got subjects "
                             f"{[m['Subject'] for m in self.messages()]}")


def attachments(msg, ctype=None):
    out = []
    for part in msg.walk():
        if part.get_content_disposition() == "attachment" and (ctype is None or part.get_content_type() == ctype):
            out.append(part)
    return out


# The authserv-id of the (pretended) receiving mail server. Dovecot delivers what it is given:
# the mails here arrive as if the company's MX had checked them and stamped its
# Authentication-Results on top, which is what vfax reads (`[mail] trusted_authserv_ids`).
MX = "mx.example.test"
AUTO = "auto"


def dmarc_pass(sender, authserv_id=MX):
    domain = email.utils.parseaddr(sender)[1].rsplit("@", 1)[-1]
    return f"{authserv_id}; spf=pass smtp.mailfrom={domain}; dmarc=pass (p=reject) header.from={domain}"


def build_mail(sender, subject, files=(), body="Please fax this.", message_id=None, html=None,
               authres=AUTO, headers=()):
    """A mail with attachments: files are (filename, bytes, content type). `authres`: the
    Authentication-Results values on top, topmost first (AUTO: the MX's dmarc=pass for the
    sender's domain; None or []: none). `headers`: more (name, value) pairs."""
    from email.message import EmailMessage
    m = EmailMessage()
    if authres == AUTO:
        authres = [dmarc_pass(sender)]
    for value in authres or ():
        m["Authentication-Results"] = value
    m["From"] = sender
    for name, value in headers:
        m[name] = value
    m["To"] = Dovecot.USER
    m["Subject"] = subject
    m["Date"] = email.utils.formatdate(localtime=True)
    m["Message-ID"] = message_id or email.utils.make_msgid(domain="example.test")
    m.set_content(body)
    if html:
        m.add_alternative(html, subtype="html")
    for name, data, ctype in files:
        maintype, subtype = ctype.split("/")
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return m.as_bytes(policy=email.policy.SMTP)
