// The dev protocol on unseen speakers: enroll the start of each speaker's speech (centroid of
// clip embeddings), identify the rest in short clips by cosine similarity.
#include <algorithm>
#include <cmath>

#include "spkid/chunk.h"
#include "spkid/error.h"
#include "spkid/pretrain.h"

namespace spkid {
namespace {

// Below any cosine: a genuine clip given the wrong name is a miss at every threshold.
constexpr double kMisnamedScore = -2;
constexpr size_t kEmbedBatch = 64;  // clips per forward pass, bounding memory

std::vector<std::vector<float>> embed_clips(const SpeakerModel& model,
                                            const FeatureExtractor& extractor,
                                            const std::vector<std::vector<float>>& clips) {
  std::vector<std::vector<float>> embeddings;
  for (size_t begin = 0; begin < clips.size(); begin += kEmbedBatch) {
    std::vector<FeatureMatrix> features;
    for (size_t i = begin; i < std::min(clips.size(), begin + kEmbedBatch); ++i) {
      features.push_back(extractor.compute(clips[i]));
    }
    for (auto& e : model.embed_batch(features)) embeddings.push_back(std::move(e));
  }
  return embeddings;
}

std::vector<float> centroid(const std::vector<std::vector<float>>& embeddings) {
  std::vector<float> sum(embeddings.front().size(), 0.0f);
  for (const auto& e : embeddings) {
    for (size_t i = 0; i < e.size(); ++i) sum[i] += e[i];
  }
  double norm = 0;
  for (const float v : sum) norm += double(v) * v;
  const auto scale = static_cast<float>(1 / std::sqrt(std::max(norm, 1e-20)));
  for (auto& v : sum) v *= scale;
  return sum;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0;
  for (size_t i = 0; i < a.size(); ++i) dot += double(a[i]) * b[i];
  return dot;
}

}  // namespace

UnseenSpeakerResult evaluate_unseen_speakers(const SpeakerModel& model,
                                             const std::vector<SpeakerSpeech>& speakers,
                                             const std::vector<SpeakerSpeech>& impostors,
                                             const UnseenSpeakerOptions& options) {
  if (speakers.size() < 2) {
    throw Error(ErrorCode::kInvalidArgument, "identification needs at least two speakers");
  }
  const FeatureExtractor extractor(model.feature_options());
  const int rate = model.feature_options().sample_rate_hz;
  const auto enroll_samples = static_cast<size_t>(std::lround(options.enroll_seconds * rate));
  ChunkOptions enroll_chunks;
  enroll_chunks.clip_seconds = options.enroll_clip_seconds;
  ChunkOptions test_chunks;
  test_chunks.clip_seconds = options.test_clip_seconds;
  test_chunks.min_clip_seconds = std::min(test_chunks.min_clip_seconds, options.test_clip_seconds);

  std::vector<std::string> names;
  std::vector<std::vector<float>> centroids;
  std::vector<std::vector<std::vector<float>>> tests;  // per speaker: test clip embeddings
  for (const auto& speaker : speakers) {
    const auto& speech = speaker.speech;
    const std::vector<float> enroll(speech.begin(),
                                    speech.begin() + std::min(enroll_samples, speech.size()));
    const std::vector<float> rest(speech.begin() + long(enroll.size()), speech.end());
    const auto enroll_clips = cut_clips(enroll, rate, enroll_chunks);
    const auto test_clips = cut_clips(rest, rate, test_chunks);
    if (enroll_clips.empty() || test_clips.empty()) {
      throw Error(ErrorCode::kNoSpeech,
                  "speaker " + speaker.name + " has too little speech for " +
                      std::to_string(options.enroll_seconds) +
                      " s of enrollment plus a test clip: give more audio or drop the speaker");
    }
    names.push_back(speaker.name);
    centroids.push_back(centroid(embed_clips(model, extractor, enroll_clips)));
    tests.push_back(embed_clips(model, extractor, test_clips));
  }

  UnseenSpeakerResult result;
  result.confusion = ConfusionMatrix(names);
  std::vector<double> targets, nontargets, open_targets, open_nontargets;
  for (size_t s = 0; s < tests.size(); ++s) {
    for (const auto& embedding : tests[s]) {
      size_t best = 0;
      std::vector<double> scores;
      for (size_t c = 0; c < centroids.size(); ++c) {
        scores.push_back(cosine(embedding, centroids[c]));
        if (scores[c] > scores[best]) best = c;
        (c == s ? targets : nontargets).push_back(scores[c]);
      }
      result.confusion.add(s, best);
      open_targets.push_back(best == s ? scores[best] : kMisnamedScore);
      ++result.test_clips;
    }
  }
  for (const auto& impostor : impostors) {
    for (const auto& embedding :
         embed_clips(model, extractor, cut_clips(impostor.speech, rate, test_chunks))) {
      double best = kMisnamedScore;
      for (const auto& c : centroids) {
        const double score = cosine(embedding, c);
        nontargets.push_back(score);
        best = std::max(best, score);
      }
      open_nontargets.push_back(best);
      ++result.impostor_clips;
    }
  }
  result.top1_accuracy = result.confusion.accuracy();
  result.eer = equal_error_rate(targets, nontargets);
  result.min_dcf = min_detection_cost(targets, nontargets);
  if (!open_nontargets.empty()) {
    result.open_set_eer = equal_error_rate(open_targets, open_nontargets);
  }
  return result;
}

}  // namespace spkid
