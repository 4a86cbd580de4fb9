// spkid spectrogram FILE -o OUT.png: a picture of a recording.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "cli.h"
#include "spkid/spectrogram_image.h"

namespace spkid::cli {
namespace {

struct SpectrogramSettings {
  std::string input;
  std::string output;
  bool linear = false;
  bool waveform = false;
  AudioOptions audio;
  SpectrogramImageOptions image;
};

int run_spectrogram(SpectrogramSettings& settings) {
  settings.audio.validate();
  settings.image.features.sample_rate_hz = settings.audio.sample_rate_hz;
  settings.image.validate();

  settings.image.kind = settings.linear     ? SpectrogramKind::kLinear
                        : settings.waveform ? SpectrogramKind::kWaveform
                                            : SpectrogramKind::kLogMel;
  settings.image.title = settings.input == "-"
                             ? input_name(settings.input)
                             : std::filesystem::path(settings.input).filename().string();
  const Audio audio = load_audio(settings.input, settings.audio);
  if (settings.output == "-") {
    std::cout << render_spectrogram_png(audio, settings.image) << std::flush;
    return kExitSuccess;
  }
  write_spectrogram_png(settings.output, audio, settings.image);
  spdlog::info("wrote {}", settings.output);
  return kExitSuccess;
}

}  // namespace

Command add_spectrogram_command(CLI::App& parent) {
  auto settings = std::make_shared<SpectrogramSettings>();
  CLI::App* command = parent.add_subcommand(
      "spectrogram",
      "Draw a recording as a PNG: log-Mel spectrogram (the model's view), linear spectrogram "
      "or waveform");
  command->add_option("FILE", settings->input, "Audio file; - reads standard input")
      ->required()
      ->type_name("");
  command
      ->add_option("-o,--output", settings->output, "PNG file to write; - writes standard output")
      ->required()
      ->type_name("OUT.png");
  CLI::Option* linear =
      command->add_flag("--linear", settings->linear, "|STFT| in dB on a linear frequency axis");
  command->add_flag("--waveform", settings->waveform, "Amplitude over time")->excludes(linear);
  command->add_option("--width", settings->image.width_px, "Picture width")
      ->capture_default_str()
      ->type_name("PX");
  command->add_option("--height", settings->image.height_px, "Picture height")
      ->capture_default_str()
      ->type_name("PX");
  command
      ->add_option("--range-db", settings->image.dynamic_range_db,
                   "Colours span the loudest value down to this many dB below it")
      ->capture_default_str()
      ->type_name("DB");
  add_audio_options(*command, settings->audio);
  add_feature_options(*command, settings->image.features, FeatureFlags::kFilterbank);
  command->footer(
      "Time runs left to right, low frequencies at the bottom; colours follow the viridis map,\n"
      "from dark (quiet) to yellow (loudest).\n\n"
      "Examples:\n"
      "  spkid spectrogram talk.wav -o talk.png\n"
      "  spkid spectrogram talk.wav --linear --width 1600 -o talk-linear.png\n"
      "  spkid spectrogram talk.flac --waveform -o talk-wave.png\n"
      "  spkid spectrogram talk.wav -o - | display");
  return {command, [settings] { return run_spectrogram(*settings); }};
}

}  // namespace spkid::cli
