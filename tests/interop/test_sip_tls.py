"""SIP over TLS between two vfaxd, with certificates this test makes (openssl CLI): b listens on
a `tls:` address with a certificate for 127.0.0.1 from the test's CA; a calls b as a TLS peer,
verifying b's chain against that CA (`tls_ca_file`, `tls_verify = true`): the fax arrives.
A third vfaxd that trusts another CA refuses b's certificate: no call is placed, the attempt
and the log say that the certificate was refused and why, and b receives nothing."""
import os
import subprocess
import unittest

from siptest import SipCase, free_port


def openssl(*args, cwd):
    p = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)}: {p.stdout}{p.stderr}")


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}", cwd=d)
    return os.path.join(d, f"{name}.pem")


def make_cert(d, ca, name):
    """A certificate for 127.0.0.1 signed by `ca`: (cert path, key path)."""
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n"
                "extendedKeyUsage=serverAuth,clientAuth\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
            f"{name}.csr", "-subj", "/CN=127.0.0.1", cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext",
            cwd=d)
    return os.path.join(d, f"{name}.pem"), os.path.join(d, f"{name}.key")


class Tls(SipCase):
    def setUp(self):
        super().setUp()
        self.pki = os.path.join(self.tmp, "pki")
        os.makedirs(self.pki)
        self.ca = make_ca(self.pki, "test-ca")
        self.other_ca = make_ca(self.pki, "other-ca")
        self.b_cert, self.b_key = make_cert(self.pki, "test-ca", "b")
        self.a_cert, self.a_key = make_cert(self.pki, "test-ca", "a")

    def receiver(self):
        port = free_port()
        self.tls_port = free_port()
        b = self.sip_daemon("b", port=port, sip={
            "t38": "off", "tls_cert": self.b_cert, "tls_key": self.b_key,
            "listen": [f"udp:127.0.0.1:{port}", f"tls:127.0.0.1:{self.tls_port}"]},
            peers=[{"name": "a", "match": ["127.0.0.1"], "keepalive": 0}])
        self.assertIn(f"tls:127.0.0.1:{self.tls_port}", b.log())
        return b

    def caller(self, name, ca):
        port = free_port()
        return self.sip_daemon(name, port=port, sip={
            "t38": "off", "outbound": "b", "tls_verify": True, "tls_ca_file": ca,
            "tls_cert": self.a_cert, "tls_key": self.a_key,
            "listen": [f"udp:127.0.0.1:{port}", "tls:127.0.0.1:0"]},
            peers=[{"name": "b", "host": "127.0.0.1", "port": self.tls_port, "transport": "tls",
                    "keepalive": 0}])

    def test_tls_call_verified_and_untrusted_certificate_refused(self):
        b = self.receiver()
        # Trusting another CA: b's certificate is refused, no call reaches b.
        c = self.caller("c", self.other_ca)
        fid = self.send_fax(c, "100", 1, "to a far end we do not trust")
        # No call could be placed: the job waits for the trunk (no attempt is spent or kept) and
        # its `error` says why.
        job = c.wait_for(lambda: (f := c.fax(fid)) and "TLS:" in (f.get("error") or "") and f, 120,
                         "the job to wait for the trunk with a TLS reason")
        c.request("POST", f"/api/v1/faxes/{fid}/cancel")
        self.assertEqual(job["state"], "waiting", job)
        self.assertEqual(job["attempts"], [], job)
        self.assertIn("TLS: unable to get local issuer certificate", job["error"],
                      str(job) + self.logs())
        self.assertIn("TLS: the far end's certificate is refused", c.log())
        self.assertEqual(b.faxes("in"), [], self.logs())
        # Trusting the test CA: the fax goes through over TLS.
        a = self.caller("a", self.ca)
        b.sip_user = "100"
        self.fax_over(a, b, 1, "audio", "a to b over SIP/TLS")
        self.assertIn(f"127.0.0.1:{self.tls_port};transport=tls", a.log())

if __name__ == "__main__":
    unittest.main()
