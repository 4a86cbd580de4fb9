#include "cli.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "spkid/parallel.h"

namespace spkid::cli {
namespace {

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

}  // namespace

int exit_status_for(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return kExitUsage;
    case ErrorCode::kNotFound:
    case ErrorCode::kIo:
    case ErrorCode::kUnsupportedFormat:
    case ErrorCode::kCorruptAudio:
    case ErrorCode::kEmptyAudio:
    case ErrorCode::kNonFiniteAudio:
    case ErrorCode::kAudioTooLong:
    case ErrorCode::kAudioTooShort:
    case ErrorCode::kNoSpeech:
      return kExitBadInput;
    case ErrorCode::kStore:
      return kExitStore;
    case ErrorCode::kModel:
      return kExitModel;
    case ErrorCode::kInternal:
      return kExitInternal;
  }
  return kExitInternal;
}

std::string default_store_dir() {
  if (const std::string home = environment("SPKID_HOME"); !home.empty()) return home;
  // The XDG spec says relative values are invalid and must be ignored.
  if (const std::string data = environment("XDG_DATA_HOME"); !data.empty() && data[0] == '/') {
    return data + "/spkid";
  }
  return environment("HOME") + "/.local/share/spkid";
}

void exec_model_program(const std::string& command, char** argv) {
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::path own_dir = fs::read_symlink("/proc/self/exe", error).parent_path();
  if (error) {
    throw Error(ErrorCode::kModel, "cannot find spkid's own directory to run spkid-model (" +
                                       error.message() + " on /proc/self/exe): mount /proc");
  }
  // LibTorch's idle OpenMP threads sleep instead of spinning, unless the user says otherwise:
  // spinning threads took the cores from the ones working (training 1.5x slower on 2 busy cores).
  // Read when LibTorch loads, so it is set here, before spkid-model starts.
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
  const fs::path beside = own_dir / "spkid-model";
  const fs::path installed = (own_dir / SPKID_MODEL_PROGRAM_DIR / "spkid-model").lexically_normal();
  for (const fs::path& program : {beside, installed}) {
    ::execv(program.c_str(), argv);
    if (errno != ENOENT && errno != ENOTDIR) {
      throw Error(ErrorCode::kModel, "cannot run " + program.string() + " for '" + command +
                                         "': " + std::strerror(errno) +
                                         "; reinstall spkid with its model programs");
    }
  }
  throw Error(ErrorCode::kModel,
              "'" + command + "' runs in spkid-model, which is neither at " + beside.string() +
                  " nor at " + installed.string() +
                  ": reinstall spkid with its model programs, or build the spkid-model target");
}

std::string input_name(const std::string& input) { return input == "-" ? "<stdin>" : input; }

std::vector<LabelledRecording> read_labelled_inputs(const std::vector<std::string>& dataset_dirs,
                                                    const std::vector<std::string>& lists,
                                                    bool audio_from_stdin) {
  std::vector<LabelledRecording> recordings;
  for (const std::string& dir : dataset_dirs) {
    for (LabelledRecording& recording : list_dataset_folder(dir)) {
      recordings.push_back(std::move(recording));
    }
  }
  for (const std::string& list : lists) {
    if (list == "-" && audio_from_stdin) {
      throw Error(ErrorCode::kInvalidArgument,
                  "standard input cannot hold both a list and audio: give one of them as a file");
    }
    for (LabelledRecording& recording : read_labelled_list(list)) {
      recordings.push_back(std::move(recording));
    }
  }
  return recordings;
}

std::vector<InputFailure> process_inputs(const std::vector<std::string>& inputs, int jobs,
                                         const std::function<void(std::size_t)>& process) {
  if (std::count(inputs.begin(), inputs.end(), "-") > 1) {
    throw Error(ErrorCode::kInvalidArgument,
                "'-' (standard input) is given more than once; it can be read only once");
  }
  std::vector<InputFailure> failures(inputs.size());
  parallel_for(inputs.size(), jobs, [&](std::size_t i) {
    try {
      process(i);
    } catch (const Error& error) {
      // Audio errors already start with the file's name; others get it here.
      const std::string name = input_name(inputs[i]);
      const std::string message = error.what();
      if (message.rfind(name + ":", 0) == 0) {
        spdlog::error("{}", message);
      } else {
        spdlog::error("{}: {}", name, message);
      }
      failures[i] = error;
    }
  });
  return failures;
}

int batch_exit_status(const std::vector<InputFailure>& failures) {
  const auto failed =
      std::count_if(failures.begin(), failures.end(),
                    [](const InputFailure& failure) { return failure.has_value(); });
  if (failed == 0) return kExitSuccess;
  if (failed < static_cast<long>(failures.size())) return kExitFailure;
  const int first_status = exit_status_for(failures.front()->code());
  const bool all_alike =
      std::all_of(failures.begin(), failures.end(), [first_status](const InputFailure& failure) {
        return exit_status_for(failure->code()) == first_status;
      });
  return all_alike ? first_status : kExitFailure;
}

nlohmann::json json_failure(const std::string& input, const Error& error) {
  return {{"file", input},
          {"error", {{"code", error_code_name(error.code())}, {"message", error.what()}}}};
}

void print_json_line(const nlohmann::json& object) {
  // Replace invalid UTF-8 (odd file names) instead of throwing.
  std::cout << object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

}  // namespace spkid::cli
