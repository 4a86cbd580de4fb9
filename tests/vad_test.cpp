// Energy voice activity detection on generated speech, silence, noise floors and clicks.
#include "spkid/vad.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>
#include <string>
#include <utility>
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

// Speech with pauses, and where its syllables are voiced: the truth the soft and noisy tests
// measure against, in 10 ms hops.
struct Scene {
  std::vector<float> samples;
  std::vector<std::pair<double, double>> voiced;  // [begin, end) seconds of every syllable
  std::vector<std::pair<double, double>> pauses;  // [begin, end) seconds of the silences
  double speech_rms = 0;                          // of the utterances alone
};

// Silence 0.8 s, 6 syllables, silence 1.2 s, 4 syllables, silence 1.0 s, 6 syllables,
// silence 0.8 s: three utterances with pauses far longer than min_silence_ms.
Scene three_utterances() {
  Scene scene;
  std::vector<std::vector<float>> parts;
  std::vector<float> speech;
  double t = 0;
  const auto pause = [&](double seconds) {
    parts.push_back(test::silence(seconds, kRate));
    scene.pauses.emplace_back(t, t + seconds);
    t += seconds;
  };
  const auto utterance = [&](int syllables, unsigned seed) {
    parts.push_back(voice(syllables_seconds(syllables), seed));
    speech.insert(speech.end(), parts.back().begin(), parts.back().end());
    for (int k = 0; k < syllables; ++k) {
      const double begin = t + k * (test::kSyllableSeconds + test::kSyllablePauseSeconds);
      scene.voiced.emplace_back(begin, begin + test::kSyllableSeconds);
    }
    t += syllables_seconds(syllables);
  };
  pause(0.8);
  utterance(6, 11);
  pause(1.2);
  utterance(4, 12);
  pause(1.0);
  utterance(6, 13);
  pause(0.8);
  scene.samples = test::concat(parts);
  scene.speech_rms = test::rms(speech);
  return scene;
}

std::vector<float> scaled(std::vector<float> signal, double gain_db) {
  const double gain = std::pow(10, gain_db / 20);
  for (float& x : signal) x = static_cast<float>(x * gain);
  return signal;
}

std::vector<float> with_rms(std::vector<float> signal, double target_rms) {
  const double gain = target_rms / test::rms(signal);
  for (float& x : signal) x = static_cast<float>(x * gain);
  return signal;
}

double peak(const std::vector<float>& signal) {
  double p = 0;
  for (float x : signal) p = std::max(p, static_cast<double>(std::abs(x)));
  return p;
}

// Rounded to 16-bit PCM steps, as a WAV file would store it.
std::vector<float> quantized_16bit(std::vector<float> signal) {
  for (float& x : signal) x = static_cast<float>(std::round(x * 32768.0) / 32768.0);
  return signal;
}

// Pink (1/f) noise: white Gaussian noise through Paul Kellet's filter, at the given RMS.
std::vector<float> pink_noise(double duration_seconds, double target_rms, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> white(0, 1);
  std::vector<float> out(static_cast<size_t>(std::lround(duration_seconds * kRate)));
  double b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0;
  for (float& x : out) {
    const double w = white(rng);
    b0 = 0.99886 * b0 + w * 0.0555179;
    b1 = 0.99332 * b1 + w * 0.0750759;
    b2 = 0.96900 * b2 + w * 0.1538520;
    b3 = 0.86650 * b3 + w * 0.3104856;
    b4 = 0.55000 * b4 + w * 0.5329522;
    b5 = -0.7616 * b5 - w * 0.0168980;
    x = static_cast<float>(b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362);
    b6 = w * 0.115926;
  }
  return with_rms(out, target_rms);
}

double dbfs_to_rms(double dbfs) { return std::pow(10, dbfs / 20); }

// Whether the 10 ms hop around `t` seconds lies in a detected segment.
bool is_speech_at(const VadResult& vad, double t) {
  const long sample = std::lround(t * kRate);
  return std::any_of(vad.segments.begin(), vad.segments.end(), [&](const SpeechSegment& s) {
    return s.begin_sample <= sample && sample < s.end_sample;
  });
}

