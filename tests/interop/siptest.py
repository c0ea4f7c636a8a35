"""Interop harness for the SIP trunk: the stock Debian kamailio (registrar + record-routing proxy
with digest auth) and sipp (scripted SIP far ends) against the real vfaxd. Everything listens on
127.0.0.0/8 inside the network namespace run_in_netns.sh makes (only `lo`).

- Kamailio: a config written into the test's temp dir, listening udp+tcp on 127.0.0.1:5070,
  REGISTER challenged (401) and INVITEs from a registered user challenged (407) against the fixed
  test users in USERS; in-dialog requests follow Record-Route. Each relayed request is logged
  ("KAM <method> ...") so a test can count what passed (re-INVITEs, UPDATEs, BYEs).
- Sipp: scenarios under tests/interop/sipp/ (or written by the test), one process per scenario,
  exit status 0 when every call of the scenario passed its checks.
- vfaxd: sip_config() writes a [sip] section (listen on a free UDP port, peers, registrations)."""
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from vfaxtest import FAXCMP, VFAXD, Daemon, VfaxTestCase, make_pdf  # noqa: E402,F401

HERE = os.path.dirname(os.path.abspath(__file__))
SIPP_DIR = os.path.join(HERE, "sipp")
KAMAILIO_PORT = 5070
KAMAILIO_MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules"
# Fixed test credentials kamailio checks (user -> secret).
USERS = {"5551000": "secret-a-1000", "5552000": "secret-b-2000", "5553000": "secret-c-3000",
         "alice": "alicepw", "bob": "bobpw"}


def free_port(kind=socket.SOCK_DGRAM, host="127.0.0.1"):
    """A port free for UDP and TCP on host (SIP listens on both)."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind((host, 0))
            port = u.getsockname()[1]
            try:
                t.bind((host, port))
            except OSError:
                continue
            return port
        finally:
            u.close()
            t.close()
    raise AssertionError("no free port")


def wait_tcp_listening(port, timeout=10):
    """Waits until something listens on TCP `port` (read from /proc, without connecting: a 3PCC
    twin takes the first connection as its twin)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":
                    return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on tcp port {port}")


def have(program):
    return shutil.which(program) is not None


def tail(path, chars=8000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-chars:]
    except OSError:
        return ""


# ------------------------------------------------------------------------------------------------
# Kamailio

