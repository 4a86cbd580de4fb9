#include "fuzz_input.h"

#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "spkid/audio.h"
#include "spkid/chunk.h"
#include "spkid/features.h"
#include "spkid/vad.h"
#include "synth.h"

namespace spkid::fuzz {
namespace {

constexpr const char* kName = "<fuzz>";
constexpr int kRate = 16000;

// The errors decode_audio() documents for bytes in memory; any other code (kInternal above all)
// is a bug.
bool documented_decode_error(ErrorCode code) {
  switch (code) {
    case ErrorCode::kIo:
    case ErrorCode::kUnsupportedFormat:
    case ErrorCode::kCorruptAudio:
    case ErrorCode::kEmptyAudio:
    case ErrorCode::kNonFiniteAudio:
    case ErrorCode::kAudioTooLong:
    case ErrorCode::kAudioTooShort:
      return true;
    default:
      return false;
  }
}

// Empty when every value is finite, else where the first other one is.
std::string first_non_finite(const float* values, std::size_t count, const std::string& what) {
  const float* end = values + count;
  const float* bad = std::find_if(values, end, [](float x) { return !std::isfinite(x); });
  if (bad == end) return "";
  std::ostringstream out;
  out << what << "[" << (bad - values) << "] of " << count << " is " << *bad;
  return out.str();
}

std::string check_features(const FeatureExtractor& extractor, const std::vector<float>& samples,
                           const std::string& what, Outcome* outcome) {
  const FeatureOptions& options = extractor.options();
  const FeatureMatrix features = extractor.compute(samples);
  const int expected_frames = num_frames_for(static_cast<long>(samples.size()), options);
  if (features.num_frames != expected_frames) {
    return what + ": " + std::to_string(features.num_frames) + " frames, num_frames_for says " +
           std::to_string(expected_frames);
  }
  if (features.num_features != options.num_features() ||
      features.data.size() != static_cast<std::size_t>(features.num_frames) *
                                  static_cast<std::size_t>(options.num_features())) {
    return what + ": " + std::to_string(features.data.size()) + " values for " +
           std::to_string(features.num_frames) + " frames of " +
           std::to_string(features.num_features) + " features";
  }
  if (outcome != nullptr) outcome->feature_frames += features.num_frames;
  return first_non_finite(features.data.data(), features.data.size(), what + " feature");
}

// The extractors are made once: FFTW planning costs more than a short input's features.
const FeatureExtractor& log_mel_extractor() {
  static const FeatureExtractor extractor{FeatureOptions{}};
  return extractor;
}

// MFCC with variance normalisation: the DCT and the division by each feature's deviation.
const FeatureExtractor& mfcc_extractor() {
  static const FeatureExtractor extractor = [] {
    FeatureOptions options;
    options.mfcc = true;
    options.normalize_variance = true;
    return FeatureExtractor(options);
  }();
  return extractor;
}

std::string check_after_decode(const Audio& audio, Outcome* outcome) {
  const std::vector<float>& samples = audio.samples;
  if (outcome != nullptr) outcome->samples = samples.size();
  if (audio.sample_rate_hz != kRate) {
    return "decoded at " + std::to_string(audio.sample_rate_hz) + " Hz, not the " +
           std::to_string(kRate) + " Hz asked for";
  }
  const AudioFileInfo& source = audio.source;
  if (source.sample_rate_hz < 1 || source.channels < 1 || source.frames < 1) {
    return "decoded a source of " + std::to_string(source.frames) + " frames, " +
           std::to_string(source.channels) + " channels at " +
           std::to_string(source.sample_rate_hz) + " Hz";
  }
  if (source.duration_seconds() > kMaxSeconds) {
    return "decoded " + std::to_string(source.duration_seconds()) + " s, over max_seconds";
  }
  // resample() gives the exact length rounded, within one.
  const double expected = static_cast<double>(source.frames) * kRate / source.sample_rate_hz;
  if (std::abs(static_cast<double>(samples.size()) - expected) > 1.0) {
    return "decoded " + std::to_string(samples.size()) + " samples from " +
           std::to_string(source.frames) + " frames at " + std::to_string(source.sample_rate_hz) +
           " Hz, expected " + std::to_string(expected);
  }
  if (std::string bad = first_non_finite(samples.data(), samples.size(), "sample"); !bad.empty()) {
    return bad;
  }
  // What Audio promises, and what FeatureExtractor::compute() accepts.
  const auto loud = std::find_if(samples.begin(), samples.end(),
                                 [](float x) { return std::fabs(x) > kMaxSampleMagnitude; });
  if (loud != samples.end()) {
    return "sample[" + std::to_string(loud - samples.begin()) + "] is " + std::to_string(*loud) +
           ", beyond kMaxSampleMagnitude";
  }

  const VadResult vad = detect_speech(samples, kRate);
  if (outcome != nullptr) outcome->speech_segments = vad.segments.size();
  long previous_end = 0, speech_samples = 0;
  for (const SpeechSegment& segment : vad.segments) {
    if (segment.begin_sample < previous_end || segment.end_sample <= segment.begin_sample ||
        segment.end_sample > static_cast<long>(samples.size())) {
      return "speech segment [" + std::to_string(segment.begin_sample) + ", " +
             std::to_string(segment.end_sample) + ") out of order or outside the " +
             std::to_string(samples.size()) + " samples";
    }
    previous_end = segment.end_sample;
    speech_samples += segment.end_sample - segment.begin_sample;
  }
  if (std::abs(vad.speech_seconds - static_cast<double>(speech_samples) / kRate) > 1e-9 ||
      std::abs(vad.total_seconds - audio.duration_seconds()) > 1e-9) {
    return "VAD says " + std::to_string(vad.speech_seconds) + " s of speech in " +
           std::to_string(vad.total_seconds) + " s; its segments hold " +
           std::to_string(speech_samples) + " samples of " + std::to_string(samples.size());
  }
  const std::vector<float> speech = keep_speech(samples, vad);
  if (static_cast<long>(speech.size()) != speech_samples) {
    return "keep_speech gave " + std::to_string(speech.size()) + " samples of " +
           std::to_string(speech_samples) + " in the segments";
  }

  const ChunkOptions chunk_options;
  const std::vector<Clip> plan = plan_clips(static_cast<long>(speech.size()), kRate);
  const std::vector<std::vector<float>> clips = cut_clips(speech, kRate);
  if (outcome != nullptr) outcome->clips = clips.size();
  if (clips.size() != plan.size()) {
    return "cut_clips gave " + std::to_string(clips.size()) + " clips, plan_clips " +
           std::to_string(plan.size());
  }
  const long clip_samples = std::lround(chunk_options.clip_seconds * kRate);
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const long length = plan[i].end_sample - plan[i].begin_sample;
    const bool whole = length == clip_samples;
    const bool all_of_short_speech =
        plan.size() == 1 && plan[i].begin_sample == 0 && length == static_cast<long>(speech.size());
    if (plan[i].begin_sample < 0 || plan[i].end_sample > static_cast<long>(speech.size()) ||
        !(whole || all_of_short_speech) || static_cast<long>(clips[i].size()) != length) {
      return "clip " + std::to_string(i) + " [" + std::to_string(plan[i].begin_sample) + ", " +
             std::to_string(plan[i].end_sample) + ") of " + std::to_string(speech.size()) +
             " speech samples";
    }
  }

