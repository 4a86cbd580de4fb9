// Audio in: decode any format libsndfile reads, mix to mono, resample to the model's rate.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace spkid {

// Resamplers: libsoxr's polyphase filters (SIMD), then libsamplerate's converters, each family
// best quality first.
enum class ResampleQuality {
  kSoxrVeryHigh,
  kSoxrHigh,
  kSincBest,
  kSincMedium,
  kSincFastest,
  kZeroOrderHold,
  kLinear
};
// ~30x faster than sinc-medium, and flat to 91% of the new Nyquist frequency (sinc-medium is
// 0.3 dB down at 7 kHz of 8).
constexpr ResampleQuality kDefaultResampleQuality = ResampleQuality::kSoxrHigh;

// Every quality, in the order of the enum.
const std::vector<ResampleQuality>& resample_qualities();
const char* resample_quality_name(ResampleQuality quality) noexcept;
// Parses "soxr-vhq", "soxr-hq", "sinc-best", "sinc-medium", "sinc-fastest", "zero-order-hold",
// "linear".
ResampleQuality parse_resample_quality(const std::string& name);

struct AudioOptions {
  int sample_rate_hz = 16000;  // every file is resampled to this rate
  ResampleQuality resample_quality = kDefaultResampleQuality;
  double min_seconds = 0.1;   // shorter input is refused (kAudioTooShort)
  double max_seconds = 3600;  // longer input is refused before it is decoded (kAudioTooLong)

  // Throws Error(kInvalidArgument) naming the bad field.
  void validate() const;
};

// What the file header says, before any conversion.
struct AudioFileInfo {
  std::string format;    // libsndfile's container name: "WAV", "FLAC", "OGG", "AIFF"...
  std::string encoding;  // libsndfile's codec name: "Signed 16 bit PCM", "32 bit float", "Vorbis"
  int sample_rate_hz = 0;
  int channels = 0;
  int64_t frames = 0;  // per channel
  double duration_seconds() const {
    return sample_rate_hz > 0 ? static_cast<double>(frames) / sample_rate_hz : 0.0;
  }
};

// The largest sample magnitude a decoded file may hold: float files may exceed full scale
// (1.0), and some hold integer-scaled values (32768), but a million times full scale is damage:
// it would overflow the resampler and the spectrum (values near 1e38 gave NaN everywhere).
inline constexpr float kMaxSampleMagnitude = 1e6f;
// Finite and within kMaxSampleMagnitude: what decoding accepts and the feature stage expects.
inline bool is_usable_sample(float x) {
  return std::isfinite(x) && std::fabs(x) <= kMaxSampleMagnitude;
}

// Mono float samples at sample_rate_hz, full scale 1.0 (float files may exceed it, up to
// kMaxSampleMagnitude), with where they came from.
struct Audio {
  std::vector<float> samples;
  int sample_rate_hz = 0;
  AudioFileInfo source;
  double duration_seconds() const {
    return sample_rate_hz > 0 ? static_cast<double>(samples.size()) / sample_rate_hz : 0.0;
  }
};

// Reads the header only. `path` "-" is standard input, read into memory as load_audio() reads it
// (with the default max_seconds); it can be read only once, so to know both header and samples
// call load_audio() and use Audio::source.
// Throws Error: kNotFound, kIo, kUnsupportedFormat, kCorruptAudio, kEmptyAudio, kAudioTooLong.
AudioFileInfo probe_audio(const std::string& path);

// Decodes, mixes to mono (mean of channels) and resamples to options.sample_rate_hz.
// `path` "-" is standard input. Standard input, pipes and sockets cannot seek, so they are read
// into memory as they arrive, and never more than max_seconds of audio in the format their
// header declares can take (plus 16 MiB to find that header): a stream that goes on is refused
// (kAudioTooLong) without being read further. A device named by its path (/dev/zero) is refused
// (kUnsupportedFormat). Errors about the file start with its path ("<stdin>" for "-").
// Throws Error: kNotFound, kIo, kUnsupportedFormat, kCorruptAudio, kEmptyAudio,
// kNonFiniteAudio, kAudioTooLong, kAudioTooShort (and kInvalidArgument for bad options).
// A sample beyond kMaxSampleMagnitude is kCorruptAudio. Digital silence loads fine: deciding
// that there is no speech is detect_speech()'s job.
Audio load_audio(const std::string& path, const AudioOptions& options = {});

// load_audio() a segment of at most `segment_seconds` of the file at a time: each segment is
// mixed, resampled and handed to `segment_fn` (its Audio::source describes the whole file) before
// the next is read, so an hour-long file takes the memory of one segment (standard input and
// pipes are still read into memory first, as load_audio() reads them). The same checks and
// errors as load_audio(); one found in a later segment comes after the earlier segments were
// handed over. Segments are resampled each on its own: their edges differ from a whole-file
// resampling by the filter's few milliseconds.
void load_audio_segments(const std::string& path, const AudioOptions& options,
                         double segment_seconds, const std::function<void(Audio&&)>& segment_fn);

// Same checks and conversion on an in-memory encoded file (any libsndfile format); `name`
// starts the error messages.
Audio decode_audio(const void* data, std::size_t size, const AudioOptions& options = {},
                   const std::string& name = "<memory>");

// Same checks and conversion on samples already in memory (an application's microphone
// buffers): `frames` frames of `channels` interleaved float values at `sample_rate_hz`, full
// scale 1.0; Audio::source says format "samples". Throws Error(kInvalidArgument) for a rate or
// channel count below 1, and as decode_audio() for no samples, a length outside the options'
// limits or samples that are not usable.
Audio audio_from_samples(const float* interleaved, int64_t frames, int channels, int sample_rate_hz,
                         const AudioOptions& options = {}, const std::string& name = "<samples>");

// Resamples mono samples to size * to_hz / from_hz samples, rounded by libsoxr, within one by
// libsamplerate; returns a copy of the input when the rates are equal. Throws
// Error(kInvalidArgument) for rates that are not positive or more than 256x apart.
std::vector<float> resample(const std::vector<float>& samples, int from_hz, int to_hz,
                            ResampleQuality quality = kDefaultResampleQuality);

// Averages interleaved channels into one.
std::vector<float> mix_to_mono(const float* interleaved, int64_t frames, int channels);

}  // namespace spkid
