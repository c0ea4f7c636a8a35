#include "trunks/sip/sip_thread.h"

#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>

#include "trunks/sip/libre.h"

namespace vfax::trunks::sip {

namespace {
enum : int { kTask = 1, kQuit = 2 };

std::once_flag g_libreInit;
int g_libreInitResult = 0;
}  // namespace

SipThread::~SipThread() { stop(); }

core::Result<void> SipThread::start() {
  if (running_) return {};
  std::call_once(g_libreInit, [] { g_libreInitResult = libre_init(); });
  if (g_libreInitResult != 0) {
    return core::makeError(
        "sip_start", "libre could not start (error " + std::to_string(g_libreInitResult) + ")");
  }
  std::promise<int> ready;
  auto readyFuture = ready.get_future();
  thread_ = std::thread([this, &ready] {
    int err = re_thread_init();
    if (err == 0) err = mqueue_alloc(&queue_, &SipThread::onMessage, this);
    threadId_ = std::this_thread::get_id();
    if (err != 0) {
      if (queue_) queue_ = static_cast<::mqueue*>(mem_deref(queue_));
      re_thread_close();
      ready.set_value(err);
      return;
    }
    running_ = true;
    ready.set_value(0);
    run();
  });
  int err = readyFuture.get();
  if (err != 0) {
    thread_.join();
    return core::makeError("sip_start",
                           "the SIP thread could not start (error " + std::to_string(err) + ")");
  }
  return {};
}

void SipThread::run() {
  (void)re_main(nullptr);
  running_ = false;
  // Tasks posted after the quit message are dropped with the queue (mqueue frees nothing we
  // own: each task is deleted in onMessage; leftovers are drained here).
  queue_ = static_cast<::mqueue*>(mem_deref(queue_));
  re_thread_close();
}

void SipThread::onMessage(int id, void* data, void* arg) {
  (void)arg;
  if (id == kQuit) {
    re_cancel();
    return;
  }
  std::unique_ptr<std::function<void()>> task(static_cast<std::function<void()>*>(data));
  if (task && *task) (*task)();
}

bool SipThread::post(std::function<void()> task) {
  if (!running_ || !queue_) return false;
  auto* boxed = new std::function<void()>(std::move(task));
  if (mqueue_push(queue_, kTask, boxed) != 0) {
    delete boxed;
    return false;
  }
  return true;
}

core::Result<void> SipThread::runSync(std::function<void()> task,
                                      std::chrono::milliseconds timeout) {
  if (inThread()) {
    task();
    return {};
  }
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  if (!post([task = std::move(task), done] {
        task();
        done->set_value();
      })) {
    return core::makeError("sip_stopped", "the SIP trunk is not running");
  }
  if (future.wait_for(timeout) != std::future_status::ready) {
    return core::makeError("sip_busy", "the SIP thread did not answer in time");
  }
  return {};
}

void SipThread::stop() {
  if (thread_.joinable()) {
    if (running_ && queue_) (void)mqueue_push(queue_, kQuit, nullptr);
    thread_.join();
  }
  running_ = false;
}

}  // namespace vfax::trunks::sip
