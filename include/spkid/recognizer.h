// Who is speaking: identification and verification of audio against the enrolled speakers of a
// store, and `train`, which fine-tunes a classifier of those speakers. Both use the store's
// current speaker model; a store without one starts from the shipped base model.
//
// One scoring mechanism serves every case, with two roles for models: one *names* the speaker,
// one *scores* the answer. Before any train both are the base model; after train the fine-tuned
// classifier names and the base model it was made from scores.
//
// Naming: each enrolled speaker has a *speaker vector* in the naming model's embedding space:
// the fine-tuned classifier's row for the speakers it was trained on, the centroid of their
// enrollment clips' embeddings otherwise (before any train, and for speakers enrolled since). A
// file's speech is cut into chunks; each chunk's posteriors are the softmax of its scaled cosines
// with every speaker vector (for a trained model and no new speakers this is exactly the
// fine-tuned classifier's output), and the file's posteriors are their mean
// (combine_posteriors). The speaker with the highest posterior is the answer.
//
// Scoring: the answer is accepted when its *score* reaches the threshold. The score is the cosine
// of the file's mean embedding by the scoring model with the speaker's enrollment centroid in
// that model, AS-normalised against the model's cohort of pretraining speakers, so one threshold
// means the same for every speaker and every file length. The base model scores even after train
// because fine-tuning moves the embeddings away from the space its cohort describes: what makes
// a classifier name the enrolled speakers better makes its own scores tell strangers apart worse.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "spkid/audio.h"
#include "spkid/chunk.h"
#include "spkid/model.h"
#include "spkid/open_set.h"
#include "spkid/pretrain.h"
#include "spkid/scoring.h"
#include "spkid/store.h"
#include "spkid/vad.h"

namespace spkid {

// The model file kinds a store records (ModelRecord::kind).
inline constexpr const char* kBaseModelKind = "base";              // the shipped, pretrained one
inline constexpr const char* kClassifierModelKind = "classifier";  // made by train

// The open-set prior a base model carries (SpeakerModel::threshold): the threshold, on its scores,
// that stores too small to calibrate lean on (measured on the dev speakers, data/models/README.md).
// A model without one uses OpenSetOptions::prior_threshold.
inline constexpr const char* kOpenSetPriorThresholdName = "open_set_prior_threshold";

// The shipped base model: $SPKID_BASE_MODEL when set, else the installed copy
// (<prefix>/share/spkid/models/base.pt), else the source tree's data/models/base.pt. Throws
// Error(kModel) naming the places looked at when none exists.
std::string base_model_path();

// The store's current model. With none (a new store, or its classifier went with a removed
// speaker) the store's copy of the base model becomes current again, or the base model at
// `base_path` is copied into the store (kind kBaseModelKind) when it has no copy yet. A base
// model copy whose file has gone is copied again from the shipped base model. Throws
// Error(kModel) when the base model cannot be read or the current trained model's file has
// gone (the message says to train again), Error(kStore) when the store cannot record it.
ModelRecord ensure_current_model(Store& store, const std::string& base_path);

// The newest base model the store holds, which train fine-tunes from; the shipped one is
// registered first when the store has none (and made current when nothing else is), and
// copied again when the store's copy has gone.
ModelRecord store_base_model(Store& store);

// One model's embeddings of every enrolled speaker's clips (unit length), by speaker.
using EnrolledEmbeddings = std::map<std::string, std::vector<std::vector<float>>>;

// Every enrolled speaker's clip embeddings by `model` (the store's model `model_id`). Those the
// store lacks are computed and saved for next time (kept in memory only when the store cannot
// be written).
EnrolledEmbeddings enrolled_embeddings(Store& store, const SpeakerModel& model, int64_t model_id);

// The windows of one enrollment clip's features that calibrate the open-set decision:
// `window_seconds` long (the length identify cuts), every half window, the last ending with the
// clip; a shorter clip is one window, one too short for the network none.
std::vector<FeatureMatrix> calibration_windows(const FeatureMatrix& clip, const SpeakerModel& model,
                                               double window_seconds);

// Every enrolled clip's embedding and its windows' embeddings by `model` (calibration_windows of
// the stored features). Those the store lacks are computed and saved as enrolled_embeddings()
// does.
CalibrationClips calibration_clips(Store& store, const SpeakerModel& model, int64_t model_id,
                                   double window_seconds);

// The base model a classifier of the store was fine-tuned from (recorded by train). Throws
// Error(kModel) when the store no longer holds it ("train again").
ModelRecord classifier_base_model(const Store& store, const SpeakerModel& classifier);

// How a file to identify becomes chunks of speech.
struct RecognitionOptions {
  AudioOptions audio;
  VadOptions vad;
  // Chunks of the length the network was trained on; a shorter file is one chunk of all of its
  // speech when it lasts at least min_clip_seconds.
  ChunkOptions chunk = default_chunks();
  int cohort_top_k = kDefaultCohortTopK;
  // Pretraining speakers whose labels match this glob are left out of the cohort (evaluations
  // of a household with no look-alikes among them); empty: none.
  std::string cohort_exclude;
  // The other enrolled speakers join that cohort (SpeakerGallery's store cohort): scores are
  // then normalised against voices recorded like the enrolled ones.
  bool store_cohort = true;
  OpenSetOptions open_set;  // its prior is replaced by the scoring model's, when it has one

