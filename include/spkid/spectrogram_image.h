// Pictures of a recording as PNG: log-Mel spectrogram, linear-frequency spectrogram or waveform,
// with time and frequency axes, a dB colour bar and a title.
#pragma once

#include <cstdint>
#include <string>

#include "spkid/features.h"

namespace spkid {

struct Audio;

enum class SpectrogramKind {
  kLogMel,    // Mel band energies in dB, the picture the CNN sees
  kLinear,    // |STFT| in dB on a linear frequency axis
  kWaveform,  // amplitude over time
};

struct SpectrogramImageOptions {
  SpectrogramKind kind = SpectrogramKind::kLogMel;
  int width_px = 1200;
  int height_px = 500;
  // Colours span the loudest value down to this many dB below it; quieter is drawn as the floor.
  double dynamic_range_db = 80;
  std::string title;  // what is pictured, usually the file name
  // Framing, window and Mel bands of the spectrogram. The sample rate is the audio's; MFCC and
  // normalisation are ignored because the picture shows band energies in dB.
  FeatureOptions features;

  void validate() const;  // features too; throws Error(kInvalidArgument) naming the bad field
};

struct Rgb {
  std::uint8_t red = 0;
  std::uint8_t green = 0;
  std::uint8_t blue = 0;
};

// The viridis colour map at `t` in [0, 1] (clamped): perceptually uniform, ordered in lightness,
// readable in grey and by colour-blind readers.
Rgb viridis(double t) noexcept;

// Draws `audio` and returns the PNG file's bytes. Throws Error: kInvalidArgument,
// kAudioTooShort (shorter than one frame), kInternal (cairo failed).
std::string render_spectrogram_png(const Audio& audio, const SpectrogramImageOptions& options);

// Draws `audio` into a PNG file at `path`. Throws as render_spectrogram_png, and Error(kIo).
void write_spectrogram_png(const std::string& path, const Audio& audio,
                           const SpectrogramImageOptions& options);

}  // namespace spkid
