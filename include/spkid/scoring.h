// Speaker scoring on plain embedding vectors, independent of the network: the enrolled speakers'
// gallery (centroids, cosine scores, best matches, identify, verify), cohort score normalisation
// (AS-norm), the fine-tuned classifier's decision from posteriors, and threshold calibration.
//
// A decision accepts a score that is >= its threshold, as metrics.h counts accepts.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "spkid/metrics.h"

namespace spkid {

// Cosine of the angle between two embeddings. Throws Error(kInvalidArgument) when their sizes
// differ or either is empty, zero or not finite.
double cosine_similarity(const std::vector<float>& a, const std::vector<float>& b);

// The unit-length mean of unit-length copies of `embeddings`: a speaker's centroid from their
// clips, and one query embedding from the chunks of one file (each chunk counts the same whatever
// its length). Throws Error(kInvalidArgument) when the list is empty, the sizes differ, an
// embedding is zero or not finite, or the directions cancel out.
std::vector<float> mean_embedding(const std::vector<std::vector<float>>& embeddings);

// ---- Cohort score normalisation ---------------------------------------------------------------

// How many of the cohort's highest scores describe one side of a trial. Those are the impostors
// most like the speaker, the ones a threshold has to beat.
inline constexpr int kDefaultCohortTopK = 50;

// Mean and standard deviation of one embedding's top-K cosines with a cohort.
struct CohortStatistics {
  double mean = 0;
  double stddev = 1;
};

// Adaptive symmetric score normalisation (AS-norm). For a trial (enrolled centroid e, test
// embedding t) with cosine s:
//   score = ((s - mean_e) / stddev_e + (s - mean_t) / stddev_t) / 2
// where mean_x and stddev_x (population) are taken over the top_k highest cosines of x with the
// cohort: each side's scores are z-normalised against the impostors closest to it. The result is
// on another scale than cosines (0: as close as the closest impostors), so it needs its own
// threshold.
class AsNorm {
 public:
  // The rows of `cohort` are embeddings of speakers who are neither enrolled nor tested (e.g. the
  // pretraining speakers' centroids a model carries); each is used at unit length. A top_k above
  // the cohort's size uses the whole cohort. Throws Error(kInvalidArgument) for fewer than two
  // rows, rows of different sizes, a zero or non-finite row, or top_k < 2.
  explicit AsNorm(const std::vector<std::vector<float>>& cohort, int top_k = kDefaultCohortTopK);

  int embedding_size() const { return embedding_size_; }
  std::size_t cohort_size() const;
  int top_k() const { return top_k_; }  // as used: at most cohort_size()

  // Throws Error(kInvalidArgument) when the embedding does not fit the cohort (see
  // cosine_similarity()).
  CohortStatistics statistics(const std::vector<float>& embedding) const;
  // The top_k() highest cosines of a unit-length embedding with the cohort, highest first.
  std::vector<double> top_cosines(const std::vector<float>& unit) const;
  // Mean and spread (population) of the `top_k` highest of `descending` (highest first), merged
  // with `more_descending`: the statistics of a cohort widened by more rows. Needs one value.
  static CohortStatistics top_statistics(const std::vector<double>& descending,
                                         const std::vector<double>& more_descending, int top_k);
  static double normalize(double cosine, const CohortStatistics& enrolled,
                          const CohortStatistics& test);
  // normalize() of the pair's cosine with both sides' statistics.
  double score(const std::vector<float>& enrolled, const std::vector<float>& test) const;

