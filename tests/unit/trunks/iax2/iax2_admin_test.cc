// Iax2Admin over the real SQLite store and SecretBox: new peer secrets need 12 characters, a
// shorter one stored before that rule still loads (flagged weak, kept when left out of a change),
// and `calltoken` round-trips through the store.
#include "trunks/iax2/iax2_admin.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "store/sqlite_store.h"

namespace vfax::trunks::iax2 {
namespace {

namespace fs = std::filesystem;

class Iax2AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vfax-iax2-admin-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    auto s = store::SqliteStore::open((dir_ / "vfax.db").string());
    ASSERT_TRUE(s);
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  core::SecretBox box() {
    auto b = core::SecretBox::loadOrCreate((dir_ / "secret.key").string());
    EXPECT_TRUE(b);
    return std::move(*b);
  }
  std::unique_ptr<Iax2Admin> admin() {
    auto a = std::make_unique<Iax2Admin>(*store_, box(), Iax2TrunkOptions{});
    auto loaded = a->load();
    EXPECT_TRUE(loaded) << loaded.error().message;
    return a;
  }
  static PeerInput peer(const std::string& name, const std::string& secret) {
    PeerInput in;
    in.peer.name = name;
    in.peer.secret = secret;
    return in;
  }

  fs::path dir_;
  std::unique_ptr<store::SqliteStore> store_;
};

TEST_F(Iax2AdminTest, NewSecretsNeedTwelveCharacters) {
  auto a = admin();
  auto r = a->addPeer(peer("modem", "short-pw"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "invalid_setting");
  EXPECT_NE(r.error().message.find("secret must be at least 12 characters"), std::string::npos)
      << r.error().message;
  auto ok = a->addPeer(peer("modem", "twelve-chars"));
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_EQ(ok->peers.size(), 1u);
  EXPECT_FALSE(ok->peers[0].weakSecret);
  EXPECT_TRUE(ok->peers[0].peer.callTokenRequired);
}

TEST_F(Iax2AdminTest, AShortStoredSecretLoadsFlaggedWeakAndIsKeptWhenLeftOut) {
  // As written by a vfaxd from before the rule.
  const std::string doc = R"({"peers":[{"name":"old","secret":")" + box().seal("pw") +
                          R"(","host":"","port":4569,"username":"","calltoken":"optional"}],)"
                          R"("registrations":[]})";
  ASSERT_TRUE(store_->setMeta("iax2.settings", doc));
  auto a = admin();
  auto v = a->view();
  ASSERT_EQ(v.peers.size(), 1u);
  EXPECT_TRUE(v.peers[0].weakSecret);
  EXPECT_FALSE(v.peers[0].peer.callTokenRequired);
  EXPECT_EQ(a->effective().engine.peers.at(0).secret, "pw");
  // A change that leaves the secret out keeps it (and the flag); a new short one is refused.
  PeerInput keep = peer("old", "");
  keep.keepSecret = true;
  keep.peer.callTokenRequired = false;
  auto kept = a->addPeer(keep);
  ASSERT_TRUE(kept) << kept.error().message;
  EXPECT_TRUE(kept->peers[0].weakSecret);
  EXPECT_FALSE(a->addPeer(peer("old", "pw2")));
  // A change that does not say calltoken keeps the stored "optional".
  PeerInput fix = peer("old", "a-long-new-secret");
  fix.keepCallToken = true;
  auto fixed = a->addPeer(fix);
  ASSERT_TRUE(fixed);
  EXPECT_FALSE(fixed->peers[0].weakSecret);
  EXPECT_FALSE(fixed->peers[0].peer.callTokenRequired);
  ASSERT_TRUE(a->addPeer(peer("old", "a-long-new-secret")));
  // calltoken survives the store: "required" again now (the default of the input).
  auto again = admin();
  EXPECT_TRUE(again->view().peers.at(0).peer.callTokenRequired);
}

}  // namespace
}  // namespace vfax::trunks::iax2
