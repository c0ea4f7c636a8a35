// sip_settings: text forms in and out, and the checks of peers, registrations and the whole
// SipConfig (errors start with the key they are about).
#include "trunks/sip/sip_settings.h"

#include <gtest/gtest.h>

namespace vfax::trunks::sip {
namespace {

bool startsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

SipPeerConfig peer(const std::string& name) {
  SipPeerConfig p;
  p.name = name;
  p.host = "127.0.0.1";
  return p;
}

SipRegistrationConfig registration(const std::string& name) {
  SipRegistrationConfig r;
  r.name = name;
  r.registrar = "127.0.0.1:5070";
  r.username = "100";
  r.secret = "secret-1";
  return r;
}

TEST(SipSettings, EnumerationsRoundTripAndAreCaseInsensitive) {
  for (auto t : {SipTransport::Udp, SipTransport::Tcp, SipTransport::Tls}) {
    EXPECT_EQ(parseTransport(transportName(t)), t);
  }
  for (auto m : {CallerIdMode::From, CallerIdMode::Pai, CallerIdMode::Both}) {
    EXPECT_EQ(parseCallerId(callerIdName(m)), m);
  }
  for (auto m : {T38Mode::Off, T38Mode::Accept, T38Mode::Detect, T38Mode::Immediate}) {
    EXPECT_EQ(parseT38Mode(t38ModeName(m)), m);
  }
  for (auto e : {UdptlEc::None, UdptlEc::Redundancy, UdptlEc::Fec}) {
    EXPECT_EQ(parseUdptlEc(udptlEcName(e)), e);
  }
  EXPECT_EQ(parseTransport("TLS"), SipTransport::Tls);
  EXPECT_EQ(parseT38Mode("Detect"), T38Mode::Detect);
  EXPECT_FALSE(parseTransport("sctp"));
  EXPECT_FALSE(parseCallerId(""));
  EXPECT_FALSE(parseT38Mode("on"));
  EXPECT_FALSE(parseUdptlEc("parity"));
}

TEST(SipSettings, ListenEntries) {
  SipListen l;
  ASSERT_EQ(parseListen("udp:127.0.0.1:5060", l), "");
  EXPECT_EQ(l.transport, SipTransport::Udp);
  EXPECT_EQ(l.address, "127.0.0.1");
  EXPECT_EQ(l.port, 5060);
  ASSERT_EQ(parseListen("TLS:[::1]:5061", l), "");
  EXPECT_EQ(l.transport, SipTransport::Tls);
  EXPECT_EQ(l.address, "::1");
  EXPECT_EQ(formatListen(l), "tls:[::1]:5061");
  ASSERT_EQ(parseListen("tcp:0.0.0.0:0", l), "");
  EXPECT_EQ(formatListen(l), "tcp:0.0.0.0:0");
  for (const char* bad :
       {"", "udp", "udp:", "127.0.0.1:5060", "sctp:127.0.0.1:5060", "udp:127.0.0.1",
        "udp:127.0.0.1:", "udp:127.0.0.1:65536", "udp:127.0.0.1:-1", "udp:127.0.0.1:50x",
        "udp:::1:5060", "udp:[::1:5060", "udp:localhost:5060", "udp:[::1]5060", "udp:1.2.3:5060"}) {
    const auto err = parseListen(bad, l);
    EXPECT_TRUE(startsWith(err, "listen '")) << bad << ": " << err;
  }
}

TEST(SipSettings, Codecs) {
  std::vector<std::string> c;
  ASSERT_EQ(parseCodecs(" pcmu , PCMA", c), "");
  EXPECT_EQ(c, (std::vector<std::string>{"PCMU", "PCMA"}));
  EXPECT_EQ(formatCodecs(c), "PCMU,PCMA");
  ASSERT_EQ(parseCodecs("PCMA", c), "");
  EXPECT_EQ(c, std::vector<std::string>{"PCMA"});
  for (const char* bad : {"", "G729", "PCMA,", "PCMA,,PCMU", "pcma,PCMA", "PCMA PCMU"}) {
    const auto err = parseCodecs(bad, c);
    EXPECT_TRUE(startsWith(err, "codecs ")) << bad << ": " << err;
  }
  EXPECT_EQ(c, std::vector<std::string>{"PCMA"});  // unchanged by a refusal
}

TEST(SipSettings, RtpPorts) {
  int lo = 0, hi = 0;
  ASSERT_EQ(parseRtpPorts("10000-20000", lo, hi), "");
  EXPECT_EQ(std::pair(lo, hi), std::pair(10000, 20000));
  ASSERT_EQ(parseRtpPorts("1024-1025", lo, hi), "");  // two ports: the least
  EXPECT_EQ(formatRtpPorts(lo, hi), "1024-1025");
  ASSERT_EQ(parseRtpPorts("30000 - 30010", lo, hi), "");
  for (const char* bad : {"", "10000", "10000-", "-20000", "10001-20000", "20000-10000",
                          "10000-10000", "1000-2000", "65534-65536", "a-b", "+10000-20000"}) {
    const auto err = parseRtpPorts(bad, lo, hi);
    EXPECT_TRUE(startsWith(err, "rtp_ports ")) << bad << ": " << err;
  }
}

TEST(SipSettings, MatchEntries) {
  EXPECT_TRUE(validMatch("127.0.0.1"));
  EXPECT_TRUE(validMatch("10.1.0.0/16"));
  EXPECT_TRUE(validMatch("::1"));
  EXPECT_TRUE(validMatch("fd00::/8"));
  EXPECT_FALSE(validMatch("pbx.example.test"));
  EXPECT_FALSE(validMatch("10.0.0.0/33"));
  EXPECT_FALSE(validMatch(""));
}

TEST(SipSettings, Peers) {
  EXPECT_EQ(validatePeer(peer("pbx")), "");
  auto p = peer("pbx");
  p.host.clear();
  EXPECT_TRUE(startsWith(validatePeer(p), "host or match is required"));
  p.match = {"10.0.0.0/8"};
  EXPECT_EQ(validatePeer(p), "");  // inbound only
  p.match = {"10.0.0.0/8", "nonsense"};
  EXPECT_TRUE(startsWith(validatePeer(p), "match 'nonsense'"));

  const std::pair<void (*)(SipPeerConfig&), const char*> cases[] = {
      {[](SipPeerConfig& x) { x.name = ""; }, "name "},
      {[](SipPeerConfig& x) { x.name = "a/b"; }, "name "},
      {[](SipPeerConfig& x) { x.name = std::string(65, 'a'); }, "name "},
      {[](SipPeerConfig& x) { x.host = "bad host"; }, "host 'bad host'"},
      {[](SipPeerConfig& x) { x.port = 0; }, "port "},
      {[](SipPeerConfig& x) { x.port = 65536; }, "port "},
      {[](SipPeerConfig& x) { x.username = "vfax"; }, "secret is required"},
      {[](SipPeerConfig& x) { x.secret = "long-secret"; }, "username is required"},
      {[](SipPeerConfig& x) {
         x.username = "vfax";
         x.secret = "1234567";
       },
       "secret must be 8 to 128"},
      {[](SipPeerConfig& x) {
         x.username = "vfax";
         x.secret = std::string(129, 's');
       },
       "secret must be 8 to 128"},
      {[](SipPeerConfig& x) {
         x.username = "vfax";
         x.secret = "line\nbreak!";
       },
       "secret must be printable"},
      {[](SipPeerConfig& x) {
         x.username = "v fax";
         x.secret = "long-secret";
       },
       "username must be"},
      {[](SipPeerConfig& x) { x.domain = "bad domain"; }, "domain 'bad domain'"},
      {[](SipPeerConfig& x) { x.keepaliveSeconds = 9; }, "keepalive "},
      {[](SipPeerConfig& x) { x.keepaliveSeconds = 3601; }, "keepalive "},
  };
  for (const auto& [change, want] : cases) {
    auto x = peer("pbx");
    change(x);
    const auto err = validatePeer(x);
    EXPECT_TRUE(startsWith(err, want)) << want << ": " << err;
  }
  p = peer("pbx");
  p.username = "vfax";
  p.secret = "12345678";  // the minimum
  p.keepaliveSeconds = 0;
  EXPECT_EQ(validatePeer(p), "");
}

TEST(SipSettings, Registrations) {
  EXPECT_EQ(validateRegistration(registration("provider")), "");
  for (const char* ok : {"sip.example.test", "127.0.0.1", "[::1]:5070", "::1", "pbx:5060"}) {
    auto r = registration("provider");
    r.registrar = ok;
    r.backupRegistrar = ok;
    EXPECT_EQ(validateRegistration(r), "") << ok;
  }
  const std::pair<void (*)(SipRegistrationConfig&), const char*> cases[] = {
      {[](SipRegistrationConfig& x) { x.name = "a b"; }, "name "},
      {[](SipRegistrationConfig& x) { x.registrar = ""; }, "registrar is required"},
      {[](SipRegistrationConfig& x) { x.registrar = "pbx:0"; }, "registrar 'pbx:0'"},
      {[](SipRegistrationConfig& x) { x.registrar = "pbx:70000"; }, "registrar 'pbx:70000'"},
      {[](SipRegistrationConfig& x) { x.registrar = "[::1]x"; }, "registrar '[::1]x'"},
      {[](SipRegistrationConfig& x) { x.backupRegistrar = "a b"; }, "backup_registrar 'a b'"},
      {[](SipRegistrationConfig& x) { x.username = ""; }, "username is required"},
      {[](SipRegistrationConfig& x) { x.username = "a@b"; }, "username must be"},
      {[](SipRegistrationConfig& x) { x.authUsername = "a:b"; }, "auth_username must be"},
      {[](SipRegistrationConfig& x) { x.secret = ""; }, "secret is required"},
      {[](SipRegistrationConfig& x) { x.secret = "short"; }, "secret must be 8 to 128"},
      {[](SipRegistrationConfig& x) { x.domain = "x..y"; }, "domain 'x..y'"},
      {[](SipRegistrationConfig& x) { x.expires = 59; }, "expires must be 60 to 3600"},
      {[](SipRegistrationConfig& x) { x.expires = 3601; }, "expires must be 60 to 3600"},
  };
  for (const auto& [change, want] : cases) {
    auto x = registration("provider");
    change(x);
    const auto err = validateRegistration(x);
    EXPECT_TRUE(startsWith(err, want)) << want << ": " << err;
  }
}

TEST(SipSettings, TheWholeConfig) {
  SipConfig c;
  EXPECT_EQ(validateConfig(c), "");  // the defaults are valid
  c.peers = {peer("pbx")};
  c.registrations = {registration("provider")};
  c.outbound = "provider";
  EXPECT_EQ(validateConfig(c), "");
  c.outbound = "pbx";
  EXPECT_EQ(validateConfig(c), "");
  EXPECT_TRUE(canDial(c, "pbx"));
  c.peers[0].host.clear();
  c.peers[0].match = {"127.0.0.1"};
  EXPECT_FALSE(canDial(c, "pbx"));
  EXPECT_TRUE(startsWith(validateConfig(c), "outbound 'pbx' is a peer without a host"));
  c.outbound = "nobody";
  EXPECT_TRUE(startsWith(validateConfig(c), "outbound 'nobody' names no peer or registration"));
  c.outbound = "";
  c.registrations.push_back(registration("pbx"));
  EXPECT_TRUE(startsWith(validateConfig(c), "name 'pbx' is given twice"));
  c.registrations.pop_back();
  c.registrations[0].expires = 10;
  EXPECT_EQ(validateConfig(c), "expires must be 60 to 3600 seconds (registration 'provider')");
  c.registrations[0].expires = 300;
  c.peers[0].port = 0;
  EXPECT_EQ(validateConfig(c), "port must be 1 to 65535 (peer 'pbx')");
  c.peers[0].port = 5060;

  c.sessionExpires = 90;
  c.minSessionExpires = 90;
  EXPECT_EQ(validateConfig(c), "");
  c.sessionExpires = 89;
  EXPECT_TRUE(startsWith(validateConfig(c), "session_expires "));
  c.sessionExpires = 1800;
  c.minSessionExpires = 89;
  EXPECT_TRUE(startsWith(validateConfig(c), "min_session_expires "));
  c.minSessionExpires = 90;

  c.listen.push_back({SipTransport::Tls, "::1", 5061});
  EXPECT_TRUE(startsWith(validateConfig(c), "tls_cert and tls_key are required"));
  c.tlsCert = "/dev/null";
  EXPECT_EQ(validateConfig(c), "tls_cert and tls_key go together");
  c.tlsKey = "/dev/null";
  EXPECT_EQ(validateConfig(c), "");
  c.tlsKey = "/nonexistent/key.pem";
  EXPECT_EQ(validateConfig(c), "tls_key cannot read '/nonexistent/key.pem'");
  c.tlsKey = "/dev/null";

  c.listen.push_back(c.listen.back());
  EXPECT_TRUE(startsWith(validateConfig(c), "listen names 'tls:[::1]:5061' twice"));
  c.listen.pop_back();
  c.listen[0].address = "localhost";
  EXPECT_TRUE(startsWith(validateConfig(c), "listen 'udp:localhost:5060'"));
  c.listen[0].address = "127.0.0.1";
  c.codecs = {};
  EXPECT_TRUE(startsWith(validateConfig(c), "codecs "));
  c.codecs = {"PCMA", "G722"};
  EXPECT_TRUE(startsWith(validateConfig(c), "codecs "));
  c.codecs = {"PCMA"};
  c.t38.maxBitRate = 33600;
  EXPECT_TRUE(startsWith(validateConfig(c), "t38_max_bitrate "));
  c.t38.maxBitRate = 14400;
  c.t38.maxDatagram = 1401;
  EXPECT_TRUE(startsWith(validateConfig(c), "t38_max_datagram "));
  c.t38.maxDatagram = 400;
  c.t38.redundancyDepth = 8;
  EXPECT_TRUE(startsWith(validateConfig(c), "t38_redundancy "));
  c.t38.redundancyDepth = 3;
  c.rtpPortMin = 10001;
  EXPECT_TRUE(startsWith(validateConfig(c), "rtp_ports "));
  c.rtpPortMin = 10000;
  c.mediaAddress = "fax.example.test";
  EXPECT_TRUE(startsWith(validateConfig(c), "media_address "));
  c.mediaAddress = "2001:db8::5";
  c.userAgent = std::string(65, 'x');
  EXPECT_TRUE(startsWith(validateConfig(c), "user_agent "));
  c.userAgent = "vfax 1.0";
  EXPECT_EQ(validateConfig(c), "");
}

TEST(SipSettings, FieldsRoundTrip) {
  SipPeerConfig p = peer("pbx");
  p.match = {"127.0.0.1", "10.0.0.0/8"};
  p.transport = SipTransport::Tls;
  p.username = "vfax";
  p.secret = "long-secret";
  p.callerId = CallerIdMode::Pai;
  p.t38 = false;
  p.keepaliveSeconds = 0;
  const auto fields = formatPeer(p);
  EXPECT_EQ(fields.at("match"), "127.0.0.1\n10.0.0.0/8");
  EXPECT_EQ(fields.at("t38"), "false");
  SipPeerConfig back;
  ASSERT_EQ(parsePeer(fields, back), "");
  EXPECT_EQ(formatPeer(back), fields);

  SipRegistrationConfig r = registration("provider");
  r.expires = 900;
  r.transport = SipTransport::Tcp;
  SipRegistrationConfig rback;
  ASSERT_EQ(parseRegistration(formatRegistration(r), rback), "");
  EXPECT_EQ(formatRegistration(rback), formatRegistration(r));

  SipConfig c;
  c.listen.push_back({SipTransport::Tls, "::1", 5061});
  c.t38.mode = T38Mode::Off;
  c.tlsVerify = false;
  SipGeneralUpdate u;
  ASSERT_EQ(parseGeneral(formatGeneral(c), u), "");
  ASSERT_TRUE(u.listen && u.t38 && u.tlsVerify && u.rtpPorts && u.userAgent);
  EXPECT_EQ(u.listen->size(), 2u);
  EXPECT_EQ(*u.t38, T38Mode::Off);
  EXPECT_FALSE(*u.tlsVerify);
  EXPECT_EQ(formatGeneral(c).at("listen"), "udp:127.0.0.1:5060\ntls:[::1]:5061");
}

TEST(SipSettings, FieldErrorsNameTheKey) {
  const std::pair<SipFields, const char*> general[] = {
      {{{"t38", "on"}}, "t38 must be off, accept, detect or immediate"},
      {{{"t38_ec", "x"}}, "t38_ec must be none, redundancy or fec"},
      {{{"session_expires", "12a"}}, "session_expires must be a whole number"},
      {{{"tls_verify", "yes"}}, "tls_verify must be true or false"},
      {{{"listen", ""}}, "listen must name at least one address"},
      {{{"listen", "udp:127.0.0.1:5060\nbogus"}}, "listen 'bogus'"},
      {{{"codecs", "G729"}}, "codecs must list"},
      {{{"rtp_ports", "1-2"}}, "rtp_ports must"},
      {{{"enabled", "true"}}, "unknown key 'enabled'"},
  };
  for (const auto& [fields, want] : general) {
    SipGeneralUpdate u;
    const auto err = parseGeneral(fields, u);
    EXPECT_TRUE(startsWith(err, want)) << want << ": " << err;
  }
  SipPeerConfig p;
  EXPECT_EQ(parsePeer({{"port", "x"}}, p), "port must be a whole number");
  EXPECT_EQ(parsePeer({{"transport", "ws"}}, p), "transport must be udp, tcp or tls");
  EXPECT_EQ(parsePeer({{"t38", "1"}}, p), "t38 must be true or false");
  EXPECT_EQ(parsePeer({{"registrar", "x"}}, p), "unknown key 'registrar'");
  SipRegistrationConfig r;
  EXPECT_EQ(parseRegistration({{"expires", ""}}, r), "expires must be a whole number");
  EXPECT_EQ(parseRegistration({{"caller_id", "rpid"}}, r), "caller_id must be from, pai or both");
  EXPECT_EQ(parseRegistration({{"match", "x"}}, r), "unknown key 'match'");
  // Absent keys keep what was there.
  r.expires = 700;
  ASSERT_EQ(parseRegistration({{"name", "x"}}, r), "");
  EXPECT_EQ(r.expires, 700);
}

}  // namespace
}  // namespace vfax::trunks::sip
