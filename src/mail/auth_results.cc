#include "mail/auth_results.h"

#include <algorithm>
#include <cctype>

namespace vfax::mail {
namespace {

constexpr std::size_t kMaxValueBytes = 16 * 1024;
constexpr std::size_t kMaxResults = 64;
constexpr std::size_t kMaxProperties = 32;
constexpr int kMaxCommentDepth = 16;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool isWsp(char c) { return c == ' ' || c == '\t'; }
bool isCtl(unsigned char c) { return c < 32 || c == 127; }

// RFC 5321 Let-dig / Ldh-str, plus '_' seen in the wild in extension names ("x_foo").
bool isKeywordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

// RFC 2045 token: any US-ASCII CHAR except SPACE, CTLs and tspecials.
bool isTokenChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 128 || isCtl(u) || c == ' ') return false;
  return std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

// A property value that is neither a token nor a quoted string but an address, a domain or a
// base64 snippet (header.b=Ab/+9w==, header.i=@example.com): anything up to white space, a
// comment, a quote or the next ';'. UTF-8 is allowed (RFC 8616).
bool isPvalueChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 128) return true;
  if (isCtl(u) || c == ' ') return false;
  return c != ';' && c != '(' && c != ')' && c != '"' && c != '\\';
}

class Lexer {
 public:
  explicit Lexer(std::string text) : s_(std::move(text)) {}

  bool atEnd() const { return i_ >= s_.size(); }
  char peek() const { return atEnd() ? '\0' : s_[i_]; }
  void advance() { ++i_; }
  std::size_t pos() const { return i_; }

  core::Error error(std::string_view expected) const {
    std::string what = atEnd() ? "the end" : "character " + std::to_string(i_ + 1);
    return core::makeError("invalid_auth_results", "Authentication-Results: expected " +
                                                       std::string(expected) + " at " + what);
  }

  // [CFWS]: white space and (nested (comments)) with \-escapes.
  core::Result<void> skipCfws() {
    for (;;) {
      while (!atEnd() && isWsp(s_[i_])) ++i_;
      if (atEnd() || s_[i_] != '(') return {};
      int depth = 0;
      do {
        if (atEnd()) return error("')' to close a comment");
        const char c = s_[i_++];
        if (c == '\\') {
          if (atEnd()) return error("a character after '\\'");
          ++i_;
        } else if (c == '(') {
          if (++depth > kMaxCommentDepth) return error("fewer nested comments");
        } else if (c == ')') {
          --depth;
        } else if (isCtl(static_cast<unsigned char>(c)) && c != '\t') {
          return error("no control character in a comment");
        }
      } while (depth > 0);
    }
  }

  core::Result<std::string> keyword(std::string_view what) {
    const std::size_t start = i_;
    while (!atEnd() && isKeywordChar(s_[i_])) ++i_;
    if (i_ == start) return error(what);
    return lower(std::string_view(s_).substr(start, i_ - start));
  }

  core::Result<std::string> quotedString() {
    ++i_;  // the opening quote
    std::string out;
    for (;;) {
      if (atEnd()) return error("'\"' to close a quoted string");
      const char c = s_[i_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (atEnd()) return error("a character after '\\'");
        out += s_[i_++];
      } else if (isCtl(static_cast<unsigned char>(c)) && c != '\t') {
        return error("no control character in a quoted string");
      } else {
        out += c;
      }
    }
  }

  // value = token / quoted-string (RFC 2045).
  core::Result<std::string> value(std::string_view what) {
    if (peek() == '"') return quotedString();
    const std::size_t start = i_;
    while (!atEnd() && isTokenChar(s_[i_])) ++i_;
    if (i_ == start) return error(what);
    return s_.substr(start, i_ - start);
  }

  // pvalue = value / [[local-part] "@"] domain-name, written loosely (see isPvalueChar).
  core::Result<std::string> pvalue() {
    std::string out;
    const bool quoted = peek() == '"';
    if (quoted) {
      auto q = quotedString();
      if (!q) return q.error();
      out = std::move(*q);
      if (peek() != '@') return out;
    }
    const std::size_t start = i_;
    while (!atEnd() && isPvalueChar(s_[i_])) ++i_;
    if (!quoted && i_ == start) return error("a property value");
    out += s_.substr(start, i_ - start);
    return out;
  }

 private:
  std::string s_;
  std::size_t i_ = 0;
};

