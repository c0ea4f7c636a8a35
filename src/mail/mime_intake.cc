#include "mail/mime_intake.h"

#include <gmime/gmime.h>

#include <algorithm>
#include <cctype>

#include "mail/mime_build.h"

namespace vfax::mail {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string decodedContent(GMimePart* part) {
  GMimeDataWrapper* w = g_mime_part_get_content(part);
  if (!w) return {};
  GMimeStream* out = g_mime_stream_mem_new();
  g_mime_data_wrapper_write_to_stream(w, out);
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
  std::string data(reinterpret_cast<const char*>(bytes->data), bytes->len);
  g_object_unref(out);
  return data;
}

int countAddresses(InternetAddressList* list) {
  if (!list) return 0;
  int count = 0;
  const int n = internet_address_list_length(list);
  for (int i = 0; i < n; ++i) {
    InternetAddress* a = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
      ++count;
    } else if (INTERNET_ADDRESS_IS_GROUP(a)) {
      count += countAddresses(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)));
    }
  }
  return count;
}

std::string trimmed(const char* v) {
  std::string s = v ? v : "";
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// The header fields that decide whether the mail may be answered and who vouches for its sender.
void readTopHeaders(GMimeMessage* msg, IncomingMail& out) {
  GMimeHeaderList* headers = g_mime_object_get_header_list(GMIME_OBJECT(msg));
  const int n = headers ? g_mime_header_list_get_count(headers) : 0;
  int fromFields = 0;
  for (int i = 0; i < n; ++i) {
    GMimeHeader* h = g_mime_header_list_get_header_at(headers, i);
    const std::string name = lower(g_mime_header_get_name(h) ? g_mime_header_get_name(h) : "");
    const char* raw = g_mime_header_get_raw_value(h);
    const std::string value = lower(trimmed(raw));
    if (name == "from") {
      ++fromFields;
    } else if (name == "authentication-results") {
      out.authenticationResults.push_back(raw ? raw : "");
    } else if (name == "auto-submitted") {
      // "no", optionally with parameters ("no; x=y"), is the only value a person's mail has.
      out.autoSubmitted |= !(value == "no" || value.rfind("no;", 0) == 0 ||
                             value.rfind("no ", 0) == 0 || value.rfind("no(", 0) == 0);
    } else if (name == "precedence") {
      out.bulk |= value == "bulk" || value == "list" || value == "junk";
    } else if (name == "list-id" || name == "list-unsubscribe") {
      out.bulk = true;
    } else if (name == "return-path") {
      std::string v;
      for (char c : value) {
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') v += c;
      }
      out.nullReturnPath |= v == "<>" || v.empty();
    }
  }
  out.fromCount = countAddresses(g_mime_message_get_from(msg));
  if (fromFields > 1) out.fromCount = std::max(out.fromCount, 2);
}

std::string firstAddress(InternetAddressList* list) {
  if (!list) return {};
  const int n = internet_address_list_length(list);
  for (int i = 0; i < n; ++i) {
    InternetAddress* a = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
      const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
      if (addr && *addr) return lower(addr);
    } else if (INTERNET_ADDRESS_IS_GROUP(a)) {
      auto s = firstAddress(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)));
      if (!s.empty()) return s;
    }
  }
  return {};
}

bool isSignature(const std::string& type) {
  return type == "application/pkcs7-signature" || type == "application/x-pkcs7-signature" ||
         type == "application/pgp-signature" || type == "application/pgp-keys";
}

class Walker {
 public:
  Walker(IncomingMail& out, const IntakeLimits& limits) : out_(out), limits_(limits) {}

