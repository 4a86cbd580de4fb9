// Every options struct's command-line flags, declared once here and shared by the subcommands.
#include <string>
#include <vector>

#include "cli.h"

namespace spkid::cli {
namespace {

constexpr char kAudioGroup[] = "Audio";
constexpr char kVadGroup[] = "Voice activity";
constexpr char kChunkGroup[] = "Clips";
constexpr char kFeatureGroup[] = "Features";

// A flag taking one of `names`, turned into the enum by `parse`.
template <typename Enum, typename Parse>
CLI::Option* add_choice(CLI::App& command, const std::string& flag, Enum& value,
                        const std::vector<std::string>& names, const std::string& current,
                        Parse parse, const std::string& description, const char* group) {
  return command
      .add_option_function<std::string>(
          flag, [&value, parse](const std::string& name) { value = parse(name); }, description)
      ->check(CLI::IsMember(names))
      ->default_str(current)
      ->type_name("NAME")
      ->group(group);
}

}  // namespace

void add_audio_options(CLI::App& command, AudioOptions& options) {
  add_value(command, "--sample-rate", options.sample_rate_hz,
            "Every input is resampled to this rate", "HZ", kAudioGroup);
  std::vector<std::string> qualities;
  for (ResampleQuality quality : resample_qualities()) {
    qualities.emplace_back(resample_quality_name(quality));
  }
  add_choice(command, "--resample-quality", options.resample_quality, qualities,
             resample_quality_name(options.resample_quality), parse_resample_quality,
             "libsoxr, then libsamplerate converters, best first", kAudioGroup);
  add_value(command, "--min-seconds", options.min_seconds, "Shorter inputs are refused", "S",
            kAudioGroup);
  add_value(command, "--max-seconds", options.max_seconds,
            "Longer inputs are refused before decoding", "S", kAudioGroup);
}

void add_vad_options(CLI::App& command, VadOptions& options) {
  add_value(command, "--vad-threshold-db", options.relative_threshold_db,
            "A frame is speech within this many dB of the loud frames", "DB", kVadGroup);
  add_value(command, "--vad-snr-db", options.snr_margin_db,
            "A frame is speech this many dB above the noise floor", "DB", kVadGroup);
  add_value(command, "--vad-floor-dbfs", options.absolute_floor_dbfs,
            "Frames quieter than this are never speech", "DBFS", kVadGroup);
  add_value(command, "--vad-min-speech-ms", options.min_speech_ms,
            "Shorter bursts (clicks) are dropped", "MS", kVadGroup);
  add_value(command, "--vad-min-silence-ms", options.min_silence_ms,
            "Shorter pauses stay inside the speech", "MS", kVadGroup);
  add_value(command, "--vad-padding-ms", options.padding_ms,
            "Audio kept either side of each speech region", "MS", kVadGroup);
}

void add_chunk_options(CLI::App& command, ChunkOptions& options) {
  add_value(command, "--clip-seconds", options.clip_seconds,
            "Length of the clips speech is cut into", "S", kChunkGroup);
  add_value(command, "--clip-overlap", options.overlap_seconds, "Audio shared by consecutive clips",
            "S", kChunkGroup);
  add_value(command, "--min-clip-seconds", options.min_clip_seconds,
            "Less speech than this gives no clip", "S", kChunkGroup);
}

void add_feature_options(CLI::App& command, FeatureOptions& options, FeatureFlags flags) {
  add_value(command, "--frame-length-ms", options.frame_length_ms, "Analysis frame length", "MS",
            kFeatureGroup);
  add_value(command, "--frame-shift-ms", options.frame_shift_ms, "Step between frames", "MS",
            kFeatureGroup);
  add_choice(command, "--window", options.window, {"hann", "povey", "hamming"},
             window_type_name(options.window), parse_window_type, "Analysis window", kFeatureGroup);
  add_value(command, "--mel-bins", options.num_mel_bins, "Mel filterbank bands", "N",
            kFeatureGroup);
  add_value(command, "--fmin", options.f_min_hz, "Lowest frequency of the filterbank", "HZ",
            kFeatureGroup);
  add_value(command, "--fmax", options.f_max_hz,
            "Highest frequency of the filterbank; 0 or less counts down from Nyquist", "HZ",
            kFeatureGroup);
  if (flags == FeatureFlags::kFilterbank) return;

  command.add_flag("--mfcc", options.mfcc, "Cepstra (DCT-II of the log-Mel energies) instead")
      ->group(kFeatureGroup);
  add_value(command, "--num-ceps", options.num_ceps, "Cepstra kept with --mfcc", "N",
            kFeatureGroup);
  const auto parse_cmvn = [&options](const std::string& name) {
    options.normalize_mean = name != "none";
    options.normalize_variance = name == "mean-variance";
  };
  const char* current_cmvn = !options.normalize_mean      ? "none"
                             : options.normalize_variance ? "mean-variance"
                                                          : "mean";
  command
      .add_option_function<std::string>("--cmvn", parse_cmvn,
                                        "Per-utterance normalisation of each feature")
      ->check(CLI::IsMember({"none", "mean", "mean-variance"}))
      ->default_str(current_cmvn)
      ->type_name("NAME")
      ->group(kFeatureGroup);
}

void add_jobs_option(CLI::App& command, int& jobs) {
  command.add_option("-j,--jobs", jobs, "Files processed at once (default: one per core)")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
}

void add_json_flag(CLI::App& command, bool& json) {
  command.add_flag("--json", json, "One JSON object per input and line, instead of text");
}

}  // namespace spkid::cli
