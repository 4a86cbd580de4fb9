// spkid enroll FILE... [--name NAME] | --dir DATASET | --list FILE: put speakers' voices into the
// store, with feedback on each recording and on each speaker's progress.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <vector>

#include "progress.h"
#include "spkid/enroll.h"
#include "spkid/speaker_name.h"
#include "store_commands.h"
#include "table.h"

namespace spkid::cli {
namespace {

ModelEmbedderFactory& model_embedder_factory() {
  static ModelEmbedderFactory factory = nullptr;
  return factory;
}

bool has_current_model(const std::string& store_dir) {
  try {
    return Store::open(store_dir, StoreAccess::kRead).current_model().has_value();
  } catch (const Error&) {
    // No store yet, one another enroll is creating, or a damaged one: then there is no model
    // to embed with, and opening the store to write says what is wrong.
    return false;
  }
}

// This process's command line, to hand the very same enrollment to spkid-model.
[[noreturn]] void run_in_model_program() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (std::size_t start = 0; start < raw.size();) {
    const std::size_t end = std::min(raw.find('\0', start), raw.size());
    args.push_back(raw.substr(start, end - start));
    start = end + 1;
  }
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  exec_model_program("enroll", argv.data());
}

struct EnrollSettings {
  std::vector<std::string> files;
  std::string name;
  const CLI::Option* name_option = nullptr;  // given, even as ""
  std::vector<std::string> dataset_dirs;
  std::vector<std::string> lists;
  bool json = false;
  EnrollmentOptions options;
};

std::vector<LabelledRecording> gather_recordings(const EnrollSettings& settings) {
  if (settings.files.empty() && settings.dataset_dirs.empty() && settings.lists.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "nothing to enroll: give audio FILEs, --dir DATASET or --list FILE");
  }
  const bool named = settings.name_option->count() > 0;
  if (named && settings.files.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "--name names the FILE arguments; the speakers of --dir are its folder names, "
                "those of --list the first word of each line");
  }
  if (named) validate_speaker_name(settings.name);
  std::vector<LabelledRecording> recordings;
  for (const std::string& file : settings.files) {
    if (!named && file == "-") {
      throw Error(ErrorCode::kInvalidArgument,
                  "standard input has no file name to name the speaker after: give --name NAME");
    }
    const std::string speaker = named ? settings.name : std::filesystem::path(file).stem().string();
    recordings.push_back({canonical_speaker_name(speaker), file, "", nullptr});
  }
  const bool audio_from_stdin =
      std::find(settings.files.begin(), settings.files.end(), "-") != settings.files.end();
  for (LabelledRecording& recording :
       read_labelled_inputs(settings.dataset_dirs, settings.lists, audio_from_stdin)) {
    recordings.push_back(std::move(recording));
  }
  return recordings;
}

nlohmann::json quality_json(const SignalQuality& quality) {
  return {{"speech_level_dbfs", quality.speech_level_dbfs},
          {"noise_level_dbfs", quality.noise_level_dbfs},
          {"snr_db", quality.snr_db},
          {"clipped_fraction", quality.clipped_fraction},
          {"voiced_fraction", quality.voiced_fraction}};
}

nlohmann::json outcome_json(const RecordingOutcome& outcome, const SpeakerEnrollment& speaker) {
  const std::string& file = outcome.request.path;
  if (outcome.status == RecordingStatus::kFailed) {
    nlohmann::json failure = json_failure(file, *outcome.error);
    failure["speaker"] = speaker.speaker;
    failure["status"] = recording_status_name(outcome.status);
    return failure;
  }
  nlohmann::json warnings = nlohmann::json::array();
  for (const QualityWarning& warning : outcome.warnings) {
    warnings.push_back({{"code", quality_issue_name(warning.issue)}, {"message", warning.message}});
  }
  nlohmann::json object = {{"file", file},
                           {"speaker", speaker.speaker},
                           {"status", recording_status_name(outcome.status)},
                           {"recording_id", *outcome.recording_id},
                           {"source_path", outcome.provenance.source_path},
                           {"sha256", outcome.provenance.sha256},
                           {"duration_seconds", outcome.provenance.duration_seconds},
                           {"speech_seconds", outcome.provenance.speech_seconds},
                           {"clips", outcome.num_clips},
                           {"quality", quality_json(outcome.quality)},
                           {"warnings", warnings},
                           {"same_audio_speakers", outcome.same_audio_speakers}};
  if (outcome.status == RecordingStatus::kAlreadyEnrolled) {
    object["message"] = "already enrolled, nothing changed";
  }
  if (speaker.summary) object["speaker_total"] = speaker_totals_json(*speaker.summary);
  return object;
}

std::string notes(const RecordingOutcome& outcome) {
  if (outcome.status == RecordingStatus::kAlreadyEnrolled)
    return "already enrolled, nothing changed";
  std::string text;
  for (const QualityWarning& warning : outcome.warnings) {
    text += (text.empty() ? "" : ", ") + std::string(quality_issue_name(warning.issue));
  }
  return text;
}

