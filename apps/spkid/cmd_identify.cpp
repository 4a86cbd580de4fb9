// spkid identify FILE... | --dir DATASET | --list FILE: which enrolled speaker speaks in each
// file, or unknown.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>

#include "progress.h"
#include "recognition.h"
#include "spkid/model.h"
#include "spkid/speaker_name.h"
#include "table.h"

namespace spkid::cli {
namespace {

struct IdentifySettings {
  std::vector<std::string> files;
  std::vector<std::string> dataset_dirs;
  std::vector<std::string> lists;
  std::optional<double> threshold;
  std::size_t top = 1;
  bool json = false;
  int jobs = 0;
  RecognitionOptions options;
};

// FILE arguments have no label; the recordings of --dir and --list are labelled with their
// speaker, the answer expected.
std::vector<LabelledRecording> gather_inputs(const IdentifySettings& settings) {
  if (settings.files.empty() && settings.dataset_dirs.empty() && settings.lists.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "nothing to identify: give audio FILEs, --dir DATASET or --list FILE");
  }
  std::vector<LabelledRecording> inputs;
  for (const std::string& file : settings.files) inputs.push_back({"", file, "", nullptr});
  const bool audio_from_stdin =
      std::find(settings.files.begin(), settings.files.end(), "-") != settings.files.end();
  for (LabelledRecording& recording :
       read_labelled_inputs(settings.dataset_dirs, settings.lists, audio_from_stdin)) {
    inputs.push_back(std::move(recording));
  }
  return inputs;
}

// A label that names nobody enrolled expects the answer unknown: a labelled test set may hold
// impostors. Says so, as such a label may also be a misspelt name.
void expect_unknown_for_strangers(std::vector<LabelledRecording>& inputs,
                                  const std::vector<std::string>& enrolled) {
  std::set<std::string> strangers;
  for (LabelledRecording& input : inputs) {
    if (input.speaker.empty() ||
        std::binary_search(enrolled.begin(), enrolled.end(), input.speaker)) {
      continue;
    }
    if (input.speaker != kUnknownSpeaker) strangers.insert(input.speaker);
    input.speaker = kUnknownSpeaker;
  }
  if (strangers.empty()) return;
  std::string names;
  for (const std::string& name : strangers) {
    names += (names.empty() ? "" : ", ") + quote_speaker_name(name);
  }
  spdlog::info("not enrolled, so expected to be unknown: {}", names);
}

nlohmann::json answer_json(const LabelledRecording& input, const Identification& answer) {
  nlohmann::json object = {{"file", input.path}};
  object.update(identification_json(answer));
  if (!input.speaker.empty()) object["expected"] = input.speaker;
  return object;
}

nlohmann::json failure_json(const LabelledRecording& input, const Error& error) {
  nlohmann::json object = json_failure(input.path, error);
  if (!input.speaker.empty()) object["expected"] = input.speaker;
  return object;
}

// "a.wav: alice (score 5.10)", "b.wav: unknown (best: alice, score 1.20 < threshold 3.00)", then
// any runners-up, and the expected answer when it was another.
std::string identification_text(const LabelledRecording& input, const Identification& answer) {
  std::string line = input_name(input.path) + ": ";
  if (answer.known) {
    line += answer.speaker + " (score " + fixed(answer.score);
  } else {
    line += fmt::format("{} (best: {}, score {} < threshold {}", answer.speaker,
                        answer.top.front().speaker, fixed(answer.score), fixed(answer.threshold));
  }
  for (std::size_t i = 1; i < answer.top.size(); ++i) {
    line += (i == 1 ? "; runners-up: " : ", ") + answer.top[i].speaker + " " +
            fixed(answer.top[i].score);
  }
  line += ")";
  if (!input.speaker.empty() && input.speaker != answer.speaker) {
    line += ", expected " + input.speaker;
  }
  return line;
}

// Prints each input's result as soon as every earlier input is done: a long batch streams, and
// the output is in input order whatever --jobs is.
class InOrderOutput {
 public:
  InOrderOutput(std::size_t count, ProgressBar& progress) : pending_(count), progress_(progress) {}

  void done(std::size_t index, std::function<void()> print) {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_[index] = std::move(print);
    if (pending_[next_]) progress_.clear();  // lines follow
    for (; next_ < pending_.size() && pending_[next_]; ++next_) {
      pending_[next_]();
      pending_[next_] = nullptr;
    }
    std::cout.flush();
    progress_.update(++finished_);
  }

