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

// Sums of scores, to form means and variances with any subset of speakers left out.
struct Moments {
  double count = 0;
  double sum = 0;
  double sum_squares = 0;

  void add(double x) {
    count += 1;
    sum += x;
    sum_squares += x * x;
  }
  void add(const Moments& other) {
    count += other.count;
    sum += other.sum;
    sum_squares += other.sum_squares;
  }
  void subtract(const Moments& other) {
    count -= other.count;
    sum -= other.sum;
    sum_squares -= other.sum_squares;
  }
  double mean() const { return sum / count; }
  double variance() const { return std::max(0.0, sum_squares / count - mean() * mean()); }
};

// Evidence from `speakers` speakers shrunk towards `prior` weighted as `prior_weight` speakers.
ImpostorStatistics shrink(const Moments& moments, double speakers, const ImpostorStatistics& prior,
                          double prior_weight, double min_stddev) {
  if (moments.count <= 0 || speakers <= 0) {
    return {prior.mean, std::max(prior.stddev, min_stddev)};
  }
  const double w = speakers / (speakers + prior_weight);
  const double mean = w * moments.mean() + (1 - w) * prior.mean;
  const double variance = w * moments.variance() + (1 - w) * prior.stddev * prior.stddev;
  return {mean, std::max(std::sqrt(variance), min_stddev)};
}

double standard_normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

struct Statistics {
  ImpostorStatistics pooled;
  std::map<std::string, ImpostorStatistics> speakers;
};

// pair[s][j]: the scores of speaker j's windows against speaker s. `left_out` is skipped
// entirely (a held-out stranger), or nothing when empty.
Statistics statistics(const std::map<std::string, std::map<std::string, Moments>>& pair,
                      const std::string& left_out, const OpenSetOptions& options) {
  Statistics result;
  Moments all;
  std::map<std::string, Moments> per_speaker;
  int speakers = 0;
  for (const auto& [s, by_impostor] : pair) {
    if (s == left_out) continue;
    ++speakers;
    Moments& m = per_speaker[s];
    for (const auto& [j, moments] : by_impostor) {
      if (j != left_out) m.add(moments);
    }
    all.add(m);
  }
  // The pooled statistics count each speaker once: they stand for "a speaker of this home".
  result.pooled =
      shrink(all, speakers, options.prior, options.prior_weight_speakers, options.min_stddev);
  for (const auto& [s, m] : per_speaker) {
    result.speakers[s] = shrink(m, std::max(0, speakers - 1), result.pooled,
                                options.prior_weight_speakers, options.min_stddev);
  }
  return result;
}

double z_score(const ImpostorStatistics& stats, double score) {
  return (score - stats.mean) / stats.stddev;
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
  if (!std::isfinite(prior.mean) || !(prior.stddev > 0) || !std::isfinite(prior.stddev)) {
    invalid("the open-set impostor prior needs a finite mean and a positive standard deviation");
  }
  if (!(min_stddev > 0)) invalid("the open-set standard-deviation floor must be positive");
}

double open_set_threshold(int num_speakers, double target_false_accept_rate) {
  if (num_speakers < 1) invalid("the open-set threshold needs at least one speaker");
  // Phi(z)^N = 1 - target: bisection on the normal CDF, monotone and exact enough.
  const double per_speaker = std::pow(1 - target_false_accept_rate, 1.0 / num_speakers);
  double low = -10, high = 12;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (low + high);
    (standard_normal_cdf(mid) < per_speaker ? low : high) = mid;
  }
  return 0.5 * (low + high);
}

