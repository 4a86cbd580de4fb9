// spkid inside an application: one object that keeps a store's speaker model loaded and answers
// from samples in memory, for a process that runs for hours (a smart speaker, a service) rather
// than a command per file. The answers are the command line's: the same store, model, open-set
// threshold and Identification as `spkid identify --json`.
//
//   spkid::Engine engine = spkid::Engine::open(store_dir);
//   engine.enroll("alice", {samples.data(), samples.size(), 48000});
//   const spkid::Identification who = engine.identify({clip.data(), clip.size(), 16000});
//   if (who.known) greet(who.speaker);
//
// Threads: identify(), verify(), speakers(), threshold() and open_set() may be called from any
// number of threads at once, also while another thread enrolls, removes or renames. Those three
// change the store and take turns; a change is seen by the calls that start after it returns
// (the ones already running finish with the speakers they started with).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "spkid/enroll.h"
#include "spkid/open_set.h"
#include "spkid/recognizer.h"
#include "spkid/scoring.h"
#include "spkid/store.h"

namespace spkid {

// Samples in memory: `frames` frames of `channels` interleaved values at `sample_rate_hz`, full
// scale 1.0. Any rate and channel count: the engine mixes them to mono and resamples them to the
// model's rate.
struct Samples {
  const float* data = nullptr;
  std::size_t frames = 0;
  int sample_rate_hz = 16000;
  int channels = 1;
};

struct EngineOptions {
  EnrollmentOptions enrollment;  // its features count only for a store's first enrollment
  RecognitionOptions recognition;
  // Accept scores from this one instead of the store's calibrated threshold (open_set()).
  std::optional<double> threshold;

  void validate() const;  // throws Error(kInvalidArgument) naming the bad field
};

class Engine {
 public:
  // The store in `store_dir`, made (folder 0700) when missing, with the store's current model
  // (the shipped base model, base_model_path(), for a new store) loaded. Throws Error(kStore)
  // when the store cannot be opened for writing, Error(kModel) when its model cannot be read.
  static Engine open(const std::string& store_dir, const EngineOptions& options = {});

  const std::string& store_dir() const;
  std::vector<std::string> speakers() const;  // by name
  // What identify() and verify() accept: EngineOptions::threshold, else the store's calibrated
  // one (open_set()), which moves as speakers come and go.
  double threshold() const;
  // How well the enrolled voices are told apart, as `spkid list` reports it; the prior alone
  // (OpenSetCalibration::calibrated false) with nobody or too few enrolled.
  OpenSetCalibration open_set() const;

  // Adds `samples` to `name`'s enrollment (creating the speaker), as `spkid enroll` adds a
  // recording: cut into 6 s clips of speech, stored with their embeddings, a speaker needing
  // EnrollmentQualityOptions::min_speaker_speech_seconds in all. `source` names the recording in
  // messages and in the store. Returns the speaker's totals and any quality warnings. Throws
  // Error for what stops the recording (an invalid or look-alike name, too little speech,
  // samples that are not usable: the same messages as `spkid enroll`); nothing is stored then.
  SpeakerEnrollment enroll(const std::string& name, const Samples& samples,
                           const std::string& source = "<samples>");
  // The same for a file any format libsndfile reads ("-": standard input).
  SpeakerEnrollment enroll_file(const std::string& name, const std::string& path);
  // Removes a speaker, their audio and any model trained with them (Store::remove_speaker()).
  // Throws Error(kInvalidArgument) for a name nobody has.
  SpeakerSummary remove(const std::string& name);
  // Returns the name as stored (NFC). Throws Error as Store::rename_speaker().
  std::string rename(const std::string& old_name, const std::string& new_name);

  // Who speaks: the best-scoring enrolled speaker, or kUnknownSpeaker below threshold(), with
  // the top_n best. Throws Error(kStore) when nobody is enrolled, Error(kNoSpeech) for too
  // little speech, and as audio_from_samples() for unusable samples.
  Identification identify(const Samples& samples, std::size_t top_n = 1) const;
  Identification identify_file(const std::string& path, std::size_t top_n = 1) const;
  // Whether `speaker` speaks. Throws as identify(), and Error(kInvalidArgument) for a speaker
  // who is not enrolled.
  Verification verify(const std::string& speaker, const Samples& samples) const;

  ~Engine();
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace spkid
