// Audio the tests make for themselves: tones, speech-like voices, silences, files on disk.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "spkid/error.h"

namespace spkid::test {

std::vector<float> sine(double freq_hz, double seconds, int sample_rate_hz, double amplitude = 0.5);
std::vector<float> silence(double seconds, int sample_rate_hz);
std::vector<float> white_noise(double seconds, int sample_rate_hz, double amplitude, unsigned seed);

// A voiced, speech-like signal: a glottal pulse train at `pitch_hz` (with slow vibrato)
// shaped by formant resonances, in syllables of kSyllableSeconds separated by pauses of
// kSyllablePauseSeconds; the first syllable starts at 0.
constexpr double kSyllableSeconds = 0.25;
constexpr double kSyllablePauseSeconds = 0.08;
struct Voice {
  double pitch_hz = 120;
  std::vector<double> formants_hz = {700, 1200, 2600};
  double amplitude = 0.3;
};
std::vector<float> speech_like(const Voice& voice, double seconds, int sample_rate_hz,
                               unsigned seed = 1);

std::vector<float> concat(const std::vector<std::vector<float>>& parts);

// Frequency of a steady tone, from the spacing of its rising zero crossings (interpolated
// between samples, with hysteresis so that low-level noise adds no crossings).
double tone_frequency_hz(const std::vector<float>& samples, int sample_rate_hz);
// Root mean square level.
double rms(const std::vector<float>& samples);

// Writes samples with libsndfile. `format` is a libsndfile SF_FORMAT_* major|subtype value;
// the default (0) picks from the extension: .wav PCM_16, .flac PCM_16, .ogg Vorbis, .opus Opus,
// .mp3 MPEG Layer III, .aiff PCM_16.
// With channels > 1 the mono samples are duplicated (channel c scaled by 1/(c+1)).
void write_audio(const std::string& path, const std::vector<float>& samples, int sample_rate_hz,
                 int channels = 1, int format = 0);
// Writes interleaved multichannel samples.
void write_interleaved(const std::string& path, const std::vector<float>& interleaved,
                       int sample_rate_hz, int channels, int format);

void write_text(const std::string& path, const std::string& contents);
std::string read_text(const std::string& path);

// A fresh empty directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Runs a shell command; returns its exit status and what it wrote to stdout and stderr.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandResult run_command(const std::string& command);

// A command's output, a line each (without the newlines); and the same parsed as JSON lines.
std::vector<std::string> lines_of(const std::string& text);
std::vector<nlohmann::json> json_lines(const std::string& text);

// The spkid::Error that `action` throws, or nothing when it returns normally.
std::optional<Error> thrown_error(const std::function<void()>& action);

// Runs `action` in this process with standard input read from `fd`, then restores it.
void with_stdin(int fd, const std::function<void()>& action);

// What `action` writes to standard error (file descriptor 2, so a C library's output too); an
// exception from `action` passes through after stderr is restored.
std::string stderr_of(const std::function<void()>& action);

// Quotes a string for /bin/sh.
std::string shell_quote(const std::string& s);

}  // namespace spkid::test