OpenSetCalibration prior_open_set(const std::vector<std::string>& speakers,
                                  const OpenSetOptions& options) {
  options.validate();
  OpenSetCalibration calibration;
  calibration.pooled = {options.prior.mean, std::max(options.prior.stddev, options.min_stddev)};
  for (const auto& s : speakers) calibration.speakers[s] = calibration.pooled;
  calibration.num_speakers = static_cast<int>(speakers.size());
  calibration.threshold =
      open_set_threshold(std::max(1, calibration.num_speakers), options.target_false_accept_rate);
  calibration.heldout_false_accept_rate = std::numeric_limits<double>::quiet_NaN();
  calibration.heldout_genuine_accept_rate = std::numeric_limits<double>::quiet_NaN();
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
  OpenSetCalibration calibration = prior_open_set(gallery.speakers(), options);
  const int n = static_cast<int>(gallery.size());

  // Every window against every other speaker's centroid.
  std::map<std::string, std::map<std::string, Moments>> pair;
  for (const auto& s : gallery.speakers()) pair[s];
  struct Window {
    const std::string* speaker;
    std::vector<SpeakerScore> scores;  // against every speaker, in name order
  };
  std::vector<Window> windows;
  for (const auto& [j, speaker_clips] : clips) {
    for (const auto& clip : speaker_clips) {
      for (const auto& w : clip.windows) {
        Window window{&j, gallery.scores(w)};
        for (const SpeakerScore& s : window.scores) {
          if (s.speaker == j) continue;
          pair[s.speaker][j].add(s.score);
          ++calibration.impostor_trials;
        }
        windows.push_back(std::move(window));
      }
    }
  }
  Moments measured;
  for (const auto& [s, by_impostor] : pair) {
    for (const auto& [j, moments] : by_impostor) measured.add(moments);
  }
  if (measured.count > 0) {
    calibration.measured = {measured.mean(), std::sqrt(measured.variance())};
  }
  const Statistics full = statistics(pair, "", options);
  calibration.pooled = full.pooled;
  for (const auto& [s, stats] : full.speakers) calibration.speakers[s] = stats;
  calibration.calibrated = n >= options.min_speakers;

  // Held out as a stranger: each speaker's windows against the others, whose statistics and
  // threshold are those of a store without this speaker.
  if (n >= 2) {
    const double stranger_threshold = open_set_threshold(n - 1, options.target_false_accept_rate);
    std::map<std::string, Statistics> without;
    std::size_t trials = 0, accepted = 0;
    for (const Window& window : windows) {
      auto it = without.find(*window.speaker);
      if (it == without.end()) {
        it = without.emplace(*window.speaker, statistics(pair, *window.speaker, options)).first;
      }
      bool any = false;
      for (const SpeakerScore& s : window.scores) {
        if (s.speaker == *window.speaker) continue;
        any = any || z_score(it->second.speakers.at(s.speaker), s.score) >= stranger_threshold;
      }
      ++trials;
      accepted += any ? 1 : 0;
    }
    if (trials > 0) calibration.heldout_false_accept_rate = double(accepted) / double(trials);
  }

  // Genuine: each window against its own speaker's centroid without the clip it was cut from.
  const AsNorm* normalization = gallery.normalization();
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
        const double score =
            normalization ? normalization->score(centroid, w) : cosine_similarity(centroid, w);
        ++calibration.genuine_trials;
        genuine_accepted += z_score(calibration.speakers.at(j), score) >= calibration.threshold;
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
                        {"speakers", c.num_speakers},
                        {"calibrated", c.calibrated},
                        {"impostor_trials", c.impostor_trials},
                        {"genuine_trials", c.genuine_trials},
                        {"impostor_mean", c.measured.mean},
                        {"impostor_stddev", c.measured.stddev},
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
    c.measured = {j.at("impostor_mean").get<double>(), j.at("impostor_stddev").get<double>()};
    c.heldout_false_accept_rate = rate_of(j.at("heldout_false_accept_rate"));
    c.heldout_genuine_accept_rate = rate_of(j.at("heldout_genuine_accept_rate"));
    return c;
  } catch (const nlohmann::json::exception& e) {
    invalid(std::string("not an open-set summary (") + e.what() + ")");
  }
}

double normalized_score(const OpenSetCalibration& calibration, const std::string& speaker,
                        double score) {
  const auto it = calibration.speakers.find(speaker);
  if (it == calibration.speakers.end()) {
    invalid("the open-set calibration does not know " + quote_speaker_name(speaker) +
            ": calibrate it with every enrolled speaker");
  }
  return z_score(it->second, score);
}

}  // namespace spkid
