#pragma once
// Iax2Admin: the IAX2 trunk's settings as the API and CLI see them. Peers, registrations, the
// outbound route, codecs and the bind address come from the config file ([iax2]) and from the
// API; the API's part is kept in the store (Store::meta "iax2.settings", a JSON document, secrets
// sealed with core::SecretBox) and applied to the running trunk without a restart. Secrets are
// never shown back in full. Thread-safe (API worker threads).
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/secrets.h"
#include "core/store.h"
#include "trunks/iax2/iax2_trunk.h"

namespace vfax::trunks::iax2 {

class Iax2Admin {
 public:
  /// `fromFile`: the [iax2] section's options.
  Iax2Admin(core::Store& store, core::SecretBox box, Iax2TrunkOptions fromFile);

  /// Reads the stored API settings. Error `secret_damaged` / `storage_error`.
  core::Result<void> load();
  /// True when the API has stored peers or registrations (the trunk runs even without [iax2]).
  bool hasStoredPeers() const;
  /// The config file's options with the API's on top.
  Iax2TrunkOptions effective() const;
  /// The running trunk to update (may stay null: changes then apply at the next start).
  void setTrunk(Iax2Trunk* trunk);

  // JSON in, JSON out (the API routes).
  core::Result<std::string> get() const;
  /// Replaces the API's part: any of bind, outbound, codecs, peers, registrations. A peer or
  /// registration given without "secret" keeps the secret it had.
  core::Result<std::string> put(const std::string& body);
  /// Adds or replaces one peer {name, secret, host, port, username}.
  core::Result<std::string> addPeer(const std::string& body);
  /// Removes one API peer {name}.
  core::Result<std::string> removePeer(const std::string& body);

 private:
  struct Stored {
    std::optional<std::string> bind;
    std::optional<std::string> outbound;
    std::optional<std::string> codecs;
    std::vector<PeerConfig> peers;
    std::vector<RegistrationConfig> registrations;
  };
  Iax2TrunkOptions effectiveLocked() const;
  core::Result<void> saveAndApply(Stored next);
  std::string render() const;

  core::Store& store_;
  core::SecretBox box_;
  Iax2TrunkOptions file_;
  mutable std::mutex mutex_;
  Stored stored_;
  Iax2Trunk* trunk_ = nullptr;
};

}  // namespace vfax::trunks::iax2
