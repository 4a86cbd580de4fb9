// Training crops: random place, speed, noise and gain on the waveform; SpecAugment masks on the
// features. Deterministic for a given random engine state.
#pragma once

#include <random>
#include <vector>

#include "spkid/features.h"
#include "spkid/pretrain.h"

namespace spkid {

using TrainingRng = std::mt19937_64;

// `num_samples` samples of `speech` from `begin`, wrapping around to the start when the speech is
// shorter (so a short speaker still fills a long crop).
std::vector<float> take_crop(const std::vector<float>& speech, long begin, long num_samples);

class Augmenter {
 public:
  Augmenter(const AugmentOptions& options, std::vector<std::vector<float>> noises,
            int sample_rate_hz);

  // A crop of `num_samples` from a random place of `speech`, distorted as the options say.
  std::vector<float> crop(const std::vector<float>& speech, long num_samples,
                          TrainingRng& rng) const;
  void spec_augment(FeatureMatrix& features, TrainingRng& rng) const;

 private:
  void add_noise(std::vector<float>& crop, TrainingRng& rng) const;

  AugmentOptions options_;
  std::vector<std::vector<float>> noises_;
  int sample_rate_hz_;
};

}  // namespace spkid
