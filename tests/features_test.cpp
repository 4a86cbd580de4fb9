// Spectrogram features: agreement with torchaudio's Kaldi fbank, framing, windows, MFCC,
// normalisation, options, and concurrent use.
#include "spkid/features.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "spkid/error.h"
#include "spkid/npy.h"
#include "synth.h"

namespace spkid {
namespace {

constexpr double kPi = 3.14159265358979323846;
const std::string kGoldenDir = std::string(SPKID_TEST_DATA_DIR) + "/golden";

FeatureOptions unnormalized() {
  FeatureOptions options;
  options.normalize_mean = false;
  return options;
}

double column_mean(const FeatureMatrix& m, int j) {
  double total = 0;
  for (int t = 0; t < m.num_frames; ++t) total += m.frame(t)[j];
  return total / m.num_frames;
}

double column_stddev(const FeatureMatrix& m, int j) {
  const double mean = column_mean(m, j);
  double total = 0;
  for (int t = 0; t < m.num_frames; ++t) total += std::pow(m.frame(t)[j] - mean, 2);
  return std::sqrt(total / m.num_frames);
}

// Expects `call` to throw Error(kInvalidArgument) whose message names `field`.
void expect_invalid(const std::function<void()>& call, const std::string& field) {
  try {
    call();
    ADD_FAILURE() << "no error for a bad " << field;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos)
        << "message does not name " << field << ": " << e.what();
  }
}

// tests/golden holds torchaudio.compliance.kaldi.fbank's output for three generated signals
// (tests/golden/make_fbank_reference.py). Tolerance: |spkid - torchaudio| < 1e-3 on every
// log-Mel energy above the floor (log(1.19e-7) = -15.9); where torchaudio is at the floor,
// spkid must be near it too. Both use float32 throughout, so 1e-3 leaves room only for
// rounding, not for a different window, filterbank or framing.
TEST(FeaturesGolden, MatchesTorchaudioKaldiFbank) {
  std::ifstream manifest_file(kGoldenDir + "/fbank_reference.json");
  ASSERT_TRUE(manifest_file) << "missing " << kGoldenDir << "/fbank_reference.json";
  const nlohmann::json manifest = nlohmann::json::parse(manifest_file);
  const nlohmann::json& common = manifest.at("common");
  ASSERT_EQ(common.at("dither").get<double>(), 0.0);
  ASSERT_FALSE(common.at("use_energy").get<bool>());
  ASSERT_TRUE(common.at("snip_edges").get<bool>());
  ASSERT_FALSE(common.at("subtract_mean").get<bool>());
  ASSERT_EQ(manifest.at("cases").size(), 3u);

  constexpr double kTolerance = 1e-3;
  const double log_floor = std::log(FeatureOptions{}.log_floor);
  for (const nlohmann::json& golden : manifest.at("cases")) {
    SCOPED_TRACE(golden.at("name").get<std::string>());
    const nlohmann::json& fbank = golden.at("fbank");
    FeatureOptions options = unnormalized();
    options.sample_rate_hz = fbank.at("sample_frequency").get<int>();
    options.window = parse_window_type(fbank.at("window_type").get<std::string>());
    options.num_mel_bins = fbank.at("num_mel_bins").get<int>();
    options.f_min_hz = fbank.at("low_freq").get<double>();
    options.f_max_hz = fbank.at("high_freq").get<double>();
    options.frame_length_ms = fbank.at("frame_length").get<double>();
    options.frame_shift_ms = fbank.at("frame_shift").get<double>();
    options.preemphasis = fbank.at("preemphasis_coefficient").get<double>();
    options.remove_dc_offset = fbank.at("remove_dc_offset").get<bool>();

    const NpyArray input = read_npy(kGoldenDir + "/" + golden.at("input").get<std::string>());
    const NpyArray expected = read_npy(kGoldenDir + "/" + golden.at("expected").get<std::string>());
    ASSERT_EQ(expected.shape.size(), 2u);

    const FeatureMatrix actual = FeatureExtractor(options).compute(input.data);
    ASSERT_EQ(static_cast<std::size_t>(actual.num_frames), expected.shape[0]);
    ASSERT_EQ(static_cast<std::size_t>(actual.num_features), expected.shape[1]);
    double max_diff = 0;
    int at_floor = 0;
    for (std::size_t i = 0; i < expected.data.size(); ++i) {
      if (expected.data[i] > log_floor + 1) {
        max_diff = std::max(max_diff, std::abs(double{actual.data[i]} - expected.data[i]));
      } else {
        ++at_floor;
        EXPECT_LT(actual.data[i], log_floor + 1) << "entry " << i;
      }
    }
    EXPECT_LT(max_diff, kTolerance);
    RecordProperty("max_abs_diff_" + golden.at("name").get<std::string>(),
                   std::to_string(max_diff));
    // Every case starts with 0.1 s of digital silence, so the floor is exercised too.
    EXPECT_GT(at_floor, 0);
  }
}

TEST(Features, SamplesThatWouldOverflowTheSpectrumAreRefused) {
  const FeatureExtractor extractor;
  std::vector<float> tone = test::sine(440, 1.0, 16000, 0.3);
  EXPECT_NO_THROW(extractor.compute(tone));
  for (const float bad : {1e19f, -1e7f, std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN()}) {
    std::vector<float> samples = tone;
    samples[8000] = bad;
    const std::optional<Error> error = test::thrown_error([&] { extractor.compute(samples); });
    ASSERT_TRUE(error.has_value()) << bad;
    EXPECT_EQ(error->code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(error->what()).find("sample 8000"), std::string::npos) << error->what();
  }
}

TEST(Features, FrameCountFollowsKaldiSnipEdges) {
  const FeatureOptions options;
  ASSERT_EQ(options.frame_length_samples(), 400);
  ASSERT_EQ(options.frame_shift_samples(), 160);
  ASSERT_EQ(options.fft_size(), 512);
  // 1 + (n - 400) / 160 frames once a whole frame fits, none before.
  for (long n : {0L, 399L, 400L, 559L, 560L, 16000L, 16001L, 48000L}) {
    const int expected = n < 400 ? 0 : static_cast<int>(1 + (n - 400) / 160);
    EXPECT_EQ(num_frames_for(n, options), expected) << n << " samples";
  }
  const FeatureExtractor extractor(options);
  const FeatureMatrix one_second = extractor.compute(test::sine(440, 1.0, 16000));
  EXPECT_EQ(one_second.num_frames, 98);
  EXPECT_EQ(one_second.num_features, 64);
  EXPECT_EQ(one_second.data.size(), 98u * 64u);

  const FeatureMatrix too_short = extractor.compute(std::vector<float>(399, 0.1f));
  EXPECT_EQ(too_short.num_frames, 0);
  EXPECT_EQ(too_short.num_features, 64);
  EXPECT_TRUE(too_short.data.empty());

  FeatureOptions cd_rate;
  cd_rate.sample_rate_hz = 44100;
  EXPECT_EQ(cd_rate.frame_length_samples(), 1102);  // Kaldi truncates 1102.5
  EXPECT_EQ(cd_rate.frame_shift_samples(), 441);
  EXPECT_EQ(cd_rate.fft_size(), 2048);
}

// With no DC removal and no pre-emphasis a constant 1 frames to the window itself, so the
// magnitude spectrum must equal the DFT of each window's textbook definition (zero-padded).
TEST(Features, WindowsFollowKaldiDefinitions) {
  const int n = 400;
  const int fft_size = 512;
  const auto reference_window = [&](WindowType type, int i) {
    const double hann = 0.5 - 0.5 * std::cos(2 * kPi * i / (n - 1));
    switch (type) {
      case WindowType::kHann:
        return hann;
      case WindowType::kPovey:
        return std::pow(hann, 0.85);
      case WindowType::kHamming:
        return 0.54 - 0.46 * std::cos(2 * kPi * i / (n - 1));
    }
    return 0.0;
  };
  for (WindowType type : {WindowType::kHann, WindowType::kPovey, WindowType::kHamming}) {
    SCOPED_TRACE(window_type_name(type));
    FeatureOptions options = unnormalized();
    options.window = type;
    options.remove_dc_offset = false;
    options.preemphasis = 0;
    const std::vector<float> ones(n, 1.0f);
    const FeatureMatrix magnitude = FeatureExtractor(options).magnitude_spectrogram(ones.data(), n);
    ASSERT_EQ(magnitude.num_frames, 1);
    ASSERT_EQ(magnitude.num_features, fft_size / 2 + 1);
    double window_sum = 0;
    for (int i = 0; i < n; ++i) window_sum += reference_window(type, i);
    for (int k = 0; k <= fft_size / 2; ++k) {
      std::complex<double> dft = 0;
      for (int i = 0; i < n; ++i) {
        dft += reference_window(type, i) * std::polar(1.0, -2 * kPi * k * i / fft_size);
      }
      EXPECT_NEAR(magnitude.frame(0)[k], std::abs(dft), 1e-5 * window_sum) << "bin " << k;
    }
  }
  // The Povey window is Hann to the power 0.85: zero at both ends, wider in between.
  EXPECT_DOUBLE_EQ(reference_window(WindowType::kPovey, 0), 0.0);
}

TEST(Features, MagnitudeSpectrumPeaksAtTheToneBin) {
  const FeatureExtractor extractor(unnormalized());
  const std::vector<float> tone = test::sine(1000, 0.5, 16000);
  const FeatureMatrix magnitude =
      extractor.magnitude_spectrogram(tone.data(), static_cast<long>(tone.size()));
  ASSERT_EQ(magnitude.num_frames, num_frames_for(static_cast<long>(tone.size()), {}));
  for (int t = 0; t < magnitude.num_frames; ++t) {
    const float* row = magnitude.frame(t);
    EXPECT_EQ(std::max_element(row, row + magnitude.num_features) - row, 32)  // 1000 / 31.25
        << "frame " << t;
  }
}

// A tone's energy lands in the band whose centre is nearest, so the centres label the axis.
TEST(Features, MelCenterFrequenciesLabelTheBands) {
  const FeatureExtractor extractor(unnormalized());
  const std::vector<double> centers = extractor.mel_center_frequencies_hz();
  ASSERT_EQ(centers.size(), 64u);
  EXPECT_GT(centers.front(), 20.0);
  EXPECT_LT(centers.back(), 8000.0);
  EXPECT_TRUE(std::is_sorted(centers.begin(), centers.end()));
  for (int band : {10, 30, 50, 62}) {
    const std::vector<float> tone = test::sine(centers[band], 0.3, 16000);
    const FeatureMatrix features = extractor.compute(tone);
    const float* row = features.frame(features.num_frames / 2);
    EXPECT_EQ(std::max_element(row, row + features.num_features) - row, band)
        << centers[band] << " Hz";
  }
}

// Share of c1..c12 in the energy of c1..c63 over an utterance (c0 is the overall level).
double low_order_cepstral_share(const FeatureMatrix& cepstra) {
  double low = 0;
  double all = 0;
  for (int t = 0; t < cepstra.num_frames; ++t) {
    for (int j = 1; j < cepstra.num_features; ++j) {
      const double energy = double{cepstra.frame(t)[j]} * cepstra.frame(t)[j];
      all += energy;
      if (j <= 12) low += energy;
    }
  }
  return low / all;
}

TEST(Features, MfccIsAnOrthonormalDctOfTheLogMel) {
  const std::vector<float> voice = test::speech_like({}, 2.0, 16000);
  const FeatureMatrix log_mel = FeatureExtractor(unnormalized()).compute(voice);

  FeatureOptions full = unnormalized();
  full.mfcc = true;
  full.num_ceps = full.num_mel_bins;
  const FeatureMatrix cepstra = FeatureExtractor(full).compute(voice);
  ASSERT_EQ(cepstra.num_frames, log_mel.num_frames);
  ASSERT_EQ(cepstra.num_features, 64);
  for (int t = 0; t < cepstra.num_frames; ++t) {
    const float* c = cepstra.frame(t);
    const float* x = log_mel.frame(t);
    double c_energy = 0;
    double x_energy = 0;
    double x_sum = 0;
    for (int j = 0; j < 64; ++j) {
      c_energy += double{c[j]} * c[j];
      x_energy += double{x[j]} * x[j];
      x_sum += x[j];
    }
    // Orthonormal: energy is preserved, and c0 (kept) is sqrt(N) times the mean log energy.
    EXPECT_NEAR(c_energy, x_energy, 1e-4 * x_energy) << "frame " << t;
    EXPECT_NEAR(c[0], x_sum / std::sqrt(64.0), 1e-3 * std::abs(x_sum)) << "frame " << t;
  }

  FeatureOptions truncated = full;
  truncated.num_ceps = 20;
  const FeatureMatrix first20 = FeatureExtractor(truncated).compute(voice);
  ASSERT_EQ(first20.num_features, 20);
  ASSERT_EQ(first20.num_frames, cepstra.num_frames);
  for (int t = 0; t < first20.num_frames; ++t) {
    for (int j = 0; j < 20; ++j) ASSERT_FLOAT_EQ(first20.frame(t)[j], cepstra.frame(t)[j]);
  }

  // Energy compaction comes from the spectral envelope: a voice's normalised cepstra sit in the
  // first dozen coefficients, while white noise (no envelope) spreads over all of them.
  FeatureOptions normalized = full;
  normalized.normalize_mean = true;
  const FeatureExtractor extractor(normalized);
  EXPECT_GT(low_order_cepstral_share(extractor.compute(voice)), 0.9);
  EXPECT_LT(low_order_cepstral_share(extractor.compute(test::white_noise(2.0, 16000, 0.3, 5))),
            0.6);
}

TEST(Features, MeanAndVarianceNormalization) {
  const std::vector<float> voice = test::speech_like({}, 3.0, 16000);
  const FeatureMatrix raw = FeatureExtractor(unnormalized()).compute(voice);

  FeatureOptions mean_only;  // the default
  ASSERT_TRUE(mean_only.normalize_mean);
  const FeatureMatrix centered = FeatureExtractor(mean_only).compute(voice);
  FeatureOptions mean_and_variance;
  mean_and_variance.normalize_variance = true;
  const FeatureMatrix standardized = FeatureExtractor(mean_and_variance).compute(voice);

  for (int j = 0; j < raw.num_features; ++j) {
    ASSERT_GT(column_stddev(raw, j), 0.1) << "band " << j << " should vary in speech";
    EXPECT_NEAR(column_mean(centered, j), 0.0, 1e-4) << "band " << j;
    EXPECT_NEAR(column_stddev(centered, j), column_stddev(raw, j), 1e-4) << "band " << j;
    EXPECT_NEAR(centered.frame(7)[j], raw.frame(7)[j] - column_mean(raw, j), 1e-4);
    EXPECT_NEAR(column_mean(standardized, j), 0.0, 1e-4) << "band " << j;
    EXPECT_NEAR(column_stddev(standardized, j), 1.0, 1e-4) << "band " << j;
  }

  // A constant feature has no spread to divide by: it becomes 0, not NaN.
  FeatureMatrix constant{3, 2, {5, 1, 5, 2, 5, 3}};
  normalize_utterance(constant, true);
  const std::vector<float> expected = {0, -std::sqrt(1.5f), 0, 0, 0, std::sqrt(1.5f)};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(constant.data[i], expected[i], 1e-6) << "entry " << i;
  }
}

