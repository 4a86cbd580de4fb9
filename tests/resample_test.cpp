// Resampling: every quality keeps a tone and the length; the band-limited ones remove what lies
// above the new Nyquist frequency; names and bad rates.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "spkid/audio.h"
#include "spkid/error.h"
#include "synth.h"

namespace spkid {
namespace {

constexpr int kTargetHz = 16000;
constexpr double kToneAmplitude = 0.5;
const double kToneRms = kToneAmplitude / std::sqrt(2.0);

// The qualities that low-pass filter before decimating; zero-order hold and linear do not.
const std::vector<ResampleQuality> kBandLimited = {
    ResampleQuality::kSoxrVeryHigh, ResampleQuality::kSoxrHigh, ResampleQuality::kSincBest,
    ResampleQuality::kSincMedium, ResampleQuality::kSincFastest};

// The middle of a signal, away from the converter's start-up and end effects.
std::vector<float> middle(const std::vector<float>& samples) {
  const size_t margin = samples.size() / 10;
  return {samples.begin() + static_cast<long>(margin), samples.end() - static_cast<long>(margin)};
}

double level_db(double rms) { return 20 * std::log10(rms / kToneRms); }

std::string test_name(int from_hz, ResampleQuality quality) {
  std::string name = std::to_string(from_hz) + "Hz_" + resample_quality_name(quality);
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

class ResampleTone : public ::testing::TestWithParam<std::tuple<int, ResampleQuality>> {};

TEST_P(ResampleTone, KeepsFrequencyLevelAndLength) {
  const auto [from_hz, quality] = GetParam();
  const std::vector<float> tone = test::sine(1000, 1.0, from_hz, kToneAmplitude);
  const std::vector<float> out = resample(tone, from_hz, kTargetHz, quality);

  EXPECT_NEAR(static_cast<double>(out.size()),
              static_cast<double>(tone.size()) * kTargetHz / from_hz, 1.0);
  EXPECT_NEAR(test::tone_frequency_hz(middle(out), kTargetHz), 1000, 0.5);
  // Linear interpolation loses 0.3 dB at 1 kHz when upsampling from 8 kHz.
  EXPECT_NEAR(test::rms(middle(out)), kToneRms, 0.05 * kToneRms);
}

INSTANTIATE_TEST_SUITE_P(EveryQuality, ResampleTone,
                         ::testing::Combine(::testing::Values(8000, 22050, 44100, 48000),
                                            ::testing::ValuesIn(resample_qualities())),
                         [](const auto& info) {
                           return test_name(std::get<0>(info.param), std::get<1>(info.param));
                         });

class ResampleAntiAliasing : public ::testing::TestWithParam<std::tuple<int, ResampleQuality>> {};

TEST_P(ResampleAntiAliasing, RemovesTonesAboveTheNewNyquist) {
  const auto [from_hz, quality] = GetParam();
  // Unfiltered, 9 kHz would fold to 7 kHz and 12 kHz to 4 kHz, inside the Mel bands.
  for (double freq_hz : {9000.0, 12000.0}) {
    const std::vector<float> out =
        resample(test::sine(freq_hz, 1.0, from_hz, kToneAmplitude), from_hz, kTargetHz, quality);
    EXPECT_LT(level_db(test::rms(middle(out))), -90) << freq_hz << " Hz";
  }
}

INSTANTIATE_TEST_SUITE_P(BandLimitedQualities, ResampleAntiAliasing,
                         ::testing::Combine(::testing::Values(44100, 48000),
                                            ::testing::ValuesIn(kBandLimited)),
                         [](const auto& info) {
                           return test_name(std::get<0>(info.param), std::get<1>(info.param));
                         });

TEST(Resample, DefaultKeepsThePassbandUpTo7kHz) {
  // The top Mel bands reach 8 kHz; libsamplerate's sinc-medium is already 0.3 dB down at 7 kHz.
  for (int from_hz : {44100, 48000}) {
    const std::vector<float> out =
        resample(test::sine(7000, 1.0, from_hz, kToneAmplitude), from_hz, kTargetHz);
    EXPECT_NEAR(level_db(test::rms(middle(out))), 0, 0.05) << from_hz << " Hz";
  }
}

TEST(LoadAudio, ResamplesWithTheQualityAsked) {
  test::TempDir dir;
  const std::string path = dir.file("tone.flac");
  test::write_audio(path, test::sine(7000, 1.0, 44100, kToneAmplitude), 44100);

  const Audio by_default = load_audio(path);
  EXPECT_EQ(by_default.sample_rate_hz, kTargetHz);
  EXPECT_EQ(by_default.source.sample_rate_hz, 44100);
  EXPECT_NEAR(by_default.duration_seconds(), 1.0, 1e-3);
  EXPECT_NEAR(test::tone_frequency_hz(middle(by_default.samples), kTargetHz), 7000, 0.5);
  // The 16-bit FLAC rounds the tone by up to 1.5e-5, far less than 0.05 dB.
  EXPECT_NEAR(level_db(test::rms(middle(by_default.samples))), 0, 0.05);

  // sinc-fastest passes only ~80% of the band: 7 kHz comes out more than 10 dB down.
  AudioOptions options;
  options.resample_quality = ResampleQuality::kSincFastest;
  const Audio fastest = load_audio(path, options);
  EXPECT_LT(level_db(test::rms(middle(fastest.samples))), -10);
}

TEST(Resample, SoxrGivesTheRoundedLength) {
  for (ResampleQuality quality : {ResampleQuality::kSoxrVeryHigh, ResampleQuality::kSoxrHigh}) {
    for (size_t size : {1, 2, 7, 100, 44101, 44123}) {
      const std::vector<float> out =
          resample(std::vector<float>(size, 0.1f), 44100, kTargetHz, quality);
      EXPECT_EQ(out.size(), static_cast<size_t>(std::lround(double(size) * kTargetHz / 44100)))
          << size << " samples, " << resample_quality_name(quality);
    }
  }
}

TEST(Resample, SameRateGivesTheInputAndEmptyGivesEmpty) {
  const std::vector<float> tone = test::sine(1000, 0.1, kTargetHz);
  EXPECT_EQ(resample(tone, kTargetHz, kTargetHz), tone);
  for (ResampleQuality quality : resample_qualities()) {
    EXPECT_TRUE(resample({}, 44100, kTargetHz, quality).empty()) << resample_quality_name(quality);
  }
}

TEST(Resample, RefusesRatesItCannotConvert) {
  const std::vector<float> tone = test::sine(1000, 0.1, kTargetHz);
  for (ResampleQuality quality : resample_qualities()) {
    for (const auto& [from_hz, to_hz] :
         {std::pair{0, kTargetHz}, std::pair{kTargetHz, -1}, std::pair{kTargetHz, kTargetHz * 300},
          std::pair{kTargetHz * 300, kTargetHz}}) {
      const std::optional<Error> error = test::thrown_error(
          [&, from = from_hz, to = to_hz] { resample(tone, from, to, quality); });
      ASSERT_TRUE(error.has_value())
          << from_hz << " -> " << to_hz << " was accepted by " << resample_quality_name(quality);
      EXPECT_EQ(error->code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(error->what())
                    .find(std::to_string(from_hz) + " Hz to " + std::to_string(to_hz) + " Hz"),
                std::string::npos)
          << error->what();
    }
  }
}

TEST(ResampleQualityNames, EveryNameRoundTripsOnce) {
  std::set<std::string> names;
  for (ResampleQuality quality : resample_qualities()) {
    const std::string name = resample_quality_name(quality);
    EXPECT_TRUE(names.insert(name).second) << name << " names two qualities";
    EXPECT_EQ(parse_resample_quality(name), quality);
  }
  // Every value of the enum, kSoxrVeryHigh to kLinear.
  EXPECT_EQ(names.size(), static_cast<size_t>(ResampleQuality::kLinear) + 1);
  EXPECT_EQ(names.count("soxr-hq"), 1u);
  EXPECT_EQ(names.count("sinc-medium"), 1u);
}

TEST(ResampleQualityNames, UnknownNameListsTheKnownOnes) {
  const std::optional<Error> error =
      test::thrown_error([] { parse_resample_quality("sinc-superb"); });
  ASSERT_TRUE(error.has_value()) << "an unknown name was accepted";
  EXPECT_EQ(error->code(), ErrorCode::kInvalidArgument);
  for (ResampleQuality quality : resample_qualities()) {
    EXPECT_NE(std::string(error->what()).find(resample_quality_name(quality)), std::string::npos)
        << error->what();
  }
  EXPECT_NE(std::string(error->what()).find("sinc-superb"), std::string::npos);
}

TEST(ResampleQualityNames, OneDefaultEverywhere) {
  EXPECT_EQ(AudioOptions{}.resample_quality, kDefaultResampleQuality);
  EXPECT_STREQ(resample_quality_name(kDefaultResampleQuality), "soxr-hq");
}

}  // namespace
}  // namespace spkid
