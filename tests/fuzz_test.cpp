// Fuzzing without libFuzzer: seed recordings in every format, mutated by a fixed-seed generator
// (bit flips, boundary bytes, truncation, duplicated chunks, extreme header fields, extreme float
// samples, splices), each kept to the invariants of the decode and feature path
// (fuzz/fuzz_input.h), and one in kFileEvery also loaded from a file, which must give the same.
// A few seconds in the quick tier; longer on demand:
//   SPKID_FUZZ_ITERATIONS=N   mutated inputs to check (default kDefaultIterations)
//   SPKID_FUZZ_SECONDS=S      check inputs for S seconds (no iteration limit unless also set)
//   SPKID_FUZZ_SEED=N         the generator's seed; input i is made from seed_seq{N, i}
//   SPKID_FUZZ_REPLAY=PATH    check saved inputs instead: files or folders, ':'-separated
// A failing input is written to the temp dir and named in the failure, with its recipe.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "spkid/audio.h"
#include "spkid/error.h"
#include "synth.h"

namespace spkid {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

// About 6 s of CPU in a Debug build (1 ms an input).
constexpr uint64_t kDefaultIterations = 6000;
constexpr uint32_t kDefaultSeed = 20240611;
// Every this many inputs are also loaded from a file, to compare.
constexpr uint64_t kFileEvery = 4;
// Failures shown in full, enough to see a pattern and few enough to read; the rest are counted.
constexpr uint64_t kMaxReportedFailures = 5;

const std::vector<fuzz::Seed>& seeds() {
  static const std::vector<fuzz::Seed> made = fuzz::make_seeds();
  return made;
}

// A number from the environment, or `fallback` when the variable is unset.
uint64_t env_number(const char* name, uint64_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (*end != '\0') {
    ADD_FAILURE() << name << "=" << text << " is not a number";
    return fallback;
  }
  return value;
}

// Recomputes the CRC of every Ogg page that is whole, so that mutated packets get past libogg's
// page check and reach the Vorbis and Opus decoders.
void fix_ogg_crcs(Bytes& bytes) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t r = i << 24;
      for (int k = 0; k < 8; ++k) r = (r & 0x80000000u) ? (r << 1) ^ 0x04C11DB7u : r << 1;
      t[i] = r;
    }
    return t;
  }();
  const size_t n = bytes.size();
  for (size_t page = 0; page + 27 <= n; ++page) {
    if (std::memcmp(bytes.data() + page, "OggS", 4) != 0) continue;
    const size_t segments = bytes[page + 26];
    if (page + 27 + segments > n) break;
    size_t length = 27 + segments;
    for (size_t s = 0; s < segments; ++s) length += bytes[page + 27 + s];
    if (page + length > n) break;
    std::fill_n(bytes.begin() + static_cast<long>(page + 22), 4, 0);
    uint32_t crc = 0;
    for (size_t i = page; i < page + length; ++i) crc = (crc << 8) ^ table[(crc >> 24) ^ bytes[i]];
    for (int k = 0; k < 4; ++k) bytes[page + 22 + k] = static_cast<uint8_t>(crc >> (8 * k));
    page += length - 1;
  }
}

// Makes one mutated input from the seeds, and says how in `history`.
class Mutator {
 public:
  Mutator(uint32_t seed, uint64_t iteration) {
    std::seed_seq sequence{seed, static_cast<uint32_t>(iteration),
                           static_cast<uint32_t>(iteration >> 32)};
    rng_.seed(sequence);
  }

  Bytes make(size_t& seed_index, std::vector<std::string>& history) {
    seed_index = below(seeds().size());
    Bytes bytes = seeds()[seed_index].bytes;
    const int mutations = 1 << below(4);  // 1, 2, 4 or 8
    for (int m = 0; m < mutations && !bytes.empty(); ++m) history.push_back(mutate(bytes));
    if (below(2) == 0) {
      fix_ogg_crcs(bytes);
      history.push_back("Ogg CRCs fixed");
    }
    return bytes;
  }