 private:
  int embedding_size_ = 0;
  int top_k_ = 0;
  std::vector<float> cohort_;  // row-major cohort_size() x embedding_size_, unit rows
};

// ---- Decisions ---------------------------------------------------------------------------------

struct SpeakerScore {
  std::string speaker;
  double score = 0;
};

// Open-set identification: the best-scoring speaker, or kUnknownSpeaker (speaker_name.h) when
// even the best score is below the threshold.
struct Identification {
  std::string speaker;  // the best match when known, else kUnknownSpeaker
  bool known = false;
  double score = 0;  // the best match's score, also when unknown
  double threshold = 0;
  std::vector<SpeakerScore> top;  // best first (ties by name), at most the top_n asked for
};

struct Verification {
  std::string speaker;  // the claimed identity
  bool accepted = false;
  double score = 0;
  double threshold = 0;
};

// ---- Enrolled speakers -------------------------------------------------------------------------

// The enrolled speakers' embeddings and their centroids, for scoring a query against every
// speaker. Speakers are added without retraining anything. Const members may be called from
// several threads at once.
//
// Scores are cosines with each speaker's centroid, or, for a gallery made with an AsNorm, those
// cosines AS-normalised (each speaker's cohort statistics are kept up to date as clips are added).
// Thresholds must be calibrated on the same kind of score.
//
// With a store cohort, the other enrolled speakers' centroids join the AsNorm cohort on both sides
// of a trial, never the speaker scored against: the closest impostors are then voices recorded
// like the enrolled ones, in whatever room and on whatever line, where a pretraining cohort of
// other recordings would leave every in-domain voice far above it.
//
// A query is one unit-direction embedding; for a file cut into chunks, pass mean_embedding() of
// the chunks' embeddings (mean, then normalised).
class SpeakerGallery {
 public:
  SpeakerGallery() = default;  // raw cosine scores
  explicit SpeakerGallery(AsNorm normalization, bool store_cohort = false);

  const AsNorm* normalization() const { return normalization_ ? &*normalization_ : nullptr; }
  bool has_store_cohort() const { return store_cohort_; }
  // Fixed by the cohort or the first embedding added; 0 until then.
  int embedding_size() const { return embedding_size_; }
  std::size_t size() const { return speakers_.size(); }
  // Names are kept and looked up in canonical_speaker_name() form (NFC): "é" matches however
  // it was typed.
  bool contains(const std::string& speaker) const;
  std::vector<std::string> speakers() const;  // by name
  // Throws Error(kInvalidArgument) for a speaker not in the gallery.
  std::size_t num_embeddings(const std::string& speaker) const;
  const std::vector<float>& centroid(const std::string& speaker) const;

  // Adds clip embeddings to a speaker (created when new): the centroid becomes the
  // mean_embedding() of all the speaker's clips so far. Throws Error(kInvalidArgument) for an
  // invalid name (speaker_name.h), no embeddings, or embeddings that are not usable (see
  // mean_embedding()) or do not match embedding_size(); the gallery is then unchanged.
  void add(const std::string& speaker, const std::vector<std::vector<float>>& embeddings);
  // Throws Error(kInvalidArgument) for a speaker not in the gallery.
  void remove(const std::string& speaker);
  // Throws Error(kInvalidArgument) for an unknown old name, an invalid new name or one taken.
  void rename(const std::string& old_name, const std::string& new_name);

  // The query's score with every speaker, by name. Throws Error(kInvalidArgument) when the
  // gallery is empty or the query does not match embedding_size().
  std::vector<SpeakerScore> scores(const std::vector<float>& query) const;
  // As scores(), for a query known to come from `stranger`, an enrolled speaker scored as if not
  // enrolled: their centroid leaves the query's store cohort (a held-out speaker in calibration).
  std::vector<SpeakerScore> scores(const std::vector<float>& query,
                                   const std::string& stranger) const;
  // The query's score against `centroid` standing in for `speaker`'s own (for example their
  // centroid without one of their clips), normalised as `speaker`'s scores are.
  double score_as(const std::string& speaker, const std::vector<float>& centroid,
                  const std::vector<float>& query) const;
  // The n best-scoring speakers, best first (ties by name).
  std::vector<SpeakerScore> best_matches(const std::vector<float>& query, std::size_t n) const;
  // The best speaker if its score reaches `threshold`, with the top_n best as runners-up.
  Identification identify(const std::vector<float>& query, double threshold,
                          std::size_t top_n = 1) const;
  // Whether the query is `speaker`'s voice. Throws Error(kInvalidArgument) for a speaker not in
  // the gallery.
  Verification verify(const std::string& speaker, const std::vector<float>& query,
                      double threshold) const;

