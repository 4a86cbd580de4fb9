// Transfer learning: the pretrained network fine-tuned into a classifier of enrolled speakers.
#pragma once

#include <string>
#include <vector>

#include "spkid/model.h"
#include "spkid/speech_corpus.h"
#include "spkid/training.h"

namespace spkid {

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
