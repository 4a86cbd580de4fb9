// Every kind of bad input gives its own ErrorCode and a one-line message that names the file.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sndfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "spkid/audio.h"
#include "spkid/error.h"
#include "spkid/vad.h"
#include "synth.h"

namespace spkid {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

constexpr int kRate = 16000;

// Loading `path` fails with `code` and a one-line message naming `name`.
void expect_load_error(const std::string& path, ErrorCode code, const AudioOptions& options = {},
                       const std::string& name = "") {
  const std::optional<Error> error = test::thrown_error([&] { load_audio(path, options); });
  ASSERT_TRUE(error.has_value()) << path << " loaded";
  EXPECT_EQ(error_code_name(error->code()), std::string(error_code_name(code))) << error->what();
  const std::string message = error->what();
  EXPECT_NE(message.find(name.empty() ? path : name), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

void patch_bytes(const std::string& path, std::streamoff offset,
                 const std::vector<uint8_t>& bytes) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(offset);
  file.write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

TEST(BadInput, EmptyFile) {
  TempDir dir;
  const std::string path = dir.file("empty.wav");
  test::write_text(path, "");
  expect_load_error(path, ErrorCode::kEmptyAudio);
  EXPECT_EQ(test::thrown_error([&] { probe_audio(path); })->code(), ErrorCode::kEmptyAudio);
}

TEST(BadInput, TextRenamedToWav) {
  TempDir dir;
  const std::string path = dir.file("notes.wav");
  test::write_text(path, "Meeting notes: remember to enroll Alice on Monday.\n");
  expect_load_error(path, ErrorCode::kUnsupportedFormat);
  const std::string message = test::thrown_error([&] { load_audio(path); })->what();
  EXPECT_NE(message.find("convert it to WAV or FLAC"), std::string::npos) << message;
}

TEST(BadInput, HeaderWithoutItsAudio) {
  TempDir dir;
  const std::string path = dir.file("header-only.wav");
  test::write_audio(path, test::sine(440, 1.0, kRate), kRate);
  fs::resize_file(path, 44);  // the canonical WAV header, declaring 32000 bytes of audio
  expect_load_error(path, ErrorCode::kCorruptAudio);
}

TEST(BadInput, FileCutInsideItsHeaderIsDamagedNotAnotherKindOfFile) {
  TempDir dir;
  for (const char* extension : {"wav", "aiff", "flac"}) {
    const std::string whole = dir.file(std::string("whole.") + extension);
    test::write_audio(whole, test::sine(440, 1.0, kRate), kRate);
    for (const uintmax_t kept : {12u, 20u, 30u}) {
      const std::string path = dir.file("cut-" + std::to_string(kept) + "." + extension);
      fs::copy_file(whole, path);
      fs::resize_file(path, kept);
      expect_load_error(path, ErrorCode::kCorruptAudio);
      const std::string message = test::thrown_error([&] { load_audio(path); })->what();
      EXPECT_NE(message.find("cut-short header"), std::string::npos) << message;
    }
  }
}

TEST(BadInput, WavWithNoFrames) {
  TempDir dir;
  const std::string path = dir.file("no-frames.wav");
  test::write_audio(path, {}, kRate);
  expect_load_error(path, ErrorCode::kEmptyAudio);
}

// A container or codec, and the fraction of the file left after the cut.
class TruncatedTest : public ::testing::TestWithParam<std::tuple<std::string, double>> {};

TEST_P(TruncatedTest, FileCutInItsAudioIsCorrupt) {
  const auto& [extension, fraction_kept] = GetParam();
  TempDir dir;
  const std::string path = dir.file("cut." + extension);
  test::write_audio(path, test::speech_like({}, 2.0, kRate), kRate);
  fs::resize_file(path,
                  static_cast<uintmax_t>(static_cast<double>(fs::file_size(path)) * fraction_kept));
  expect_load_error(path, ErrorCode::kCorruptAudio);
}

INSTANTIATE_TEST_SUITE_P(Formats, TruncatedTest,
                         ::testing::Combine(::testing::Values("wav", "aiff", "flac", "ogg", "opus",
                                                              "mp3"),
                                            ::testing::Values(0.5, 0.9)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_kept" +
                                  std::to_string(static_cast<int>(std::get<1>(info.param) * 100)) +
                                  "percent";
                         });

TEST(BadInput, TruncatedFloatWavIsCorrupt) {
  TempDir dir;
  const std::string path = dir.file("cut-float.wav");
  test::write_audio(path, test::sine(440, 1.0, kRate), kRate, 2, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
  fs::resize_file(path, fs::file_size(path) - 1001);
  expect_load_error(path, ErrorCode::kCorruptAudio);
}

TEST(BadInput, StreamingWavSizesAreNotATruncation) {
  // A writer that cannot seek back (ffmpeg to a pipe) leaves 0xFFFFFFFF as RIFF and data sizes.
  TempDir dir;
  const std::string path = dir.file("streamed.wav");
  const std::vector<float> tone = test::sine(440, 1.0, kRate);
  test::write_audio(path, tone, kRate);
  patch_bytes(path, 4, {0xFF, 0xFF, 0xFF, 0xFF});
  patch_bytes(path, 40, {0xFF, 0xFF, 0xFF, 0xFF});
  EXPECT_EQ(load_audio(path).samples.size(), tone.size());
}

TEST(BadInput, TooShort) {
  TempDir dir;
  const std::string path = dir.file("blip.wav");
  test::write_audio(path, test::sine(440, 0.05, kRate), kRate);
  expect_load_error(path, ErrorCode::kAudioTooShort);
}

TEST(BadInput, DigitalSilenceLoadsButHasNoSpeech) {
  // load_audio accepts silence; callers that need speech (features, enroll) raise kNoSpeech.
  TempDir dir;
  const std::string path = dir.file("silence.wav");
  test::write_audio(path, test::silence(5.0, kRate), kRate);
  const Audio audio = load_audio(path);
  EXPECT_DOUBLE_EQ(audio.duration_seconds(), 5.0);
  const VadResult vad = detect_speech(audio.samples, audio.sample_rate_hz);
  EXPECT_TRUE(vad.segments.empty());
  EXPECT_EQ(vad.speech_seconds, 0.0);
}

TEST(BadInput, NanInFloatWav) {
  TempDir dir;
  const std::string path = dir.file("nan.wav");
  std::vector<float> tone = test::sine(440, 1.0, kRate);
  tone[8000] = std::numeric_limits<float>::quiet_NaN();
  test::write_audio(path, tone, kRate, 1, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
  expect_load_error(path, ErrorCode::kNonFiniteAudio);
  const std::string message = test::thrown_error([&] { load_audio(path); })->what();
  EXPECT_NE(message.find("0.5 s"), std::string::npos) << message;
}

TEST(BadInput, InfinityInOneChannelOfAResampledFile) {
  TempDir dir;
  const std::string path = dir.file("inf.wav");
  std::vector<float> interleaved(2 * 44100, 0.1f);  // 1 s of stereo
  interleaved[2 * 1000 + 1] = std::numeric_limits<float>::infinity();
  test::write_interleaved(path, interleaved, 44100, 2, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
  expect_load_error(path, ErrorCode::kNonFiniteAudio);
}

// Finite floats far beyond full scale overflowed the resampler (NaN everywhere at 3e38) and the
// float power spectrum (infinite features at 1e19); integer-scaled float files still load.
TEST(BadInput, FloatSamplesAMillionTimesFullScaleAreDamage) {
  TempDir dir;
  for (const auto& [rate, value] :
       {std::pair{8000, 3e38f}, std::pair{kRate, 1e19f}, std::pair{kRate, -2e6f}}) {
    const std::string path = dir.file("huge.wav");
    std::vector<float> tone = test::sine(440, 0.5, rate, 0.3);
    tone[static_cast<size_t>(rate / 4)] = value;
    test::write_audio(path, tone, rate, 1, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
    expect_load_error(path, ErrorCode::kCorruptAudio);
    const std::string message = test::thrown_error([&] { load_audio(path); })->what();
    EXPECT_NE(message.find("sample at 0.25 s is "), std::string::npos) << message;
    EXPECT_NE(message.find("a million times full scale"), std::string::npos) << message;
  }
  // Just under the limit at 8 kHz, but over it once resampled (the filter overshoots): refused
  // by the decoder, not by the feature stage as the caller's fault.
  const std::string square = dir.file("square.wav");
  std::vector<float> wave(1600);
  for (size_t i = 0; i < wave.size(); ++i) wave[i] = (i / 20) % 2 == 0 ? 9.9e5f : -9.9e5f;
  test::write_audio(square, wave, 8000, 1, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
  expect_load_error(square, ErrorCode::kCorruptAudio);
  const std::string path = dir.file("integer-scaled.wav");
  test::write_audio(path, test::sine(440, 0.5, 8000, 32767.0), 8000, 1,
                    SF_FORMAT_WAV | SF_FORMAT_FLOAT);
  const Audio audio = load_audio(path);
  EXPECT_GT(test::rms(audio.samples), 20000.0);
}

TEST(BadInput, MissingPath) {
  TempDir dir;
  expect_load_error(dir.file("nobody.wav"), ErrorCode::kNotFound);
  expect_load_error(dir.file("no-folder/nobody.wav"), ErrorCode::kNotFound);
  EXPECT_EQ(test::thrown_error([&] { probe_audio(dir.file("nobody.wav")); })->code(),
            ErrorCode::kNotFound);
}

TEST(BadInput, Directory) {
  TempDir dir;
  expect_load_error(dir.path(), ErrorCode::kIo);
}

TEST(BadInput, UnreadableFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files whatever their permissions";
  TempDir dir;
  const std::string path = dir.file("private.wav");
  test::write_audio(path, test::sine(440, 1.0, kRate), kRate);
  ::chmod(path.c_str(), 0);
  expect_load_error(path, ErrorCode::kIo);
}

TEST(BadInput, LongerThanMaxSeconds) {
  TempDir dir;
  const std::string path = dir.file("long.flac");
  test::write_audio(path, test::sine(440, 3.0, kRate), kRate);
  AudioOptions options;
  options.max_seconds = 2;
  expect_load_error(path, ErrorCode::kAudioTooLong, options);
  options.max_seconds = 4;
  EXPECT_NO_THROW(load_audio(path, options));
}

TEST(BadInput, TooLongIsRefusedFromTheHeaderBeforeDecoding) {
  TempDir dir;
  const std::string path = dir.file("claims-two-hours.flac");
  test::write_audio(path, test::sine(440, 1.0, kRate), kRate);
  // STREAMINFO's 36-bit sample count ends at byte 25; declare 2 h at 16 kHz (0x06DDD000).
  patch_bytes(path, 22, {0x06, 0xDD, 0xD0, 0x00});
  ASSERT_EQ(probe_audio(path).frames, 7200L * kRate);
  // Decoding would find only 1 s and call the file truncated; the header check comes first.
  expect_load_error(path, ErrorCode::kAudioTooLong);
}

// The error load_audio("-") throws with `fd` as standard input.
std::optional<Error> load_stdin_error(int fd) {
  std::optional<Error> error;
  test::with_stdin(fd, [&] { error = test::thrown_error([] { load_audio("-"); }); });
  return error;
}

TEST(BadInput, EmptyStandardInput) {
  const int null = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(null, 0);
  const std::optional<Error> error = load_stdin_error(null);
  ::close(null);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code(), ErrorCode::kEmptyAudio);
  EXPECT_NE(std::string(error->what()).find("<stdin>"), std::string::npos) << error->what();
}

TEST(BadInput, StandardInputThatIsATerminal) {
  // Waiting for someone to type audio would hang; a pseudo-terminal stands in for the keyboard.
  const int terminal = ::posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT_GE(terminal, 0);
  ASSERT_EQ(::grantpt(terminal), 0);
  ASSERT_EQ(::unlockpt(terminal), 0);
  const int keyboard = ::open(::ptsname(terminal), O_RDONLY | O_NOCTTY);
  ASSERT_GE(keyboard, 0);
  const std::optional<Error> error = load_stdin_error(keyboard);
  ::close(keyboard);
  ::close(terminal);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(std::string(error->what()).find("terminal"), std::string::npos) << error->what();
}

TEST(BadInput, SampleRateTooFarFromTheTarget) {
  TempDir dir;
  const std::string path = dir.file("50hz.wav");
  test::write_audio(path, test::sine(5, 1.0, 50), 50);  // 320 times below 16 kHz
  expect_load_error(path, ErrorCode::kUnsupportedFormat);
}

TEST(BadInput, BadBytesInMemoryNameTheirSource) {
  const std::string text = "not audio at all";
  const std::optional<Error> error =
      test::thrown_error([&] { decode_audio(text.data(), text.size(), {}, "upload-17"); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code(), ErrorCode::kUnsupportedFormat);
  EXPECT_EQ(std::string(error->what()).rfind("upload-17: ", 0), 0u) << error->what();
  EXPECT_EQ(test::thrown_error([] { decode_audio(nullptr, 0); })->code(), ErrorCode::kEmptyAudio);
}

}  // namespace
}  // namespace spkid
