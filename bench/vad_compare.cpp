// Frame-by-frame comparison of spkid's energy VAD with WebRTC's voice detector (the one in
// Debian's libwebrtc-audio-processing 0.3, AudioProcessing::voice_detection(), 10 ms frames).
//
// For every file it prints one JSON line with a speech mask per detector, one character per
// 10 ms hop ('1' speech, '0' not): "energy" is spkid::detect_speech with its default options;
// "webrtc_<likelihood>" are WebRTC's raw decisions at each likelihood setting, put through the
// same clean-up as spkid's (bursts < 100 ms dropped, pauses < 300 ms kept, 50 ms padding), so
// that the two differ only in how they decide a frame. bench/vad_measure.py reads these lines.
//
// Not part of the CMake build (WebRTC is no dependency of spkid). Built by hand, from the
// repository root (one command):
//   g++ -std=c++17 -O2 -Iinclude -Isrc $(pkg-config --cflags webrtc-audio-processing sndfile)
//       bench/vad_compare.cpp src/audio/vad.cpp src/core/error.cpp
//       $(pkg-config --libs webrtc-audio-processing sndfile) -o /tmp/vad_compare
// To measure another version of the detector, compile its vad.cpp (and put its vad.h first on
// the include path); add -DVAD_COMPARE_OLD_OPTIONS for one from before noise_percentile and
// snr_margin_db, as bench/vad_measure.py's --compare-old expects.
// Usage: vad_compare [--no-webrtc] [--FIELD=VALUE]... FILE...
// Files: any format libsndfile reads, mixed to mono; 8, 16, 32 or 48 kHz for WebRTC (the energy
// detector takes any rate). --FIELD=VALUE sets a VadOptions field of the energy detector, e.g.
// --snr_margin_db=6 (the fields known to this program are listed in set_option).
#include <sndfile.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "spkid/vad.h"
#include "webrtc/modules/audio_processing/include/audio_processing.h"

namespace {

struct Mono {
  std::vector<float> samples;
  int rate = 0;
};

Mono read_mono(const std::string& path) {
  SF_INFO info{};
  SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
  if (file == nullptr) throw std::runtime_error(path + ": " + sf_strerror(nullptr));
  std::vector<float> interleaved(static_cast<size_t>(info.frames * info.channels));
  sf_readf_float(file, interleaved.data(), info.frames);
  sf_close(file);
  Mono mono;
  mono.rate = info.samplerate;
  mono.samples.resize(static_cast<size_t>(info.frames));
  for (sf_count_t i = 0; i < info.frames; ++i) {
    double sum = 0;
    for (int c = 0; c < info.channels; ++c)
      sum += interleaved[static_cast<size_t>(i * info.channels + c)];
    mono.samples[static_cast<size_t>(i)] = static_cast<float>(sum / info.channels);
  }
  return mono;
}

// Returns false when `name` is no field this program knows.
bool set_option(spkid::VadOptions& options, const std::string& name, double value) {
  if (name == "relative_threshold_db") {
    options.relative_threshold_db = value;
  } else if (name == "reference_percentile") {
    options.reference_percentile = value;
  } else if (name == "absolute_floor_dbfs") {
    options.absolute_floor_dbfs = value;
#ifndef VAD_COMPARE_OLD_OPTIONS
  } else if (name == "noise_percentile") {
    options.noise_percentile = value;
  } else if (name == "snr_margin_db") {
    options.snr_margin_db = value;
#endif
  } else if (name == "min_speech_ms") {
    options.min_speech_ms = value;
  } else if (name == "min_silence_ms") {
    options.min_silence_ms = value;
  } else if (name == "padding_ms") {
    options.padding_ms = value;
  } else {
    return false;
  }
  return true;
}

// Hop k (samples [k * hop, (k + 1) * hop)) is speech when its centre lies in a segment.
std::string energy_mask(const Mono& mono, long hop, long hops, const spkid::VadOptions& options) {
  const spkid::VadResult vad = spkid::detect_speech(mono.samples, mono.rate, options);
  std::string mask(static_cast<size_t>(hops), '0');
  for (const spkid::SpeechSegment& s : vad.segments) {
    for (long k = 0; k < hops; ++k) {
      const long centre = k * hop + hop / 2;
      if (centre >= s.begin_sample && centre < s.end_sample) mask[static_cast<size_t>(k)] = '1';
    }
  }
  return mask;
}

// spkid's clean-up on 10 ms decisions: short bursts dropped, then short pauses filled, then
// padding either side.
std::string clean_up(const std::string& raw) {
  constexpr long kMinSpeech = 10, kMinSilence = 30, kPadding = 5;
  struct Run {
    long begin, end;
  };
  std::vector<Run> runs;
  const long n = static_cast<long>(raw.size());
  for (long k = 0; k < n;) {
    if (raw[static_cast<size_t>(k)] != '1') {
      ++k;
      continue;
    }
    long end = k;
    while (end < n && raw[static_cast<size_t>(end)] == '1') ++end;
    if (end - k >= kMinSpeech) {
      if (!runs.empty() && k - runs.back().end < kMinSilence) {
        runs.back().end = end;
      } else {
        runs.push_back({k, end});
      }
    }
    k = end;
  }
  std::string mask(raw.size(), '0');
  for (const Run& run : runs) {
    for (long k = std::max(0L, run.begin - kPadding); k < std::min(n, run.end + kPadding); ++k) {
      mask[static_cast<size_t>(k)] = '1';
    }
  }
  return mask;
}

std::string webrtc_mask(const Mono& mono, long hop, long hops,
                        webrtc::VoiceDetection::Likelihood likelihood) {
  std::unique_ptr<webrtc::AudioProcessing> apm(webrtc::AudioProcessing::Create());
  apm->voice_detection()->Enable(true);
  apm->voice_detection()->set_likelihood(likelihood);
  apm->voice_detection()->set_frame_size_ms(10);
  std::string raw(static_cast<size_t>(hops), '0');
  std::vector<float> in(static_cast<size_t>(hop)), out(static_cast<size_t>(hop));
  const webrtc::StreamConfig config(mono.rate, 1);
  for (long k = 0; k < hops; ++k) {
    std::fill(in.begin(), in.end(), 0.0f);
    const long begin = k * hop;
    const long end = std::min(static_cast<long>(mono.samples.size()), begin + hop);
    std::copy(mono.samples.begin() + begin, mono.samples.begin() + end, in.begin());
    const float* src[] = {in.data()};
    float* dst[] = {out.data()};
    if (apm->ProcessStream(src, config, config, dst) != webrtc::AudioProcessing::kNoError) {
      throw std::runtime_error("WebRTC ProcessStream failed at " + std::to_string(mono.rate) +
                               " Hz");
    }
    raw[static_cast<size_t>(k)] = apm->voice_detection()->stream_has_voice() ? '1' : '0';
  }
  return clean_up(raw);
}

}  // namespace

