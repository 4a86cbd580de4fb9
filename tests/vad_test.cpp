// Energy voice activity detection on generated speech, silence, noise floors and clicks.
#include "spkid/vad.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "spkid/error.h"
#include "synth.h"

namespace spkid {
namespace {

constexpr int kRate = 16000;
constexpr double kBoundaryToleranceSeconds = 0.05;

double seconds(long sample) { return static_cast<double>(sample) / kRate; }

std::vector<float> voice(double duration_seconds, unsigned seed = 1) {
  return test::speech_like({}, duration_seconds, kRate, seed);
}

// Speech that ends with the end of its last syllable, so the truth is exact.
double syllables_seconds(int syllables) {
  return syllables * (test::kSyllableSeconds + test::kSyllablePauseSeconds) -
         test::kSyllablePauseSeconds;
}

std::vector<float> plus(std::vector<float> signal, const std::vector<float>& other) {
  for (size_t i = 0; i < std::min(signal.size(), other.size()); ++i) signal[i] += other[i];
  return signal;
}

// Silence 1 s, speech 1-2.9 s, silence 1.5 s, speech 4.4-7.29 s, silence 1 s.
const double kFirstEnd = 1.0 + syllables_seconds(6);
const double kSecondBegin = kFirstEnd + 1.5;
const double kSecondEnd = kSecondBegin + syllables_seconds(9);
const double kTotal = kSecondEnd + 1.0;

std::vector<float> two_utterances() {
  return test::concat({test::silence(1.0, kRate), voice(syllables_seconds(6), 1),
                       test::silence(1.5, kRate), voice(syllables_seconds(9), 2),
                       test::silence(1.0, kRate)});
}

void expect_two_utterances(const VadResult& vad, double padding_seconds) {
  ASSERT_EQ(vad.segments.size(), 2u);
  EXPECT_NEAR(seconds(vad.segments[0].begin_sample), 1.0 - padding_seconds,
              kBoundaryToleranceSeconds);
  EXPECT_NEAR(seconds(vad.segments[0].end_sample), kFirstEnd + padding_seconds,
              kBoundaryToleranceSeconds);
  EXPECT_NEAR(seconds(vad.segments[1].begin_sample), kSecondBegin - padding_seconds,
              kBoundaryToleranceSeconds);
  EXPECT_NEAR(seconds(vad.segments[1].end_sample), kSecondEnd + padding_seconds,
              kBoundaryToleranceSeconds);
  const double truth = (kFirstEnd - 1.0) + (kSecondEnd - kSecondBegin);
  EXPECT_NEAR(vad.speech_seconds, truth + 4 * padding_seconds, 2 * kBoundaryToleranceSeconds);
  EXPECT_NEAR(vad.total_seconds, kTotal, 1e-3);
}

TEST(Vad, FindsSpeechBetweenSilences) {
  const VadOptions options;
  expect_two_utterances(detect_speech(two_utterances(), kRate, options), options.padding_ms / 1000);
}

TEST(Vad, IgnoresALowNoiseFloorUnderTheSpeech) {
  // Uniform noise of amplitude 0.001 is about -65 dBFS, far under speech at about -15 dBFS.
  const VadOptions options;
  expect_two_utterances(
      detect_speech(plus(two_utterances(), test::white_noise(kTotal, kRate, 0.001, 3)), kRate,
                    options),
      options.padding_ms / 1000);
}

TEST(Vad, PaddingWidensEverySegment) {
  VadOptions options;
  options.padding_ms = 0;
  const VadResult tight = detect_speech(two_utterances(), kRate, options);
  options.padding_ms = 200;
  const VadResult padded = detect_speech(two_utterances(), kRate, options);
  ASSERT_EQ(tight.segments.size(), 2u);
  ASSERT_EQ(padded.segments.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(tight.segments[i].begin_sample - padded.segments[i].begin_sample, 3200);
    EXPECT_EQ(padded.segments[i].end_sample - tight.segments[i].end_sample, 3200);
  }
  EXPECT_NEAR(padded.speech_seconds - tight.speech_seconds, 0.8, 1e-9);
}

TEST(Vad, DigitalSilenceHasNoSpeech) {
  const VadResult vad = detect_speech(test::silence(5.0, kRate), kRate);
  EXPECT_TRUE(vad.segments.empty());
  EXPECT_EQ(vad.speech_seconds, 0.0);
  EXPECT_DOUBLE_EQ(vad.total_seconds, 5.0);
}

TEST(Vad, NoSamplesHaveNoSpeech) {
  const VadResult vad = detect_speech({}, kRate);
  EXPECT_TRUE(vad.segments.empty());
  EXPECT_EQ(vad.total_seconds, 0.0);
}

TEST(Vad, LowNoiseFloorAloneIsNotSpeech) {
  const VadResult vad = detect_speech(test::white_noise(5.0, kRate, 0.001, 4), kRate);
  EXPECT_TRUE(vad.segments.empty());
  EXPECT_EQ(vad.speech_seconds, 0.0);
}

TEST(Vad, DcOffsetIsNotSpeech) {
  const std::vector<float> offset(5 * kRate, 0.05f);
  EXPECT_TRUE(detect_speech(offset, kRate).segments.empty());
}

TEST(Vad, AllSpeechIsOneSegment) {
  const std::vector<float> speech = voice(syllables_seconds(9));
  const VadResult vad = detect_speech(speech, kRate);
  ASSERT_EQ(vad.segments.size(), 1u);
  EXPECT_EQ(vad.segments[0].begin_sample, 0);
  EXPECT_EQ(vad.segments[0].end_sample, static_cast<long>(speech.size()));
}

TEST(Vad, DropsClicksShorterThanMinSpeech) {
  // A 30 ms burst of loud noise two seconds before the speech.
  const std::vector<float> signal =
      test::concat({test::silence(1.0, kRate), test::white_noise(0.03, kRate, 0.5, 5),
                    test::silence(2.0, kRate), voice(2.0), test::silence(1.0, kRate)});
  const VadResult vad = detect_speech(signal, kRate);
  ASSERT_EQ(vad.segments.size(), 1u);
  EXPECT_NEAR(seconds(vad.segments[0].begin_sample), 3.03 - 0.05, kBoundaryToleranceSeconds);
}

TEST(Vad, BridgesPausesShorterThanMinSilenceOnly) {
  const auto with_pause = [](double pause_seconds) {
    return test::concat({test::silence(0.5, kRate), voice(1.0, 1),
                         test::silence(pause_seconds, kRate), voice(1.0, 2),
                         test::silence(0.5, kRate)});
  };
  EXPECT_EQ(detect_speech(with_pause(0.2), kRate).segments.size(), 1u);
  EXPECT_EQ(detect_speech(with_pause(0.6), kRate).segments.size(), 2u);
}

TEST(Vad, KeepSpeechConcatenatesTheSegments) {
  std::vector<float> ramp(1000);
  for (size_t i = 0; i < ramp.size(); ++i) ramp[i] = static_cast<float>(i);
  VadResult vad;
  vad.segments = {{10, 20}, {500, 503}};
  const std::vector<float> kept = keep_speech(ramp, vad);
  ASSERT_EQ(kept.size(), 13u);
  EXPECT_EQ(kept[0], 10.0f);
  EXPECT_EQ(kept[9], 19.0f);
  EXPECT_EQ(kept[10], 500.0f);
  EXPECT_EQ(kept[12], 502.0f);

  vad.segments = {{990, 1001}};
  EXPECT_THROW(keep_speech(ramp, vad), Error);
}

TEST(Vad, KeepSpeechOfDetectedSpeechHasItsDuration) {
  const std::vector<float> signal = two_utterances();
  const VadResult vad = detect_speech(signal, kRate);
  EXPECT_DOUBLE_EQ(seconds(static_cast<long>(keep_speech(signal, vad).size())), vad.speech_seconds);
}

TEST(VadOptions, ValidateNamesTheBadField) {
  const auto expect_refused = [](VadOptions options, double VadOptions::*field, double value,
                                 const std::string& name) {
    options.*field = value;
    const std::optional<Error> error = test::thrown_error([&] { options.validate(); });
    ASSERT_TRUE(error.has_value()) << name << " = " << value << " was accepted";
    EXPECT_EQ(error->code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(error->what()).find(name), std::string::npos) << error->what();
  };
  const VadOptions defaults;
  EXPECT_NO_THROW(defaults.validate());
  expect_refused(defaults, &VadOptions::frame_length_ms, 0, "frame_length_ms");
  expect_refused(defaults, &VadOptions::frame_shift_ms, 0, "frame_shift_ms");
  expect_refused(defaults, &VadOptions::frame_shift_ms, 40, "frame_shift_ms");
  expect_refused(defaults, &VadOptions::relative_threshold_db, -1, "relative_threshold_db");
  expect_refused(defaults, &VadOptions::reference_percentile, 101, "reference_percentile");
  expect_refused(defaults, &VadOptions::absolute_floor_dbfs, 3, "absolute_floor_dbfs");
  expect_refused(defaults, &VadOptions::min_speech_ms, -1, "min_speech_ms");
  expect_refused(defaults, &VadOptions::min_silence_ms, -1, "min_silence_ms");
  expect_refused(defaults, &VadOptions::padding_ms, -1, "padding_ms");
  EXPECT_THROW(detect_speech(voice(1.0), 0), Error);
}

}  // namespace
}  // namespace spkid
