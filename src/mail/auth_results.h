#pragma once
// Authentication-Results (RFC 8601): what the receiving mail server found out about a mail's
// sender (DMARC, DKIM, SPF, ...). A small strict parser of one header field's value, and the rule
// by which Mail-to-Fax trusts a From: address because of it.
//
// Which header counts: the receiving server adds its header on top of the mail; anything below it
// came with the mail and may be forged (anyone can write "Authentication-Results: mx.example.com;
// dmarc=pass" into a mail). So only the topmost header whose authserv-id is trusted is read, and
// read alone: if it says fail, or cannot be parsed, a lower one with the same id never stands in
// for it. This needs every mail that reaches the Mail-to-Fax mailbox to pass a trusted server that
// stamps it (rspamd, OpenDMARC, OpenDKIM, Exim, Gmail, ... all do for every mail they accept).
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace vfax::mail {

struct AuthProperty {
  std::string ptype;     // lower case: smtp, header, body, policy, ...
  std::string property;  // lower case: mailfrom, d, i, from, ...
  std::string value;     // as written (quotes removed)
};

struct AuthResult {
  std::string method;  // lower case: dmarc, dkim, spf, iprev, ...
  std::string result;  // lower case: pass, fail, none, neutral, softfail, temperror, ...
  std::string reason;
  std::vector<AuthProperty> properties;

  /// The first value of ptype.property, or "" (names compare without case).
  std::string property(std::string_view ptype, std::string_view name) const;
};

struct AuthResultsHeader {
  std::string authservId;           // lower case
  std::vector<AuthResult> results;  // empty for "; none"
};

/// One header field's value (everything after "Authentication-Results:"), folded or not.
/// Error code `invalid_auth_results` with the place and what was expected.
core::Result<AuthResultsHeader> parseAuthenticationResults(std::string_view value);

/// Only the authserv-id at the start (lower case), for a header that does not parse as a whole;
/// "" when even that cannot be read.
std::string authservIdOf(std::string_view value);

/// Relaxed alignment, kept simple (no public-suffix list): two domains are aligned when they are
/// equal or one is a subdomain of the other, and the shorter one has at least two labels (so
/// "com" aligns with nothing). Case and a trailing dot do not matter. DMARC's relaxed mode asks
/// for the same organisational domain; this differs only for domains under a public suffix that
/// hands subdomains to strangers (blogspot.com), which no company fax address lives under.
bool domainsAligned(std::string_view a, std::string_view b);

/// The domain of an address or domain as written in smtp.mailfrom / header.i ("a@b.test",
/// "@b.test", "b.test"), lower case.
std::string domainOf(std::string_view addressOrDomain);

struct SenderVerdict {
  bool authenticated = false;
  /// What it rests on ("dmarc=pass header.from=example.com") or why not, for the log. Only
  /// method/result keywords and domains that passed the parser's character rules go in here.
  std::string detail;
};

/// Whether the trusted receiving server vouches for `fromDomain`. `headers` are the values of
/// every Authentication-Results field of the mail, topmost first. Pass: dmarc=pass with
/// header.from equal to fromDomain, or dkim=pass with header.d (else header.i's domain) aligned
/// with it, or spf=pass with smtp.mailfrom's domain aligned with it; a dmarc=fail for the From
/// domain wins over any pass.
SenderVerdict checkAuthenticationResults(const std::vector<std::string>& headers,
                                         std::string_view fromDomain,
                                         const std::vector<std::string>& trustedAuthservIds);

}  // namespace vfax::mail
