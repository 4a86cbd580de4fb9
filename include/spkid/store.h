// The enrollment store: speakers, their recordings with provenance and speech, the clips'
// features and embeddings, and the speaker models, in one SQLite database `spkid.db` inside a
// private store folder (mode 0700, files 0600: voiceprints and voices are biometric data). Model
// files live beside the database, written atomically and referenced from it.
//
// Each Store object is one database connection: use it from one thread at a time; several
// threads or processes may each open their own Store on the same folder at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spkid/features.h"

namespace spkid {

// The database file inside a store folder.
inline constexpr const char* kStoreDatabaseName = "spkid.db";
// The newest schema this build reads and writes (kept in PRAGMA user_version). Older stores are
// migrated when opened; newer ones are refused untouched.
inline constexpr int kStoreSchemaVersion = 5;
// The setting under which identify and train keep the open-set summary for `spkid list`.
inline constexpr const char* kOpenSetSummaryKey = "open_set_summary";

// How long an operation waits for another process's write to finish before giving up.
inline constexpr int kStoreBusyTimeoutMs = 10000;

enum class StoreAccess {
  kRead,    // the store must exist (Error(kStore) otherwise); an older schema is still migrated
  kWrite,   // the store must exist, and may be changed (remove, rename, train)
  kCreate,  // like kWrite, but creates the folder (0700) and database (0600) when missing (enroll)
};

// Where a recording came from; the digest identifies the audio whatever its file name.
struct RecordingProvenance {
  std::string source_path;      // the file it was read from ("-" for standard input)
  std::string sha256;           // sha256_of_samples() of the decoded mono samples, 64 hex digits
  double duration_seconds = 0;  // of the decoded audio
  double speech_seconds = 0;    // kept by voice activity detection
};

// One recording's contribution to a speaker: the speech its clips were cut from, their
// features and, once a speaker model exists, their embeddings by that model.
struct Enrollment {
  std::string speaker;
  RecordingProvenance recording;
  // The samples voice activity detection kept, at feature_options.sample_rate_hz: as many as
  // recording.speech_seconds holds. Stored for training as int16 (x 32768, rounded, clamped).
  std::vector<float> speech;
  FeatureOptions feature_options;  // what clip_features were computed with
  std::vector<FeatureMatrix> clip_features;
  std::optional<int64_t> embedding_model_id;        // set together with clip_embeddings
  std::vector<std::vector<float>> clip_embeddings;  // one per clip, in order, or none
};

struct SpeakerSummary {
  int64_t id = 0;
  std::string name;
  std::string created_at;  // ISO 8601 UTC, e.g. "2024-05-01T12:00:00Z"
  int num_recordings = 0;
  int num_clips = 0;
  double audio_seconds = 0;
  double speech_seconds = 0;
  bool covered_by_current_model = false;  // the current model was made with this speaker
};

struct RecordingRecord {
  int64_t id = 0;
  RecordingProvenance provenance;
  std::string enrolled_at;  // ISO 8601 UTC
  int num_clips = 0;
};

struct SpeakerDetails {
  SpeakerSummary summary;
  std::vector<RecordingRecord> recordings;  // in enrollment order
};

struct EnrollmentResult {
  // false: this audio was already enrolled for this name, and nothing changed.
  bool added = false;
  bool new_speaker = false;       // the name was not in the store before
  RecordingRecord recording;      // the new recording, or the earlier one with the same audio
  std::vector<int64_t> clip_ids;  // of the new clips; empty when nothing was added
  // Other names the same audio is enrolled under: probably a mistake worth a warning.
  std::vector<std::string> same_audio_speakers;
  SpeakerSummary speaker;  // the speaker's totals after this call
};

struct StoredClip {
  int64_t id = 0;
  int64_t speaker_id = 0;
  std::string speaker;
  int64_t recording_id = 0;
  int clip_index = 0;  // order within its recording
  FeatureMatrix features;
};

// A recording's speech as enrollment stored it, for training on audio.
struct StoredSpeech {
  int64_t recording_id = 0;
  int64_t speaker_id = 0;
  std::string speaker;
  // false: the recording was enrolled by an spkid that kept no audio (store schema 2 or older);
  // samples is empty and sample_rate_hz 0. Enrolling the speaker again brings it back.
  bool has_audio = false;
  int sample_rate_hz = 0;
  // In [-1, 1), at int16 precision: a 16-bit mono file's speech at this rate comes back exact.
  std::vector<float> samples;
};

struct ClipQuery {
  std::string speaker;  // only this speaker's clips; empty: every speaker
  // Only the clips that have no embedding by this model yet.
  std::optional<int64_t> missing_embedding_for_model;
  // Only the clips that have no window embeddings by this model yet.
  std::optional<int64_t> missing_window_embeddings_for_model;
  // One page at a time: at most `limit` clips (0: all) whose ids come after `after_clip_id`, in
  // id order rather than by speaker. A caller reads a large store page by page, passing the
  // last id it got, so that only one page of features is in memory at once.
  std::size_t limit = 0;
  int64_t after_clip_id = 0;
};

struct ClipEmbedding {
  int64_t clip_id = 0;
  std::vector<float> embedding;
};

struct StoredEmbedding {
  int64_t clip_id = 0;
  int64_t speaker_id = 0;
  std::string speaker;
  std::vector<float> embedding;
};

// An embedding of one window of a clip (see Store::set_window_embeddings).
struct WindowEmbedding {
  int64_t clip_id = 0;
  int window_index = 0;
  std::vector<float> embedding;
};

struct StoredWindowEmbedding {
  int64_t clip_id = 0;
  std::string speaker;
  int window_index = 0;
  std::vector<float> embedding;
};

// A model to add to the store: its file's bytes are given to register_model().
struct NewModel {
  std::string kind;                  // what the file is, e.g. "cnn-classifier": [a-z0-9._-]
  FeatureOptions feature_options;    // the front end the model expects
  std::string metadata_json = "{}";  // a JSON object: labels, threshold, training figures...
  std::vector<int64_t> speaker_ids;  // the speakers it was made with (StoredClip::speaker_id)
  std::string file_extension = "bin";
  bool make_current = true;
};

struct ModelRecord {
  int64_t id = 0;
  std::string file_name;  // inside the store folder
  std::string path;       // store folder + file name
  std::string kind;
  std::string created_at;  // ISO 8601 UTC
  FeatureOptions feature_options;
  std::string metadata_json;
  bool is_current = false;
  std::string sha256;  // of the file as registered; empty for models registered before digests
};

class Store {
 public:
  // Opens the store in `dir`. Before anything is written, the database is checked read-only:
  // a file that is not an spkid store, is damaged, or comes from a newer spkid gives
  // Error(kStore) and is left exactly as it was. A store from an older spkid is migrated, one
  // transaction per schema step.
  static Store open(const std::string& dir, StoreAccess access);

