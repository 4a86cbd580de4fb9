// Figures of merit: identification accuracy and confusion matrix; verification error rates
// (false accepts and rejects at a threshold, equal error rate, minimum detection cost).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace spkid {

// A trial is accepted when its score is >= the threshold.
struct ErrorRates {
  double false_accept_rate = 0;  // share of non-target trials accepted
  double false_reject_rate = 0;  // share of target trials rejected
};
ErrorRates error_rates_at(const std::vector<double>& target_scores,
                          const std::vector<double>& nontarget_scores, double threshold);

// The rate where false accepts equal false rejects, interpolated between the two operating points
// around the crossing, and a threshold at the crossing. Throws Error(kInvalidArgument) when either
// list is empty or holds a non-finite score.
struct EqualErrorRate {
  double rate = 0;
  double threshold = 0;
};
EqualErrorRate equal_error_rate(const std::vector<double>& target_scores,
                                const std::vector<double>& nontarget_scores);

// NIST detection cost: c_miss * P_miss * p_target + c_false_accept * P_fa * (1 - p_target),
// normalised by the cost of the better trivial system (accept all or reject all).
struct DetectionCostModel {
  double p_target = 0.01;
  double c_miss = 1;
  double c_false_accept = 1;
};
struct DetectionCost {
  double cost = 0;  // normalised
  double threshold = 0;
};
// The lowest normalised cost over all thresholds. Same errors as equal_error_rate().
DetectionCost min_detection_cost(const std::vector<double>& target_scores,
                                 const std::vector<double>& nontarget_scores,
                                 const DetectionCostModel& model = {});

// Counts of (true speaker, predicted speaker) over closed-set identification trials.
class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(std::vector<std::string> labels);

  // Throws Error(kInvalidArgument) for an index outside labels().
  void add(std::size_t truth, std::size_t predicted);
  int64_t count(std::size_t truth, std::size_t predicted) const;
  int64_t total() const { return total_; }
  int64_t row_total(std::size_t truth) const;
  double accuracy() const;                         // top-1 over all trials; 0 when empty
  double class_accuracy(std::size_t truth) const;  // recall of one speaker; 0 without trials
  const std::vector<std::string>& labels() const { return labels_; }
  // Aligned table: one row per true speaker, one column per prediction, and per-row accuracy.
  std::string to_text() const;

 private:
  std::vector<std::string> labels_;
  std::vector<int64_t> counts_;  // row-major labels x labels
  int64_t total_ = 0;
};

}  // namespace spkid