TEST(FeatureOptions, JsonRoundTripAndEquality) {
  FeatureOptions options;
  options.sample_rate_hz = 8000;
  options.frame_length_ms = 32;
  options.frame_shift_ms = 12.5;
  options.window = WindowType::kPovey;
  options.preemphasis = 0.95;
  options.remove_dc_offset = false;
  options.num_mel_bins = 40;
  options.f_min_hz = 60.5;
  options.f_max_hz = -150;
  options.log_floor = 1e-10;
  options.mfcc = true;
  options.num_ceps = 13;
  options.normalize_mean = true;
  options.normalize_variance = true;
  ASSERT_NE(options, FeatureOptions{});

  const FeatureOptions restored = FeatureOptions::from_json(options.to_json());
  EXPECT_EQ(restored, options);
  EXPECT_EQ(restored.to_json(), options.to_json());
  EXPECT_EQ(nlohmann::json::parse(options.to_json()).at("window"), "povey");

  FeatureOptions changed = options;
  changed.f_min_hz = 60.25;
  EXPECT_NE(changed, options);
  changed = options;
  changed.normalize_variance = false;
  EXPECT_NE(changed, options);

  // Keys that are absent keep their defaults, so a model written before a field existed loads.
  EXPECT_EQ(FeatureOptions::from_json("{}"), FeatureOptions{});
  EXPECT_EQ(FeatureOptions::from_json(R"({"num_mel_bins": 80})").num_mel_bins, 80);
}

