#pragma once
// Text that came from outside (IAX2 user names, caller ids, SIP display names, mail subjects and
// senders, file names, print job names, HTTP paths...) on its way into a log line. Raw, such a
// string could end the line and forge the next one ("\r\n<date> [info] ..."), drive the
// terminal that shows the log (ANSI escapes), or fill the disk. Every such value goes through
// logSafe() before spdlog.
#include <cstddef>
#include <string>
#include <string_view>

namespace vfax::core {

/// Longest input logSafe() keeps by default, in bytes.
inline constexpr std::size_t kLogSafeMaxBytes = 200;

/// `text` as one printable line: control characters (C0, DEL, C1), the backslash, the Unicode
/// line/paragraph separators and bidirectional overrides, and every byte that is not part of
/// valid UTF-8 become \xNN (one per byte); other UTF-8 stays as it is. Input beyond `maxBytes`
/// is cut at a character boundary and replaced by "...(+N bytes)".
std::string logSafe(std::string_view text, std::size_t maxBytes = kLogSafeMaxBytes);

}  // namespace vfax::core
