// Enrollment feedback: what is wrong with a recording (too little speech, clipping, too quiet,
// too noisy) and whether it sounds like the speaker's earlier audio.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "audio/option_check.h"
#include "spkid/enroll.h"
#include "spkid/scoring.h"
#include "spkid/speaker_name.h"

namespace spkid {
namespace {

constexpr double kPowerFloor = 1e-12;  // -120 dBFS: digital silence has no logarithm
// Less non-speech than this says too little about the noise.
constexpr double kMinNoiseSeconds = 0.5;
// The share of quietest frames taken as noise when the VAD leaves too little non-speech.
constexpr double kQuietestFraction = 0.1;

double to_dbfs(double power) { return 10 * std::log10(std::max(power, kPowerFloor)); }

// Frame powers (variance: a DC offset is not sound) and whether each frame's centre is speech.
struct Frames {
  std::vector<double> power;
  std::vector<bool> speech;
};

Frames frame_powers(const std::vector<float>& samples, int sample_rate_hz, const VadResult& vad,
                    const VadOptions& framing) {
  const long num_samples = static_cast<long>(samples.size());
  const long length = std::min(
      num_samples, std::max(1L, std::lround(framing.frame_length_ms * sample_rate_hz / 1000)));
  const long shift = std::max(1L, std::lround(framing.frame_shift_ms * sample_rate_hz / 1000));
  // Running sums make each overlapping frame O(1).
  std::vector<double> sums(samples.size() + 1, 0.0), sums_of_squares(samples.size() + 1, 0.0);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    sums[i + 1] = sums[i] + samples[i];
    sums_of_squares[i + 1] = sums_of_squares[i] + static_cast<double>(samples[i]) * samples[i];
  }
  Frames frames;
  auto segment = vad.segments.begin();
  for (long begin = 0; length > 0 && begin + length <= num_samples; begin += shift) {
    const auto b = static_cast<std::size_t>(begin), e = static_cast<std::size_t>(begin + length);
    const double mean = (sums[e] - sums[b]) / static_cast<double>(length);
    const double mean_square =
        (sums_of_squares[e] - sums_of_squares[b]) / static_cast<double>(length);
    frames.power.push_back(std::max(0.0, mean_square - mean * mean));
    const long centre = begin + length / 2;
    while (segment != vad.segments.end() && segment->end_sample <= centre) ++segment;
    frames.speech.push_back(segment != vad.segments.end() && segment->begin_sample <= centre);
  }
  return frames;
}

// Robust to the speech the VAD leaves out (quiet syllable edges): noise is steady, they are not.
double median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  const auto middle = values.begin() + static_cast<long>(values.size() / 2);
  std::nth_element(values.begin(), middle, values.end());
  return *middle;
}

double mean(const std::vector<double>& values) {
  return values.empty() ? 0.0
                        : std::accumulate(values.begin(), values.end(), 0.0) /
                              static_cast<double>(values.size());
}

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

// The mean direction of unit-length copies of `vectors`.
}  // namespace

