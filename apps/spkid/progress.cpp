#include "progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <utility>

namespace spkid::cli {
namespace {

constexpr int kBarWidth = 30;
constexpr std::chrono::milliseconds kRedrawEvery{100};  // a terminal need not redraw faster

}  // namespace

ProgressBar::ProgressBar(std::string label, std::size_t total, bool enabled)
    : label_(std::move(label)),
      total_(total),
      terminal_(enabled && ::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() { clear(); }

void ProgressBar::update(std::size_t done) {
  if (!terminal_ || total_ == 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (now - start_ < kShowAfter || (drawn_ && now - last_draw_ < kRedrawEvery && done < total_)) {
    return;
  }
  last_draw_ = now;
  const double fraction = static_cast<double>(done) / static_cast<double>(total_);
  const int filled = static_cast<int>(fraction * kBarWidth);
  const std::string bar = std::string(static_cast<std::size_t>(filled), '=') +
                          std::string(static_cast<std::size_t>(kBarWidth - filled), ' ');
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const long left_seconds = done > 0 ? std::lround(elapsed * (1 / fraction - 1)) : -1;
  char eta[32] = "";
  if (left_seconds >= 0) {
    std::snprintf(eta, sizeof eta, ", %ld:%02ld left", left_seconds / 60, left_seconds % 60);
  }
  std::fprintf(stderr, "\r\033[K%s [%s] %zu/%zu%s", label_.c_str(), bar.c_str(), done, total_, eta);
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!drawn_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace spkid::cli
