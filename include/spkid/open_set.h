// The open-set decision of one store, calibrated on its own enrolled speakers. A stranger in a
// household is recorded like the people enrolled there (same room, microphone, language), so
// pretraining speakers say little about how high a stranger scores. The enrolled speakers do:
// each one is a stranger to every other. Held-out windows of each speaker's enrollment speech,
// scored against every *other* speaker, give each speaker's impostor statistics in this home;
// a speaker's score is then normalised by them (z-norm with an in-domain cohort):
//
//   normalised score = (score - impostor_mean[speaker]) / impostor_stddev[speaker]
//
// and one threshold, set from the number of enrolled speakers and the false-accept target, means
// the same in every store. With few speakers the statistics lean on a conservative prior that
// the model carries (measured on strangers recorded like the enrolled speakers); with one
// speaker the prior alone decides. Plain vectors and scores: no network here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "spkid/scoring.h"

namespace spkid {

// Scores of impostor trials against one speaker, summarised as a normal distribution.
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
  // The share of a stranger's clips that may be accepted as some enrolled speaker: the
  // threshold is where the estimated chance of any one of N speakers accepting is this.
  double target_false_accept_rate = 0.02;
  // Below this many enrolled speakers the store is "not calibrated": the statistics are still
  // used, shrunk towards the prior, and train and list say so.
  int min_speakers = 3;
  // How many speakers' worth of evidence the prior counts as, against the store's speakers.
  double prior_weight_speakers = 4;
  // Conservative impostor statistics of strangers recorded like the enrolled speakers (the
  // model's, see kImpostorPriorMeanName); used alone with one enrolled speaker.
  ImpostorStatistics prior{3.0, 1.0};
  double min_stddev = 0.1;  // a floor, so a speaker nobody resembles does not get a razor edge

  void validate() const;  // throws Error(kInvalidArgument) naming the bad field
};

// How well this store's voices can be told apart, measured by holding each speaker out in turn
// as a stranger to the others.
struct OpenSetCalibration {
  std::map<std::string, ImpostorStatistics> speakers;  // by name, shrunk as described above
  ImpostorStatistics pooled;    // over all speakers, shrunk towards the prior
  ImpostorStatistics measured;  // over all impostor trials, as measured (no prior)
  double threshold = 0;         // on the normalised score
  int num_speakers = 0;
  bool calibrated = false;          // num_speakers >= min_speakers
  std::size_t impostor_trials = 0;  // windows scored against another speaker
  std::size_t genuine_trials = 0;   // windows scored against their own speaker, clip held out
  // Held-out estimates at the threshold: the share of a held-out speaker's windows accepted as
  // one of the others (each speaker held out in turn, the others' statistics recomputed
  // without them), and the share of windows accepted against their own speaker (their clip
  // left out of the centroid). NaN when there were no such trials.
  double heldout_false_accept_rate = 0;
  double heldout_genuine_accept_rate = 0;
};

// The summary figures of a calibration (no per-speaker statistics) as a JSON object, and back:
// what a store keeps so that `spkid list` can report them without a model. from_json throws
// Error(kInvalidArgument) for text that is not such an object.
std::string open_set_summary_json(const OpenSetCalibration& calibration);
OpenSetCalibration open_set_summary_from_json(const std::string& json);

// The threshold on normalised scores for `num_speakers` speakers: the chance that the best of
// that many independent normal impostor scores reaches it is `target_false_accept_rate`.
double open_set_threshold(int num_speakers, double target_false_accept_rate);

// `gallery` holds every speaker of `clips` with the centroid of their clip embeddings (and the
// normalisation scores are made with). Throws Error(kInvalidArgument) for bad options, a
// speaker of `clips` missing from the gallery, or embeddings that do not fit it.
OpenSetCalibration calibrate_open_set(const SpeakerGallery& gallery, const CalibrationClips& clips,
                                      const OpenSetOptions& options);

// The prior alone, for a gallery whose speakers have no windows to calibrate with.
OpenSetCalibration prior_open_set(const std::vector<std::string>& speakers,
                                  const OpenSetOptions& options);

// `score` of `speaker` normalised by their impostor statistics. Throws
// Error(kInvalidArgument) for a speaker the calibration does not know.
double normalized_score(const OpenSetCalibration& calibration, const std::string& speaker,
                        double score);

}  // namespace spkid
