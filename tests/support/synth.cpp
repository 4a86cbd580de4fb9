#include "synth.h"

#include <sndfile.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>

namespace spkid::test {

namespace fs = std::filesystem;
constexpr double kPi = 3.14159265358979323846;

std::vector<float> sine(double freq_hz, double seconds, int sample_rate_hz, double amplitude) {
  const auto n = static_cast<size_t>(std::lround(seconds * sample_rate_hz));
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<float>(amplitude * std::sin(2 * kPi * freq_hz * i / sample_rate_hz));
  }
  return out;
}

std::vector<float> silence(double seconds, int sample_rate_hz) {
  return std::vector<float>(static_cast<size_t>(std::lround(seconds * sample_rate_hz)), 0.0f);
}

std::vector<float> white_noise(double seconds, int sample_rate_hz, double amplitude,
                               unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(-amplitude, amplitude);
  std::vector<float> out(static_cast<size_t>(std::lround(seconds * sample_rate_hz)));
  for (auto& x : out) x = static_cast<float>(dist(rng));
  return out;
}

std::vector<float> speech_like(const Voice& voice, double seconds, int sample_rate_hz,
                               unsigned seed) {
  const auto n = static_cast<size_t>(std::lround(seconds * sample_rate_hz));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> jitter(0.9, 1.1);
  std::vector<double> source(n, 0.0);
  // Glottal pulses with vibrato and syllable envelope: 0.25 s voiced, 0.08 s pause.
  const double syllable_s = kSyllableSeconds, pause_s = kSyllablePauseSeconds;
  double phase = 0;
  double syllable_gain = jitter(rng);
  for (size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / sample_rate_hz;
    const double pos = std::fmod(t, syllable_s + pause_s);
    if (pos < 1.0 / sample_rate_hz) syllable_gain = jitter(rng);
    const double f0 = voice.pitch_hz * (1 + 0.03 * std::sin(2 * kPi * 5 * t));
    phase += f0 / sample_rate_hz;
    if (phase >= 1) {
      phase -= 1;
      if (pos < syllable_s) {
        const double env = std::sin(kPi * pos / syllable_s);
        source[i] = env * syllable_gain;
      }
    }
  }
  // Two-pole resonators in series, one per formant.
  std::vector<double> signal = source;
  for (double formant : voice.formants_hz) {
    const double bandwidth = 80 + 0.05 * formant;
    const double r = std::exp(-kPi * bandwidth / sample_rate_hz);
    const double a1 = 2 * r * std::cos(2 * kPi * formant / sample_rate_hz);
    const double a2 = -r * r;
    const double gain = 1 - r;
    double y1 = 0, y2 = 0;
    for (double& x : signal) {
      const double y = gain * x + a1 * y1 + a2 * y2;
      y2 = y1;
      y1 = y;
      x = y;
    }
  }
  double peak = 1e-12;
  for (double x : signal) peak = std::max(peak, std::abs(x));
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(voice.amplitude * signal[i] / peak);
  return out;
}

std::vector<float> concat(const std::vector<std::vector<float>>& parts) {
  std::vector<float> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

double tone_frequency_hz(const std::vector<float>& samples, int sample_rate_hz) {
  float peak = 0;
  for (float x : samples) peak = std::max(peak, std::abs(x));
  const float hysteresis = 0.1f * peak;
  bool armed = false;
  double first = 0, last = 0;
  long crossings = 0;
  for (size_t i = 1; i < samples.size(); ++i) {
    if (samples[i] < -hysteresis) armed = true;
    if (armed && samples[i - 1] < 0 && samples[i] >= 0) {
      const double at = static_cast<double>(i - 1) + samples[i - 1] / (samples[i - 1] - samples[i]);
      if (crossings == 0) first = at;
      last = at;
      ++crossings;
      armed = false;
    }
  }
  if (crossings < 2) return 0;
  return static_cast<double>(crossings - 1) * sample_rate_hz / (last - first);
}

double rms(const std::vector<float>& samples) {
  if (samples.empty()) return 0;
  double sum_squares = 0;
  for (float x : samples) sum_squares += static_cast<double>(x) * x;
  return std::sqrt(sum_squares / static_cast<double>(samples.size()));
}

static int format_for(const std::string& path) {
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".flac") return SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
  if (ext == ".ogg") return SF_FORMAT_OGG | SF_FORMAT_VORBIS;
  if (ext == ".opus") return SF_FORMAT_OGG | SF_FORMAT_OPUS;
  if (ext == ".mp3") return SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
  if (ext == ".aiff" || ext == ".aif") return SF_FORMAT_AIFF | SF_FORMAT_PCM_16;
  return SF_FORMAT_WAV | SF_FORMAT_PCM_16;
}

