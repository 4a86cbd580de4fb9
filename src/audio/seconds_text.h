// How the audio stage writes a duration in its messages: "2.5 s", "0.125 s", "3600 s".
#pragma once

#include <array>
#include <cstdio>
#include <string>

namespace spkid::detail {

inline std::string format_seconds(double seconds) {
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), seconds >= 100 ? "%.0f s" : "%.3g s", seconds);
  return text.data();
}

}  // namespace spkid::detail