int main(int argc, char** argv) {
  spkid::VadOptions options;
  int first_file = 1;
  bool webrtc = true;
  for (; first_file < argc && std::string(argv[first_file]).rfind("--", 0) == 0; ++first_file) {
    const std::string arg = argv[first_file];
    if (arg == "--no-webrtc") {
      webrtc = false;
      continue;
    }
    const size_t equals = arg.find('=');
    if (equals == std::string::npos ||
        !set_option(options, arg.substr(2, equals - 2), std::stod(arg.substr(equals + 1)))) {
      std::fprintf(stderr, "vad_compare: unknown option %s\n", arg.c_str());
      return 2;
    }
  }
  if (first_file >= argc) {
    std::fprintf(stderr, "usage: vad_compare [--no-webrtc] [--FIELD=VALUE]... FILE...\n");
    return 2;
  }
  const char* names[] = {"very_low", "low", "moderate", "high"};
  const webrtc::VoiceDetection::Likelihood likelihoods[] = {
      webrtc::VoiceDetection::kVeryLowLikelihood, webrtc::VoiceDetection::kLowLikelihood,
      webrtc::VoiceDetection::kModerateLikelihood, webrtc::VoiceDetection::kHighLikelihood};
  int status = 0;
  for (int i = first_file; i < argc; ++i) {
    try {
      const Mono mono = read_mono(argv[i]);
      const long hop = mono.rate / 100;
      const long hops = (static_cast<long>(mono.samples.size()) + hop - 1) / hop;
      std::string line = std::string("{\"file\": \"") + argv[i] +
                         "\", \"rate\": " + std::to_string(mono.rate) + ", \"energy\": \"" +
                         energy_mask(mono, hop, hops, options) + "\"";
      for (int l = 0; webrtc && l < 4; ++l) {
        line += std::string(", \"webrtc_") + names[l] + "\": \"" +
                webrtc_mask(mono, hop, hops, likelihoods[l]) + "\"";
      }
      std::printf("%s}\n", line.c_str());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: %s\n", argv[i], e.what());
      status = 1;
    }
  }
  return status;
}
