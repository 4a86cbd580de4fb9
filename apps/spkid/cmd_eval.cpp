// spkid eval DATASET_DIR: enrolls the start of each speaker's speech in a temporary store,
// identifies the rest in short clips, and prints top-1 accuracy, per-speaker accuracy, the
// confusion matrix and, in an open-set evaluation, error rates at the threshold, EER and minDCF.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "cli.h"
#include "model_options.h"
#include "progress.h"
#include "recognition.h"
#include "spkid/confusion_image.h"
#include "spkid/dataset_evaluation.h"
#include "spkid/error.h"
#include "spkid/fs_util.h"
#include "spkid/model_registry.h"
#include "spkid/train.h"
#include "table.h"

namespace spkid::cli {
namespace {

struct EvalSettings {
  std::string dataset_dir;
  DatasetEvaluationOptions options;
  bool train = false;
  SpeakerTrainingOptions training;
  std::string confusion_png;
  std::string calibrated_model;
  std::string scores_file;
  bool json = false;
};

std::string percent(double fraction) { return fmt::format("{:.1f}%", 100 * fraction); }

void print_report(const DatasetEvaluation& evaluation) {
  const EvaluationResult& r = evaluation.result;
  const ConfusionMatrix& confusion = r.confusion;
  std::cout << fmt::format(
      "model:          {} ({})\n", evaluation.model_path,
      evaluation.training ? "fine-tuned on the enrollment" : "speaker centroids, no training");
  std::cout << fmt::format("test clips:     {} of {} enrolled speakers", r.test_clips,
                           confusion.labels().size());
  if (r.has_open_set()) {
    std::cout << fmt::format(", {} of {} impostors", r.impostor_clips, r.impostors.size());
  }
  std::cout << fmt::format("\ntop-1 accuracy: {}\n\n", percent(r.top1_accuracy));

  Table speakers({{"speaker"},
                  {"clips", Table::Align::kRight},
                  {"named right", Table::Align::kRight},
                  {"accuracy", Table::Align::kRight}});
  for (size_t t = 0; t < confusion.labels().size(); ++t) {
    speakers.add_row({confusion.labels()[t], std::to_string(confusion.row_total(t)),
                      std::to_string(confusion.count(t, t)), percent(confusion.class_accuracy(t))});
  }
  speakers.print(std::cout);
  std::cout << "\nconfusion matrix (rows: true speaker, columns: answer):\n"
            << confusion.to_text() << '\n';

  std::cout << fmt::format("unknown:        {}\n", describe_open_set(evaluation.open_set));
  std::cout << fmt::format("verification:   EER {} (threshold {:.2f}), minDCF {:.3f}\n",
                           percent(r.eer.rate), r.eer.threshold, r.min_dcf.cost);
  if (r.has_open_set()) {
    const ErrorRates& rates = r.open_set_rates;
    std::cout << fmt::format(
        "open set at threshold {:.2f}: false accepts {}, false rejects {} (genuine clips "
        "accepted and named right: {})\n"
        "open set:       EER {} (threshold {:.2f}), minDCF {:.3f}\n",
        r.threshold, percent(rates.false_accept_rate), percent(rates.false_reject_rate),
        percent(1 - rates.false_reject_rate), percent(r.open_set_eer.rate),
        r.open_set_eer.threshold, r.open_set_min_dcf.cost);
  }
}

void print_json(const DatasetEvaluation& evaluation, const EvalSettings& settings, double seconds) {
  nlohmann::json object = {{"dataset", settings.dataset_dir}, {"model", evaluation.model_path}};
  object.update(nlohmann::json::parse(evaluation.result.to_json()));
  object["skipped_files"] = evaluation.skipped_files;
  if (evaluation.training) {
    const SpeakerTrainingResult& t = *evaluation.training;
    object["training"] = {{"epochs", t.epochs_done},
                          {"best_epoch", t.best_epoch},
                          {"val_accuracy", t.val_accuracy},
                          {"seconds", t.seconds}};
  } else {
    object["training"] = nullptr;
  }
  object["store_open_set"] = open_set_json(evaluation.open_set);  // with the measured statistics
  object["seconds"] = seconds;
  print_json_line(object);
}

// Every test clip's normalised scores and the calibration's evidence and statistics, from which
// another decision rule can be replayed offline without embedding anything again.
void write_scores(const DatasetEvaluation& evaluation, const std::string& path) {
  nlohmann::json clips = nlohmann::json::array();
  for (const auto& answer : evaluation.result.answers) {
    nlohmann::json scores = nlohmann::json::object();
    for (const SpeakerScore& s : answer.scores) scores[s.speaker] = s.score;
    clips.push_back({{"truth", answer.truth},
                     {"answer", answer.scores.front().speaker},
                     {"scores", std::move(scores)}});
  }
  const OpenSetCalibration& open_set = evaluation.open_set;
  const nlohmann::json object = {{"threshold", evaluation.result.threshold},
                                 {"best_stranger_scores", open_set.best_stranger_scores},
                                 {"clips", std::move(clips)}};
  write_file_atomically(path, object.dump() + "\n", 0644);
}

// The evaluated model with its open-set prior threshold set to the threshold this evaluation's
// store measured on its enrolled speakers alone (how the shipped model gets its prior).
void write_calibrated_model(const DatasetEvaluation& evaluation, const std::string& path) {
  const double measured = evaluation.open_set.measured_threshold;
  if (!std::isfinite(measured)) {
    throw Error(ErrorCode::kInvalidArgument,
                "the evaluation's store has too few speakers to measure a threshold: evaluate "
                "a dataset of 2 or more speakers with enrollment speech");
  }
  SpeakerModel model = SpeakerModel::load(evaluation.model_path);
  model.set_threshold(kOpenSetPriorThresholdName, measured);
  model.save(path);
  write_model_sidecars(model, path);
  spdlog::info("wrote {} with the open-set prior threshold {:.3f} ({} speakers held out)", path,
               measured, evaluation.open_set.num_speakers);
}

int run_eval(EvalSettings& settings, const Context& context) {
  if (settings.train) settings.options.training = settings.training;
  const auto start = std::chrono::steady_clock::now();

  std::optional<ProgressBar> progress;
  const auto clear_progress = [&] {
    if (progress) progress->clear();
  };
  DatasetEvaluationCallbacks callbacks;
  callbacks.on_message = [&](const std::string& message) {
    clear_progress();
    spdlog::info("{}", message);
  };
  callbacks.on_progress = [&](std::size_t done, std::size_t total) {
    if (!progress) progress.emplace("identify", total, !context.quiet);
    progress->update(done);
  };
  callbacks.training.on_message = callbacks.on_message;
  callbacks.training.on_epoch = [&](const EpochReport& r) {
    spdlog::info("train epoch {}/{}: loss {:.4f}, val acc {}", r.epoch, r.epochs, r.train_loss,
                 percent(r.val_accuracy));
  };

  const DatasetEvaluation evaluation =
      evaluate_dataset(settings.dataset_dir, settings.options, callbacks);
  progress.reset();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const std::string& file : evaluation.skipped_files) spdlog::warn("skipped {}", file);
  for (const std::string& speaker : evaluation.result.skipped) {
    spdlog::warn("left out {}", speaker);
  }

