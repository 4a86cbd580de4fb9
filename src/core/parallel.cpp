#include "spkid/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace spkid {

int default_worker_count() noexcept {
  const unsigned cores = std::thread::hardware_concurrency();
  return cores > 0 ? static_cast<int>(cores) : 1;
}

void parallel_for(std::size_t count, int num_workers,
                  const std::function<void(std::size_t)>& body) {
  if (count == 0) return;
  const std::size_t workers = std::min<std::size_t>(
      count, static_cast<std::size_t>(num_workers > 0 ? num_workers : default_worker_count()));

  std::atomic<std::size_t> next_item{0};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  std::exception_ptr first_error;
  auto work = [&] {
    while (!failed.load(std::memory_order_relaxed)) {
      const std::size_t item = next_item.fetch_add(1, std::memory_order_relaxed);
      if (item >= count) return;
      try {
        body(item);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
        failed.store(true, std::memory_order_relaxed);
      }
    }
  };

  std::vector<std::thread> threads;
  threads.reserve(workers - 1);
  for (std::size_t w = 1; w < workers; ++w) {
    try {
      threads.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // the system refuses more threads: the ones already running share the work
    }
  }
  work();
  for (std::thread& thread : threads) thread.join();
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace spkid