  static ChunkOptions default_chunks();  // 3 s chunks, at least 0.5 s of speech
  void validate() const;                 // throws Error(kInvalidArgument) naming the bad field
};

// A file's speech as the model sees it.
struct ChunkedSpeech {
  double speech_seconds = 0;
  std::vector<FeatureMatrix> chunks;
};

// A recording's speech embedded by a recognizer's models: what identify and verify need of it,
// under a kilobyte per chunk whatever the recording's length.
struct EmbeddedSpeech {
  double speech_seconds = 0;
  std::vector<std::vector<float>> naming;   // by the naming model; empty when only verifying
  std::vector<std::vector<float>> scoring;  // by the scoring model
  void append(EmbeddedSpeech&& more);       // the chunks of a later part of the recording
};

class Recognizer {
 public:
  // One model names and scores. `enrolled`: every speaker's clip embeddings by `model`. With
  // use_classifier_rows, the speakers named in `model.labels()` that are enrolled use the
  // model's classifier rows (the model must then be a trained classifier, kClassifierModelKind);
  // the others use their centroid. Throws Error(kInvalidArgument) when no speaker is enrolled or
  // the embeddings do not fit the model, Error(kModel) when the model has no cohort.
  Recognizer(SpeakerModel model, const EnrolledEmbeddings& enrolled, bool use_classifier_rows,
             const RecognitionOptions& options = {});
  // `namer` (a trained classifier, its rows standing for the speakers it was trained on) names,
  // `scorer` (the base model it was fine-tuned from) scores; `named` and `scored` are the same
  // speakers' clip embeddings by each. Throws as above, and Error(kInvalidArgument) when the two
  // do not list the same speakers, Error(kModel) when the models take different features or the
  // scorer has no cohort.
  Recognizer(SpeakerModel namer, const EnrolledEmbeddings& named, SpeakerModel scorer,
             const EnrolledEmbeddings& scored, const RecognitionOptions& options = {});

  // The store's current model (registering the base model first when there is none) and every
  // enrolled speaker; when the current model is a classifier, its base model scores. Clip
  // embeddings missing for either model are computed and, when the store was opened for
  // writing, saved for next time. Throws Error(kStore) when nobody is enrolled ("enroll speakers
  // first"), Error(kModel) as SpeakerModel::load and classifier_base_model.
  static Recognizer from_store(Store& store, const RecognitionOptions& options = {});

