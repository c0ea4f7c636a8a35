#pragma once
// The API's administration interfaces (api/admin.h) over the components that implement them:
// the mail gateway, the IAX2 trunk's Iax2Admin and the SIP trunk's SipAdmin. Only app/ knows both
// sides.
#include "api/admin.h"
#include "mail/gateway.h"
#include "trunks/iax2/iax2_admin.h"
#include "trunks/sip/sip_admin.h"

namespace vfax::app {

class MailAdminAdapter final : public api::MailAdmin {
 public:
  explicit MailAdminAdapter(mail::MailGateway& gateway) : gateway_(gateway) {}
  std::map<std::string, std::string> settings() const override;
  api::MailboxStatus mailboxStatus() const override;
  core::Result<void> updateSettings(const std::map<std::string, std::string>& changes) override;
  core::Result<std::vector<core::OutboxMail>> outbox(int limit) override;
  core::Result<std::int64_t> sendTest(const std::string& to) override;
  core::Result<api::MailCheck> checkMailbox() override;

 private:
  mail::MailGateway& gateway_;
};

class Iax2AdminAdapter final : public api::Iax2TrunkAdmin {
 public:
  explicit Iax2AdminAdapter(trunks::iax2::Iax2Admin& admin) : admin_(admin) {}
  api::Iax2State state() const override;
  core::Result<api::Iax2State> update(const api::Iax2Update& change) override;
  core::Result<api::Iax2State> addPeer(const api::Iax2PeerInput& peer) override;
  core::Result<api::Iax2State> removePeer(const std::string& name) override;

 private:
  trunks::iax2::Iax2Admin& admin_;
};

/// The API's text fields (api::SipFields) to the trunk's settings and back, through
/// trunks/sip/sip_settings.h: a field that does not parse is invalid_setting naming its key.
class SipAdminAdapter final : public api::SipTrunkAdmin {
 public:
  explicit SipAdminAdapter(trunks::sip::SipAdmin& admin) : admin_(admin) {}
  api::SipState state() const override;
  core::Result<api::SipState> update(const api::SipUpdate& change) override;
  core::Result<api::SipState> addPeer(const api::SipFields& peer) override;
  core::Result<api::SipState> addRegistration(const api::SipFields& registration) override;
  core::Result<api::SipState> removePeer(const std::string& name) override;
  core::Result<api::SipState> removeRegistration(const std::string& name) override;
  std::optional<api::SipLineState> lineState() const override;

 private:
  trunks::sip::SipAdmin& admin_;
};

}  // namespace vfax::app