  if (settings.json) {
    print_json(evaluation, settings, seconds);
  } else {
    print_report(evaluation);
    spdlog::info("evaluated in {:.1f} s", seconds);
  }
  if (!settings.confusion_png.empty()) {
    ConfusionImageOptions picture;
    picture.title =
        "spkid eval " +
        std::filesystem::path(settings.dataset_dir).lexically_normal().filename().string();
    write_confusion_png(settings.confusion_png, evaluation.result.confusion, picture);
  }
  if (!settings.scores_file.empty()) write_scores(evaluation, settings.scores_file);
  if (!settings.calibrated_model.empty()) {
    write_calibrated_model(evaluation, settings.calibrated_model);
  }
  return kExitSuccess;
}

}  // namespace

Command add_eval_command(CLI::App& parent, const Context& context) {
  auto settings = std::make_shared<EvalSettings>();
  EvaluationOptions& protocol = settings->options.protocol;
  CLI::App* command =
      parent.add_subcommand("eval", "Measure identification on a dataset (one folder per speaker)");
  command
      ->add_option("DATASET_DIR", settings->dataset_dir,
                   "One sub-folder of audio per speaker, files in name order")
      ->required()
      ->type_name("");
  command
      ->add_option("--enroll-seconds", protocol.enroll_seconds,
                   "Speech enrolled from the start of each speaker's files")
      ->capture_default_str()
      ->type_name("S");
  command
      ->add_option("--clip-seconds", protocol.test_clip_seconds,
                   "The rest of the speech is identified in clips of this length")
      ->capture_default_str()
      ->type_name("S");
  CLI::Option* open_set = command->add_flag(
      "--open-set", settings->options.open_set,
      "Hold out speakers as impostors (never enrolled): their clips should come back unknown");
  command
      ->add_option("--impostors", settings->options.impostor_pattern,
                   "Impostors are the folders whose names match this pattern (default: every "
                   "third speaker)")
      ->type_name("GLOB")
      ->needs(open_set);
  CLI::Option* train =
      command->add_flag("--train", settings->train,
                        "Fine-tune a classifier of the enrolled speakers first, as `spkid train`");
  // The same fine-tuning flags as `spkid train`, used with --train.
  add_speaker_training_options(*command, settings->training);
  add_threshold_option(*command, settings->options.threshold);
  command
      ->add_option("--model", settings->options.model_path,
                   "Evaluate this model file instead of the shipped base model")
      ->type_name("MODEL");
  command->add_flag("--json", settings->json, "Every figure as one JSON object, instead of text");
  command
      ->add_option("--confusion-png", settings->confusion_png,
                   "Draw the confusion matrix into this PNG file")
      ->type_name("FILE");
  command
      ->add_option(
          "--scores", settings->scores_file,
          "Write every test clip's score with every enrolled speaker and the store's "
          "held-out strangers' best scores to this JSON file (to study other thresholds offline)")
      ->type_name("FILE");
  command
      ->add_option("--calibrate-into", settings->calibrated_model,
                   "Write a copy of the evaluated model whose open-set prior threshold is the "
                   "one measured on this evaluation's enrolled speakers (how the shipped model "
                   "gets its prior)")
      ->type_name("MODEL")
      ->excludes(train);
  add_jobs_option(*command, settings->options.threads);
  add_recognition_options(*command, settings->options.recognition);
  command->footer(
      "Each speaker's speech (silences removed, files joined in name order) gives the enrollment,\n"
      "its first --enroll-seconds, and test clips of --clip-seconds from the rest. Enrollment "
      "goes\n"
      "into a temporary store, removed afterwards; the answers are those `spkid identify` "
      "gives.\n\n"
      "Examples:\n"
      "  spkid eval corpus/dev --open-set --impostors 'ls-*'\n"
      "  spkid eval corpus/dev --open-set --impostors 'ls-*' --train --confusion-png dev.png\n"
      "  spkid eval corpus/dev --model base.pt --calibrate-into base.pt");
  return {command, [settings, &context] { return run_eval(*settings, context); }};
}

}  // namespace spkid::cli
