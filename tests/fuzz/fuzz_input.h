// One fuzz input through the decode and feature path, as spkid runs a recording: decode_audio()
// (mix to mono, resample) -> detect_speech() -> keep_speech() -> plan_clips()/cut_clips() ->
// FeatureExtractor::compute(); shared by the libFuzzer target and the seeded mutation test.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "spkid/error.h"

namespace spkid::fuzz {

// Audio longer than this (by its header) is refused before it is decoded, so a fuzzed header
// cannot make one input take minutes or gigabytes.
constexpr double kMaxSeconds = 60;
// Features are computed on at most this many clips, and on this much audio when there is none.
constexpr int kMaxClips = 2;
constexpr double kHeadSeconds = 3;

// How far an input went, for the statistics of a run.
struct Outcome {
  std::optional<ErrorCode> refused;  // decode_audio() threw this
  std::size_t samples = 0;           // decoded at 16 kHz
  std::size_t speech_segments = 0;
  std::size_t clips = 0;
  long feature_frames = 0;
};

// Runs `data` through the path and checks its invariants: empty when they all hold, otherwise
// what was violated. A spkid::Error from decoding is an accepted outcome when its code is one
// decode_audio() documents and its message is one line naming the input; any other exception
// type passes through to the caller. Decoded audio must be at 16 kHz, as long as its header says
// (within a sample), finite and within kMaxSampleMagnitude; after that nothing may throw: speech
// segments in order inside the audio, keep_speech() holding them, whole clips (or all of a short
// speech), and features of num_frames_for() frames, every value finite.
std::string check_input(const uint8_t* data, std::size_t size, Outcome* outcome = nullptr);

// Seed files made in code: short speech-like recordings encoded in every container and codec
// decode_audio() reads (WAV PCM/float/ADPCM/u-law/MP3, FLAC, Ogg Vorbis, Ogg Opus, AIFF, CAF,
// MP3).
struct Seed {
  std::string name;  // "voice-16k-mono.wav": the format, the rate, the channels
  std::vector<uint8_t> bytes;
};
std::vector<Seed> make_seeds();

}  // namespace spkid::fuzz
