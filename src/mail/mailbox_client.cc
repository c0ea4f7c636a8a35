#include "mail/mailbox_client.h"

#include <poll.h>

#include <chrono>
#include <sstream>

#include "mail/curl_util.h"

namespace vfax::mail {
namespace {

core::Error mailboxError(const MailboxSettings& s, const std::string& what) {
  return core::makeError("mailbox_error", std::string(toString(s.protocol)) + " server " +
                                              s.server + ":" + std::to_string(effectivePort(s)) +
                                              ": " + what);
}

struct Limited {
  std::string* out;
  size_t max;
};

size_t appendLimited(char* data, size_t size, size_t count, void* userdata) {
  auto* l = static_cast<Limited*>(userdata);
  if (l->out->size() + size * count > l->max) return 0;  // curl aborts with a write error
  return appendToString(data, size, count, l->out);
}

class CurlSession : public MailboxSession {
 protected:
  explicit CurlSession(const MailboxSettings& s) : s_(s), c_(curl_easy_init()) {
    const std::string proto = s.protocol == MailboxProtocol::Imap ? "imap" : "pop3";
    base_ = scheme(proto, s.tls) + "://" + urlHost(s.server) + ":" +
            std::to_string(effectivePort(s)) + "/";
  }

  /// One command on the session's connection (libcurl keeps it open between calls).
  core::Result<std::string> perform(const std::string& url, const std::string& custom, bool noBody,
                                    size_t maxBytes = 1u << 20) {
    if (!c_) return mailboxError(s_, "cannot create a libcurl handle");
    CURL* c = c_.get();
    curl_easy_reset(c);
    applyCommon(c, s_.tls, s_.ignoreInvalidCertificates, err_);
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_USERNAME, s_.user.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, s_.password.c_str());
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
    if (!custom.empty()) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, custom.c_str());
    if (noBody) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    std::string out;
    Limited lim{&out, maxBytes};
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, appendLimited);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &lim);
    const CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_WRITE_ERROR && out.size() + CURL_MAX_WRITE_SIZE > maxBytes) {
      return core::makeError(
          "mail_too_large",
          "the mail is larger than " + std::to_string(maxBytes / (1024 * 1024)) + " MB");
    }
    if (rc != CURLE_OK) return mailboxError(s_, curlMessage(rc, err_));
    return out;
  }

  MailboxSettings s_;
  CurlHandle c_;
  std::string base_;
  char err_[CURL_ERROR_SIZE] = {};
};

class ImapSession final : public CurlSession {
 public:
  explicit ImapSession(const MailboxSettings& s) : CurlSession(s) {
    if (c_) {
      char* folder =
          curl_easy_escape(c_.get(), s.folder.c_str(), static_cast<int>(s.folder.size()));
      if (folder) {
        box_ = base_ + folder;
        curl_free(folder);
      }
    }
  }

  core::Result<std::vector<MailboxEntry>> list() override {
    auto r = perform(box_, "UID SEARCH UNDELETED OR UNSEEN KEYWORD $VfaxPending", false);
    if (!r) return r.error();
    std::vector<MailboxEntry> out;
    std::istringstream lines(*r);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("* SEARCH", 0) != 0) continue;
      std::istringstream words(line.substr(8));
      std::string uid;
      while (words >> uid) {
        if (uid.find_first_not_of("0123456789") == std::string::npos) out.push_back({uid, uid});
      }
    }
    return out;
  }

  core::Result<std::string> fetch(const MailboxEntry& e, size_t maxBytes) override {
    if (auto r = perform(box_, "UID STORE " + e.id + " +FLAGS.SILENT ($VfaxPending)", false); !r)
      return r.error();
    auto body = perform(box_ + "/;UID=" + e.id, "", false, maxBytes);
    if (!body && body.error().code == "mail_too_large") {
      // The header alone still tells whom to answer.
      auto head = perform(box_ + "/;UID=" + e.id + "/;SECTION=HEADER", "", false);
      if (head) return core::makeError("mail_too_large", *head);
    }
    return body;
  }

  core::Result<void> finish(const MailboxEntry& e, bool deleteIt) override {
    if (deleteIt) {
      auto r = perform(box_, "UID STORE " + e.id + " +FLAGS.SILENT (\\Deleted)", false);
      if (!r) return r.error();
      expunge_ = true;
      return {};
    }
    auto r = perform(box_, "UID STORE " + e.id + " +FLAGS.SILENT (\\Seen)", false);
    if (!r) return r.error();
    auto k = perform(box_, "UID STORE " + e.id + " -FLAGS.SILENT ($VfaxPending)", false);
    if (!k) return k.error();
    return {};
  }

  core::Result<void> close() override {
    if (expunge_) {
      auto r = perform(box_, "EXPUNGE", false);
      if (!r) return r.error();
      expunge_ = false;
    }
    c_.reset();  // LOGOUT
    return {};
  }

 private:
  std::string box_;
  bool expunge_ = false;
};

