#include "print/options.h"

#include <nlohmann/json.hpp>

#include <charconv>

namespace vfax::print {

namespace {

bool parseNumber(const std::string& text, long long& out) {
  if (text.empty()) return false;
  const auto* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && p == end;
}

}  // namespace

std::string usage() {
  return "usage: vfax-printer --spool DIR --api URL [--listen ADDR:PORT] [--tls-cert FILE "
         "--tls-key FILE] [--tls-dir DIR] [--log-level debug|info|warn|error] [--name NAME] "
         "[--no-dnssd] [--anonymous] [--max-bytes N]\n"
         "  The printer secret is read from the environment variable VFAX_PRINTER_SECRET.\n"
         "  vfaxd starts this program itself when [print] enabled = true.\n";
}

std::string parseListen(const std::string& text, std::string& address, int& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    return "must be ADDRESS:PORT (e.g. 127.0.0.1:8631, [::1]:8631, 0.0.0.0:8631)";
  }
  std::string host = text.substr(0, colon);
  long long p = 0;
  if (!parseNumber(text.substr(colon + 1), p) || p < 1 || p > 65535) {
    return "has a port that is not a number from 1 to 65535: '" + text + "'";
  }
  if (host.empty() || host == "*" || host == "0.0.0.0") {
    host = "*";
  } else if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3)
      return "has an unclosed IPv6 bracket: '" + text + "'";
    if (host == "[::]") host = "*";
  } else if (host.find(':') != std::string::npos) {
    return "must write an IPv6 address in brackets ([::1]:8631): '" + text + "'";
  } else {
    for (char c : host) {
      if (!(c == '.' || (c >= '0' && c <= '9'))) {
        // PAPPL binds the first address a name resolves to; a number says which one.
        return "must name a numeric address, not a host name: '" + text + "'";
      }
    }
  }
  address = host;
  port = static_cast<int>(p);
  return {};
}

ParsedArgs parseArgs(const std::vector<std::string>& args) {
  ParsedArgs out;
  PrinterOptions o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& dst) -> bool {
      if (i + 1 >= args.size()) {
        out.error = a + " needs a value";
        return false;
      }
      dst = args[++i];
      return true;
    };
    if (a == "-h" || a == "--help") {
      out.help = true;
      return out;
    } else if (a == "--listen") {
      std::string v;
      if (!value(v)) return out;
      if (auto err = parseListen(v, o.listenAddress, o.port); !err.empty()) {
        out.error = "--listen " + err;
        return out;
      }
    } else if (a == "--spool") {
      if (!value(o.spoolDir)) return out;
    } else if (a == "--api") {
      if (!value(o.apiUrl)) return out;
    } else if (a == "--tls-cert") {
      if (!value(o.tlsCert)) return out;
    } else if (a == "--tls-key") {
      if (!value(o.tlsKey)) return out;
    } else if (a == "--tls-dir") {
      if (!value(o.tlsDir)) return out;
    } else if (a == "--log-level") {
      if (!value(o.logLevel)) return out;
      if (o.logLevel != "debug" && o.logLevel != "info" && o.logLevel != "warn" &&
          o.logLevel != "error") {
        out.error = "--log-level must be debug, info, warn or error";
        return out;
      }
    } else if (a == "--name") {
      if (!value(o.name)) return out;
      if (o.name.empty() || o.name.size() > 63) {
        out.error = "--name must have 1 to 63 characters";
        return out;
      }
    } else if (a == "--no-dnssd") {
      o.dnssd = false;
    } else if (a == "--anonymous") {
      o.anonymous = true;
    } else if (a == "--max-bytes") {
      std::string v;
      if (!value(v)) return out;
      long long n = 0;
      if (!parseNumber(v, n) || n <= 0) {
        out.error = "--max-bytes must be a positive number";
        return out;
      }
      o.maxBytes = static_cast<std::uint64_t>(n);
    } else {
      out.error = "unknown argument '" + a + "'";
      return out;
    }
  }
  if (o.spoolDir.empty()) {
    out.error = "--spool is required";
  } else if (o.apiUrl.rfind("http://", 0) != 0 && o.apiUrl.rfind("https://", 0) != 0) {
    out.error = "--api must be vfaxd's http:// URL";
  } else if (o.tlsCert.empty() != o.tlsKey.empty()) {
    out.error = "--tls-cert and --tls-key go together";
  } else {
    out.options = std::move(o);
  }
  return out;
}

std::optional<std::string> decodeBase64(const std::string& text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  unsigned bits = 0;
  int nbits = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] != '='; ++i) {
    const int v = value(text[i]);
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<unsigned>(v);
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      out.push_back(static_cast<char>((bits >> nbits) & 0xff));
    }
  }
  // Only '=' may follow, at most two, and only where padding belongs.
  std::size_t pad = 0;
  for (; i < text.size(); ++i, ++pad) {
    if (text[i] != '=') return std::nullopt;
  }
  if (pad > 2 || nbits >= 6) return std::nullopt;
  return out;
}

std::optional<BasicCredentials> parseBasicAuthorization(const std::string& header) {
  std::size_t i = 0;
  while (i < header.size() && header[i] == ' ') ++i;
  static constexpr char kScheme[] = "basic";
  for (std::size_t k = 0; k < sizeof(kScheme) - 1; ++k, ++i) {
    if (i >= header.size() || (header[i] | 0x20) != kScheme[k]) return std::nullopt;
  }
  if (i >= header.size() || header[i] != ' ') return std::nullopt;
  while (i < header.size() && header[i] == ' ') ++i;
  std::size_t end = header.size();
  while (end > i && header[end - 1] == ' ') --end;
  auto decoded = decodeBase64(header.substr(i, end - i));
  if (!decoded) return std::nullopt;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  BasicCredentials c{decoded->substr(0, colon), decoded->substr(colon + 1)};
  for (char ch : c.username) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return std::nullopt;
  }
  return c;
}

void parseVfaxdBody(const std::string& body, VfaxdAnswer& a) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  auto idText = [](const nlohmann::json& v) -> std::string {
    if (v.is_number_integer()) return std::to_string(v.get<long long>());
    if (v.is_string()) return v.get<std::string>();
    return {};
  };
  if (j.is_object()) {
    if (auto e = j.find("error"); e != j.end() && e->is_object()) {
      if (auto c = e->find("code"); c != e->end() && c->is_string()) a.code = *c;
      if (auto m = e->find("message"); m != e->end() && m->is_string()) a.message = *m;
    }
    if (auto u = j.find("user"); u != j.end()) a.user = idText(*u);
    if (auto u = j.find("username"); u != j.end() && u->is_string()) a.username = *u;
    if (auto d = j.find("device"); d != j.end()) a.device = idText(*d);
    if (auto f = j.find("faxes"); f != j.end() && f->is_array()) {
      a.faxes = static_cast<int>(f->size());
    }
    if (auto h = j.find("held"); h != j.end() && h->is_boolean()) a.held = *h;
  }
  if (a.status >= 400 && a.message.empty()) {
    a.message = "vfaxd refused the job (HTTP " + std::to_string(a.status) + ")";
  }
  // The message reaches a print dialog: one line, bounded.
  for (char& c : a.message) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (a.message.size() > 900) a.message.resize(900);
}

}  // namespace vfax::print
