// Speaker scoring on toy 2-D and 3-D embeddings: centroids, rankings, open-set decisions,
// AS-norm, posterior combination and threshold calibration.
#include "spkid/scoring.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>

#include "spkid/error.h"
#include "spkid/speaker_name.h"

namespace spkid {
namespace {

constexpr double kTolerance = 1e-6;
const double kPi = std::acos(-1.0);

// A 2-D unit embedding at `degrees` from the first axis.
std::vector<float> at_angle(double degrees) {
  const double radians = degrees * kPi / 180;
  return {static_cast<float>(std::cos(radians)), static_cast<float>(std::sin(radians))};
}

double cos_degrees(double degrees) { return std::cos(degrees * kPi / 180); }

void expect_invalid_argument(const std::function<void()>& call) {
  try {
    call();
    ADD_FAILURE() << "expected Error(kInvalidArgument)";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line: " << e.what();
  }
}

std::vector<std::string> names_of(const std::vector<SpeakerScore>& scores) {
  std::vector<std::string> names;
  for (const auto& s : scores) names.push_back(s.speaker);
  return names;
}

TEST(CosineSimilarity, IgnoresLengthAndRefusesUnusableEmbeddings) {
  EXPECT_NEAR(cosine_similarity({1, 0}, {3, 3}), std::sqrt(0.5), kTolerance);
  EXPECT_NEAR(cosine_similarity({2, 0, 0}, {-5, 0, 0}), -1, kTolerance);
  expect_invalid_argument([] { cosine_similarity({1, 0}, {1, 0, 0}); });
  expect_invalid_argument([] { cosine_similarity({0, 0}, {1, 0}); });
  expect_invalid_argument([] { cosine_similarity({}, {}); });
  expect_invalid_argument([] { cosine_similarity({NAN, 1}, {1, 0}); });
}

TEST(MeanEmbedding, AveragesDirectionsNotLengths) {
  // Unit copies (1, 0) and (0, 1): mean (0.5, 0.5), normalised (0.7071, 0.7071). A plain mean of
  // (1, 0) and (0, 4) would lean toward the longer one.
  const auto mean = mean_embedding({{1, 0}, {0, 4}});
  ASSERT_EQ(mean.size(), 2u);
  EXPECT_NEAR(mean[0], std::sqrt(0.5), kTolerance);
  EXPECT_NEAR(mean[1], std::sqrt(0.5), kTolerance);
  expect_invalid_argument([] { mean_embedding({}); });
  expect_invalid_argument([] { mean_embedding({{1, 0}, {-1, 0}}); });  // no mean direction
  expect_invalid_argument([] { mean_embedding({{1, 0}, {1, 0, 0}}); });
}

TEST(SpeakerGallery, CentroidIsTheNormalisedMeanAndAccumulatesOverCalls) {
  SpeakerGallery gallery;
  EXPECT_EQ(gallery.embedding_size(), 0);
  gallery.add("alice", {{1, 0}, {0, 1}});
  EXPECT_EQ(gallery.embedding_size(), 2);
  EXPECT_NEAR(gallery.centroid("alice")[0], std::sqrt(0.5), kTolerance);
  EXPECT_NEAR(gallery.centroid("alice")[1], std::sqrt(0.5), kTolerance);
  // A third clip along (0, 1): the sum of directions is (1, 2), so the centroid is (1, 2) / sqrt 5.
  gallery.add("alice", {{0, 3}});
  EXPECT_EQ(gallery.num_embeddings("alice"), 3u);
  EXPECT_NEAR(gallery.centroid("alice")[0], 1 / std::sqrt(5.0), kTolerance);
  EXPECT_NEAR(gallery.centroid("alice")[1], 2 / std::sqrt(5.0), kTolerance);
  gallery.add("bob", {{-1, 0}});
  EXPECT_EQ(gallery.speakers(), (std::vector<std::string>{"alice", "bob"}));
}

TEST(SpeakerGallery, BestMatchesAreOrderedByScoreThenName) {
  SpeakerGallery gallery;
  gallery.add("deg0", {at_angle(0)});
  gallery.add("deg30", {at_angle(30)});
  gallery.add("deg60", {at_angle(60)});
  gallery.add("deg90", {at_angle(90)});
  // A query at 50 degrees is 10, 20, 40 and 50 degrees from them.
  const auto all = gallery.scores(at_angle(50));
  EXPECT_EQ(names_of(all), (std::vector<std::string>{"deg0", "deg30", "deg60", "deg90"}));
  EXPECT_NEAR(all[0].score, cos_degrees(50), kTolerance);
  const auto best = gallery.best_matches(at_angle(50), 3);
  EXPECT_EQ(names_of(best), (std::vector<std::string>{"deg60", "deg30", "deg90"}));
  EXPECT_NEAR(best[0].score, cos_degrees(10), kTolerance);
  EXPECT_NEAR(best[2].score, cos_degrees(40), kTolerance);
  EXPECT_EQ(gallery.best_matches(at_angle(50), 10).size(), 4u);

  gallery.add("a_twin", {at_angle(60)});  // same centroid as deg60: the tie goes by name
  EXPECT_EQ(names_of(gallery.best_matches(at_angle(50), 2)),
            (std::vector<std::string>{"a_twin", "deg60"}));
}

TEST(SpeakerGallery, IdentifiesTheBestSpeakerOrUnknownBelowTheThreshold) {
  SpeakerGallery gallery;
  gallery.add("north", {at_angle(90)});
  gallery.add("east", {at_angle(0)});

  const auto near_east = gallery.identify(at_angle(20), 0.8, 2);
  EXPECT_TRUE(near_east.known);
  EXPECT_EQ(near_east.speaker, "east");
  EXPECT_NEAR(near_east.score, cos_degrees(20), kTolerance);
  EXPECT_EQ(near_east.threshold, 0.8);
  EXPECT_EQ(names_of(near_east.top), (std::vector<std::string>{"east", "north"}));

  // Halfway between them the best cosine is cos 45 = 0.707, below 0.8: nobody enrolled.
  const auto between = gallery.identify(at_angle(44), 0.8);
  EXPECT_FALSE(between.known);
  EXPECT_EQ(between.speaker, kUnknownSpeaker);
  EXPECT_NEAR(between.score, cos_degrees(44), kTolerance);
  ASSERT_EQ(between.top.size(), 1u);
  EXPECT_EQ(between.top[0].speaker, "east");  // the runner-up is still reported
  // A score equal to the threshold is accepted, as the metrics count accepts ((1, 0) scores
  // exactly 1 against east).
  EXPECT_TRUE(gallery.identify({1, 0}, 1.0).known);
  EXPECT_TRUE(gallery.verify("east", {1, 0}, 1.0).accepted);
  expect_invalid_argument([&] { gallery.identify(at_angle(0), NAN); });
}

TEST(SpeakerGallery, VerifiesAClaimedIdentity) {
  SpeakerGallery gallery;
  gallery.add("alice", {at_angle(10), at_angle(-10)});  // centroid at 0 degrees
  gallery.add("bob", {at_angle(90)});

  const auto genuine = gallery.verify("alice", at_angle(15), 0.9);
  EXPECT_TRUE(genuine.accepted);
  EXPECT_EQ(genuine.speaker, "alice");
  EXPECT_NEAR(genuine.score, cos_degrees(15), kTolerance);
  EXPECT_EQ(genuine.threshold, 0.9);

  const auto impostor = gallery.verify("bob", at_angle(15), 0.9);
  EXPECT_FALSE(impostor.accepted);
  EXPECT_NEAR(impostor.score, cos_degrees(75), kTolerance);
  expect_invalid_argument([&] { gallery.verify("carol", at_angle(15), 0.9); });
}

TEST(SpeakerGallery, RemovesAndRenamesSpeakers) {
  SpeakerGallery gallery;
  gallery.add("alice", {at_angle(0)});
  gallery.add("bob", {at_angle(90)});

  gallery.rename("alice", "carol");
  EXPECT_FALSE(gallery.contains("alice"));
  EXPECT_EQ(gallery.identify(at_angle(5), 0.5).speaker, "carol");
  EXPECT_NEAR(gallery.centroid("carol")[0], 1, kTolerance);
  expect_invalid_argument([&] { gallery.rename("carol", "bob"); });      // taken
  expect_invalid_argument([&] { gallery.rename("alice", "dave"); });     // no such speaker
  expect_invalid_argument([&] { gallery.rename("carol", "unknown"); });  // reserved
  expect_invalid_argument([&] { gallery.add("Unknown", {at_angle(0)}); });

  gallery.remove("carol");
  EXPECT_EQ(gallery.size(), 1u);
  EXPECT_EQ(gallery.identify(at_angle(5), -1).speaker, "bob");
  expect_invalid_argument([&] { gallery.remove("carol"); });
  gallery.remove("bob");
  expect_invalid_argument([&] { gallery.identify(at_angle(5), 0.5); });  // nobody to score
}

TEST(SpeakerGallery, RefusesEmbeddingsOfAnotherSizeAndStaysUnchanged) {
  SpeakerGallery gallery;
  gallery.add("alice", {{1, 0}});
  expect_invalid_argument([&] { gallery.add("alice", {{0, 1}, {0, 1, 0}}); });
  EXPECT_EQ(gallery.num_embeddings("alice"), 1u);
  EXPECT_NEAR(gallery.centroid("alice")[0], 1, kTolerance);
  expect_invalid_argument([&] { gallery.add("bob", {{0, 1, 0}}); });
  EXPECT_FALSE(gallery.contains("bob"));
  expect_invalid_argument([&] { gallery.add("bob", {}); });
  expect_invalid_argument([&] { gallery.scores({1, 0, 0}); });
  expect_invalid_argument([&] { gallery.verify("alice", {1}, 0.5); });

  SpeakerGallery normalised(AsNorm({{1, 0, 0}, {0, 1, 0}}));
  EXPECT_EQ(normalised.embedding_size(), 3);
  expect_invalid_argument([&] { normalised.add("alice", {{1, 0}}); });
  expect_invalid_argument([] { AsNorm({{1, 0}, {1, 0, 0}}); });
}

TEST(AsNorm, MatchesTheHandComputedExample) {
  // Cohort at 0 degrees (1, 0), 90 degrees (0, 1) and 180 degrees (-1, 0); top 2 of 3.
  const AsNorm norm({{1, 0}, {0, 1}, {-1, 0}}, 2);
  EXPECT_EQ(norm.cohort_size(), 3u);
  EXPECT_EQ(norm.top_k(), 2);
  const std::vector<float> enrolled = {1, 0};
  const std::vector<float> test = {0.6f, 0.8f};
  // Enrolled side: cosines 1, 0, -1; top 2 {1, 0}: mean 0.5, stddev 0.5.
  const auto e = norm.statistics(enrolled);
  EXPECT_NEAR(e.mean, 0.5, kTolerance);
  EXPECT_NEAR(e.stddev, 0.5, kTolerance);
  // Test side: cosines 0.6, 0.8, -0.6; top 2 {0.8, 0.6}: mean 0.7, stddev 0.1.
  const auto t = norm.statistics(test);
  EXPECT_NEAR(t.mean, 0.7, kTolerance);
  EXPECT_NEAR(t.stddev, 0.1, kTolerance);
  // Raw cosine 0.6: ((0.6 - 0.5) / 0.5 + (0.6 - 0.7) / 0.1) / 2 = (0.2 - 1) / 2 = -0.4.
  EXPECT_NEAR(norm.score(enrolled, test), -0.4, kTolerance);
  // Scaling either side changes nothing: only directions count.
  EXPECT_NEAR(norm.score({3, 0}, {1.2f, 1.6f}), -0.4, kTolerance);

  // A top_k above the cohort's size takes the whole cohort: cosines 1, 0, -1 for (1, 0).
  const AsNorm whole({{1, 0}, {0, 1}, {-1, 0}}, 50);
  EXPECT_EQ(whole.top_k(), 3);
  EXPECT_NEAR(whole.statistics(enrolled).mean, 0, kTolerance);
  EXPECT_NEAR(whole.statistics(enrolled).stddev, std::sqrt(2.0 / 3), kTolerance);

  expect_invalid_argument([] { AsNorm({{1, 0}}, 2); });
  expect_invalid_argument([] { AsNorm({{1, 0}, {0, 1}}, 1); });
  expect_invalid_argument([] { AsNorm({{1, 0}, {0, 0}}, 2); });
  expect_invalid_argument([&] { norm.statistics({1, 0, 0}); });
}

TEST(AsNorm, GalleryScoresAreNormalisedAndDiscountASpeakerAmongTheCohort) {
  // The cohort crowds around 0 degrees (5 and 15) and sits far from 90 degrees.
  const std::vector<std::vector<float>> cohort = {at_angle(5), at_angle(15), at_angle(180),
                                                  at_angle(200)};
  SpeakerGallery raw;
  SpeakerGallery normalised(AsNorm(cohort, 2));
  ASSERT_NE(normalised.normalization(), nullptr);
  EXPECT_EQ(raw.normalization(), nullptr);
  for (auto* gallery : {&raw, &normalised}) {
    gallery->add("crowded", {at_angle(0)});
    gallery->add("lonely", {at_angle(90)});
  }
  const auto query = at_angle(40);
  // Raw: cos 40 = 0.77 for crowded beats cos 50 = 0.64 for lonely.
  EXPECT_EQ(raw.identify(query, 0).speaker, "crowded");
  // Normalised: crowded's top-2 cohort cosines (0.996, 0.966) make 0.77 a poor score, z about
  // -14; lonely's (0.259, 0.087) make 0.64 a good one, z about +5.5. The query's own side
  // (0.906, 0.819) subtracts the same from both. Lonely wins.
  const auto best = normalised.identify(query, 0, 2);
  EXPECT_EQ(best.speaker, "lonely");
  const AsNorm& norm = *normalised.normalization();
  EXPECT_NEAR(best.score, norm.score(at_angle(90), query), kTolerance);
  EXPECT_NEAR(best.top[1].score, norm.score(at_angle(0), query), kTolerance);
  EXPECT_NEAR(normalised.verify("crowded", query, 0).score, norm.score(at_angle(0), query),
              kTolerance);
}

TEST(Posteriors, CombineByTheMeanSoOneBadChunkCannotVeto) {
  const auto mean = combine_posteriors({{0.9f, 0.1f}, {0.2f, 0.8f}, {0.7f, 0.3f}});
  ASSERT_EQ(mean.size(), 2u);
  EXPECT_NEAR(mean[0], 0.6, kTolerance);
  EXPECT_NEAR(mean[1], 0.4, kTolerance);

  // Two clear chunks for alice and one near-zero: the mean keeps alice (0.60 vs 0.40), where
  // the mean of logs would pick bob (log 0.001 outweighs two log 0.9).
  const std::vector<std::vector<float>> chunks = {{0.9f, 0.1f}, {0.9f, 0.1f}, {0.001f, 0.999f}};
  const auto decision = identify_from_posteriors(chunks, {"alice", "bob"}, 0.5, 2);
  EXPECT_TRUE(decision.known);
  EXPECT_EQ(decision.speaker, "alice");
  EXPECT_NEAR(decision.score, (0.9 + 0.9 + 0.001) / 3, kTolerance);
  EXPECT_EQ(names_of(decision.top), (std::vector<std::string>{"alice", "bob"}));
}

TEST(Posteriors, OpenSetThresholdOnTheCombinedPosterior) {
  const std::vector<std::vector<float>> uncertain = {{0.5f, 0.3f, 0.2f}, {0.3f, 0.5f, 0.2f}};
  // Combined (0.4, 0.4, 0.2): the tie goes by name, and 0.4 is below 0.6.
  const auto decision = identify_from_posteriors(uncertain, {"bob", "alice", "carol"}, 0.6, 3);
  EXPECT_FALSE(decision.known);
  EXPECT_EQ(decision.speaker, kUnknownSpeaker);
  EXPECT_NEAR(decision.score, 0.4, kTolerance);
  EXPECT_EQ(names_of(decision.top), (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_TRUE(identify_from_posteriors(uncertain, {"bob", "alice", "carol"}, 0.35).known);
}

TEST(Posteriors, RefuseWhatIsNotADistributionOverTheLabels) {
  expect_invalid_argument([] { combine_posteriors({}); });
  expect_invalid_argument([] { combine_posteriors({{2.0f, -1.0f}}); });  // logits
  expect_invalid_argument([] { combine_posteriors({{0.7f, 0.7f}}); });
  expect_invalid_argument([] { combine_posteriors({{0.5f, 0.5f}, {1.0f, 0.0f, 0.0f}}); });
  expect_invalid_argument([] { combine_posteriors({{NAN, 1.0f}}); });
  expect_invalid_argument([] { identify_from_posteriors({{0.5f, 0.5f}}, {"a", "b", "c"}, 0.5); });
}

// Counts of impostor scores accepted (>= threshold).
std::size_t accepted(const std::vector<double>& scores, double threshold) {
  return static_cast<std::size_t>(
      std::count_if(scores.begin(), scores.end(), [&](double s) { return s >= threshold; }));
}

TEST(Calibration, HitsTheTargetFalseAcceptRateOnSyntheticScores) {
  std::mt19937 rng(7);
  std::normal_distribution<double> impostor(0.1, 0.15);
  std::normal_distribution<double> genuine(0.7, 0.1);
  for (const std::size_t n : {200u, 1000u, 5000u}) {
    std::vector<double> genuine_scores(n / 2), impostor_scores(n);
    for (double& s : genuine_scores) s = genuine(rng);
    for (double& s : impostor_scores) s = impostor(rng);
    for (const double target : {0.01, 0.05, 0.29}) {
      CalibrationOptions options;
      options.target_false_accept_rate = target;
      const auto calibration = calibrate_threshold(genuine_scores, impostor_scores, options);
      // Exactly floor(target * n) impostors accepted: the rate is met, and a lower threshold
      // (the next impostor down) would exceed it.
      const auto allowed = static_cast<std::size_t>(std::floor(target * double(n) + 1e-9));
      EXPECT_EQ(accepted(impostor_scores, calibration.threshold), allowed) << n << " " << target;
      std::vector<double> sorted = impostor_scores;
      std::sort(sorted.begin(), sorted.end(), std::greater<>());
      EXPECT_EQ(accepted(impostor_scores, sorted[allowed]), allowed + 1);
      EXPECT_NEAR(calibration.rates.false_accept_rate, double(allowed) / double(n), 1e-12);
      EXPECT_LE(calibration.rates.false_accept_rate, target);
      EXPECT_NEAR(calibration.rates.false_reject_rate,
                  1 - double(accepted(genuine_scores, calibration.threshold)) /
                          double(genuine_scores.size()),
                  1e-12);
    }
  }
}

TEST(Calibration, PlacesTheThresholdHalfwayToTheNextScore) {
  const std::vector<double> genuine = {0.5, 0.9};
  const std::vector<double> impostors = {0.1, 0.3, 0.2};
  // 1% of 3 impostors allows none: above 0.3, halfway to the next score (genuine 0.5).
  EXPECT_NEAR(calibrate_threshold(genuine, impostors).threshold, 0.4, 1e-12);
  // 34% allows one (0.3): above 0.2, halfway to 0.3.
  CalibrationOptions options;
  options.target_false_accept_rate = 0.34;
  const auto calibration = calibrate_threshold(genuine, impostors, options);
  EXPECT_NEAR(calibration.threshold, 0.25, 1e-12);
  EXPECT_NEAR(calibration.rates.false_accept_rate, 1.0 / 3, 1e-12);
  EXPECT_EQ(calibration.rates.false_reject_rate, 0);
  // Nothing above the highest impostor: the threshold sits just above it.
  const auto above_all = calibrate_threshold({0.1}, {0.2, 0.3});
  EXPECT_GT(above_all.threshold, 0.3);
  EXPECT_NEAR(above_all.threshold, 0.3, 1e-12);
  EXPECT_EQ(above_all.rates.false_accept_rate, 0);
}

TEST(Calibration, EqualErrorRateRuleUsesTheMetrics) {
  const std::vector<double> genuine = {0.9, 0.8, 0.4};
  const std::vector<double> impostors = {0.5, 0.3, 0.2, 0.1};
  CalibrationOptions options;
  options.rule = ThresholdRule::kEqualErrorRate;
  const auto calibration = calibrate_threshold(genuine, impostors, options);
  EXPECT_EQ(calibration.threshold, equal_error_rate(genuine, impostors).threshold);
  // At 0.45, between 0.4 and 0.5: the genuine 0.4 is rejected and the impostor 0.5 accepted.
  EXPECT_NEAR(calibration.rates.false_accept_rate, 0.25, 1e-12);
  EXPECT_NEAR(calibration.rates.false_reject_rate, 1.0 / 3, 1e-12);
}

TEST(Calibration, RefusesBadOptionsAndScores) {
  for (const double target : {0.0, 1.0, -0.1, double(NAN)}) {
    CalibrationOptions options;
    options.target_false_accept_rate = target;
    expect_invalid_argument([&] { options.validate(); });
    expect_invalid_argument([&] { calibrate_threshold({0.9}, {0.1}, options); });
  }
  expect_invalid_argument([] { calibrate_threshold({}, {0.1}); });
  expect_invalid_argument([] { calibrate_threshold({0.9}, {}); });
  expect_invalid_argument([] { calibrate_threshold({0.9}, {0.1, NAN}); });
  CalibrationOptions eer;
  eer.rule = ThresholdRule::kEqualErrorRate;
  eer.target_false_accept_rate = 0;  // not used by this rule
  EXPECT_NO_THROW(calibrate_threshold({0.9}, {0.1}, eer));
}

}  // namespace
}  // namespace spkid
