// `spkid train`: fine-tuning a classifier of a store's enrolled speakers from its base model.
#pragma once

#include <string>
#include <vector>

#include "spkid/open_set.h"
#include "spkid/fine_tune.h"
#include "spkid/training.h"
#include "spkid/store.h"

namespace spkid {

struct SpeakerTrainingOptions {
  FineTuneOptions fine_tune;
};

struct SpeakerTrainingResult {
  ModelRecord model;  // the new current model
  std::vector<std::string> speakers;
  int epochs_done = 0;
  int best_epoch = 0;
  double val_accuracy = 0;  // held-out enrollment clips, best epoch
  // The store's open-set decision after train: the base model still scores, calibrated on the
  // enrolled speakers (open_set.h), so train changes the naming, not the threshold.
  OpenSetCalibration open_set;
  double seconds = 0;
};

// Fine-tunes a classifier of every enrolled speaker from the store's current model's base (the
// base model, or the base a classifier was made from) and registers it as the store's new
// current model, atomically: an
// interrupted or failed train leaves the previous model current. Throws Error(kStore) with
// fewer than two enrolled speakers or when a speaker's audio was enrolled by an spkid that kept
// no audio ("enroll again"), Error(kNoSpeech) when a speaker has too little audio.
SpeakerTrainingResult train_speakers(Store& store, const SpeakerTrainingOptions& options,
                                     const TrainingCallbacks& callbacks = {});

}  // namespace spkid