KAMAILIO_CFG = r"""#!KAMAILIO
# Written by tests/interop/siptest.py: registrar + proxy for the vfax SIP interop tests.
debug=2
log_stderror=yes
log_prefix="KAM "
fork=yes
children=2
tcp_children=2
dns=no
rev_dns=no
use_dns_cache=no
auto_aliases=no
listen=udp:127.0.0.1:@PORT@
listen=tcp:127.0.0.1:@PORT@
alias="127.0.0.1:@PORT@"
mpath="@MODULES@/"

loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
loadmodule "ctl.so"
loadmodule "dialog.so"

modparam("ctl", "binrpc", "unix:@RUN@/kamailio_ctl")
modparam("usrloc", "db_mode", 0)
modparam("registrar", "max_expires", 3600)
modparam("registrar", "min_expires", 10)
modparam("rr", "append_fromtag", 1)
modparam("auth", "nonce_expire", 300)
modparam("dialog", "db_mode", 0)
modparam("dialog", "default_timeout", 7200)

request_route {
    if (!mf_process_maxfwd_header("10")) {
        sl_send_reply("483", "Too Many Hops");
        exit;
    }
    if (!sanity_check("17895", "7")) {
        xlog("L_WARN", "KAM sanity check failed: $rm from $si:$sp\n");
        exit;
    }
    xlog("L_INFO", "KAM request $rm $ru from $si:$sp callid=$ci cseq=$cs totag=$tt"
         " se=$hdr(Session-Expires)\n");

    if (has_totag()) {
        if (loose_route()) {
            xlog("L_INFO", "KAM in-dialog $rm callid=$ci\n");
            route(RELAY);
        }
        if (is_method("ACK")) {
            if (t_check_trans()) {
                route(RELAY);
            }
            exit;
        }
        sl_send_reply("404", "Not here");
        exit;
    }
    if (is_method("CANCEL")) {
        if (t_check_trans()) {
            route(RELAY);
        }
        exit;
    }
    if (is_method("ACK")) {
        if (t_check_trans()) {
            route(RELAY);
        }
        exit;
    }
    t_check_trans();
    route(PASSWORD);

    if (is_method("REGISTER")) {
        if (!pv_www_authenticate("$td", "$var(pw)", "0")) {
            xlog("L_INFO", "KAM challenge REGISTER of $tu from $si:$sp\n");
            www_challenge("$td", "0");
            exit;
        }
        consume_credentials();
        if (!save("location")) {
            sl_reply_error();
        }
        xlog("L_INFO", "KAM registered $tu contact=$ct expires=$hdr(Expires)\n");
        exit;
    }
    if (is_method("OPTIONS") && $rU == $null) {
        sl_send_reply("200", "OK");
        exit;
    }
    # Every other dialog-starting request comes from one of our users: challenge it.
    if (!pv_proxy_authenticate("$fd", "$var(pw)", "0")) {
        xlog("L_INFO", "KAM challenge $rm of $fu from $si:$sp\n");
        proxy_challenge("$fd", "0");
        exit;
    }
    consume_credentials();
    remove_hf("Route");
    record_route();
    if (!lookup("location")) {
        xlog("L_INFO", "KAM no contact for $ru\n");
        sl_send_reply("404", "Not Found");
        exit;
    }
    if (is_method("INVITE")) {
        # Tracked so that a test can end the call from here (BYE to both sides: end_calls()).
        dlg_manage();
    }
    xlog("L_INFO", "KAM relay $rm to $ru\n");
    route(RELAY);
}

route[PASSWORD] {
    $var(pw) = "@NOUSER@";
@USERS@
}

route[RELAY] {
    if (is_method("INVITE|UPDATE")) {
        t_on_reply("REPLY");
    }
    if (!t_relay()) {
        sl_reply_error();
    }
    exit;
}

onreply_route[REPLY] {
    xlog("L_INFO", "KAM reply $rs $rr to $rm callid=$ci se=$hdr(Session-Expires)\n");
}
"""


