// What pretraining and fine-tuning share: augmentation, the optimisation and sampling settings,
// and the progress they report.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "spkid/evaluation.h"

namespace spkid {

// Training-time distortions, so the embeddings learn the voice rather than the recording.
struct AugmentOptions {
  double noise_probability = 0.6;  // a crop gets background noise
  double babble_fraction = 0.3;    // of which babble: other speakers of the corpus talking
  int babble_min_speakers = 3;
  int babble_max_speakers = 7;
  double real_noise_fraction = 0.5;  // of the rest, from the noise folder (else generated colours)
  double snr_min_db = 0;
  double snr_max_db = 20;
  double gain_min_db = -10;
  double gain_max_db = 6;
  double speed_probability = 0.5;  // a crop is played faster or slower (resampled)
  double speed_min = 0.92;
  double speed_max = 1.08;
  double pitch_probability = 0.3;  // the pitch moves at the same duration (WSOLA, then resampling)
  double pitch_min_cents = -400;
  double pitch_max_cents = 400;
  double reverb_probability = 0.4;  // a crop is played in a simulated room
  double rt60_min_seconds = 0.2;
  double rt60_max_seconds = 1.0;
  double telephone_probability = 0.1;     // a crop goes through an 8 kHz mu-law or A-law call
  double spec_augment_probability = 0.7;  // SpecAugment masks, filled with the band's mean
  int time_masks = 2;
  int max_time_mask_frames = 12;
  int frequency_masks = 2;
  int max_frequency_mask_bands = 8;

  void validate() const;  // throws Error(kInvalidArgument)
  std::string to_json() const;
};

// The optimisation and sampling settings shared by pretraining and fine-tuning.
struct TrainingOptions {
  int epochs = 40;
  int crops_per_speaker = 32;  // per epoch; batches draw speakers evenly (balanced sampling)
  int batch_size = 64;
  double crop_min_seconds = 2;  // each batch takes one random length in this range
  double crop_max_seconds = 4;
  double learning_rate = 3e-3;        // Adam (decoupled weight decay), reached after the warm-up
  double final_learning_rate = 3e-5;  // cosine decay ends here
  double warmup_epochs = 2;
  double weight_decay = 1e-4;
  double heldout_fraction = 0.1;  // the end of each speaker's speech, for validation only
  double val_crop_seconds = 3;
  int val_crops_per_speaker = 3;  // fixed, seeded crops of the held-out speech
  uint64_t seed = 1;
  int threads = 2;       // LibTorch threads
  bool prefetch = true;  // prepare the next batch on another thread while the network trains
  AugmentOptions augment;

  void validate() const;  // throws Error(kInvalidArgument)
  std::string to_json() const;
};

struct TrainingProgress {
  int epoch = 0;  // 1-based
  int epochs = 0;
  int step = 0;  // 1-based, within the epoch
  int steps = 0;
  double loss = 0;      // mean over the epoch so far
  double accuracy = 0;  // of the training crops so far
};

struct EpochReport {
  int epoch = 0;
  int epochs = 0;
  double train_loss = 0;
  double train_accuracy = 0;
  double val_loss = 0;
  double val_accuracy = 0;
  double learning_rate = 0;  // at the epoch's end
  double seconds = 0;
  std::optional<EvaluationResult> dev;
};

struct TrainingCallbacks {
  std::function<void(const TrainingProgress&)> on_step;
  std::function<void(const EpochReport&)> on_epoch;
  std::function<void(const std::string&)> on_message;  // e.g. what was loaded or skipped
};

}  // namespace spkid