  const SpeakerModel& model() const;  // the naming model
  const RecognitionOptions& options() const;
  std::vector<std::string> speakers() const;  // by name
  // Those scored by the classifier's rows (the rest by their centroid).
  std::vector<std::string> classifier_speakers() const;
  // The threshold on normalised scores that open_set() set for this many speakers.
  double default_threshold() const;
  // The open-set decision: each speaker's impostor statistics, from the prior alone until
  // calibrate() is given the enrolled speakers' windows.
  const OpenSetCalibration& open_set() const;
  // Calibrates the open-set decision on the enrolled speakers' clips and windows by the scoring
  // model (open_set.h). Throws Error(kInvalidArgument) for speakers that are not enrolled.
  void calibrate(const CalibrationClips& scored_clips);

  // Decoded audio -> speech (VAD) -> chunks -> features. Throws Error(kNoSpeech) when there is
  // less speech than one chunk's min_clip_seconds ("too little speech: give at least ...").
  ChunkedSpeech chunk_speech(const Audio& audio) const;
  // The chunks' embeddings; `for_identify` false leaves out the naming model's (verify uses only
  // the scoring model's). Throws Error(kNoSpeech) for no chunks.
  EmbeddedSpeech embed(const ChunkedSpeech& speech, bool for_identify = true) const;
  // The recording at `path` ("-": standard input) decoded, chunked and embedded a segment of
  // kRecordingSegmentSeconds at a time (load_audio_segments), so an hour-long file is held a
  // minute at a time: a recording up to that long is chunked exactly as chunk_speech() chunks
  // it, a longer one has its voice activity found in each segment. Throws as load_audio(), and
  // Error(kNoSpeech) when the whole recording has too little speech.
  EmbeddedSpeech embed_recording(const std::string& path, bool for_identify = true) const;
  static constexpr double kRecordingSegmentSeconds = 60;

  // The speaker among the enrolled (or kUnknownSpeaker below `threshold`), with the top_n best
  // (the answer first, then by score). Scores of Identification are the scoring model's
  // AS-normalised scores normalised again by each speaker's impostor statistics (open_set()).
  Identification identify(const ChunkedSpeech& speech, double threshold,
                          std::size_t top_n = 1) const;
  Identification identify(const EmbeddedSpeech& speech, double threshold,
                          std::size_t top_n = 1) const;
  // Whether `speaker` speaks: their score against `threshold`. Throws Error(kInvalidArgument)
  // for a speaker who is not enrolled.
  Verification verify(const ChunkedSpeech& speech, const std::string& speaker,
                      double threshold) const;
  Verification verify(const EmbeddedSpeech& speech, const std::string& speaker,
                      double threshold) const;

  ~Recognizer();
  Recognizer(Recognizer&&) noexcept;
  Recognizer& operator=(Recognizer&&) noexcept;

 private:
  // chunk_speech() without the error: no chunks when there is too little speech.
  ChunkedSpeech chunk_any_speech(const Audio& audio) const;
  [[noreturn]] void throw_too_little_speech(double speech_seconds) const;

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- train ---------------------------------------------------------------------------------

struct SpeakerTrainingOptions {
  FineTuneOptions fine_tune;
};

struct SpeakerTrainingResult {
  ModelRecord model;  // the new current model
  std::vector<std::string> speakers;
  int epochs_done = 0;
  int best_epoch = 0;
  double val_accuracy = 0;  // held-out enrollment clips, best epoch
  // The store's open-set decision after train: the base model still scores, calibrated on the
  // enrolled speakers (open_set.h), so train changes the naming, not the threshold.
  OpenSetCalibration open_set;
  double seconds = 0;
};

// Fine-tunes a classifier of every enrolled speaker from the store's current model's base (the
// base model, or the base a classifier was made from) and registers it as the store's new
// current model, atomically: an
// interrupted or failed train leaves the previous model current. Throws Error(kStore) with
// fewer than two enrolled speakers or when a speaker's audio was enrolled by an spkid that kept
// no audio ("enroll again"), Error(kNoSpeech) when a speaker has too little audio.
SpeakerTrainingResult train_speakers(Store& store, const SpeakerTrainingOptions& options,
                                     const TrainingCallbacks& callbacks = {});

}  // namespace spkid
