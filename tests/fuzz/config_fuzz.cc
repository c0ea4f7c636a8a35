// libFuzzer target over vfaxd's config file (app/config.cc): any bytes as the TOML file are read
// into a Config or refused with a std::runtime_error naming the line or the key, never a crash,
// an overflow or another exception; an accepted config also goes through the checks made once the
// API's stored trunk settings are known, and the mail sections through the mail gateway's checks.
//
// [server] http resolves its host with getaddrinfo: the target first moves into a network
// namespace of its own (only a downed lo), so no lookup of a fuzzed host name leaves the machine.
#include <sched.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "app/config.h"
#include "mail/mail_settings.h"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // libFuzzer's -merge and -fork run this binary again as children, inside the namespace already
  // made (where a nested user namespace is not allowed).
  if (std::getenv("VFAX_CONFIG_FUZZ_NETNS") != nullptr) return 0;
  if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) {
    std::perror("config_fuzz: unshare(CLONE_NEWUSER | CLONE_NEWNET)");
    std::exit(77);  // the replay test's SKIP_RETURN_CODE: no isolated network here
  }
  setenv("VFAX_CONFIG_FUZZ_NETNS", "1", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  vfax::app::Config config;
  try {
    config = vfax::app::parseConfig(text, "fuzz.toml");
  } catch (const std::runtime_error& e) {
    if (std::string_view(e.what()).rfind("config", 0) != 0) std::abort();  // names the file/key
    return 0;
  }
  (void)vfax::app::checkIax2Route(config, config.iax2.engine, false);
  (void)vfax::app::checkSipOutbound(config, config.sip);
  // [smtp], [mailbox], [mail] go to the mail gateway as text, as PUT /mail/settings does.
  vfax::mail::MailSettings mail;
  bool assigned = true;
  for (const auto& [key, value] : config.mail) {
    if (!vfax::mail::assignMailSetting(mail, key, value)) assigned = false;
  }
  if (assigned && vfax::mail::validateMailSettings(mail)) {
    (void)vfax::mail::toMap(mail, false);
  }
  if (config.maxUploadBytes <= 0 || config.service.retryUnavailable <= 0 ||
      config.service.previewTtl <= 0) {
    std::abort();  // positive in the file, positive in force
  }
  return 0;
}
