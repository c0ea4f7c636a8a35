#include "fax/fax_session.h"

#include <spdlog/spdlog.h>
#include <unistd.h>
#include <atomic>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/log_safe.h"
#include "fax/spandsp.h"

namespace vfax::fax {
namespace {

using core::CallOutcome;
using core::OutcomeClass;

constexpr int kMaxIdentLen = 20;  // T.30 station ids are 20 digits/characters at most

std::int64_t samplesToMs(std::int64_t samples) { return samples * 1000 / kSampleRate; }

std::string compressionName(int encoding) {
  switch (encoding) {
    case T4_COMPRESSION_ITU_T4_1D:
      return "T.4 1D";
    case T4_COMPRESSION_ITU_T4_2D:
      return "T.4 2D";
    case T4_COMPRESSION_ITU_T6:
      return "T.6";
    default:
      return {};
  }
}

// spandsp's protocol log has no user pointer: one process-wide handler is enough.
void logToSpdlog(int /*level*/, const char* text) {
  std::string line(text ? text : "");
  while (!line.empty() && line.back() == '\n') line.pop_back();
  spdlog::debug("spandsp: {}", core::logSafe(line, 600));
}

class SessionImpl final : public FaxSession {
 public:
  SessionImpl(const FaxSessionOptions& options, FaxSessionEvents& events)
      : options_(options), events_(events) {}

  ~SessionImpl() override {
    // Release without a phase E report: the owner is going away.
    finished_ = true;
    if (audio_) fax_free(audio_);
    if (t38_) t38_terminal_free(t38_);
    for (auto* d : toneRx_) modem_connect_tones_rx_free(d);
  }

  bool init() {
    if (options_.transport == FaxTransport::Audio) {
      audio_ = fax_init(nullptr, options_.calling ? 1 : 0);
      if (!audio_) return false;
      // Always produce samples, so the trunk's 20 ms grid never runs dry.
      fax_set_transmit_on_idle(audio_, 1);
      fax_set_tep_mode(audio_, 0);
      t30_ = fax_get_t30_state(audio_);
      if (options_.protocolLog) enableLog(fax_get_logging_state(audio_));
      // spandsp's own connect tone detectors, on what the far end sends. Calling: its CED or
      // ANSam answer tone, or the V.21 flags of its DIS. Answering: the caller's CNG, or the
      // V.21 flags of a caller that sends no CNG.
      const int kinds[2] = {
          options_.calling ? MODEM_CONNECT_TONES_FAX_CED_OR_PREAMBLE : MODEM_CONNECT_TONES_FAX_CNG,
          options_.calling ? MODEM_CONNECT_TONES_ANSAM : MODEM_CONNECT_TONES_FAX_CED_OR_PREAMBLE};
      for (int kind : kinds) {
        auto* d = modem_connect_tones_rx_init(nullptr, kind, &SessionImpl::toneReport, this);
        if (!d) return false;
        toneRx_.push_back(d);
      }
    } else {
      t38_ = t38_terminal_init(nullptr, options_.calling ? 1 : 0, &SessionImpl::txPacket, this);
      if (!t38_) return false;
      t30_ = t38_terminal_get_t30_state(t38_);
      if (options_.protocolLog) {
        enableLog(t38_terminal_get_logging_state(t38_));
        enableLog(t38_core_get_logging_state(t38_terminal_get_t38_core_state(t38_)));
      }
    }
    if (options_.protocolLog) enableLog(t30_get_logging_state(t30_));

    std::string ident = options_.localIdent.substr(0, kMaxIdentLen);
    t30_set_tx_ident(t30_, ident.c_str());
    t30_set_ecm_capability(t30_, options_.ecm ? 1 : 0);
    t30_set_supported_modems(t30_, T30_SUPPORT_V27TER | T30_SUPPORT_V29 | T30_SUPPORT_V17);
    t30_set_supported_compressions(t30_, T30_SUPPORT_T4_1D_COMPRESSION |
                                             T30_SUPPORT_T4_2D_COMPRESSION |
                                             T30_SUPPORT_T6_COMPRESSION);
    t30_set_supported_resolutions(t30_,
                                  T30_SUPPORT_STANDARD_RESOLUTION | T30_SUPPORT_FINE_RESOLUTION);
    t30_set_supported_image_sizes(t30_, T30_SUPPORT_215MM_WIDTH | T30_SUPPORT_UNLIMITED_LENGTH |
                                            T30_SUPPORT_A4_LENGTH | T30_SUPPORT_B4_LENGTH |
                                            T30_SUPPORT_US_LETTER_LENGTH |
                                            T30_SUPPORT_US_LEGAL_LENGTH);
    if (options_.direction == FaxDirection::Send) {
      t30_set_tx_file(t30_, options_.tiffPath.c_str(),
                      options_.startPage > 0 ? options_.startPage : -1, -1);
      std::string header = options_.headerInfo.empty() ? ident : options_.headerInfo;
      t30_set_tx_page_header_info(t30_, header.c_str());
      // Extend, not overlay: the receiver's page is the header rows followed by our image.
      t30_set_tx_page_header_overlays_image(t30_, 0);
    } else {
      t30_set_rx_file(t30_, options_.tiffPath.c_str(), -1);
      t30_set_rx_encoding(t30_, T4_COMPRESSION_ITU_T6);
    }
    t30_set_phase_b_handler(t30_, &SessionImpl::phaseB, this);
    t30_set_phase_d_handler(t30_, &SessionImpl::phaseD, this);
    t30_set_phase_e_handler(t30_, &SessionImpl::phaseE, this);
    t30_set_real_time_frame_handler(t30_, &SessionImpl::frame, this);
    return true;
  }

