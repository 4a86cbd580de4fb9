#include "augment.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "spkid/audio.h"

namespace spkid {
namespace {

double uniform(TrainingRng& rng, double low, double high) {
  return std::uniform_real_distribution<double>(low, high)(rng);
}

bool chance(TrainingRng& rng, double probability) {
  return probability > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < probability;
}

long uniform_index(TrainingRng& rng, long size) {
  return size <= 1 ? 0 : std::uniform_int_distribution<long>(0, size - 1)(rng);
}

double mean_power(const std::vector<float>& x) {
  double sum = 0;
  for (const float v : x) sum += double(v) * v;
  return x.empty() ? 0 : sum / double(x.size());
}

// White, pink or brown noise: recordings' hiss, hum-like and rumble-like spectra.
std::vector<float> coloured_noise(long num_samples, TrainingRng& rng) {
  std::normal_distribution<float> white(0, 1);
  std::vector<float> noise(static_cast<size_t>(num_samples));
  switch (uniform_index(rng, 3)) {
    case 0:
      for (auto& v : noise) v = white(rng);
      break;
    case 1: {  // Paul Kellet's economy pink filter (-3 dB per octave)
      float b0 = 0, b1 = 0, b2 = 0;
      for (auto& v : noise) {
        const float w = white(rng);
        b0 = 0.99765f * b0 + w * 0.0990460f;
        b1 = 0.96300f * b1 + w * 0.2965164f;
        b2 = 0.57000f * b2 + w * 1.0526913f;
        v = b0 + b1 + b2 + w * 0.1848f;
      }
      break;
    }
    default: {  // leaky integration: -6 dB per octave above a few Hz
      float b = 0;
      for (auto& v : noise) v = b = 0.98f * b + white(rng);
    }
  }
  return noise;
}

}  // namespace

std::vector<float> take_crop(const std::vector<float>& speech, long begin, long num_samples) {
  std::vector<float> out(static_cast<size_t>(num_samples));
  const long size = static_cast<long>(speech.size());
  if (size == 0) return out;
  long pos = begin % size;
  for (long filled = 0; filled < num_samples;) {
    const long n = std::min(num_samples - filled, size - pos);
    std::copy_n(speech.begin() + pos, n, out.begin() + filled);
    filled += n;
    pos = 0;
  }
  return out;
}

Augmenter::Augmenter(const AugmentOptions& options, std::vector<std::vector<float>> noises,
                     int sample_rate_hz, const std::vector<SpeakerSpeech>* babble_speakers)
    : options_(options),
      noises_(std::move(noises)),
      sample_rate_hz_(sample_rate_hz),
      babble_speakers_(babble_speakers) {
  options_.validate();
  noises_.erase(std::remove_if(noises_.begin(), noises_.end(),
                               [](const auto& n) { return mean_power(n) <= 0; }),
                noises_.end());
}

std::vector<float> Augmenter::crop(const std::vector<float>& speech, long num_samples,
                                   TrainingRng& rng) const {
  const long size = static_cast<long>(speech.size());
  std::vector<float> out;
  if (chance(rng, options_.speed_probability)) {
    // Reading the source as if sampled at rate*factor and converting to rate plays it
    // `factor` times faster: pitch and formants move together, as a different vocal tract would.
    const double factor = uniform(rng, options_.speed_min, options_.speed_max);
    const int source_rate_hz = static_cast<int>(std::lround(sample_rate_hz_ * factor));
    const long source_samples = std::lround(double(num_samples) * source_rate_hz / sample_rate_hz_);
    const auto source = take_crop(speech, uniform_index(rng, size), source_samples);
    out = resample(source, source_rate_hz, sample_rate_hz_);
    out.resize(static_cast<size_t>(num_samples), 0.0f);  // rounding may leave a sample either way
  } else {
    out = take_crop(speech, uniform_index(rng, size), num_samples);
  }
  if (chance(rng, options_.pitch_probability)) {
    out = shift_pitch(out, sample_rate_hz_,
                      uniform(rng, options_.pitch_min_cents, options_.pitch_max_cents));
  }
  if (chance(rng, options_.reverb_probability)) {
    const double rt60 = uniform(rng, options_.rt60_min_seconds, options_.rt60_max_seconds);
    out = convolve(out, room_impulse_response(sample_rate_hz_, rt60, rng));
  }
  if (chance(rng, options_.noise_probability)) add_noise(out, speech, rng);
  if (chance(rng, options_.telephone_probability)) {
    out = telephone_channel(out, sample_rate_hz_,
                            chance(rng, 0.5) ? TelephoneCodec::kMuLaw : TelephoneCodec::kALaw);
  }
  const auto gain = static_cast<float>(
      std::pow(10.0, uniform(rng, options_.gain_min_db, options_.gain_max_db) / 20));
  for (auto& v : out) v *= gain;
  return out;
}

std::vector<float> Augmenter::babble(long num_samples, const std::vector<float>& speech,
                                     TrainingRng& rng) const {
  std::vector<float> sum(static_cast<size_t>(num_samples), 0.0f);
  const long pool = long(babble_speakers_->size());
  const long talkers =
      options_.babble_min_speakers +
      uniform_index(rng, options_.babble_max_speakers - options_.babble_min_speakers + 1);
  for (long t = 0; t < talkers; ++t) {
    const auto& other = (*babble_speakers_)[size_t(uniform_index(rng, pool))].speech;
    if (&other == &speech || other.empty()) continue;
    const auto voice = take_crop(other, uniform_index(rng, long(other.size())), num_samples);
    // Each talker at its own level, as people near and far from the microphone.
    const double power = mean_power(voice);
    if (power <= 0) continue;
    const auto scale = static_cast<float>(uniform(rng, 0.3, 1.0) / std::sqrt(power));
    for (long i = 0; i < num_samples; ++i) sum[size_t(i)] += scale * voice[size_t(i)];
  }
  return sum;
}

void Augmenter::add_noise(std::vector<float>& crop, const std::vector<float>& speech,
                          TrainingRng& rng) const {
  const long n = static_cast<long>(crop.size());
  std::vector<float> noise;
  if (babble_speakers_ != nullptr && babble_speakers_->size() > 1 &&
      chance(rng, options_.babble_fraction)) {
    noise = babble(n, speech, rng);
  } else if (!noises_.empty() && chance(rng, options_.real_noise_fraction)) {
    const auto& recording = noises_[static_cast<size_t>(uniform_index(rng, long(noises_.size())))];
    noise = take_crop(recording, uniform_index(rng, long(recording.size())), n);
  } else {
    noise = coloured_noise(n, rng);
  }
  const double snr_db = uniform(rng, options_.snr_min_db, options_.snr_max_db);
  const double speech_power = mean_power(crop);
  const double noise_power = mean_power(noise);
  if (speech_power <= 0 || noise_power <= 0) return;
  const auto scale =
      static_cast<float>(std::sqrt(speech_power / (noise_power * std::pow(10.0, snr_db / 10))));
  for (long i = 0; i < n; ++i) crop[i] += scale * noise[i];
}

void Augmenter::spec_augment(FeatureMatrix& features, TrainingRng& rng) const {
  if (!chance(rng, options_.spec_augment_probability)) return;
  const int frames = features.num_frames;
  const int bands = features.num_features;
  // The band means, so a mask hides information without adding an edge the network could use.
  std::vector<float> mean(static_cast<size_t>(bands), 0.0f);
  for (int t = 0; t < frames; ++t) {
    for (int b = 0; b < bands; ++b) mean[b] += features.frame(t)[b];
  }
  for (auto& m : mean) m /= float(std::max(frames, 1));

  for (int m = 0; m < options_.time_masks; ++m) {
    const int width = std::min(frames, int(uniform_index(rng, options_.max_time_mask_frames + 1)));
    const int start = int(uniform_index(rng, frames - width + 1));
    for (int t = start; t < start + width; ++t) {
      std::copy(mean.begin(), mean.end(), features.frame(t));
    }
  }
  for (int m = 0; m < options_.frequency_masks; ++m) {
    const int width =
        std::min(bands, int(uniform_index(rng, options_.max_frequency_mask_bands + 1)));
    const int start = int(uniform_index(rng, bands - width + 1));
    for (int t = 0; t < frames; ++t) {
      std::copy(mean.begin() + start, mean.begin() + start + width, features.frame(t) + start);
    }
  }
}

}  // namespace spkid
