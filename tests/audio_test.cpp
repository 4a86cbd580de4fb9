// Decoding, mixing to mono, and the three ways in: path, memory, standard input (resampling is
// in resample_test.cpp).
#include "spkid/audio.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sndfile.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "spkid/error.h"
#include "synth.h"

namespace spkid {
namespace {

using test::TempDir;

constexpr double kToneHz = 1000;
constexpr double kToneAmplitude = 0.5;

TEST(MixToMono, AveragesTheChannels) {
  const std::vector<float> stereo = {0.5f, -0.25f, 1.0f, 0.0f, -0.5f, -0.5f};
  EXPECT_EQ(mix_to_mono(stereo.data(), 3, 2), (std::vector<float>{0.125f, 0.5f, -0.5f}));
  const std::vector<float> three = {0.3f, 0.6f, 0.9f};
  ASSERT_EQ(mix_to_mono(three.data(), 1, 3).size(), 1u);
  EXPECT_FLOAT_EQ(mix_to_mono(three.data(), 1, 3)[0], 0.6f);
  EXPECT_THROW(mix_to_mono(three.data(), 1, 0), Error);
}

TEST(LoadAudio, StereoFileBecomesTheMeanOfItsChannels) {
  TempDir dir;
  const std::vector<float> left = test::sine(kToneHz, 0.5, 16000, 0.5);
  const std::vector<float> right = test::white_noise(0.5, 16000, 0.3, 7);
  std::vector<float> interleaved;
  for (size_t i = 0; i < left.size(); ++i) {
    interleaved.push_back(left[i]);
    interleaved.push_back(right[i]);
  }
  const std::string path = dir.file("stereo.wav");
  // Float samples, so the file holds exactly what was written.
  test::write_interleaved(path, interleaved, 16000, 2, SF_FORMAT_WAV | SF_FORMAT_FLOAT);

  const Audio audio = load_audio(path);
  EXPECT_EQ(audio.source.channels, 2);
  ASSERT_EQ(audio.samples.size(), left.size());
  for (size_t i = 0; i < left.size(); ++i) {
    ASSERT_FLOAT_EQ(audio.samples[i], (left[i] + right[i]) / 2) << "sample " << i;
  }
}

TEST(LoadAudio, MonoFileAtTheTargetRateKeepsItsSamples) {
  TempDir dir;
  const std::vector<float> tone = test::sine(kToneHz, 0.5, 16000, kToneAmplitude);
  const std::string path = dir.file("tone.wav");
  test::write_audio(path, tone, 16000);

  const Audio audio = load_audio(path);
  EXPECT_EQ(audio.sample_rate_hz, 16000);
  EXPECT_EQ(audio.source.format, "WAV");
  EXPECT_EQ(audio.source.encoding, "Signed 16 bit PCM");
  EXPECT_EQ(audio.source.frames, static_cast<int64_t>(tone.size()));
  ASSERT_EQ(audio.samples.size(), tone.size());
  for (size_t i = 0; i < tone.size(); ++i) {
    ASSERT_NEAR(audio.samples[i], tone[i], 1.0 / 32768) << "sample " << i;
  }
}

TEST(ProbeAudio, ReadsTheHeaderOnly) {
  TempDir dir;
  const std::string path = dir.file("tone.flac");
  test::write_audio(path, test::sine(kToneHz, 1.5, 22050), 22050, 2);
  const AudioFileInfo info = probe_audio(path);
  EXPECT_EQ(info.format, "FLAC");
  EXPECT_EQ(info.sample_rate_hz, 22050);
  EXPECT_EQ(info.channels, 2);
  EXPECT_EQ(info.frames, 33075);
  EXPECT_DOUBLE_EQ(info.duration_seconds(), 1.5);
}

TEST(LoadAudioSegments, SegmentsJoinIntoTheWholeFile) {
  TempDir dir;
  const std::string path = dir.file("voice.wav");
  test::write_audio(path, test::speech_like({}, 2.5, 16000), 16000);
  const Audio whole = load_audio(path);
  std::vector<std::size_t> sizes;
  std::vector<float> joined;
  load_audio_segments(path, {}, 1.0, [&](Audio&& segment) {
    EXPECT_EQ(segment.sample_rate_hz, 16000);
    EXPECT_EQ(segment.source.frames, whole.source.frames) << "the source is the whole file";
    sizes.push_back(segment.samples.size());
    joined.insert(joined.end(), segment.samples.begin(), segment.samples.end());
  });
  EXPECT_EQ(sizes, (std::vector<std::size_t>{16000, 16000, 8000}));
  EXPECT_EQ(joined, whole.samples);
}

TEST(LoadAudioSegments, ResampledSegmentsMatchTheWholeFileAwayFromTheirEdges) {
  TempDir dir;
  const std::string path = dir.file("voice.flac");
  test::write_audio(path, test::speech_like({}, 2.5, 44100), 44100, 2);
  const Audio whole = load_audio(path);
  std::vector<float> joined;
  load_audio_segments(path, {}, 1.0, [&](Audio&& segment) {
    joined.insert(joined.end(), segment.samples.begin(), segment.samples.end());
  });
  ASSERT_NEAR(static_cast<double>(joined.size()), static_cast<double>(whole.samples.size()), 3);
  // Inside each segment, 20 ms from its edges, the samples are the whole file's.
  for (std::size_t i = 0; i < std::min(joined.size(), whole.samples.size()); ++i) {
    const double in_segment = std::fmod(static_cast<double>(i) / 16000, 1.0);
    if (in_segment < 0.02 || in_segment > 0.98) continue;
    ASSERT_NEAR(joined[i], whole.samples[i], 2e-3) << "sample " << i;
  }
}

TEST(LoadAudioSegments, ADamagedLaterSegmentComesAfterTheEarlierOnesWithItsPlaceInTheFile) {
  TempDir dir;
  const std::string path = dir.file("nan.wav");
  std::vector<float> samples = test::speech_like({}, 2.5, 16000);
  samples[24000] = std::numeric_limits<float>::quiet_NaN();  // at 1.5 s, in the second segment
  test::write_audio(path, samples, 16000, 1, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
  int segments = 0;
  const std::optional<Error> error =
      test::thrown_error([&] { load_audio_segments(path, {}, 1.0, [&](Audio&&) { ++segments; }); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code(), ErrorCode::kNonFiniteAudio);
  EXPECT_NE(std::string(error->what()).find("sample at 1.5 s is NaN"), std::string::npos)
      << error->what();
  EXPECT_EQ(segments, 1);
  // Refused from the header, as load_audio() refuses it: no segment at all.
  AudioOptions short_limit;
  short_limit.max_seconds = 2;
  segments = 0;
  EXPECT_EQ(test::thrown_error([&] {
              load_audio_segments(path, short_limit, 1.0, [&](Audio&&) { ++segments; });
            })->code(),
            test::thrown_error([&] { load_audio(path, short_limit); })->code());
  EXPECT_EQ(segments, 0);
}

// A stereo 44.1 kHz FLAC exercises decoding, mixing and resampling on each way in.
class WaysIn : public ::testing::Test {
 protected:
  void SetUp() override {
    // A reader that stops early must not kill the test with SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);
    test::write_audio(path_, test::speech_like({}, 1.2, 44100), 44100, 2);
    expected_ = load_audio(path_);
    bytes_ = test::read_text(path_);
  }
  void TearDown() override {
    // Closing the read end first frees a writer blocked on a reader that failed early.
    if (read_fd_ >= 0) ::close(read_fd_);
    if (writer_.joinable()) writer_.join();
  }

  // The read end of a pipe that another thread fills with the file's bytes, as `cat` would.
  int pipe_of_bytes() {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    writer_ = std::thread([this, fd = fds[1]] {
      for (size_t written = 0; written < bytes_.size();) {
        const ssize_t n = ::write(fd, bytes_.data() + written, bytes_.size() - written);
        if (n <= 0) break;
        written += static_cast<size_t>(n);
      }
      ::close(fd);
    });
    read_fd_ = fds[0];
    return read_fd_;
  }

  TempDir dir_;
  const std::string path_ = dir_.file("voice.flac");
  Audio expected_;
  std::string bytes_;
  std::thread writer_;
  int read_fd_ = -1;
};

TEST_F(WaysIn, MemoryGivesTheSameSamplesAsThePath) {
  const Audio audio = decode_audio(bytes_.data(), bytes_.size());
  EXPECT_EQ(audio.samples, expected_.samples);
  EXPECT_EQ(audio.source.frames, expected_.source.frames);
  EXPECT_EQ(audio.source.format, "FLAC");
}

TEST_F(WaysIn, StandardInputFromAPipeGivesTheSameSamplesAsThePath) {
  const int pipe = pipe_of_bytes();
  Audio audio;
  test::with_stdin(pipe, [&] { audio = load_audio("-"); });
  EXPECT_EQ(audio.samples, expected_.samples);
}

TEST_F(WaysIn, StandardInputFromAFileGivesTheSameSamplesAsThePath) {
  const int file = ::open(path_.c_str(), O_RDONLY);
  ASSERT_GE(file, 0);
  Audio audio;
  test::with_stdin(file, [&] { audio = load_audio("-"); });
  ::close(file);
  EXPECT_EQ(audio.samples, expected_.samples);
}

TEST_F(WaysIn, NamedPipeGivesTheSameSamplesAsThePath) {
  const int pipe = pipe_of_bytes();
  const Audio audio = load_audio("/dev/fd/" + std::to_string(pipe));
  EXPECT_EQ(audio.samples, expected_.samples);
}

TEST(AudioOptions, ValidateNamesTheBadField) {
  const auto expect_refused = [](const AudioOptions& options, const std::string& field) {
    const std::optional<Error> error = test::thrown_error([&] { options.validate(); });
    ASSERT_TRUE(error.has_value()) << field << " was accepted";
    EXPECT_EQ(error->code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(error->what()).find(field), std::string::npos) << error->what();
  };
  AudioOptions options;
  EXPECT_NO_THROW(options.validate());
  options.sample_rate_hz = 0;
  expect_refused(options, "sample_rate_hz");
  options = {};
  options.min_seconds = -1;
  expect_refused(options, "min_seconds");
  options = {};
  options.max_seconds = 0;
  expect_refused(options, "max_seconds");
  options = {};
  options.min_seconds = 10;
  options.max_seconds = 5;
  expect_refused(options, "min_seconds");
}

}  // namespace
}  // namespace spkid
