// The store-calibrated open-set decision on synthetic embeddings: speakers are random directions
// in a few dimensions, their clips and windows noisy copies, strangers other random directions
// drawn the same way (recorded "in the same home").
#include "spkid/open_set.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "spkid/error.h"

namespace spkid {
namespace {

constexpr int kDims = 64;

std::vector<float> random_direction(std::mt19937_64& rng) {
  std::normal_distribution<float> g(0, 1);
  std::vector<float> v(kDims);
  for (auto& x : v) x = g(rng);
  return v;
}

std::vector<float> noisy(const std::vector<float>& centre, double noise, std::mt19937_64& rng) {
  std::normal_distribution<float> g(0, static_cast<float>(noise));
  std::vector<float> v = centre;
  for (auto& x : v) x += g(rng);
  return v;
}

struct Household {
  SpeakerGallery gallery;
  CalibrationClips clips;
  std::vector<std::vector<float>> voices;  // by speaker index
};

// `n` speakers with 5 clips of 3 windows each; a shared `domain` offset makes every voice of
// the household alike, as one room and microphone do.
Household make_household(int n, double noise, uint64_t seed, double domain = 0) {
  std::mt19937_64 rng(seed);
  const auto offset = random_direction(rng);
  Household h;
  int64_t id = 0;
  for (int s = 0; s < n; ++s) {
    auto voice = random_direction(rng);
    for (int d = 0; d < kDims; ++d) voice[d] += static_cast<float>(domain) * offset[d];
    h.voices.push_back(voice);
    const std::string name = "speaker-" + std::to_string(s);
    std::vector<std::vector<float>> embeddings;
    for (int c = 0; c < 5; ++c) {
      CalibrationClip clip;
      clip.id = ++id;
      clip.embedding = noisy(voice, noise / 2, rng);
      for (int w = 0; w < 3; ++w) clip.windows.push_back(noisy(voice, noise, rng));
      embeddings.push_back(clip.embedding);
      h.clips[name].push_back(std::move(clip));
    }
    h.gallery.add(name, embeddings);
  }
  return h;
}

// These galleries score raw cosines: a prior threshold on that scale.
OpenSetOptions cosine_options() {
  OpenSetOptions options;
  options.prior_threshold = 0.9;
  return options;
}

TEST(OpenSetCalibration, MeasuresTheThresholdOnTheStrangersBestScores) {
  const Household h = make_household(12, 0.25, 7);
  const OpenSetCalibration c = calibrate_open_set(h.gallery, h.clips, cosine_options());
  EXPECT_TRUE(c.calibrated);
  EXPECT_EQ(c.num_speakers, 12);
  EXPECT_EQ(c.impostor_trials, 12u * 15u * 11u);  // every window against every other speaker
  EXPECT_EQ(c.genuine_trials, 12u * 15u);
  ASSERT_EQ(c.best_stranger_scores.size(), 12u);
  // The measured threshold lets the target share of the strangers' best scores through...
  std::size_t above = 0, all = 0;
  for (const auto& [speaker, best] : c.best_stranger_scores) {
    ASSERT_EQ(best.size(), 15u) << speaker;
    for (const double x : best) above += x >= c.measured_threshold, ++all;
  }
  const double target = OpenSetOptions{}.target_false_accept_rate;
  EXPECT_GE(double(above) / double(all), target);
  EXPECT_LE(double(above) / double(all), target + 2.0 / double(all));
  // ...and the threshold is between it and the prior, 11 strangers against 4 of prior.
  const double w = 11.0 / 15.0;
  EXPECT_NEAR(c.threshold, w * c.measured_threshold + (1 - w) * 0.9, 1e-12);
  // Random directions in 64 dimensions have cosines near 0.
  EXPECT_NEAR(c.measured.mean, 0, 0.1);
  // Well separated voices: strangers held out are rarely accepted, genuine windows mostly.
  EXPECT_LE(c.heldout_false_accept_rate, target);
  EXPECT_GE(c.heldout_genuine_accept_rate, 0.9);
}

TEST(OpenSetCalibration, KeepsStrangersOfTheSameHomeOutWhereAFixedThresholdDoesNot) {
  // Every voice shares the home's offset: raw cosines between different people are high.
  const double domain = 2.5;
  const Household home = make_household(30, 0.15, 11, domain);
  // Thirty speakers measure this home; a conservative prior, weighed lightly, only raises it.
  OpenSetOptions options = cosine_options();
  options.prior_threshold = 0.99;
  options.prior_weight_speakers = 0.5;
  const OpenSetCalibration c = calibrate_open_set(home.gallery, home.clips, options);
  // Strangers of the same home, never enrolled.
  const Household strangers = make_household(70, 0.15, 11, domain);  // same offset, same seed...
  std::mt19937_64 rng(99);
  int accepted_calibrated = 0, accepted_fixed = 0, trials = 0;
  for (int s = 30; s < 70; ++s) {  // ...but the speakers after the enrolled 30 are new people
    for (int k = 0; k < 5; ++k) {
      const auto clip = noisy(strangers.voices[s], 0.15, rng);
      bool calibrated = false, fixed = false;
      for (const SpeakerScore& score : home.gallery.scores(clip)) {
        calibrated = calibrated || score.score >= c.threshold;
        fixed = fixed || score.score >= 0.5;  // a cosine threshold that is safe across homes
      }
      accepted_calibrated += calibrated;
      accepted_fixed += fixed;
      ++trials;
    }
  }
  EXPECT_GT(double(accepted_fixed) / trials, 0.5) << "the home makes every voice alike";
  EXPECT_LE(double(accepted_calibrated) / trials, 0.1);
  // The enrolled people themselves are still accepted against their own name.
  int genuine = 0, genuine_trials = 0;
  for (int s = 0; s < 30; ++s) {
    const std::string name = "speaker-" + std::to_string(s);
    for (int k = 0; k < 5; ++k) {
      const auto clip = noisy(home.voices[s], 0.15, rng);
      for (const SpeakerScore& score : home.gallery.scores(clip)) {
        if (score.speaker == name) genuine += score.score >= c.threshold;
      }
      ++genuine_trials;
    }
  }
  EXPECT_GE(double(genuine) / genuine_trials, 0.9);
}

TEST(OpenSetCalibration, LeansOnThePriorWithFewSpeakers) {
  OpenSetOptions options;
  options.prior_threshold = 5.0;
  // One speaker: the prior alone, and not calibrated.
  const Household one = make_household(1, 0.3, 3);
  const OpenSetCalibration single = calibrate_open_set(one.gallery, one.clips, options);
  EXPECT_FALSE(single.calibrated);
  EXPECT_EQ(single.impostor_trials, 0u);
  EXPECT_DOUBLE_EQ(single.threshold, 5.0);
  EXPECT_TRUE(std::isnan(single.measured_threshold));
  EXPECT_TRUE(std::isnan(single.heldout_false_accept_rate));
  // Two speakers: one stranger against four of prior; more speakers, closer to the data.
  const Household two = make_household(2, 0.3, 3);
  const OpenSetCalibration pair = calibrate_open_set(two.gallery, two.clips, options);
  EXPECT_FALSE(pair.calibrated);
  EXPECT_NEAR(pair.threshold, 0.2 * pair.measured_threshold + 0.8 * 5.0, 1e-12);
  const Household many = make_household(20, 0.3, 3);
  const OpenSetCalibration twenty = calibrate_open_set(many.gallery, many.clips, options);
  EXPECT_TRUE(twenty.calibrated);
  EXPECT_LT(twenty.threshold - twenty.measured_threshold, pair.threshold - pair.measured_threshold);
  const OpenSetCalibration prior = prior_open_set(2, options);
  EXPECT_DOUBLE_EQ(prior.threshold, 5.0);
  EXPECT_EQ(prior.num_speakers, 2);
}

TEST(OpenSetCalibration, RefusesBadOptionsAndStrangers) {
  const Household h = make_household(3, 0.3, 5);
  OpenSetOptions bad;
  bad.target_false_accept_rate = 0;
  EXPECT_THROW(calibrate_open_set(h.gallery, h.clips, bad), Error);
  bad = {};
  bad.prior_threshold = std::nan("");
  EXPECT_THROW(calibrate_open_set(h.gallery, h.clips, bad), Error);
  bad = {};
  bad.prior_weight_speakers = 0;
  EXPECT_THROW(calibrate_open_set(h.gallery, h.clips, bad), Error);
  CalibrationClips extra = h.clips;
  extra["nobody"] = h.clips.begin()->second;
  EXPECT_THROW(calibrate_open_set(h.gallery, extra, OpenSetOptions{}), Error);
}

TEST(OpenSetSummary, RoundTripsThroughJson) {
  const Household h = make_household(4, 0.3, 5);
  const OpenSetCalibration c = calibrate_open_set(h.gallery, h.clips, cosine_options());
  const OpenSetCalibration back = open_set_summary_from_json(open_set_summary_json(c));
  EXPECT_DOUBLE_EQ(back.threshold, c.threshold);
  EXPECT_DOUBLE_EQ(back.measured_threshold, c.measured_threshold);
  EXPECT_EQ(back.num_speakers, 4);
  EXPECT_DOUBLE_EQ(back.heldout_false_accept_rate, c.heldout_false_accept_rate);
  const OpenSetCalibration none =
      open_set_summary_from_json(open_set_summary_json(prior_open_set(1, {})));
  EXPECT_TRUE(std::isnan(none.measured_threshold));
  EXPECT_THROW(open_set_summary_from_json("[]"), Error);
}

}  // namespace
}  // namespace spkid
