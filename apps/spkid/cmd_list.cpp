// spkid list [NAME...]: the enrolled speakers, or the recordings of the named ones.
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>

#include "open_set_report.h"
#include "spkid/model_registry.h"
#include "spkid/recognizer.h"
#include "store_commands.h"
#include "table.h"

namespace spkid::cli {
namespace {

struct ListSettings {
  std::vector<std::string> names;
  bool json = false;
};

// The open-set summary the last identify or train kept, when it is about these speakers.
void print_open_set_summary(const Store& store, const std::vector<SpeakerSummary>& speakers) {
  const auto summary = store.setting(kOpenSetSummaryKey);
  if (!summary) {
    spdlog::info("the open-set decision is not calibrated yet: the first identify or train does");
    return;
  }
  const OpenSetCalibration open_set = open_set_summary_from_json(*summary);
  std::cout << "unknown: " << describe_open_set(open_set);
  if (open_set.num_speakers != int(speakers.size())) {
    std::cout << " (calibrated with " << open_set.num_speakers
              << " speakers; the next identify or train calibrates again)";
  }
  std::cout << '\n';
}

void list_speakers(const Store& store, bool json) {
  const std::vector<SpeakerSummary> speakers = store.list_speakers();
  // Speakers a trained classifier covers are told apart best; the others by their enrollment.
  const auto model = store.current_model();
  const bool has_classifier = model && model->kind == kClassifierModelKind;
  Table table({{"speaker"},
               {"files", Table::Align::kRight},
               {"clips", Table::Align::kRight},
               {"speech (s)", Table::Align::kRight},
               {progress_header(), Table::Align::kRight},
               {"trained"},
               {"enrolled since"}});
  for (const SpeakerSummary& speaker : speakers) {
    if (json) {
      nlohmann::json object = {{"speaker", speaker.name}};
      object.update(speaker_totals_json(speaker));
      print_json_line(object);
      continue;
    }
    table.add_row(
        {speaker.name, std::to_string(speaker.num_recordings), std::to_string(speaker.num_clips),
         fixed(speaker.speech_seconds), progress_toward_recommended(speaker.speech_seconds),
         has_classifier && speaker.covered_by_current_model ? "yes" : "no", speaker.created_at});
  }
  table.print(std::cout);
  if (speakers.empty())
    spdlog::info("no speakers in {}: enroll one with `spkid enroll`", store.dir());
  if (!json && !speakers.empty()) print_open_set_summary(store, speakers);
  if (!json && !speakers.empty() && !has_classifier) {
    spdlog::info(
        "identify compares voices with each speaker's enrollment; `spkid train` makes a "
        "classifier of these speakers that tells them apart better");
  }
}

void list_recordings(const Store& store, const std::vector<std::string>& names, bool json) {
  Table table({{"speaker"},
               {"recording", Table::Align::kRight},
               {"source"},
               {"sha256"},
               {"duration (s)", Table::Align::kRight},
               {"speech (s)", Table::Align::kRight},
               {"clips", Table::Align::kRight},
               {"enrolled at"}});
  // Every name is checked before anything is printed.
  std::vector<SpeakerDetails> speakers;
  for (const std::string& name : names) speakers.push_back(store.speaker_details(name));
  for (const SpeakerDetails& speaker : speakers) {
    for (const RecordingRecord& recording : speaker.recordings) {
      const RecordingProvenance& provenance = recording.provenance;
      if (json) {
        print_json_line({{"speaker", speaker.summary.name},
                         {"recording_id", recording.id},
                         {"source_path", provenance.source_path},
                         {"sha256", provenance.sha256},
                         {"duration_seconds", provenance.duration_seconds},
                         {"speech_seconds", provenance.speech_seconds},
                         {"clips", recording.num_clips},
                         {"enrolled_at", recording.enrolled_at}});
        continue;
      }
      // The digest's first 12 hex digits tell recordings apart at a glance.
      table.add_row({speaker.summary.name, std::to_string(recording.id),
                     input_name(provenance.source_path), provenance.sha256.substr(0, 12),
                     fixed(provenance.duration_seconds), fixed(provenance.speech_seconds),
                     std::to_string(recording.num_clips), recording.enrolled_at});
    }
  }
  table.print(std::cout);
}

int run_list(const ListSettings& settings, const Context& context) {
  const Store store = Store::open(context.store_dir, StoreAccess::kRead);
  if (settings.names.empty()) {
    list_speakers(store, settings.json);
  } else {
    list_recordings(store, settings.names, settings.json);
  }
  return kExitSuccess;
}

}  // namespace

Command add_list_command(CLI::App& parent, const Context& context) {
  auto settings = std::make_shared<ListSettings>();
  CLI::App* command = parent.add_subcommand(
      "list", "Show the enrolled speakers, or the recordings of the named ones");
  command->add_option("NAME", settings->names, "Speakers whose recordings to show")->type_name("");
  command->add_flag("--json", settings->json,
                    "One JSON object per speaker (or recording) and line");
  command->footer(
      "Per speaker: recordings, clips, seconds of speech (30 s recommended), whether the store's\n"
      "current model was made with them, and when they were first enrolled. With NAMEs: each\n"
      "recording's source file, SHA-256 of its decoded audio, duration, speech and clips.\n\n"
      "Examples:\n"
      "  spkid list\n"
      "  spkid list alice bob\n"
      "  spkid --store voices/ list --json");
  return {command, [settings, &context] { return run_list(*settings, context); }};
}

}  // namespace spkid::cli
