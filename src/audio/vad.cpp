// Energy-based voice activity detection: frame energies; a threshold relative to the loud frames,
// above the recording's own noise floor and above an absolute floor for digital silence; then
// clean-up of short bursts and short pauses, then padding.
#include "spkid/vad.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "audio/option_check.h"
#include "audio/vad_frames.h"
#include "spkid/error.h"

namespace spkid {
namespace {

long ms_to_samples(double ms, int sample_rate_hz) {
  return std::lround(ms * sample_rate_hz / 1000);
}

// Frame k covers samples [k * shift, k * shift + length); the last frame may be cut short by the
// end of the signal so that every sample lies in some frame.
long count_frames(long num_samples, long frame_length, long frame_shift) {
  if (num_samples <= frame_length) return 1;
  return 1 + (num_samples - frame_length + frame_shift - 1) / frame_shift;
}

std::vector<double> frame_energies_dbfs(const std::vector<float>& samples, long num_frames,
                                        long frame_length, long frame_shift) {
  const long num_samples = static_cast<long>(samples.size());
  std::vector<double> energies(static_cast<size_t>(num_frames));
  for (long k = 0; k < num_frames; ++k) {
    const long begin = k * frame_shift;
    const long end = std::min(num_samples, begin + frame_length);
    energies[static_cast<size_t>(k)] =
        detail::frame_energy_dbfs(samples.data() + begin, static_cast<std::size_t>(end - begin));
  }
  return energies;
}

// `values` must not be empty.
double percentile(std::vector<double> values, double percent) {
  const auto rank =
      static_cast<size_t>(std::lround(percent / 100 * static_cast<double>(values.size() - 1)));
  std::nth_element(values.begin(), values.begin() + static_cast<long>(rank), values.end());
  return values[rank];
}

struct FrameRun {
  long begin = 0;  // first frame
  long end = 0;    // one past the last frame
};

std::vector<FrameRun> runs_above(const std::vector<double>& energies, double threshold) {
  std::vector<FrameRun> runs;
  const long num_frames = static_cast<long>(energies.size());
  for (long k = 0; k < num_frames; ++k) {
    if (energies[static_cast<size_t>(k)] <= threshold) continue;
    if (!runs.empty() && runs.back().end == k) {
      runs.back().end = k + 1;
    } else {
      runs.push_back({k, k + 1});
    }
  }
  return runs;
}

// Bursts go before pauses are filled, so a train of clicks never merges into "speech".
std::vector<FrameRun> clean_runs(const std::vector<FrameRun>& runs, long min_speech_frames,
                                 long min_silence_frames) {
  std::vector<FrameRun> cleaned;
  for (const FrameRun& run : runs) {
    if (run.end - run.begin < min_speech_frames) continue;
    if (!cleaned.empty() && run.begin - cleaned.back().end < min_silence_frames) {
      cleaned.back().end = run.end;
    } else {
      cleaned.push_back(run);
    }
  }
  return cleaned;
}

}  // namespace

namespace detail {

double frame_energy_dbfs(const float* samples, std::size_t count) {
  double sum = 0, sum_squares = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const double x = samples[i];
    sum += x;
    sum_squares += x * x;
  }
  const double n = static_cast<double>(count);
  const double mean = sum / n;
  // Variance, not mean square: a DC offset is not sound.
  const double power = sum_squares / n - mean * mean;
  return power > 0 ? std::max(kSilenceDbfs, 10 * std::log10(power)) : kSilenceDbfs;
}

// Speech must be within relative_threshold_db of the loud frames, snr_margin_db above the noise
// floor and above the absolute floor. Levels are percentiles of the frames that are not digital
// silence, so every rule but the absolute floor moves with the recording's level. When nothing
// stands out from the noise floor by the margin (steady noise alone), the threshold lies above
// almost every frame and at most the loudest bursts remain.
double speech_threshold_dbfs(const std::vector<double>& energies, const VadOptions& options) {
  std::vector<double> sound;
  for (double energy : energies) {
    if (energy > kDigitalSilenceDbfs) sound.push_back(energy);
  }
  if (sound.empty()) return kDigitalSilenceDbfs;  // nothing but digital silence: no frame is above
  const double loud = percentile(sound, options.reference_percentile);
  const double noise = percentile(sound, options.noise_percentile);
  return std::max({loud - options.relative_threshold_db, noise + options.snr_margin_db,
                   options.absolute_floor_dbfs, kDigitalSilenceDbfs});
}

}  // namespace detail