// Share of the 10 ms hops of `spans` (each shrunk by `inset` seconds at both ends) that the VAD
// calls speech.
double speech_share(const VadResult& vad, const std::vector<std::pair<double, double>>& spans,
                    double inset = 0) {
  long hops = 0, speech = 0;
  for (const auto& [begin, end] : spans) {
    for (double t = begin + inset + 0.005; t < end - inset; t += 0.01) {
      ++hops;
      speech += is_speech_at(vad, t) ? 1 : 0;
    }
  }
  return hops > 0 ? static_cast<double>(speech) / static_cast<double>(hops) : 0.0;
}

// Pauses are judged away from their edges, which padding and the frames' length may cover.
constexpr double kPauseInsetSeconds = 0.1;

TEST(Vad, SoftRecordingGivesTheSegmentsOfItsLoudVersion) {
  // The same recording (speech and a noise floor 45 dB under it) at full level and 45 dB softer.
  const Scene scene = three_utterances();
  const std::vector<float> loud = plus(scene.samples, test::white_noise(10, kRate, 0.001, 21));
  const std::vector<float> soft = scaled(loud, -45);
  const VadResult loud_vad = detect_speech(loud, kRate);
  const VadResult soft_vad = detect_speech(soft, kRate);
  ASSERT_EQ(loud_vad.segments.size(), 3u);
  ASSERT_EQ(soft_vad.segments.size(), 3u);
  constexpr long kTwoFrames = 2 * kRate / 100;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(soft_vad.segments[i].begin_sample, loud_vad.segments[i].begin_sample, kTwoFrames)
        << "segment " << i;
    EXPECT_NEAR(soft_vad.segments[i].end_sample, loud_vad.segments[i].end_sample, kTwoFrames)
        << "segment " << i;
  }
  EXPECT_NEAR(soft_vad.speech_seconds, loud_vad.speech_seconds, 0.08);
}

TEST(Vad, KeepsTheVoicedFramesOfSpeechPeakingAtMinus50Dbfs) {
  // A quiet 16-bit recording: speech peaking at -50 dBFS over a noise floor at -100 dBFS.
  const Scene scene = three_utterances();
  std::vector<float> soft = scaled(scene.samples, -50 - 20 * std::log10(peak(scene.samples)));
  soft =
      quantized_16bit(plus(soft, with_rms(test::white_noise(10, kRate, 1, 22), dbfs_to_rms(-100))));
  ASSERT_NEAR(20 * std::log10(peak(soft)), -50, 0.5);
  const VadResult vad = detect_speech(soft, kRate);
  EXPECT_EQ(vad.segments.size(), 3u);
  EXPECT_GE(speech_share(vad, scene.voiced), 0.9);
  EXPECT_EQ(speech_share(vad, scene.pauses, kPauseInsetSeconds), 0.0);
}

TEST(Vad, KeepsSpeechAndDropsPausesInSteadyNoiseAt10DbSnr) {
  const Scene scene = three_utterances();
  const double noise_rms = scene.speech_rms * dbfs_to_rms(-10);
  const double total = static_cast<double>(scene.samples.size()) / kRate;
  const std::vector<std::pair<const char*, std::vector<float>>> noises = {
      {"white", with_rms(test::white_noise(total, kRate, 1, 23), noise_rms)},
      {"pink", pink_noise(total, noise_rms, 24)}};
  for (const auto& [name, noise] : noises) {
    const VadResult vad = detect_speech(plus(scene.samples, noise), kRate);
    EXPECT_EQ(vad.segments.size(), 3u) << name;
    EXPECT_GE(speech_share(vad, scene.voiced), 0.9) << name;
    EXPECT_LE(speech_share(vad, scene.pauses, kPauseInsetSeconds), 0.1) << name;
  }
}

