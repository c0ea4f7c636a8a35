// SipAdmin over the real SQLite store and SecretBox: the API's part round-trips through the
// store with its secrets sealed, is shown masked, keeps a secret left out, refuses bad changes
// whole, and reaches a running trunk through SipTrunkControl::reconfigure.
#include "trunks/sip/sip_admin.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "store/sqlite_store.h"
#include "trunks/sip/sip_settings.h"

namespace vfax::trunks::sip {
namespace {

namespace fs = std::filesystem;

// The running trunk as SipAdmin sees it: the real SipTrunk is the lead's (issue 12); this one
// records what it is told and reports a status set by the test.
class RecordingTrunk : public SipTrunkControl {
 public:
  void reconfigure(SipConfig config) override { applied.push_back(std::move(config)); }
  SipStatus status() override { return reported; }
  std::vector<SipConfig> applied;
  SipStatus reported;
};

SipPeerInput peerInput(const std::string& name, const std::string& secret = "peer-secret") {
  SipPeerInput in;
  in.peer.name = name;
  in.peer.host = "127.0.0.1";
  in.peer.port = 5080;
  in.peer.username = "vfax";
  in.peer.secret = secret;
  in.peer.match = {"127.0.0.1"};
  return in;
}

SipRegistrationInput registrationInput(const std::string& name,
                                       const std::string& secret = "reg-secret") {
  SipRegistrationInput in;
  in.registration.name = name;
  in.registration.registrar = "127.0.0.1:5070";
  in.registration.username = "100";
  in.registration.secret = secret;
  return in;
}

class SipAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vfax-sip-admin-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    openStore();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void openStore() {
    store_.reset();
    auto s = store::SqliteStore::open((dir_ / "vfax.db").string());
    ASSERT_TRUE(s);
    store_ = std::move(*s);
  }
  std::unique_ptr<SipAdmin> admin(SipConfig file = {}) {
    auto box = core::SecretBox::loadOrCreate((dir_ / "secret.key").string());
    EXPECT_TRUE(box);
    auto a = std::make_unique<SipAdmin>(*store_, std::move(*box), std::move(file));
    auto loaded = a->load();
    EXPECT_TRUE(loaded) << loaded.error().message;
    return a;
  }
  std::string storedDocument() { return store_->meta("sip.settings")->value_or(""); }

