"""Mail and logs (issue 13, item 4) against the real vfaxd and vfax: outside text cannot forge log
lines, only single bare e-mail addresses are accepted for mail, the admin token is shown only on a
terminal, and the CLI never takes its token from argv."""
import json
import os
import pty
import select
import signal
import socket
import stat
import struct
import subprocess
import threading
import time
import unittest

from vfaxtest import VFAX, VFAXD, Daemon, VfaxTestCase, free_udp_port, make_pdf

FORGED = "2026-01-01 00:00:00.000 [info] FAKE LOG LINE"


def iax2_regreq(username, md5_result=b"0" * 32, token=None):
    """A full IAX2 REGREQ frame (RFC 5456) with USERNAME and an MD5 result (no challenge was
    asked for, so vfaxd refuses it and logs the user name), and a CALLTOKEN IE when given."""
    def ie(kind, data):
        return bytes([kind, len(data)]) + data
    header = struct.pack(">HHIBBBB", 0x8000 | 1, 0, 3, 0, 0, 6, 13)  # IAX frame, REGREQ
    out = header + ie(6, username) + ie(16, md5_result) + ie(19, struct.pack(">H", 60))
    return out + (ie(54, token) if token is not None else b"")


def send_refused_regreq(port, username):
    """The REGREQ, after the CALLTOKEN exchange vfaxd demands before it looks at a request."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(10)
        s.sendto(iax2_regreq(username, token=b""), ("127.0.0.1", port))
        data, _ = s.recvfrom(4096)
        assert len(data) >= 12 and data[10] == 6 and data[11] == 40, data  # IAX CALLTOKEN
        i, token = 12, None
        while i + 2 <= len(data):
            if data[i] == 54:
                token = data[i + 2:i + 2 + data[i + 1]]
            i += 2 + data[i + 1]
        assert token, data
        s.sendto(iax2_regreq(username, token=token), ("127.0.0.1", port))


def forged_lines(log):
    """Lines mentioning the forged text that spdlog did not start (its lines begin with "[")."""
    return [line for line in log.splitlines() if "FAKE LOG LINE" in line and not line.startswith("[")]


class LogInjection(VfaxTestCase):

    def test_outside_text_cannot_forge_a_log_line_or_drive_the_terminal(self):
        port = free_udp_port()
        d = self.daemon({"iax2": {"bind": f"127.0.0.1:{port}"}})
        # An IAX2 user name with a line break, a forged line and ANSI escapes.
        user = ("evil\r\n" + FORGED + "\x1b[2J\x1b[31m").encode()
        send_refused_regreq(port, user)
        d.wait_for(lambda: "refused the registration of" in d.log(), 30, "the refused registration")
        # An HTTP path: cpp-httplib decodes %0d%0a into a real line break before we log it.
        status, _ = d.request("GET", "/api/v1/x%0d%0a" + FORGED.replace(" ", "%20") + "%1b%5b2J",
                              raw=True)
        self.assertEqual(status, 404)
        d.wait_for(lambda: "http GET /api/v1/x" in d.log(), 30, "the request's log line")
        with open(d.log_path, "rb") as f:
            raw = f.read()
        self.assertNotIn(b"\x1b", raw, "an ANSI escape reached the log")
        log = raw.decode("utf-8", errors="replace")
        self.assertEqual(forged_lines(log), [], log[-3000:])
        # The values are there, escaped on their own line.
        self.assertIn("refused the registration of 'evil\\x0d\\x0a" + FORGED + "\\x1b[2J\\x1b[31m'", log)
        self.assertIn("http GET /api/v1/x\\x0d\\x0a" + FORGED + "\\x1b[2J -> 404", log)

    def test_long_outside_text_is_bounded(self):
        port = free_udp_port()
        d = self.daemon({"iax2": {"bind": f"127.0.0.1:{port}"}})
        send_refused_regreq(port, b"\xff" * 250)
        d.wait_for(lambda: "refused the registration of" in d.log(), 30, "the refused registration")
        line = [l for l in d.log().splitlines() if "refused the registration of" in l][0]
        # Invalid UTF-8 as \xNN, cut after 200 bytes with the rest counted.
        self.assertIn("'" + "\\xff" * 200 + "...(+50 bytes)'", line)


class MailAddresses(VfaxTestCase):

    def assert_refused(self, status, body, field, code="invalid_request"):
        self.assertEqual(status, 400, body)
        self.assertEqual(body["error"]["code"], code, body)
        self.assertTrue(body["error"]["message"].startswith(field + ": "), body)
        self.assertNotIn("\n", body["error"]["message"])

    def test_only_single_bare_addresses_and_nothing_queued_is_lost(self):
        d = self.daemon({"smtp": {"host": "127.0.0.1", "port": 1}})  # nothing listens: mails wait
        status, queued = d.request("POST", "/api/v1/mail/test", {"to": "good@example.test"})
        self.assertEqual(status, 200, queued)
        bad = ["a@x.test\r\nRCPT TO:<evil@y.test>", "a@x.test, evil@y.test", "a@x.test;evil@y.test",
               "Boss <evil@y.test>", "\"a@x.test\" <evil@y.test>", "evil@y.test (note)",
               "no-at-sign", "a" * 65 + "@x.test", "a@" + "b" * 260 + ".test", "a@x.test\x1b[2J"]
        for to in bad:
            with self.subTest(to=to):
                status, body = d.request("POST", "/api/v1/mail/test", {"to": to})
                self.assert_refused(status, body, "to")

        # Devices: add and change.
        device = self.add_device(d, "100", email="team@example.test")
        for email in bad[:5]:
            with self.subTest(email=email):
                status, body = d.request("POST", "/api/v1/devices",
                                         {"name": "X", "email": email, "extension": "101"})
                self.assert_refused(status, body, "email", "invalid_device")
                status, body = d.request("PUT", f"/api/v1/devices/{device['id']}", {"email": email})
                self.assert_refused(status, body, "email", "invalid_device")
        self.assertEqual(d.request("GET", f"/api/v1/devices/{device['id']}")[1]["email"], "team@example.test")

        # Users: add and change (an empty address stays allowed: no mail for that user).
        user = d.add_user("alice", email="alice@example.test")
        for email in bad[:5]:
            with self.subTest(email=email):
                status, body = d.request("POST", "/api/v1/users", {"username": "bob", "email": email})
                self.assert_refused(status, body, "email")
                status, body = d.request("PUT", f"/api/v1/users/{user['id']}", {"email": email})
                self.assert_refused(status, body, "email")
        self.assertEqual(d.request("GET", f"/api/v1/users/{user['id']}")[1]["email"], "alice@example.test")

        # A fax's notify.
        pdf = os.path.join(self.tmp, "one.pdf")
        make_pdf(pdf, 1)
        with open(pdf, "rb") as f:
            content = f.read()
        status, body = d.post_fax({"to": "100", "device": str(device["id"]),
                                   "notify": "a@x.test, evil@y.test"},
                                  [("one.pdf", content, "application/pdf")])
        self.assert_refused(status, body, "notify")

        # smtp_from, the envelope sender of every mail.
        status, body = d.request("PUT", "/api/v1/mail/settings", {"smtp_from": "fax@x.test\r\nDATA"})
        self.assert_refused(status, body, "smtp_from", "invalid_setting")
        self.assertEqual(d.request("GET", "/api/v1/mail/settings")[1]["smtp_from"], "vfax@localhost")

        # The CLI shows the server's message and exits 1.
        p = d.cli("device", "add", "--kind", "team", "--name", "Y", "--email", "Y <y@x.test>",
                  "--extension", "102", check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("email: ", p.stderr)

        # Nothing queued before was lost, and nothing was queued for a refused address.
        mails = d.request("GET", "/api/v1/mail/outbox")[1]["mails"]
        self.assertEqual([(m["id"], m["recipient"], m["state"]) for m in mails],
                         [(queued["id"], "good@example.test", "pending")], mails)


class AdminToken(VfaxTestCase):

    def test_not_a_terminal_the_log_names_the_file_only(self):
        d = self.daemon()
        path = os.path.join(d.data, "admin-token")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        token = d.token
        self.assertTrue(token)
        log = d.log()
        self.assertNotIn(token, log)
        self.assertIn(f"admin API token created; it is in {path}", log)
        # The CLI reads it from the file.
        p = subprocess.run([VFAX, "whoami"], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, VFAX_URL=d.url, VFAX_TOKEN_FILE=path, HOME=self.tmp))
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_a_terminal_sees_the_token_once(self):
        d = Daemon(self.tmp)  # writes the config; started here with a pty as stdout and stderr
        master, slave = pty.openpty()
        proc = subprocess.Popen([VFAXD, "--config", d.config_path, "--data", d.data,
                                 "--http", "127.0.0.1:0"], stdin=subprocess.DEVNULL,
                                stdout=slave, stderr=slave, close_fds=True)
        os.close(slave)
        out = bytearray()
        done = threading.Event()

        def drain():  # keeps the pty from filling while vfaxd logs
            while True:
                try:
                    r, _, _ = select.select([master], [], [], 0.2)
                    if r:
                        chunk = os.read(master, 65536)
                        if not chunk:
                            break
                        out.extend(chunk)
                    elif done.is_set():
                        break
                except OSError:  # EIO once vfaxd has closed its end
                    break

        reader = threading.Thread(target=drain)
        reader.start()
        try:
            deadline = time.time() + 60
            while b"vfaxd: listening on" not in out and time.time() < deadline:
                self.assertIsNone(proc.poll(), bytes(out).decode(errors="replace"))
                time.sleep(0.1)
            text = bytes(out).decode(errors="replace")
            self.assertIn("vfaxd: listening on", text)
            with open(os.path.join(d.data, "admin-token")) as f:
                token = f.read().strip()
            self.assertIn("admin API token (shown once", text)
            self.assertIn(token, text)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            done.set()
            reader.join()
            os.close(master)


class CliToken(VfaxTestCase):

    def run_cli(self, d, *args, env=None):
        e = {k: v for k, v in os.environ.items() if not k.startswith("VFAX_TOKEN")}
        e.update(VFAX_URL=d.url, HOME=self.tmp)  # no saved login
        e.update(env or {})
        return subprocess.run([VFAX, *args], env=e, capture_output=True, text=True, timeout=60)

    def test_token_from_environment_or_file_never_from_argv(self):
        d = self.daemon()
        token_file = os.path.join(self.tmp, "token")
        with open(token_file, "w") as f:
            f.write(d.token + "\n")
        # --token is refused by name, before anything is sent, with what to use instead.
        for args in (["--token", d.token, "whoami"], ["--token=" + d.token, "whoami"],
                     ["whoami", "--token", d.token]):
            p = self.run_cli(d, *args)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("--token is not accepted", p.stderr)
            self.assertIn("VFAX_TOKEN", p.stderr)
            self.assertIn("--token-file", p.stderr)
            self.assertNotIn(d.token, p.stderr + p.stdout)
        # The ways that work.
        self.assertEqual(self.run_cli(d, "whoami", env={"VFAX_TOKEN": d.token}).returncode, 0)
        self.assertEqual(self.run_cli(d, "--token-file", token_file, "whoami").returncode, 0)
        self.assertEqual(self.run_cli(d, "whoami", env={"VFAX_TOKEN_FILE": token_file}).returncode, 0)
        # --token-file wins over VFAX_TOKEN; VFAX_TOKEN wins over VFAX_TOKEN_FILE.
        p = self.run_cli(d, "--token-file", token_file, "whoami", env={"VFAX_TOKEN": "wrong"})
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.run_cli(d, "whoami", env={"VFAX_TOKEN": "wrong", "VFAX_TOKEN_FILE": token_file})
        self.assertEqual(p.returncode, 1, p.stderr)
        # Bad files are usage errors that name the file.
        missing = os.path.join(self.tmp, "missing")
        p = self.run_cli(d, "--token-file", missing, "whoami")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(missing, p.stderr)
        empty = os.path.join(self.tmp, "empty")
        open(empty, "w").close()
        p = self.run_cli(d, "whoami", env={"VFAX_TOKEN_FILE": empty})
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("empty", p.stderr)
        # No token at all: the 401 says how to give one.
        p = self.run_cli(d, "whoami")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("VFAX_TOKEN", p.stderr)
        self.assertIn("--token-file", p.stderr)
        self.assertNotIn("pass --token)", p.stderr)


if __name__ == "__main__":
    unittest.main()