  void rxAudio(const std::int16_t* samples, std::size_t n) override {
    if (finished_ || !audio_) return;
    if (!tonesHeard_) {
      for (auto* d : toneRx_) modem_connect_tones_rx(d, samples, static_cast<int>(n));
    }
    // fax_rx takes a non-const buffer but does not modify it.
    fax_rx(audio_, const_cast<std::int16_t*>(samples), static_cast<int>(n));
    advance(static_cast<int>(n));
  }

  std::size_t txAudio(std::int16_t* samples, std::size_t n) override {
    // Keeps running after phase E, so that our last frame (DCN) is sent out in full.
    if (!audio_) {
      std::fill(samples, samples + n, std::int16_t{0});
      return n;
    }
    int got = fax_tx(audio_, samples, static_cast<int>(n));
    if (got < 0) got = 0;
    std::fill(samples + got, samples + n, std::int16_t{0});
    return n;
  }

  void rxT38(const std::uint8_t* ifp, std::size_t len, std::uint16_t seq) override {
    if (finished_ || !t38_) return;
    t38_core_rx_ifp_packet(t38_terminal_get_t38_core_state(t38_), ifp, static_cast<int>(len), seq);
  }

  void tick(int samples) override {
    if (!t38_) return;
    // Keeps running after phase E, so that our last packets are sent out.
    t38_terminal_send_timeout(t38_, samples);
    if (!finished_) advance(samples);
  }

  void hangup(const CallOutcome& cause) override {
    if (finished_) return;
    override_ = cause;
    t30_terminate(t30_);  // reports phase E (with spandsp's view of the end) if not over yet
    if (!finished_) finish(cause);
  }

  bool finished() const override { return finished_; }
  FaxTransport transport() const override { return options_.transport; }
  std::int64_t elapsedMs() const override { return samplesToMs(samples_); }
  FaxTransferStats stats() const override {
    t30_stats_t st{};
    t30_get_transfer_statistics(t30_, &st);
    FaxTransferStats r;
    r.bitRate = phaseBSeen_ ? st.bit_rate : 0;
    r.ecm = st.error_correcting_mode != 0;
    r.pages = options_.direction == FaxDirection::Send ? st.pages_tx : st.pages_rx;
    return r;
  }

 private:
  // Each session's lines carry its own tag ("fax-17"): with hundreds of calls on one loop, the
  // log of one call can be followed.
  void enableLog(logging_state_t* log) {
    if (logTag_.empty()) {
      static std::atomic<std::uint64_t> next{1};
      logTag_ = "fax-" + std::to_string(next++);
    }
    span_log_set_tag(log, logTag_.c_str());
    span_log_set_level(
        log, SPAN_LOG_SHOW_SEVERITY | SPAN_LOG_SHOW_PROTOCOL | SPAN_LOG_SHOW_TAG | SPAN_LOG_FLOW);
    span_log_set_message_handler(log, &logToSpdlog);
  }
  std::string logTag_;  // spandsp keeps the pointer

