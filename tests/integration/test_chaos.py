"""Chaos: 200 mixed jobs (REST API, the `vfax send` CLI, Mail-to-Fax through a real Dovecot
mailbox) to 200 own extensions over the loopback trunk, so every job is also an inbound fax, while
vfaxd is killed with SIGKILL at random moments 10 times and restarted on the same data dir.

At the end: every job is there once and `done` or `failed` with a reason; no job was sent twice
(one `ok` attempt at most, one received inbound fax per job and as many as jobs done); no inbound
call is left `receiving`; each mail went out once (per Message-ID, per received fax, per job's
final status) and every Mail-to-Fax mail made exactly one job; `PRAGMA integrity_check` is ok.

Each job has its own extension (device), so the inbound fax, the fax-to-email mail and the status
mail of a job are told apart by its number. The seed is printed first; `VFAX_CHAOS_SEED=N` replays
a run's choices (job order, ways in, kill times; thread timing still varies)."""
import collections
import email
import email.policy
import glob
import http.client
import os
import random
import re
import sqlite3
import subprocess
import threading
import time
import unittest
import urllib.error

from mailpeers import MX, Dovecot, SmtpSink, attachments, build_mail
from vfaxtest import VFAXD, VfaxTestCase

JOBS = 200
KILLS = 10
FIRST_EXTENSION = 2000
# Errors a client sees while vfaxd is down or dies under its request.
DOWN = (OSError, urllib.error.URLError, http.client.HTTPException)


def tiny_pdf(path):
    """One A4 page with one line of text: the smallest real fax page."""
    src = path + ".ps"
    with open(src, "w") as f:
        f.write("%!PS\n/Helvetica findfont 20 scalefont setfont\n72 740 moveto (vfax chaos) show\nshowpage\n")
    subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite", "-sPAPERSIZE=a4",
                    f"-sOutputFile={path}", src], check=True)
    os.unlink(src)
    return path


