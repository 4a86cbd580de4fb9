// The Store's speakers: enrollment, listing, renaming and removal, and the clips and speech
// they hold.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>

#include "spkid/error.h"
#include "spkid/speaker_name.h"
#include "spkid/store.h"
#include "store/disk_reserve.h"
#include "store/sqlite_db.h"
#include "store/store_internal.h"

namespace spkid {

using namespace store_detail;

namespace {

// Speech is kept as int16 with libsndfile's scale (sample / 32768), so the speech of a 16-bit
// recording that needed no resampling comes back exactly as it was decoded.
constexpr float kPcm16Scale = 32768.0f;
constexpr const char* kSpeakerSummarySelect = R"sql(
SELECT s.id, s.name, s.created_at, count(r.id), coalesce(sum(r.duration_s), 0),
       coalesce(sum(r.speech_s), 0),
       (SELECT count(*) FROM clips c JOIN recordings cr ON cr.id = c.recording_id
        WHERE cr.speaker_id = s.id),
       EXISTS (SELECT 1 FROM model_speakers ms JOIN models m ON m.id = ms.model_id
               WHERE ms.speaker_id = s.id AND m.is_current = 1)
FROM speakers s LEFT JOIN recordings r ON r.speaker_id = s.id
)sql";
constexpr const char* kRecordingSelect = R"sql(
SELECT r.id, r.source_path, r.sha256, r.duration_s, r.speech_s, r.enrolled_at,
       (SELECT count(*) FROM clips c WHERE c.recording_id = r.id)
FROM recordings r
)sql";

