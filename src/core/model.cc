#include "core/model.h"

#include <array>
#include <utility>

namespace vfax::core {
namespace {

// One table per enum keeps toString and fromString from drifting apart.
template <typename E, std::size_t N>
using Names = std::array<std::pair<E, std::string_view>, N>;

constexpr Names<Direction, 2> kDirections{{{Direction::In, "in"}, {Direction::Out, "out"}}};

constexpr Names<FaxState, 11> kStates{{
    {FaxState::Queued, "queued"},
    {FaxState::Converting, "converting"},
    {FaxState::Waiting, "waiting"},
    {FaxState::Dialing, "dialing"},
    {FaxState::Sending, "sending"},
    {FaxState::Done, "done"},
    {FaxState::Failed, "failed"},
    {FaxState::Canceled, "canceled"},
    {FaxState::Receiving, "receiving"},
    {FaxState::Received, "received"},
    {FaxState::Held, "held"},
}};

constexpr Names<OutcomeClass, 9> kOutcomes{{
    {OutcomeClass::Ok, "ok"},
    {OutcomeClass::Busy, "busy"},
    {OutcomeClass::NoAnswer, "no_answer"},
    {OutcomeClass::Dropped, "dropped"},
    {OutcomeClass::Refused, "refused"},
    {OutcomeClass::Incompatible, "incompatible"},
    {OutcomeClass::LocalError, "local_error"},
    {OutcomeClass::Unavailable, "unavailable"},
    {OutcomeClass::Canceled, "canceled"},
}};

constexpr Names<FaxMedia, 2> kMedia{{{FaxMedia::Audio, "audio"}, {FaxMedia::T38, "t38"}}};
constexpr Names<Role, 2> kRoles{{{Role::Admin, "admin"}, {Role::User, "user"}}};
constexpr Names<DeviceKind, 2> kKinds{{{DeviceKind::User, "user"}, {DeviceKind::Team, "team"}}};

constexpr Names<InboundFormat, 3> kFormats{{
    {InboundFormat::Pdf, "pdf"},
    {InboundFormat::Tiff, "tiff"},
    {InboundFormat::Inline, "inline"},
}};

template <typename E, std::size_t N>
std::string_view nameOf(const Names<E, N>& names, E value) {
  for (const auto& [e, name] : names) {
    if (e == value) return name;
  }
  return "unknown";  // only reachable with a value cast from an out-of-range integer
}

template <typename E, std::size_t N>
std::optional<E> valueOf(const Names<E, N>& names, std::string_view s) {
  for (const auto& [e, name] : names) {
    if (name == s) return e;
  }
  return std::nullopt;
}

}  // namespace

std::string_view toString(Direction d) { return nameOf(kDirections, d); }
std::string_view toString(FaxState s) { return nameOf(kStates, s); }
std::string_view toString(OutcomeClass c) { return nameOf(kOutcomes, c); }
std::string_view toString(DeviceKind k) { return nameOf(kKinds, k); }
std::string_view toString(Role r) { return nameOf(kRoles, r); }
std::optional<Role> roleFromString(std::string_view s) { return valueOf(kRoles, s); }
std::string_view toString(InboundFormat f) { return nameOf(kFormats, f); }
std::string_view toString(FaxMedia m) { return nameOf(kMedia, m); }
std::optional<FaxMedia> faxMediaFromString(std::string_view s) { return valueOf(kMedia, s); }

std::optional<Direction> directionFromString(std::string_view s) { return valueOf(kDirections, s); }
std::optional<FaxState> faxStateFromString(std::string_view s) { return valueOf(kStates, s); }
std::optional<OutcomeClass> outcomeClassFromString(std::string_view s) {
  return valueOf(kOutcomes, s);
}
std::optional<DeviceKind> deviceKindFromString(std::string_view s) { return valueOf(kKinds, s); }
std::optional<InboundFormat> inboundFormatFromString(std::string_view s) {
  return valueOf(kFormats, s);
}

bool isFinal(FaxState s) {
  switch (s) {
    case FaxState::Done:
    case FaxState::Failed:
    case FaxState::Canceled:
    case FaxState::Received:
      return true;
    default:
      return false;
  }
}

}  // namespace vfax::core
