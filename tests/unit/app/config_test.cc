// loadConfig: the [sip] section (issue 12) with [[sip.peer]] and [[sip.register]]: every key
// read, and a bad value of each refused with an error that names the key.
#include "app/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace vfax::app {
namespace {

namespace fs = std::filesystem;
namespace sip = trunks::sip;

class ConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vfax-config-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Config load(const std::string& text) {
    const auto file = dir_ / "vfaxd.toml";
    std::ofstream(file) << text;
    return loadConfig(file.string());
  }
  // The error loading `text` gives ("" when it loads).
  std::string error(const std::string& text) {
    try {
      load(text);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return {};
  }
  fs::path dir_;
};

constexpr const char* kPeer = "[[sip.peer]]\nname = \"pbx\"\nmatch = [\"127.0.0.1\"]\n";
constexpr const char* kRegister =
    "[[sip.register]]\nname = \"provider\"\nregistrar = \"127.0.0.1:5070\"\nusername = "
    "\"100\"\nsecret = \"secret-1\"\n";

TEST_F(ConfigFile, NoSipSectionLeavesTheTrunkOff) {
  const auto c = load("");
  EXPECT_FALSE(c.sipSection);
  EXPECT_FALSE(c.sipEnabled);
  EXPECT_EQ(c.sip.listen.size(), 1u);
  EXPECT_EQ(c.sip.codecs, (std::vector<std::string>{"PCMA", "PCMU"}));
}

TEST_F(ConfigFile, ReadsEveryKeyOfTheContract) {
  const auto cert = (dir_ / "cert.pem").string();
  std::ofstream(cert) << "PEM";
  const auto c = load(R"([sip]
enabled = true
listen = ["udp:127.0.0.1:5060", "tls:[::1]:5061", "tcp:0.0.0.0:0"]
outbound = "provider"
codecs = "pcmu, PCMA"
t38 = "immediate"
t38_max_bitrate = 9600
t38_max_datagram = 300
t38_ec = "fec"
t38_redundancy = 2
session_expires = 600
min_session_expires = 120
rtp_ports = "20000-20100"
media_address = "192.0.2.7"
tls_verify = false
tls_ca_file = ")" + cert +
                      R"("
tls_cert = ")" + cert +
                      R"("
tls_key = ")" + cert + R"("
user_agent = "vfax-test"

[[sip.peer]]
name = "pbx"
match = ["127.0.0.1", "10.0.0.0/8", "::1"]
host = "pbx.example.test"
port = 5080
transport = "TCP"
username = "vfax"
secret = "peer-secret"
domain = "example.test"
caller_id = "both"
t38 = false
keepalive = 0

[[sip.register]]
name = "provider"
registrar = "127.0.0.1:5070"
backup_registrar = "[::1]:5070"
transport = "tls"
username = "100"
auth_username = "auth100"
secret = "reg-secret"
domain = "sip.example.test"
expires = 600
caller_id = "pai"
t38 = false
)");
  EXPECT_TRUE(c.sipSection);
  EXPECT_TRUE(c.sipEnabled);
  const auto& s = c.sip;
  ASSERT_EQ(s.listen.size(), 3u);
  EXPECT_EQ(s.listen[1].transport, sip::SipTransport::Tls);
  EXPECT_EQ(s.listen[1].address, "::1");
  EXPECT_EQ(s.listen[1].port, 5061);
  EXPECT_EQ(s.listen[2].port, 0);
  EXPECT_EQ(s.outbound, "provider");
  EXPECT_EQ(s.codecs, (std::vector<std::string>{"PCMU", "PCMA"}));
  EXPECT_EQ(s.t38.mode, sip::T38Mode::Immediate);
  EXPECT_EQ(s.t38.maxBitRate, 9600);
  EXPECT_EQ(s.t38.maxDatagram, 300);
  EXPECT_EQ(s.t38.ec, sip::UdptlEc::Fec);
  EXPECT_EQ(s.t38.redundancyDepth, 2);
  EXPECT_EQ(s.sessionExpires, 600);
  EXPECT_EQ(s.minSessionExpires, 120);
  EXPECT_EQ(s.rtpPortMin, 20000);
  EXPECT_EQ(s.rtpPortMax, 20100);
  EXPECT_EQ(s.mediaAddress, "192.0.2.7");
  EXPECT_FALSE(s.tlsVerify);
  EXPECT_EQ(s.tlsCert, cert);
  EXPECT_EQ(s.userAgent, "vfax-test");
  ASSERT_EQ(s.peers.size(), 1u);
  const auto& p = s.peers[0];
  EXPECT_EQ(p.match, (std::vector<std::string>{"127.0.0.1", "10.0.0.0/8", "::1"}));
  EXPECT_EQ(p.host, "pbx.example.test");
  EXPECT_EQ(p.port, 5080);
  EXPECT_EQ(p.transport, sip::SipTransport::Tcp);
  EXPECT_EQ(p.username, "vfax");
  EXPECT_EQ(p.secret, "peer-secret");
  EXPECT_EQ(p.domain, "example.test");
  EXPECT_EQ(p.callerId, sip::CallerIdMode::Both);
  EXPECT_FALSE(p.t38);
  EXPECT_EQ(p.keepaliveSeconds, 0);
  ASSERT_EQ(s.registrations.size(), 1u);
  const auto& r = s.registrations[0];
  EXPECT_EQ(r.registrar, "127.0.0.1:5070");
  EXPECT_EQ(r.backupRegistrar, "[::1]:5070");
  EXPECT_EQ(r.transport, sip::SipTransport::Tls);
  EXPECT_EQ(r.authUsername, "auth100");
  EXPECT_EQ(r.secret, "reg-secret");
  EXPECT_EQ(r.domain, "sip.example.test");
  EXPECT_EQ(r.expires, 600);
  EXPECT_EQ(r.callerId, sip::CallerIdMode::Pai);
  EXPECT_FALSE(r.t38);
}

TEST_F(ConfigFile, EnabledFalseKeepsTheSettingsButTurnsTheTrunkOff) {
  const auto c = load(std::string("[sip]\nenabled = false\n") + kPeer);
  EXPECT_TRUE(c.sipSection);
  EXPECT_FALSE(c.sipEnabled);
  EXPECT_EQ(c.sip.peers.size(), 1u);
}

TEST_F(ConfigFile, BadGeneralValuesNameTheirKey) {
  const std::pair<const char*, const char*> cases[] = {
      {"enabled = \"yes\"", "[sip] enabled must be true or false"},
      {"listen = \"udp:127.0.0.1:5060\"", "[sip] listen must be a list"},
      {"listen = [5060]", "[sip] listen must list strings"},
      {"listen = [\"sctp:127.0.0.1:5060\"]", "[sip] listen 'sctp:127.0.0.1:5060' must be"},
      {"listen = [\"udp:pbx.example.test:5060\"]", "[sip] listen 'udp:pbx.example.test:5060'"},
      {"listen = [\"udp:127.0.0.1\"]", "[sip] listen 'udp:127.0.0.1' must be"},
      {"listen = [\"udp:127.0.0.1:65536\"]", "[sip] listen 'udp:127.0.0.1:65536'"},
      {"listen = []", "[sip] listen must name at least one address"},
      {"listen = [\"udp:127.0.0.1:5060\", \"udp:127.0.0.1:5060\"]", "[sip] listen names"},
      {"listen = [\"tls:127.0.0.1:5061\"]", "[sip] tls_cert and tls_key are required"},
      {"codecs = \"G729\"", "[sip] codecs must list PCMA and/or PCMU"},
      {"codecs = \"PCMA,pcma\"", "[sip] codecs names PCMA twice"},
      {"codecs = \"\"", "[sip] codecs must list"},
      {"codecs = 8", "[sip] codecs must be a string"},
      {"t38 = \"always\"", "[sip] t38 must be off, accept, detect or immediate"},
      {"t38_max_bitrate = 33600", "[sip] t38_max_bitrate must be"},
      {"t38_max_datagram = 50", "[sip] t38_max_datagram must be 100 to 1400"},
      {"t38_ec = \"parity\"", "[sip] t38_ec must be none, redundancy or fec"},
      {"t38_redundancy = 0", "[sip] t38_redundancy must be 1 to 7"},
      {"session_expires = 60", "[sip] session_expires must be min_session_expires"},
      {"min_session_expires = 89", "[sip] min_session_expires must be at least 90"},
      {"session_expires = 100\nmin_session_expires = 200", "[sip] session_expires must be"},
      {"rtp_ports = \"10001-20000\"", "[sip] rtp_ports must start at an even port"},
      {"rtp_ports = \"20000-10000\"", "[sip] rtp_ports must end above"},
      {"rtp_ports = \"10000-10000\"", "[sip] rtp_ports must end above"},
      {"rtp_ports = \"80-1000\"", "[sip] rtp_ports must lie within 1024-65535"},
      {"rtp_ports = \"10000\"", "[sip] rtp_ports must be FIRST-LAST"},
      {"media_address = \"pbx.example.test\"", "[sip] media_address 'pbx.example.test' must be"},
      {"tls_verify = 1", "[sip] tls_verify must be true or false"},
      {"tls_cert = \"/nonexistent/cert.pem\"", "[sip] tls_cert and tls_key go together"},
      {"tls_cert = \"/nonexistent/c.pem\"\ntls_key = \"/nonexistent/k.pem\"",
       "[sip] tls_cert cannot read '/nonexistent/c.pem'"},
      {"tls_ca_file = \"/nonexistent/ca.pem\"", "[sip] tls_ca_file cannot read"},
      {"user_agent = \"\"", "[sip] user_agent must be 1 to 64"},
      {"user_agent = \"vfax\\r\\nX-Evil: 1\"", "[sip] user_agent must be 1 to 64"},
      {"bogus = 1", "unknown key 'bogus' in [sip]"},
  };
  for (const auto& [line, want] : cases) {
    const auto err = error(std::string("[sip]\n") + line + "\n");
    EXPECT_NE(err.find(want), std::string::npos) << line << "\n  gave: " << err;
  }
}

TEST_F(ConfigFile, BadPeerValuesNameTheirKey) {
  const std::pair<const char*, const char*> cases[] = {
      {"name = \"bad name\"\nmatch = [\"127.0.0.1\"]", "[[sip.peer]] name must be 1-64"},
      {"name = \"pbx\"",
       "[[sip.peer]] host or match is required (where calls go, where calls "
       "come from) (peer 'pbx')"},
      {"name = \"pbx\"\nmatch = [\"10.0.0.0/33\"]", "[[sip.peer]] match '10.0.0.0/33' is not"},
      {"name = \"pbx\"\nmatch = \"127.0.0.1\"", "[[sip.peer]] match must be a list of strings"},
      {"name = \"pbx\"\nmatch = [\"pbx.example.test\"]", "[[sip.peer]] match 'pbx.example.test'"},
      {"name = \"pbx\"\nhost = \"pbx example\"", "[[sip.peer]] host 'pbx example' is not"},
      {"name = \"pbx\"\nhost = \"pbx\"\nport = 0", "[[sip.peer]] port must be 1 to 65535"},
      {"name = \"pbx\"\nhost = \"pbx\"\nport = \"5060\"", "[[sip.peer]] port must be a whole"},
      {"name = \"pbx\"\nhost = \"pbx\"\ntransport = \"sctp\"", "[[sip.peer]] transport must be"},
      {"name = \"pbx\"\nhost = \"pbx\"\nusername = \"vfax\"", "[[sip.peer]] secret is required"},
      {"name = \"pbx\"\nhost = \"pbx\"\nsecret = \"long-enough\"",
       "[[sip.peer]] username is required with a secret"},
      {"name = \"pbx\"\nhost = \"pbx\"\nusername = \"vfax\"\nsecret = \"short\"",
       "[[sip.peer]] secret must be 8 to 128 characters"},
      {"name = \"pbx\"\nhost = \"pbx\"\nusername = \"v@x\"\nsecret = \"long-enough\"",
       "[[sip.peer]] username must be"},
      {"name = \"pbx\"\nhost = \"pbx\"\ndomain = \"a b\"", "[[sip.peer]] domain 'a b' is not"},
      {"name = \"pbx\"\nhost = \"pbx\"\ncaller_id = \"rpid\"",
       "[[sip.peer]] caller_id must be from, pai or both"},
      {"name = \"pbx\"\nhost = \"pbx\"\nt38 = \"yes\"", "[[sip.peer]] t38 must be true or false"},
      {"name = \"pbx\"\nhost = \"pbx\"\nkeepalive = 5", "[[sip.peer]] keepalive must be 0"},
      {"name = \"pbx\"\nhost = \"pbx\"\nsecrets = \"x\"", "unknown key 'secrets' in [[sip.peer]]"},
  };
  for (const auto& [body, want] : cases) {
    const auto err = error(std::string("[sip]\n[[sip.peer]]\n") + body + "\n");
    EXPECT_NE(err.find(want), std::string::npos) << body << "\n  gave: " << err;
  }
}

TEST_F(ConfigFile, BadRegistrationValuesNameTheirKey) {
  const std::string good =
      "name = \"provider\"\nregistrar = \"127.0.0.1\"\nusername = \"100\"\nsecret = "
      "\"secret-1\"\n";
  EXPECT_EQ(error("[sip]\n[[sip.register]]\n" + good), "");
  const std::pair<const char*, const char*> cases[] = {
      {"registrar = \"\"", "[[sip.register]] registrar is required"},
      {"registrar = \"127.0.0.1:99999\"", "[[sip.register]] registrar '127.0.0.1:99999' must"},
      {"registrar = \"sip example\"", "[[sip.register]] registrar 'sip example' must"},
      {"backup_registrar = \"[::1\"", "[[sip.register]] backup_registrar '[::1' must be"},
      {"username = \"\"", "[[sip.register]] username is required"},
      {"auth_username = \"a b\"", "[[sip.register]] auth_username must be"},
      {"secret = \"\"", "[[sip.register]] secret is required"},
      {"secret = \"1234567\"", "[[sip.register]] secret must be 8 to 128 characters"},
      {"expires = 59", "[[sip.register]] expires must be 60 to 3600"},
      {"expires = 3601", "[[sip.register]] expires must be 60 to 3600"},
      {"transport = \"ws\"", "[[sip.register]] transport must be udp, tcp or tls"},
      {"caller_id = \"x\"", "[[sip.register]] caller_id must be from, pai or both"},
      {"domain = \"-bad\"", "[[sip.register]] domain '-bad' is not"},
      {"server = \"x\"", "unknown key 'server' in [[sip.register]]"},
  };
  for (const auto& [line, want] : cases) {
    // The later key wins in the message: TOML refuses a key given twice, so the bad one
    // replaces the good one's line.
    std::string body = good;
    const std::string key = std::string(line).substr(0, std::string(line).find(' '));
    if (auto at = body.find(key + " ="); at != std::string::npos) {
      body.erase(at, body.find('\n', at) - at + 1);
    }
    const auto err = error("[sip]\n[[sip.register]]\n" + body + line + "\n");
    EXPECT_NE(err.find(want), std::string::npos) << line << "\n  gave: " << err;
  }
}

TEST_F(ConfigFile, NamesAreUniqueAcrossPeersAndRegistrations) {
  EXPECT_NE(error(std::string("[sip]\n") + kPeer + kPeer)
                .find("[[sip.peer]] name 'pbx' is given "
                      "twice"),
            std::string::npos);
  const std::string clash = std::string("[sip]\n") + kPeer +
                            "[[sip.register]]\nname = \"pbx\"\nregistrar = \"127.0.0.1\"\n"
                            "username = \"100\"\nsecret = \"secret-1\"\n";
  EXPECT_NE(error(clash).find("[[sip.register]] name 'pbx' is given twice"), std::string::npos)
      << error(clash);
}

TEST_F(ConfigFile, OutboundIsCheckedAgainstTheEffectiveSettings) {
  auto c = load(std::string("[sip]\noutbound = \"provider\"\n") + kPeer + kRegister);
  EXPECT_EQ(checkSipOutbound(c, c.sip), "");
  // A peer without a host takes calls only.
  c = load(std::string("[sip]\noutbound = \"pbx\"\n") + kPeer);
  EXPECT_NE(checkSipOutbound(c, c.sip).find("[sip] outbound 'pbx' must name a [[sip.register]]"),
            std::string::npos);
  // Named nowhere in the file, but added through the API: fine.
  c = load("[sip]\noutbound = \"later\"\n");
  auto effective = c.sip;
  EXPECT_NE(checkSipOutbound(c, effective), "");
  effective.registrations.push_back({"later", "127.0.0.1", "", sip::SipTransport::Udp, "100", "",
                                     "secret-1", "", 300, sip::CallerIdMode::From, true});
  EXPECT_EQ(checkSipOutbound(c, effective), "");
}

TEST_F(ConfigFile, PrintAllowListUsesTheSharedAddressCheck) {
  EXPECT_NE(error("[print]\nanonymous_allow = [\"10.0.0.0/40\"]\n")
                .find("[print] anonymous_allow: '10.0.0.0/40' is not"),
            std::string::npos);
  EXPECT_EQ(load("[print]\nanonymous_allow = [\"10.0.0.0/8\", \"::1\"]\n").print.anonymousAllow,
            (std::vector<std::string>{"10.0.0.0/8", "::1"}));
}

}  // namespace
}  // namespace vfax::app