  void advance(int samples) {
    samples_ += samples;
    if (finished_) return;
    std::int64_t now = samplesToMs(samples_);
    if (now >= options_.maxDurationMs) {
      timeout(phaseBSeen_ ? OutcomeClass::Dropped : OutcomeClass::NoAnswer,
              "the call exceeded the maximum fax duration");
    } else if (now - samplesToMs(lastProgress_) >= options_.noProgressTimeoutMs) {
      timeout(phaseBSeen_ ? OutcomeClass::Dropped : OutcomeClass::NoAnswer,
              phaseBSeen_ ? "the far end stopped responding" : "no fax answered the call");
    }
  }

  void timeout(OutcomeClass cls, const char* text) {
    hangup(CallOutcome{cls, phaseBSeen_ ? T30_ERR_CALLDROPPED : T30_ERR_T0_EXPIRED, text});
  }

  void progress() { lastProgress_ = samples_; }

  FaxResult collect(CallOutcome outcome) {
    t30_stats_t stats{};
    t30_get_transfer_statistics(t30_, &stats);
    FaxResult r;
    r.outcome = std::move(outcome);
    r.pages = options_.direction == FaxDirection::Send ? stats.pages_tx : stats.pages_rx;
    r.bitRate = stats.bit_rate;
    r.ecm = stats.error_correcting_mode != 0;
    r.compression = compressionName(stats.encoding);
    r.remoteId = remoteId();
    r.durationMs = samplesToMs(samples_);
    return r;
  }

  std::string remoteId() {
    const char* id = t30_get_rx_ident(t30_);
    std::string s = id ? id : "";
    // Station ids are right-aligned with spaces on the wire.
    auto b = s.find_first_not_of(' ');
    auto e = s.find_last_not_of(' ');
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  }

  void finish(CallOutcome outcome) {
    if (finished_) return;
    finished_ = true;
    FaxResult r = collect(std::move(outcome));
    events_.onFaxFinished(r);
  }

  // --- spandsp callbacks: no exception may cross them. ---

  static int phaseB(t30_state_t*, void* user, int) {
    auto* self = static_cast<SessionImpl*>(user);
    try {
      self->phaseBSeen_ = true;
      self->progress();
      self->events_.onFaxPhase(FaxPhase::B);
    } catch (...) {
      spdlog::error("fax: exception in phase B handler");
    }
    return T30_ERR_OK;
  }

  static int phaseD(t30_state_t*, void* user, int) {
    auto* self = static_cast<SessionImpl*>(user);
    try {
      self->progress();
      self->events_.onFaxPhase(FaxPhase::D);
      t30_stats_t stats{};
      t30_get_transfer_statistics(self->t30_, &stats);
      int pages = self->options_.direction == FaxDirection::Send ? stats.pages_tx : stats.pages_rx;
      if (pages != self->lastPages_) {
        self->lastPages_ = pages;
        self->events_.onFaxPage(pages, self->remoteId());
      }
    } catch (...) {
      spdlog::error("fax: exception in phase D handler");
    }
    return T30_ERR_OK;
  }

  static void phaseE(t30_state_t*, void* user, int code) {
    auto* self = static_cast<SessionImpl*>(user);
    try {
      if (self->finished_) return;
      self->events_.onFaxPhase(FaxPhase::E);
      CallOutcome outcome = outcomeFromT30(code);
      if (code != T30_ERR_OK && self->override_) outcome = *self->override_;
      self->finish(std::move(outcome));
    } catch (...) {
      spdlog::error("fax: exception in phase E handler");
    }
  }

  // Any report but "tone stopped" means the far end is a fax.
  static void toneReport(void* user, int code, int /*level*/, int /*delay*/) {
    if (code == MODEM_CONNECT_TONES_NONE) return;
    auto* self = static_cast<SessionImpl*>(user);
    spdlog::debug("fax: heard {}", modem_connect_tone_to_str(code));
    self->tonesHeard();
  }

  void tonesHeard() {
    if (tonesHeard_ || !audio_) return;
    tonesHeard_ = true;
    try {
      events_.onFaxTonesHeard();
    } catch (...) {
      spdlog::error("fax: exception in tones heard handler");
    }
  }

  static void frame(t30_state_t*, void* user, int incoming, const uint8_t msg[], int len) {
    auto* self = static_cast<SessionImpl*>(user);
    // A V.21 frame from the far end (a tone detector may have missed the preamble).
    if (incoming) self->tonesHeard();
    // A frame from the far end is progress; so is our own image data (ECM FCD frames), during
    // which a healthy receiver stays silent for a long time.
    if (incoming || (len >= 3 && (msg[2] & 0xFE) == T4_FCD)) self->progress();
    // CFR (either way): the training was good, page data follows. Shown as phase C.
    if (len >= 3 && (msg[2] & 0xFE) == T30_CFR) {
      try {
        self->events_.onFaxPhase(FaxPhase::C);
      } catch (...) {
        spdlog::error("fax: exception in phase C handler");
      }
    }
  }

