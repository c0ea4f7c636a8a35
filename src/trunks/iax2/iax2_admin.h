#pragma once
// Iax2Admin: the IAX2 trunk's settings as the API and CLI see them. Peers, registrations, the
// outbound route, codecs and the bind address come from the config file ([iax2]) and from the
// API; the API's part is kept in the store (Store::meta "iax2.settings", a JSON document, secrets
// sealed with core::SecretBox) and applied to the running trunk without a restart. Secrets are
// never shown back in full. Typed in and out (the HTTP/JSON mapping is api/routes_trunks.cc);
// errors are domain errors: invalid_setting, not_found, conflict, storage_error. Thread-safe
// (API worker threads).
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/secrets.h"
#include "core/store.h"
#include "trunks/iax2/iax2_trunk.h"

namespace vfax::trunks::iax2 {

/// A peer as an admin gives it. `keepSecret`: no secret was given, the stored one of the peer
/// with that name stays.
struct PeerInput {
  PeerConfig peer;
  bool keepSecret = false;
  /// `calltoken` not given: a peer of that name keeps its own (a form that does not show it
  /// must not turn an iaxmodem's "optional" back to "required").
  bool keepCallToken = false;
};

/// A registration as an admin gives it; `keepSecret` keeps the one stored for the same
/// username and server.
struct RegistrationInput {
  RegistrationConfig registration;
  bool keepSecret = false;
};

/// A change of the API's part. What is unset stays; peers and registrations, when set, replace
/// the API's lists (the config file's stay).
struct Iax2Update {
  std::optional<std::string> bind;      // ADDR:PORT
  std::optional<std::string> outbound;  // peer name or registration username ("" = automatic)
  std::optional<std::string> codecs;    // "alaw,ulaw,slinear"
  std::optional<std::vector<PeerInput>> peers;
  std::optional<std::vector<RegistrationInput>> registrations;
};

struct PeerView {
  PeerConfig peer;  // secret masked
  bool fromApi = false;
  bool registered = false;
  std::optional<std::string> address;  // where it registered from, once known to the trunk
  bool weakSecret = false;             // shorter than kMinPeerSecret (stored before the minimum)
};

struct RegistrationView {
  RegistrationConfig registration;  // secret masked
  bool registered = false;
  std::optional<std::string> lastError;  // once known to the trunk
};

/// The effective settings (config file with the API's on top) and, while the trunk runs, its
/// state.
struct Iax2View {
  bool running = false;
  std::string bind;  // ADDR:PORT
  std::string outbound;
  std::string codecs;
  std::optional<Iax2Status> status;  // set while the trunk runs
  std::vector<PeerView> peers;
  std::vector<RegistrationView> registrations;
};

class Iax2Admin {
 public:
  /// `fromFile`: the [iax2] section's options.
  Iax2Admin(core::Store& store, core::SecretBox box, Iax2TrunkOptions fromFile);

  /// Reads the stored API settings. Error `secret_damaged` / `storage_error`.
  core::Result<void> load();
  /// True when the API has stored peers or registrations (the trunk runs even without [iax2]).
  bool hasStoredPeers() const;
  /// True when the API has set the outbound route (it then wins over the file's).
  bool hasStoredOutbound() const;
  /// The config file's options with the API's on top.
  Iax2TrunkOptions effective() const;
  /// The running trunk to update (may stay null: changes then apply at the next start).
  void setTrunk(Iax2Trunk* trunk);

  Iax2View view() const;
  /// Validates the whole change, stores it and applies it to the running trunk.
  core::Result<Iax2View> update(const Iax2Update& change);
  /// Adds or replaces one API peer.
  core::Result<Iax2View> addPeer(const PeerInput& peer);
  /// Removes one API peer: `not_found`, or `conflict` for a peer of the config file.
  core::Result<Iax2View> removePeer(const std::string& name);

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
  Iax2View viewLocked() const;

  core::Store& store_;
  core::SecretBox box_;
  Iax2TrunkOptions file_;
  mutable std::mutex mutex_;
  Stored stored_;
  Iax2Trunk* trunk_ = nullptr;
};

}  // namespace vfax::trunks::iax2