  fs::path dir_;
  std::unique_ptr<store::SqliteStore> store_;
};

TEST_F(SipAdminTest, StoredSettingsSurviveARestartWithSecretsSealed) {
  {
    auto a = admin();
    EXPECT_FALSE(a->hasStoredPeers());
    SipUpdate u;
    u.general.listen = std::vector<SipListen>{{SipTransport::Tcp, "127.0.0.1", 5070}};
    u.general.t38 = T38Mode::Immediate;
    u.general.codecs = std::vector<std::string>{"PCMU"};
    u.general.sessionExpires = 600;
    u.general.rtpPorts = std::pair{30000, 30100};
    u.general.outbound = "provider";
    u.peers = std::vector<SipPeerInput>{peerInput("pbx")};
    u.registrations = std::vector<SipRegistrationInput>{registrationInput("provider")};
    auto v = a->update(u);
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_FALSE(v->running);
  }
  const auto doc = storedDocument();
  EXPECT_EQ(doc.find("peer-secret"), std::string::npos) << doc;
  EXPECT_EQ(doc.find("reg-secret"), std::string::npos) << doc;
  EXPECT_NE(doc.find("sb1:"), std::string::npos) << doc;

  openStore();
  auto a = admin();
  EXPECT_TRUE(a->hasStoredPeers());
  const auto eff = a->effective();
  ASSERT_EQ(eff.listen.size(), 1u);
  EXPECT_EQ(formatListen(eff.listen[0]), "tcp:127.0.0.1:5070");
  EXPECT_EQ(eff.t38.mode, T38Mode::Immediate);
  EXPECT_EQ(eff.codecs, std::vector<std::string>{"PCMU"});
  EXPECT_EQ(eff.sessionExpires, 600);
  EXPECT_EQ(eff.minSessionExpires, 90);  // not set: the default stays
  EXPECT_EQ(std::pair(eff.rtpPortMin, eff.rtpPortMax), std::pair(30000, 30100));
  EXPECT_EQ(eff.outbound, "provider");
  ASSERT_EQ(eff.peers.size(), 1u);
  EXPECT_EQ(eff.peers[0].secret, "peer-secret");  // the trunk gets it in full
  EXPECT_EQ(eff.peers[0].match, std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(eff.peers[0].port, 5080);
  ASSERT_EQ(eff.registrations.size(), 1u);
  EXPECT_EQ(eff.registrations[0].secret, "reg-secret");

  const auto v = a->view();
  ASSERT_EQ(v.peers.size(), 1u);
  EXPECT_EQ(v.peers[0].peer.secret, "p*******");
  EXPECT_TRUE(v.peers[0].fromApi);
  EXPECT_EQ(v.registrations[0].registration.secret, "r*******");
  EXPECT_TRUE(v.settings.peers.empty());
}

TEST_F(SipAdminTest, ASecretLeftOutIsKept) {
  auto a = admin();
  ASSERT_TRUE(a->addPeer(peerInput("pbx", "first-secret")));
  ASSERT_TRUE(a->addRegistration(registrationInput("provider", "reg-secret-1")));
  auto changed = peerInput("pbx", "");
  changed.keepSecret = true;
  changed.peer.port = 5090;
  auto v = a->addPeer(changed);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(a->effective().peers[0].secret, "first-secret");
  EXPECT_EQ(a->effective().peers[0].port, 5090);
  // Through a whole list too.
  auto reg = registrationInput("provider", "");
  reg.keepSecret = true;
  reg.registration.expires = 600;
  SipUpdate u;
  u.registrations = std::vector<SipRegistrationInput>{reg};
  ASSERT_TRUE(a->update(u));
  EXPECT_EQ(a->effective().registrations[0].secret, "reg-secret-1");
  EXPECT_EQ(a->effective().registrations[0].expires, 600);
  // A new one without a secret has none to keep.
  auto fresh = registrationInput("other", "");
  fresh.keepSecret = true;
  auto r = a->addRegistration(fresh);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "invalid_setting");
  EXPECT_EQ(r.error().message, "secret is required (registration 'other')");
}

TEST_F(SipAdminTest, BadChangesAreRefusedWholeAndNameTheKey) {
  auto a = admin();
  ASSERT_TRUE(a->addPeer(peerInput("pbx")));
  const auto before = storedDocument();

  SipUpdate u;
  u.general.t38 = T38Mode::Off;        // fine on its own
  u.general.minSessionExpires = 2000;  // above session_expires (1800)
  auto r = a->update(u);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "invalid_setting");
  EXPECT_EQ(r.error().message.rfind("session_expires must be", 0), 0u) << r.error().message;
  EXPECT_EQ(storedDocument(), before);
  EXPECT_EQ(a->effective().t38.mode, T38Mode::Detect);

  u = SipUpdate{};
  u.general.outbound = "nobody";
  r = a->update(u);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "outbound 'nobody' names no peer or registration");

  u = SipUpdate{};
  u.general.t38 = T38Mode::Off;
  auto badPeer = peerInput("pbx2", "short");
  u.peers = std::vector<SipPeerInput>{peerInput("pbx"), badPeer};
  r = a->update(u);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "secret must be 8 to 128 characters (peer 'pbx2')");
  EXPECT_EQ(storedDocument(), before);

  u.peers = std::vector<SipPeerInput>{peerInput("pbx"), peerInput("pbx")};
  r = a->update(u);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind("name 'pbx' is given twice", 0), 0u) << r.error().message;

  auto clash = registrationInput("pbx");
  auto added = a->addRegistration(clash);
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().message.rfind("name 'pbx' is given twice", 0), 0u);
  EXPECT_EQ(storedDocument(), before);
}

TEST_F(SipAdminTest, ConfigFileEntriesAreReadOnly) {
  SipConfig file;
  file.peers.push_back(peerInput("filepeer").peer);
  file.registrations.push_back(registrationInput("filereg").registration);
  file.outbound = "filereg";
  auto a = admin(file);
  auto r = a->addPeer(peerInput("filepeer"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "invalid_setting");
  EXPECT_EQ(r.error().message.rfind("name 'filepeer' belongs to the config file", 0), 0u);
  r = a->removePeer("filepeer");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "conflict");
  r = a->removeRegistration("filereg");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "conflict");
  EXPECT_EQ(a->removePeer("nope").error().code, "not_found");
  EXPECT_EQ(a->removeRegistration("nope").error().code, "not_found");

  const auto v = a->view();
  ASSERT_EQ(v.peers.size(), 1u);
  EXPECT_FALSE(v.peers[0].fromApi);
  EXPECT_EQ(v.peers[0].peer.secret, "p*******");
  EXPECT_EQ(v.settings.outbound, "filereg");
}

