// What the spkid subcommands share: global context, exit statuses, flag groups, batch output.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "spkid/audio.h"
#include "spkid/chunk.h"
#include "spkid/dataset.h"
#include "spkid/error.h"
#include "spkid/features.h"
#include "spkid/vad.h"

namespace spkid::cli {

// Exit statuses; `spkid --help` and the README list them.
enum ExitStatus : int {
  kExitSuccess = 0,
  kExitFailure = 1,    // some inputs of a batch failed; the others were done
  kExitUsage = 2,      // bad command line or option value
  kExitBadInput = 3,   // an input is missing, unreadable or not usable audio
  kExitStore = 4,      // the enrollment store cannot be used
  kExitModel = 5,      // the model is missing, damaged or does not match
  kExitRejected = 10,  // verify: the voice is not the claimed speaker's (an answer, not an error)
  kExitInternal = 70,  // a bug (sysexits' EX_SOFTWARE)
};

// The one mapping from library errors to exit statuses.
int exit_status_for(ErrorCode code) noexcept;

// Settings of the global flags, given before the subcommand.
struct Context {
  std::string store_dir;  // enrollment store: --store, $SPKID_HOME, $XDG_DATA_HOME/spkid, ...
  int verbosity = 0;      // -v: 1 debug, 2 trace
  bool quiet = false;     // -q: errors only
};

// $SPKID_HOME, else $XDG_DATA_HOME/spkid, else ~/.local/share/spkid.
std::string default_store_dir();

// How spkid, which does not link LibTorch, runs a `command` that needs the speaker model: this
// process becomes spkid-model with the same command line. spkid-model is looked for beside this
// program (build tree), then in its install-tree directory. Throws Error(kModel) when it is
// missing or cannot run.
[[noreturn]] void exec_model_program(const std::string& command, char** argv);

// A subcommand: its parser, and what runs once the whole command line is parsed.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_info_command(CLI::App& parent);
Command add_spectrogram_command(CLI::App& parent);
Command add_features_command(CLI::App& parent);
Command add_pretrain_command(CLI::App& parent);
// The commands that identify with the store's model (spkid-model only).
Command add_train_command(CLI::App& parent, const Context& context);
Command add_identify_command(CLI::App& parent, const Context& context);
Command add_verify_command(CLI::App& parent, const Context& context);
Command add_eval_command(CLI::App& parent, const Context& context);
Command add_listen_command(CLI::App& parent, const Context& context);

// One flag group per options struct (options.cpp). The flags write into `options`, which must
// outlive the parse; the command calls options.validate() afterwards.
void add_audio_options(CLI::App& command, AudioOptions& options);
void add_vad_options(CLI::App& command, VadOptions& options);
void add_chunk_options(CLI::App& command, ChunkOptions& options);
// kFilterbank leaves out MFCC and normalisation, for pictures of the band energies.
enum class FeatureFlags { kAll, kFilterbank };
void add_feature_options(CLI::App& command, FeatureOptions& options,
                         FeatureFlags flags = FeatureFlags::kAll);
void add_jobs_option(CLI::App& command, int& jobs);

// A flag bound to `value`, in --help group `group`, whose default shows in --help.
template <typename T>
CLI::Option* add_value(CLI::App& command, const std::string& flag, T& value,
                       const std::string& description, const std::string& unit, const char* group) {
  return command.add_option(flag, value, description)
      ->capture_default_str()
      ->type_name(unit)
      ->group(group);
}
void add_json_flag(CLI::App& command, bool& json);

// How an input is named in messages and pictures ("-" is standard input).
std::string input_name(const std::string& input);

// The recordings of --dir DATASET folders, then of --list files, labelled with their speakers.
// `audio_from_stdin`: a FILE argument is "-", so a list cannot be read from standard input too.
std::vector<LabelledRecording> read_labelled_inputs(const std::vector<std::string>& dataset_dirs,
                                                    const std::vector<std::string>& lists,
                                                    bool audio_from_stdin);

// The outcome of one input of a batch: no value when it succeeded.
using InputFailure = std::optional<Error>;

// Runs process(i) for every input on `jobs` workers. An input whose processing throws
// spkid::Error is logged as "spkid: error: INPUT: message" and recorded; the others go on.
// Refuses "-" given twice before starting: standard input can be read only once.
std::vector<InputFailure> process_inputs(const std::vector<std::string>& inputs, int jobs,
                                         const std::function<void(std::size_t)>& process);

// 0 when every input succeeded; when all failed for errors of one exit status, that status
// (so `spkid info missing.wav` exits 3); otherwise 1.
int batch_exit_status(const std::vector<InputFailure>& failures);

// {"file": INPUT, "error": {"code": ..., "message": ...}}: a failed input in JSON lines.
nlohmann::json json_failure(const std::string& input, const Error& error);

// Writes one JSON object on one line of standard output.
void print_json_line(const nlohmann::json& object);

}  // namespace spkid::cli
