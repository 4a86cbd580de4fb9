// Who is speaking: identification and verification of audio against the enrolled speakers of a
// store, with the store's current speaker model (model_registry.h); a store without one starts
// from the shipped base model. `train` (train.h) fine-tunes a classifier of those speakers.
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
#include "spkid/scoring.h"
#include "spkid/store.h"
#include "spkid/store_embeddings.h"
#include "spkid/vad.h"

namespace spkid {

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

}  // namespace spkid
