// A progress bar on standard error for batches that take a while.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace spkid::cli {

// Drawn only when standard error is a terminal and the work has gone on for more than
// kShowAfter: quick runs, logs and pipes never see it or its escape codes. Thread-safe.
class ProgressBar {
 public:
  static constexpr std::chrono::milliseconds kShowAfter{1500};

  // `enabled` false (e.g. with --quiet) never draws.
  ProgressBar(std::string label, std::size_t total, bool enabled = true);
  ~ProgressBar();  // wipes the bar
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(std::size_t done);
  // Wipes the bar so that a log line can be written; the next update draws it again.
  void clear();

 private:
  std::string label_;
  std::size_t total_;
  bool terminal_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  std::mutex mutex_;
};

}  // namespace spkid::cli
