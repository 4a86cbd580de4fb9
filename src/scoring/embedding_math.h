// Vector arithmetic shared by the scoring code: unit directions, their running sums, dot products,
// and the ranking of speakers' scores into a decision.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "spkid/scoring.h"

namespace spkid::scoring_detail {

// Throws Error(kInvalidArgument) unless `size` is `expected_size`.
void check_embedding_size(std::size_t size, std::size_t expected_size);

// `embedding` scaled to unit length. Throws Error(kInvalidArgument) when it is empty, zero or not
// finite.
std::vector<float> unit_direction(const std::vector<float>& embedding);

// Adds unit-length copies of `embeddings` to `sum`; an empty `sum` takes the first one's size.
// Throws Error(kInvalidArgument) as unit_direction() or for a size other than the sum's.
void add_directions(const std::vector<std::vector<float>>& embeddings, std::vector<double>& sum);

// `sum` of `count` unit directions, at unit length. Throws Error(kInvalidArgument) when the
// directions cancel out, leaving no mean direction.
std::vector<float> mean_direction(const std::vector<double>& sum, std::size_t count);

double dot(const float* a, const float* b, std::size_t size);

// Best first, ties by name: the order every ranked list of speakers is given in.
void sort_best_first(std::vector<SpeakerScore>& scores);

// Throws Error(kInvalidArgument) for a NaN threshold, which would reject everything unnoticed.
void check_threshold(double threshold);

// The open-set decision over every candidate's score. Throws as check_threshold().
Identification decide(std::vector<SpeakerScore> scores, double threshold, std::size_t top_n);

}  // namespace spkid::scoring_detail
