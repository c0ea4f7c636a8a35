"""T.38 between two vfaxd registered to kamailio: with t38 = "detect" on both they fax each
other both ways, switching to T.38 by re-INVITE (through kamailio), every page arriving with
matching bitmaps and each attempt's media t38; a far end with t38 = "off" refuses the T.38
re-INVITE (488) and the fax completes in G.711."""
import unittest

from siptest import SipCase


class T38(SipCase):
    def test_both_ways_in_t38(self):
        a, b = self.registered_pair(t38_a="detect", t38_b="detect")
        self.fax_over(a, b, 2, "t38", "a to b over SIP in T.38")
        self.fax_over(b, a, 1, "t38", "b to a over SIP in T.38")
        # The switch was a re-INVITE with m=image through the proxy.
        reinvites = [line for line in self.kamailio.lines("KAM in-dialog INVITE")]
        self.assertTrue(reinvites, self.kamailio.log_text())

    def test_far_end_without_t38_falls_back_to_g711(self):
        a, b = self.registered_pair(t38_a="detect", t38_b="off")
        job, _ = self.fax_over(a, b, 1, "audio", "T.38 refused, G.711 it is")
        self.assertEqual(len(job["attempts"]), 1, job)  # no retry needed
        # a asked for T.38 and b refused it (488 through kamailio).
        self.assertTrue(self.kamailio.lines("KAM reply 488"), self.kamailio.log_text())


if __name__ == "__main__":
    unittest.main()