// Header folding: CRLF (or a bare LF) followed by white space is just that white space. Any
// other line break is not part of one header's value.
core::Result<std::string> unfold(std::string_view value) {
  if (value.size() > kMaxValueBytes) {
    return core::makeError("invalid_auth_results", "Authentication-Results: longer than " +
                                                       std::to_string(kMaxValueBytes) + " bytes");
  }
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\r' || c == '\n') {
      std::size_t j = i;
      if (value[j] == '\r' && j + 1 < value.size() && value[j + 1] == '\n') ++j;
      if (j + 1 < value.size() && isWsp(value[j + 1])) {
        i = j;
        continue;
      }
      if (j + 1 == value.size()) break;  // a final line end
      return core::makeError("invalid_auth_results",
                             "Authentication-Results: a line break that is not folding");
    }
    if (c == '\0') {
      return core::makeError("invalid_auth_results", "Authentication-Results: a NUL byte");
    }
    out += c;
  }
  return out;
}

std::string normalDomain(std::string_view d) {
  std::string out = lower(d);
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

bool plausibleDomain(std::string_view d) {
  if (d.empty() || d.size() > 253 || d.front() == '.' || d.front() == '-') return false;
  bool dot = false;
  for (std::size_t i = 0; i < d.size(); ++i) {
    const auto c = static_cast<unsigned char>(d[i]);
    if (c == '.') {
      if (dot) return false;  // empty label
      dot = true;
      continue;
    }
    dot = false;
    if (!(std::isalnum(c) || c == '-' || c == '_' || c >= 128)) return false;
  }
  return true;
}

int labels(std::string_view d) { return static_cast<int>(std::count(d.begin(), d.end(), '.')) + 1; }

bool isSubdomain(std::string_view sub, std::string_view parent) {
  return sub.size() > parent.size() + 1 && sub.substr(sub.size() - parent.size()) == parent &&
         sub[sub.size() - parent.size() - 1] == '.';
}

}  // namespace

std::string AuthResult::property(std::string_view ptype, std::string_view name) const {
  const std::string t = lower(ptype);
  const std::string n = lower(name);
  for (const auto& p : properties) {
    if (p.ptype == t && p.property == n) return p.value;
  }
  return {};
}

core::Result<AuthResultsHeader> parseAuthenticationResults(std::string_view raw) {
  auto text = unfold(raw);
  if (!text) return text.error();
  Lexer lx(std::move(*text));
  AuthResultsHeader out;

  if (auto r = lx.skipCfws(); !r) return r.error();
  auto id = lx.value("the authserv-id (a host name)");
  if (!id) return id.error();
  if (id->empty()) return lx.error("a non-empty authserv-id");
  out.authservId = lower(*id);
  if (auto r = lx.skipCfws(); !r) return r.error();
  if (std::isdigit(static_cast<unsigned char>(lx.peek()))) {
    std::string version;
    while (std::isdigit(static_cast<unsigned char>(lx.peek()))) {
      version += lx.peek();
      lx.advance();
    }
    if (version.size() > 3 || std::stoi(version) != 1) {
      return core::makeError(
          "invalid_auth_results",
          "Authentication-Results: version " + version.substr(0, 3) + " is not known (only 1 is)");
    }
    if (auto r = lx.skipCfws(); !r) return r.error();
  }
  if (lx.peek() != ';') return lx.error("';' after the authserv-id");

  bool first = true;
  while (lx.peek() == ';') {
    lx.advance();
    if (auto r = lx.skipCfws(); !r) return r.error();
    if (lx.atEnd()) break;  // a trailing ';' (OpenDKIM writes one)
    AuthResult res;
    auto method = lx.keyword("a method name (dkim, spf, dmarc, ...)");
    if (!method) return method.error();
    if (auto r = lx.skipCfws(); !r) return r.error();
    if (*method == "none" && first && (lx.atEnd())) return out;  // "; none": nothing was checked
    first = false;
    if (lx.peek() == '/') {  // method-version
      lx.advance();
      if (auto r = lx.skipCfws(); !r) return r.error();
      if (!std::isdigit(static_cast<unsigned char>(lx.peek())))
        return lx.error("a method version number");
      while (std::isdigit(static_cast<unsigned char>(lx.peek()))) lx.advance();
      if (auto r = lx.skipCfws(); !r) return r.error();
    }
    if (lx.peek() != '=') return lx.error("'=' after the method " + *method);
    lx.advance();
    if (auto r = lx.skipCfws(); !r) return r.error();
    auto result = lx.keyword("a result (pass, fail, none, ...)");
    if (!result) return result.error();
    res.method = std::move(*method);
    res.result = std::move(*result);
    for (;;) {
      if (auto r = lx.skipCfws(); !r) return r.error();
      if (lx.atEnd() || lx.peek() == ';') break;
      auto name = lx.keyword("'reason=' or a property (ptype.property=value)");
      if (!name) return name.error();
      if (auto r = lx.skipCfws(); !r) return r.error();
      if (lx.peek() == '=' && *name == "reason" && res.properties.empty()) {
        lx.advance();
        if (auto r = lx.skipCfws(); !r) return r.error();
        auto reason = lx.value("the reason (a token or a quoted string)");
        if (!reason) return reason.error();
        res.reason = std::move(*reason);
        continue;
      }
      if (lx.peek() != '.') return lx.error("'.' after the property type " + *name);
      lx.advance();
      if (auto r = lx.skipCfws(); !r) return r.error();
      auto property = lx.keyword("a property name");
      if (!property) return property.error();
      if (auto r = lx.skipCfws(); !r) return r.error();
      if (lx.peek() != '=') return lx.error("'=' after " + *name + "." + *property);
      lx.advance();
      if (auto r = lx.skipCfws(); !r) return r.error();
      auto value = lx.pvalue();
      if (!value) return value.error();
      if (res.properties.size() >= kMaxProperties) return lx.error("fewer properties");
      res.properties.push_back({std::move(*name), std::move(*property), std::move(*value)});
    }
    if (out.results.size() >= kMaxResults) return lx.error("fewer results");
    out.results.push_back(std::move(res));
  }
  if (!lx.atEnd()) return lx.error("';' or the end");
  if (out.results.empty()) return lx.error("a result or 'none'");
  return out;
}

