#include "mail/address.h"

#include <gmime/gmime.h>

#include <string>

#include "core/log_safe.h"
#include "core/mail_address.h"
#include "mail/mime_build.h"

namespace vfax::mail {

namespace {

// GMime's reading of `address` is exactly one mailbox with no name whose address is `address`.
bool gmimeSeesOneMailbox(const std::string& address) {
  initGMime();
  InternetAddressList* list = internet_address_list_parse(nullptr, address.c_str());
  if (list == nullptr) return false;
  bool ok = false;
  if (internet_address_list_length(list) == 1) {
    InternetAddress* ia = internet_address_list_get_address(list, 0);
    const char* name = internet_address_get_name(ia);
    if (INTERNET_ADDRESS_IS_MAILBOX(ia) && (name == nullptr || *name == '\0')) {
      // The ASCII form: get_addr() would show an xn-- domain decoded.
      const char* addr = internet_address_mailbox_get_idn_addr(INTERNET_ADDRESS_MAILBOX(ia));
      ok = addr != nullptr && address == addr;
    }
  }
  g_object_unref(list);
  return ok;
}

}  // namespace

core::Result<void> checkAddress(std::string_view address, std::string_view field) {
  if (auto r = core::validateMailAddress(address, field); !r) return r;
  if (!gmimeSeesOneMailbox(std::string(address))) {
    return core::makeError("invalid_request", std::string(field) + ": '" +
                                                  core::logSafe(address, 80) +
                                                  "' is not a single e-mail address");
  }
  return {};
}

}  // namespace vfax::mail
