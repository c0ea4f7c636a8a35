"""A call dropped in the middle of page 2 between two vfaxd registered to kamailio: while the
receiver is on page 2, kamailio ends the call (BYE to both sides, as a PBX or provider dropping
it; vfaxd has no API to hang up an inbound call). The sender's attempt counts as dropped, the
job is retried and done, and the fax that arrives complete matches what was sent."""
import time
import unittest

from siptest import SipCase


class Dropped(SipCase):
    def test_bye_in_mid_page_2_is_retried_and_done(self):
        a, b = self.registered_pair(t38_a="off", t38_b="off")
        fid = self.send_fax(a, b.sip_user, 3, "dropped on page 2")

        def on_page_2():
            calls = self.lines(b).get("calls", [])
            return [c for c in calls if c["direction"] == "in" and c["page"] == 2
                    and c["phase"] == "receiving"]
        b.wait_for(on_page_2, 180, "the receiver to be on page 2")
        time.sleep(1)  # well into the page
        self.assertEqual(self.kamailio.end_calls(), 1, self.kamailio.log_text())
        job = a.wait_final(fid, timeout=300)
        self.assertEqual(job["state"], "done", str(job) + self.logs())
        self.assertGreaterEqual(len(job["attempts"]), 2, job)
        self.assertNotEqual(job["attempts"][0]["outcome"], "ok", job)
        self.assertLess(job["attempts"][0]["pages"], 3, job)
        received = b.wait_for(lambda: [f for f in b.faxes("in") if f["state"] == "received"
                                       and f["pages"] == 3], 60, "the complete fax")
        self.compare_pages(a, fid, b, received[0]["id"])


if __name__ == "__main__":
    unittest.main()