  ~Store();
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;

  const std::string& dir() const;
  // Whether it was opened to be written (StoreAccess::kWrite or kCreate).
  bool writable() const;
  std::string database_path() const;

  // The feature options of every stored clip; nullopt until the first enrollment fixes them.
  std::optional<FeatureOptions> feature_options() const;
  // Free-form store-wide values other components keep (e.g. the open-set summary, under
  // kOpenSetSummaryKey); nullopt when unset. set_setting refuses the keys the store itself owns.
  std::optional<std::string> setting(const std::string& key) const;
  void set_setting(const std::string& key, const std::string& value);

  // Adds one recording and its clips to a speaker (created when new), all in one transaction.
  // Enrolling audio with the same digest again under the same name changes nothing (see
  // EnrollmentResult::added). Throws Error(kInvalidArgument) for a bad name, missing speech,
  // inconsistent clips, or feature options other than the store's.
  EnrollmentResult add_enrollment(const Enrollment& enrollment);

  // Every speaker, by name.
  std::vector<SpeakerSummary> list_speakers() const;
  // Throws Error(kInvalidArgument) when there is no speaker `name`.
  SpeakerDetails speaker_details(const std::string& name) const;
  // The same, or nullopt when there is no speaker `name`.
  std::optional<SpeakerDetails> find_speaker(const std::string& name) const;
  // Deletes the speaker with all their recordings (speech included), clips and embeddings, and
  // every model made with them (model files included; the current one too, which leaves the
  // store with no current model when it was one); the freed pages are zeroed. Returns what was
  // removed (covered_by_current_model: the current model was deleted). Throws
  // Error(kInvalidArgument) for an unknown name.
  SpeakerSummary remove_speaker(const std::string& name);
  // Throws Error(kInvalidArgument) for an unknown old name, a bad new name or one already taken.
  // Returns the new name as stored (canonical_speaker_name()).
  std::string rename_speaker(const std::string& old_name, const std::string& new_name);

