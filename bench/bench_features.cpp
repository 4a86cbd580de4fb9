// Feature pipeline speed in seconds of audio per second (x_realtime), one thread, audio in memory.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "spkid/features.h"

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kSampleRateHz = 16000;
constexpr double kAudioSeconds = 10;

// Voiced-like test audio: harmonics of a gliding pitch plus a little noise, so every band is busy.
std::vector<float> make_audio(double seconds, int sample_rate_hz) {
  const auto count = static_cast<std::size_t>(seconds * sample_rate_hz);
  std::vector<float> samples(count);
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 0.01f);
  double phase = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const double t = static_cast<double>(i) / sample_rate_hz;
    phase += 2 * kPi * (120 + 30 * std::sin(2 * kPi * 0.5 * t)) / sample_rate_hz;
    double value = 0;
    for (int harmonic = 1; harmonic <= 20; ++harmonic) {
      value += std::sin(harmonic * phase) / harmonic;
    }
    samples[i] = static_cast<float>(0.2 * value) + noise(rng);
  }
  return samples;
}

const std::vector<float>& audio() {
  static const std::vector<float> samples = make_audio(kAudioSeconds, kSampleRateHz);
  return samples;
}

void report_realtime(benchmark::State& state) {
  state.counters["x_realtime"] = benchmark::Counter(
      kAudioSeconds * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void run_features(benchmark::State& state, const spkid::FeatureOptions& options) {
  const spkid::FeatureExtractor extractor(options);
  for (auto _ : state) {
    spkid::FeatureMatrix features = extractor.compute(audio());
    benchmark::DoNotOptimize(features.data.data());
  }
  report_realtime(state);
}

// The model's input: 64-band log-Mel, mean-normalised (the defaults).
void BM_LogMel64(benchmark::State& state) { run_features(state, spkid::FeatureOptions{}); }
BENCHMARK(BM_LogMel64)->Unit(benchmark::kMillisecond);

void BM_LogMel64NoNormalization(benchmark::State& state) {
  spkid::FeatureOptions options;
  options.normalize_mean = false;
  run_features(state, options);
}
BENCHMARK(BM_LogMel64NoNormalization)->Unit(benchmark::kMillisecond);

void BM_Mfcc20(benchmark::State& state) {
  spkid::FeatureOptions options;
  options.mfcc = true;
  options.num_ceps = 20;
  run_features(state, options);
}
BENCHMARK(BM_Mfcc20)->Unit(benchmark::kMillisecond);

void BM_MagnitudeSpectrogram(benchmark::State& state) {
  const spkid::FeatureExtractor extractor;
  for (auto _ : state) {
    spkid::FeatureMatrix magnitudes =
        extractor.magnitude_spectrogram(audio().data(), static_cast<long>(audio().size()));
    benchmark::DoNotOptimize(magnitudes.data.data());
  }
  report_realtime(state);
}
BENCHMARK(BM_MagnitudeSpectrogram)->Unit(benchmark::kMillisecond);

// What a process pays once: window, filterbank and FFTW plan.
void BM_ExtractorConstruction(benchmark::State& state) {
  for (auto _ : state) {
    spkid::FeatureExtractor extractor;
    benchmark::DoNotOptimize(&extractor);
  }
}
BENCHMARK(BM_ExtractorConstruction)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
