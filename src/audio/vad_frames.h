// The frame rules of voice activity detection, shared by detect_speech() (the whole recording's
// levels) and UtteranceDetector (the recent past's).
#pragma once

#include <cstddef>
#include <vector>

#include "spkid/vad.h"

namespace spkid::detail {

// Stands in for digital silence, whose energy has no logarithm.
constexpr double kSilenceDbfs = -200;
// Quieter frames are digital silence (zeros, or a float signal's decay to nothing): far under the
// quantization noise of 16-bit audio (about -101 dBFS). They are never speech and are left out of
// the level statistics, so that zero padding can neither lower the noise floor nor the reference.
constexpr double kDigitalSilenceDbfs = -120;

// A frame's variance in dB relative to full scale, floored at kSilenceDbfs.
double frame_energy_dbfs(const float* samples, std::size_t count);

// The energy a frame must exceed to be speech, from the energies of the frames that set the
// levels (VadOptions' rules).
double speech_threshold_dbfs(const std::vector<double>& energies, const VadOptions& options);

}  // namespace spkid::detail
