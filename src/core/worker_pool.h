#pragma once
// A fixed pool of threads for blocking work (conversion, file I/O). Bounded by its thread count;
// tasks queue up in order.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace vfax::core {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();  // lets running tasks finish, drops the ones not started, joins
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void post(std::function<void()> task);

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace vfax::core
