// spkid and spkid-model: parse the global flags, run one subcommand, and turn every error into one
// line on standard error and an exit status. Both programs are built from this file; only
// spkid-model (SPKID_WITH_MODEL=1) has the commands that need the speaker model, and spkid forwards
// those to it.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <iostream>
#include <memory>

#include "cli.h"
#include "store_commands.h"

namespace spkid::cli {
namespace {

// Logs go to standard error as "spkid: LEVEL: message", coloured only on a terminal.
void set_up_logging() {
  auto logger = std::make_shared<spdlog::logger>(
      "spkid", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  logger->set_pattern("spkid: %^%l%$: %v");
  spdlog::set_default_logger(std::move(logger));
}

spdlog::level::level_enum log_level(const Context& context) {
  if (context.quiet) return spdlog::level::err;
  if (context.verbosity >= 2) return spdlog::level::trace;
  return context.verbosity == 1 ? spdlog::level::debug : spdlog::level::info;
}

// Adds a command's parser; its run function may read the global flags from the context.
using AddCommand = Command (*)(CLI::App& app, const Context& context);

template <Command (*add)(CLI::App&)>
Command add_without_context(CLI::App& app, const Context& /*context*/) {
  return add(app);
}

#if SPKID_WITH_MODEL
#define SPKID_MODEL_COMMAND(add) add
#else
#define SPKID_MODEL_COMMAND(add) nullptr  // not linked into spkid: forwarded to spkid-model
#endif

struct CommandEntry {
  const char* name;
  // Only for a command that needs the speaker model: its line in spkid's --help, the same as in
  // spkid-model's (forwarding_test compares the two).
  const char* model_help;
  AddCommand add;
};

// Every command, in the order of --help. This table is the single switch between the programs:
// a command that needs the speaker model (hence LibTorch, whose start-up alone costs a process
// ~0.5 s of CPU and ~160 MB) has its help line here and its adder in SPKID_MODEL_COMMAND, and its
// source is built into spkid-model only (CMakeLists.txt). A store command moves there once it
// needs embeddings; enroll hands itself to spkid-model once the store has a model to embed with.
const CommandEntry kCommands[] = {
    {"info", nullptr, add_without_context<add_info_command>},
    {"spectrogram", nullptr, add_without_context<add_spectrogram_command>},
    {"features", nullptr, add_without_context<add_features_command>},
    {"pretrain",
     "Train the speaker network on a corpus (one folder of audio per speaker) and write a model",
     SPKID_MODEL_COMMAND(add_without_context<add_pretrain_command>)},
    {"enroll", nullptr, add_enroll_command},
    {"list", nullptr, add_list_command},
    {"remove", nullptr, add_remove_command},
    {"rename", nullptr, add_rename_command},
    {"train", "Fine-tune a classifier of the enrolled speakers and make it the store's model",
     SPKID_MODEL_COMMAND(add_train_command)},
    {"identify", "Say which enrolled speaker speaks in each file, or unknown",
     SPKID_MODEL_COMMAND(add_identify_command)},
    {"verify", "Accept or reject a file as the voice of one enrolled speaker",
     SPKID_MODEL_COMMAND(add_verify_command)},
    {"listen", "Say who speaks in live audio, one line per utterance as soon as it ends",
     SPKID_MODEL_COMMAND(add_listen_command)},
    {"eval", "Measure identification on a dataset (one folder per speaker)",
     SPKID_MODEL_COMMAND(add_eval_command)},
};

// A command that spkid-model runs. As soon as the parser reaches its name, this process becomes
// spkid-model with the whole command line, so the command's options, --help, messages and exit
// statuses are spkid-model's own. The rest of the line is never parsed here: even with
// prefix_command(), CLI11 would still act on `--` and `++` in it (`enroll -- -odd-name.wav`).
Command add_forwarded_command(CLI::App& app, const CommandEntry& entry, char** argv) {
  CLI::App* command = app.add_subcommand(entry.name, entry.model_help);
  command->preparse_callback([&entry, argv](std::size_t) { exec_model_program(entry.name, argv); });
  return {command, [] { return kExitInternal; }};  // unreachable: parsing never gets past it
}

// Scripts read the error as one line, whatever the message holds.
std::string one_line(std::string message) {
  std::replace(message.begin(), message.end(), '\n', ' ');
  return message;
}

int run(int argc, char** argv) {
  CLI::App app("spkid: speaker identification, who is speaking", "spkid");
  app.get_formatter()->column_width(34);
  app.require_subcommand(1);
  app.set_version_flag("--version", "spkid " SPKID_VERSION, "Print the version and exit");

  Context context;
  context.store_dir = default_store_dir();
  app.add_option("--store", context.store_dir,
                 "Enrollment store (default: $SPKID_HOME, else $XDG_DATA_HOME/spkid, else "
                 "~/.local/share/spkid)")
      ->capture_default_str()
      ->type_name("DIR");
  CLI::Option* verbose =
      app.add_flag("-v,--verbose", context.verbosity, "More messages: -v debug, -vv trace");
  app.add_flag("-q,--quiet", context.quiet, "Errors only")->excludes(verbose);
  app.footer(
      "Global options go before the command; `spkid COMMAND --help` describes each command.\n\n"
      "Exit status: 0 success, 1 some inputs failed, 2 usage error, 3 bad input (missing,\n"
      "unreadable or unusable audio), 4 store error, 5 model error, 10 rejected by verify,\n"
      "70 internal error.");

  std::vector<Command> commands;
  for (const CommandEntry& entry : kCommands) {
    commands.push_back(entry.add != nullptr ? entry.add(app, context)
                                            : add_forwarded_command(app, entry, argv));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      return app.exit(error);  // --help or --version, printed to standard output
    }
    std::string usage = "spkid";
    for (const Command& command : commands) {
      if (command.app->parsed()) usage += " " + command.app->get_name();
    }
    spdlog::error("{}; see '{} --help'", one_line(error.what()), usage);
    return kExitUsage;
  }
  spdlog::set_level(log_level(context));
  spdlog::debug("store: {}", context.store_dir);

  for (const Command& command : commands) {
    if (!command.app->parsed()) continue;
    const int status = command.run();
    // Output that never arrived (a full disk, a closed pipe) is a failure, not a success.
    std::cout.flush();
    if (!std::cout) {
      throw spkid::Error(spkid::ErrorCode::kIo,
                         std::string("cannot write to standard output (") + std::strerror(errno) +
                             "): check where the output goes, a full disk or a closed pipe");
    }
    return status;
  }
  return kExitUsage;  // unreachable: a subcommand is required
}

}  // namespace
}  // namespace spkid::cli

int main(int argc, char** argv) {
  using namespace spkid::cli;
  set_up_logging();
  try {
    return run(argc, argv);
  } catch (const spkid::Error& error) {
    spdlog::error("{}", one_line(error.what()));
    return exit_status_for(error.code());
  } catch (const std::exception& error) {
    spdlog::error("internal error: {}; please report it", one_line(error.what()));
    return kExitInternal;
  }
}