// Diagnostics on standard error as each speaker is stored; results on standard output.
void report_diagnostics(const SpeakerEnrollment& speaker) {
  for (const RecordingOutcome& outcome : speaker.recordings) {
    const std::string file = input_name(outcome.request.path);
    if (outcome.error) {
      spdlog::error("{}", outcome.error->what());
      continue;
    }
    for (const QualityWarning& warning : outcome.warnings) {
      spdlog::warn("{}: {}", file, warning.message);
    }
    if (!outcome.same_audio_speakers.empty()) {
      constexpr std::size_t kNamesShown = 3;
      const std::vector<std::string>& others = outcome.same_audio_speakers;
      std::string names;
      for (std::size_t i = 0; i < std::min(others.size(), kNamesShown); ++i) {
        names += (i == 0 ? "" : ", ") + quote_speaker_name(others[i]);
      }
      if (others.size() > kNamesShown) {
        names += " and " + std::to_string(others.size() - kNamesShown) + " more";
      }
      spdlog::warn(
          "{}: the same audio is also enrolled as {}; a recording should belong to one "
          "speaker",
          file, names);
    }
  }
}

int run_enroll(EnrollSettings& settings, const Context& context) {
  settings.options.features.sample_rate_hz = settings.options.audio.sample_rate_hz;
  settings.options.validate();
  // Decided before any input is read, so that standard input is still whole for spkid-model.
  if (model_embedder_factory() == nullptr && has_current_model(context.store_dir)) {
    run_in_model_program();
  }
  const std::vector<LabelledRecording> recordings = gather_recordings(settings);
  Store store = Store::open(context.store_dir, StoreAccess::kCreate);
  const EnrollmentOptions options = options_for_store(settings.options, store.feature_options());
  const std::unique_ptr<ClipEmbedder> embedder =
      model_embedder_factory() != nullptr ? model_embedder_factory()(store, options.features)
                                          : nullptr;

  Table table({{"file"},
               {"speaker"},
               {"result"},
               {"speech (s)", Table::Align::kRight},
               {"clips", Table::Align::kRight},
               {"speaker total (s)", Table::Align::kRight},
               {progress_header(), Table::Align::kRight},
               {"notes"}});
  std::vector<InputFailure> failures;
  ProgressBar progress("enroll", recordings.size(), !context.quiet);
  EnrollmentHooks hooks;
  hooks.embedder = embedder.get();
  hooks.on_progress = [&](std::size_t done, std::size_t) { progress.update(done); };
  hooks.on_speaker = [&](const SpeakerEnrollment& speaker) {
    progress.clear();
    report_diagnostics(speaker);
    for (const RecordingOutcome& outcome : speaker.recordings) {
      failures.push_back(outcome.error);
      if (settings.json) {
        print_json_line(outcome_json(outcome, speaker));
      } else if (!outcome.error) {
        const bool added = outcome.status == RecordingStatus::kEnrolled;
        table.add_row({input_name(outcome.request.path), speaker.speaker,
                       added ? "enrolled" : "unchanged", fixed(outcome.provenance.speech_seconds),
                       added ? std::to_string(outcome.num_clips) : "-",
                       fixed(speaker.summary->speech_seconds),
                       progress_toward_recommended(speaker.summary->speech_seconds),
                       notes(outcome)});
      }
    }
    // Lines written as each speaker is stored survive a batch that is interrupted.
    std::cout.flush();
  };
  enroll_recordings(store, recordings, options, hooks);
  progress.clear();
  table.print(std::cout);
  return batch_exit_status(failures);
}

}  // namespace

void set_model_embedder_factory(ModelEmbedderFactory factory) {
  model_embedder_factory() = factory;
}

Command add_enroll_command(CLI::App& parent, const Context& context) {
  auto settings = std::make_shared<EnrollSettings>();
  CLI::App* command = parent.add_subcommand(
      "enroll",
      "Add speakers' voices to the store: speech is cut into clips whose features are kept, "
      "with each recording's provenance");
  command
      ->add_option("FILE", settings->files,
                   "Recordings of one speaker each, named after the file (alice.wav: alice) "
                   "unless --name is given; - reads standard input")
      ->type_name("");
  settings->name_option =
      command->add_option("-n,--name", settings->name, "The speaker of every FILE")
          ->type_name("NAME");
  command
      ->add_option("--dir", settings->dataset_dirs,
                   "A dataset folder with one sub-folder of recordings per speaker, named after "
                   "them")
      ->type_name("DATASET");
  command
      ->add_option("--list", settings->lists,
                   "A file of `name path` lines (relative paths start at the list's folder)")
      ->type_name("FILE");
  add_json_flag(*command, settings->json);
  add_jobs_option(*command, settings->options.jobs);
  add_audio_options(*command, settings->options.audio);
  add_vad_options(*command, settings->options.vad);
  add_chunk_options(*command, settings->options.chunk);
  add_feature_options(*command, settings->options.features);
  command->footer(
      "Several files, or several calls, for one name accumulate. Enrolling the same audio again\n"
      "changes nothing. A speaker needs 8 s of speech in total (30 s recommended); warnings say\n"
      "when a recording is clipped, too quiet, too noisy or short. The first enrollment fixes\n"
      "the store's feature settings. A recording that fails is reported and the others go on.\n\n"
      "Examples:\n"
      "  spkid enroll alice.wav\n"
      "  spkid enroll --name bob monday.flac tuesday.flac\n"
      "  spkid --store voices/ enroll --json --dir dataset/\n"
      "  spkid enroll --list enroll.txt      # lines: alice clips/alice-1.wav");
  return {command, [settings, &context] { return run_enroll(*settings, context); }};
}

}  // namespace spkid::cli
