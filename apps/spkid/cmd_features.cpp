// spkid features FILE... -o DIR: the speaker model's input features as NumPy arrays.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <system_error>

#include "cli.h"
#include "spkid/npy.h"

namespace spkid::cli {
namespace {

struct FeaturesSettings {
  std::vector<std::string> inputs;
  std::string output_dir;
  bool no_vad = false;
  bool json = false;
  int jobs = 0;
  AudioOptions audio;
  VadOptions vad;
  FeatureOptions features;
};

struct Written {
  int frames = 0;
  double seconds = 0;  // of audio the frames cover
};

// DIR/<stem>.npy for every input; two inputs with one stem are refused before any work.
std::vector<std::string> output_paths(const std::vector<std::string>& inputs,
                                      const std::string& output_dir) {
  std::vector<std::string> outputs;
  std::map<std::string, std::string> input_of_output;
  for (const std::string& input : inputs) {
    const std::string stem = input == "-" ? "stdin" : std::filesystem::path(input).stem().string();
    const std::string output = (std::filesystem::path(output_dir) / (stem + ".npy")).string();
    const auto [existing, inserted] = input_of_output.emplace(output, input);
    if (!inserted) {
      throw Error(ErrorCode::kInvalidArgument, "'" + existing->second + "' and '" + input +
                                                   "' would both be written to '" + output +
                                                   "'; rename one or run them in separate calls");
    }
    outputs.push_back(output);
  }
  return outputs;
}

void create_output_dir(const std::string& output_dir) {
  std::error_code error;
  std::filesystem::create_directories(output_dir, error);
  if (error) {
    throw Error(ErrorCode::kIo, "cannot create the output directory '" + output_dir +
                                    "': " + error.message() + "; check the path and permissions");
  }
}

// The samples the features are made of: the speech only, unless --no-vad keeps everything.
std::vector<float> analysed_samples(Audio& audio, const FeaturesSettings& settings) {
  if (settings.no_vad) return std::move(audio.samples);
  const VadResult vad = detect_speech(audio.samples, audio.sample_rate_hz, settings.vad);
  if (vad.segments.empty()) {
    throw Error(ErrorCode::kNoSpeech,
                "no speech found; check the recording, lower --vad-floor-dbfs, or keep all "
                "audio with --no-vad");
  }
  return keep_speech(audio.samples, vad);
}

int run_features(FeaturesSettings& settings) {
  settings.features.sample_rate_hz = settings.audio.sample_rate_hz;
  settings.audio.validate();
  settings.vad.validate();
  settings.features.validate();
  const std::vector<std::string> outputs = output_paths(settings.inputs, settings.output_dir);
  create_output_dir(settings.output_dir);

  // One extractor, FFT plan and filterbank for all workers: compute() is const and thread-safe.
  const FeatureExtractor extractor(settings.features);
  std::vector<Written> written(settings.inputs.size());
  const std::vector<InputFailure> failures =
      process_inputs(settings.inputs, settings.jobs, [&](std::size_t i) {
        Audio audio = load_audio(settings.inputs[i], settings.audio);
        const std::vector<float> samples = analysed_samples(audio, settings);
        const FeatureMatrix features = extractor.compute(samples);
        if (features.num_frames == 0) {
          throw Error(ErrorCode::kAudioTooShort,
                      "too little audio for one feature frame; give a longer recording");
        }
        write_npy(outputs[i], features);
        written[i] = {features.num_frames,
                      static_cast<double>(samples.size()) / settings.audio.sample_rate_hz};
        spdlog::debug("{}: {:.2f} s -> {} ({} x {})", input_name(settings.inputs[i]),
                      written[i].seconds, outputs[i], features.num_frames, features.num_features);
      });

  if (settings.json) {
    for (std::size_t i = 0; i < settings.inputs.size(); ++i) {
      const std::string& input = settings.inputs[i];
      print_json_line(failures[i] ? json_failure(input, *failures[i])
                                  : nlohmann::json{{"file", input},
                                                   {"output", outputs[i]},
                                                   {"frames", written[i].frames},
                                                   {"features", settings.features.num_features()},
                                                   {"seconds", written[i].seconds}});
    }
  }
  const auto succeeded = std::count_if(failures.begin(), failures.end(),
                                       [](const InputFailure& failure) { return !failure; });
  if (succeeded > 0) {
    spdlog::info("wrote {} of {} feature files (frames x {} float32) to {}", succeeded,
                 settings.inputs.size(), settings.features.num_features(), settings.output_dir);
  }
  return batch_exit_status(failures);
}

}  // namespace

Command add_features_command(CLI::App& parent) {
  auto settings = std::make_shared<FeaturesSettings>();
  CLI::App* command = parent.add_subcommand(
      "features",
      "Write features (log-Mel or MFCC) as DIR/<stem>.npy: float32 frames x features, for "
      "numpy.load");
  command->add_option("FILE", settings->inputs, "Audio files; - reads standard input (stdin.npy)")
      ->required()
      ->type_name("");
  command->add_option("-o,--output", settings->output_dir, "Directory for the .npy files")
      ->required()
      ->type_name("DIR");
  command->add_flag("--no-vad", settings->no_vad,
                    "Keep silence too (by default only the detected speech is used)");
  add_json_flag(*command, settings->json);
  add_jobs_option(*command, settings->jobs);
  add_audio_options(*command, settings->audio);
  add_vad_options(*command, settings->vad);
  add_feature_options(*command, settings->features);
  command->footer(
      "A file with no speech, or that cannot be read, gets an error line and the others go on.\n\n"
      "Examples:\n"
      "  spkid features talk.wav -o features/\n"
      "  spkid features -j 2 --mel-bins 80 --cmvn mean-variance corpus/*/*.flac -o features/\n"
      "  python3 -c 'import numpy; print(numpy.load(\"features/talk.npy\").shape)'");
  return {command, [settings] { return run_features(*settings); }};
}

}  // namespace spkid::cli