bool is_lower_hex(const std::string& text, std::size_t length) {
  return text.size() == length && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// The speech must be the recording's, at the features' rate: training cuts its crops from it.
void validate_speech(const Enrollment& enrollment) {
  const std::vector<float>& speech = enrollment.speech;
  if (speech.empty()) {
    invalid("a recording needs its speech samples (" + enrollment.recording.source_path +
            " has none): give the samples voice activity detection kept");
  }
  if (!all_finite(speech)) invalid("the recording's speech contains NaN or infinity");
  const int rate_hz = enrollment.feature_options.sample_rate_hz;
  const double speech_seconds = static_cast<double>(speech.size()) / rate_hz;
  // Half a sample of slack: speech_seconds is the kept sample count over the rate.
  if (std::abs(speech_seconds - enrollment.recording.speech_seconds) * rate_hz > 0.5) {
    const auto seconds = [](double value) {
      char text[32];
      std::snprintf(text, sizeof text, "%.3f s", value);
      return std::string(text);
    };
    invalid("the recording's speech lasts " + seconds(speech_seconds) + " at " +
            std::to_string(rate_hz) + " Hz, but its provenance says " +
            seconds(enrollment.recording.speech_seconds) +
            ": give the samples voice activity detection kept, at the features' sample rate");
  }
}

void validate_enrollment(const Enrollment& enrollment) {
  validate_speaker_name(enrollment.speaker);
  const RecordingProvenance& recording = enrollment.recording;
  if (recording.source_path.empty()) {
    invalid("the recording's source path is empty: give the file name, or \"-\" for stdin");
  }
  if (!is_lower_hex(recording.sha256, 64)) {
    invalid("the recording's digest '" + recording.sha256 +
            "' is not 64 lowercase hex digits: compute it with sha256_of_samples()");
  }
  if (!std::isfinite(recording.duration_seconds) || recording.duration_seconds <= 0) {
    invalid("the recording's duration must be a positive number of seconds");
  }
  if (!std::isfinite(recording.speech_seconds) || recording.speech_seconds < 0 ||
      recording.speech_seconds > recording.duration_seconds) {
    invalid("the recording's seconds of speech must be between 0 and its duration");
  }
  enrollment.feature_options.validate();
  validate_speech(enrollment);
  if (enrollment.clip_features.empty()) {
    invalid("no clips to enroll from " + recording.source_path +
            ": a recording needs at least one clip of speech");
  }
  const int num_features = enrollment.feature_options.num_features();
  for (std::size_t i = 0; i < enrollment.clip_features.size(); ++i) {
    const FeatureMatrix& clip = enrollment.clip_features[i];
    if (clip.num_frames <= 0 || clip.num_features != num_features ||
        clip.data.size() != static_cast<std::size_t>(clip.num_frames) * clip.num_features) {
      invalid("clip " + std::to_string(i) + " is " + std::to_string(clip.num_frames) + " x " +
              std::to_string(clip.num_features) + " with " + std::to_string(clip.data.size()) +
              " values; its feature options give " + std::to_string(num_features) +
              " features per frame: compute the clips with those options");
    }
    if (!all_finite(clip.data)) invalid("clip " + std::to_string(i) + " has NaN or infinity");
  }
  if (enrollment.embedding_model_id) {
    if (enrollment.clip_embeddings.size() != enrollment.clip_features.size()) {
      invalid("give one embedding per clip (" + std::to_string(enrollment.clip_features.size()) +
              " clips, " + std::to_string(enrollment.clip_embeddings.size()) + " embeddings)");
    }
    check_embeddings(
        enrollment.clip_embeddings, [](const auto& v) -> const auto& { return v; });
  } else if (!enrollment.clip_embeddings.empty()) {
    invalid(
        "clip embeddings were given without the model that made them: set "
        "embedding_model_id");
  }
}

// Rounded and clamped to int16's range (+1.0 becomes 32767), as little-endian int16.
std::vector<int16_t> to_pcm16(const std::vector<float>& samples) {
  std::vector<int16_t> pcm(samples.size());
  std::transform(samples.begin(), samples.end(), pcm.begin(), [](float x) {
    // Clamped before rounding: lrint of a float far beyond int16 (float files) is undefined.
    const long rounded = std::lrint(std::clamp(x, -1.0f, 1.0f) * kPcm16Scale);
    return static_cast<int16_t>(std::min(rounded, long{INT16_MAX}));
  });
  return pcm;
}

std::vector<float> read_pcm16(const Statement& statement, int column) {
  const auto* bytes = static_cast<const unsigned char*>(statement.column_blob(column));
  std::vector<float> samples(statement.column_bytes(column) / sizeof(int16_t));
  for (std::size_t i = 0; i < samples.size(); ++i) {
    int16_t sample;  // copied: SQLite's buffer need not be aligned for int16
    std::memcpy(&sample, bytes + i * sizeof sample, sizeof sample);
    samples[i] = static_cast<float>(sample) / kPcm16Scale;
  }
  return samples;
}

SpeakerSummary read_summary(const Statement& row) {
  SpeakerSummary summary;
  summary.id = row.column_int64(0);
  summary.name = row.column_text(1);
  summary.created_at = row.column_text(2);
  summary.num_recordings = row.column_int(3);
  summary.audio_seconds = row.column_double(4);
  summary.speech_seconds = row.column_double(5);
  summary.num_clips = row.column_int(6);
  summary.covered_by_current_model = row.column_int(7) != 0;
  return summary;
}

Statement summary_query(Database& db, const char* where) {
  return db.prepare((std::string(kSpeakerSummarySelect) + where + " GROUP BY s.id").c_str());
}

SpeakerSummary summary_by_id(Database& db, int64_t id) {
  Statement query = summary_query(db, "WHERE s.id = ?1");
  query.bind(1, id);
  if (!query.step()) throw Error(ErrorCode::kInternal, "a speaker vanished inside a transaction");
  return read_summary(query);
}

// Every speaker's id and name, for the comparisons SQL cannot make.
std::vector<std::pair<int64_t, std::string>> speaker_names(Database& db) {
  Statement query = db.prepare("SELECT id, name FROM speakers");
  std::vector<std::pair<int64_t, std::string>> names;
  while (query.step()) names.emplace_back(query.column_int64(0), query.column_text(1));
  return names;
}

// The speaker `name` names, in whatever Unicode normalization form it is typed. Names are
// stored in NFC (canonical_speaker_name()); those enrolled by earlier versions may be in
// another form, and are found by comparing the canonical forms of all names.
std::optional<int64_t> find_speaker_id(Database& db, const std::string& name) {
  const std::string canonical = canonical_speaker_name(name);
  Statement query = db.prepare("SELECT id FROM speakers WHERE name = ?1 OR name = ?2");
  query.bind(1, canonical).bind(2, name);
  if (query.step()) return query.column_int64(0);
  for (const auto& [id, stored] : speaker_names(db)) {
    if (canonical_speaker_name(stored) == canonical) return id;
  }
  return std::nullopt;
}

std::optional<SpeakerSummary> summary_by_name(Database& db, const std::string& name) {
  const auto id = find_speaker_id(db, name);
  if (!id) return std::nullopt;
  return summary_by_id(db, *id);
}

// Refuses a new name (canonical, and validate_new_speaker_name() passed) that looks the same
// as another speaker's on screen: `identify` would print two names a listener cannot tell
// apart. `self` is the speaker being renamed, whose own name may look like the new one.
void require_distinct_looking_name(Database& db, const std::string& name,
                                   std::optional<int64_t> self) {
  const std::string key = speaker_name_lookalike_key(name);
  for (const auto& [id, stored] : speaker_names(db)) {
    if (id != self && speaker_name_lookalike_key(stored) == key) {
      invalid("the name " + quote_speaker_name(name) + " looks the same as the enrolled speaker " +
              quote_speaker_name(stored) + ": use " + quote_speaker_name(stored) +
              " for that person, or choose a name that looks different");
    }
  }
}

RecordingRecord read_recording(const Statement& row) {
  RecordingRecord record;
  record.id = row.column_int64(0);
  record.provenance.source_path = row.column_text(1);
  record.provenance.sha256 = row.column_text(2);
  record.provenance.duration_seconds = row.column_double(3);
  record.provenance.speech_seconds = row.column_double(4);
  record.enrolled_at = row.column_text(5);
  record.num_clips = row.column_int(6);
  return record;
}

RecordingRecord recording_by_id(Database& db, int64_t id) {
  Statement query = db.prepare((std::string(kRecordingSelect) + "WHERE r.id = ?1").c_str());
  query.bind(1, id);
  if (!query.step()) throw Error(ErrorCode::kInternal, "recording id vanished in a transaction");
  return read_recording(query);
}

std::vector<std::string> other_speakers_with_audio(Database& db, const std::string& sha256,
                                                   int64_t speaker_id) {
  Statement query = db.prepare(
      "SELECT s.name FROM recordings r JOIN speakers s ON s.id = r.speaker_id "
      "WHERE r.sha256 = ?1 AND r.speaker_id != ?2 ORDER BY s.name");
  query.bind(1, sha256).bind(2, speaker_id);
  std::vector<std::string> names;
  while (query.step()) names.push_back(query.column_text(0));
  return names;
}

// The first enrollment fixes the store's feature options; later ones must match, or the
// clips could not be compared or trained on together.
void require_store_feature_options(Database& db, const FeatureOptions& options) {
  const auto stored = stored_feature_options(db);
  if (!stored) {
    db.prepare("INSERT INTO settings (key, value) VALUES (?1, ?2)")
        .bind(1, kFeatureOptionsKey)
        .bind(2, options.to_json())
        .run();
  } else if (*stored != options) {
    invalid("the clips' features were computed with other settings than the store's (" +
            stored->to_json() +
            "): enroll with the store's feature settings, or use another store");
  }
}

[[noreturn]] void unknown_speaker(const std::string& name, const std::string& dir) {
  invalid("there is no speaker " + quote_speaker_name(name) + " in the store " + dir +
          ": list the enrolled names with `spkid list`");
}

}  // namespace

