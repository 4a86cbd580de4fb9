// MP3 decoding: the same samples libsndfile's decoder gives, damaged data refused rather than
// skipped, tags after the audio accepted, and nothing printed whatever the bytes; the same for
// MPEG audio inside a WAV file.
#include <gtest/gtest.h>
#include <sndfile.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "spkid/audio.h"
#include "spkid/error.h"
#include "synth.h"

namespace spkid {
namespace {

using test::TempDir;

constexpr int kRate = 16000;

std::string mp3_bytes(const TempDir& dir, int rate = kRate, int channels = 1) {
  const std::string path = dir.file("voice-source.mp3");
  test::write_audio(path, test::speech_like({}, 3.0, rate), rate, channels);
  return test::read_text(path);
}

// libsndfile's own MP3 decoding of `path`, mixed to mono.
std::vector<float> libsndfile_mono(const std::string& path) {
  SF_INFO info{};
  SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
  EXPECT_NE(file, nullptr) << sf_strerror(nullptr);
  if (file == nullptr) return {};
  std::vector<float> interleaved(static_cast<size_t>(info.frames * info.channels));
  const sf_count_t got = sf_readf_float(file, interleaved.data(), info.frames);
  sf_close(file);
  std::vector<float> mono(static_cast<size_t>(got));
  for (sf_count_t i = 0; i < got; ++i) {
    float sum = 0;
    for (int c = 0; c < info.channels; ++c) sum += interleaved[size_t(i * info.channels + c)];
    mono[size_t(i)] = sum / static_cast<float>(info.channels);
  }
  return mono;
}

TEST(Mp3, DecodesTheSameSamplesAsLibsndfile) {
  for (const auto& [rate, channels] : {std::pair{16000, 1}, std::pair{44100, 2}}) {
    TempDir dir;
    const std::string path = dir.file("voice.mp3");
    test::write_text(path, mp3_bytes(dir, rate, channels));
    AudioOptions native;
    native.sample_rate_hz = rate;
    std::string printed;
    Audio audio;
    printed = test::stderr_of([&] { audio = load_audio(path, native); });
    EXPECT_EQ(printed, "");
    EXPECT_EQ(audio.source.format, "MPEG-1/2 Audio");
    EXPECT_EQ(audio.source.encoding, "MPEG Layer III");
    EXPECT_EQ(audio.source.channels, channels);
    const std::vector<float> expected = libsndfile_mono(path);
    ASSERT_EQ(audio.samples.size(), expected.size()) << rate << " Hz";
    for (size_t i = 0; i < expected.size(); ++i) {
      ASSERT_NEAR(audio.samples[i], expected[i], 1e-4) << rate << " Hz, sample " << i;
    }
    // From memory, as from the file.
    const std::string bytes = test::read_text(path);
    EXPECT_EQ(decode_audio(bytes.data(), bytes.size(), native).samples, audio.samples);
  }
}

TEST(Mp3, DataTheDecoderWouldHaveToSkipIsRefused) {
  TempDir dir;
  std::string bytes = mp3_bytes(dir);
  // 400 zero bytes from the middle: the frames after them are found only by skipping.
  bytes.replace(bytes.size() / 2, 400, std::string(400, '\0'));
  const std::string path = dir.file("damaged.mp3");
  test::write_text(path, bytes);
  std::optional<Error> error;
  const std::string printed =
      test::stderr_of([&] { error = test::thrown_error([&] { load_audio(path); }); });
  ASSERT_TRUE(error.has_value()) << "a damaged MP3 loaded";
  EXPECT_EQ(error->code(), ErrorCode::kCorruptAudio);
  EXPECT_NE(std::string(error->what()).find(path + ": damaged MPEG audio after 1."),
            std::string::npos)
      << error->what();
  EXPECT_EQ(printed, "") << "the decoder's own lines";
}

TEST(Mp3, TagsAndPaddingAfterTheLastFrameAreNoDamage) {
  TempDir dir;
  const std::string sound = mp3_bytes(dir);
  const std::string path = dir.file("sound.mp3");
  test::write_text(path, sound);
  const size_t frames = load_audio(path).samples.size();

  std::string id3v1 = "TAG" + std::string(125, '\0');
  std::string ape = "APETAGEX" + std::string(24, '\0');
  for (const std::string& tail : {id3v1, ape + id3v1, std::string(100, '\0'),
                                  std::string("LYRICSBEGINhello000016LYRICS200") + id3v1}) {
    const std::string tagged = dir.file("tagged.mp3");
    test::write_text(tagged, sound + tail);
    EXPECT_EQ(load_audio(tagged).samples.size(), frames) << tail.substr(0, 8);
  }
}

TEST(Mp3, AMutatedFileLoadsOrIsRefusedAndNothingIsPrinted) {
  TempDir dir;
  const std::string sound = mp3_bytes(dir);
  std::mt19937 rng(11);
  const std::string path = dir.file("mutated.mp3");
  for (int trial = 0; trial < 60; ++trial) {
    std::string bytes = sound;
    const int flips = 1 << (trial % 5);
    for (int k = 0; k < flips; ++k) {
      bytes[rng() % bytes.size()] = static_cast<char>(rng() & 0xFF);
    }
    test::write_text(path, bytes);
    std::optional<Error> error;
    const std::string printed =
        test::stderr_of([&] { error = test::thrown_error([&] { load_audio(path); }); });
    EXPECT_EQ(printed, "") << "trial " << trial;
    if (error) EXPECT_EQ(std::string(error->what()).find('\n'), std::string::npos);
  }
}

// A WAV file whose data chunk holds `mp3` (format tag 0x0055, MPEG Layer III), as some
// recorders and converters write.
std::string wav_around_mp3(const std::string& mp3, int rate = kRate) {
  const auto le16 = [](unsigned v) { return std::string{char(v & 0xFF), char(v >> 8 & 0xFF)}; };
  const auto le32 = [&](unsigned v) { return le16(v & 0xFFFF) + le16(v >> 16); };
  const std::string fmt = le16(0x0055) + le16(1) + le32(unsigned(rate)) + le32(2000) + le16(1) +
                          le16(0) + le16(12) + le16(1) + le32(2) + le16(209) + le16(1) + le16(1393);
  const std::string body = "WAVEfmt " + le32(unsigned(fmt.size())) + fmt + "fact" + le32(4) +
                           le32(unsigned(3 * rate)) + "data" + le32(unsigned(mp3.size())) + mp3;
  return "RIFF" + le32(unsigned(body.size())) + body;
}

TEST(Mp3InWav, DecodesAsTheMp3ItHolds) {
  TempDir dir;
  const std::string mp3 = mp3_bytes(dir);
  const std::string path = dir.file("mpeg.wav");
  test::write_text(path, wav_around_mp3(mp3));
  Audio audio;
  EXPECT_EQ(test::stderr_of([&] { audio = load_audio(path); }), "");
  EXPECT_EQ(audio.source.format, "WAV");
  EXPECT_EQ(audio.source.encoding, "MPEG Layer III");
  EXPECT_EQ(audio.samples, decode_audio(mp3.data(), mp3.size()).samples);
  const std::string bytes = test::read_text(path);
  EXPECT_EQ(decode_audio(bytes.data(), bytes.size()).samples, audio.samples);
  // A streaming writer's placeholder size: the data chunk runs to the end of the file.
  std::string streamed = bytes;
  const size_t data_size_at = streamed.find("data") + 4;
  streamed.replace(data_size_at, 4, std::string(4, '\xFF'));
  EXPECT_EQ(decode_audio(streamed.data(), streamed.size()).samples, audio.samples);
}

TEST(Mp3InWav, CutDamagedOrJunkDataIsRefusedClearlyAndNothingIsPrinted) {
  TempDir dir;
  const std::string mp3 = mp3_bytes(dir);
  std::string damaged = mp3;
  damaged.replace(damaged.size() / 2, 400, std::string(400, '\0'));
  std::mt19937 rng(3);
  std::string junk(5000, '\0');
  for (char& c : junk) c = static_cast<char>(rng() & 0xFF);
  const std::string whole = wav_around_mp3(mp3);
  struct Case {
    std::string name;
    std::string bytes;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {"cut.wav", whole.substr(0, whole.size() / 3), "truncated: the header declares"},
           {"damaged.wav", wav_around_mp3(damaged), "damaged MPEG audio after 1."},
           {"junk.wav", wav_around_mp3(junk), "no MPEG audio frame found"}}) {
    const std::string path = dir.file(c.name);
    test::write_text(path, c.bytes);
    std::optional<Error> error;
    const std::string printed =
        test::stderr_of([&] { error = test::thrown_error([&] { load_audio(path); }); });
    ASSERT_TRUE(error.has_value()) << c.name << " loaded";
    const std::string message = error->what();
    EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
    EXPECT_NE(message.find(c.says), std::string::npos) << message;
    EXPECT_EQ(message.find("does not exist"), std::string::npos) << message;
    EXPECT_EQ(printed, "") << c.name << ": the decoder's own lines";
  }
}

}  // namespace
}  // namespace spkid