class Chaos(VfaxTestCase):
    def setUp(self):
        super().setUp()
        self.dovecot = Dovecot(self.tmp).start()
        self.smtp = SmtpSink(self.tmp).start()
        self.seed = int(os.environ.get("VFAX_CHAOS_SEED") or random.SystemRandom().randrange(1 << 31))
        print(f"\nchaos seed {self.seed} (replay: VFAX_CHAOS_SEED={self.seed})", flush=True)

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            self.smtp.stop()
            self.dovecot.stop()

    def config(self):
        return {
            "smtp": {"host": "127.0.0.1", "port": self.smtp.port, "tls": "none", "from": "vfax@example.test"},
            "mailbox": {"server": "127.0.0.1", "port": self.dovecot.ports["imap"], "protocol": "imap",
                        "tls": "none", "user": Dovecot.USER, "password": Dovecot.PASSWORD, "poll_seconds": 1},
            "mail": {"language": "en", "retry_initial_seconds": 1, "retry_max_seconds": 2,
                     "sender_auth": "authentication-results", "trusted_authserv_ids": [MX],
                     "allowed_senders": "example.test", "status_mails": "final"},
            "scheduler": {"retry_busy_seconds": 1, "retry_no_answer_seconds": 1, "retry_dropped_seconds": 1,
                          "retry_other_seconds": 1},
        }

    # -- talking to a daemon that may be gone -------------------------------------------------
    def until_up(self, what):
        """Runs what() until it gets through to a vfaxd (it may be down or die under it)."""
        deadline = time.time() + 300
        while True:
            try:
                return what()
            except DOWN:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)

    def all_faxes(self, direction):
        d = self.d
        out, cursor = [], None
        while True:
            path = f"/api/v1/faxes?direction={direction}&limit=500" + (f"&cursor={cursor}" if cursor else "")
            status, body = d.request("GET", path)
            if status != 200:
                raise OSError(f"GET faxes answered {status}: {body}")  # retried like a dead daemon
            out += body["faxes"]
            cursor = body.get("next")
            if not cursor:
                return out

    def tagged(self, tag):
        return [f for f in self.until_up(lambda: self.all_faxes("out")) if f.get("tag") == tag]

    def trace(self, faxes):
        """vfaxd's log lines about these faxes, for a failure's message."""
        ids = re.compile(r"\bfax (%s)\b" % "|".join(str(f["id"]) for f in faxes))
        with open(self.d.log_path, errors="replace") as f:
            return "".join(line for line in f if ids.search(line) or "vfaxd ready" in line or "recovery:" in line)[-15000:]

    # -- the ways in ----------------------------------------------------------------------------
    def submit(self, job):
        """One job in through its way. A request cut by a kill may have been stored: the tag tells,
        so that a retry never makes a second job of the test's own making."""
        d = self.d
        if job["way"] == "mail":
            self.dovecot.deliver(build_mail(job["notify"], job["ext"], [("chaos.pdf", self.pdf_bytes, "application/pdf")],
                                            message_id=f"<chaos-{job['n']}@example.test>"))
            return
        for _ in range(100):
            try:
                if job["way"] == "api":
                    status, body = d.post_fax({"to": job["ext"], "tag": job["tag"], "notify": job["notify"],
                                               "resolution": "normal"},
                                              [("chaos.pdf", self.pdf_bytes, "application/pdf")])
                    if status == 201:
                        return
                    if status < 500:
                        raise AssertionError(f"job {job['n']}: POST /faxes answered {status}: {body}")
                else:
                    p = d.cli("send", "-t", job["ext"], "--tag", job["tag"], "--notify", job["notify"], "--normal",
                              self.pdf, "--json", check=False)
                    if p.returncode == 0:
                        return
            except DOWN:
                pass
            time.sleep(0.3)
            if self.tagged(job["tag"]):
                return  # stored before the answer was cut
        raise AssertionError(f"job {job['n']} could not be submitted")

    def submitter(self, plan, rng):
        try:
            for job in plan:
                self.submit(job)
                self.submitted += 1
                time.sleep(rng.uniform(0, 0.2))
        except BaseException as e:  # reported by the main thread
            self.submit_error = e

    # -- the test -------------------------------------------------------------------------------
    def test_200_jobs_10_kills(self):
        started = time.monotonic()
        self.pdf = tiny_pdf(os.path.join(self.tmp, "chaos.pdf"))
        with open(self.pdf, "rb") as f:
            self.pdf_bytes = f.read()
        d = self.d = self.daemon(self.config())
        # Inbound calls always find a line (4 of 8 kept for them): a busy loopback call is not chaos.
        d.cli("settings", "total_lines=8", "reserved_inbound_lines=4", "send_attempts=5")
        for i in range(JOBS):
            ext = str(FIRST_EXTENSION + i)
            status, body = d.request("POST", "/api/v1/devices", {"kind": "team", "name": f"Chaos {ext}",
                                                                 "email": f"dev{ext}@example.test",
                                                                 "extension": ext})
            self.assertEqual(status, 201, body)

        rng = random.Random(self.seed)
        ways = ["api"] * 80 + ["cli"] * 60 + ["mail"] * 60
        rng.shuffle(ways)
        plan = [{"n": i, "ext": str(FIRST_EXTENSION + i), "way": w, "tag": f"chaos-{i}",
                 "notify": f"{'m' if w == 'mail' else 'job'}{i}@example.test"} for i, w in enumerate(ways)]
        # Kills spread over the whole run: at random marks of progress (jobs submitted plus jobs
        # final, 0..400), each a moment later; two of them hit a vfaxd that is still starting up
        # (recovering from the kill before).
        marks = sorted(rng.sample(range(2, 2 * JOBS - 5), KILLS - 2))
        delays = [rng.uniform(0, 1.5) for _ in marks]
        in_startup = set(rng.sample(range(len(marks)), 2))
        print(f"ways: {collections.Counter(ways)}; kills at progress {marks} (+0..1.5 s), "
              f"again in the start-up after kills {sorted(k + 1 for k in in_startup)}", flush=True)

        self.submitted, self.submit_error = 0, None
        sub = threading.Thread(target=self.submitter, args=(plan, random.Random(self.seed + 1)), daemon=True)
        sub.start()
        kills, kill_times = 0, []
        for k, mark in enumerate(marks):
            while True:
                if self.submit_error:
                    raise self.submit_error
                finals = sum(1 for f in self.until_up(lambda: self.all_faxes("out")) if f["state"] in ("done", "failed"))
                if self.submitted + finals >= mark or not sub.is_alive() and finals >= JOBS:
                    break
                time.sleep(0.5)
            time.sleep(delays[k])
            d.kill9()
            kill_times.append(time.time())
            kills += 1
            print(f"kill {kills} at {time.monotonic() - started:.1f} s: {self.submitted} submitted, "
                  f"{finals} final", flush=True)
            if k in in_startup:
                with open(d.log_path, "a") as log:
                    d.proc = subprocess.Popen([VFAXD, "--config", d.config_path, "--data", d.data,
                                               "--http", "127.0.0.1:0"], stdout=log, stderr=subprocess.STDOUT)
                time.sleep(rng.uniform(0.05, 1.0))
                d.kill9()
                kill_times.append(time.time())
                kills += 1
                print(f"kill {kills} at {time.monotonic() - started:.1f} s, in the start-up", flush=True)
            d.start()
        self.assertEqual(kills, KILLS)
        sub.join(timeout=600)
        self.assertFalse(sub.is_alive(), "the submitter is stuck")
        if self.submit_error:
            raise self.submit_error
        print(f"chaos over at {time.monotonic() - started:.1f} s", flush=True)

        # Quiet: every mail taken, every job and inbound final, the outbox empty.
        final = {"done", "failed", "canceled"}

        def quiet():
            if self.dovecot.count() != 0:
                return False
            out, inb = self.all_faxes("out"), self.all_faxes("in")
            if len(out) < JOBS or any(f["state"] not in final for f in out):
                return False
            if any(f["state"] == "receiving" for f in inb):
                return False
            status, box = d.request("GET", "/api/v1/mail/outbox")
            return status == 200 and all(m["state"] in ("sent", "failed") for m in box["mails"]) and (out, inb, box)

        out, inb, box = d.wait_for(quiet, timeout=900, what="every job, inbound fax and mail final")
        # The outbox route shows the latest 100 mails only: the sink's count says when the rest
        # are through (a shortfall shows in the checks below, and in the store after the stop).
        want = JOBS + sum(1 for f in inb if f["state"] == "received")
        deadline = time.time() + 60
        while len(self.smtp.messages()) < want and time.time() < deadline:
            time.sleep(0.5)
        print(f"quiet at {time.monotonic() - started:.1f} s", flush=True)

        # Every job there once, final, failed only with a reason, and sent once: one call at most
        # in which the receiver confirmed every page, and one received fax at most.
        by_ext = collections.defaultdict(list)
        for f in out:
            by_ext[f["extension"]].append(f)
        inb_by_ext = collections.defaultdict(list)
        for f in inb:
            self.assertIn(f["state"], ("received", "failed"), f)
            if f["state"] == "failed":
                self.assertTrue(f["error"], f)
            inb_by_ext[f["extension"]].append(f)
        received = collections.Counter(f["extension"] for f in inb if f["state"] == "received")
        cut_after_last_page = 0
        for job in plan:
            jobs = by_ext.get(job["ext"], [])
            self.assertEqual(len(jobs), 1, f"job {job['n']} ({job['way']}): {jobs}")
            f = jobs[0]
            rx = inb_by_ext[job["ext"]]
            why = f"job {job['n']} ({job['way']}): {f}\ninbound: {rx}\n{self.trace([f] + rx)}"
            if job["way"] != "mail":
                self.assertEqual(f["tag"], job["tag"], f)
            else:
                self.assertTrue(f["tag"].startswith("mail:"), f)
            self.assertIn(f["state"], ("done", "failed"), f)
            delivering = [a for a in f["attempts"] if a["pages"] >= 1]
            self.assertLessEqual(len(delivering), 1, "went out twice: " + why)
            self.assertLessEqual(received[job["ext"]], 1, "received twice: " + why)
            if f["state"] == "failed":
                self.assertTrue(f["error"], f)
                self.assertEqual((len(delivering), received[job["ext"]]), (0, 0), why)
                continue
            self.assertEqual((f["pages"], f["pages_total"], len(delivering)), (1, 1, 1), why)
            if received[job["ext"]] == 0:
                # Delivered in a call the kill cut after the receiver's last confirmation: the job
                # is done, the inbound fax kept its page but says the call was cut.
                cut = [i for i in rx if i["state"] == "failed" and i["pages"] == 1 and "restart" in i["error"]]
                self.assertTrue(cut, "done but never received: " + why)
                cut_after_last_page += 1
        self.assertEqual(len(out), JOBS, [f for f in out if f["extension"] not in {j["ext"] for j in plan}])

        # Mail: each message once; a fax mail per received fax; one final status mail per job.
        # SMTP cannot be exactly once: a kill between the server's 250 and vfaxd's record of it
        # sends that message again after the restart (vfaxd records it before QUIT to keep this
        # short). Such a copy has the first one's Message-ID and its first copy arrived just before
        # a kill; any other second copy is a bug.
        mails, first_seen, again = [], {}, []
        for path in sorted(glob.glob(os.path.join(self.smtp.maildir, "new", "*")), key=os.path.getmtime):
            with open(path, "rb") as f:
                m = email.message_from_bytes(f.read(), policy=email.policy.default)
            mid = m["Message-ID"]
            if mid in first_seen:
                again.append((mid, first_seen[mid]))
                continue
            first_seen[mid] = os.path.getmtime(path)
            mails.append(m)
        for mid, at in again:
            self.assertTrue(any(0 <= k - at < 1.0 for k in kill_times),
                            f"mail {mid} delivered twice, and not in the moment before a kill")
        fax_mails = collections.Counter()
        status_mails = collections.Counter()
        for m in mails:
            rcpt = m["X-RcptTo"] or ""
            if (found := re.match(r"dev(\d+)@", rcpt)):
                self.assertEqual(len(attachments(m, "application/pdf")), 1, m["Subject"])
                fax_mails[found.group(1)] += 1
            elif (found := re.match(r"(?:job|m)(\d+)@", rcpt)):
                status_mails[int(found.group(1))] += 1
            else:
                self.fail(f"an unexpected mail to {rcpt}: {m['Subject']}")
        self.assertEqual(dict(fax_mails), dict(received), "fax-to-email mails per extension")
        self.assertEqual({j["n"]: status_mails[j["n"]] for j in plan}, {j["n"]: 1 for j in plan},
                         "final status mails per job")

        d.stop()
        db = sqlite3.connect(os.path.join(d.data, "vfax.db"))
        try:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
            self.assertEqual(db.execute("SELECT id, kind, recipient, state, last_error FROM mail_outbox"
                                        " WHERE state != 'sent'").fetchall(), [])
        finally:
            db.close()
        done = sum(1 for f in out if f["state"] == "done")
        for f in out:
            if f["state"] == "failed":
                print(f"failed: job {f['extension']}: {f['error']}; attempts "
                      f"{[(a['outcome'], a['reason']) for a in f['attempts']]}", flush=True)
        print(f"chaos: {done} done, {JOBS - done} failed, {len(inb)} inbound records ({cut_after_last_page} cut "
              f"after the last page), {len(mails)} mails ({len(again)} sent again: killed in SMTP's window), "
              f"{time.monotonic() - started:.1f} s", flush=True)


if __name__ == "__main__":
    unittest.main()
