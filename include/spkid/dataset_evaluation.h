// `spkid eval`: the evaluation protocol (evaluation.h) on a dataset folder, one sub-folder of
// audio per speaker, through the same steps as a user's store: enroll in a temporary store,
// optionally train, identify.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "spkid/evaluation.h"
#include "spkid/recognizer.h"
#include "spkid/train.h"

namespace spkid {

struct DatasetEvaluationOptions {
  // The model the temporary store starts from; empty: the shipped base model.
  std::string model_path;
  // How files become speech and test clips become chunks; audio.sample_rate_hz is the model's.
  RecognitionOptions recognition;
  EvaluationOptions protocol;
  // Open set: the speakers whose folder names match impostor_pattern (fnmatch, e.g. "ls-*"),
  // or without a pattern every third speaker (the third, sixth...), are impostors: never
  // enrolled, their speech all cut into test clips.
  bool open_set = false;
  std::string impostor_pattern;
  // Set: fine-tune a classifier of the enrolled speakers (`spkid train`) before identifying.
  std::optional<SpeakerTrainingOptions> training;
  // The decision threshold; none: the recognizer's default_threshold().
  std::optional<double> threshold;
  int threads = 0;  // files decoded at once; 0: one per core

  void validate() const;  // throws Error(kInvalidArgument) naming the bad field
};

struct DatasetEvaluation {
  std::string model_path;  // the model evaluated (before any training)
  EvaluationResult result;
  std::optional<SpeakerTrainingResult> training;
  OpenSetCalibration open_set;             // the store's decision the answers were made with
  std::vector<std::string> skipped_files;  // not audio, or no speech: "PATH: why"
};

struct DatasetEvaluationCallbacks {
  std::function<void(const std::string&)> on_message;  // what was loaded, enrolled, skipped
  EvaluationProgress on_progress;                      // test clips identified
  TrainingCallbacks training;
};

// Loads every speaker folder of `dataset_dir` (files in name order, silences removed, speech
// joined), splits it by the protocol, enrolls it in a temporary store (removed afterwards) that
// starts from options.model_path, trains when asked, and identifies every test clip. Throws
// Error(kNotFound) for a missing dataset or one without speaker folders, Error(kNoSpeech) when
// fewer than two speakers have enough speech, Error(kInvalidArgument) when an open-set split
// leaves no impostor or fewer than two speakers to enroll, and as train_speakers().
DatasetEvaluation evaluate_dataset(const std::string& dataset_dir,
                                   const DatasetEvaluationOptions& options,
                                   const DatasetEvaluationCallbacks& callbacks = {});

}  // namespace spkid
