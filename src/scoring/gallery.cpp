// The enrolled speakers' centroids, and scores of queries against them.
#include <algorithm>
#include <functional>
#include <mutex>

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

struct SpeakerGallery::StoreCohortCache {
  std::mutex mutex;
  bool ready = false;
  std::map<std::string, CohortStatistics> statistics;  // each speaker's centroid, both cohorts
};

SpeakerGallery::SpeakerGallery(AsNorm normalization, bool store_cohort)
    : normalization_(std::move(normalization)),
      store_cohort_(store_cohort),
      embedding_size_(normalization_->embedding_size()) {
  changed();
}

void SpeakerGallery::changed() {
  // A new cache rather than a reset one: copies of the gallery keep theirs.
  if (store_cohort_) store_cache_ = std::make_shared<StoreCohortCache>();
}

CohortStatistics SpeakerGallery::centroid_statistics(const std::vector<float>& centroid,
                                                     const std::vector<double>& cohort_top,
                                                     const std::string& candidate) const {
  std::vector<double> others;
  others.reserve(speakers_.size());
  for (const auto& [name, other] : speakers_) {
    if (name == candidate) continue;
    others.push_back(scoring_detail::dot(centroid.data(), other.centroid.data(), centroid.size()));
  }
  std::sort(others.begin(), others.end(), std::greater<>());
  return AsNorm::top_statistics(cohort_top, others, normalization_->top_k());
}

const std::map<std::string, CohortStatistics>& SpeakerGallery::store_statistics() const {
  StoreCohortCache& cache = *store_cache_;
  const std::lock_guard<std::mutex> lock(cache.mutex);
  if (!cache.ready) {
    cache.statistics.clear();
    for (const auto& [name, speaker] : speakers_) {
      cache.statistics[name] = centroid_statistics(speaker.centroid, speaker.cohort_top, name);
    }
    cache.ready = true;
  }
  return cache.statistics;
}

CohortStatistics SpeakerGallery::query_statistics(const Query& query, const std::string& candidate,
                                                  const std::string& stranger) const {
  // Only the top_k highest count, so the walk down the sorted list stops there: each score
  // costs O(top_k), not O(speakers) (a leave-one-out calibration of 400 speakers took 8 s).
  const auto top_k = static_cast<std::size_t>(normalization_->top_k());
  std::vector<double> others;
  others.reserve(std::min(top_k, query.speakers_descending.size()));
  for (const auto& [cosine, name] : query.speakers_descending) {
    if (others.size() == top_k) break;
    if (*name != candidate && *name != stranger) others.push_back(cosine);
  }
  return AsNorm::top_statistics(query.cohort_top, others, normalization_->top_k());
}

std::vector<std::string> SpeakerGallery::speakers() const {
  std::vector<std::string> names;
  names.reserve(speakers_.size());
  for (const auto& entry : speakers_) names.push_back(entry.first);
  return names;
}

bool SpeakerGallery::contains(const std::string& speaker) const {
  return speakers_.count(canonical_speaker_name(speaker)) > 0;
}

const SpeakerGallery::Speaker& SpeakerGallery::find(const std::string& speaker) const {
  const auto it = speakers_.find(canonical_speaker_name(speaker));
  if (it == speakers_.end()) not_enrolled(speaker);
  return it->second;
}

std::size_t SpeakerGallery::num_embeddings(const std::string& speaker) const {
  return find(speaker).num_embeddings;
}

const std::vector<float>& SpeakerGallery::centroid(const std::string& speaker) const {
  return find(speaker).centroid;
}

void SpeakerGallery::add(const std::string& name,
                         const std::vector<std::vector<float>>& embeddings) {
  validate_speaker_name(name);
  const std::string speaker = canonical_speaker_name(name);
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
  if (store_cohort_) updated.cohort_top = normalization_->top_cosines(updated.centroid);
  embedding_size_ = static_cast<int>(updated.centroid.size());
  speakers_[speaker] = std::move(updated);
  changed();
}

