// Cutting speech into fixed-length clips (6 s for enrollment, shorter for identification).
#pragma once

#include <vector>

namespace spkid {

// The clipping rule. Clips are `clip_seconds` long and start every
// `clip_seconds - overlap_seconds`, for as long as a whole clip fits. What is left after the
// end of the last whole clip (the remainder) becomes one more whole clip that ends where the
// speech ends, overlapping the clip before it, when it lasts at least `min_remainder_fraction`
// of a clip; otherwise it is dropped. Speech shorter than one clip gives a single clip of all of
// it when it lasts at least `min_clip_seconds`, and no clip otherwise.
// With the defaults: 30 s of speech gives 5 clips; 33 s gives 6 (the last from 27 s to 33 s);
// 32 s gives 5 (the last 2 s are dropped); 4 s gives one 4 s clip; 0.8 s gives none.
struct ChunkOptions {
  double clip_seconds = 6.0;
  double overlap_seconds = 0.0;  // consecutive clips share this much audio
  double min_remainder_fraction = 0.5;
  double min_clip_seconds = 1.0;

  void validate() const;  // throws Error(kInvalidArgument) naming the bad field
};

struct Clip {
  long begin_sample = 0;  // inclusive
  long end_sample = 0;    // exclusive
};

// Clip boundaries over `num_samples` samples of speech.
std::vector<Clip> plan_clips(long num_samples, int sample_rate_hz,
                             const ChunkOptions& options = {});

// The clips' samples.
std::vector<std::vector<float>> cut_clips(const std::vector<float>& speech, int sample_rate_hz,
                                          const ChunkOptions& options = {});

}  // namespace spkid
