// spkid rename OLD NEW: give a speaker another name, keeping everything enrolled for them.
#include <iostream>
#include <memory>

#include "spkid/speaker_name.h"
#include "store_commands.h"

namespace spkid::cli {
namespace {

struct RenameSettings {
  std::string old_name;
  std::string new_name;
  bool json = false;
};

int run_rename(const RenameSettings& settings, const Context& context) {
  Store store = Store::open(context.store_dir, StoreAccess::kWrite);
  const std::string new_name = store.rename_speaker(settings.old_name, settings.new_name);
  if (settings.json) {
    print_json_line(
        {{"speaker", new_name}, {"previous_name", settings.old_name}, {"status", "renamed"}});
  } else {
    std::cout << "renamed " << quote_speaker_name(settings.old_name) << " to "
              << quote_speaker_name(new_name) << '\n';
  }
  return kExitSuccess;
}

}  // namespace

Command add_rename_command(CLI::App& parent, const Context& context) {
  auto settings = std::make_shared<RenameSettings>();
  CLI::App* command = parent.add_subcommand(
      "rename", "Give a speaker another name; recordings, clips and models stay theirs");
  command->add_option("OLD", settings->old_name, "The speaker's name")->required()->type_name("");
  command->add_option("NEW", settings->new_name, "The new name")->required()->type_name("");
  add_json_flag(*command, settings->json);
  command->footer("Example:\n  spkid rename alice alice-smith");
  return {command, [settings, &context] { return run_rename(*settings, context); }};
}

}  // namespace spkid::cli
