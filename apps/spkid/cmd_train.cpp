// spkid train: fine-tunes a classifier of the enrolled speakers from the base model and makes it
// the store's current model.
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>
#include <optional>

#include "cli.h"
#include "model_options.h"
#include "progress.h"
#include "recognition.h"
#include "spkid/recognizer.h"
#include "spkid/train.h"

namespace spkid::cli {
namespace {

struct TrainSettings {
  SpeakerTrainingOptions options;
  bool json = false;
};

std::string percent(double fraction) { return fmt::format("{:.1f}%", 100 * fraction); }

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

void print_summary(const SpeakerTrainingResult& result, bool json) {
  if (json) {
    print_json_line({{"model", result.model.path},
                     {"speakers", result.speakers},
                     {"epochs", result.epochs_done},
                     {"best_epoch", result.best_epoch},
                     {"val_accuracy", result.val_accuracy},
                     {"open_set", open_set_json(result.open_set)},
                     {"seconds", result.seconds}});
    return;
  }
  std::cout << fmt::format(
      "trained a classifier of {} speakers ({}) in {:.1f} s\n"
      "epochs:             {} (best: {})\n"
      "held-out accuracy:  {}\n"
      "unknown:            {}\n"
      "model:              {}\n",
      result.speakers.size(), joined(result.speakers), result.seconds, result.epochs_done,
      result.best_epoch, percent(result.val_accuracy), describe_open_set(result.open_set),
      result.model.path);
}

int run_train(const TrainSettings& settings, const Context& context) {
  settings.options.fine_tune.validate();
  Store store = Store::open(context.store_dir, StoreAccess::kWrite);

  // One bar over every step of every epoch, made once the step count is known; early stopping
  // ends it sooner.
  std::optional<ProgressBar> progress;
  const auto clear_progress = [&] {
    if (progress) progress->clear();
  };
  TrainingCallbacks callbacks;
  callbacks.on_message = [&](const std::string& message) {
    clear_progress();
    spdlog::info("{}", message);
  };
  callbacks.on_step = [&](const TrainingProgress& p) {
    const auto total = static_cast<std::size_t>(p.epochs) * static_cast<std::size_t>(p.steps);
    if (!progress) progress.emplace("train", total, !context.quiet);
    progress->update(static_cast<std::size_t>(p.epoch - 1) * static_cast<std::size_t>(p.steps) +
                     static_cast<std::size_t>(p.step));
  };
  callbacks.on_epoch = [&](const EpochReport& r) {
    clear_progress();
    spdlog::info("epoch {}/{}: loss {:.4f}, train acc {}, val loss {:.4f}, val acc {}, {:.1f} s",
                 r.epoch, r.epochs, r.train_loss, percent(r.train_accuracy), r.val_loss,
                 percent(r.val_accuracy), r.seconds);
  };
  const SpeakerTrainingResult result = train_speakers(store, settings.options, callbacks);
  clear_progress();
  print_summary(result, settings.json);
  return kExitSuccess;
}

}  // namespace

Command add_train_command(CLI::App& parent, const Context& context) {
  auto settings = std::make_shared<TrainSettings>();
  CLI::App* command = parent.add_subcommand(
      "train", "Fine-tune a classifier of the enrolled speakers and make it the store's model");
  command->add_flag(
      "--json", settings->json,
      "The summary as one JSON object: model, speakers, epochs, best_epoch, "
      "val_accuracy, open_set (threshold, speakers, calibrated, held-out rates), seconds");
  add_speaker_training_options(*command, settings->options);
  command->footer(
      "Transfer learning from the store's base model: a new head for the enrolled speakers,\n"
      "started from their enrollment clips, trained on their stored speech with augmentation;\n"
      "the end of each speaker's speech is held out to stop early. The base model keeps\n"
      "scoring answers, with the store's open-set decision calibrated on the enrolled speakers\n"
      "themselves (each a stranger to the others); train reports it. Needs at least two\n"
      "enrolled speakers. The new model becomes current only when training succeeds; speakers\n"
      "enrolled later are identified by their clips until the next train.\n\n"
      "Examples:\n"
      "  spkid train\n"
      "  spkid train --head-only --noise noise/ --epochs 20\n"
      "  spkid --store voices/ train --json");
  return {command, [settings, &context] { return run_train(*settings, context); }};
}

}  // namespace spkid::cli
