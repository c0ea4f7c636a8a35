#include "mail/mime_build.h"

#include <gmime/gmime.h>

#include <mutex>

#include "mail/address.h"

namespace vfax::mail {
namespace {

// GObject references released on scope exit.
template <typename T>
struct Ref {
  T* p;
  explicit Ref(T* ptr) : p(ptr) {}
  ~Ref() {
    if (p) g_object_unref(p);
  }
  Ref(const Ref&) = delete;
  Ref& operator=(const Ref&) = delete;
  T* get() const { return p; }
};

GMimeObject* textPart(const char* subtype, const std::string& text) {
  GMimeTextPart* t = g_mime_text_part_new_with_subtype(subtype);
  g_mime_text_part_set_text(t, text.c_str());
  g_mime_part_set_content_encoding(GMIME_PART(t), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
  return GMIME_OBJECT(t);
}

GMimeObject* binaryPart(const OutgoingPart& p) {
  const auto slash = p.contentType.find('/');
  const std::string type =
      slash == std::string::npos ? "application" : p.contentType.substr(0, slash);
  const std::string sub =
      slash == std::string::npos ? "octet-stream" : p.contentType.substr(slash + 1);
  GMimePart* part = g_mime_part_new_with_type(type.c_str(), sub.c_str());
  Ref<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(p.data.data(), p.data.size()));
  Ref<GMimeDataWrapper> wrapper(
      g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  g_mime_part_set_content(part, wrapper.get());
  g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
  g_mime_object_set_disposition(GMIME_OBJECT(part), p.contentId.empty() ? "attachment" : "inline");
  if (!p.filename.empty()) g_mime_part_set_filename(part, p.filename.c_str());
  if (!p.contentId.empty()) g_mime_part_set_content_id(part, p.contentId.c_str());
  return GMIME_OBJECT(part);
}

}  // namespace

void initGMime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

std::string textToHtml(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return "<pre style=\"font-family: sans-serif\">" + out + "</pre>";
}

core::Result<std::string> buildMessage(const OutgoingMail& mail) {
  if (auto r = checkAddress(mail.to, "to"); !r) return r.error();
  initGMime();
  Ref<GMimeMessage> msg(g_mime_message_new(TRUE));
  g_mime_message_add_mailbox(msg.get(), GMIME_ADDRESS_TYPE_FROM,
                             mail.fromName.empty() ? nullptr : mail.fromName.c_str(),
                             mail.from.c_str());
  g_mime_message_add_mailbox(msg.get(), GMIME_ADDRESS_TYPE_TO, nullptr, mail.to.c_str());
  g_mime_message_set_subject(msg.get(), mail.subject.c_str(), "utf-8");
  GDateTime* now = g_date_time_new_now_local();
  g_mime_message_set_date(msg.get(), now);
  g_date_time_unref(now);
  const auto at = mail.from.find('@');
  const std::string domain = at == std::string::npos ? "localhost" : mail.from.substr(at + 1);
  char* id = g_mime_utils_generate_message_id(domain.c_str());
  g_mime_message_set_message_id(msg.get(), id);
  g_free(id);
  if (!mail.inReplyTo.empty()) {
    const std::string ref = "<" + mail.inReplyTo + ">";
    g_mime_object_set_header(GMIME_OBJECT(msg.get()), "In-Reply-To", ref.c_str(), nullptr);
    g_mime_object_set_header(GMIME_OBJECT(msg.get()), "References", ref.c_str(), nullptr);
  }
  g_mime_object_set_header(GMIME_OBJECT(msg.get()), "Auto-Submitted", mail.autoSubmitted.c_str(),
                           nullptr);

  // text | alternative(text, related(html, inline...)); then mixed(that, attachments...).
  GMimeObject* body = textPart("plain", mail.text);
  if (!mail.html.empty()) {
    GMimeMultipart* alt = g_mime_multipart_new_with_subtype("alternative");
    g_mime_multipart_add(alt, body);
    g_object_unref(body);
    GMimeObject* html = textPart("html", mail.html);
    bool anyInline = false;
    for (const auto& p : mail.parts) anyInline |= !p.contentId.empty();
    if (anyInline) {
      GMimeMultipart* rel = g_mime_multipart_new_with_subtype("related");
      g_mime_multipart_add(rel, html);
      g_object_unref(html);
      for (const auto& p : mail.parts) {
        if (p.contentId.empty()) continue;
        GMimeObject* img = binaryPart(p);
        g_mime_multipart_add(rel, img);
        g_object_unref(img);
      }
      g_mime_multipart_add(alt, GMIME_OBJECT(rel));
      g_object_unref(rel);
    } else {
      g_mime_multipart_add(alt, html);
      g_object_unref(html);
    }
    body = GMIME_OBJECT(alt);
  }
  bool anyAttachment = false;
  for (const auto& p : mail.parts) anyAttachment |= p.contentId.empty();
  if (anyAttachment) {
    GMimeMultipart* mixed = g_mime_multipart_new_with_subtype("mixed");
    g_mime_multipart_add(mixed, body);
    g_object_unref(body);
    for (const auto& p : mail.parts) {
      if (!p.contentId.empty()) continue;
      GMimeObject* att = binaryPart(p);
      g_mime_multipart_add(mixed, att);
      g_object_unref(att);
    }
    body = GMIME_OBJECT(mixed);
  }
  g_mime_message_set_mime_part(msg.get(), body);
  g_object_unref(body);

  GMimeFormatOptions* fo = g_mime_format_options_new();
  g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
  char* text = g_mime_object_to_string(GMIME_OBJECT(msg.get()), fo);
  g_mime_format_options_free(fo);
  if (!text) return core::makeError("mail_error", "GMime could not write the mail");
  std::string out(text);
  g_free(text);
  return out;
}

}  // namespace vfax::mail