std::string authservIdOf(std::string_view raw) {
  auto text = unfold(raw);
  if (!text) return {};
  Lexer lx(std::move(*text));
  if (!lx.skipCfws()) return {};
  auto id = lx.value("the authserv-id");
  if (!id) return {};
  return lower(*id);
}

std::string domainOf(std::string_view addressOrDomain) {
  const auto at = addressOrDomain.rfind('@');
  return normalDomain(at == std::string_view::npos ? addressOrDomain
                                                   : addressOrDomain.substr(at + 1));
}

bool domainsAligned(std::string_view a, std::string_view b) {
  const std::string x = normalDomain(a);
  const std::string y = normalDomain(b);
  if (!plausibleDomain(x) || !plausibleDomain(y)) return false;
  if (x == y) return true;
  if (isSubdomain(x, y)) return labels(y) >= 2;
  if (isSubdomain(y, x)) return labels(x) >= 2;
  return false;
}

SenderVerdict checkAuthenticationResults(const std::vector<std::string>& headers,
                                         std::string_view fromDomainRaw,
                                         const std::vector<std::string>& trusted) {
  const std::string fromDomain = normalDomain(fromDomainRaw);
  if (!plausibleDomain(fromDomain)) return {false, "the From address has no usable domain"};
  if (trusted.empty()) return {false, "no trusted_authserv_ids are set"};
  auto isTrusted = [&](const std::string& id) {
    return !id.empty() && std::any_of(trusted.begin(), trusted.end(), [&](const std::string& t) {
      return normalDomain(t) == normalDomain(id);
    });
  };
  for (const auto& raw : headers) {
    const std::string id = authservIdOf(raw);
    if (!isTrusted(id)) continue;
    // The topmost trusted header, and only it.
    auto h = parseAuthenticationResults(raw);
    if (!h) {
      return {false, "the Authentication-Results header of " + id + " cannot be read (" +
                         h.error().message + ")"};
    }
    std::string seen;
    for (const auto& r : h->results) {
      seen += (seen.empty() ? "" : ", ") + r.method + "=" + r.result;
      if (r.method == "dmarc" && r.result == "fail" &&
          normalDomain(r.property("header", "from")) == fromDomain) {
        return {false, id + " says dmarc=fail for " + fromDomain};
      }
    }
    // DMARC first (it is the From domain's own verdict), then DKIM, then SPF.
    for (const auto& r : h->results) {
      if (r.method != "dmarc" || r.result != "pass") continue;
      const std::string d = normalDomain(r.property("header", "from"));
      if (d == fromDomain) return {true, id + ": dmarc=pass header.from=" + d};
    }
    for (const auto& r : h->results) {
      if (r.method != "dkim" || r.result != "pass") continue;
      std::string d = normalDomain(r.property("header", "d"));
      if (d.empty()) d = domainOf(r.property("header", "i"));
      if (domainsAligned(d, fromDomain)) return {true, id + ": dkim=pass header.d=" + d};
    }
    for (const auto& r : h->results) {
      if (r.method != "spf" || r.result != "pass") continue;
      const std::string d = domainOf(r.property("smtp", "mailfrom"));
      if (domainsAligned(d, fromDomain)) return {true, id + ": spf=pass smtp.mailfrom=" + d};
    }
    return {false, id + " found no pass aligned with " + fromDomain +
                       (seen.empty() ? " (it checked nothing)" : " (" + seen + ")")};
  }
  return {false, "no Authentication-Results header from a trusted server (" +
                     std::to_string(headers.size()) + " from others)"};
}

}  // namespace vfax::mail