void SpeakerGallery::remove(const std::string& speaker) {
  if (speakers_.erase(canonical_speaker_name(speaker)) == 0) not_enrolled(speaker);
  changed();
}

void SpeakerGallery::rename(const std::string& old_name, const std::string& name) {
  const auto it = speakers_.find(canonical_speaker_name(old_name));
  if (it == speakers_.end()) not_enrolled(old_name);
  validate_speaker_name(name);
  const std::string new_name = canonical_speaker_name(name);
  if (new_name == it->first) return;
  if (contains(new_name)) {
    throw Error(ErrorCode::kInvalidArgument, "a speaker " + quote_speaker_name(new_name) +
                                                 " is already enrolled: choose another name");
  }
  auto node = speakers_.extract(it);
  node.key() = new_name;
  speakers_.insert(std::move(node));
  changed();
}

SpeakerGallery::Query SpeakerGallery::prepare(const std::vector<float>& query) const {
  if (speakers_.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "no speakers are enrolled to score against: enroll speakers first");
  }
  scoring_detail::check_embedding_size(query.size(), static_cast<std::size_t>(embedding_size_));
  Query prepared{scoring_detail::unit_direction(query), {}, {}, {}};
  if (normalization_) prepared.cohort = normalization_->statistics(prepared.direction);
  if (store_cohort_) {
    prepared.cohort_top = normalization_->top_cosines(prepared.direction);
    for (const auto& [name, speaker] : speakers_) {
      prepared.speakers_descending.emplace_back(
          scoring_detail::dot(speaker.centroid.data(), prepared.direction.data(),
                              prepared.direction.size()),
          &name);
    }
    std::sort(prepared.speakers_descending.begin(), prepared.speakers_descending.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
  }
  return prepared;
}

double SpeakerGallery::score(const std::string& name, const Speaker& speaker, const Query& query,
                             const std::string& stranger) const {
  const double cosine =
      scoring_detail::dot(speaker.centroid.data(), query.direction.data(), query.direction.size());
  if (!normalization_) return cosine;
  if (!store_cohort_) return AsNorm::normalize(cosine, speaker.cohort, query.cohort);
  return AsNorm::normalize(cosine, store_statistics().at(name),
                           query_statistics(query, name, stranger));
}

std::vector<SpeakerScore> SpeakerGallery::scores(const std::vector<float>& query) const {
  return scores(query, std::string());
}

std::vector<SpeakerScore> SpeakerGallery::scores(const std::vector<float>& query,
                                                 const std::string& stranger) const {
  const Query prepared = prepare(query);
  std::vector<SpeakerScore> all;
  all.reserve(speakers_.size());
  for (const auto& [name, speaker] : speakers_) {
    all.push_back({name, score(name, speaker, prepared, stranger)});
  }
  return all;
}

double SpeakerGallery::score_as(const std::string& name, const std::vector<float>& centroid,
                                const std::vector<float>& query) const {
  const std::string speaker = canonical_speaker_name(name);
  find(speaker);
  const Query prepared = prepare(query);
  const std::vector<float> unit = scoring_detail::unit_direction(centroid);
  scoring_detail::check_embedding_size(unit.size(), prepared.direction.size());
  const double cosine = scoring_detail::dot(unit.data(), prepared.direction.data(), unit.size());
  if (!normalization_) return cosine;
  if (!store_cohort_) {
    return AsNorm::normalize(cosine, normalization_->statistics(unit), prepared.cohort);
  }
  return AsNorm::normalize(cosine,
                           centroid_statistics(unit, normalization_->top_cosines(unit), speaker),
                           query_statistics(prepared, speaker, ""));
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
  const std::string name = canonical_speaker_name(speaker);
  const Speaker& enrolled = find(name);
  Verification verification;
  verification.speaker = name;
  verification.score = score(name, enrolled, prepare(query), "");
  verification.threshold = threshold;
  verification.accepted = verification.score >= threshold;
  return verification;
}

}  // namespace spkid