  static int txPacket(t38_core_state_t*, void* user, const uint8_t* buf, int len, int /*count*/) {
    auto* self = static_cast<SessionImpl*>(user);
    try {
      if (len > 0) self->events_.onT38Packet(buf, static_cast<std::size_t>(len));
    } catch (...) {
      spdlog::error("fax: exception in T.38 packet handler");
    }
    return 0;
  }

  FaxSessionOptions options_;
  FaxSessionEvents& events_;
  fax_state_t* audio_ = nullptr;
  t38_terminal_state_t* t38_ = nullptr;
  t30_state_t* t30_ = nullptr;
  std::int64_t samples_ = 0;
  std::int64_t lastProgress_ = 0;
  bool phaseBSeen_ = false;
  bool finished_ = false;
  bool tonesHeard_ = false;
  std::vector<modem_connect_tones_rx_state_t*> toneRx_;
  int lastPages_ = 0;
  std::optional<CallOutcome> override_;
};

}  // namespace

core::Result<std::unique_ptr<FaxSession>> FaxSession::create(const FaxSessionOptions& options,
                                                             FaxSessionEvents& events) {
  if (options.tiffPath.empty()) {
    return core::makeError("fax_no_file", "No TIFF file was given for the fax.");
  }
  if (options.direction == FaxDirection::Send && ::access(options.tiffPath.c_str(), R_OK) != 0) {
    return core::makeError("fax_file_unreadable",
                           "The fax document " + options.tiffPath + " cannot be read.");
  }
  auto session = std::make_unique<SessionImpl>(options, events);
  if (!session->init()) {
    return core::makeError("fax_init_failed", "The fax engine could not be initialised.");
  }
  return std::unique_ptr<FaxSession>(std::move(session));
}

core::CallOutcome outcomeFromT30(int code) {
  OutcomeClass cls = OutcomeClass::Dropped;
  switch (code) {
    case T30_ERR_OK:
      cls = OutcomeClass::Ok;
      break;
    case T30_ERR_CEDTONE:
    case T30_ERR_T0_EXPIRED:
    case T30_ERR_T1_EXPIRED:
      cls = OutcomeClass::NoAnswer;
      break;
    case T30_ERR_CANNOT_TRAIN:
    case T30_ERR_INCOMPATIBLE:
    case T30_ERR_NORESSUPPORT:
    case T30_ERR_NOSIZESUPPORT:
    case T30_ERR_TX_BADDCS:
      cls = OutcomeClass::Incompatible;
      break;
    case T30_ERR_RX_INCAPABLE:
    case T30_ERR_TX_INCAPABLE:
    case T30_ERR_TX_BADPG:
    case T30_ERR_TX_GOTDCN:
    case T30_ERR_TX_NODIS:
    case T30_ERR_NOPOLL:
    case T30_ERR_IDENT_UNACCEPTABLE:
    case T30_ERR_SUB_UNACCEPTABLE:
    case T30_ERR_SEP_UNACCEPTABLE:
    case T30_ERR_PSA_UNACCEPTABLE:
    case T30_ERR_SID_UNACCEPTABLE:
    case T30_ERR_PWD_UNACCEPTABLE:
    case T30_ERR_TSA_UNACCEPTABLE:
    case T30_ERR_IRA_UNACCEPTABLE:
    case T30_ERR_CIA_UNACCEPTABLE:
    case T30_ERR_ISP_UNACCEPTABLE:
    case T30_ERR_CSA_UNACCEPTABLE:
      cls = OutcomeClass::Refused;
      break;
    case T30_ERR_FILEERROR:
    case T30_ERR_NOPAGE:
    case T30_ERR_BADTIFF:
    case T30_ERR_BADPAGE:
    case T30_ERR_BADTAG:
    case T30_ERR_BADTIFFHDR:
    case T30_ERR_NOMEM:
      cls = OutcomeClass::LocalError;
      break;
    default:
      cls = OutcomeClass::Dropped;
      break;  // timeouts, carrier loss, DCN mid-transfer
  }
  const char* text = t30_completion_code_to_str(code);
  return CallOutcome{cls, code, text ? text : "unknown fax error"};
}

}  // namespace vfax::fax