double measure_voiced_fraction(const std::vector<float>& speech, int sample_rate_hz) {
  // Pairs of samples averaged down to half the rate: pitch needs no more, and it costs a quarter.
  const int rate = sample_rate_hz >= 16000 ? sample_rate_hz / 2 : sample_rate_hz;
  std::vector<double> x;
  if (rate != sample_rate_hz) {
    x.reserve(speech.size() / 2);
    for (std::size_t i = 0; i + 1 < speech.size(); i += 2)
      x.push_back(0.5 * (speech[i] + speech[i + 1]));
  } else {
    x.assign(speech.begin(), speech.end());
  }
  const auto length = static_cast<std::size_t>(0.040 * rate);
  const auto shift = static_cast<std::size_t>(0.020 * rate);
  const auto min_lag = static_cast<std::size_t>(rate / 500.0);
  const auto max_lag = std::min(length / 2, static_cast<std::size_t>(rate / 60.0));
  if (length == 0 || shift == 0 || min_lag == 0 || x.size() < length) return 0;
  int counted = 0, voiced = 0;
  const auto frame_length = static_cast<double>(length);
  std::vector<double> frame(length);
  for (std::size_t begin = 0; begin + length <= x.size(); begin += shift) {
    const double mean =
        std::accumulate(x.begin() + begin, x.begin() + begin + length, 0.0) / frame_length;
    double energy = 0;
    for (std::size_t i = 0; i < length; ++i) {
      frame[i] = x[begin + i] - mean;
      energy += frame[i] * frame[i];
    }
    if (energy / frame_length < 1e-9) continue;  // under -90 dBFS: a pause, not a frame to judge
    ++counted;
    double best = 0;
    for (std::size_t lag = min_lag; lag <= max_lag; ++lag) {
      double product = 0, head = 0, tail = 0;
      for (std::size_t i = 0; i + lag < length; ++i) {
        product += frame[i] * frame[i + lag];
        head += frame[i] * frame[i];
        tail += frame[i + lag] * frame[i + lag];
      }
      if (head > 0 && tail > 0) best = std::max(best, product / std::sqrt(head * tail));
    }
    if (best > 0.6) ++voiced;
  }
  return counted == 0 ? 0 : static_cast<double>(voiced) / counted;
}

void EnrollmentQualityOptions::validate() const {
  using detail::require_option;
  require_option(min_voiced_fraction >= 0 && min_voiced_fraction <= 1,
                 "EnrollmentQualityOptions.min_voiced_fraction", min_voiced_fraction,
                 "between 0 and 1");
  require_option(refuse_clipped_fraction >= 0 && refuse_clipped_fraction <= 1,
                 "EnrollmentQualityOptions.refuse_clipped_fraction", refuse_clipped_fraction,
                 "between 0 and 1");
  require_option(std::isfinite(refuse_snr_db), "EnrollmentQualityOptions.refuse_snr_db",
                 refuse_snr_db, "a finite number of dB");
  require_option(min_speaker_speech_seconds >= 0,
                 "EnrollmentQualityOptions.min_speaker_speech_seconds", min_speaker_speech_seconds,
                 "0 or more");
  require_option(
      recommended_speech_seconds > 0 && recommended_speech_seconds >= min_speaker_speech_seconds,
      "EnrollmentQualityOptions.recommended_speech_seconds", recommended_speech_seconds,
      "more than 0 and at least the minimum");
  require_option(clipping_level > 0 && clipping_level <= 1,
                 "EnrollmentQualityOptions.clipping_level", clipping_level,
                 "more than 0 and at most 1 (full scale)");
  require_option(max_clipped_fraction >= 0 && max_clipped_fraction <= 1,
                 "EnrollmentQualityOptions.max_clipped_fraction", max_clipped_fraction,
                 "between 0 and 1");
  require_option(min_speech_level_dbfs <= 0, "EnrollmentQualityOptions.min_speech_level_dbfs",
                 min_speech_level_dbfs, "0 or less (dB below full scale)");
  require_option(std::isfinite(min_snr_db), "EnrollmentQualityOptions.min_snr_db", min_snr_db,
                 "a finite number of dB");
}

