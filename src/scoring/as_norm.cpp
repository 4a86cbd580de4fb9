// Adaptive symmetric score normalisation against a cohort of impostor embeddings.
#include <algorithm>
#include <cmath>
#include <functional>

#include "embedding_math.h"
#include "spkid/error.h"

namespace spkid {
namespace {

// Keeps a cohort of near-identical voices from dividing scores by zero.
constexpr double kMinCohortStddev = 1e-4;

}  // namespace

AsNorm::AsNorm(const std::vector<std::vector<float>>& cohort, int top_k) {
  if (cohort.size() < 2) {
    throw Error(ErrorCode::kInvalidArgument,
                "score normalisation needs a cohort of at least 2 embeddings, got " +
                    std::to_string(cohort.size()) + ": give more cohort speakers or score raw");
  }
  if (top_k < 2) {
    throw Error(
        ErrorCode::kInvalidArgument,
        "the cohort's top_k must be at least 2 to give a spread, got " + std::to_string(top_k));
  }
  embedding_size_ = static_cast<int>(cohort.front().size());
  top_k_ = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(top_k), cohort.size()));
  cohort_.reserve(cohort.size() * cohort.front().size());
  for (const auto& row : cohort) {
    scoring_detail::check_embedding_size(row.size(), cohort.front().size());
    const std::vector<float> unit = scoring_detail::unit_direction(row);
    cohort_.insert(cohort_.end(), unit.begin(), unit.end());
  }
}

std::size_t AsNorm::cohort_size() const {
  return cohort_.size() / static_cast<std::size_t>(embedding_size_);
}

std::vector<double> AsNorm::top_cosines(const std::vector<float>& unit) const {
  const auto size = static_cast<std::size_t>(embedding_size_);
  scoring_detail::check_embedding_size(unit.size(), size);
  std::vector<double> cosines(cohort_size());
  for (std::size_t row = 0; row < cosines.size(); ++row) {
    cosines[row] = scoring_detail::dot(unit.data(), cohort_.data() + row * size, size);
  }
  std::partial_sort(cosines.begin(), cosines.begin() + top_k_, cosines.end(), std::greater<>());
  cosines.resize(static_cast<std::size_t>(top_k_));
  return cosines;
}

CohortStatistics AsNorm::top_statistics(const std::vector<double>& descending,
                                        const std::vector<double>& more_descending, int top_k) {
  std::size_t a = 0, b = 0;
  double sum = 0, squares = 0;
  int taken = 0;
  for (; taken < top_k && (a < descending.size() || b < more_descending.size()); ++taken) {
    const bool from_first = b >= more_descending.size() ||
                            (a < descending.size() && descending[a] >= more_descending[b]);
    const double x = from_first ? descending[a++] : more_descending[b++];
    sum += x;
    squares += x * x;
  }
  if (taken == 0) {
    throw Error(ErrorCode::kInvalidArgument, "cohort statistics need at least one cosine");
  }
  const double mean = sum / taken;
  const double variance = std::max(0.0, squares / taken - mean * mean);
  return {mean, std::max(std::sqrt(variance), kMinCohortStddev)};
}

CohortStatistics AsNorm::statistics(const std::vector<float>& embedding) const {
  const auto size = static_cast<std::size_t>(embedding_size_);
  scoring_detail::check_embedding_size(embedding.size(), size);
  const std::vector<float> unit = scoring_detail::unit_direction(embedding);
  std::vector<double> cosines(cohort_size());
  for (std::size_t row = 0; row < cosines.size(); ++row) {
    cosines[row] = scoring_detail::dot(unit.data(), cohort_.data() + row * size, size);
  }
  // Mean and spread do not depend on order: partitioning the top_k to the front is enough.
  const auto top_end = cosines.begin() + top_k_;
  std::nth_element(cosines.begin(), top_end - 1, cosines.end(), std::greater<>());
  double sum = 0;
  for (auto it = cosines.begin(); it != top_end; ++it) sum += *it;
  const double mean = sum / top_k_;
  double squares = 0;
  for (auto it = cosines.begin(); it != top_end; ++it) squares += (*it - mean) * (*it - mean);
  return {mean, std::max(std::sqrt(squares / top_k_), kMinCohortStddev)};
}

double AsNorm::normalize(double cosine, const CohortStatistics& enrolled,
                         const CohortStatistics& test) {
  return 0.5 * ((cosine - enrolled.mean) / enrolled.stddev + (cosine - test.mean) / test.stddev);
}

double AsNorm::score(const std::vector<float>& enrolled, const std::vector<float>& test) const {
  return normalize(cosine_similarity(enrolled, test), statistics(enrolled), statistics(test));
}

}  // namespace spkid
