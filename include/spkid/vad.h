// Voice activity: an energy-based frame detector that keeps speech and drops silence.
#pragma once

#include <vector>

namespace spkid {

struct VadOptions {
  double frame_length_ms = 25;
  double frame_shift_ms = 10;
  // A frame is speech when its energy is
  //  - within `relative_threshold_db` of the loud frames' level (the `reference_percentile` of
  //    the frame energies),
  //  - at least `snr_margin_db` above the recording's noise floor (the `noise_percentile` of the
  //    frame energies: its quiet frames, the pauses),
  //  - and above `absolute_floor_dbfs`, a last resort against near-digital silence (16-bit
  //    audio's quantization noise is about -96 to -101 dBFS).
  // Energy is the frame's mean square after removing its mean, in dB relative to full scale
  // (a full-scale square wave is 0 dBFS, a full-scale sine -3 dBFS). The percentiles leave out
  // frames of digital silence (below -120 dBFS, such as zero padding), which are never speech.
  // The first two rules move with the recording's level, so a soft recording gives the speech of
  // its loud version until its quiet frames near the absolute floor. Steady noise alone gives no
  // speech (nothing stands out from its floor); in noisy speech the pauses are dropped, with the
  // speech that does not rise `snr_margin_db` above the noise.
  double relative_threshold_db = 35;
  double reference_percentile = 95;
  double noise_percentile = 10;  // 0 to reference_percentile
  double snr_margin_db = 6;
  double absolute_floor_dbfs = -90;
  // Applied in this order to the runs of speech frames.
  double min_speech_ms = 100;   // shorter bursts are dropped (clicks)
  double min_silence_ms = 300;  // shorter pauses are kept inside the speech
  double padding_ms = 50;       // kept either side of every speech region

  void validate() const;  // throws Error(kInvalidArgument) naming the bad field
};

struct SpeechSegment {
  long begin_sample = 0;  // inclusive
  long end_sample = 0;    // exclusive
};

struct VadResult {
  std::vector<SpeechSegment> segments;  // in order, not overlapping
  double speech_seconds = 0;
  double total_seconds = 0;
};

// Finding no speech is a result, not an error: callers that need speech (features, enroll)
// turn an empty result into Error(kNoSpeech). Throws Error(kInvalidArgument) for bad options.
VadResult detect_speech(const std::vector<float>& samples, int sample_rate_hz,
                        const VadOptions& options = {});

// The samples of the detected segments, concatenated.
std::vector<float> keep_speech(const std::vector<float>& samples, const VadResult& vad);

}  // namespace spkid
