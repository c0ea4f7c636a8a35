"""vfax against scripted SIP far ends (sipp, scenarios in sipp/, what each asserts is written at
its top), vfax talking to sipp directly as a [[sip.peer]]:
- a far end answering in G.711 that refuses vfax's T.38 re-INVITE with 488: vfax stays in the
  call in audio (no hangup at the 488), and its next attempt to that destination sends no T.38
  re-INVITE;
- an initial INVITE offering T.38 only is answered with T.38 (m=image and the T38 attributes);
- re-INVITE glare: the far end's re-INVITE crosses vfax's T.38 re-INVITE and it answers 491:
  vfax retries after its back-off;
- an INVITE from an address that matches no peer gets 403 and nothing else: no fax, no call,
  no dial-out;
- a far end that hangs up with BYE in the middle of the call: the attempt counts as dropped and
  the job is retried."""
import unittest

from siptest import SipCase


class FarEnd(SipCase):
    def daemon_for(self, sipp, t38, retry_seconds=3, **peer):
        return self.sip_daemon("vfaxd", sip={"t38": t38, "outbound": "sipp"},
                               peers=[self.sipp_peer(sipp.port, **peer)],
                               retry_seconds=retry_seconds)

    def cancel(self, d, fid):
        status, body = d.request("POST", f"/api/v1/faxes/{fid}/cancel")
        self.assertIn(status, (200, 409), body)

    def test_488_to_t38_keeps_the_call_in_audio_and_is_remembered(self):
        first = self.sipp("uas_488_t38.xml", params={"HOLD_MS": 8000})
        d = self.daemon_for(first, "immediate", retry_seconds=4)
        fid = self.send_fax(d, "5553000", 1, "to a far end without T.38")
        self.assertSippPassed(first, 90)
        # The next attempt goes to the same far end: no T.38 re-INVITE this time.
        second = self.sipp("uas_no_t38_reinvite.xml", port=first.port, params={"HOLD_MS": 6000})
        job = d.wait_for(lambda: (f := d.fax(fid)) and f["attempts"] and
                         f["attempts"][0].get("outcome") and f, 60, "the first attempt to end")
        self.assertNotEqual(job["attempts"][0]["outcome"], "ok", job)
        self.assertMedia(job["attempts"][0], "audio")
        fids = [fid]
        if job["state"] in ("failed", "canceled"):
            # Not retried: a new job to the same number is the next attempt there.
            fids.append(self.send_fax(d, "5553000", 1, "again to the far end without T.38"))
        self.assertSippPassed(second, 90)
        for f in fids:
            self.cancel(d, f)
        self.assertEqual(len(first.received_messages("INVITE")), 2, first.messages())
        self.assertEqual(len(second.received_messages("INVITE")), 1, second.messages())

    def test_initial_t38_offer_is_answered_with_t38(self):
        d = self.sip_daemon("vfaxd", sip={"t38": "detect"},
                            peers=[self.sipp_peer(5999, name="gateway", host="")])
        self.add_device(d, "100")
        s = self.sipp("uac_t38_only.xml", remote=f"127.0.0.1:{d.sip_port}",
                      params={"HOLD_MS": 5000}, extra=["-s", "100"])
        self.assertSippPassed(s, 60)
        rx = d.wait_for(lambda: [f for f in d.faxes("in") if f["state"] in ("received", "failed")],
                        60, "the inbound fax to end")[0]
        if rx.get("attempts"):
            self.assertMedia(rx["attempts"][-1], "t38")
        self.assertIn("5553800", str(rx), rx)  # caller id from the From user

    def test_glare_491_then_retry_after_backoff(self):
        s = self.sipp("uas_glare_491.xml", params={"RETRY_MS": 10000})
        d = self.daemon_for(s, "immediate", retry_seconds=60)
        fid = self.send_fax(d, "5553000", 1, "glare")
        self.assertSippPassed(s, 90)
        self.cancel(d, fid)
        reinvites = [m for m in s.received_messages("INVITE") if "m=image" in m]
        self.assertEqual(len(reinvites), 2, s.messages())

    def test_unknown_source_gets_403_and_no_dial_out(self):
        # The only peer matches 127.0.0.1; sipp calls from 127.0.0.2.
        d = self.sip_daemon("vfaxd", sip={"t38": "detect"},
                            peers=[self.sipp_peer(5999, name="pbx", host="127.0.0.1")])
        self.add_device(d, "100")
        s = self.sipp("uac_unknown_source.xml", ip="127.0.0.2", remote=f"127.0.0.1:{d.sip_port}",
                      params={"QUIET_MS": 3000}, extra=["-s", "100"])
        self.assertSippPassed(s, 60)
        self.assertEqual(d.faxes(), [])
        self.assertEqual(self.lines(d).get("calls", []), [], self.lines(d))

    def test_bye_in_mid_call_is_a_dropped_attempt_and_retried(self):
        s = self.sipp("uas_bye_midcall.xml", calls=2, params={"HOLD_MS": 5000})
        d = self.daemon_for(s, "off", retry_seconds=2)
        fid = self.send_fax(d, "5553000", 1, "cut in the middle")
        self.assertSippPassed(s, 90)
        job = d.wait_for(lambda: (f := d.fax(fid)) and len([a for a in f["attempts"]
                                                            if a.get("outcome")]) >= 2 and f,
                         60, "two finished attempts")
        self.cancel(d, fid)
        self.assertNotIn(job["state"], ("failed", "done"), job)  # retried, not given up
        self.assertNotEqual(job["attempts"][0]["outcome"], "ok", job)


if __name__ == "__main__":
    unittest.main()
