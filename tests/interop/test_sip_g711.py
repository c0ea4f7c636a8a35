"""Two vfaxd registered to kamailio (registrar + proxy with digest auth, config written by the
test) fax each other both ways over SIP in G.711 (t38 = "off" on both): every page arrives,
the bitmaps match what was sent, each attempt's media is audio; the same with one of them
registered over TCP."""
import unittest

from siptest import SipCase


class G711(SipCase):
    def test_both_ways_in_g711(self):
        a, b = self.registered_pair(t38_a="off", t38_b="off")
        self.fax_over(a, b, 2, "audio", "a to b over SIP in G.711")
        self.fax_over(b, a, 1, "audio", "b to a over SIP in G.711")
        # The calls went through kamailio (digest-challenged, record-routed).
        self.assertTrue(self.kamailio.lines("KAM challenge INVITE"), self.kamailio.log_text())
        self.assertTrue(self.kamailio.lines("KAM in-dialog BYE"), self.kamailio.log_text())

    def test_one_side_registered_over_tcp(self):
        a, b = self.registered_pair(t38_a="off", t38_b="off", transport_b="tcp")
        self.assertTrue([line for line in self.kamailio.lines("KAM registered sip:5552000@")
                         if "transport=tcp" in line.lower()], self.kamailio.log_text())
        self.fax_over(a, b, 1, "audio", "a (udp) to b (tcp) through kamailio")


if __name__ == "__main__":
    unittest.main()