 private:
  size_t below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  // Where a header field may be: just after a chunk or page tag the seeds hold, else near the
  // start.
  size_t header_offset(const Bytes& bytes) {
    static const std::vector<std::string> tags = {
        "RIFF", "WAVE",       "fmt ",     "data", "fact", "FORM", "COMM", "SSND", "fLaC",
        "OggS", "\x01vorbis", "OpusHead", "caff", "desc", "ID3",  "Xing", "Info", "LAME"};
    const std::string& tag = tags[below(tags.size())];
    const auto search_end =
        bytes.begin() + static_cast<long>(std::min<size_t>(bytes.size(), 65536));
    std::vector<size_t> found;
    for (auto it = bytes.begin();
         (it = std::search(it, search_end, tag.begin(), tag.end())) != search_end; ++it) {
      found.push_back(static_cast<size_t>(it - bytes.begin()));
    }
    if (found.empty()) return below(std::min<size_t>(bytes.size(), 64));
    return found[below(found.size())] + tag.size() + below(24);
  }

  std::string mutate(Bytes& bytes) {
    std::ostringstream say;
    const size_t n = bytes.size();
    switch (below(11)) {
      case 0: {
        const size_t at = below(n);
        const int bit = static_cast<int>(below(8));
        bytes[at] ^= static_cast<uint8_t>(1 << bit);
        say << "flip bit " << bit << " of byte " << at;
        break;
      }
      case 1: {
        static constexpr uint8_t kBoundary[] = {0x00, 0xFF, 0x7F, 0x80};
        const size_t at = below(n);
        bytes[at] = kBoundary[below(4)];
        say << "byte " << at << " = " << int{bytes[at]};
        break;
      }
      case 2: {
        const size_t at = below(n);
        bytes[at] = static_cast<uint8_t>(below(256));
        say << "byte " << at << " = " << int{bytes[at]};
        break;
      }
      case 3: {
        const size_t size = below(n);
        bytes.resize(size);
        say << "truncate to " << size << " bytes";
        break;
      }
      case 4: {
        const size_t from = below(n), length = 1 + below(std::min<size_t>(n - from, 4096));
        const size_t to = below(n + 1);
        const Bytes chunk(bytes.begin() + static_cast<long>(from),
                          bytes.begin() + static_cast<long>(from + length));
        bytes.insert(bytes.begin() + static_cast<long>(to), chunk.begin(), chunk.end());
        say << "copy " << length << " bytes from " << from << " to " << to;
        break;
      }
      case 5: {
        const size_t at = below(n + 1), length = 1 + below(64);
        const bool zeros = below(2) == 0;
        Bytes inserted(length);
        if (!zeros) {
          for (uint8_t& b : inserted) b = static_cast<uint8_t>(below(256));
        }
        bytes.insert(bytes.begin() + static_cast<long>(at), inserted.begin(), inserted.end());
        say << "insert " << length << (zeros ? " zero" : " random") << " bytes at " << at;
        break;
      }
      case 6: {
        const size_t from = below(n), length = 1 + below(std::min<size_t>(n - from, 4096));
        bytes.erase(bytes.begin() + static_cast<long>(from),
                    bytes.begin() + static_cast<long>(from + length));
        say << "erase " << length << " bytes at " << from;
        break;
      }
      case 7:
      case 8: {
        // Sample rates, channel counts, chunk sizes and frame counts at their extremes.
        static constexpr uint64_t kExtremes[] = {
            0,      1,    2,      0x7F,       0xFF,       0x7FFF,     0x8000,
            0xFFFF, 8000, 384000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, ~uint64_t{0}};
        const size_t at = header_offset(bytes);
        const size_t width = size_t{1} << below(4);  // 1, 2, 4 or 8 bytes
        const bool big_endian = below(2) == 0;
        const uint64_t value = kExtremes[below(std::size(kExtremes))];
        for (size_t k = 0; k < width && at + k < n; ++k) {
          const size_t shift = 8 * (big_endian ? width - 1 - k : k);
          bytes[at + k] = static_cast<uint8_t>(value >> shift);
        }
        say << "field of " << width << " bytes at " << at << " = " << value
            << (big_endian ? " (big-endian)" : " (little-endian)");
        break;
      }
      case 9: {
        const size_t other = below(seeds().size());
        const Bytes& donor = seeds()[other].bytes;
        const size_t keep = below(n + 1), from = below(donor.size());
        bytes.resize(keep);
        bytes.insert(bytes.end(), donor.begin() + static_cast<long>(from), donor.end());
        say << "splice: first " << keep << " bytes, then " << seeds()[other].name << " from "
            << from;
        break;
      }
      case 10: {
        // Float samples at and past the levels that matter: full scale, integer scale, around the
        // decoder's limit (kMaxSampleMagnitude), where the spectrum's power overflows, the float
        // limit, infinity and NaN; a run of them, the same or alternating in sign.
        static constexpr float kLevels[] = {1.0f,  32768.0f, 9.9e5f,    1e6f,         1.1e6f,
                                            1e19f, 3e38f,    HUGE_VALF, std::nanf("")};
        const float level = kLevels[below(std::size(kLevels))];
        const size_t at = below(n), words = 1 + below(64);
        const bool alternate = below(2) == 0, big_endian = below(2) == 0;
        for (size_t w = 0; w < words; ++w) {
          const float value = alternate && w % 2 == 1 ? -level : level;
          uint32_t bits = 0;
          std::memcpy(&bits, &value, sizeof bits);
          for (size_t k = 0; k < 4 && at + 4 * w + k < n; ++k) {
            const size_t shift = 8 * (big_endian ? 3 - k : k);
            bytes[at + 4 * w + k] = static_cast<uint8_t>(bits >> shift);
          }
        }
        say << words << " float samples of " << (alternate ? "+-" : "") << level << " at " << at
            << (big_endian ? " (big-endian)" : " (little-endian)");
        break;
      }
    }
    return say.str();
  }