class Kamailio:
    """A kamailio registrar/proxy on 127.0.0.1:5070 (udp and tcp), config in its own folder."""

    def __init__(self, workdir, port=KAMAILIO_PORT, users=None):
        self.dir = os.path.join(workdir, "kamailio")
        self.run = os.path.join(self.dir, "run")
        os.makedirs(self.run, exist_ok=True)
        self.port = port
        self.config = os.path.join(self.dir, "kamailio.cfg")
        self.log_path = os.path.join(self.dir, "kamailio.log")
        self.pid_file = os.path.join(self.run, "kamailio.pid")
        users = users or USERS
        checks = "\n".join(f'    if ($au == "{u}") {{ $var(pw) = "{p}"; }}' for u, p in users.items())
        text = (KAMAILIO_CFG.replace("@PORT@", str(port)).replace("@MODULES@", KAMAILIO_MODULES)
                .replace("@RUN@", self.run).replace("@USERS@", checks)
                .replace("@NOUSER@", "no-such-user-" + secrets.token_hex(12)))
        with open(self.config, "w") as f:
            f.write(text)
        self.proc = None
        self.pid = None

    def start(self):
        check = subprocess.run(["kamailio", "-c", "-f", self.config], capture_output=True, text=True)
        if check.returncode != 0:
            raise AssertionError("kamailio config check failed:\n" + check.stdout + check.stderr)
        self.log = open(self.log_path, "a")
        # -DD: stays in the foreground (its pid is ours to stop) but still forks its workers.
        self.proc = subprocess.Popen(
            ["kamailio", "-f", self.config, "-DD", "-E", "-m", "32", "-M", "4", "-Y", self.run,
             "-w", self.run, "-P", self.pid_file], stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("kamailio exited:\n" + self.log_text())
            if self._listening():
                return self
            time.sleep(0.1)
        raise AssertionError("kamailio did not come up:\n" + self.log_text())

    def _listening(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.settimeout(0.5)
            s.connect(("127.0.0.1", self.port))
            return True
        except OSError:
            return False
        finally:
            s.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            # The main process stops its workers on SIGTERM.
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc:
            self.log.close()
            self.proc = None

    def kill(self):
        """Kills kamailio and its workers at once (SIGKILL, as a crash): its registrations and
        dialogs are gone. start() brings it back with the same config."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self.proc:
            self.log.close()
            self.proc = None
        # A worker may still hold the port for a moment after the main process died.
        deadline = time.time() + 10
        while self._listening() and time.time() < deadline:
            time.sleep(0.1)

    def log_text(self, chars=20000):
        return tail(self.log_path, chars)

    def lines(self, needle):
        """Kamailio log lines containing needle."""
        return [line for line in self.log_text(2_000_000).splitlines() if needle in line]

    def rpc(self, *args):
        p = subprocess.run(["kamcmd", "-s", f"unix:{self.run}/kamailio_ctl", *args],
                           capture_output=True, text=True, timeout=20)
        if p.returncode != 0:
            raise AssertionError(f"kamcmd {' '.join(args)}: {p.stdout}{p.stderr}")
        return p.stdout

    def dialogs(self):
        """[(h_entry, h_id, call-id, state)] of the dialogs kamailio tracks."""
        out = []
        for block in self.rpc("dlg.list").split("{")[1:]:
            fields = dict(re.findall(r"^\s*(h_entry|h_id|call-id|state):\s*(\S+)", block, re.M))
            if "h_entry" in fields:
                out.append((fields["h_entry"], fields["h_id"], fields.get("call-id"),
                            fields.get("state")))
        return out

    def end_calls(self):
        """Ends every confirmed call: kamailio sends BYE to both sides (as a PBX dropping a
        call does). Returns how many."""
        n = 0
        for h_entry, h_id, _, state in self.dialogs():
            if state == "4":  # confirmed
                self.rpc("dlg.end_dlg", h_entry, h_id)
                n += 1
        return n

    def registered(self, user):
        return any(f"KAM registered sip:{user}@" in line for line in self.lines("KAM registered"))


# ------------------------------------------------------------------------------------------------
# Sipp


class Sipp:
    """One sipp process running one scenario. UAS: waits for calls on `port`; UAC: calls
    `remote`. Exit status 0 means every call passed."""

    def __init__(self, workdir, scenario, port=None, remote=None, ip="127.0.0.1", calls=1,
                 keys=None, params=None, extra=None, name=None, timeout=None):
        """keys: sipp -key values ([name] in messages); params: @NAME@ placeholders replaced
        in a copy of the scenario (sipp takes no keys in attributes such as timeout)."""
        source = scenario if os.path.isabs(scenario) else os.path.join(SIPP_DIR, scenario)
        self.port = port or free_port(host=ip)
        self.ip = ip
        self.name = name or os.path.splitext(os.path.basename(source))[0]
        self.dir = os.path.join(workdir, f"sipp-{self.name}-{self.port}")
        os.makedirs(self.dir, exist_ok=True)
        with open(source) as f:
            text = f.read()
        for k, v in (params or {}).items():
            text = text.replace(f"@{k}@", str(v))
        left = re.findall(r"@[A-Z_]+@", text)
        if left:
            raise AssertionError(f"{source}: no value for {', '.join(sorted(set(left)))}")
        self.scenario = os.path.join(self.dir, os.path.basename(source))
        with open(self.scenario, "w") as f:
            f.write(text)
        self.log_path = os.path.join(self.dir, "sipp.out")
        self.msg_path = os.path.join(self.dir, "messages.log")
        self.err_path = os.path.join(self.dir, "errors.log")
        self.args = ["sipp", "-sf", self.scenario, "-i", ip, "-p", str(self.port), "-m", str(calls),
                     "-nostdin", "-trace_msg", "-message_file", self.msg_path,
                     "-trace_err", "-error_file", self.err_path, "-trace_logs", "-log_file",
                     os.path.join(self.dir, "log.log"), "-mi", ip, "-mp", str(free_port(host=ip))]
        if timeout:
            self.args += ["-timeout", f"{timeout}s", "-timeout_error"]
        for k, v in (keys or {}).items():
            self.args += ["-key", k, str(v)]
        self.args += list(extra or [])
        self.remote = remote
        if remote:
            self.args.append(remote)
        self.proc = None

    def start(self):
        self.out = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.args, stdout=self.out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir)
        if not self.remote:
            # A UAS: wait until its socket is bound.
            deadline = time.time() + 10
            while time.time() < deadline and not self._bound():
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        return self

    def _bound(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind((self.ip, self.port))
            return False
        except OSError:
            return True
        finally:
            s.close()

    def wait(self, timeout=120):
        """Exit status (0: every call passed)."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"sipp {self.name} did not finish in {timeout} s:\n" + self.report())

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and not self.out.closed:
            self.out.close()

    def messages(self):
        return tail(self.msg_path, 400000)

    def received(self, start_line):
        """How many messages sipp received whose first line starts with start_line
        ("INVITE", "SIP/2.0 200", "BYE")."""
        n = 0
        for block in self.messages().split("message received [")[1:]:
            body = block.split("bytes :", 1)[-1].lstrip("\r\n ")
            if body.startswith(start_line):
                n += 1
        return n

    def received_messages(self, start_line):
        out = []
        for block in self.messages().split("message received [")[1:]:
            body = block.split("bytes :", 1)[-1].lstrip("\r\n ")
            if body.startswith(start_line):
                out.append(body.split("\n----", 1)[0])
        return out

    def report(self):
        rc = self.proc.returncode if self.proc else None
        parts = [f"--- sipp {self.name} ({' '.join(self.args)}) exit {rc}"]
        parts.append(tail(self.log_path, 3000))
        parts.append("--- errors ---\n" + tail(self.err_path, 3000))
        parts.append("--- log ---\n" + tail(os.path.join(self.dir, "log.log"), 3000))
        parts.append("--- messages ---\n" + tail(self.msg_path, 12000))
        return "\n".join(parts)


# ------------------------------------------------------------------------------------------------
# vfaxd with [sip]


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(v)


def sip_config(sip_port, sip=None, peers=(), registrations=(), routes=(), retry_seconds=2,
               extra_sections=None):
    """vfaxd TOML text with [sip] listening on udp 127.0.0.1:sip_port (and tcp on the same port)."""
    lines = ['[server]', 'log_level = "debug"', '[loopback]', 'realtime = false',
             '[scheduler]', f'retry_busy_seconds = {retry_seconds}',
             f'retry_no_answer_seconds = {retry_seconds}',
             f'retry_dropped_seconds = {retry_seconds}', f'retry_other_seconds = {retry_seconds}',
             'retry_unavailable_seconds = 1', 'retry_unavailable_max_seconds = 4']
    for section, values in (extra_sections or {}).items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
    s = {"enabled": True, "listen": [f"udp:127.0.0.1:{sip_port}", f"tcp:127.0.0.1:{sip_port}"],
         "rtp_ports": "20000-29999"}
    s.update(sip or {})
    lines.append("[sip]")
    lines += [f"{k} = {toml_value(v)}" for k, v in s.items()]
    for kind, items in (("sip.peer", peers), ("sip.register", registrations)):
        for item in items:
            lines.append(f"[[{kind}]]")
            lines += [f"{k} = {toml_value(v)}" for k, v in item.items()]
    for r in routes:
        lines.append("[[route]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in r.items()]
    return "\n".join(lines) + "\n"


_sip_support = None


def vfaxd_has_sip():
    """(bool, why): whether this vfaxd runs a SIP trunk from [sip] (it lands on main in steps)."""
    global _sip_support
    if _sip_support is None:
        import tempfile
        d = tempfile.mkdtemp(prefix="vfax-sipprobe-")
        try:
            cfg = os.path.join(d, "probe.toml")
            port = free_port()
            with open(cfg, "w") as f:
                f.write(sip_config(port))
            p = subprocess.Popen([VFAXD, "--config", cfg, "--data", os.path.join(d, "data"),
                                  "--http", "127.0.0.1:0"], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
            deadline = time.time() + 20
            ok = False
            while time.time() < deadline and p.poll() is None:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = True
                    break
                finally:
                    s.close()
                time.sleep(0.2)
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    out = p.communicate(timeout=30)[0]
                except subprocess.TimeoutExpired:
                    p.kill()
                    out = p.communicate()[0]
            else:
                out = p.communicate()[0]
            if ok:
                _sip_support = (True, "")
            else:
                why = [line for line in out.splitlines()
                       if re.search(r"\bsip\b|\[sip\]|error", line, re.I)][-3:]
                _sip_support = (False, "this vfaxd runs no SIP trunk from [sip] (nothing listens "
                                       "on its listen address)" +
                                (": " + " | ".join(why)[-300:] if why else ""))
        finally:
            shutil.rmtree(d, ignore_errors=True)
    return _sip_support


class SipCase(VfaxTestCase):
    """vfaxd instances with a SIP trunk, a kamailio and sipp far ends; all stopped at the end,
    their logs printed when the test failed."""

    needs_vfaxd_sip = True

    def setUp(self):
        super().setUp()
        self.kamailio = None
        self.sipps = []
        for program in ("kamailio", "sipp"):
            if not have(program):
                self.skipTest(f"{program} is not installed (scripts/install-deps)")
        if self.needs_vfaxd_sip:
            ok, why = vfaxd_has_sip()
            if not ok:
                self.skipTest(why)

    def tearDown(self):
        failed = False
        if hasattr(self._outcome, "result"):
            failed = any(t is self for t, _ in self._outcome.result.errors + self._outcome.result.failures)
        for s in self.sipps:
            s.stop()
            if failed:
                print(s.report())
        if self.kamailio:
            self.kamailio.stop()
            if failed:
                print("--- kamailio ---\n" + self.kamailio.log_text(12000))
        super().tearDown()

    def start_kamailio(self):
        self.kamailio = Kamailio(self.tmp).start()
        return self.kamailio

    def sipp(self, scenario, **kw):
        s = Sipp(self.tmp, scenario, **kw)
        self.sipps.append(s)
        return s.start()

    def assertSippPassed(self, s, timeout=150):
        rc = s.wait(timeout)
        self.assertEqual(rc, 0, s.report() + self.logs())

    def sip_daemon(self, name="vfaxd", sip=None, peers=(), registrations=(), routes=(),
                   retry_seconds=2, extra_sections=None, port=None):
        """A vfaxd with [sip] on a free port (its own data dir under the test's temp dir)."""
        workdir = os.path.join(self.tmp, name)
        os.makedirs(workdir, exist_ok=True)
        d = Daemon(workdir, None, name)
        d.sip_port = port or free_port()
        # Each vfaxd its own RTP/UDPTL port range, so that two on 127.0.0.1 never race for one.
        base = 20000 + 2000 * len(self.daemons)
        sip = dict({"rtp_ports": f"{base}-{base + 1998}"}, **(sip or {}))
        with open(d.config_path, "w") as f:
            f.write(sip_config(d.sip_port, sip, peers, registrations, routes, retry_seconds,
                               extra_sections))
        self.daemons.append(d)
        d.start()
        # Dial the numbers as written (no outside-line prefix in front): they are SIP users.
        d.cli("settings", "outside_line_prefix=")
        return d

    def registered_daemon(self, name, user, sip=None, transport="udp", **kw):
        """A vfaxd registered to this test's kamailio as `user`, calling out through it."""
        reg = {"name": "kam", "registrar": f"127.0.0.1:{KAMAILIO_PORT}", "transport": transport,
               "username": user, "secret": USERS[user], "expires": 60}
        s = {"outbound": "kam"}
        s.update(sip or {})
        d = self.sip_daemon(name, sip=s, registrations=[reg], **kw)
        d.sip_user = user
        return d

    def wait_kamailio_registered(self, user, d=None, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.kamailio.registered(user):
                return
            time.sleep(0.2)
        raise AssertionError(f"{user} did not register to kamailio\n" + self.kamailio.log_text(6000)
                             + ("\n--- vfaxd ---\n" + d.log()[-6000:] if d else ""))

    def sipp_peer(self, sipp_port, name="sipp", host="127.0.0.1", match=("127.0.0.1",), **kw):
        p = {"name": name, "match": list(match), "host": host, "port": sipp_port,
             "transport": "udp", "keepalive": 0}
        p.update(kw)
        return p

    def send_fax(self, d, number, pages, title="vfax over SIP"):
        pdf = make_pdf(os.path.join(self.tmp, f"doc-{time.monotonic_ns()}.pdf"), pages, title)
        out = d.cli("send", "-t", number, pdf, "--json")
        return json.loads(out.stdout)["id"]

    def compare_pages(self, sender, fid, receiver, rid):
        sent = os.path.join(self.tmp, f"sent-{fid}.tif")
        got = os.path.join(self.tmp, f"got-{rid}.tif")
        sender.cli("get", str(fid), "--tiff", "-o", sent)
        receiver.cli("get", str(rid), "--tiff", "-o", got)
        cmp = subprocess.run([FAXCMP, sent, got], capture_output=True, text=True)
        self.assertEqual(cmp.returncode, 0, cmp.stdout + cmp.stderr)

    def wait_received(self, d, count=1, timeout=240):
        def final():
            faxes = [f for f in d.faxes("in") if f["state"] in ("received", "failed")]
            return faxes if len(faxes) >= count else None
        return d.wait_for(final, timeout, f"{count} received fax(es)")

    def assertMedia(self, attempt, media):
        """The attempt's media when the build records it (`media` lands with another change)."""
        if "media" in attempt:
            self.assertEqual(attempt["media"], media, attempt)

    def registered_pair(self, t38_a="off", t38_b="off", sip=None, transport_b="udp", **kw):
        """Kamailio and two vfaxd registered to it (5551000 = a, 5552000 = b, b over
        transport_b), each calling out through kamailio."""
        if not self.kamailio:
            self.start_kamailio()
        a = self.registered_daemon("a", "5551000", sip=dict(sip or {}, t38=t38_a), **kw)
        b = self.registered_daemon("b", "5552000", sip=dict(sip or {}, t38=t38_b),
                                   transport=transport_b, **kw)
        self.wait_kamailio_registered("5551000", a)
        self.wait_kamailio_registered("5552000", b)
        return a, b

    def fax_over(self, sender, receiver, pages, media, title="vfax to vfax over SIP"):
        """Sends a fax from sender to receiver's number; checks it is done, received with every
        page, bitmaps equal, and the media of the attempts; returns (job, received fax)."""
        before = {f["id"] for f in receiver.faxes("in")}
        fid = self.send_fax(sender, receiver.sip_user, pages, title)
        job = sender.wait_final(fid, timeout=240)
        self.assertEqual(job["state"], "done", str(job) + self.logs())
        self.assertEqual(job["pages"], pages, job)
        rx = receiver.wait_for(
            lambda: [f for f in receiver.faxes("in")
                     if f["id"] not in before and f["state"] in ("received", "failed")],
            120, "the received fax")[0]
        self.assertEqual(rx["state"], "received", str(rx) + self.logs())
        self.assertEqual(rx["pages"], pages, rx)
        self.compare_pages(sender, fid, receiver, rx["id"])
        self.assertMedia(job["attempts"][-1], media)
        if rx.get("attempts"):
            self.assertMedia(rx["attempts"][-1], media)
        return job, rx

    def logs(self, chars=6000):
        out = "".join(f"\n--- {d.log_path} ---\n{d.log()[-chars:]}" for d in self.daemons)
        if self.kamailio:
            out += "\n--- kamailio ---\n" + self.kamailio.log_text(chars)
        return out

    def lines(self, d):
        status, body = d.request("GET", "/api/v1/lines")
        self.assertEqual(status, 200, body)
        return body

