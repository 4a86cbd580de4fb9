#include "spkid/metrics.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>

#include "spkid/error.h"

namespace spkid {
namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, message);
}

// Sorted copies of both score lists, checked.
struct SortedTrials {
  std::vector<double> targets;
  std::vector<double> nontargets;

  SortedTrials(const std::vector<double>& target_scores,
               const std::vector<double>& nontarget_scores)
      : targets(target_scores), nontargets(nontarget_scores) {
    if (targets.empty() || nontargets.empty()) {
      invalid("error rates need both target and non-target trials: give scores of both kinds");
    }
    for (const auto* list : {&targets, &nontargets}) {
      if (!std::all_of(list->begin(), list->end(), [](double s) { return std::isfinite(s); })) {
        invalid("a trial score is not a finite number: check the scoring");
      }
    }
    std::sort(targets.begin(), targets.end());
    std::sort(nontargets.begin(), nontargets.end());
  }

  ErrorRates at(double threshold) const {
    const auto rejected = std::lower_bound(targets.begin(), targets.end(), threshold);
    const auto first_accepted = std::lower_bound(nontargets.begin(), nontargets.end(), threshold);
    ErrorRates rates;
    rates.false_reject_rate = double(rejected - targets.begin()) / double(targets.size());
    rates.false_accept_rate = double(nontargets.end() - first_accepted) / double(nontargets.size());
    return rates;
  }

  // Every threshold at which an operating point changes, ascending, ending with "reject all".
  std::vector<double> thresholds() const {
    std::vector<double> all(targets);
    all.insert(all.end(), nontargets.begin(), nontargets.end());
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    all.push_back(std::numeric_limits<double>::infinity());
    return all;
  }
};

}  // namespace

ErrorRates error_rates_at(const std::vector<double>& target_scores,
                          const std::vector<double>& nontarget_scores, double threshold) {
  return SortedTrials(target_scores, nontarget_scores).at(threshold);
}

EqualErrorRate equal_error_rate(const std::vector<double>& target_scores,
                                const std::vector<double>& nontarget_scores) {
  const SortedTrials trials(target_scores, nontarget_scores);
  const auto thresholds = trials.thresholds();
  // False rejects rise and false accepts fall as the threshold rises; the lowest threshold
  // accepts everything (false rejects 0 < false accepts 1), the last rejects everything.
  ErrorRates before = trials.at(thresholds.front());
  for (size_t i = 1; i < thresholds.size(); ++i) {
    const ErrorRates after = trials.at(thresholds[i]);
    if (after.false_reject_rate >= after.false_accept_rate) {
      const double gap_before = before.false_accept_rate - before.false_reject_rate;
      const double gap_after = after.false_reject_rate - after.false_accept_rate;
      const double alpha = gap_before / (gap_before + gap_after);
      EqualErrorRate eer;
      eer.rate =
          before.false_reject_rate + alpha * (after.false_reject_rate - before.false_reject_rate);
      // Between the two operating points, so both sides of the crossing are honoured.
      eer.threshold = std::isfinite(thresholds[i])
                          ? 0.5 * (thresholds[i - 1] + thresholds[i])
                          : std::nextafter(thresholds[i - 1], thresholds[i]);
      return eer;
    }
    before = after;
  }
  return {};  // unreachable: the last threshold rejects everything
}

DetectionCost min_detection_cost(const std::vector<double>& target_scores,
                                 const std::vector<double>& nontarget_scores,
                                 const DetectionCostModel& model) {
  if (!(model.p_target > 0 && model.p_target < 1) || !(model.c_miss > 0) ||
      !(model.c_false_accept > 0)) {
    invalid("detection cost needs 0 < p_target < 1 and positive costs");
  }
  const SortedTrials trials(target_scores, nontarget_scores);
  const double norm =
      std::min(model.c_miss * model.p_target, model.c_false_accept * (1 - model.p_target));
  DetectionCost best{std::numeric_limits<double>::infinity(), 0};
  for (const double threshold : trials.thresholds()) {
    const ErrorRates rates = trials.at(threshold);
    const double cost = (model.c_miss * rates.false_reject_rate * model.p_target +
                         model.c_false_accept * rates.false_accept_rate * (1 - model.p_target)) /
                        norm;
    if (cost < best.cost) best = {cost, threshold};
  }
  return best;
}

ConfusionMatrix::ConfusionMatrix(std::vector<std::string> labels)
    : labels_(std::move(labels)), counts_(labels_.size() * labels_.size(), 0) {}

void ConfusionMatrix::add(std::size_t truth, std::size_t predicted) {
  if (truth >= labels_.size() || predicted >= labels_.size()) {
    invalid("confusion matrix index out of range: " + std::to_string(truth) + ", " +
            std::to_string(predicted) + " for " + std::to_string(labels_.size()) + " labels");
  }
  ++counts_[truth * labels_.size() + predicted];
  ++total_;
}

int64_t ConfusionMatrix::count(std::size_t truth, std::size_t predicted) const {
  return counts_.at(truth * labels_.size() + predicted);
}

int64_t ConfusionMatrix::row_total(std::size_t truth) const {
  int64_t sum = 0;
  for (std::size_t p = 0; p < labels_.size(); ++p) sum += count(truth, p);
  return sum;
}

double ConfusionMatrix::accuracy() const {
  if (total_ == 0) return 0;
  int64_t correct = 0;
  for (std::size_t i = 0; i < labels_.size(); ++i) correct += count(i, i);
  return double(correct) / double(total_);
}

double ConfusionMatrix::class_accuracy(std::size_t truth) const {
  const int64_t row = row_total(truth);
  return row == 0 ? 0 : double(count(truth, truth)) / double(row);
}

std::string ConfusionMatrix::to_text() const {
  std::size_t name_width = 5;  // "truth"
  std::size_t cell_width = 5;
  for (std::size_t i = 0; i < labels_.size(); ++i) {
    name_width = std::max(name_width, labels_[i].size());
    cell_width = std::max({cell_width, labels_[i].size(), std::to_string(row_total(i)).size()});
  }
  std::ostringstream out;
  out << std::left << std::setw(int(name_width)) << "truth" << std::right;
  for (const auto& label : labels_) out << ' ' << std::setw(int(cell_width)) << label;
  out << "  accuracy\n";
  for (std::size_t t = 0; t < labels_.size(); ++t) {
    out << std::left << std::setw(int(name_width)) << labels_[t] << std::right;
    for (std::size_t p = 0; p < labels_.size(); ++p) {
      out << ' ' << std::setw(int(cell_width)) << count(t, p);
    }
    out << "  " << std::fixed << std::setprecision(1) << 100 * class_accuracy(t) << "%\n";
  }
  return out.str();
}

}  // namespace spkid
