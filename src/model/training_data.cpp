#include "training_data.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace spkid {

uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b) {
  // splitmix64 finaliser over a simple combination: nearby inputs give unrelated seeds.
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (a + 1) + 0xbf58476d1ce4e5b9ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

LabelledClips split_heldout(std::vector<SpeakerSpeech>& speakers, const FeatureExtractor& extractor,
                            const TrainingOptions& options, int min_frames) {
  LabelledClips val;
  const int rate = extractor.options().sample_rate_hz;
  TrainingRng rng(mix_seed(options.seed, 0x7a1));
  for (size_t s = 0; s < speakers.size(); ++s) {
    auto& speech = speakers[s].speech;
    const auto heldout = static_cast<long>(double(speech.size()) * options.heldout_fraction);
    const long train_size = static_cast<long>(speech.size()) - heldout;
    const long crop = std::min(heldout, std::lround(options.val_crop_seconds * rate));
    if (num_frames_for(crop, extractor.options()) >= min_frames) {
      for (int c = 0; c < options.val_crops_per_speaker; ++c) {
        const long begin = std::uniform_int_distribution<long>(0, heldout - crop)(rng);
        const float* start = speech.data() + train_size + begin;
        val.clips.push_back(extractor.compute(start, crop));
        val.labels.push_back(static_cast<int64_t>(s));
      }
    }
    speech.resize(static_cast<size_t>(train_size));
    speech.shrink_to_fit();
  }
  return val;
}

CropSampler::CropSampler(const std::vector<SpeakerSpeech>& speakers, const Augmenter& augmenter,
                         const FeatureExtractor& extractor, const TrainingOptions& options)
    : speakers_(speakers),
      augmenter_(augmenter),
      extractor_(extractor),
      options_(options),
      steps_per_epoch_(std::max<int>(
          1, int(speakers.size()) * options.crops_per_speaker / options.batch_size)) {}

TrainingBatch CropSampler::batch(int epoch, int step) const {
  // Balanced: every speaker appears crops_per_speaker times per epoch, in a seeded order.
  std::vector<int> order;
  order.reserve(speakers_.size() * options_.crops_per_speaker);
  for (int c = 0; c < options_.crops_per_speaker; ++c) {
    for (int s = 0; s < int(speakers_.size()); ++s) order.push_back(s);
  }
  TrainingRng order_rng(mix_seed(options_.seed, uint64_t(epoch), 0xffffffffULL));
  std::shuffle(order.begin(), order.end(), order_rng);

  TrainingRng rng(mix_seed(options_.seed, uint64_t(epoch), uint64_t(step)));
  const int rate = extractor_.options().sample_rate_hz;
  const long crop_samples =
      std::lround(std::uniform_real_distribution<double>(options_.crop_min_seconds,
                                                         options_.crop_max_seconds)(rng) *
                  rate);
  TrainingBatch batch;
  batch.size = options_.batch_size;
  batch.frames = num_frames_for(crop_samples, extractor_.options());
  batch.features = extractor_.options().num_features();
  const size_t clip_size = size_t(batch.frames) * batch.features;
  batch.data.resize(clip_size * batch.size);
  for (int i = 0; i < batch.size; ++i) {
    const int speaker = order[(size_t(step) * batch.size + i) % order.size()];
    const auto crop = augmenter_.crop(speakers_[speaker].speech, crop_samples, rng);
    auto features = extractor_.compute(crop);
    augmenter_.spec_augment(features, rng);
    std::memcpy(batch.data.data() + i * clip_size, features.data.data(), clip_size * sizeof(float));
    batch.labels.push_back(speaker);
  }
  return batch;
}

}  // namespace spkid