  // Clips with their features, by speaker name, recording and clip order (for training and for
  // computing embeddings). Throws Error(kInvalidArgument) for an unknown speaker.
  std::vector<StoredClip> clips(const ClipQuery& query = {}) const;

  // Each recording's speech (only `speaker`'s when given), by speaker name, then enrollment
  // order: what training augments and crops. Throws Error(kInvalidArgument) for an unknown
  // speaker.
  std::vector<StoredSpeech> recording_speech(const std::string& speaker = "") const;

  // Stores (or replaces) embeddings by model `model_id` in one transaction; clips removed in the
  // meantime are skipped. Returns how many were stored.
  int set_embeddings(int64_t model_id, const std::vector<ClipEmbedding>& embeddings);
  // Every embedding by model `model_id`, in the order of clips().
  std::vector<StoredEmbedding> embeddings(int64_t model_id) const;
  // The same for embeddings of windows cut from the clips (for the open-set calibration):
  // stored or replaced in one transaction, skipping removed clips; read in the order of
  // clips(), then window.
  int set_window_embeddings(int64_t model_id, const std::vector<WindowEmbedding>& embeddings);
  std::vector<StoredWindowEmbedding> window_embeddings(int64_t model_id) const;

  // Writes the model file atomically into the store folder (mode 0600), then records it (and,
  // with make_current, makes it the current model and deletes every other model of its kind,
  // files included) in one transaction; if recording fails the file is removed again. Throws
  // Error(kInvalidArgument) when one of its speaker_ids has been removed: the model holds the
  // voice of someone no longer enrolled.
  ModelRecord register_model(const NewModel& model, std::string_view model_bytes);
  std::optional<ModelRecord> current_model() const;
  std::vector<ModelRecord> models() const;  // oldest first
  // Throws Error(kInvalidArgument) for an unknown id.
  void set_current_model(int64_t model_id);
  // Throws Error(kStore) when `model`'s file is a symbolic link or is not the file registered
  // (its SHA-256 differs: changed or replaced in the store folder), Error(kIo) when it cannot
  // be read. Models registered before digests were kept are only checked for links.
  void check_model_file(const ModelRecord& model) const;
  // Deletes a model's record, embeddings and file (a missing file is no error); the store has
  // no current model afterwards when it was the current one. Throws Error(kInvalidArgument) for
  // an unknown id.
  void remove_model(int64_t model_id);

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// SHA-256, as 64 lowercase hex digits, of samples as little-endian IEEE float32: identifies
// decoded audio whatever file or format it came in.
std::string sha256_of_samples(const float* samples, std::size_t count);
// SHA-256, as 64 lowercase hex digits, of any bytes.
std::string sha256_hex(const void* data, std::size_t bytes);
inline std::string sha256_of_samples(const std::vector<float>& samples) {
  return sha256_of_samples(samples.data(), samples.size());
}

}  // namespace spkid