EnrollmentResult Store::add_enrollment(const Enrollment& enrollment) {
  impl_->require_write_access();
  validate_enrollment(enrollment);
  Database& db = impl_->db;
  const RecordingProvenance& provenance = enrollment.recording;
  Transaction transaction(db, Transaction::Kind::kWrite);
  EnrollmentResult result;
  std::optional<int64_t> speaker_id = find_speaker_id(db, enrollment.speaker);
  if (speaker_id) {
    Statement earlier = db.prepare(
        (std::string(kRecordingSelect) + "WHERE r.speaker_id = ?1 AND r.sha256 = ?2").c_str());
    earlier.bind(1, *speaker_id).bind(2, provenance.sha256);
    if (earlier.step()) {
      // The same audio again: report the earlier recording; nothing is written.
      result.recording = read_recording(earlier);
      result.same_audio_speakers = other_speakers_with_audio(db, provenance.sha256, *speaker_id);
      result.speaker = summary_by_id(db, *speaker_id);
      return result;
    }
  }
  require_store_feature_options(db, enrollment.feature_options);
  if (!speaker_id) {
    const std::string name = canonical_speaker_name(enrollment.speaker);
    validate_new_speaker_name(name);
    require_distinct_looking_name(db, name, std::nullopt);
    db.prepare("INSERT INTO speakers (name) VALUES (?1)").bind(1, name).run();
    speaker_id = db.last_insert_rowid();
    result.new_speaker = true;
  }
  if (enrollment.embedding_model_id) {
    require_model(db, *enrollment.embedding_model_id);
    require_embedding_dims(db, *enrollment.embedding_model_id,
                           enrollment.clip_embeddings.front().size());
  }
  const std::vector<int16_t> speech_pcm16 = to_pcm16(enrollment.speech);
  db.prepare(
        "INSERT INTO recordings (speaker_id, source_path, sha256, duration_s, speech_s, "
        "speech_rate_hz, speech_pcm16) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
      .bind(1, *speaker_id)
      .bind(2, provenance.source_path)
      .bind(3, provenance.sha256)
      .bind(4, provenance.duration_seconds)
      .bind(5, provenance.speech_seconds)
      .bind(6, enrollment.feature_options.sample_rate_hz)
      .bind_blob(7, speech_pcm16.data(), speech_pcm16.size() * sizeof(int16_t))
      .run();
  const int64_t recording_id = db.last_insert_rowid();

  Statement insert_clip = db.prepare(
      "INSERT INTO clips (recording_id, clip_index, num_frames, num_features, features) "
      "VALUES (?1, ?2, ?3, ?4, ?5)");
  Statement insert_embedding = db.prepare(
      "INSERT INTO embeddings (clip_id, model_id, dims, vector) VALUES (?1, ?2, ?3, ?4)");
  for (std::size_t i = 0; i < enrollment.clip_features.size(); ++i) {
    const FeatureMatrix& features = enrollment.clip_features[i];
    insert_clip.bind(1, recording_id)
        .bind(2, static_cast<int64_t>(i))
        .bind(3, features.num_frames)
        .bind(4, features.num_features);
    bind_floats(insert_clip, 5, features.data).run();
    insert_clip.reset();
    result.clip_ids.push_back(db.last_insert_rowid());
    if (enrollment.embedding_model_id) {
      const std::vector<float>& embedding = enrollment.clip_embeddings[i];
      insert_embedding.bind(1, result.clip_ids.back())
          .bind(2, *enrollment.embedding_model_id)
          .bind(3, static_cast<int64_t>(embedding.size()));
      bind_floats(insert_embedding, 4, embedding).run();
      insert_embedding.reset();
    }
  }
  result.added = true;
  result.recording = recording_by_id(db, recording_id);
  result.same_audio_speakers = other_speakers_with_audio(db, provenance.sha256, *speaker_id);
  result.speaker = summary_by_id(db, *speaker_id);
  transaction.commit();
  return result;
}

std::vector<SpeakerSummary> Store::list_speakers() const {
  Statement query = impl_->db.prepare(
      (std::string(kSpeakerSummarySelect) + "GROUP BY s.id ORDER BY s.name").c_str());
  std::vector<SpeakerSummary> speakers;
  while (query.step()) speakers.push_back(read_summary(query));
  return speakers;
}

SpeakerDetails Store::speaker_details(const std::string& name) const {
  auto details = find_speaker(name);
  if (!details) unknown_speaker(name, impl_->dir);
  return std::move(*details);
}

std::optional<SpeakerDetails> Store::find_speaker(const std::string& name) const {
  Database& db = impl_->db;
  Transaction transaction(db, Transaction::Kind::kRead);
  auto summary = summary_by_name(db, name);
  if (!summary) return std::nullopt;
  SpeakerDetails details;
  details.summary = *summary;
  Statement query =
      db.prepare((std::string(kRecordingSelect) + "WHERE r.speaker_id = ?1 ORDER BY r.id").c_str());
  query.bind(1, summary->id);
  while (query.step()) details.recordings.push_back(read_recording(query));
  transaction.commit();
  return details;
}

SpeakerSummary Store::remove_speaker(const std::string& name) {
  impl_->require_write_access();
  try {
    return impl_->remove_speaker(name);
  } catch (const store_detail::DiskFull&) {
    // Nothing was removed (the transaction rolled back): with the reserve's room given back to
    // the disk, the removal has the room it needs; the reserve is made again once it is done.
    if (!store_detail::release_disk_reserve(impl_->dir)) throw;
  }
  SpeakerSummary removed = impl_->remove_speaker(name);
  store_detail::keep_disk_reserve(impl_->dir);
  return removed;
}

SpeakerSummary Store::Impl::remove_speaker(const std::string& name) {
  Transaction transaction(db, Transaction::Kind::kWrite);
  auto summary = summary_by_name(db, name);
  if (!summary) unknown_speaker(name, dir);
  // Every model made with their voice goes too: a classifier keeps a row fitted to it.
  const std::vector<std::string> model_files = delete_models(
      db, "id IN (SELECT model_id FROM model_speakers WHERE speaker_id = ?1)", summary->id);
  db.prepare("DELETE FROM speakers WHERE id = ?1").bind(1, summary->id).run();
  transaction.commit();
  unlink_model_files(dir, model_files);
  // The removed features (and older copies of their pages) leave the -wal file now.
  db.try_truncate_wal(1000);
  return *summary;
}

std::string Store::rename_speaker(const std::string& old_name, const std::string& new_name) {
  impl_->require_write_access();
  validate_new_speaker_name(new_name);
  const std::string name = canonical_speaker_name(new_name);
  Database& db = impl_->db;
  Transaction transaction(db, Transaction::Kind::kWrite);
  const auto speaker_id = find_speaker_id(db, old_name);
  if (!speaker_id) unknown_speaker(old_name, impl_->dir);
  // Taken by this speaker: the same name, or the NFC form of one stored by an earlier version,
  // which the update below cleans.
  const auto taken_by = find_speaker_id(db, name);
  if (taken_by && taken_by != speaker_id) {
    invalid("cannot rename " + quote_speaker_name(old_name) + " to " + quote_speaker_name(name) +
            ": that name is taken; remove " + quote_speaker_name(name) +
            " first or choose another name");
  }
  require_distinct_looking_name(db, name, speaker_id);
  db.prepare("UPDATE speakers SET name = ?2 WHERE id = ?1")
      .bind(1, *speaker_id)
      .bind(2, name)
      .run();
  transaction.commit();
  return name;
}

std::vector<StoredClip> Store::clips(const ClipQuery& query) const {
  Database& db = impl_->db;
  Transaction transaction(db, Transaction::Kind::kRead);
  std::optional<int64_t> speaker_id;
  if (!query.speaker.empty()) {
    speaker_id = find_speaker_id(db, query.speaker);
    if (!speaker_id) unknown_speaker(query.speaker, impl_->dir);
  }
  Statement select = db.prepare(R"sql(
SELECT c.id, s.id, s.name, r.id, c.clip_index, c.num_frames, c.num_features, c.features
FROM clips c JOIN recordings r ON r.id = c.recording_id JOIN speakers s ON s.id = r.speaker_id
WHERE (?1 IS NULL OR s.id = ?1)
  AND (?2 IS NULL OR NOT EXISTS (SELECT 1 FROM embeddings e
                                 WHERE e.clip_id = c.id AND e.model_id = ?2))
  AND (?3 IS NULL OR NOT EXISTS (SELECT 1 FROM window_embeddings w
                                 WHERE w.clip_id = c.id AND w.model_id = ?3))
  AND c.id > ?4
ORDER BY CASE WHEN ?5 > 0 THEN c.id END, s.name, r.id, c.clip_index
LIMIT CASE WHEN ?5 > 0 THEN ?5 ELSE -1 END
)sql");
  if (speaker_id) select.bind(1, *speaker_id);
  select.bind(4, query.after_clip_id).bind(5, static_cast<int64_t>(query.limit));
  if (query.missing_embedding_for_model) select.bind(2, *query.missing_embedding_for_model);
  if (query.missing_window_embeddings_for_model) {
    select.bind(3, *query.missing_window_embeddings_for_model);
  }
  std::vector<StoredClip> clips;
  while (select.step()) {
    StoredClip clip;
    clip.id = select.column_int64(0);
    clip.speaker_id = select.column_int64(1);
    clip.speaker = select.column_text(2);
    clip.recording_id = select.column_int64(3);
    clip.clip_index = select.column_int(4);
    clip.features.num_frames = select.column_int(5);
    clip.features.num_features = select.column_int(6);
    clip.features.data = read_floats(
        select, 7, static_cast<std::size_t>(clip.features.num_frames) * clip.features.num_features,
        db.path());
    clips.push_back(std::move(clip));
  }
  transaction.commit();
  return clips;
}

std::vector<StoredSpeech> Store::recording_speech(const std::string& speaker) const {
  Database& db = impl_->db;
  Transaction transaction(db, Transaction::Kind::kRead);
  std::optional<int64_t> speaker_id;
  if (!speaker.empty()) {
    speaker_id = find_speaker_id(db, speaker);
    if (!speaker_id) unknown_speaker(speaker, impl_->dir);
  }
  Statement select = db.prepare(R"sql(
SELECT r.id, s.id, s.name, r.speech_rate_hz, r.speech_pcm16
FROM recordings r JOIN speakers s ON s.id = r.speaker_id
WHERE (?1 IS NULL OR s.id = ?1)
ORDER BY s.name, r.id
)sql");
  if (speaker_id) select.bind(1, *speaker_id);
  std::vector<StoredSpeech> speech;
  while (select.step()) {
    StoredSpeech item;
    item.recording_id = select.column_int64(0);
    item.speaker_id = select.column_int64(1);
    item.speaker = select.column_text(2);
    // NULL in recordings enrolled before schema 3 (the CHECK keeps both columns NULL together).
    item.has_audio = !select.is_null(4);
    if (item.has_audio) {
      item.sample_rate_hz = select.column_int(3);
      item.samples = read_pcm16(select, 4);
    }
    speech.push_back(std::move(item));
  }
  transaction.commit();
  return speech;
}

}  // namespace spkid
