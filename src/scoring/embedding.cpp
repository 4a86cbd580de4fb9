// Cosine similarity and mean directions of embeddings.
#include <cmath>

#include "embedding_math.h"
#include "spkid/error.h"

namespace spkid {
namespace scoring_detail {
namespace {

// Mean vectors shorter than this (of unit directions) point nowhere in particular.
constexpr double kMinMeanLength = 1e-6;

}  // namespace

void check_embedding_size(std::size_t size, std::size_t expected_size) {
  if (size != expected_size) {
    throw Error(ErrorCode::kInvalidArgument,
                "an embedding has " + std::to_string(size) + " values where " +
                    std::to_string(expected_size) +
                    " are expected: score embeddings made by one model only");
  }
}

std::vector<float> unit_direction(const std::vector<float>& embedding) {
  if (embedding.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "an embedding is empty: pass the model's output");
  }
  const double norm = std::sqrt(dot(embedding.data(), embedding.data(), embedding.size()));
  if (!std::isfinite(norm) || norm == 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "an embedding is all zeros or not finite: check the model that made it");
  }
  std::vector<float> unit(embedding.size());
  for (std::size_t i = 0; i < unit.size(); ++i) unit[i] = static_cast<float>(embedding[i] / norm);
  return unit;
}

void add_directions(const std::vector<std::vector<float>>& embeddings, std::vector<double>& sum) {
  for (const auto& embedding : embeddings) {
    const std::vector<float> unit = unit_direction(embedding);
    if (sum.empty()) sum.assign(unit.size(), 0.0);
    check_embedding_size(unit.size(), sum.size());
    for (std::size_t i = 0; i < unit.size(); ++i) sum[i] += unit[i];
  }
}

std::vector<float> mean_direction(const std::vector<double>& sum, std::size_t count) {
  double norm_squared = 0;
  for (const double v : sum) norm_squared += v * v;
  const double norm = std::sqrt(norm_squared);
  if (count == 0 || !(norm > kMinMeanLength * double(count))) {
    throw Error(ErrorCode::kInvalidArgument,
                "the embeddings point in opposite directions and have no mean: check that they "
                "are of one voice");
  }
  std::vector<float> mean(sum.size());
  for (std::size_t i = 0; i < mean.size(); ++i) mean[i] = static_cast<float>(sum[i] / norm);
  return mean;
}

double dot(const float* a, const float* b, std::size_t size) {
  double sum = 0;
  for (std::size_t i = 0; i < size; ++i) sum += double(a[i]) * double(b[i]);
  return sum;
}

}  // namespace scoring_detail

using scoring_detail::add_directions;
using scoring_detail::check_embedding_size;
using scoring_detail::dot;
using scoring_detail::mean_direction;
using scoring_detail::unit_direction;

double cosine_similarity(const std::vector<float>& a, const std::vector<float>& b) {
  check_embedding_size(b.size(), a.size());
  const std::vector<float> unit_a = unit_direction(a);
  const std::vector<float> unit_b = unit_direction(b);
  return dot(unit_a.data(), unit_b.data(), unit_a.size());
}

std::vector<float> mean_embedding(const std::vector<std::vector<float>>& embeddings) {
  if (embeddings.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "no embeddings to average: give at least one clip's embedding");
  }
  std::vector<double> sum;
  add_directions(embeddings, sum);
  return mean_direction(sum, embeddings.size());
}

}  // namespace spkid
