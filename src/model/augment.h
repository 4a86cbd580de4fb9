// Training crops: random place, speed, pitch, room, noise or babble, telephone line and gain on
// the waveform; SpecAugment masks on the features. Deterministic for a given random engine state.
#pragma once

#include <random>
#include <vector>

#include "spkid/channel.h"
#include "spkid/features.h"
#include "spkid/speech_corpus.h"
#include "spkid/training.h"

namespace spkid {

using TrainingRng = std::mt19937_64;

// `num_samples` samples of `speech` from `begin`, wrapping around to the start when the speech is
// shorter (so a short speaker still fills a long crop).
std::vector<float> take_crop(const std::vector<float>& speech, long begin, long num_samples);

class Augmenter {
 public:
  // `babble_speakers` (kept by reference, may be null) are the voices babble is made of; a
  // crop's own speaker is never among its babble.
  Augmenter(const AugmentOptions& options, std::vector<std::vector<float>> noises,
            int sample_rate_hz, const std::vector<SpeakerSpeech>* babble_speakers = nullptr);

  // A crop of `num_samples` from a random place of `speech`, distorted as the options say.
  std::vector<float> crop(const std::vector<float>& speech, long num_samples,
                          TrainingRng& rng) const;
  void spec_augment(FeatureMatrix& features, TrainingRng& rng) const;

 private:
  void add_noise(std::vector<float>& crop, const std::vector<float>& speech,
                 TrainingRng& rng) const;
  std::vector<float> babble(long num_samples, const std::vector<float>& speech,
                            TrainingRng& rng) const;

  AugmentOptions options_;
  std::vector<std::vector<float>> noises_;
  int sample_rate_hz_;
  const std::vector<SpeakerSpeech>* babble_speakers_;
};

}  // namespace spkid
