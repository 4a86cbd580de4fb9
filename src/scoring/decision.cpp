// Open-set decisions: ranking candidates' scores, and the classifier's posteriors over a file.
#include <algorithm>
#include <cmath>

#include "embedding_math.h"
#include "spkid/error.h"
#include "spkid/speaker_name.h"

namespace spkid {
namespace {

// Softmax outputs in float sum to 1 far more closely; logits or scores miss it by far more.
constexpr double kPosteriorSumTolerance = 1e-3;

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, message);
}

}  // namespace

namespace scoring_detail {

void sort_best_first(std::vector<SpeakerScore>& scores) {
  std::sort(scores.begin(), scores.end(), [](const SpeakerScore& a, const SpeakerScore& b) {
    return a.score != b.score ? a.score > b.score : a.speaker < b.speaker;
  });
}

void check_threshold(double threshold) {
  if (std::isnan(threshold)) invalid("the decision threshold is not a number: give a number");
}

Identification decide(std::vector<SpeakerScore> scores, double threshold, std::size_t top_n) {
  check_threshold(threshold);
  if (scores.empty()) invalid("there are no speakers to choose from: enroll speakers first");
  sort_best_first(scores);
  Identification identification;
  identification.score = scores.front().score;
  identification.threshold = threshold;
  identification.known = identification.score >= threshold;
  identification.speaker = identification.known ? scores.front().speaker : kUnknownSpeaker;
  if (scores.size() > top_n) scores.resize(top_n);
  identification.top = std::move(scores);
  return identification;
}

}  // namespace scoring_detail

std::vector<double> combine_posteriors(const std::vector<std::vector<float>>& chunk_posteriors) {
  if (chunk_posteriors.empty()) invalid("no chunk posteriors to combine: give at least one chunk");
  const std::size_t num_classes = chunk_posteriors.front().size();
  std::vector<double> mean(num_classes, 0.0);
  for (const auto& chunk : chunk_posteriors) {
    if (chunk.size() != num_classes) {
      invalid("chunks have posteriors over " + std::to_string(chunk.size()) + " and " +
              std::to_string(num_classes) + " classes: combine the outputs of one model");
    }
    double sum = 0;
    for (const float p : chunk) {
      if (!(p >= 0 && std::isfinite(p))) {
        invalid("a posterior is negative or not finite: pass the model's softmax outputs");
      }
      sum += p;
    }
    if (std::abs(sum - 1) > kPosteriorSumTolerance) {
      invalid("a chunk's posteriors sum to " + std::to_string(sum) +
              ", not 1: pass the model's softmax outputs, not logits");
    }
    for (std::size_t c = 0; c < num_classes; ++c) mean[c] += chunk[c];
  }
  for (double& p : mean) p /= double(chunk_posteriors.size());
  return mean;
}

Identification identify_from_posteriors(const std::vector<std::vector<float>>& chunk_posteriors,
                                        const std::vector<std::string>& labels, double threshold,
                                        std::size_t top_n) {
  const std::vector<double> combined = combine_posteriors(chunk_posteriors);
  if (combined.size() != labels.size()) {
    invalid("posteriors over " + std::to_string(combined.size()) + " classes do not match " +
            std::to_string(labels.size()) + " labels: use the labels of the model that made them");
  }
  std::vector<SpeakerScore> scores;
  scores.reserve(labels.size());
  for (std::size_t c = 0; c < labels.size(); ++c) scores.push_back({labels[c], combined[c]});
  return scoring_detail::decide(std::move(scores), threshold, top_n);
}

}  // namespace spkid
