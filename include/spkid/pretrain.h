// Training the speaker network: pretraining a classifier of a corpus's speakers (one folder per
// speaker), fine-tuning a new head for enrolled speakers, and measuring how well the embeddings
// separate speakers the network never saw.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "spkid/audio.h"
#include "spkid/evaluation.h"
#include "spkid/features.h"
#include "spkid/metrics.h"
#include "spkid/model.h"
#include "spkid/vad.h"

namespace spkid {

// One speaker's speech with the silences removed, at the features' sample rate.
struct SpeakerSpeech {
  std::string name;
  std::vector<float> speech;
};

// The sub-folders of `corpus_dir`, sorted by name. Throws Error(kNotFound) when there are none.
std::vector<std::string> list_speaker_folders(const std::string& corpus_dir);

// Decodes every file of each folder in name order, keeps the speech (VAD) and concatenates it:
// one SpeakerSpeech per folder, named after it. Files are spread over `threads` workers. A file
// that is not audio or holds no speech is skipped and described in `skipped` (when given); a
// folder left with no speech throws Error(kNoSpeech).
std::vector<SpeakerSpeech> load_speaker_folders(const std::vector<std::string>& folders,
                                                const AudioOptions& audio, const VadOptions& vad,
                                                int threads,
                                                std::vector<std::string>* skipped = nullptr);

// Every audio file of a folder (name order), whole, for mixing in as background noise.
std::vector<std::vector<float>> load_noise_folder(const std::string& dir,
                                                  const AudioOptions& audio);

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

struct PretrainOptions {
  std::string corpus_dir;   // one sub-folder of audio files per speaker
  std::string noise_dir;    // background noise recordings; empty: generated noise only
  std::string output_path;  // the model; the checkpoint is output_path + ".ckpt"
  bool resume = false;      // continue from the checkpoint
  // Optional model whose weights the run starts from (same features, speakers and layer shapes),
  // with a fresh optimiser and schedule: a second stage after an earlier run.
  std::string init_path;
  FeatureOptions features;
  NetworkOptions network;
  AudioOptions audio;
  VadOptions vad;
  TrainingOptions training;
  // Optional check of every epoch on speakers outside the corpus (reported, never trained on).
  std::vector<std::string> dev_speaker_dirs;
  std::vector<std::string> dev_impostor_dirs;
  EvaluationOptions dev;  // evaluate_unseen_speakers() (evaluation.h)
  std::string command;    // how the run was started, recorded in the model's provenance

  void validate() const;  // throws Error(kInvalidArgument)
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

// Trains a new network as a classifier of the corpus's speakers, writing a checkpoint after every
// epoch and the model at the end (output_path). The same options and seed give the same model,
// also when resumed. Throws Error (kInvalidArgument, kNotFound, kNoSpeech, kModel, kIo).
SpeakerModel pretrain(const PretrainOptions& options, const TrainingCallbacks& callbacks = {});

// Transfer learning for enrolled speakers: a new AAM head, initialised from each speaker's
// embedding centroid, trained with the same augmentation (optionally with more of the network);
// stops early when held-out clips stop improving and keeps the best epoch.
enum class FineTuneScope {
  kHead,       // the head alone
  kEmbedding,  // the head and the layers after statistics pooling (dense, embedding)
  kLastBlock,  // those and the last convolution block
};
const char* fine_tune_scope_name(
    FineTuneScope scope) noexcept;                             // "head", "embedding", "last-block"
FineTuneScope parse_fine_tune_scope(const std::string& name);  // throws Error(kInvalidArgument)

struct FineTuneOptions {
  TrainingOptions training = fine_tune_defaults();
  // With kHead and kEmbedding every convolution is frozen, so each speaker's augmented crops go
  // through the network once and the epochs reuse their pooled statistics: train costs one
  // forward pass per crop, whatever the number of epochs (50 speakers in well under a minute).
  // kLastBlock runs the network on fresh crops every step, about 10x longer.
  FineTuneScope scope = FineTuneScope::kEmbedding;
  int cached_crops_per_speaker = 48;  // kHead and kEmbedding: distinct augmented crops
  int patience = 3;                   // epochs without a better validation loss before stopping
  double aam_margin = 0.2;
  double aam_scale = 30;
  std::string noise_dir;

  static TrainingOptions fine_tune_defaults();
  void validate() const;  // throws Error(kInvalidArgument)
};

// `speakers` are the enrolled speakers' speech at base.feature_options().sample_rate_hz.
SpeakerModel fine_tune(const SpeakerModel& base, const std::vector<SpeakerSpeech>& speakers,
                       const FineTuneOptions& options, const TrainingCallbacks& callbacks = {});

}  // namespace spkid