  std::mt19937 rng_;
};

// A violation with its numbers left out, to count the violations of one kind.
std::string kind_of(const std::string& violation) {
  std::string kind;
  for (char c : violation.substr(0, 100)) {
    const bool digit = c >= '0' && c <= '9';
    if (!digit) {
      kind += c;
    } else if (kind.empty() || kind.back() != '#') {
      kind += '#';
    }
  }
  return kind;
}

std::string write_input(const Bytes& bytes, const std::string& name) {
  const std::string path = (fs::temp_directory_path() / name).string();
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  return path;
}

// decode_audio() on the bytes and load_audio() on a file of them read differently (libsndfile's
// virtual I/O or libmpg123 from memory; a descriptor, pread for MP3): they must agree.
std::string compare_with_file(const Bytes& bytes, const std::string& path) {
  AudioOptions options;
  options.max_seconds = fuzz::kMaxSeconds;
  Audio from_memory, from_file;
  const std::optional<Error> memory_error =
      test::thrown_error([&] { from_memory = decode_audio(bytes.data(), bytes.size(), options); });
  const std::optional<Error> file_error =
      test::thrown_error([&] { from_file = load_audio(path, options); });
  const auto said = [](const std::optional<Error>& error) {
    return error ? std::string(error_code_name(error->code())) + " (" + error->what() + ")"
                 : std::string("decoded");
  };
  if (memory_error.has_value() != file_error.has_value() ||
      (memory_error && memory_error->code() != file_error->code())) {
    return "decode_audio: " + said(memory_error) + "; load_audio of the file: " + said(file_error);
  }
  if (!memory_error && from_memory.samples != from_file.samples) {
    return "decode_audio gave " + std::to_string(from_memory.samples.size()) +
           " samples, load_audio of the file " + std::to_string(from_file.samples.size()) +
           ", or other values";
  }
  return "";
}

TEST(FuzzSeeds, EveryFormatDecodesToSpeechClipsAndFeatures) {
  std::set<std::string> containers;
  for (const fuzz::Seed& seed : seeds()) {
    fuzz::Outcome outcome;
    EXPECT_EQ(fuzz::check_input(seed.bytes.data(), seed.bytes.size(), &outcome), "") << seed.name;
    EXPECT_FALSE(outcome.refused.has_value())
        << seed.name << ": " << error_code_name(outcome.refused.value_or(ErrorCode::kInternal));
    EXPECT_GT(outcome.speech_segments, 0u) << seed.name;
    EXPECT_GT(outcome.clips, 0u) << seed.name;
    EXPECT_GT(outcome.feature_frames, 0) << seed.name;
    containers.insert(decode_audio(seed.bytes.data(), seed.bytes.size()).source.format);
  }
  EXPECT_EQ(containers,
            (std::set<std::string>{"WAV", "FLAC", "OGG", "AIFF", "CAF", "MPEG-1/2 Audio"}));
}

