// Enrollment: recordings -> speech -> 6 s clips -> features (and, with a speaker model,
// embeddings), stored with the speech, with feedback on each recording's quality and on each
// speaker's progress toward the recommended amount of speech.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "spkid/audio.h"
#include "spkid/chunk.h"
#include "spkid/dataset.h"
#include "spkid/error.h"
#include "spkid/features.h"
#include "spkid/store.h"
#include "spkid/vad.h"

namespace spkid {

// What enrollment asks of the audio. The speaker minimum and the three "not speech" limits
// refuse; the rest are warnings.
struct EnrollmentQualityOptions {
  // A speaker's speech in total, counting what is already enrolled: less is refused.
  double min_speaker_speech_seconds = 8;
  // Enough for reliable identification: progress is reported toward it.
  double recommended_speech_seconds = 30;
  double clipping_level = 0.99;         // a sample this close to full scale is clipped
  double max_clipped_fraction = 0.001;  // of all samples
  double min_speech_level_dbfs = -40;   // mean power of the speech frames
  double min_snr_db = 15;               // speech frames' power over the noise's
  // Audio that is not a person talking (noise, a tone, a square wave) is refused: speech is
  // voiced (periodic at a pitch of 60-500 Hz) in a large share of its frames, stands above its
  // noise, and is not mostly clipped.
  double min_voiced_fraction = 0.1;  // of the speech frames; real speech: 0.22 or more
  double refuse_snr_db = 3;               // near 0 dB the "speech" is the noise itself
  double refuse_clipped_fraction = 0.05;  // of all samples

  void validate() const;  // throws Error(kInvalidArgument) naming the bad field
};

struct EnrollmentOptions {
  AudioOptions audio;
  VadOptions vad;
  ChunkOptions chunk;  // 6 s clips
  // Used for a store's first enrollment; a store keeps the features its first enrollment made.
  FeatureOptions features;
  EnrollmentQualityOptions quality;
  int jobs = 0;  // recordings analysed at once; 0: one per core