  for (std::size_t i = 0; i < clips.size() && i < static_cast<std::size_t>(kMaxClips); ++i) {
    std::string bad =
        check_features(log_mel_extractor(), clips[i], "clip " + std::to_string(i), outcome);
    if (!bad.empty()) return bad;
  }
  // The whole path without VAD (spkid features --no-vad), also for audio with no speech.
  const auto head_end =
      samples.begin() +
      static_cast<long>(std::min(samples.size(), static_cast<std::size_t>(kHeadSeconds * kRate)));
  return check_features(mfcc_extractor(), std::vector<float>(samples.begin(), head_end),
                        "first seconds", outcome);
}

}  // namespace

std::string check_input(const uint8_t* data, std::size_t size, Outcome* outcome) {
  AudioOptions options;
  options.sample_rate_hz = kRate;
  options.max_seconds = kMaxSeconds;
  Audio audio;
  try {
    audio = decode_audio(data, size, options, kName);
  } catch (const Error& error) {
    if (outcome != nullptr) outcome->refused = error.code();
    const std::string message = error.what();
    const std::string code = error_code_name(error.code());
    if (!documented_decode_error(error.code())) {
      return "decode_audio threw an undocumented " + code + " error: " + message;
    }
    if (message.find('\n') != std::string::npos) return code + " message of several lines";
    const std::string prefix = std::string(kName) + ": ";
    if (message.rfind(prefix, 0) != 0 || message.size() == prefix.size()) {
      return code + " message that does not start with the input's name and say why: '" + message +
             "'";
    }
    return "";
  }
  // Past decoding, the audio is valid and the options are the defaults: nothing may throw.
  try {
    return check_after_decode(audio, outcome);
  } catch (const Error& error) {
    return std::string("a ") + error_code_name(error.code()) +
           " error after decoding succeeded: " + error.what();
  }
}

