// Speed of the speaker network's forward pass (embedding of 3 s clips) with the shipped base
// model, on one and on both threads, one clip per call and a batch of clips per call. Features
// are computed once, outside the timed loop: bench_features measures them.
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <link.h>

#include <climits>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "spkid/error.h"
#include "spkid/features.h"
#include "spkid/model.h"
#include "spkid/model_registry.h"
#include "spkid/recognizer.h"

namespace {

constexpr double kClipSeconds = 3;

// The model identify uses: $SPKID_BASE_MODEL, else the installed or source tree's base.pt.
const spkid::SpeakerModel& base_model() {
  static const spkid::SpeakerModel model = spkid::SpeakerModel::load(spkid::base_model_path());
  return model;
}

// Features of `count` different 3 s clips of noise: a forward pass costs the same whatever the
// clip holds, so no speech is needed, only the model's frame count and feature settings.
std::vector<spkid::FeatureMatrix> make_clips(const spkid::SpeakerModel& model, int count) {
  const spkid::FeatureExtractor extractor(model.feature_options());
  const auto num_samples =
      static_cast<std::size_t>(kClipSeconds * model.feature_options().sample_rate_hz);
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 0.1f);
  std::vector<spkid::FeatureMatrix> clips;
  for (int c = 0; c < count; ++c) {
    std::vector<float> samples(num_samples);
    for (float& sample : samples) sample = noise(rng);
    clips.push_back(extractor.compute(samples));
  }
  return clips;
}

// Arguments: LibTorch threads, clips per forward pass (embed_batch call).
void BM_Embed3sClips(benchmark::State& state) {
  const int num_threads = static_cast<int>(state.range(0));
  const int clips_per_call = static_cast<int>(state.range(1));
  try {
    const spkid::SpeakerModel& model = base_model();
    spkid::set_model_threads(num_threads);
    // LibTorch's OpenMP thread count belongs to the calling thread: check the one that runs.
    if (at::get_num_threads() != num_threads) {
      state.SkipWithError(("LibTorch runs " + std::to_string(at::get_num_threads()) +
                           " threads instead of " + std::to_string(num_threads))
                              .c_str());
      return;
    }
    const std::vector<spkid::FeatureMatrix> clips = make_clips(model, clips_per_call);
    benchmark::DoNotOptimize(model.embed_batch(clips));  // first-call set-up, untimed
    for (auto _ : state) {
      std::vector<std::vector<float>> embeddings = model.embed_batch(clips);
      benchmark::DoNotOptimize(embeddings.data());
    }
    const auto clips_done = static_cast<double>(state.iterations()) * clips_per_call;
    state.counters["clips_per_s"] = benchmark::Counter(clips_done, benchmark::Counter::kIsRate);
    state.counters["x_realtime"] =
        benchmark::Counter(clips_done * kClipSeconds, benchmark::Counter::kIsRate);
    state.counters["mult_adds_per_s"] = benchmark::Counter(
        clips_done * model.multiply_adds(clips.front().num_frames), benchmark::Counter::kIsRate);
  } catch (const spkid::Error& error) {
    state.SkipWithError(error.what());
  }
}
// Rates per wall-clock second (LibTorch's threads run beside the timed one); the CPU column is
// the whole process's, every thread included.
BENCHMARK(BM_Embed3sClips)
    ->ArgNames({"threads", "clips"})
    ->Args({1, 1})
    ->Args({2, 1})
    ->Args({1, 16})
    ->Args({2, 16})
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

// The file a loaded library whose name contains `name` resolved to, e.g. which BLAS LibTorch
// runs (Debian's libblas.so.3 is the reference BLAS or OpenBLAS, as its alternatives say).
std::string loaded_library(const std::string& name) {
  struct Query {
    const std::string& name;
    std::string path = "not loaded";
  } query{name};
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        auto& q = *static_cast<Query*>(data);
        if (std::string(info->dlpi_name).find(q.name) == std::string::npos) return 0;
        char resolved[PATH_MAX];
        q.path = realpath(info->dlpi_name, resolved) != nullptr ? resolved : info->dlpi_name;
        return 1;
      },
      &query);
  return query.path;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::AddCustomContext("libblas", loaded_library("libblas.so"));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
