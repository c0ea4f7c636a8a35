#pragma once
// Server settings: one set per installation. Keys are fixed by ARCHITECTURE.md.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/number_type.h"
#include "core/result.h"

namespace vfax::core {

enum class MailToFaxMode { Attachments, BodyAndAttachments };

/// print_to_fax_mode: what a print job without (or with) control fields becomes.
enum class PrintToFaxMode {
  Client,            // every job is held for its user to complete
  Fields,            // a job without a number is refused (its user told by mail)
  FieldsThenClient,  // the fields' numbers, else held
};

/// Limits of print_field_patterns (the pattern compiler of documents/ checks the syntax).
inline constexpr std::size_t kMaxFieldPatterns = 20;
inline constexpr std::size_t kMaxFieldPatternLength = 2000;

struct Settings {
  int totalLines = 4;
  int reservedInboundLines = 1;
  std::string countryCode = "49";
  std::string areaCode = "89";
  std::string baseNumber = "123456";
  std::string outsideLinePrefix = "0";
  std::string internationalPrefix = "00";
  std::string nationalPrefix = "0";
  MailToFaxMode mailToFaxMode = MailToFaxMode::Attachments;
  int retentionDays = 30;
  int sendAttempts = 3;
  std::string cleanupSchedule;    // cron expression; empty: no automatic cleanup
  bool coverPageDefault = false;  // cover_page_default: a job that does not say gets a cover page
  bool ocrReceived = false;       // ocr_received: received PDFs get a searchable text layer
  std::string coverLanguage = "de+en";  // cover_language: de+en | de | en (the cover's labels)
  // The destination policy (who may make vfax dial). allowed_destinations: E.164 prefixes a number
  // must start with ("+" alone: any); unset, the own country ("+" + countryCode), following it.
  std::optional<std::vector<std::string>> allowedDestinations;
  std::vector<NumberType> blockedNumberTypes = {NumberType::PremiumRate, NumberType::SharedCost,
                                                NumberType::PersonalNumber, NumberType::Uan,
                                                NumberType::Voip};
  std::vector<std::string> blockedPrefixes;  // E.164 prefixes never dialled
  int dailyPageLimit = 0;                    // pages a user may send a day; 0: no limit
  // Print-to-Fax.
  PrintToFaxMode printToFaxMode = PrintToFaxMode::FieldsThenClient;
  int printHoldHours = 24;  // a held print job fails after this long
  /// print_field_patterns: the admin's extra control-field patterns (PCRE2 with named groups
  /// number, tag, notify, prio). Its string form (store, CLI) is a JSON array of strings.
  std::vector<std::string> printFieldPatterns;
};

/// The keys in their documented order.
const std::vector<std::string>& settingKeys();

/// The value of `key` as a string (numbers in decimal); empty optional-like error for unknown keys.
Result<std::string> getSetting(const Settings& s, std::string_view key);

/// Sets one key from its string form (the CLI's KEY=VALUE and the API's JSON values both arrive
/// here). Checks the value alone; call validate() for rules across keys.
Result<void> assignSetting(Settings& s, std::string_view key, std::string_view value);

/// Every rule, across keys (e.g. reserved < total, cron parses). The error names the key.
Result<void> validate(const Settings& s);

/// Applies KEY=VALUE changes (API, CLI) all or nothing, then validate(). Sending back the value
/// shown for an unset allowed_destinations (its default) leaves it unset, so a form that submits
/// every field does not pin the own country.
Result<void> applyChanges(Settings& s, const std::map<std::string, std::string>& changes);

/// All keys as strings, for the store (lists comma-separated, an unset list empty).
std::map<std::string, std::string> toMap(const Settings& s);

/// Keys whose value is a list (JSON arrays; comma-separated in the CLI and the store).
bool isListSetting(std::string_view key);

/// The effective items of a list key (allowed_destinations unset: the own country).
std::vector<std::string> settingList(const Settings& s, std::string_view key);

/// allowed_destinations as in force: the set prefixes, or "+" + country_code while unset.
std::vector<std::string> effectiveAllowedDestinations(const Settings& s);

std::string_view toString(MailToFaxMode m);
std::string_view toString(PrintToFaxMode m);

}  // namespace vfax::core