class Pop3Session final : public CurlSession {
 public:
  explicit Pop3Session(const MailboxSettings& s) : CurlSession(s) {}

  core::Result<std::vector<MailboxEntry>> list() override {
    auto r = perform(base_, "UIDL", false);
    if (!r) return r.error();
    std::vector<MailboxEntry> out;
    std::istringstream lines(*r);
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream words(line);
      std::string n, uidl;
      if (!(words >> n >> uidl)) continue;
      if (n.find_first_not_of("0123456789") != std::string::npos) continue;
      out.push_back({n, uidl});
    }
    return out;
  }

  core::Result<std::string> fetch(const MailboxEntry& e, size_t maxBytes) override {
    auto body = perform(base_ + e.id, "", false, maxBytes);
    if (!body && body.error().code == "mail_too_large") {
      auto head = perform(base_ + e.id, "TOP " + e.id + " 0", false);
      if (head) return core::makeError("mail_too_large", *head);
    }
    return body;
  }

  core::Result<void> finish(const MailboxEntry& e, bool deleteIt) override {
    if (!deleteIt) return {};
    auto r = perform(base_ + e.id, "DELE", true);
    if (!r) return r.error();
    return {};
  }

  core::Result<void> close() override {
    c_.reset();  // QUIT: the server deletes what was marked
    return {};
  }
};

}  // namespace

std::unique_ptr<MailboxSession> openMailbox(const MailboxSettings& s) {
  initCurl();
  if (s.protocol == MailboxProtocol::Pop3) return std::make_unique<Pop3Session>(s);
  return std::make_unique<ImapSession>(s);
}

// ---------------------------------------------------------------------------------------------
// IMAP IDLE

struct IdleWatcher::Impl {
  MailboxSettings s;
  CurlHandle c;
  curl_socket_t sock = CURL_SOCKET_BAD;
  std::string buffer;
  int tag = 0;
  char err[CURL_ERROR_SIZE] = {};

  core::Result<void> connect() {
    c.reset(curl_easy_init());
    if (!c) return mailboxError(s, "cannot create a libcurl handle");
    applyCommon(c.get(), s.tls, s.ignoreInvalidCertificates, err);
    const std::string url = scheme("imap", s.tls) + "://" + urlHost(s.server) + ":" +
                            std::to_string(effectivePort(s)) + "/";
    curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(c.get(), CURLOPT_USERNAME, s.user.c_str());
    curl_easy_setopt(c.get(), CURLOPT_PASSWORD, s.password.c_str());
    curl_easy_setopt(c.get(), CURLOPT_CONNECT_ONLY, 1L);
    const CURLcode rc = curl_easy_perform(c.get());
    if (rc != CURLE_OK) {
      c.reset();
      return mailboxError(s, curlMessage(rc, err));
    }
    curl_easy_getinfo(c.get(), CURLINFO_ACTIVESOCKET, &sock);
    buffer.clear();
    // Quote the folder as an IMAP string.
    std::string folder = "\"";
    for (char ch : s.folder) {
      if (ch == '"' || ch == '\\') folder += '\\';
      folder += ch;
    }
    folder += "\"";
    auto sel = command("SELECT " + folder, 15000);
    if (!sel) {
      c.reset();
      return sel.error();
    }
    return {};
  }

  core::Result<void> sendAll(const std::string& text) {
    size_t off = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (off < text.size()) {
      size_t n = 0;
      const CURLcode rc = curl_easy_send(c.get(), text.data() + off, text.size() - off, &n);
      if (rc == CURLE_AGAIN) {
        if (std::chrono::steady_clock::now() > deadline) return mailboxError(s, "send timed out");
        pollfd p{sock, POLLOUT, 0};
        ::poll(&p, 1, 100);
        continue;
      }
      if (rc != CURLE_OK) return mailboxError(s, curl_easy_strerror(rc));
      off += n;
    }
    return {};
  }

