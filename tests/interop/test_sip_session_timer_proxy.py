"""RFC 4028 session timers over a long fax: two vfaxd registered to kamailio with
session_expires = min_session_expires = 90 fax 6 pages in G.711 (a call of over 50 s): the
INVITE asks for Session-Expires: 90, a refresh (re-INVITE or UPDATE) at half the interval goes
through kamailio, and the fax is done with every page.
Here vfax itself asks for the timers (vfax as UAS and as UAC); test_sip_session_timer has a far
end that demands them."""
import unittest

from siptest import SipCase


class SessionTimerThroughProxy(SipCase):
    def test_90s_session_timer_over_a_long_fax(self):
        a, b = self.registered_pair(t38_a="off", t38_b="off",
                                    sip={"session_expires": 90, "min_session_expires": 90})
        job, _ = self.fax_over(a, b, 6, "audio", "a long fax with 90 s session timers")
        kam = self.kamailio
        invites = kam.lines("KAM request INVITE sip:5552000")
        self.assertTrue(any("se=90" in line for line in invites), "\n".join(invites))
        attempt = job["attempts"][-1]
        import datetime

        def at(s):
            return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
        seconds = (at(attempt["ended_at"]) - at(attempt["started_at"])).total_seconds()
        refreshes = [line for line in kam.lines("KAM in-dialog") if
                     "in-dialog INVITE" in line or "in-dialog UPDATE" in line]
        # The refresher refreshes at half the interval (RFC 4028 10): a call of over 50 s has
        # seen a refresh (and one of over 90 s would have been ended without it).
        self.assertGreater(seconds, 50, "the fax was too short to cover a refresh: more pages")
        self.assertTrue(refreshes, f"a {seconds:.0f} s call with no refresh\n" + kam.log_text())


if __name__ == "__main__":
    unittest.main()