TEST(Fuzz, MutatedSeedsKeepTheInvariants) {
  if (std::getenv("SPKID_FUZZ_REPLAY") != nullptr) GTEST_SKIP() << "replaying saved inputs";
  const auto seed = static_cast<uint32_t>(env_number("SPKID_FUZZ_SEED", kDefaultSeed));
  const uint64_t seconds = env_number("SPKID_FUZZ_SECONDS", 0);
  const uint64_t iterations =
      env_number("SPKID_FUZZ_ITERATIONS", seconds > 0 ? ~uint64_t{0} : kDefaultIterations);
  ASSERT_FALSE(seeds().empty());

  // A crash leaves the input it was checking here.
  const std::string current =
      "spkid-fuzz-current-" + std::to_string(seed) + "-" + std::to_string(::getpid());
  std::cout << "seed " << seed << "; the input being checked is kept in "
            << (fs::temp_directory_path() / current).string() << " until the run ends\n";

  const auto start = std::chrono::steady_clock::now();
  const auto elapsed_seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  // "decoded, with clips", "decoded, no clip", or the name of the refusal's error code.
  std::map<std::string, uint64_t> outcomes;
  uint64_t failures = 0;
  std::map<std::string, uint64_t> violations;  // by kind_of()
  uint64_t done = 0;
  for (; done < iterations; ++done) {
    if (seconds > 0 && elapsed_seconds() >= static_cast<double>(seconds)) break;
    size_t seed_index = 0;
    std::vector<std::string> history;
    const Bytes bytes = Mutator(seed, done).make(seed_index, history);
    const std::string current_path = write_input(bytes, current);
    fuzz::Outcome outcome;
    std::string violation;
    try {
      violation = fuzz::check_input(bytes.data(), bytes.size(), &outcome);
      if (violation.empty() && done % kFileEvery == 0) {
        violation = compare_with_file(bytes, current_path);
      }
    } catch (const std::exception& error) {
      violation = std::string("an exception that is not a spkid::Error: ") + error.what();
    }
    if (outcome.refused) {
      ++outcomes[error_code_name(*outcome.refused)];
    } else {
      ++outcomes[outcome.clips > 0 ? "decoded, with clips" : "decoded, no clip"];
    }
    if (violation.empty()) continue;
    ++violations[kind_of(violation)];
    if (++failures > kMaxReportedFailures) continue;
    std::string recipe;
    for (const std::string& step : history) recipe += "\n  " + step;
    const std::string path = write_input(
        bytes, "spkid-fuzz-failure-" + std::to_string(seed) + "-" + std::to_string(done));
    ADD_FAILURE() << violation << "\ninput: " << path << " (" << bytes.size()
                  << " bytes; check it again with SPKID_FUZZ_REPLAY=" << path << ")"
                  << "\nmade as the last of SPKID_FUZZ_SEED=" << seed
                  << " SPKID_FUZZ_ITERATIONS=" << done + 1 << ", from " << seeds()[seed_index].name
                  << ":" << recipe;
  }
  std::error_code ignored;
  fs::remove(fs::temp_directory_path() / current, ignored);

  std::cout << done << " inputs in " << elapsed_seconds() << " s:";
  for (const auto& [what, count] : outcomes) std::cout << " " << what << " " << count << ";";
  std::cout << "\n";
  if (failures > kMaxReportedFailures) {
    std::string kinds;
    for (const auto& [kind, count] : violations)
      kinds += "\n  " + std::to_string(count) + "x " + kind;
    ADD_FAILURE() << failures << " of the " << done << " inputs violated an invariant; the first "
                  << kMaxReportedFailures << " are above. All of them:" << kinds;
  }
  // Both sides of the decoder are reached: the mutations are neither all harmless nor all fatal.
  EXPECT_GT(outcomes["decoded, with clips"], 0u);
  EXPECT_LT(outcomes["decoded, with clips"] + outcomes["decoded, no clip"], done);
}

// SPKID_FUZZ_REPLAY=crash-1234:corpus-dir checks the inputs a run kept, as decode_fuzzer FILE
// does where there is no clang.
TEST(Fuzz, ReplaysSavedInputs) {
  const char* replay = std::getenv("SPKID_FUZZ_REPLAY");
  if (replay == nullptr) GTEST_SKIP() << "set SPKID_FUZZ_REPLAY to files or folders to check";
  std::vector<std::string> files;
  std::stringstream paths(replay);
  for (std::string path; std::getline(paths, path, ':');) {
    if (fs::is_directory(path)) {
      for (const auto& entry : fs::directory_iterator(path)) {
        if (entry.is_regular_file()) files.push_back(entry.path().string());
      }
    } else {
      files.push_back(path);
    }
  }
  std::sort(files.begin(), files.end());
  for (const std::string& file : files) {
    const std::string text = test::read_text(file);
    const Bytes bytes(text.begin(), text.end());
    EXPECT_EQ(fuzz::check_input(bytes.data(), bytes.size()), "") << file;
  }
  std::cout << files.size() << " inputs checked\n";
}

}  // namespace
}  // namespace spkid
