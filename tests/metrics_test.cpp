#include "spkid/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <utility>

#include "spkid/error.h"

namespace spkid {
namespace {

TEST(EqualErrorRate, PerfectlySeparatedScoresGiveZeroWithAThresholdBetweenThem) {
  const auto eer = equal_error_rate({0.7, 0.8, 0.95}, {0.1, 0.3, 0.5});
  EXPECT_DOUBLE_EQ(eer.rate, 0.0);
  EXPECT_GT(eer.threshold, 0.5);
  EXPECT_LE(eer.threshold, 0.7);
  const auto at = error_rates_at({0.7, 0.8, 0.95}, {0.1, 0.3, 0.5}, eer.threshold);
  EXPECT_DOUBLE_EQ(at.false_accept_rate, 0.0);
  EXPECT_DOUBLE_EQ(at.false_reject_rate, 0.0);
}

TEST(EqualErrorRate, SmallWorkedExample) {
  // Threshold 0.45: one non-target of four accepted (0.5), no target rejected; threshold 0.5:
  // one target of three rejected (0.4), one non-target accepted. The crossing lies between.
  const std::vector<double> targets = {0.9, 0.8, 0.4};
  const std::vector<double> nontargets = {0.5, 0.3, 0.2, 0.1};
  const auto eer = equal_error_rate(targets, nontargets);
  EXPECT_NEAR(eer.rate, 0.25, 1e-12);
  EXPECT_NEAR(eer.threshold, 0.45, 1e-12);
}

TEST(EqualErrorRate, ReversedScoresGiveOne) {
  EXPECT_NEAR(equal_error_rate({0.1, 0.2}, {0.8, 0.9}).rate, 1.0, 1e-12);
}

TEST(EqualErrorRate, RefusesEmptyOrNonFiniteScores) {
  for (const auto& [targets, nontargets] :
       std::vector<std::pair<std::vector<double>, std::vector<double>>>{
           {{}, {0.1}}, {{0.9}, {}}, {{0.9, std::nan("")}, {0.1}}}) {
    try {
      equal_error_rate(targets, nontargets);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    }
  }
}

TEST(ErrorRates, CountsAcceptsAtOrAboveTheThreshold) {
  const auto rates = error_rates_at({0.2, 0.6, 0.9}, {0.1, 0.6, 0.7, 0.3}, 0.6);
  EXPECT_DOUBLE_EQ(rates.false_reject_rate, 1.0 / 3);  // 0.2
  EXPECT_DOUBLE_EQ(rates.false_accept_rate, 2.0 / 4);  // 0.6 and 0.7
}

TEST(DetectionCost, ZeroWhenSeparatedAndKnownOnTheWorkedExample) {
  EXPECT_DOUBLE_EQ(min_detection_cost({0.8, 0.9}, {0.1, 0.2}).cost, 0.0);
  // With p_target 0.5 and unit costs the normalised cost is P_miss + P_fa; its minimum on the
  // example is at threshold 0.4: no miss, one false accept of four.
  DetectionCostModel balanced;
  balanced.p_target = 0.5;
  const auto dcf = min_detection_cost({0.9, 0.8, 0.4}, {0.5, 0.3, 0.2, 0.1}, balanced);
  EXPECT_NEAR(dcf.cost, 0.25, 1e-12);
  EXPECT_DOUBLE_EQ(dcf.threshold, 0.4);
}

TEST(DetectionCost, RareTargetsWeighFalseAcceptsMore) {
  // One target below one non-target: rejecting everything costs 1 (a miss), accepting the
  // target costs a false accept, which weighs 99 times more at p_target 0.01 before norming.
  const auto dcf = min_detection_cost({0.5, 0.9}, {0.6, 0.1});
  EXPECT_NEAR(dcf.cost, 0.5, 1e-12);  // miss half the targets, no false accept
  EXPECT_DOUBLE_EQ(dcf.threshold, 0.9);
}

TEST(ConfusionMatrix, CountsAccuracyAndText) {
  ConfusionMatrix confusion({"alice", "bob", "carol"});
  confusion.add(0, 0);
  confusion.add(0, 0);
  confusion.add(0, 1);
  confusion.add(1, 1);
  confusion.add(2, 0);
  EXPECT_EQ(confusion.count(0, 0), 2);
  EXPECT_EQ(confusion.count(0, 1), 1);
  EXPECT_EQ(confusion.count(2, 0), 1);
  EXPECT_EQ(confusion.count(2, 2), 0);
  EXPECT_EQ(confusion.total(), 5);
  EXPECT_EQ(confusion.row_total(0), 3);
  EXPECT_DOUBLE_EQ(confusion.accuracy(), 3.0 / 5);
  EXPECT_DOUBLE_EQ(confusion.class_accuracy(0), 2.0 / 3);
  EXPECT_DOUBLE_EQ(confusion.class_accuracy(1), 1.0);
  EXPECT_DOUBLE_EQ(confusion.class_accuracy(2), 0.0);

  const std::string text = confusion.to_text();
  EXPECT_NE(text.find("carol"), std::string::npos);
  EXPECT_NE(text.find("66.7%"), std::string::npos);
  EXPECT_NE(text.find("100.0%"), std::string::npos);
}

TEST(ConfusionMatrix, EmptyHasZeroAccuracyAndRefusesBadIndices) {
  ConfusionMatrix confusion({"a", "b"});
  EXPECT_DOUBLE_EQ(confusion.accuracy(), 0.0);
  EXPECT_THROW(confusion.add(2, 0), Error);
  EXPECT_THROW(confusion.add(0, 5), Error);
  EXPECT_EQ(confusion.total(), 0);
}

}  // namespace
}  // namespace spkid
