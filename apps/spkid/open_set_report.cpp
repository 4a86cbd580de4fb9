#include "open_set_report.h"

#include <fmt/format.h>

#include <cmath>

namespace spkid::cli {
namespace {

std::string percent_or_none(double fraction) {
  return std::isnan(fraction) ? std::string("n/a") : fmt::format("{:.1f}%", 100 * fraction);
}

}  // namespace

std::string describe_open_set(const OpenSetCalibration& open_set) {
  std::string text = fmt::format("threshold {:.2f} for {} speaker{}", open_set.threshold,
                                 open_set.num_speakers, open_set.num_speakers == 1 ? "" : "s");
  if (!open_set.calibrated) {
    return text +
           "; too few speakers to tell how a stranger here scores, so a conservative prior "
           "decides (enroll 3 or more)";
  }
  return text + fmt::format(
                    "; each speaker held out as a stranger: {} of their 3 s clips accepted as "
                    "someone else, {} of enrolled 3 s clips accepted as their speaker",
                    percent_or_none(open_set.heldout_false_accept_rate),
                    percent_or_none(open_set.heldout_genuine_accept_rate));
}

nlohmann::json open_set_json(const OpenSetCalibration& open_set) {
  return nlohmann::json::parse(open_set_summary_json(open_set));
}

}  // namespace spkid::cli