void write_interleaved(const std::string& path, const std::vector<float>& interleaved,
                       int sample_rate_hz, int channels, int format) {
  SF_INFO info{};
  info.samplerate = sample_rate_hz;
  info.channels = channels;
  info.format = format != 0 ? format : format_for(path);
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  if (!f) throw std::runtime_error("cannot write " + path + ": " + sf_strerror(nullptr));
  // Keep float data unclipped and unnormalised so tests can plant NaN or loud samples.
  sf_command(f, SFC_SET_NORM_FLOAT, nullptr, SF_TRUE);
  const sf_count_t frames = static_cast<sf_count_t>(interleaved.size()) / channels;
  const sf_count_t written = sf_writef_float(f, interleaved.data(), frames);
  sf_close(f);
  if (written != frames) throw std::runtime_error("short write to " + path);
}

void write_audio(const std::string& path, const std::vector<float>& samples, int sample_rate_hz,
                 int channels, int format) {
  std::vector<float> interleaved(samples.size() * channels);
  for (size_t i = 0; i < samples.size(); ++i) {
    for (int c = 0; c < channels; ++c) interleaved[i * channels + c] = samples[i] / (c + 1);
  }
  write_interleaved(path, interleaved, sample_rate_hz, channels, format);
}

void write_text(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "spkid-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::optional<Error> thrown_error(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error;
  }
  return std::nullopt;
}

namespace {

// Runs `action` with descriptor `target` pointing where `fd` points, then restores it, also
// when `action` throws.
void with_redirected(int target, int fd, const std::function<void()>& action) {
  const int saved = ::dup(target);
  if (saved < 0 || ::dup2(fd, target) < 0) {
    throw std::runtime_error("cannot redirect descriptor " + std::to_string(target));
  }
  struct Restore {
    int target, saved;
    ~Restore() {
      ::dup2(saved, target);
      ::close(saved);
    }
  } restore{target, saved};
  action();
}

}  // namespace

void with_stdin(int fd, const std::function<void()>& action) {
  with_redirected(STDIN_FILENO, fd, action);
}

std::string stderr_of(const std::function<void()>& action) {
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> capture(std::tmpfile(), &std::fclose);
  if (!capture) throw std::runtime_error("cannot make a file to capture stderr");
  std::fflush(stderr);
  with_redirected(STDERR_FILENO, ::fileno(capture.get()), [&] {
    action();
    std::fflush(stderr);
  });
  std::string text;
  std::rewind(capture.get());
  for (int c; (c = std::fgetc(capture.get())) != EOF;) text += static_cast<char>(c);
  return text;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

CommandResult run_command(const std::string& command) {
  TempDir dir;
  const std::string out_path = dir.file("out"), err_path = dir.file("err");
  const std::string full =
      command + " >" + shell_quote(out_path) + " 2>" + shell_quote(err_path) + " </dev/null";
  const int status = std::system(full.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_text(out_path);
  r.err = read_text(err_path);
  return r;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> objects;
  for (const std::string& line : lines_of(text)) objects.push_back(nlohmann::json::parse(line));
  return objects;
}

}  // namespace spkid::test