TEST(FeatureOptions, FromJsonRejectsBadInput) {
  expect_invalid([] { FeatureOptions::from_json("{\"num_mel_bins\": "); }, "JSON");
  expect_invalid([] { FeatureOptions::from_json("[1, 2]"); }, "object");
  expect_invalid([] { FeatureOptions::from_json(R"({"num_mel_bands": 64})"); }, "num_mel_bands");
  expect_invalid([] { FeatureOptions::from_json(R"({"num_mel_bins": "64"})"); }, "num_mel_bins");
  expect_invalid([] { FeatureOptions::from_json(R"({"sample_rate_hz": 16000.5})"); },
                 "sample_rate_hz");
  expect_invalid([] { FeatureOptions::from_json(R"({"mfcc": 1})"); }, "mfcc");
  expect_invalid([] { FeatureOptions::from_json(R"({"window": "blackman"})"); }, "blackman");
  expect_invalid([] { FeatureOptions::from_json(R"({"num_mel_bins": 2})"); }, "num_mel_bins");
}

TEST(FeatureOptions, ValidateRejectsBadValues) {
  EXPECT_NO_THROW(FeatureOptions{}.validate());
  const auto rejects = [](const std::function<void(FeatureOptions&)>& change,
                          const std::string& field) {
    FeatureOptions options;
    change(options);
    expect_invalid([&] { options.validate(); }, field);
    expect_invalid([&] { FeatureExtractor extractor(options); }, field);
  };
  rejects([](FeatureOptions& o) { o.sample_rate_hz = 0; }, "sample_rate_hz");
  rejects([](FeatureOptions& o) { o.frame_length_ms = 0.05; }, "frame_length_ms");
  rejects([](FeatureOptions& o) { o.frame_length_ms = 5000; }, "frame_length_ms");
  rejects([](FeatureOptions& o) { o.frame_length_ms = std::nan(""); }, "frame_length_ms");
  rejects([](FeatureOptions& o) { o.frame_shift_ms = 0; }, "frame_shift_ms");
  rejects([](FeatureOptions& o) { o.preemphasis = 1.5; }, "preemphasis");
  rejects([](FeatureOptions& o) { o.preemphasis = -0.1; }, "preemphasis");
  rejects([](FeatureOptions& o) { o.num_mel_bins = 2; }, "num_mel_bins");
  rejects([](FeatureOptions& o) { o.f_min_hz = -1; }, "f_min_hz");
  rejects([](FeatureOptions& o) { o.f_min_hz = 8000; }, "f_min_hz");
  rejects([](FeatureOptions& o) { o.f_max_hz = 9000; }, "f_max_hz");
  rejects([](FeatureOptions& o) { o.f_max_hz = -7990; }, "f_max_hz");  // below f_min_hz
  rejects([](FeatureOptions& o) { o.f_max_hz = std::numeric_limits<double>::infinity(); },
          "f_max_hz");
  rejects([](FeatureOptions& o) { o.log_floor = 0; }, "log_floor");
  rejects(
      [](FeatureOptions& o) {
        o.mfcc = true;
        o.num_ceps = 0;
      },
      "num_ceps");
  rejects(
      [](FeatureOptions& o) {
        o.mfcc = true;
        o.num_ceps = 65;
      },
      "num_ceps");
  rejects(
      [](FeatureOptions& o) {
        o.normalize_mean = false;
        o.normalize_variance = true;
      },
      "normalize_variance");

  // Valid on its own, but 200 bands leave the lowest ones without an FFT bin of 31.25 Hz.
  FeatureOptions crowded;
  crowded.num_mel_bins = 200;
  EXPECT_NO_THROW(crowded.validate());
  expect_invalid([&] { FeatureExtractor extractor(crowded); }, "num_mel_bins");
}

