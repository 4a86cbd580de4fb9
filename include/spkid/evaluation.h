// The evaluation protocol shared by `spkid eval` and pretraining's per-epoch dev check: enroll
// the start of each speaker's speech, identify the rest in short clips, and hold impostors (never
// enrolled) against the enrolled speakers. Clips are identified by a Recognizer, so the figures
// are what `spkid identify` answers on the same speech.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "spkid/features.h"
#include "spkid/metrics.h"
#include "spkid/scoring.h"

namespace spkid {

class Recognizer;
class SpeakerModel;
struct SpeakerSpeech;  // pretrain.h

struct EvaluationOptions {
  // The first this much of each speaker's speech (joined across files) is enrolled, cut into
  // clips of enroll_clip_seconds as `spkid enroll` cuts them.
  double enroll_seconds = 30;
  double enroll_clip_seconds = 6;
  // The rest is cut into test clips of exactly this length (a remainder of at least half a clip
  // becomes one more clip that ends with the speech).
  double test_clip_seconds = 3;

  void validate() const;  // throws Error(kInvalidArgument) naming the bad field
};

// One speaker's part in an evaluation, samples at EvaluationSet::sample_rate_hz.
struct EvaluationSpeaker {
  std::string name;
  std::vector<float> enrollment_speech;  // empty for an impostor
  std::vector<std::vector<float>> test_clips;
};

struct EvaluationSet {
  int sample_rate_hz = 0;
  std::vector<EvaluationSpeaker> enrolled;   // at least two, in the order given
  std::vector<EvaluationSpeaker> impostors;  // may be empty
  std::vector<std::string> skipped;          // a speaker left out and why, one line each
};

// Splits each speaker's speech (silences removed, at `sample_rate_hz`) into enrollment and test
// clips, and each impostor's into test clips. A speaker without enroll_seconds of speech plus one
// test clip, or an impostor without one test clip, is left out with the reason in `skipped`.
// Throws Error(kNoSpeech) when fewer than two speakers remain to enroll, Error(kInvalidArgument)
// for bad options or two speakers of the same name.
EvaluationSet make_evaluation_set(const std::vector<SpeakerSpeech>& speakers,
                                  const std::vector<SpeakerSpeech>& impostors, int sample_rate_hz,
                                  const EvaluationOptions& options = {});

// The features of a speaker's enrollment clips (clips of options.enroll_clip_seconds, as `spkid
// enroll` cuts a recording's speech). `extractor` runs at the speech's sample rate.
std::vector<FeatureMatrix> enrollment_clip_features(const std::vector<float>& enrollment_speech,
                                                    const FeatureExtractor& extractor,
                                                    const EvaluationOptions& options = {});

struct EvaluationResult {
  // Closed set: each enrolled speaker's test clips named by the recognizer's answer, whatever
  // its score. The labels are the enrolled speakers; per-speaker accuracy is class_accuracy().
  ConfusionMatrix confusion{{}};
  double top1_accuracy = 0;
  int64_t test_clips = 0;  // of enrolled speakers
  int64_t impostor_clips = 0;
  std::vector<std::string> impostors;  // the impostors' names
  std::vector<std::string> skipped;    // EvaluationSet::skipped
  // Verification trials: each test clip's score with every enrolled speaker (its own speaker's
  // is a target trial, the others' non-target) and each impostor clip's with every enrolled
  // speaker (non-target).
  EqualErrorRate eer;
  DetectionCost min_dcf;
  // Open set, measured only with impostors (zero without): a clip is accepted when its answer's
  // score reaches `threshold`; a genuine clip counts as accepted only when also named right, an
  // accepted impostor clip is a false accept. The EER and minimum cost are over the answers'
  // scores, a genuine clip named wrong being rejected at every threshold.
  double threshold = 0;
  ErrorRates open_set_rates;
  EqualErrorRate open_set_eer;
  DetectionCost open_set_min_dcf;
  // The answers' scores those figures come from: a threshold calibrated on them
  // (calibrate_threshold) accepts what they would accept.
  std::vector<double> open_set_genuine_scores;
  std::vector<double> open_set_impostor_scores;
  // Every test clip's answer: its speaker ("" for an impostor) and its normalised score with
  // every enrolled speaker, the answer first (Identification::top), to study other decisions.
  struct ClipAnswer {
    std::string truth;
    std::vector<SpeakerScore> scores;
  };
  std::vector<ClipAnswer> answers;

  bool has_open_set() const { return impostor_clips > 0; }
  // Every figure as one JSON object (confusion counts and per-speaker accuracy included).
  std::string to_json() const;
};

// Calls back after each clip is identified: how many of `total` are done.
using EvaluationProgress = std::function<void(std::size_t done, std::size_t total)>;

// Identifies every test clip of `set` with `recognizer`, whose enrolled speakers must be exactly
// set.enrolled's (Error(kInvalidArgument) otherwise). A clip is one piece of speech: it is cut
// into the recognizer's chunks without a second voice activity detection.
EvaluationResult evaluate_recognizer(const Recognizer& recognizer, const EvaluationSet& set,
                                     double threshold, const EvaluationProgress& progress = {});

// The protocol on a model in memory, as a store would use it right after enrollment (speakers
// scored by their centroids, AS-normalised; threshold: the model's default): pretraining's
// per-epoch check on speakers outside its corpus. Throws as make_evaluation_set(), and
// Error(kModel) when the model cannot recognise (no cohort).
EvaluationResult evaluate_unseen_speakers(const SpeakerModel& model,
                                          const std::vector<SpeakerSpeech>& speakers,
                                          const std::vector<SpeakerSpeech>& impostors,
                                          const EvaluationOptions& options = {});

}  // namespace spkid
