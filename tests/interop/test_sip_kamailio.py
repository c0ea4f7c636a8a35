"""The SIP harness on its own, before any vfaxd: kamailio (config written by the test) is a
registrar that challenges REGISTER (401) and a proxy that challenges INVITE (407) and
record-routes; a sipp UAC registered as one user calls a sipp UAS registered as another through
it, kamailio can end a call (BYE to both sides, as a PBX dropping it), and a wrong secret is
refused."""
import time
import unittest

from siptest import KAMAILIO_PORT, USERS, SipCase


class Kamailio(SipCase):
    needs_vfaxd_sip = False

    def register(self, user, secret, contact_port, name):
        return self.sipp("register.xml", remote=f"127.0.0.1:{KAMAILIO_PORT}", name=name,
                         keys={"contact_port": contact_port},
                         extra=["-s", user, "-au", user, "-ap", secret])

    def test_registered_sipp_uac_calls_registered_sipp_uas(self):
        kam = self.start_kamailio()
        uas = self.sipp("uas_call.xml")
        self.assertSippPassed(self.register("bob", USERS["bob"], uas.port, "reg-bob"), 30)
        self.assertTrue(kam.registered("bob"), kam.log_text())
        uac = self.sipp("uac_call.xml", remote=f"127.0.0.1:{KAMAILIO_PORT}",
                        keys={"callee": "bob"}, extra=["-s", "alice", "-au", "alice", "-ap",
                                                       USERS["alice"]])
        self.assertSippPassed(uac, 60)
        self.assertSippPassed(uas, 30)
        # The BYE went through the proxy (Record-Route), not straight to the UAS.
        self.assertTrue(kam.lines("KAM in-dialog BYE"), kam.log_text())

    def test_kamailio_ends_a_call_with_bye_to_both_sides(self):
        kam = self.start_kamailio()
        uas = self.sipp("uas_call.xml")
        self.assertSippPassed(self.register("bob", USERS["bob"], uas.port, "reg-bob"), 30)
        uac = self.sipp("uac_call_bye.xml", remote=f"127.0.0.1:{KAMAILIO_PORT}",
                        keys={"callee": "bob"}, extra=["-s", "alice", "-au", "alice", "-ap",
                                                       USERS["alice"]])
        deadline = time.time() + 20
        while not [d for d in kam.dialogs() if d[3] == "4"]:
            self.assertLess(time.time(), deadline, kam.log_text())
            time.sleep(0.2)
        self.assertEqual(kam.end_calls(), 1)
        self.assertSippPassed(uac, 30)
        self.assertSippPassed(uas, 30)

    def test_wrong_secret_is_not_registered(self):
        kam = self.start_kamailio()
        reg = self.register("bob", "not-the-secret", 5999, "reg-wrong")
        self.assertNotEqual(reg.wait(60), 0, reg.report())
        self.assertFalse(kam.registered("bob"), kam.log_text())


if __name__ == "__main__":
    unittest.main()