TEST(FeatureOptions, WindowNames) {
  for (WindowType type : {WindowType::kHann, WindowType::kPovey, WindowType::kHamming}) {
    EXPECT_EQ(parse_window_type(window_type_name(type)), type);
  }
  EXPECT_EQ(parse_window_type("hanning"), WindowType::kHann);  // Kaldi's spelling
  expect_invalid([] { parse_window_type("rectangular"); }, "rectangular");
}

TEST(Features, RejectsNullSamples) {
  const FeatureExtractor extractor;
  expect_invalid([&] { extractor.compute(nullptr, 1000); }, "samples");
  expect_invalid([&] { extractor.magnitude_spectrogram(nullptr, 1000); }, "samples");
  EXPECT_EQ(extractor.compute(nullptr, 0).num_frames, 0);
}

// Extractors made and used from two threads at once give exactly the one-thread result.
TEST(Features, ConcurrentComputeMatchesSingleThread) {
  const std::vector<float> voice = test::speech_like({}, 4.0, 16000);
  const FeatureExtractor shared;
  const FeatureMatrix expected = shared.compute(voice);
  const FeatureMatrix expected_magnitude =
      shared.magnitude_spectrogram(voice.data(), static_cast<long>(voice.size()));

  constexpr int kRounds = 20;
  int mismatches[2] = {0, 0};
  std::vector<std::thread> threads;
  for (int id = 0; id < 2; ++id) {
    threads.emplace_back([&, id] {
      const FeatureExtractor own;  // planning concurrently with the other thread
      for (int round = 0; round < kRounds; ++round) {
        const FeatureExtractor& extractor = round % 2 == 0 ? shared : own;
        if (extractor.compute(voice).data != expected.data) ++mismatches[id];
        const FeatureMatrix magnitude =
            extractor.magnitude_spectrogram(voice.data(), static_cast<long>(voice.size()));
        if (magnitude.data != expected_magnitude.data) ++mismatches[id];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches[0], 0);
  EXPECT_EQ(mismatches[1], 0);
}

TEST(Features, MoveKeepsTheExtractor) {
  const std::vector<float> tone = test::sine(300, 0.5, 16000);
  FeatureExtractor original(unnormalized());
  const FeatureMatrix before = original.compute(tone);
  FeatureExtractor moved(std::move(original));
  EXPECT_EQ(moved.compute(tone).data, before.data);
  EXPECT_EQ(moved.options(), unnormalized());
}

}  // namespace
}  // namespace spkid
