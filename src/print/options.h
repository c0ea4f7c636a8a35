#pragma once
// vfax-printer's command line and the small parsers of outside input it owns (HTTP Basic
// credentials, vfaxd's answers). Kept free of PAPPL so that unit tests and fuzzers reach them.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vfax::print {

/// Everything vfaxd hands vfax-printer at start. The printer secret comes from the environment
/// (VFAX_PRINTER_SECRET), never from argv (argv is world-readable in /proc).
struct PrinterOptions {
  std::string listenAddress = "127.0.0.1";  // numeric IPv4, "[v6]", or "*" for any
  int port = 8631;
  std::string spoolDir;  // required: PAPPL's spool (SPOOL/ipp) and our job files (SPOOL/jobs)
  std::string apiUrl;    // required: http://127.0.0.1:PORT of vfaxd
  std::string tlsCert;   // PEM certificate (chain) and key; both or neither
  std::string tlsKey;
  std::string tlsDir;             // the printer's keystore (default SPOOL/../print-tls)
  std::string logLevel = "info";  // debug | info | warn | error
  std::string name = "vfax";      // DNS-SD service name and authentication realm
  bool dnssd = true;              // announce the printer when Avahi runs
  /// [print] anonymous_device is set: a job without credentials asks vfaxd (address allow-list).
  /// Off: such a job gets 401 at once, and vfaxd's login throttling never sees the anonymous
  /// first try that every client makes before it sends its credentials.
  bool anonymous = false;
  std::uint64_t maxBytes = 50ull << 20;  // one document, as received or assembled
  std::string secret;                    // X-Vfax-Printer header value
};

/// Parses argv (without the secret). Returns the options or an error sentence naming the flag.
struct ParsedArgs {
  std::optional<PrinterOptions> options;
  std::string error;
  bool help = false;
};
ParsedArgs parseArgs(const std::vector<std::string>& args);
std::string usage();

/// "ADDR:PORT" / "[v6]:PORT" / "*:PORT" into `address` (IPv6 kept in brackets, the form PAPPL
/// takes) and `port`. Empty on success, else why not.
std::string parseListen(const std::string& text, std::string& address, int& port);

/// An `Authorization` header value "Basic BASE64(user:password)". nullopt when it is not Basic,
/// not valid base64, has no ':', or an empty user name.
struct BasicCredentials {
  std::string username;
  std::string password;
};
std::optional<BasicCredentials> parseBasicAuthorization(const std::string& header);

/// Standard base64 (RFC 4648, padding optional); nullopt on any other character.
std::optional<std::string> decodeBase64(const std::string& text);

/// vfaxd's answer to POST /api/v1/print/authorize or /print/jobs, as the printer needs it.
struct VfaxdAnswer {
  long status = 0;       // HTTP status; 0: vfaxd did not answer
  std::string code;      // error.code
  std::string message;   // error.message, or a sentence about the transport failure
  std::string user;      // authorize: the user's id ("" for null)
  std::string username;  // authorize: the account's user name
  std::string device;    // authorize: the device id ("" for null)
  int faxes = 0;         // jobs: how many fax jobs were stored
  bool held = false;     // jobs: held for the user to complete
};
/// Fills `answer` from a JSON body (status already set). Tolerates any body: a non-JSON or
/// unexpected one leaves the fields empty and, for an error status, a generic message.
void parseVfaxdBody(const std::string& body, VfaxdAnswer& answer);

}  // namespace vfax::print
