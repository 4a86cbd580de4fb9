// The optimisation loop shared by pretraining and fine-tuning: Adam with decoupled weight decay,
// linear warm-up then cosine decay of the learning rate, next batch prepared while the network
// trains, validation after every epoch.
#pragma once

#include <torch/torch.h>

#include <memory>

#include "network.h"
#include "spkid/training.h"
#include "training_data.h"

namespace spkid {

struct Validation {
  double loss = 0;
  double accuracy = 0;
};

// Loss and accuracy of the head's logits over fixed clips, in eval mode, without margin.
Validation validate(SpeakerNetImpl& net, const LabelledClips& val);

// The learning rate at `global_step` of a run of options.epochs x steps_per_epoch steps: linear
// warm-up over options.warmup_epochs, then cosine decay to options.final_learning_rate.
double scheduled_learning_rate(const TrainingOptions& options, int steps_per_epoch,
                               int64_t global_step);

class Trainer {
 public:
  Trainer(SpeakerNet net, TrainScope scope, const TrainingOptions& options, int steps_per_epoch);

  // Trains epoch `epoch` (1-based) and validates; the report has no dev figures.
  EpochReport run_epoch(int epoch, const CropSampler& sampler, const LabelledClips& val,
                        const TrainingCallbacks& callbacks);
  double learning_rate(int64_t global_step) const;

  void save_state(torch::serialize::OutputArchive& archive);
  void load_state(torch::serialize::InputArchive& archive);

 private:
  SpeakerNet net_;
  TrainScope scope_;
  TrainingOptions options_;
  int steps_per_epoch_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
};

}  // namespace spkid
