"""The registrar going away, with kamailio as the registrar:
- failover: the primary registrar is down (nothing listens on its TCP port, so each REGISTER is
  refused at once); after 2 failures in a row the trunk registers with `backup_registrar`
  (kamailio), and the API and /lines name the registrar in use;
- a call survives a registrar restart: two vfaxd registered to kamailio (registrar and
  record-routing proxy; the media goes directly between them) fax each other; kamailio is
  killed (SIGKILL, as a crash) in the middle of the page and started again. The fax completes in
  its first attempt, and the BYE at the end goes through the restarted kamailio."""
import time
import unittest

from siptest import KAMAILIO_PORT, USERS, SipCase, free_port


class Registrar(SipCase):
    def test_failover_to_the_backup_registrar(self):
        self.start_kamailio()
        down = free_port()  # nothing listens there
        reg = {"name": "kam", "registrar": f"127.0.0.1:{down}",
               "backup_registrar": f"127.0.0.1:{KAMAILIO_PORT}", "transport": "tcp",
               "username": "5551000", "secret": USERS["5551000"], "expires": 60}
        d = self.sip_daemon("a", sip={"outbound": "kam"}, registrations=[reg])
        # libre waits 30-60 s after the first failure before it tries again.
        self.wait_kamailio_registered("5551000", d, timeout=90)

        def in_use():
            status, body = d.request("GET", "/api/v1/trunks/sip")
            self.assertEqual(status, 200, body)
            r = body["registrations"][0]
            return r if r.get("registered") else None
        r = d.wait_for(in_use, 20, "the registration through the backup")
        self.assertEqual(r["registrar_in_use"], f"127.0.0.1:{KAMAILIO_PORT}", r)
        sip = [t for t in self.lines(d)["trunks"] if t["name"] == "sip"][0]
        self.assertEqual(sip["registrations"][0]["registrar"], f"127.0.0.1:{KAMAILIO_PORT}", sip)
        self.assertTrue(sip["registrations"][0]["registered"], sip)
        self.assertIn("trying the backup registrar", d.log())

    def test_a_call_survives_a_registrar_restart(self):
        a, b = self.registered_pair(t38_a="off", t38_b="off")
        fid = self.send_fax(a, b.sip_user, 1, "through a registrar restart")

        def on_page_1():
            return [c for c in self.lines(b).get("calls", []) if c["direction"] == "in"
                    and c["page"] == 1 and c["phase"] == "receiving"]
        b.wait_for(on_page_1, 120, "the receiver to be on page 1")
        self.kamailio.kill()
        time.sleep(1)
        restarted_at = len(self.kamailio.log_text(2_000_000))
        self.kamailio.start()
        job = a.wait_final(fid, timeout=180)
        self.assertEqual(job["state"], "done", str(job) + self.logs())
        self.assertEqual(len(job["attempts"]), 1, job)
        self.assertEqual(job["pages"], 1, job)
        rx = b.wait_for(lambda: [f for f in b.faxes("in") if f["state"] == "received"], 60,
                        "the received fax")[0]
        self.assertEqual(rx["pages"], 1, rx)
        self.compare_pages(a, fid, b, rx["id"])
        # The BYE went through the restarted kamailio (Record-Route; no state needed there).
        after = self.kamailio.log_text(2_000_000)[restarted_at:]
        self.assertIn("KAM in-dialog BYE", after, after[-6000:])


if __name__ == "__main__":
    unittest.main()
