// The enrolled speakers' centroids, and scores of queries against them.
#include "embedding_math.h"
#include "spkid/error.h"
#include "spkid/speaker_name.h"

namespace spkid {
namespace {

[[noreturn]] void not_enrolled(const std::string& speaker) {
  throw Error(ErrorCode::kInvalidArgument, "no speaker " + quote_speaker_name(speaker) +
                                               " is enrolled: check the name, or enroll them");
}

}  // namespace

SpeakerGallery::SpeakerGallery(AsNorm normalization)
    : normalization_(std::move(normalization)), embedding_size_(normalization_->embedding_size()) {}

std::vector<std::string> SpeakerGallery::speakers() const {
  std::vector<std::string> names;
  names.reserve(speakers_.size());
  for (const auto& entry : speakers_) names.push_back(entry.first);
  return names;
}

const SpeakerGallery::Speaker& SpeakerGallery::find(const std::string& speaker) const {
  const auto it = speakers_.find(speaker);
  if (it == speakers_.end()) not_enrolled(speaker);
  return it->second;
}

std::size_t SpeakerGallery::num_embeddings(const std::string& speaker) const {
  return find(speaker).num_embeddings;
}

const std::vector<float>& SpeakerGallery::centroid(const std::string& speaker) const {
  return find(speaker).centroid;
}

void SpeakerGallery::add(const std::string& speaker,
                         const std::vector<std::vector<float>>& embeddings) {
  validate_speaker_name(speaker);
  if (embeddings.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "no embeddings given for " +
                                                 quote_speaker_name(speaker) +
                                                 ": give at least one clip's embedding");
  }
  // Built aside and swapped in, so a bad embedding leaves the gallery as it was.
  const auto existing = speakers_.find(speaker);
  Speaker updated = existing != speakers_.end() ? existing->second : Speaker{};
  if (updated.direction_sum.empty()) {
    updated.direction_sum.assign(static_cast<std::size_t>(embedding_size_), 0.0);
  }
  scoring_detail::add_directions(embeddings, updated.direction_sum);
  updated.num_embeddings += embeddings.size();
  updated.centroid = scoring_detail::mean_direction(updated.direction_sum, updated.num_embeddings);
  if (normalization_) updated.cohort = normalization_->statistics(updated.centroid);
  embedding_size_ = static_cast<int>(updated.centroid.size());
  speakers_[speaker] = std::move(updated);
}

void SpeakerGallery::remove(const std::string& speaker) {
  if (speakers_.erase(speaker) == 0) not_enrolled(speaker);
}

void SpeakerGallery::rename(const std::string& old_name, const std::string& new_name) {
  const auto it = speakers_.find(old_name);
  if (it == speakers_.end()) not_enrolled(old_name);
  validate_speaker_name(new_name);
  if (new_name == old_name) return;
  if (contains(new_name)) {
    throw Error(ErrorCode::kInvalidArgument, "a speaker " + quote_speaker_name(new_name) +
                                                 " is already enrolled: choose another name");
  }
  auto node = speakers_.extract(it);
  node.key() = new_name;
  speakers_.insert(std::move(node));
}

SpeakerGallery::Query SpeakerGallery::prepare(const std::vector<float>& query) const {
  if (speakers_.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "no speakers are enrolled to score against: enroll speakers first");
  }
  scoring_detail::check_embedding_size(query.size(), static_cast<std::size_t>(embedding_size_));
  Query prepared{scoring_detail::unit_direction(query), {}};
  if (normalization_) prepared.cohort = normalization_->statistics(prepared.direction);
  return prepared;
}

double SpeakerGallery::score(const Speaker& speaker, const Query& query) const {
  const double cosine =
      scoring_detail::dot(speaker.centroid.data(), query.direction.data(), query.direction.size());
  return normalization_ ? AsNorm::normalize(cosine, speaker.cohort, query.cohort) : cosine;
}

std::vector<SpeakerScore> SpeakerGallery::scores(const std::vector<float>& query) const {
  const Query prepared = prepare(query);
  std::vector<SpeakerScore> all;
  all.reserve(speakers_.size());
  for (const auto& [name, speaker] : speakers_) all.push_back({name, score(speaker, prepared)});
  return all;
}

std::vector<SpeakerScore> SpeakerGallery::best_matches(const std::vector<float>& query,
                                                       std::size_t n) const {
  std::vector<SpeakerScore> ranked = scores(query);
  scoring_detail::sort_best_first(ranked);
  if (ranked.size() > n) ranked.resize(n);
  return ranked;
}

Identification SpeakerGallery::identify(const std::vector<float>& query, double threshold,
                                        std::size_t top_n) const {
  return scoring_detail::decide(scores(query), threshold, top_n);
}

Verification SpeakerGallery::verify(const std::string& speaker, const std::vector<float>& query,
                                    double threshold) const {
  scoring_detail::check_threshold(threshold);
  const Speaker& enrolled = find(speaker);
  Verification verification;
  verification.speaker = speaker;
  verification.score = score(enrolled, prepare(query));
  verification.threshold = threshold;
  verification.accepted = verification.score >= threshold;
  return verification;
}

}  // namespace spkid
