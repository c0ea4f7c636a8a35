"""Interop harness for the IAX2 trunk: the stock Debian iaxmodem (a virtual fax modem speaking
IAX2) driven by efax, against the real vfaxd. Runs inside a network namespace with only `lo`
(run_in_netns.sh), so iaxmodem and vfaxd listen on nothing else."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from vfaxtest import FAXCMP, Daemon, VfaxTestCase, free_udp_port  # noqa: E402,F401


# Peers' secrets need at least 12 characters.
SECRET = "password-for-iaxmodem"


def text_pages(workdir, pages, title):
    """One G3 TIFF per page from text (efax sends one file per page)."""
    files = []
    for p in range(1, pages + 1):
        txt = os.path.join(workdir, f"page{p}.txt")
        with open(txt, "w") as f:
            f.write(f"{title} - page {p} of {pages}\n\n")
            for i in range(40):
                f.write(f"Line {i + 1}: the quick brown fox jumps over the lazy dog {p * 100 + i}\n")
        tif = os.path.join(workdir, f"page{p}.tif")
        with open(tif, "wb") as out:
            subprocess.run(["efix", "-i", "text", "-o", "tiffg3", txt], stdout=out, check=True,
                           stderr=subprocess.DEVNULL)
        files.append(tif)
    return files


def join_tiffs(files, out):
    subprocess.run(["tiffcp", *files, out], check=True)
    return out


class IaxModem:
    """One iaxmodem process (with its pty device) registered to vfaxd."""

    def __init__(self, workdir, server_port, name="ttyIAX", secret=SECRET, codec="slinear",
                 peername="iaxmodem"):
        self.workdir = workdir
        self.name = name
        self.port = free_udp_port()
        self.device = os.path.join(workdir, name)
        self.config = os.path.join(workdir, name + ".conf")
        self.log_path = os.path.join(workdir, name + ".log")
        with open(self.config, "w") as f:
            f.write("\n".join([
                f"device {self.device}", "owner root:root", "mode 660", f"port {self.port}",
                "refresh 60", f"server 127.0.0.1:{server_port}", f"peername {peername}",
                f"secret {secret}", "cidname iaxmodem test", "cidnumber 5551000",
                f"codec {codec}"] + (["iax2debug"] if os.environ.get("VFAX_IAX2DEBUG") else []) + [""]))
        self.proc = None

    def start(self):
        os.makedirs("/etc/iaxmodem", exist_ok=True)
        # iaxmodem only reads /etc/iaxmodem/NAME: a relative NAME climbs out of that folder.
        rel = "../.." + self.config
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(["iaxmodem", rel], stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=self.workdir)
        deadline = time.time() + 10
        while not os.path.exists(self.device):
            if time.time() > deadline or self.proc.poll() is not None:
                raise AssertionError("iaxmodem did not start:\n" + self.log_text())
            time.sleep(0.1)
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

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-8000:]
        except OSError:
            return ""

    def efax_send(self, number, pages, timeout=240):
        """Runs efax to send the page files; returns (exit code, output)."""
        p = subprocess.run(["efax", "-d", self.device, "-o1", "-l", "+1 555 1000", "-t",
                            "T" + number, *pages], capture_output=True, text=True,
                           timeout=timeout, cwd=self.workdir)
        return p.returncode, p.stdout + p.stderr

    def efax_receive(self, prefix):
        """Starts `efax -r` waiting for one call (the modem auto-answers: plain -r would answer at
        once, with no call); returns the process."""
        with open(prefix + ".log", "w") as out:
            return subprocess.Popen(["efax", "-d", self.device, "-o1", "-l", "+1 555 2000", "-w",
                                     "-iS0=1", "-r", prefix], stdout=out, stderr=subprocess.STDOUT,
                                    cwd=self.workdir)


def iax2_config(port, peers, extra=None, retry_seconds=2):
    """vfaxd TOML text: non-realtime loopback (IAX2 keeps its own wall clock), IAX2 on
    127.0.0.1:port with the given peers."""
    lines = ['[server]', 'log_level = "debug"', '[loopback]', 'realtime = false',
             '[scheduler]', f'retry_busy_seconds = {retry_seconds}',
             f'retry_no_answer_seconds = {retry_seconds}',
             f'retry_dropped_seconds = {retry_seconds}', f'retry_other_seconds = {retry_seconds}',
             'retry_unavailable_seconds = 1', 'retry_unavailable_max_seconds = 4',
             '[iax2]', f'bind = "127.0.0.1:{port}"']
    for k, v in (extra or {}).items():
        lines.append(f"{k} = {v!r}".replace("'", '"') if isinstance(v, str) else f"{k} = {str(v).lower()}")
    for p in peers:
        lines.append("[[iax2.peer]]")
        # Stock iaxmodem (libiax2) cannot do CALLTOKEN: its peers must take requests without.
        p = dict({"calltoken": "optional"}, **p)
        for k, v in p.items():
            lines.append(f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v}")
    return "\n".join(lines) + "\n"


class InteropCase(VfaxTestCase):
    """A vfaxd with an IAX2 trunk and any number of iaxmodems; all stopped at the end."""

    def setUp(self):
        super().setUp()
        self.modems = []
        self.procs = []  # helper processes (efax) killed at the end
        if subprocess.run(["which", "iaxmodem"], capture_output=True).returncode != 0:
            self.skipTest("iaxmodem is not installed (scripts/install-deps)")

    def tearDown(self):
        failed = False
        if hasattr(self._outcome, "result"):
            failed = any(t is self for t, _ in self._outcome.result.errors + self._outcome.result.failures)
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for m in self.modems:
            m.stop()
            if failed:
                print(f"--- {m.log_path} ---\n{m.log_text()}")
        super().tearDown()

    def iax_daemon(self, peers, extra=None, retry_seconds=2):
        self.iax_port = free_udp_port()
        d = Daemon(self.tmp, None, "vfaxd")
        with open(d.config_path, "w") as f:
            f.write(iax2_config(self.iax_port, peers, extra, retry_seconds))
        self.daemons.append(d)
        return d.start()

    def modem(self, **kw):
        m = IaxModem(self.tmp, self.iax_port, name=f"ttyIAX{len(self.modems)}", **kw)
        self.modems.append(m)
        return m.start()

    def wait_registered(self, d, peer, timeout=30):
        def registered():
            m = [line for line in d.log().splitlines() if f"peer '{peer}' registered" in line]
            return bool(m)
        d.wait_for(registered, timeout, f"iaxmodem '{peer}' to register")