void VadOptions::validate() const {
  using detail::require_option;
  require_option(frame_length_ms > 0, "VadOptions.frame_length_ms", frame_length_ms, "more than 0");
  require_option(frame_shift_ms > 0 && frame_shift_ms <= frame_length_ms,
                 "VadOptions.frame_shift_ms", frame_shift_ms,
                 "more than 0 and at most frame_length_ms");
  require_option(relative_threshold_db >= 0, "VadOptions.relative_threshold_db",
                 relative_threshold_db, "0 or more");
  require_option(reference_percentile >= 0 && reference_percentile <= 100,
                 "VadOptions.reference_percentile", reference_percentile, "between 0 and 100");
  require_option(noise_percentile >= 0 && noise_percentile <= reference_percentile,
                 "VadOptions.noise_percentile", noise_percentile,
                 "between 0 and reference_percentile");
  require_option(snr_margin_db >= 0, "VadOptions.snr_margin_db", snr_margin_db, "0 or more");
  require_option(absolute_floor_dbfs <= 0, "VadOptions.absolute_floor_dbfs", absolute_floor_dbfs,
                 "0 or less (dB below full scale)");
  require_option(min_speech_ms >= 0, "VadOptions.min_speech_ms", min_speech_ms, "0 or more");
  require_option(min_silence_ms >= 0, "VadOptions.min_silence_ms", min_silence_ms, "0 or more");
  require_option(padding_ms >= 0, "VadOptions.padding_ms", padding_ms, "0 or more");
}

VadResult detect_speech(const std::vector<float>& samples, int sample_rate_hz,
                        const VadOptions& options) {
  options.validate();
  if (sample_rate_hz <= 0) {
    throw Error(ErrorCode::kInvalidArgument, "detect_speech: sample rate is " +
                                                 std::to_string(sample_rate_hz) +
                                                 " Hz; it must be positive, such as 16000");
  }
  const long frame_length = ms_to_samples(options.frame_length_ms, sample_rate_hz);
  const long frame_shift = ms_to_samples(options.frame_shift_ms, sample_rate_hz);
  detail::require_option(frame_shift >= 1, "VadOptions.frame_shift_ms", options.frame_shift_ms,
                         "at least one sample long at the audio's sample rate");

  VadResult result;
  const long num_samples = static_cast<long>(samples.size());
  result.total_seconds = static_cast<double>(num_samples) / sample_rate_hz;
  if (num_samples == 0) return result;

  const long num_frames = count_frames(num_samples, frame_length, frame_shift);
  const std::vector<double> energies =
      frame_energies_dbfs(samples, num_frames, frame_length, frame_shift);
  const double threshold = detail::speech_threshold_dbfs(energies, options);
  const auto to_frames = [&](double ms) {
    return (ms_to_samples(ms, sample_rate_hz) + frame_shift - 1) / frame_shift;
  };
  const std::vector<FrameRun> runs =
      clean_runs(runs_above(energies, threshold), to_frames(options.min_speech_ms),
                 to_frames(options.min_silence_ms));

  // A frame stands for the hop at its centre; the first and last reach the signal's ends.
  const long centre_offset = (frame_length - frame_shift) / 2;
  const long padding = ms_to_samples(options.padding_ms, sample_rate_hz);
  for (const FrameRun& run : runs) {
    const long begin = run.begin == 0 ? 0 : run.begin * frame_shift + centre_offset;
    const long end = run.end == num_frames ? num_samples : run.end * frame_shift + centre_offset;
    SpeechSegment segment{std::max(0L, begin - padding), std::min(num_samples, end + padding)};
    if (!result.segments.empty() && segment.begin_sample <= result.segments.back().end_sample) {
      result.segments.back().end_sample = segment.end_sample;
    } else {
      result.segments.push_back(segment);
    }
  }
  long speech_samples = 0;
  for (const SpeechSegment& segment : result.segments) {
    speech_samples += segment.end_sample - segment.begin_sample;
  }
  result.speech_seconds = static_cast<double>(speech_samples) / sample_rate_hz;
  return result;
}

std::vector<float> keep_speech(const std::vector<float>& samples, const VadResult& vad) {
  const long num_samples = static_cast<long>(samples.size());
  size_t total = 0;
  for (const SpeechSegment& segment : vad.segments) {
    if (segment.begin_sample < 0 || segment.begin_sample > segment.end_sample ||
        segment.end_sample > num_samples) {
      throw Error(ErrorCode::kInvalidArgument,
                  "keep_speech: segment [" + std::to_string(segment.begin_sample) + ", " +
                      std::to_string(segment.end_sample) + ") lies outside the " +
                      std::to_string(num_samples) +
                      " samples; pass the samples that detect_speech analysed");
    }
    total += static_cast<size_t>(segment.end_sample - segment.begin_sample);
  }
  std::vector<float> speech;
  speech.reserve(total);
  for (const SpeechSegment& segment : vad.segments) {
    speech.insert(speech.end(), samples.begin() + segment.begin_sample,
                  samples.begin() + segment.end_sample);
  }
  return speech;
}

}  // namespace spkid