std::vector<Seed> make_seeds() {
  struct Recipe {
    std::string name;
    int format;
    int sample_rate_hz;
    int channels;
  };
  const std::vector<Recipe> recipes = {
      {"voice-16k-mono-pcm16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1},
      {"voice-8k-stereo-float.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, 2},
      {"voice-11k-mono-pcm24.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 11025, 1},
      {"voice-16k-mono-ima-adpcm.wav", SF_FORMAT_WAV | SF_FORMAT_IMA_ADPCM, 16000, 1},
      {"voice-8k-mono-ulaw.wav", SF_FORMAT_WAV | SF_FORMAT_ULAW, 8000, 1},
      {"voice-22k-mono.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 22050, 1},
      {"voice-8k-stereo.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 8000, 2},
      {"voice-16k-mono.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 16000, 1},
      {"voice-16k-mono.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 16000, 1},
      {"voice-8k-stereo.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 8000, 2},
      {"voice-16k-mono.caf", SF_FORMAT_CAF | SF_FORMAT_PCM_16, 16000, 1},
      {"voice-16k-mono.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 16000, 1},
      {"voice-22k-stereo.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 22050, 2},
  };
  // 1.5 s: one clip of speech (at least ChunkOptions::min_clip_seconds), small files.
  constexpr double kSeconds = 1.5;
  const test::TempDir dir;
  std::vector<Seed> seeds;
  for (const Recipe& recipe : recipes) {
    const std::string path = dir.file(recipe.name);
    test::write_audio(path, test::speech_like({}, kSeconds, recipe.sample_rate_hz),
                      recipe.sample_rate_hz, recipe.channels, recipe.format);
    const std::string bytes = test::read_text(path);
    seeds.push_back({recipe.name, std::vector<uint8_t>(bytes.begin(), bytes.end())});
  }
  // MP3 in a WAV file (format tag 0x0055), as some recorders write: the header libmpg123 is
  // found behind, laid out as tests/mpeg_test.cpp writes it.
  const auto mp3 = std::find_if(seeds.begin(), seeds.end(),
                                [](const Seed& seed) { return seed.name == "voice-16k-mono.mp3"; });
  const auto le16 = [](unsigned v) { return std::string{char(v & 0xFF), char(v >> 8 & 0xFF)}; };
  const auto le32 = [&](unsigned v) { return le16(v & 0xFFFF) + le16(v >> 16); };
  const std::string fmt = le16(0x0055) + le16(1) + le32(16000) + le32(2000) + le16(1) + le16(0) +
                          le16(12) + le16(1) + le32(2) + le16(209) + le16(1) + le16(1393);
  const std::string body = "WAVEfmt " + le32(unsigned(fmt.size())) + fmt + "fact" + le32(4) +
                           le32(unsigned(kSeconds * 16000)) + "data" +
                           le32(unsigned(mp3->bytes.size())) +
                           std::string(mp3->bytes.begin(), mp3->bytes.end());
  const std::string wav = "RIFF" + le32(unsigned(body.size())) + body;
  seeds.push_back({"voice-16k-mono-mp3-in.wav", std::vector<uint8_t>(wav.begin(), wav.end())});
  return seeds;
}

}  // namespace spkid::fuzz