  void validate() const;  // throws Error(kInvalidArgument) naming the bad field
};

// The store's first enrollment fixes the feature settings and later ones follow them, so
// `requested` features count only when they are not the defaults. Throws
// Error(kInvalidArgument) when they are not the defaults and differ from the store's.
EnrollmentOptions options_for_store(const EnrollmentOptions& requested,
                                    const std::optional<FeatureOptions>& stored);

// Measurements of a recording's signal, over frames of VadOptions' length and shift.
struct SignalQuality {
  double speech_seconds = 0;
  double clipped_fraction = 0;   // of all samples, at or beyond clipping_level
  double speech_level_dbfs = 0;  // mean power of the frames the VAD calls speech
  double noise_level_dbfs = 0;   // typical power of the other frames (measure_signal_quality)
  double snr_db = 0;             // speech_level_dbfs - noise_level_dbfs
  double voiced_fraction = 0;    // of the speech, measure_voiced_fraction()
};

// The share of 40 ms frames (every 20 ms, the silent ones not counted) of `speech` whose
// normalised autocorrelation peaks above 0.6 at a lag of 2-16.7 ms (a pitch of 60-500 Hz):
// vowels of speech are, noise is not.
double measure_voiced_fraction(const std::vector<float>& speech, int sample_rate_hz);

// The noise level is the median power of the non-speech frames when they last at least half a
// second; otherwise (speech throughout, or noise loud enough for the VAD to take as speech) the
// mean power of the quietest tenth of all frames, as pauses between words hold the noise alone.
// Levels are floored at -120 dBFS.
SignalQuality measure_signal_quality(const std::vector<float>& samples, int sample_rate_hz,
                                     const VadResult& vad, const VadOptions& framing,
                                     double clipping_level);

enum class QualityIssue { kTooLittleSpeech, kClipping, kTooQuiet, kTooNoisy, kDifferentVoice };
// "too_little_speech", "clipping", "too_quiet", "too_noisy", "different_voice".
const char* quality_issue_name(QualityIssue issue) noexcept;

struct QualityWarning {
  QualityIssue issue;
  std::string message;  // what is wrong and what to do, one line
};

// The warnings a recording's signal deserves: less speech than one clip, clipping, too quiet,
// too noisy.
std::vector<QualityWarning> assess_signal_quality(const SignalQuality& quality,
                                                  const EnrollmentOptions& options);

// A recording made ready for the store.
struct AnalysedRecording {
  RecordingProvenance provenance;
  // What voice activity detection kept, at the features' sample rate: the clips were cut from it,
  // and training cuts its own crops from it.
  std::vector<float> speech;
  std::vector<FeatureMatrix> clip_features;
  SignalQuality quality;
  std::vector<QualityWarning> warnings;
};

// detect_speech -> keep_speech -> cut_clips -> features of each clip; SHA-256 of the samples.
// `extractor` must have options.features. Throws Error(kNoSpeech) when no clip of speech is found
// or the audio is not speech (EnrollmentQualityOptions' refusal limits).
AnalysedRecording analyse_recording(const Audio& audio, const std::string& source_path,
                                    const EnrollmentOptions& options,
                                    const FeatureExtractor& extractor);

// Where a speaker model joins enrollment (the model lives in spkid_model, with LibTorch): it
// embeds each new clip, and the embeddings tell whether a recording sounds like the speaker's
// earlier audio.
class ClipEmbedder {
 public:
  virtual ~ClipEmbedder() = default;
  // The store's id of the model (ModelRecord::id): embeddings are stored under it.
  virtual int64_t model_id() const = 0;
  // The features the model takes; they must be the store's.
  virtual const FeatureOptions& feature_options() const = 0;
  // Two voices whose embeddings' cosine is below this sound like different people.
  virtual double same_speaker_min_cosine() const = 0;
  // One embedding per clip, in order. Called from several threads at once.
  virtual std::vector<std::vector<float>> embed(const std::vector<FeatureMatrix>& clips) const = 0;
};

// The check a model adds: a different-voice warning when the cosine between the mean direction
// of `added` (one recording's clip embeddings) and of `earlier` (the speaker's other clips) is
// below `min_cosine`. No warning when either is empty.
std::optional<QualityWarning> check_same_voice(const std::string& speaker,
                                               const std::vector<std::vector<float>>& earlier,
                                               const std::vector<std::vector<float>>& added,
                                               double min_cosine);

enum class RecordingStatus {
  kEnrolled,         // stored
  kAlreadyEnrolled,  // the same audio was already enrolled for this speaker: nothing changed
  kFailed,           // nothing of this recording was stored; see error
};
const char* recording_status_name(RecordingStatus status) noexcept;  // "enrolled", ...

struct RecordingOutcome {
  LabelledRecording request;
  RecordingStatus status = RecordingStatus::kFailed;
  std::optional<Error> error;  // kFailed: why, in a message starting with the path or origin
  // Known once the recording was analysed:
  RecordingProvenance provenance;
  int num_clips = 0;
  SignalQuality quality;
  std::vector<QualityWarning> warnings;
  // Known once stored: the recording (or the earlier one with the same audio) and the other
  // speakers the same audio is enrolled under, probably a mistake.
  std::optional<int64_t> recording_id;
  std::vector<std::string> same_audio_speakers;
};

struct SpeakerEnrollment {
  std::string speaker;
  std::vector<RecordingOutcome> recordings;  // in request order
  bool new_speaker = false;                  // this batch created the speaker
  std::optional<SpeakerSummary> summary;     // totals afterwards; none when not in the store
};

struct EnrollmentHooks {
  const ClipEmbedder* embedder = nullptr;  // with a model: embed the clips, check the voice
  // After each recording is analysed (or failed): how many of the total are done.
  std::function<void(std::size_t done, std::size_t total)> on_progress;
  // Each speaker once all their recordings are stored, in the order speakers first appear.
  std::function<void(const SpeakerEnrollment&)> on_speaker;
};

// Enrolls a batch: recordings are analysed on options.jobs workers; once all of a speaker's are,
// they are checked together (a speaker below min_speaker_speech_seconds, counting what is
// already enrolled, is refused) and stored one transaction per recording, so an interrupted batch
// leaves whole recordings only. A recording that fails does not stop the others. Hooks are called
// from the workers, one at a time. Returns every speaker in order of first appearance.
// Throws Error for what stops the whole batch: bad options, "-" given twice, the store failing.
std::vector<SpeakerEnrollment> enroll_recordings(Store& store,
                                                 const std::vector<LabelledRecording>& recordings,
                                                 const EnrollmentOptions& options,
                                                 const EnrollmentHooks& hooks = {});

}  // namespace spkid
