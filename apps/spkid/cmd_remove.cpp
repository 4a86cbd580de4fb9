// spkid remove NAME: delete a speaker with every recording, clip, embedding and model made with
// them.
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>

#include "spkid/speaker_name.h"
#include "store_commands.h"
#include "table.h"

namespace spkid::cli {
namespace {

struct RemoveSettings {
  std::string name;
  bool json = false;
};

int run_remove(const RemoveSettings& settings, const Context& context) {
  Store store = Store::open(context.store_dir, StoreAccess::kWrite);
  const SpeakerSummary removed = store.remove_speaker(settings.name);
  if (settings.json) {
    nlohmann::json object = {{"speaker", removed.name}, {"status", "removed"}};
    object.update(speaker_totals_json(removed));
    print_json_line(object);
  } else {
    std::cout << "removed " << quote_speaker_name(removed.name) << ": " << removed.num_recordings
              << " recordings, " << removed.num_clips << " clips, "
              << fixed(removed.speech_seconds, 1) << " s of speech\n";
  }
  if (removed.covered_by_current_model) {
    spdlog::info(
        "deleted the store's model trained with the voice of {}: the base model names speakers "
        "until you run spkid train",
        quote_speaker_name(removed.name));
  }
  return kExitSuccess;
}

}  // namespace

Command add_remove_command(CLI::App& parent, const Context& context) {
  auto settings = std::make_shared<RemoveSettings>();
  CLI::App* command = parent.add_subcommand(
      "remove", "Delete a speaker and everything enrolled for them (features, embeddings)");
  command->add_option("NAME", settings->name, "The speaker")->required()->type_name("");
  add_json_flag(*command, settings->json);
  command->footer(
      "The freed space in the database is overwritten and every model trained with the "
      "speaker is deleted,\nso the voice data does not linger.\n\n"
      "Example:\n"
      "  spkid remove alice");
  return {command, [settings, &context] { return run_remove(*settings, context); }};
}

}  // namespace spkid::cli