  /// The next line, or "" on timeout / stop. Error when the connection is gone.
  core::Result<std::string> readLine(int timeoutMs, const std::atomic<bool>* stop) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    for (;;) {
      const auto eol = buffer.find("\r\n");
      if (eol != std::string::npos) {
        std::string line = buffer.substr(0, eol);
        buffer.erase(0, eol + 2);
        return line;
      }
      char chunk[4096];
      size_t n = 0;
      const CURLcode rc = curl_easy_recv(c.get(), chunk, sizeof chunk, &n);
      if (rc == CURLE_OK) {
        if (n == 0) return mailboxError(s, "the server closed the connection");
        buffer.append(chunk, n);
        if (buffer.size() > (1u << 20)) return mailboxError(s, "an endless line from the server");
        continue;
      }
      if (rc != CURLE_AGAIN) return mailboxError(s, curl_easy_strerror(rc));
      if ((stop && stop->load()) || std::chrono::steady_clock::now() >= deadline)
        return std::string();
      pollfd p{sock, POLLIN, 0};
      ::poll(&p, 1, 200);
    }
  }

  /// Sends a tagged command and reads to its tagged reply; untagged lines go to `seen`.
  core::Result<void> command(const std::string& cmd, int timeoutMs,
                             std::vector<std::string>* seen = nullptr) {
    const std::string t = "v" + std::to_string(++tag);
    if (auto r = sendAll(t + " " + cmd + "\r\n"); !r) return r;
    for (;;) {
      auto line = readLine(timeoutMs, nullptr);
      if (!line) return line.error();
      if (line->empty()) return mailboxError(s, cmd + ": no reply");
      if (line->rfind(t + " ", 0) == 0) {
        if (line->compare(t.size() + 1, 2, "OK") != 0) return mailboxError(s, cmd + ": " + *line);
        return {};
      }
      if (seen) seen->push_back(*line);
    }
  }
};

IdleWatcher::IdleWatcher(const MailboxSettings& s) : impl_(std::make_unique<Impl>()) {
  initCurl();
  impl_->s = s;
}

IdleWatcher::~IdleWatcher() = default;

core::Result<bool> IdleWatcher::wait(int timeoutMs, const std::atomic<bool>& stop,
                                     std::atomic<bool>* idling) {
  auto& m = *impl_;
  struct Flag {
    std::atomic<bool>* f;
    ~Flag() {
      if (f) *f = false;
    }
  } flag{idling};
  if (!m.c) {
    if (auto r = m.connect(); !r) return r.error();
  }
  auto fail = [&m](core::Error e) -> core::Result<bool> {
    m.c.reset();
    return e;
  };
  const std::string t = "v" + std::to_string(++m.tag);
  if (auto r = m.sendAll(t + " IDLE\r\n"); !r) return fail(r.error());
  // Wait for the continuation; a server without IDLE answers with a tagged BAD/NO.
  for (;;) {
    auto line = m.readLine(15000, nullptr);
    if (!line) return fail(line.error());
    if (line->empty()) return fail(mailboxError(m.s, "IDLE: no reply"));
    if (line->rfind("+", 0) == 0) break;
    if (line->rfind(t + " ", 0) == 0) return fail(mailboxError(m.s, "IDLE refused: " + *line));
  }
  if (idling) *idling = true;
  bool newMail = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  while (!newMail && !stop.load() && std::chrono::steady_clock::now() < deadline) {
    auto line = m.readLine(500, &stop);
    if (!line) return fail(line.error());
    if (line->find(" EXISTS") != std::string::npos || line->find(" RECENT") != std::string::npos)
      newMail = true;
  }
  if (auto r = m.sendAll("DONE\r\n"); !r) return fail(r.error());
  for (;;) {
    auto line = m.readLine(15000, nullptr);
    if (!line) return fail(line.error());
    if (line->empty()) return fail(mailboxError(m.s, "IDLE: no reply to DONE"));
    if (line->rfind(t + " ", 0) == 0) break;
    if (line->find(" EXISTS") != std::string::npos) newMail = true;
  }
  return newMail;
}

}  // namespace vfax::mail