 private:
  struct Speaker {
    std::vector<double> direction_sum;  // of the clips' unit embeddings
    std::size_t num_embeddings = 0;
    std::vector<float> centroid;     // unit length
    CohortStatistics cohort;         // of the centroid, with a normalization
    std::vector<double> cohort_top;  // its top cosines with the AsNorm cohort, with a store cohort
  };
  struct Query {
    std::vector<float> direction;  // unit length
    CohortStatistics cohort;       // with a normalization
    // With a store cohort: the top cosines with the AsNorm cohort, and with every speaker.
    std::vector<double> cohort_top;
    std::vector<std::pair<double, const std::string*>> speakers_descending;
  };
  // Each speaker's statistics over the AsNorm cohort and the other speakers' centroids, computed
  // on first use after a change (guarded, so that const members stay safe from several threads).
  struct StoreCohortCache;
  const Speaker& find(const std::string& speaker) const;
  Query prepare(const std::vector<float>& query) const;
  double score(const std::string& name, const Speaker& speaker, const Query& query,
               const std::string& stranger) const;
  CohortStatistics query_statistics(const Query& query, const std::string& candidate,
                                    const std::string& stranger) const;
  const std::map<std::string, CohortStatistics>& store_statistics() const;
  CohortStatistics centroid_statistics(const std::vector<float>& centroid,
                                       const std::vector<double>& cohort_top,
                                       const std::string& candidate) const;
  void changed();

  std::optional<AsNorm> normalization_;
  bool store_cohort_ = false;
  int embedding_size_ = 0;
  std::map<std::string, Speaker> speakers_;
  std::shared_ptr<StoreCohortCache> store_cache_;
};

// ---- Classifier posteriors ---------------------------------------------------------------------

// The posteriors of a file from its chunks' posteriors: their mean. Not the mean of
// log-posteriors: a product of posteriors grows more confident with every chunk, so no single
// threshold would fit both short and long files, and one bad chunk (a cough, a door) could veto
// the true speaker with a near-zero factor. The mean stays a probability whatever the length.
// Throws Error(kInvalidArgument) when there are no chunks, sizes differ, or a chunk is not a
// probability distribution (negative, non-finite, or not summing to 1: logits given instead).
std::vector<double> combine_posteriors(const std::vector<std::vector<float>>& chunk_posteriors);

// Closed-set classifier decision, opened by a threshold on the combined posterior: the label with
// the highest combine_posteriors(), or kUnknownSpeaker when that is below `threshold`. Throws
// Error(kInvalidArgument) as combine_posteriors(), or when the posteriors do not have one value
// per label.
Identification identify_from_posteriors(const std::vector<std::vector<float>>& chunk_posteriors,
                                        const std::vector<std::string>& labels, double threshold,
                                        std::size_t top_n = 1);

// ---- Threshold calibration ---------------------------------------------------------------------

enum class ThresholdRule {
  // The lowest threshold whose false-accept rate is at most the target. `spkid train` uses this
  // with the default target: the open-set promise is a bound on false accepts.
  kFalseAcceptRate,
  // Where false accepts equal false rejects (equal_error_rate()): for reports and comparisons.
  kEqualErrorRate,
};

struct CalibrationOptions {
  ThresholdRule rule = ThresholdRule::kFalseAcceptRate;
  double target_false_accept_rate = 0.01;  // kFalseAcceptRate only, in (0, 1)

  void validate() const;  // throws Error(kInvalidArgument) naming the bad field
};

struct Calibration {
  double threshold = 0;
  ErrorRates rates;  // on the calibration scores, at the threshold
};

// A threshold from genuine (target) and impostor (non-target) trial scores. With the
// kFalseAcceptRate rule it lies halfway between the highest impostor score that must be rejected
// and the next higher score of either list, so the operating point is the same on these scores
// and has a margin on new ones; with fewer than 1 / target impostor scores this means above every
// impostor. Throws Error(kInvalidArgument) for bad options, an empty list or a non-finite score.
Calibration calibrate_threshold(const std::vector<double>& genuine_scores,
                                const std::vector<double>& impostor_scores,
                                const CalibrationOptions& options = {});

}  // namespace spkid