SignalQuality measure_signal_quality(const std::vector<float>& samples, int sample_rate_hz,
                                     const VadResult& vad, const VadOptions& framing,
                                     double clipping_level) {
  SignalQuality quality;
  quality.speech_seconds = vad.speech_seconds;
  if (samples.empty() || sample_rate_hz <= 0) return quality;
  const auto clipped = std::count_if(samples.begin(), samples.end(), [clipping_level](float x) {
    return std::fabs(x) >= clipping_level;
  });
  quality.clipped_fraction = static_cast<double>(clipped) / static_cast<double>(samples.size());

  const Frames frames = frame_powers(samples, sample_rate_hz, vad, framing);
  std::vector<double> speech, non_speech;
  for (std::size_t k = 0; k < frames.power.size(); ++k) {
    (frames.speech[k] ? speech : non_speech).push_back(frames.power[k]);
  }
  const double frame_shift_seconds = framing.frame_shift_ms / 1000;
  double noise_power = median(non_speech);
  if (static_cast<double>(non_speech.size()) * frame_shift_seconds < kMinNoiseSeconds) {
    std::vector<double> quietest = frames.power;
    const auto count = std::max<std::size_t>(
        1, static_cast<std::size_t>(kQuietestFraction * static_cast<double>(quietest.size())));
    std::nth_element(quietest.begin(), quietest.begin() + static_cast<long>(count - 1),
                     quietest.end());
    quietest.resize(std::min(count, quietest.size()));
    noise_power = mean(quietest);
  }
  quality.speech_level_dbfs = to_dbfs(mean(speech));
  quality.noise_level_dbfs = to_dbfs(noise_power);
  quality.snr_db = quality.speech_level_dbfs - quality.noise_level_dbfs;
  return quality;
}

const char* quality_issue_name(QualityIssue issue) noexcept {
  switch (issue) {
    case QualityIssue::kTooLittleSpeech:
      return "too_little_speech";
    case QualityIssue::kClipping:
      return "clipping";
    case QualityIssue::kTooQuiet:
      return "too_quiet";
    case QualityIssue::kTooNoisy:
      return "too_noisy";
    case QualityIssue::kDifferentVoice:
      return "different_voice";
  }
  return "unknown";
}

std::vector<QualityWarning> assess_signal_quality(const SignalQuality& quality,
                                                  const EnrollmentOptions& options) {
  const EnrollmentQualityOptions& limits = options.quality;
  std::vector<QualityWarning> warnings;
  if (quality.speech_seconds < options.chunk.clip_seconds) {
    warnings.push_back({QualityIssue::kTooLittleSpeech,
                        format("only %.1f s of speech", quality.speech_seconds) +
                            format(", less than one %.0f s clip: longer recordings enroll better",
                                   options.chunk.clip_seconds)});
  }
  if (quality.clipped_fraction > limits.max_clipped_fraction) {
    warnings.push_back(
        {QualityIssue::kClipping, format("clipping: %.2f%% of the samples are at full scale",
                                         100 * quality.clipped_fraction) +
                                      "; record again with a lower input level"});
  }
  if (quality.speech_level_dbfs < limits.min_speech_level_dbfs) {
    warnings.push_back({QualityIssue::kTooQuiet,
                        format("too quiet: the speech is at %.0f dBFS", quality.speech_level_dbfs) +
                            format(" (%.0f dBFS or louder is good)", limits.min_speech_level_dbfs) +
                            "; speak closer to the microphone or raise its level"});
  }
  if (quality.snr_db < limits.min_snr_db) {
    warnings.push_back(
        {QualityIssue::kTooNoisy,
         format("too noisy: the speech is only %.0f dB above the background", quality.snr_db) +
             format(" (%.0f dB or more is good); record somewhere quieter", limits.min_snr_db)});
  }
  return warnings;
}

std::optional<QualityWarning> check_same_voice(const std::string& speaker,
                                               const std::vector<std::vector<float>>& earlier,
                                               const std::vector<std::vector<float>>& added,
                                               double min_cosine) {
  if (earlier.empty() || added.empty()) return std::nullopt;
  if (earlier.front().size() != added.front().size()) {
    throw Error(ErrorCode::kInvalidArgument,
                "embeddings of different sizes cannot be compared: make them with one model");
  }
  const double cosine = cosine_similarity(mean_embedding(earlier), mean_embedding(added));
  if (cosine >= min_cosine) return std::nullopt;
  return QualityWarning{QualityIssue::kDifferentVoice,
                        "this sounds like a different person than " + quote_speaker_name(speaker) +
                            "'s earlier audio" + format(" (cosine %.2f", cosine) +
                            format(", below %.2f); check that the recording is of ", min_cosine) +
                            quote_speaker_name(speaker)};
}

}  // namespace spkid
