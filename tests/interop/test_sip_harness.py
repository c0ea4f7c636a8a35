"""The SIP harness on its own, before any vfaxd. Kamailio: kamailio (config written by the test) is a
registrar that challenges REGISTER (401) and a proxy that challenges INVITE (407) and
record-routes; a sipp UAC registered as one user calls a sipp UAS registered as another through
it, kamailio can end a call (BYE to both sides, as a PBX dropping it), and a wrong secret is
refused. The far-end scenarios (sipp/*.xml) against sipp stand-ins for vfax (sipp/selftest/):
each passes when the stand-in behaves as vfax should and fails when it does what the scenario
is there to catch."""
import time
import unittest

from siptest import KAMAILIO_PORT, USERS, SipCase, free_port, tail, wait_tcp_listening


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


T38_ATTRS = "\n".join(["a=T38FaxVersion:0", "a=T38MaxBitRate:14400",
                       "a=T38FaxRateManagement:transferredTCF", "a=T38FaxMaxDatagram:400",
                       "a=T38FaxUdpEC:t38UDPRedundancy"])


class Scenarios(SipCase):
    needs_vfaxd_sip = False

    def test_488_scenario_passes_when_the_call_stays_and_fails_on_a_hangup(self):
        s = self.sipp("uas_488_t38.xml", params={"HOLD_MS": 2000})
        c = self.sipp("selftest/fake_vfax_t38_reinvite.xml", remote=f"127.0.0.1:{s.port}",
                      params={"AFTER_488": "wait"})
        self.assertEqual((s.wait(30), c.wait(30)), (0, 0), s.report())
        s = self.sipp("uas_488_t38.xml", params={"HOLD_MS": 2000})
        c = self.sipp("selftest/fake_vfax_t38_reinvite.xml", remote=f"127.0.0.1:{s.port}",
                      params={"AFTER_488": "bye"})
        self.assertNotEqual(s.wait(30), 0, s.report())
        self.assertIn("vfax hung up after the 488", tail(s.dir + "/log.log"), s.report())

    def test_t38_only_scenario_checks_the_answer(self):
        s = self.sipp("selftest/fake_vfax_answer_t38.xml", params={"T38_ATTRS": T38_ATTRS})
        c = self.sipp("uac_t38_only.xml", remote=f"127.0.0.1:{s.port}", params={"HOLD_MS": 1500},
                      extra=["-s", "100"])
        self.assertEqual((c.wait(30), s.wait(30)), (0, 0), c.report())
        s = self.sipp("selftest/fake_vfax_answer_t38.xml", params={"T38_ATTRS": ""})
        c = self.sipp("uac_t38_only.xml", remote=f"127.0.0.1:{s.port}", params={"HOLD_MS": 1500},
                      extra=["-s", "100"])
        self.assertNotEqual(c.wait(30), 0, c.report())

    def test_unknown_source_scenario_wants_403_and_silence(self):
        for then, ok in (("quiet", True), ("bye", False)):
            s = self.sipp("selftest/fake_vfax_refuse.xml", params={"THEN": then})
            c = self.sipp("uac_unknown_source.xml", ip="127.0.0.2", remote=f"127.0.0.1:{s.port}",
                          params={"QUIET_MS": 1500}, extra=["-s", "100"])
            rc = c.wait(30)
            self.assertEqual(rc == 0, ok, c.report())
            s.wait(30)

    def test_bye_midcall_scenario(self):
        s = self.sipp("uas_bye_midcall.xml", params={"HOLD_MS": 1500})
        c = self.sipp("selftest/fake_vfax_t38_reinvite.xml", remote=f"127.0.0.1:{s.port}",
                      params={"AFTER_488": "wait"})
        self.assertEqual((s.wait(30), c.wait(30)), (0, 0), s.report())

    def test_no_reinvite_scenario_fails_on_a_reinvite(self):
        s = self.sipp("uas_no_t38_reinvite.xml", params={"HOLD_MS": 1500})
        self.sipp("selftest/fake_vfax_t38_reinvite.xml", remote=f"127.0.0.1:{s.port}",
                  params={"AFTER_488": "wait"})
        self.assertNotEqual(s.wait(30), 0, s.report())

    def test_glare_scenario_wants_a_retry_after_the_backoff(self):
        s = self.sipp("uas_glare_491.xml", params={"RETRY_MS": 6000})
        c = self.sipp("selftest/fake_vfax_glare.xml", remote=f"127.0.0.1:{s.port}",
                      params={"BACKOFF_MS": 2500})
        self.assertEqual((s.wait(30), c.wait(30)), (0, 0), s.report())
        s = self.sipp("uas_glare_491.xml", params={"RETRY_MS": 2000})
        self.sipp("selftest/fake_vfax_glare.xml", remote=f"127.0.0.1:{s.port}",
                  params={"BACKOFF_MS": 4000})
        self.assertNotEqual(s.wait(30), 0, s.report())

    def test_session_timer_scenario_with_its_3pcc_twin(self):
        for refresh_ms, min_refreshes, ok in ((1500, 2, True), (1500, 3, False), (5000, 1, False)):
            twin_port = free_port()
            twin = f"127.0.0.1:{twin_port}"
            receiver = self.sipp("selftest/fake_vfax_answer.xml")
            leg = self.sipp("uac_session_timer_leg.xml", remote=f"127.0.0.1:{receiver.port}",
                            extra=["-3pcc", twin, "-s", "5552000"])
            wait_tcp_listening(twin_port)
            st = self.sipp("uas_session_timer.xml", extra=["-3pcc", twin],
                           params={"SE": 4, "SE_MS": 4000, "MIN_REFRESHES": min_refreshes})
            self.sipp("selftest/fake_vfax_refresher.xml", remote=f"127.0.0.1:{st.port}",
                      params={"REFRESH_MS": refresh_ms})
            self.assertEqual(st.wait(40) == 0, ok, st.report())
            if ok:
                self.assertEqual(leg.wait(20), 0, leg.report())
                self.assertEqual(receiver.wait(20), 0, receiver.report())
            for s in self.sipps:
                s.stop()


if __name__ == "__main__":
    unittest.main()