 private:
  std::mutex mutex_;
  std::vector<std::function<void()>> pending_;
  std::size_t next_ = 0;
  std::size_t finished_ = 0;
  ProgressBar& progress_;
};

// For --dir and --list: how many answers were the expected ones.
void log_accuracy(const std::vector<LabelledRecording>& inputs,
                  const std::vector<Identification>& answers,
                  const std::vector<InputFailure>& failures) {
  std::size_t labelled = 0, named = 0, failed = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].speaker.empty()) continue;
    ++labelled;
    if (failures[i]) {
      ++failed;
    } else if (answers[i].speaker == inputs[i].speaker) {
      ++named;
    }
  }
  if (labelled == 0) return;
  spdlog::info("{} of {} files named as labelled ({:.1f}%){}", named, labelled,
               100.0 * static_cast<double>(named) / static_cast<double>(labelled),
               failed > 0 ? fmt::format("; {} failed", failed) : "");
}

int run_identify(const IdentifySettings& settings, const Context& context) {
  settings.options.validate();
  std::vector<LabelledRecording> inputs = gather_inputs(settings);
  Store store = open_store_for_recognition(context.store_dir);
  const Recognizer recognizer = Recognizer::from_store(store, settings.options);
  expect_unknown_for_strangers(inputs, recognizer.speakers());
  const double threshold = decision_threshold(recognizer, settings.threshold);
  spdlog::debug("{} speakers, {} by the trained classifier; threshold {}",
                recognizer.speakers().size(), recognizer.classifier_speakers().size(), threshold);

  // Each worker runs the network on its own file, one thread each: a 3 s clip is too small for
  // LibTorch to spread over the cores (515 clips on 2 cores: 9.2 s with one file at a time on
  // LibTorch's threads, one core busy; 5.0 s with a worker per core).
  set_model_threads(1);
  std::vector<std::string> paths;
  for (const LabelledRecording& input : inputs) paths.push_back(input.path);
  std::vector<Identification> answers(inputs.size());
  ProgressBar progress("identify", inputs.size(), !context.quiet);
  InOrderOutput output(inputs.size(), progress);
  const std::vector<InputFailure> failures =
      process_inputs(paths, settings.jobs, [&](std::size_t i) {
        const LabelledRecording& input = inputs[i];
        try {
          answers[i] =
              recognizer.identify(recognizer.embed_recording(input.path), threshold, settings.top);
        } catch (const Error& error) {
          output.done(i, [&settings, &input, error] {
            if (settings.json) print_json_line(failure_json(input, error));
          });
          throw;
        }
        output.done(i, [&settings, &input, &answer = answers[i]] {
          if (settings.json) {
            print_json_line(answer_json(input, answer));
          } else {
            std::cout << identification_text(input, answer) << '\n';
          }
        });
      });
  progress.clear();
  log_accuracy(inputs, answers, failures);
  return batch_exit_status(failures);
}

}  // namespace

Command add_identify_command(CLI::App& parent, const Context& context) {
  auto settings = std::make_shared<IdentifySettings>();
  CLI::App* command = parent.add_subcommand(
      "identify", "Say which enrolled speaker speaks in each file, or unknown");
  command->add_option("FILE", settings->files, "Recordings to identify; - reads standard input")
      ->type_name("");
  command
      ->add_option("--dir", settings->dataset_dirs,
                   "A dataset folder with one sub-folder of recordings per speaker: each "
                   "recording is expected to be named after its folder (unknown when nobody "
                   "enrolled has that name)")
      ->type_name("DATASET");
  command
      ->add_option("--list", settings->lists,
                   "A file of `name path` lines, the name being the speaker expected, as with "
                   "--dir (relative paths start at the list's folder)")
      ->type_name("FILE");
  add_threshold_option(*command, settings->threshold);
  add_top_option(*command, settings->top);
  add_json_flag(*command, settings->json);
  add_jobs_option(*command, settings->jobs);
  add_recognition_options(*command, settings->options);
  command->footer(
      "Speakers the store's model was trained on (`spkid train`) are recognised by its\n"
      "classifier; speakers enrolled since, or all of them before any train, by their enrollment\n"
      "clips. The score says how far the voice stands above the impostors closest to it; below\n"
      "the threshold the answer is unknown. With --dir or --list, the last line says how many\n"
      "files were named as labelled; a label nobody enrolled has expects unknown. A file that\n"
      "fails is reported and the others go on.\n\n"
      "With --json, one object per file and line, in input order:\n"
      "  {\"file\": ..., \"speaker\": NAME or \"unknown\", \"known\": true|false, \"score\": ...,\n"
      "   \"top\": [{\"speaker\": ..., \"score\": ...}, ...]}   (and \"expected\" when labelled)\n"
      "  {\"file\": ..., \"error\": {\"code\": ..., \"message\": ...}}   for a file that failed\n\n"
      "Examples:\n"
      "  spkid identify call.wav\n"
      "  spkid identify --top 3 --threshold 2.5 *.flac\n"
      "  spkid --store voices/ identify --json --dir test-set/");
  return {command, [settings, &context] { return run_identify(*settings, context); }};
}

}  // namespace spkid::cli