TEST(Vad, ZeroPaddingDoesNotHideTheNoiseFloor) {
  // Noisy speech between long stretches of digital zeros: the zeros are not the noise floor.
  const Scene scene = three_utterances();
  const double total = static_cast<double>(scene.samples.size()) / kRate;
  const std::vector<float> noisy =
      plus(scene.samples, with_rms(test::white_noise(total, kRate, 1, 25), scene.speech_rms / 10));
  const VadResult vad =
      detect_speech(test::concat({test::silence(4, kRate), noisy, test::silence(4, kRate)}), kRate);
  ASSERT_EQ(vad.segments.size(), 3u);
  EXPECT_GT(seconds(vad.segments[0].begin_sample), 4.0);
  EXPECT_LT(seconds(vad.segments[2].end_sample), 4.0 + total);
  std::vector<std::pair<double, double>> pauses;
  for (const auto& [begin, end] : scene.pauses) pauses.emplace_back(4 + begin, 4 + end);
  EXPECT_LE(speech_share(vad, pauses, kPauseInsetSeconds), 0.1);
}

TEST(Vad, SilenceAndSteadyNoiseAloneHaveNoSpeech) {
  const auto expect_no_speech = [](const std::vector<float>& signal, const std::string& what) {
    const VadResult vad = detect_speech(signal, kRate);
    EXPECT_TRUE(vad.segments.empty()) << what;
    EXPECT_EQ(vad.speech_seconds, 0.0) << what;
  };
  expect_no_speech(test::silence(5, kRate), "digital silence");
  expect_no_speech(quantized_16bit(with_rms(test::white_noise(5, kRate, 1, 26), dbfs_to_rms(-100))),
                   "16-bit white noise at -100 dBFS");
  expect_no_speech(with_rms(test::white_noise(5, kRate, 1, 27), dbfs_to_rms(-95)),
                   "white noise at -95 dBFS, under the absolute floor");
  expect_no_speech(with_rms(test::white_noise(5, kRate, 1, 28), dbfs_to_rms(-75)),
                   "white noise at -75 dBFS");
  expect_no_speech(pink_noise(5, dbfs_to_rms(-70), 29), "pink noise at -70 dBFS");
  // Steady noise is no speech at any level: nothing in it stands out from its own floor.
  expect_no_speech(pink_noise(5, dbfs_to_rms(-30), 30), "pink noise at -30 dBFS");
}

TEST(Vad, TheAbsoluteFloorStillRefusesFaintSounds) {
  // Speech whose loud frames are at about -100 dBFS lies under the floor: no speech, unless the
  // floor is lowered.
  const Scene scene = three_utterances();
  const std::vector<float> faint = scaled(scene.samples, -80);
  EXPECT_TRUE(detect_speech(faint, kRate).segments.empty());
  VadOptions options;
  options.absolute_floor_dbfs = -115;
  EXPECT_EQ(detect_speech(faint, kRate, options).segments.size(), 3u);
}

TEST(Vad, TheSnrMarginDecidesWhatStandsOutFromTheNoise) {
  // At 0 dB SNR few frames rise 6 dB over the noise; with no margin the relative threshold alone
  // keeps the noise too, as the detector did before it had a noise floor.
  const Scene scene = three_utterances();
  const double total = static_cast<double>(scene.samples.size()) / kRate;
  const std::vector<float> noisy =
      plus(scene.samples, with_rms(test::white_noise(total, kRate, 1, 31), scene.speech_rms));
  VadOptions options;
  const double with_margin = detect_speech(noisy, kRate, options).speech_seconds;
  options.snr_margin_db = 0;
  options.noise_percentile = 0;
  const double without_margin = detect_speech(noisy, kRate, options).speech_seconds;
  EXPECT_LT(with_margin, 0.8 * without_margin);
  EXPECT_GT(without_margin, 0.95 * total);
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
  expect_refused(defaults, &VadOptions::noise_percentile, -1, "noise_percentile");
  expect_refused(defaults, &VadOptions::noise_percentile, 96, "noise_percentile");
  expect_refused(defaults, &VadOptions::snr_margin_db, -1, "snr_margin_db");
  expect_refused(defaults, &VadOptions::absolute_floor_dbfs, 3, "absolute_floor_dbfs");
  expect_refused(defaults, &VadOptions::min_speech_ms, -1, "min_speech_ms");
  expect_refused(defaults, &VadOptions::min_silence_ms, -1, "min_silence_ms");
  expect_refused(defaults, &VadOptions::padding_ms, -1, "padding_ms");
  EXPECT_THROW(detect_speech(voice(1.0), 0), Error);
}

}  // namespace
}  // namespace spkid
