// The store-calibrated open-set decision (open_set.h).
#include "spkid/open_set.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "spkid/error.h"
#include "spkid/speaker_name.h"

namespace spkid {
namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, message);
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The value that a `share` of all scores reaches, each speaker's scores weighing the same in
// all (so that a speaker with a long enrollment does not stand for more strangers). Every list
// is non-empty.
double weighted_upper_quantile(const std::map<std::string, std::vector<double>>& by_speaker,
                               double share) {
  std::vector<std::pair<double, double>> points;  // score, weight
  for (const auto& [speaker, scores] : by_speaker) {
    const double weight = 1.0 / (double(scores.size()) * double(by_speaker.size()));
    for (const double x : scores) points.emplace_back(x, weight);
  }
  std::sort(points.begin(), points.end(), [](const auto& a, const auto& b) { return a > b; });
  double accumulated = 0;
  for (const auto& [score, weight] : points) {
    accumulated += weight;
    if (accumulated >= share - 1e-12) return score;
  }
  return points.back().first;
}

// The share of `by_speaker`'s scores at or above `threshold`, each speaker weighing the same.
double weighted_share_above(const std::map<std::string, std::vector<double>>& by_speaker,
                            double threshold) {
  double share = 0;
  for (const auto& [speaker, scores] : by_speaker) {
    const auto above =
        std::count_if(scores.begin(), scores.end(), [&](double x) { return x >= threshold; });
    share += double(above) / double(scores.size()) / double(by_speaker.size());
  }
  return share;
}

}  // namespace

void OpenSetOptions::validate() const {
  if (!(target_false_accept_rate > 0 && target_false_accept_rate < 1)) {
    invalid("the open-set false-accept target must be in (0, 1)");
  }
  if (min_speakers < 2) invalid("the open-set calibration needs min_speakers >= 2");
  if (!(prior_weight_speakers > 0) || !std::isfinite(prior_weight_speakers)) {
    invalid("the open-set prior weight must be a positive number of speakers");
  }
  if (!std::isfinite(prior_threshold)) invalid("the open-set prior threshold must be finite");
}

OpenSetCalibration prior_open_set(int num_speakers, const OpenSetOptions& options) {
  options.validate();
  OpenSetCalibration calibration;
  calibration.num_speakers = num_speakers;
  calibration.threshold = options.prior_threshold;
  calibration.measured_threshold = kNaN;
  calibration.measured = {kNaN, kNaN};
  calibration.heldout_false_accept_rate = kNaN;
  calibration.heldout_genuine_accept_rate = kNaN;
  return calibration;
}

OpenSetCalibration calibrate_open_set(const SpeakerGallery& gallery, const CalibrationClips& clips,
                                      const OpenSetOptions& options) {
  options.validate();
  for (const auto& [speaker, unused] : clips) {
    if (!gallery.contains(speaker)) {
      invalid("the open-set calibration has clips of " + quote_speaker_name(speaker) +
              ", who is not in the gallery");
    }
  }
  const int n = static_cast<int>(gallery.size());
  OpenSetCalibration calibration = prior_open_set(n, options);
  calibration.calibrated = n >= options.min_speakers;

  // Every window against every other speaker, as a stranger: its best score is the answer's.
  double sum = 0, sum_squares = 0;
  if (n >= 2) {
    for (const auto& [j, speaker_clips] : clips) {
      for (const auto& clip : speaker_clips) {
        for (const auto& w : clip.windows) {
          double best = -std::numeric_limits<double>::infinity();
          for (const SpeakerScore& s : gallery.scores(w, j)) {
            if (s.speaker == j) continue;
            best = std::max(best, s.score);
            sum += s.score;
            sum_squares += s.score * s.score;
            ++calibration.impostor_trials;
          }
          calibration.best_stranger_scores[j].push_back(best);
        }
      }
    }
  }
  if (calibration.impostor_trials > 0) {
    const double count = double(calibration.impostor_trials);
    const double mean = sum / count;
    calibration.measured = {mean, std::sqrt(std::max(0.0, sum_squares / count - mean * mean))};
  }
  if (!calibration.best_stranger_scores.empty()) {
    const auto& best = calibration.best_stranger_scores;
    calibration.measured_threshold =
        weighted_upper_quantile(best, options.target_false_accept_rate);
    const double strangers = double(best.size()) - (best.size() == std::size_t(n) ? 1 : 0);
    const double w =
        std::max(0.0, strangers) / (std::max(0.0, strangers) + options.prior_weight_speakers);
    calibration.threshold = w * calibration.measured_threshold + (1 - w) * options.prior_threshold;
    calibration.heldout_false_accept_rate = weighted_share_above(best, calibration.threshold);
  }

  // Genuine: each window against its own speaker's centroid without the clip it was cut from.
  std::size_t genuine_accepted = 0;
  for (const auto& [j, speaker_clips] : clips) {
    if (speaker_clips.size() < 2) continue;
    for (std::size_t c = 0; c < speaker_clips.size(); ++c) {
      std::vector<std::vector<float>> others;
      for (std::size_t o = 0; o < speaker_clips.size(); ++o) {
        if (o != c) others.push_back(speaker_clips[o].embedding);
      }
      const auto centroid = mean_embedding(others);
      for (const auto& w : speaker_clips[c].windows) {
        ++calibration.genuine_trials;
        genuine_accepted += gallery.score_as(j, centroid, w) >= calibration.threshold;
      }
    }
  }
  if (calibration.genuine_trials > 0) {
    calibration.heldout_genuine_accept_rate =
        double(genuine_accepted) / double(calibration.genuine_trials);
  }
  return calibration;
}

namespace {

nlohmann::json rate_json(double rate) {
  return std::isnan(rate) ? nlohmann::json(nullptr) : nlohmann::json(rate);
}

double rate_of(const nlohmann::json& value) {
  return value.is_number() ? value.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

std::string open_set_summary_json(const OpenSetCalibration& c) {
  return nlohmann::json{{"threshold", c.threshold},
                        {"measured_threshold", rate_json(c.measured_threshold)},
                        {"speakers", c.num_speakers},
                        {"calibrated", c.calibrated},
                        {"impostor_trials", c.impostor_trials},
                        {"genuine_trials", c.genuine_trials},
                        {"impostor_mean", rate_json(c.measured.mean)},
                        {"impostor_stddev", rate_json(c.measured.stddev)},
                        {"heldout_false_accept_rate", rate_json(c.heldout_false_accept_rate)},
                        {"heldout_genuine_accept_rate", rate_json(c.heldout_genuine_accept_rate)}}
      .dump();
}

OpenSetCalibration open_set_summary_from_json(const std::string& text) {
  try {
    const auto j = nlohmann::json::parse(text);
    OpenSetCalibration c;
    c.threshold = j.at("threshold").get<double>();
    c.num_speakers = j.at("speakers").get<int>();
    c.calibrated = j.at("calibrated").get<bool>();
    c.impostor_trials = j.at("impostor_trials").get<std::size_t>();
    c.genuine_trials = j.at("genuine_trials").get<std::size_t>();
    c.measured_threshold = rate_of(j.value("measured_threshold", nlohmann::json()));
    c.measured = {rate_of(j.at("impostor_mean")), rate_of(j.at("impostor_stddev"))};
    c.heldout_false_accept_rate = rate_of(j.at("heldout_false_accept_rate"));
    c.heldout_genuine_accept_rate = rate_of(j.at("heldout_genuine_accept_rate"));
    return c;
  } catch (const nlohmann::json::exception& e) {
    invalid(std::string("not an open-set summary (") + e.what() + ")");
  }
}

}  // namespace spkid
