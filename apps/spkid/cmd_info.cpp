// spkid info FILE...: what each recording is, how much speech it holds, the clips it would give.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli.h"

namespace spkid::cli {
namespace {

struct InfoSettings {
  std::vector<std::string> inputs;
  AudioOptions audio;
  VadOptions vad;
  ChunkOptions chunk;
  int jobs = 0;
  bool json = false;
};

struct Recording {
  AudioFileInfo source;
  double speech_seconds = 0;
  std::size_t clips = 0;
};

Recording describe(const std::string& input, const InfoSettings& settings) {
  const Audio audio = load_audio(input, settings.audio);
  const VadResult vad = detect_speech(audio.samples, audio.sample_rate_hz, settings.vad);
  long speech_samples = 0;
  for (const SpeechSegment& segment : vad.segments) {
    speech_samples += segment.end_sample - segment.begin_sample;
  }
  return {audio.source, vad.speech_seconds,
          plan_clips(speech_samples, audio.sample_rate_hz, settings.chunk).size()};
}

nlohmann::json to_json(const std::string& input, const Recording& recording,
                       const ChunkOptions& chunk) {
  return {{"file", input},
          {"format", recording.source.format},
          {"encoding", recording.source.encoding},
          {"sample_rate_hz", recording.source.sample_rate_hz},
          {"channels", recording.source.channels},
          {"frames", recording.source.frames},
          {"duration_seconds", recording.source.duration_seconds()},
          {"speech_seconds", recording.speech_seconds},
          {"clip_seconds", chunk.clip_seconds},
          {"clips", recording.clips}};
}

std::string fixed(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f", value);
  return text;
}

// Columns padded to their widest cell: text left-aligned, numbers right-aligned.
void print_table(const std::vector<std::vector<std::string>>& rows) {
  constexpr std::size_t kFirstNumberColumn = 3;
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      const std::string padding(widths[c] - row[c].size(), ' ');
      if (c > 0) line += "  ";
      line += c < kFirstNumberColumn ? row[c] + padding : padding + row[c];
    }
    std::cout << line << '\n';
  }
}

int run_info(const InfoSettings& settings) {
  settings.audio.validate();
  settings.vad.validate();
  settings.chunk.validate();

  std::vector<Recording> recordings(settings.inputs.size());
  const std::vector<InputFailure> failures = process_inputs(
      settings.inputs, settings.jobs,
      [&](std::size_t i) { recordings[i] = describe(settings.inputs[i], settings); });

  std::vector<std::vector<std::string>> rows = {{"file", "format", "encoding", "rate (Hz)",
                                                 "channels", "duration (s)", "speech (s)",
                                                 "clips"}};
  for (std::size_t i = 0; i < settings.inputs.size(); ++i) {
    const std::string& input = settings.inputs[i];
    if (settings.json) {
      print_json_line(failures[i] ? json_failure(input, *failures[i])
                                  : to_json(input, recordings[i], settings.chunk));
    } else if (!failures[i]) {
      const Recording& r = recordings[i];
      rows.push_back({input_name(input), r.source.format, r.source.encoding,
                      std::to_string(r.source.sample_rate_hz), std::to_string(r.source.channels),
                      fixed(r.source.duration_seconds()), fixed(r.speech_seconds),
                      std::to_string(r.clips)});
    }
  }
  if (!settings.json && rows.size() > 1) print_table(rows);
  return batch_exit_status(failures);
}

}  // namespace

Command add_info_command(CLI::App& parent) {
  auto settings = std::make_shared<InfoSettings>();
  CLI::App* command = parent.add_subcommand(
      "info",
      "Describe recordings: format, sample rate, channels, duration, seconds of speech, "
      "clips");
  command->add_option("FILE", settings->inputs, "Audio files; - reads standard input")
      ->required()
      ->type_name("");
  add_json_flag(*command, settings->json);
  add_jobs_option(*command, settings->jobs);
  add_audio_options(*command, settings->audio);
  add_vad_options(*command, settings->vad);
  add_chunk_options(*command, settings->chunk);
  command->footer(
      "A file that cannot be read gets an error line and the others go on; the exit status is\n"
      "then 1, or the files' common error status when every one failed.\n\n"
      "Examples:\n"
      "  spkid info talk.wav\n"
      "  spkid info --json --clip-seconds 3 recordings/*.flac\n"
      "  sox talk.wav -t wav - | spkid info -");
  return {command, [settings] { return run_info(*settings); }};
}

}  // namespace spkid::cli
