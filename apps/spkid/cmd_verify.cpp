// spkid verify FILE --name NAME: whether the voice in a file is the claimed enrolled speaker's.
#include <iostream>
#include <memory>

#include "recognition.h"
#include "spkid/speaker_name.h"
#include "table.h"

namespace spkid::cli {
namespace {

struct VerifySettings {
  std::string file;
  std::string name;
  std::optional<double> threshold;
  bool json = false;
  RecognitionOptions options;
};

int run_verify(const VerifySettings& settings, const Context& context) {
  settings.options.validate();
  Store store = open_store_for_recognition(context.store_dir);
  // Checked before any embedding is computed or audio decoded.
  if (!store.find_speaker(settings.name)) {
    throw Error(ErrorCode::kInvalidArgument, "no speaker " + quote_speaker_name(settings.name) +
                                                 " is enrolled in " + store.dir() +
                                                 ": `spkid list` shows who is");
  }
  const Recognizer recognizer = Recognizer::from_store(store, settings.options);
  const double threshold = decision_threshold(recognizer, settings.threshold);
  const Verification result =
      recognizer.verify(recognizer.embed_recording(settings.file, false), settings.name, threshold);
  if (settings.json) {
    print_json_line({{"file", settings.file},
                     {"speaker", result.speaker},
                     {"accepted", result.accepted},
                     {"score", result.score},
                     {"threshold", result.threshold}});
  } else {
    std::cout << input_name(settings.file) << ": " << (result.accepted ? "accepted" : "rejected")
              << " as " << result.speaker << " (score " << fixed(result.score)
              << (result.accepted ? " >= " : " < ") << "threshold " << fixed(result.threshold)
              << ")\n";
  }
  return result.accepted ? kExitSuccess : kExitRejected;
}

}  // namespace

Command add_verify_command(CLI::App& parent, const Context& context) {
  auto settings = std::make_shared<VerifySettings>();
  CLI::App* command = parent.add_subcommand(
      "verify", "Accept or reject a file as the voice of one enrolled speaker");
  command->add_option("FILE", settings->file, "The recording; - reads standard input")
      ->required()
      ->type_name("");
  command->add_option("-n,--name", settings->name, "The enrolled speaker the voice claims to be")
      ->required()
      ->type_name("NAME");
  add_threshold_option(*command, settings->threshold);
  command->add_flag("--json", settings->json,
                    "One JSON object: file, speaker, accepted, score, threshold");
  add_recognition_options(*command, settings->options);
  command->footer(
      "The voice is accepted when its score against NAME reaches the threshold. The score says\n"
      "how far the voice stands above the impostors closest to it.\n\n"
      "Exit status: 0 accepted, " +
      std::to_string(kExitRejected) +
      " rejected (an answer, not an error). Any other status means that\n"
      "there is no answer: 2 usage error or unknown NAME, 3 bad input, 4 store error, 5 model\n"
      "error, 70 internal error.\n\n"
      "Examples:\n"
      "  spkid verify door.wav --name alice\n"
      "  spkid verify --json --threshold 4 call.flac --name bob");
  return {command, [settings, &context] { return run_verify(*settings, context); }};
}

}  // namespace spkid::cli
