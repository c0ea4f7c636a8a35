#include "core/number_plan.h"

#include <phonenumbers/asyoutypeformatter.h>
#include <phonenumbers/phonenumberutil.h>

#include <memory>
#include <vector>

namespace vfax::core {
namespace {

// How user input is read (what people type into the web page, the CLI, a mail subject):
//
// 1. Characters: digits, one '+', and the separators space, tab, - / ( ) . between them. Anything
//    else (letters, '*', '#', ...) is rejected, so a typo never dials a different number.
// 2. "+CC..." is E.164 as written. Only the outside-line prefix may come before the '+'.
// 3. Digits starting with the international prefix are international ("0049 89 123456"),
//    with the national prefix national ("089 123456" -> +49 89 123456), otherwise local
//    ("123456" -> +49 89 123456). Where the national prefix is empty (closed numbering plans such
//    as Italy's) there is no local form: the digits are the national number. In North America
//    (country code 1) a 10-digit number without the 1 is area code + number.
// 4. In the international forms a trunk prefix in parentheses after the country code is dropped:
//    "+49 (0)89 123456".
// 5. The outside-line prefix (OLP) is optional in front of all of these. It is removed only when
//    what remains still parses as a valid number:
//    a. written as a group of its own ("0 089 123456", "9 555-1234") it is taken as the OLP first;
//    b. run together with the number ("00049 89 123456", "912125551234") the literal reading wins
//       when it is itself valid, and the OLP is stripped only when the literal reading is not.
//    So with OLP 0, national 0, international 00: "0089 123456" is +89 123456 (literal,
//    international), while "0 089 123456" is +49 89 123456. Someone who wants the OLP read as such
//    writes it apart; that is the only form that cannot be misread.
// 6. Valid means: 3 or more digits typed for the number itself, at most 15 digits in E.164, the
//    country code does not start with 0, +1 numbers have exactly 10 digits after the 1, and
//    libphonenumber knows the number as valid in its country's numbering plan (so "+49 20" is
//    refused, and in rule 5b a literal reading such as "+89 ..." with no such country loses).
//
// parse() never sets `internal`: NumberPlan does not know the devices; the scheduler asks the store
// whether the number is one of our extensions.

using i18n::phonenumbers::AsYouTypeFormatter;
using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

const PhoneNumberUtil& util() { return *PhoneNumberUtil::GetInstance(); }

constexpr std::size_t kMaxE164Digits = 15;
constexpr std::size_t kMinDigits = 3;

Error invalidNumber(std::string_view input, std::string why) {
  return makeError("invalid_number",
                   "'" + std::string(input) + "' is not a valid fax number: " + std::move(why));
}

bool isSeparator(char c) {
  return c == ' ' || c == '\t' || c == '-' || c == '/' || c == '(' || c == ')' || c == '.';
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

struct Group {
  std::string digits;
  bool paren = false;  // written as "(...)"
};

struct Scanned {
  std::vector<Group> groups;
  std::size_t plusBefore = 0;  // '+' stands before groups[plusBefore]
  bool plus = false;
};

Result<Scanned> scan(std::string_view input) {
  Scanned s;
  Group cur;
  bool openParen = false;
  auto flush = [&](bool closedParen) {
    if (!cur.digits.empty()) {
      cur.paren = closedParen && openParen;
      s.groups.push_back(std::move(cur));
    }
    cur = Group{};
  };
  for (char c : input) {
    if (isDigit(c)) {
      cur.digits += c;
    } else if (c == '+') {
      if (s.plus || !cur.digits.empty()) {
        return invalidNumber(input, "a '+' may only stand at the start, before the country code");
      }
      s.plus = true;
      s.plusBefore = s.groups.size();
    } else if (isSeparator(c)) {
      flush(c == ')');
      if (c == '(') openParen = true;
      if (c == ')') openParen = false;
    } else {
      std::string shown = (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f)
                              ? "'" + std::string(1, c) + "'"
                              : "a control character";
      return invalidNumber(input, "it contains " + shown +
                                      "; use digits, a leading +, and spaces, -, /, (, ) or . "
                                      "between them");
    }
  }
  flush(false);
  return s;
}

std::string join(const std::vector<Group>& groups, std::size_t from, bool dropTrunk,
                 std::string_view trunk) {
  std::string out;
  for (std::size_t i = from; i < groups.size(); ++i) {
    if (dropTrunk && i > from && groups[i].paren && !trunk.empty() && groups[i].digits == trunk) {
      continue;
    }
    out += groups[i].digits;
  }
  return out;
}

std::string regionOf(int countryCode) {
  std::string region;
  util().GetRegionCodeForCountryCode(countryCode, &region);
  return region;
}

// "DE (+49)", or "the international service +800" for non-geographic codes.
std::string where(int countryCode) {
  const std::string region = regionOf(countryCode);
  if (region == "001") return "the international service +" + std::to_string(countryCode);
  return region + " (+" + std::to_string(countryCode) + ")";
}

// libphonenumber's verdict on an E.164 number ("+" and digits).
Result<void> checkKnown(std::string_view input, const std::string& e164) {
  PhoneNumber n;
  const auto err = util().Parse(e164, "ZZ", &n);
  if (err == PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR) {
    return invalidNumber(input, "no country uses a code at the start of " + e164 +
                                    " (did you forget the country code, or type one 0 too many?)");
  }
  if (err != PhoneNumberUtil::NO_PARSING_ERROR) {
    return invalidNumber(input, "it is not a telephone number (" + e164 + ")");
  }
  if (util().IsValidNumber(n)) return {};
  const int cc = n.country_code();
  switch (util().IsPossibleNumberWithReason(n)) {
    case PhoneNumberUtil::INVALID_COUNTRY_CODE:
      return invalidNumber(input, "no country uses a code at the start of " + e164);
    case PhoneNumberUtil::TOO_SHORT:
      return invalidNumber(input, e164 + " is too short for a number in " + where(cc));
    case PhoneNumberUtil::TOO_LONG:
      return invalidNumber(input, e164 + " is too long for a number in " + where(cc));
    default:
      return invalidNumber(input, e164 + " is not a valid number in " + where(cc) +
                                      ": no number there has this prefix and length");
  }
}

NumberType typeOf(PhoneNumberUtil::PhoneNumberType t) {
  switch (t) {
    case PhoneNumberUtil::FIXED_LINE:
      return NumberType::FixedLine;
    case PhoneNumberUtil::MOBILE:
      return NumberType::Mobile;
    case PhoneNumberUtil::FIXED_LINE_OR_MOBILE:
      return NumberType::FixedLineOrMobile;
    case PhoneNumberUtil::TOLL_FREE:
      return NumberType::TollFree;
    case PhoneNumberUtil::PREMIUM_RATE:
      return NumberType::PremiumRate;
    case PhoneNumberUtil::SHARED_COST:
      return NumberType::SharedCost;
    case PhoneNumberUtil::VOIP:
      return NumberType::Voip;
    case PhoneNumberUtil::PERSONAL_NUMBER:
      return NumberType::PersonalNumber;
    case PhoneNumberUtil::PAGER:
      return NumberType::Pager;
    case PhoneNumberUtil::UAN:
      return NumberType::Uan;
    case PhoneNumberUtil::VOICEMAIL:
      return NumberType::Voicemail;
    default:
      return NumberType::Unknown;
  }
}

// Checks the digits after '+'; returns the E.164 string.
Result<std::string> checkE164(std::string_view input, const std::string& body) {
  if (body.empty()) return invalidNumber(input, "there are no digits after the country prefix");
  if (body[0] == '0') {
    return invalidNumber(input,
                         "a country code never starts with 0 (did you type one 0 too many?)");
  }
  if (body.size() > kMaxE164Digits) {
    return invalidNumber(input,
                         "it is too long; an international number has at most 15 digits "
                         "including the country code, this one has " +
                             std::to_string(body.size()));
  }
  if (body[0] == '1' && body.size() != 11) {
    return invalidNumber(input,
                         "numbers in North America (+1) have 10 digits after the 1, this "
                         "one has " +
                             std::to_string(body.size() - 1));
  }
  std::string e164 = "+" + body;
  if (auto known = checkKnown(input, e164); !known) return known.error();
  return e164;
}

Error tooShort(std::string_view input) {
  return invalidNumber(input, "it is too short; a fax number has at least 3 digits");
}

}  // namespace

Result<ParsedNumber> NumberPlan::parse(std::string_view input) const {
  auto scanned = scan(input);
  if (!scanned) return scanned.error();
  const auto& groups = scanned->groups;
  if (groups.empty()) return invalidNumber(input, "it has no digits");

  auto finish = [&](Result<std::string> e164) -> Result<ParsedNumber> {
    if (!e164) return e164.error();
    ParsedNumber p = describe(*e164);
    p.dialString = dialString(p.e164);
    return p;
  };

  if (scanned->plus) {
    std::string before;
    for (std::size_t i = 0; i < scanned->plusBefore; ++i) before += groups[i].digits;
    if (!before.empty() && before != s_.outsideLinePrefix) {
      return invalidNumber(input, "only the outside-line prefix may stand before the '+'");
    }
    const std::string body = join(groups, scanned->plusBefore, true, s_.nationalPrefix);
    if (body.size() < kMinDigits) return tooShort(input);
    return finish(checkE164(input, body));
  }

  // Reads groups[from..] as an international, national or local number (rules 3, 4, 6).
  auto read = [&](std::size_t from, std::size_t skipDigits) -> Result<std::string> {
    std::string all = join(groups, from, false, {}).substr(skipDigits);
    if (all.size() < kMinDigits) return tooShort(input);
    const std::string& ip = s_.internationalPrefix;
    const std::string& np = s_.nationalPrefix;
    if (!ip.empty() && all.starts_with(ip)) {
      std::string noTrunk = join(groups, from, true, np).substr(skipDigits);
      if (!noTrunk.starts_with(ip)) noTrunk = all;
      return checkE164(input, noTrunk.substr(ip.size()));
    }
    if (!np.empty() && all.starts_with(np)) {
      const std::string rest = all.substr(np.size());
      if (rest.empty()) return tooShort(input);
      return checkE164(input, s_.countryCode + rest);
    }
    if (np.empty()) return checkE164(input, s_.countryCode + all);
    if (s_.countryCode == "1" && all.size() == 10) return checkE164(input, "1" + all);
    return checkE164(input, s_.countryCode + s_.areaCode + all);
  };

  const std::string& olp = s_.outsideLinePrefix;
  const std::string all = join(groups, 0, false, {});
  if (!olp.empty() && groups.size() > 1 && !groups[0].paren && groups[0].digits == olp) {
    auto stripped = read(1, 0);  // rule 5a
    if (stripped) return finish(std::move(stripped));
    auto literal = read(0, 0);
    if (literal) return finish(std::move(literal));
    return stripped.error();
  }
  auto literal = read(0, 0);  // rule 5b
  if (literal) return finish(std::move(literal));
  if (!olp.empty() && all.size() > olp.size() && all.starts_with(olp)) {
    // The OLP may span groups ("0 0049" with OLP "00" is covered by 5a only when it is one group),
    // so strip it from the joined digits.
    auto stripped = read(0, olp.size());
    if (stripped) return finish(std::move(stripped));
  }
  return literal.error();
}

ParsedNumber NumberPlan::describe(std::string_view e164) const {
  ParsedNumber p;
  p.e164 = std::string(e164);
  p.national = p.e164;
  p.international = p.e164;
  PhoneNumber n;
  if (util().Parse(p.e164, "ZZ", &n) != PhoneNumberUtil::NO_PARSING_ERROR) return p;
  p.region = regionOf(n.country_code());
  if (!util().IsValidNumber(n)) return p;
  p.type = typeOf(util().GetNumberType(n));
  util().Format(n, PhoneNumberUtil::NATIONAL, &p.national);
  util().Format(n, PhoneNumberUtil::INTERNATIONAL, &p.international);
  return p;
}

std::string NumberPlan::asYouType(std::string_view input) const {
  std::string prefix;
  std::string_view rest = input;
  // An outside-line prefix written apart ("0 089 ...") is no part of the number: keep it in front.
  const auto start = rest.find_first_not_of(" \t");
  if (start != std::string_view::npos && !s_.outsideLinePrefix.empty()) {
    const std::string_view from = rest.substr(start);
    const std::string& olp = s_.outsideLinePrefix;
    if (from.size() > olp.size() && from.starts_with(olp) && isSeparator(from[olp.size()]) &&
        from[olp.size()] != '(') {
      const auto more = from.find_first_not_of(" \t-/.", olp.size());
      if (more != std::string_view::npos) {
        prefix = olp + " ";
        rest = from.substr(more);
      }
    }
  }
  int cc = 0;
  for (char c : s_.countryCode) cc = cc * 10 + (c - '0');
  std::unique_ptr<AsYouTypeFormatter> formatter(util().GetAsYouTypeFormatter(regionOf(cc)));
  std::string out;
  for (char c : rest) {
    if (isDigit(c) || c == '+') formatter->InputDigit(static_cast<int>(c), &out);
  }
  return out.empty() ? std::string() : prefix + out;
}

std::string NumberPlan::dialString(std::string_view e164) const {
  std::string body;
  for (char c : e164) {
    if (isDigit(c)) body += c;
  }
  if (e164.empty() || e164[0] != '+') return s_.outsideLinePrefix + body;  // not E.164: as given
  const std::string& cc = s_.countryCode;
  if (!cc.empty() && body.starts_with(cc)) {
    const std::string national = body.substr(cc.size());
    if (s_.nationalPrefix.empty()) return s_.outsideLinePrefix + national;  // closed plan
    if (s_.areaCode.empty()) return s_.outsideLinePrefix + national;
    if (national.starts_with(s_.areaCode) && national.size() > s_.areaCode.size()) {
      return s_.outsideLinePrefix + national.substr(s_.areaCode.size());
    }
    return s_.outsideLinePrefix + s_.nationalPrefix + national;
  }
  return s_.outsideLinePrefix + s_.internationalPrefix + body;
}

std::string NumberPlan::defaultTsi(std::string_view extension) const {
  // T.30 allows only digits, '+' and space, so the '-' of "<base>-<extension>" becomes a space.
  std::vector<std::string> parts{"+" + s_.countryCode, s_.areaCode, s_.baseNumber};
  std::string ext;
  for (char c : extension) {
    if (isDigit(c)) ext += c;
  }
  parts.push_back(ext);
  std::vector<std::string> nonEmpty;
  for (auto& p : parts) {
    if (!p.empty() && p != "+") nonEmpty.push_back(p);
  }
  // Too long: join groups from the left, keeping the space before the extension longest since it
  // tells readers where the company number ends; cut only when even that is not enough.
  for (std::size_t merged = 0; merged < nonEmpty.size(); ++merged) {
    std::string tsi;
    for (std::size_t i = 0; i < nonEmpty.size(); ++i) {
      if (i > 0 && i > merged) tsi += ' ';
      tsi += nonEmpty[i];
    }
    if (tsi.size() <= 20) return tsi;
  }
  std::string tsi;
  for (const auto& p : nonEmpty) tsi += p;
  return tsi.substr(0, 20);
}

Result<void> validateTsi(std::string_view tsi) {
  if (tsi.size() > 20) {
    return makeError("invalid_tsi", "the fax identifier (TSI) '" + std::string(tsi) +
                                        "' is too long; T.30 allows at most 20 characters");
  }
  for (char c : tsi) {
    if (!isDigit(c) && c != '+' && c != ' ') {
      return makeError("invalid_tsi", "the fax identifier (TSI) '" + std::string(tsi) +
                                          "' may contain only digits, '+' and spaces");
    }
  }
  return {};
}

bool isValidExtension(std::string_view ext) {
  if (ext.empty() || ext.size() > 15) return false;
  for (char c : ext) {
    if (!isDigit(c)) return false;
  }
  return true;
}

}  // namespace vfax::core
