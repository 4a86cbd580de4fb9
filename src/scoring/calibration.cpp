// Decision thresholds from genuine and impostor trial scores.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "spkid/error.h"
#include "spkid/scoring.h"

namespace spkid {
namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, message);
}

void check_scores(const std::vector<double>& scores, const char* kind) {
  if (scores.empty()) {
    invalid(std::string("no ") + kind + " scores to calibrate on: give trials of both kinds");
  }
  if (!std::all_of(scores.begin(), scores.end(), [](double s) { return std::isfinite(s); })) {
    invalid(std::string("a ") + kind + " score is not a finite number: check the scoring");
  }
}

// The lowest threshold (accepting scores >= it) that accepts at most `target` of the impostors.
double false_accept_rate_threshold(const std::vector<double>& genuine_scores,
                                   std::vector<double> impostor_scores, double target) {
  std::sort(impostor_scores.begin(), impostor_scores.end(), std::greater<>());
  const double n = double(impostor_scores.size());
  // The epsilon keeps 0.29 * 100 from flooring to 28 accepts.
  const auto allowed =
      std::min(static_cast<std::size_t>(std::floor(target * n + 1e-9)), impostor_scores.size() - 1);
  // The highest impostor score that must be rejected; everything above it may be accepted.
  const double rejected = impostor_scores[allowed];
  double next = std::numeric_limits<double>::infinity();
  const auto lower_next = [&](double s) {
    if (s > rejected) next = std::min(next, s);
  };
  std::for_each(genuine_scores.begin(), genuine_scores.end(), lower_next);
  std::for_each(impostor_scores.begin(), impostor_scores.end(), lower_next);
  const double just_above = std::nextafter(rejected, std::numeric_limits<double>::infinity());
  return std::isfinite(next) ? std::max(rejected + 0.5 * (next - rejected), just_above)
                             : just_above;
}

}  // namespace

void CalibrationOptions::validate() const {
  if (rule == ThresholdRule::kFalseAcceptRate &&
      !(target_false_accept_rate > 0 && target_false_accept_rate < 1)) {
    invalid("target_false_accept_rate must be between 0 and 1 (e.g. 0.01 for 1%), got " +
            std::to_string(target_false_accept_rate));
  }
}

Calibration calibrate_threshold(const std::vector<double>& genuine_scores,
                                const std::vector<double>& impostor_scores,
                                const CalibrationOptions& options) {
  options.validate();
  check_scores(genuine_scores, "genuine");
  check_scores(impostor_scores, "impostor");
  Calibration calibration;
  calibration.threshold = options.rule == ThresholdRule::kEqualErrorRate
                              ? equal_error_rate(genuine_scores, impostor_scores).threshold
                              : false_accept_rate_threshold(genuine_scores, impostor_scores,
                                                            options.target_false_accept_rate);
  calibration.rates = error_rates_at(genuine_scores, impostor_scores, calibration.threshold);
  return calibration;
}

}  // namespace spkid
