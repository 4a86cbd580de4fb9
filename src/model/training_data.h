// What the training loop eats: balanced batches of augmented random crops, and fixed validation
// crops of held-out speech. No LibTorch here, so batches can be made on any thread.
#pragma once

#include <cstdint>
#include <vector>

#include "augment.h"
#include "spkid/features.h"
#include "spkid/speech_corpus.h"
#include "spkid/training.h"

namespace spkid {

struct LabelledClips {
  std::vector<FeatureMatrix> clips;
  std::vector<int64_t> labels;  // index into the speakers
};

// Cuts the last `heldout_fraction` of each speaker's speech off for validation (the speakers keep
// the rest) and takes `val_crops_per_speaker` seeded crops of it. Held-out speech too short for
// `min_frames` gives no crops.
LabelledClips split_heldout(std::vector<SpeakerSpeech>& speakers, const FeatureExtractor& extractor,
                            const TrainingOptions& options, int min_frames);

// Row-major [size, frames, features] features and their labels.
struct TrainingBatch {
  int size = 0;
  int frames = 0;
  int features = 0;
  std::vector<float> data;
  std::vector<int64_t> labels;
};

class CropSampler {
 public:
  // Keeps references: the speakers, augmenter and extractor must outlive the sampler.
  CropSampler(const std::vector<SpeakerSpeech>& speakers, const Augmenter& augmenter,
              const FeatureExtractor& extractor, const TrainingOptions& options);

  int steps_per_epoch() const { return steps_per_epoch_; }
  // The same (epoch, step) always gives the same batch; safe to call from several threads.
  TrainingBatch batch(int epoch, int step) const;

 private:
  const std::vector<SpeakerSpeech>& speakers_;
  const Augmenter& augmenter_;
  const FeatureExtractor& extractor_;
  TrainingOptions options_;
  int steps_per_epoch_;
};

// A well-mixed 64-bit seed from the run's seed and a position (epoch, step, ...).
uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b = 0);

}  // namespace spkid
