// Cutting speech into fixed-length clips; the rule is spelled out in spkid/chunk.h.
#include "spkid/chunk.h"

#include <cmath>
#include <string>
#include <vector>

#include "audio/option_check.h"
#include "spkid/error.h"

namespace spkid {

void ChunkOptions::validate() const {
  using detail::require_option;
  require_option(clip_seconds > 0, "ChunkOptions.clip_seconds", clip_seconds, "more than 0");
  require_option(overlap_seconds >= 0 && overlap_seconds < clip_seconds,
                 "ChunkOptions.overlap_seconds", overlap_seconds,
                 "0 or more and less than clip_seconds");
  require_option(min_remainder_fraction >= 0 && min_remainder_fraction <= 1,
                 "ChunkOptions.min_remainder_fraction", min_remainder_fraction, "between 0 and 1");
  require_option(min_clip_seconds >= 0 && min_clip_seconds <= clip_seconds,
                 "ChunkOptions.min_clip_seconds", min_clip_seconds,
                 "0 or more and at most clip_seconds");
}

std::vector<Clip> plan_clips(long num_samples, int sample_rate_hz, const ChunkOptions& options) {
  options.validate();
  if (sample_rate_hz <= 0 || num_samples < 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "plan_clips: got " + std::to_string(num_samples) + " samples at " +
                    std::to_string(sample_rate_hz) +
                    " Hz; the sample rate must be positive and the count 0 or more");
  }
  const long clip = std::lround(options.clip_seconds * sample_rate_hz);
  const long hop = clip - std::lround(options.overlap_seconds * sample_rate_hz);
  detail::require_option(hop >= 1, "ChunkOptions.clip_seconds - overlap_seconds",
                         options.clip_seconds - options.overlap_seconds,
                         "at least one sample long at the audio's sample rate");

  std::vector<Clip> clips;
  if (num_samples < clip) {
    if (num_samples > 0 &&
        static_cast<double>(num_samples) >= options.min_clip_seconds * sample_rate_hz) {
      clips.push_back({0, num_samples});
    }
    return clips;
  }
  for (long begin = 0; begin + clip <= num_samples; begin += hop) {
    clips.push_back({begin, begin + clip});
  }
  const long remainder = num_samples - clips.back().end_sample;
  if (remainder > 0 && static_cast<double>(remainder) >=
                           options.min_remainder_fraction * static_cast<double>(clip)) {
    clips.push_back({num_samples - clip, num_samples});
  }
  return clips;
}

std::vector<std::vector<float>> cut_clips(const std::vector<float>& speech, int sample_rate_hz,
                                          const ChunkOptions& options) {
  std::vector<std::vector<float>> clips;
  for (const Clip& clip : plan_clips(static_cast<long>(speech.size()), sample_rate_hz, options)) {
    clips.emplace_back(speech.begin() + clip.begin_sample, speech.begin() + clip.end_sample);
  }
  return clips;
}

}  // namespace spkid
