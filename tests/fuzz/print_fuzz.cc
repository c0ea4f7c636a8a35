// vfax-printer's parsers of outside input: the Authorization header of any IPP client, vfaxd's
// answers, and the listen address.
#include <cstddef>
#include <cstdint>
#include <string>

#include "print/options.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)vfax::print::parseBasicAuthorization(text);
  (void)vfax::print::decodeBase64(text);
  vfax::print::VfaxdAnswer a;
  a.status = size % 2 ? 201 : 422;
  vfax::print::parseVfaxdBody(text, a);
  std::string address;
  int port = 0;
  (void)vfax::print::parseListen(text, address, port);
  return 0;
}