  void walk(GMimeObject* obj, int depth, bool inRelated, bool isRoot) {
    if (!obj || depth > limits_.maxDepth || ++parts_ > limits_.maxParts) {
      if (obj) out_.skipped.push_back("(structure too deep or too many parts)");
      return;
    }
    if (GMIME_IS_MULTIPART(obj)) {
      GMimeMultipart* mp = GMIME_MULTIPART(obj);
      GMimeContentType* ct = g_mime_object_get_content_type(obj);
      const bool related = ct && g_mime_content_type_is_type(ct, "multipart", "related");
      const int n = g_mime_multipart_get_count(mp);
      for (int i = 0; i < n; ++i) {
        GMimeObject* child = g_mime_multipart_get_part(mp, i);
        // The first part of multipart/related is its root (the HTML), the rest its resources.
        walk(child, depth + 1, related, related && i == 0);
      }
      return;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {
      // A forwarded mail: its body is not ours to fax, but its attachments are.
      GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
      if (inner) {
        forwarded_++;
        walk(g_mime_message_get_mime_part(inner), depth + 1, false, false);
        forwarded_--;
      }
      return;
    }
    if (!GMIME_IS_PART(obj)) return;
    GMimePart* part = GMIME_PART(obj);
    GMimeContentType* ct = g_mime_object_get_content_type(obj);
    std::string type = "application/octet-stream";
    if (ct) {
      char* t = g_mime_content_type_get_mime_type(ct);
      if (t) {
        type = lower(t);
        g_free(t);
      }
    }
    const char* disp = g_mime_object_get_disposition(obj);
    const bool attachmentDisp = disp && lower(disp) == "attachment";
    const char* fn = g_mime_part_get_filename(part);
    const std::string filename = fn ? fn : "";
    const bool text = type == "text/plain" || type == "text/html";

    if (text && !attachmentDisp && filename.empty()) {
      if (forwarded_ > 0) return;  // the forwarded mail's own text is not a document
      if (GMIME_IS_TEXT_PART(obj)) {
        char* body = g_mime_text_part_get_text(GMIME_TEXT_PART(obj));
        std::string s = body ? body : "";
        g_free(body);
        std::string& target = type == "text/plain" ? out_.textBody : out_.htmlBody;
        if (target.empty()) target = s;
      }
      return;
    }
    if (isSignature(type)) {
      out_.skipped.push_back(filename.empty() ? type : filename);
      return;
    }
    if (type == "application/ms-tnef" || type == "application/vnd.ms-tnef" ||
        lower(filename) == "winmail.dat") {
      out_.tnef = true;
      out_.skipped.push_back(filename.empty() ? "winmail.dat" : filename);
      return;
    }
    // Pictures of an HTML body (logos in signatures) are not documents.
    if (inRelated && !isRoot && !attachmentDisp && g_mime_object_get_content_id(obj)) {
      out_.skipped.push_back(filename.empty() ? type : filename);
      return;
    }
    if (!attachmentDisp && filename.empty() &&
        (type.rfind("text/", 0) == 0 || type.rfind("multipart/", 0) == 0)) {
      return;  // calendar bits, headers-as-text and the like
    }
    IncomingAttachment a;
    a.filename = filename;
    a.contentType = type;
    a.data = decodedContent(part);
    if (a.data.empty()) {
      out_.skipped.push_back(filename.empty() ? type : filename);
      return;
    }
    out_.attachments.push_back(std::move(a));
  }

 private:
  IncomingMail& out_;
  const IntakeLimits& limits_;
  int parts_ = 0;
  int forwarded_ = 0;
};

}  // namespace

core::Result<IncomingMail> parseMail(const std::string& raw, const IntakeLimits& limits) {
  if (raw.size() > limits.maxBytes) {
    return core::makeError(
        "mail_too_large",
        "the mail is larger than " + std::to_string(limits.maxBytes / (1024 * 1024)) + " MB");
  }
  initGMime();
  GMimeStream* stream = g_mime_stream_mem_new_with_buffer(raw.data(), raw.size());
  GMimeParser* parser = g_mime_parser_new_with_stream(stream);
  g_object_unref(stream);
  GMimeParserOptions* opts = g_mime_parser_options_new();
  g_mime_parser_options_set_rfc2047_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_parameter_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_address_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
  const char* charsets[] = {"UTF-8", "windows-1252", nullptr};
  g_mime_parser_options_set_fallback_charsets(opts, charsets);
  GMimeMessage* msg = g_mime_parser_construct_message(parser, opts);
  g_mime_parser_options_free(opts);
  g_object_unref(parser);
  if (!msg)
    return core::makeError("mail_malformed", "the mail could not be read as a MIME message");

  IncomingMail out;
  out.from = firstAddress(g_mime_message_get_from(msg));
  readTopHeaders(msg, out);
  if (const char* s = g_mime_message_get_subject(msg)) out.subject = s;
  if (const char* id = g_mime_message_get_message_id(msg)) out.messageId = id;
  Walker walker(out, limits);
  walker.walk(g_mime_message_get_mime_part(msg), 0, false, true);
  g_object_unref(msg);
  return out;
}

}  // namespace vfax::mail