TEST_F(SipAdminTest, RemovingTheOutboundRouteIsAConflict) {
  auto a = admin();
  ASSERT_TRUE(a->addRegistration(registrationInput("provider")));
  SipUpdate u;
  u.general.outbound = "provider";
  ASSERT_TRUE(a->update(u));
  auto r = a->removeRegistration("provider");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "conflict");
  EXPECT_EQ(r.error().message, "outbound 'provider' names no peer or registration");
  u.general.outbound = "";
  ASSERT_TRUE(a->update(u));
  auto v = a->removeRegistration("provider");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_TRUE(v->registrations.empty());
  EXPECT_FALSE(a->hasStoredPeers());
}

TEST_F(SipAdminTest, ARunningTrunkIsReconfiguredAndReportsItsState) {
  auto a = admin();
  RecordingTrunk trunk;
  trunk.reported.running = true;
  trunk.reported.listening = {"udp:127.0.0.1:5060"};
  trunk.reported.registrations = {{"provider", true, "127.0.0.1:5070", "", 1234}};
  trunk.reported.peers = {{"pbx", false, "no answer to OPTIONS"}};
  a->setTrunk(&trunk);
  ASSERT_TRUE(a->addPeer(peerInput("pbx")));
  auto v = a->addRegistration(registrationInput("provider"));
  ASSERT_TRUE(v) << v.error().message;
  ASSERT_EQ(trunk.applied.size(), 2u);
  EXPECT_EQ(trunk.applied.back().registrations.size(), 1u);
  EXPECT_EQ(trunk.applied.back().registrations[0].secret, "reg-secret");
  EXPECT_EQ(trunk.applied.back().peers.size(), 1u);
  EXPECT_TRUE(v->running);
  ASSERT_TRUE(v->status);
  ASSERT_TRUE(v->registrations[0].status);
  EXPECT_TRUE(v->registrations[0].status->registered);
  EXPECT_EQ(v->registrations[0].status->registrar, "127.0.0.1:5070");
  ASSERT_TRUE(v->peers[0].status);
  EXPECT_FALSE(v->peers[0].status->reachable);
  EXPECT_EQ(v->peers[0].status->lastError, "no answer to OPTIONS");
  EXPECT_TRUE(a->status());
  // A refused change does not reach the trunk.
  SipUpdate u;
  u.general.codecs = std::vector<std::string>{};
  EXPECT_FALSE(a->update(u));
  EXPECT_EQ(trunk.applied.size(), 2u);
  a->setTrunk(nullptr);
  EXPECT_FALSE(a->status());
}

TEST_F(SipAdminTest, DamagedStoredSettings) {
  ASSERT_TRUE(store_->setMeta("sip.settings", "not json"));
  auto box = core::SecretBox::loadOrCreate((dir_ / "secret.key").string());
  ASSERT_TRUE(box);
  SipAdmin a(*store_, std::move(*box), {});
  auto r = a.load();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "storage_error");
  // A secret sealed with another key.
  ASSERT_TRUE(store_->setMeta(
      "sip.settings",
      R"({"peers":[{"name":"pbx","host":"127.0.0.1","username":"v","secret":"sb1:AAAA"}]})"));
  r = a.load();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "secret_damaged");
  // Entries that fail their checks (written by an older version, say) are skipped.
  ASSERT_TRUE(store_->setMeta("sip.settings",
                              R"({"t38":"bogus","session_expires":"x","peers":[{"name":"bad name",)"
                              R"("host":"127.0.0.1"},{"name":"ok","host":"127.0.0.1"}]})"));
  ASSERT_TRUE(a.load());
  const auto eff = a.effective();
  ASSERT_EQ(eff.peers.size(), 1u);
  EXPECT_EQ(eff.peers[0].name, "ok");
  EXPECT_EQ(eff.t38.mode, T38Mode::Detect);
  EXPECT_EQ(eff.sessionExpires, 1800);
}

}  // namespace
}  // namespace vfax::trunks::sip
