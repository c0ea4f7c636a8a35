"""RFC 4028 session timers demanded by the far end, over a real fax: the sending vfaxd calls
sipp (uas_session_timer.xml), which answers "Session-Expires: 90;refresher=uac"; its 3PCC twin
(uac_session_timer_leg.xml) carries the call on to a receiving vfaxd, so the fax itself flows
between the two vfaxd (a sipp far end alone is no fax machine: vfax's T.30 would give up after
about 35 s, before the first refresh). The sender must refresh (re-INVITE or UPDATE) less than
90 s after the answer and after each refresh, over a call longer than the first refresh interval, and
the fax is done with every page."""
import unittest

from siptest import SipCase, free_port, wait_tcp_listening

PAGES = 4  # longer than the first refresh (45 s in): at least one refresh mid-fax


class SessionTimer(SipCase):
    def test_far_end_demands_90s_session_timer(self):
        receiver = self.sip_daemon("b", sip={"t38": "off"},
                                   peers=[self.sipp_peer(5999, name="pbx", host="")])
        twin_port = free_port()
        twin = f"127.0.0.1:{twin_port}"
        leg = self.sipp("uac_session_timer_leg.xml", remote=f"127.0.0.1:{receiver.sip_port}",
                        extra=["-3pcc", twin, "-s", "5552000"])
        wait_tcp_listening(twin_port)  # the twin listens before the other side connects
        st = self.sipp("uas_session_timer.xml", extra=["-3pcc", twin],
                       params={"SE": 90, "SE_MS": 90000, "MIN_REFRESHES": 1})
        sender = self.sip_daemon("a", sip={"t38": "off", "outbound": "st"},
                                 peers=[self.sipp_peer(st.port, name="st")])
        fid = self.send_fax(sender, "5552000", PAGES, "90 s session timer from the far end")
        self.assertSippPassed(st, 400)
        self.assertSippPassed(leg, 30)
        job = sender.wait_final(fid, timeout=60)
        self.assertEqual(job["state"], "done", str(job) + self.logs())
        rx = receiver.wait_for(lambda: [f for f in receiver.faxes("in")
                                        if f["state"] in ("received", "failed")], 60,
                               "the received fax")[0]
        self.assertEqual(rx["state"], "received", rx)
        self.assertEqual(rx["pages"], PAGES, rx)
        self.compare_pages(sender, fid, receiver, rx["id"])


if __name__ == "__main__":
    unittest.main()
