#pragma once
// SipAdmin: the SIP trunk's settings as the API, the CLI and the web console see them (like
// iax2/iax2_admin.h). The config file's [sip] gives a SipConfig; the API adds peers and
// registrations and overrides any general setting. The API's part is kept in the store
// (Store::meta "sip.settings", a JSON document in the config file's text forms, secrets sealed
// with core::SecretBox) and applied to the running trunk through SipTrunkControl::reconfigure()
// without a restart. Every change is checked as a whole (validateConfig of the result) before it
// is stored. Secrets are never shown back in full. Errors are domain errors: invalid_setting (the
// message starts with the key), not_found, conflict, storage_error, secret_damaged. Thread-safe.
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/secrets.h"
#include "core/store.h"
#include "trunks/sip/sip_config.h"
#include "trunks/sip/sip_settings.h"

namespace vfax::trunks::sip {

/// A peer as an admin gives it. `keepSecret`: no secret was given; the stored one of the API
/// peer of that name stays.
struct SipPeerInput {
  SipPeerConfig peer;
  bool keepSecret = false;
};

/// A registration as an admin gives it; `keepSecret` keeps the one of the API registration of
/// that name.
struct SipRegistrationInput {
  SipRegistrationConfig registration;
  bool keepSecret = false;
};

/// A change of the API's part: general settings, and, when set, the API's peer and registration
/// lists as a whole (the config file's stay).
struct SipUpdate {
  SipGeneralUpdate general;
  std::optional<std::vector<SipPeerInput>> peers;
  std::optional<std::vector<SipRegistrationInput>> registrations;
};

struct SipPeerView {
  SipPeerConfig peer;  // secret masked
  bool fromApi = false;
  std::optional<SipPeerStatus> status;  // while the trunk runs and knows the peer
};

struct SipRegistrationView {
  SipRegistrationConfig registration;  // secret masked
  bool fromApi = false;
  std::optional<SipRegistrationStatus> status;
};

/// The effective settings (config file with the API's on top) and, while the trunk runs, its
/// state.
struct SipView {
  bool running = false;  // a trunk is attached (setTrunk)
  SipConfig settings;    // the general settings; its peers and registrations are left empty
  std::optional<SipStatus> status;  // while a trunk is attached
  std::vector<SipPeerView> peers;
  std::vector<SipRegistrationView> registrations;
};

class SipAdmin {
 public:
  /// `fromFile`: the [sip] section's settings (the defaults when there is none).
  SipAdmin(core::Store& store, core::SecretBox box, SipConfig fromFile);

  /// Reads the stored API settings; stored entries that no longer pass the checks are skipped.
  /// Errors: storage_error, secret_damaged.
  core::Result<void> load();
  /// True when the API has stored peers or registrations (the trunk runs even without [sip]).
  bool hasStoredPeers() const;
  /// The config file's settings with the API's on top.
  SipConfig effective() const;
  /// The running trunk to update (may stay null: changes then apply at the next start).
  void setTrunk(SipTrunkControl* trunk);
  /// The trunk's live state, when one is attached.
  std::optional<SipStatus> status() const;

  SipView view() const;
  /// Validates the whole change, stores it and applies it to the running trunk.
  core::Result<SipView> update(const SipUpdate& change);
  /// Adds or replaces one API peer.
  core::Result<SipView> addPeer(const SipPeerInput& peer);
  /// Removes one API peer: `not_found`, or `conflict` for a peer of the config file.
  core::Result<SipView> removePeer(const std::string& name);
  /// Adds or replaces one API registration.
  core::Result<SipView> addRegistration(const SipRegistrationInput& registration);
  /// Removes one API registration: `not_found`, or `conflict` for one of the config file.
  core::Result<SipView> removeRegistration(const std::string& name);

 private:
  struct Stored {
    SipGeneralUpdate general;
    std::vector<SipPeerConfig> peers;
    std::vector<SipRegistrationConfig> registrations;
  };
  SipConfig effectiveOf(const Stored& s) const;
  core::Result<SipPeerConfig> resolve(const SipPeerInput& in) const;
  core::Result<SipRegistrationConfig> resolve(const SipRegistrationInput& in) const;
  core::Result<void> saveAndApply(Stored next);
  SipView viewLocked() const;

  core::Store& store_;
  core::SecretBox box_;
  SipConfig file_;
  mutable std::mutex mutex_;
  Stored stored_;
  SipTrunkControl* trunk_ = nullptr;
};

}  // namespace vfax::trunks::sip
