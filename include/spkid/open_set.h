// The open-set decision of one store, calibrated on its own enrolled speakers. A stranger in a
// household is recorded like the people enrolled there (same room, microphone, language), so
// pretraining speakers say little about how high a stranger scores. The enrolled speakers do:
// each one is a stranger to every other. Windows of each speaker's enrollment speech, as long as
// the clips identified, are scored against every *other* speaker, as a stranger's clip would be
// (their own centroid out of the score normalisation's store cohort), and the best of those
// scores is what the answer to such a stranger scores in this home. The threshold is the score
// that this share of those best scores reaches:
//
//   measured threshold = the (1 - target) quantile of the strangers' best scores, each speaker
//                        held out weighing the same
//   threshold = w * measured + (1 - w) * prior,   w = (N - 1) / (N - 1 + prior_weight_speakers)
//
// An empirical quantile rather than a normal model of impostor scores: the best of N scores is
// decided by the few voices nearest a stranger, which no mean and spread describe (measured on
// the dev stores: a normal model of window scores put the threshold 1-2 points too high with 25
// speakers and too low with 3). With few speakers the threshold leans on a conservative prior
// the model carries; with one speaker the prior alone decides. Plain vectors: no network here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "spkid/scoring.h"

namespace spkid {

// Mean and spread of a set of impostor scores, as reported.
struct ImpostorStatistics {
  double mean = 0;
  double stddev = 1;
};

// One enrollment clip of a speaker in the scoring model's space: its embedding (part of the
// speaker's centroid) and the embeddings of windows cut from it, as long as the clips that will
// be identified (3 s).
struct CalibrationClip {
  int64_t id = 0;
  std::vector<float> embedding;
  std::vector<std::vector<float>> windows;
};
using CalibrationClips = std::map<std::string, std::vector<CalibrationClip>>;

struct OpenSetOptions {
  // The share of held-out strangers' windows the measured threshold accepts as some enrolled
  // speaker.
  double target_false_accept_rate = 0.02;
  // Below this many enrolled speakers the store is "not calibrated": the measurement is still
  // used, weighed against the prior, and train and list say so.
  int min_speakers = 3;
  // How many speakers' worth of evidence the prior counts as, against the N - 1 strangers a
  // store of N speakers can hold out for each of its speakers.
  double prior_weight_speakers = 4;
  // A conservative threshold for stores too small to measure (the model's, see
  // kOpenSetPriorThresholdName); used alone with one enrolled speaker.
  double prior_threshold = 5.5;

  void validate() const;  // throws Error(kInvalidArgument) naming the bad field
};

// How well this store's voices can be told apart, measured by holding each speaker out in turn
// as a stranger to the others.
// Count, sum and sum of squares of a set of scores.
struct ScoreMoments {
  double count = 0;
  double sum = 0;
  double sum_squares = 0;
};

struct OpenSetCalibration {
  double threshold = 0;  // on the store's scores: prior and measurement combined
  // The (1 - target) quantile of the strangers' best scores alone; NaN below two speakers.
  double measured_threshold = 0;
  ImpostorStatistics measured;  // over all impostor trials (window against another speaker)
  int num_speakers = 0;
  bool calibrated = false;          // num_speakers >= min_speakers
  std::size_t impostor_trials = 0;  // windows scored against another speaker
  std::size_t genuine_trials = 0;   // windows scored against their own speaker, clip held out
  // At the threshold: the share of held-out strangers' windows accepted as one of the other
  // speakers (each speaker weighing the same), and the share of windows accepted against their
  // own speaker (their clip left out of the centroid). NaN when there were no such trials.
  double heldout_false_accept_rate = 0;
  double heldout_genuine_accept_rate = 0;
  // best_stranger_scores[j]: for each window of speaker j, its best score against the other
  // speakers, from which the measured threshold follows.
  std::map<std::string, std::vector<double>> best_stranger_scores;
};

// The summary figures of a calibration (no per-speaker statistics) as a JSON object, and back:
// what a store keeps so that `spkid list` can report them without a model. from_json throws
// Error(kInvalidArgument) for text that is not such an object.
std::string open_set_summary_json(const OpenSetCalibration& calibration);
OpenSetCalibration open_set_summary_from_json(const std::string& json);

// `gallery` holds every speaker of `clips` with the centroid of their clip embeddings (and the
// normalisation scores are made with). Throws Error(kInvalidArgument) for bad options, a
// speaker of `clips` missing from the gallery, or embeddings that do not fit it.
OpenSetCalibration calibrate_open_set(const SpeakerGallery& gallery, const CalibrationClips& clips,
                                      const OpenSetOptions& options);

// The prior alone, for a gallery whose speakers have no windows to calibrate with.
OpenSetCalibration prior_open_set(int num_speakers, const OpenSetOptions& options);

}  // namespace spkid
