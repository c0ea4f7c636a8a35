#pragma once
// Checks and text forms every trunk kind's settings share (iax2/settings.h, sip/sip_settings.h).
#include <string>

namespace vfax::trunks {

/// A name of a peer or registration: 1-64 letters, digits, '-', '_' or '.'.
bool validName(const std::string& name);

/// A secret for display: its first character, then stars ("p*******", the length hidden);
/// "" stays "".
std::string maskSecret(const std::string& secret);

}  // namespace vfax::trunks