namespace vfax::app {
namespace {

TEST_F(ConfigFile, RoutesAreReadInOrder) {
  const auto c = load(
      "[[route]]\nprefix = \"0049\"\ntrunk = \"sip:provider\"\n"
      "[[route]]\nprefix = \"\"\ntrunk = \"iax2\"\n");
  ASSERT_EQ(c.routes.size(), 2u);
  EXPECT_EQ(c.routes[0].prefix, "0049");
  EXPECT_EQ(c.routes[0].trunk, "sip:provider");
  EXPECT_EQ(c.routes[1].prefix, "");
  EXPECT_EQ(c.routes[1].trunk, "iax2");
}

TEST_F(ConfigFile, BadRoutesNameTheProblem) {
  EXPECT_NE(error("[[route]]\nprefix = \"0x\"\ntrunk = \"iax2\"\n").find("prefix must be digits"),
            std::string::npos);
  EXPECT_NE(error("[[route]]\nprefix = \"1\"\ntrunk = \"h323\"\n").find("trunk must be"),
            std::string::npos);
  EXPECT_NE(error("[[route]]\nprefix = \"1\"\ntrunk = \"sip:\"\n").find("trunk must be"),
            std::string::npos);
  EXPECT_NE(error("[[route]]\nprefix = \"1\"\ntrunk = \"iax2\"\n[[route]]\nprefix = \"1\"\ntrunk "
                  "= \"sip\"\n")
                .find("appears twice"),
            std::string::npos);
  EXPECT_NE(error("[[route]]\nprefix = \"1\"\ntrunk = \"iax2\"\nweight = 2\n").find("unknown key"),
            std::string::npos);
  EXPECT_NE(error("route = 3\n").find("[[route]] must be an array"), std::string::npos);
}

// Found while writing config_fuzz: numbers were cast to int unchecked (4294967297 became 1 and
// passed every later check), and seconds and MiB were multiplied into milliseconds and bytes with
// signed overflow.
TEST_F(ConfigFile, NumbersOutOfRangeAreRefusedNotWrapped) {
  const std::pair<const char*, const char*> cases[] = {
      {"[api]\nmax_files = 4294967297\n", "[api] max_files must be a whole number from"},
      {"[fax]\nidle_timeout_seconds = -4294967295\n", "[fax] idle_timeout_seconds must be"},
      {"[sip]\nt38_max_datagram = 4294967696\n", "[sip] t38_max_datagram must be a whole"},
      {"[[iax2.peer]]\nname = \"p\"\nsecret = \"s\"\nport = 4294971865\n",
       "[[iax2.peer]] port must be a whole number from"},
      {"[api]\nmax_upload_mb = 9223372036854775807\n", "[api] max_upload_mb must be at most"},
      {"[api]\npreview_ttl_seconds = 9223372036854775\n",
       "[api] preview_ttl_seconds must be at most"},
      {"[scheduler]\nretry_busy_seconds = 9223372036854776\n", "[scheduler] retry delays"},
      {"[scheduler]\nretry_unavailable_max_seconds = 9223372036854776\n",
       "[scheduler] retry delays"},
  };
  for (const auto& [text, want] : cases) {
    EXPECT_NE(error(text).find(want), std::string::npos) << text << " -> " << error(text);
  }
  const auto c = load("[api]\nmax_upload_mb = 1048576\n[scheduler]\nretry_busy_seconds = 3600\n");
  EXPECT_EQ(c.maxUploadBytes, 1LL << 40);
  EXPECT_EQ(c.service.retryBusy, 3'600'000);
}

TEST_F(ConfigFile, TextReadsLikeAFile) {
  const auto c = parseConfig("[api]\nmax_files = 7\n", "inline.toml");
  EXPECT_EQ(c.maxFilesPerFax, 7);
  try {
    parseConfig("[api\n", "inline.toml");
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("config inline.toml:1:", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace vfax::app
