// Every container, codec, rate and channel count the tests can write loads to 16 kHz mono with
// its duration and its tone intact.
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <string>
#include <vector>

#include "spkid/audio.h"
#include "synth.h"

namespace spkid {
namespace {

struct Format {
  std::string extension;  // picks the container and codec in test::write_audio
  std::string container;  // what AudioFileInfo::format should say
  int sample_rate_hz;
  int channels;
};

std::vector<Format> all_formats() {
  std::vector<Format> formats;
  const auto add = [&](const std::string& extension, const std::string& container,
                       std::vector<int> rates) {
    for (int rate : rates) {
      for (int channels : {1, 2}) formats.push_back({extension, container, rate, channels});
    }
  };
  const std::vector<int> rates = {8000, 16000, 22050, 44100, 48000};
  add("wav", "WAV", rates);
  add("flac", "FLAC", rates);
  add("ogg", "OGG", rates);
  add("aiff", "AIFF", rates);
  add("mp3", "MPEG-1/2 Audio", rates);
  add("opus", "OGG", {8000, 16000, 48000});  // the rates Opus codes natively
  return formats;
}

void PrintTo(const Format& format, std::ostream* out) {
  *out << format.extension << " " << format.sample_rate_hz << " Hz " << format.channels << " ch";
}

class FormatsTest : public ::testing::TestWithParam<Format> {};

TEST_P(FormatsTest, LoadsAs16kHzMonoWithDurationAndTone) {
  const Format& format = GetParam();
  constexpr double kSeconds = 1.5, kToneHz = 1000, kAmplitude = 0.5;
  test::TempDir dir;
  const std::string path = dir.file("tone." + format.extension);
  test::write_audio(path, test::sine(kToneHz, kSeconds, format.sample_rate_hz, kAmplitude),
                    format.sample_rate_hz, format.channels);

  const Audio audio = load_audio(path);
  EXPECT_EQ(audio.source.format, format.container);
  EXPECT_EQ(audio.source.sample_rate_hz, format.sample_rate_hz);
  EXPECT_EQ(audio.source.channels, format.channels);
  EXPECT_EQ(audio.sample_rate_hz, 16000);
  EXPECT_NEAR(audio.duration_seconds(), kSeconds, 2e-3);

  // Skip the ends, where codecs and converters settle.
  const std::vector<float> steady(audio.samples.begin() + 1600, audio.samples.end() - 1600);
  EXPECT_NEAR(test::tone_frequency_hz(steady, 16000), kToneHz, 1.0);
  // write_audio scales channel c by 1/(c+1), so stereo mixes to 3/4 of the tone.
  const double level = format.channels == 1 ? 1.0 : 0.75;
  EXPECT_NEAR(test::rms(steady), level * kAmplitude / std::sqrt(2.0), 0.05 * level * kAmplitude);
}

INSTANTIATE_TEST_SUITE_P(All, FormatsTest, ::testing::ValuesIn(all_formats()),
                         [](const ::testing::TestParamInfo<Format>& info) {
                           return info.param.extension + "_" +
                                  std::to_string(info.param.sample_rate_hz) + "Hz_" +
                                  (info.param.channels == 1 ? "mono" : "stereo");
                         });

}  // namespace
}  // namespace spkid
