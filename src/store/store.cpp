#include "spkid/store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "spkid/error.h"
#include "spkid/fs_util.h"
#include "spkid/speaker_name.h"
#include "store/disk_reserve.h"
#include "store/schema.h"
#include "store/sqlite_db.h"

namespace spkid {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the store keeps float vectors, digests and speech as little-endian values");

using store_detail::Database;
using store_detail::Statement;
using store_detail::Transaction;

namespace {

// A file-system failure on the store's own folder and files is the store's (ErrorCode::kStore,
// exit status 4), not a bad input's: the file utilities report it as kIo, whoever calls them.
template <typename Fn>
decltype(auto) as_store_error(Fn&& fn) {
  try {
    return fn();
  } catch (const Error& error) {
    if (error.code() != ErrorCode::kIo) throw;
    throw Error(ErrorCode::kStore, error.what());
  }
}

constexpr const char* kFeatureOptionsKey = "feature_options";
// Speech is kept as int16 with libsndfile's scale (sample / 32768), so the speech of a 16-bit
// recording that needed no resampling comes back exactly as it was decoded.
constexpr float kPcm16Scale = 32768.0f;
constexpr const char* kModelFilePrefix = "model-";
// Younger unreferenced model files may belong to a registration still in progress elsewhere.
constexpr std::chrono::hours kOrphanFileAge{1};
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
constexpr const char* kModelSelect = R"sql(
SELECT id, file_name, kind, created_at, feature_options_json, metadata_json, is_current, sha256
FROM models
)sql";

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, message);
}

// Creates the empty database file with mode 0600 before SQLite sees it: SQLite then gives its
// -wal and -shm files the same mode, with no process-wide umask games.
void create_private_file(const std::string& path, const std::string& dir) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return;
    throw Error(ErrorCode::kStore, "cannot create " + path + ": " + std::strerror(errno) +
                                       "; check the permissions of " + dir);
  }
  const bool ok = ::fchmod(fd, 0600) == 0;
  const int saved_errno = errno;
  ::close(fd);
  if (!ok) {
    throw Error(ErrorCode::kStore, "cannot set the mode of " + path + ": " +
                                       std::strerror(saved_errno) + "; check its permissions");
  }
  sync_directory(dir);
}

// A store's folder is its owner's alone and its own files are never links: another user who can
// write the folder could swap spkid.db for one of theirs, and a link would have spkid write
// wherever it points. A folder open to others is made private (0700) when the store is opened
// to write, and refused when it is opened to read and others can write it; a folder of another
// user is refused (root may open any).
void secure_store_folder(const std::string& dir, const std::string& db_path, StoreAccess access) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return;  // open() says what is wrong
  const uid_t me = ::geteuid();
  if (st.st_uid != me && me != 0) {
    throw Error(ErrorCode::kStore, dir + " belongs to another user (uid " +
                                       std::to_string(st.st_uid) +
                                       "): a store is its owner's alone; use a folder of yours "
                                       "(--store DIR)");
  }
  if ((st.st_mode & 077) != 0) {
    if (access != StoreAccess::kRead) {
      if (::chmod(dir.c_str(), 0700) != 0) {
        throw Error(ErrorCode::kStore, "cannot make " + dir + " private (mode 0700): " +
                                           std::strerror(errno) + "; fix its owner or mode");
      }
    } else if ((st.st_mode & 022) != 0) {
      throw Error(ErrorCode::kStore, dir +
                                         " can be written by other users, who could replace "
                                         "the store's files: make it private (chmod 700 " +
                                         dir + ") or run a command that writes to it");
    }
  }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string path = db_path + suffix;
    if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      throw Error(ErrorCode::kStore, path +
                                         " is a symbolic link: a store's own files are never "
                                         "links; remove it, or move the real file into " +
                                         dir);
    }
  }
}

// The database and its -wal and -shm companions readable by their owner only.
void make_database_files_private(const std::string& db_path) {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string path = db_path + suffix;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 077) == 0) continue;
    if (::chmod(path.c_str(), 0600) != 0) {
      throw Error(ErrorCode::kStore, "cannot make " + path + " private (mode 0600): " +
                                         std::strerror(errno) + "; fix its owner or mode");
    }
  }
}

bool is_lower_hex(const std::string& text, std::size_t length) {
  return text.size() == length && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool all_finite(const std::vector<float>& values) {
  return std::all_of(values.begin(), values.end(), [](float x) { return std::isfinite(x); });
}

// Checks a batch of embeddings (non-empty, equal sizes, finite); returns their dimension.
template <typename Range, typename GetVector>
std::size_t check_embeddings(const Range& items, GetVector vector_of) {
  std::size_t dims = 0;
  for (const auto& item : items) {
    const std::vector<float>& embedding = vector_of(item);
    if (dims == 0) dims = embedding.size();
    if (embedding.empty() || embedding.size() != dims) {
      invalid("embeddings must all have the same, non-zero size (got " +
              std::to_string(embedding.size()) + " after " + std::to_string(dims) +
              "): compute them all with one model");
    }
    if (!all_finite(embedding)) invalid("an embedding contains NaN or infinity: check the model");
  }
  return dims;
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

Statement& bind_floats(Statement& statement, int index, const std::vector<float>& values) {
  return statement.bind_blob(index, values.data(), values.size() * sizeof(float));
}

std::vector<float> read_floats(const Statement& statement, int column, std::size_t count,
                               const std::string& db_path) {
  if (statement.column_bytes(column) != count * sizeof(float)) {
    throw Error(ErrorCode::kStore, db_path +
                                       " holds a vector of the wrong size: the store is damaged; "
                                       "restore a backup or remove and re-enroll the speaker");
  }
  std::vector<float> values(count);
  if (count > 0) std::memcpy(values.data(), statement.column_blob(column), count * sizeof(float));
  return values;
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

FeatureOptions parse_stored_feature_options(const std::string& json, const std::string& db_path) {
  try {
    return FeatureOptions::from_json(json);
  } catch (const Error& e) {
    throw Error(ErrorCode::kStore, db_path + " holds feature options this spkid cannot read (" +
                                       e.what() + "): upgrade spkid or restore a backup");
  }
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

std::optional<FeatureOptions> stored_feature_options(Database& db) {
  Statement query = db.prepare("SELECT value FROM settings WHERE key = ?1");
  query.bind(1, kFeatureOptionsKey);
  if (!query.step()) return std::nullopt;
  return parse_stored_feature_options(query.column_text(0), db.path());
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

void require_model(Database& db, int64_t model_id) {
  Statement query = db.prepare("SELECT 1 FROM models WHERE id = ?1");
  query.bind(1, model_id);
  if (!query.step()) {
    invalid("there is no model with id " + std::to_string(model_id) + " in " + db.path());
  }
}

// Embeddings by one model must all have one size, across calls too.
void require_embedding_dims(Database& db, int64_t model_id, std::size_t dims) {
  Statement query = db.prepare("SELECT dims FROM embeddings WHERE model_id = ?1 LIMIT 1");
  query.bind(1, model_id);
  if (query.step() && static_cast<std::size_t>(query.column_int64(0)) != dims) {
    invalid("model " + std::to_string(model_id) + "'s stored embeddings have " +
            std::to_string(query.column_int64(0)) + " dimensions, these have " +
            std::to_string(dims) + ": compute them with the same model");
  }
}

void make_model_current(Database& db, int64_t model_id) {
  // Two statements: the unique index on the current flag forbids two current rows at any moment.
  db.exec("UPDATE models SET is_current = 0 WHERE is_current = 1");
  db.prepare("UPDATE models SET is_current = 1 WHERE id = ?1").bind(1, model_id).run();
}

// Deletes the models matching `where` (SQL over the models table, bound to `values` as ?1,
// ?2...) with their embeddings and coverage, and returns their file names, to be unlinked once
// the transaction commits.
template <typename... Values>
std::vector<std::string> delete_models(Database& db, const std::string& where,
                                       const Values&... values) {
  const auto bind_all = [&](Statement& statement) {
    int index = 0;
    (statement.bind(++index, values), ...);
  };
  Statement select = db.prepare(("SELECT file_name FROM models WHERE " + where).c_str());
  bind_all(select);
  std::vector<std::string> files;
  while (select.step()) files.push_back(select.column_text(0));
  if (!files.empty()) {
    Statement remove = db.prepare(("DELETE FROM models WHERE " + where).c_str());
    bind_all(remove);
    remove.run();
  }
  return files;
}

// After the rows are gone: a file that cannot be removed now is an orphan, which the next
// writable open removes (remove_orphan_files()).
void unlink_model_files(const std::string& dir, const std::vector<std::string>& files) {
  for (const std::string& file : files) {
    ::unlink((std::filesystem::path(dir) / file).c_str());
  }
}

ModelRecord read_model(const Statement& row, const std::string& dir, const std::string& db_path) {
  ModelRecord model;
  model.id = row.column_int64(0);
  model.file_name = row.column_text(1);
  model.path = (std::filesystem::path(dir) / model.file_name).string();
  model.kind = row.column_text(2);
  model.created_at = row.column_text(3);
  model.feature_options = parse_stored_feature_options(row.column_text(4), db_path);
  model.metadata_json = row.column_text(5);
  model.is_current = row.column_int(6) != 0;
  if (!row.is_null(7)) model.sha256 = row.column_text(7);
  return model;
}

void validate_new_model(const NewModel& model, std::string_view model_bytes) {
  const auto is_name_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  };
  if (model.kind.empty() || model.kind.size() > 64 ||
      !std::all_of(model.kind.begin(), model.kind.end(), is_name_char)) {
    invalid("model kind '" + model.kind + "' must be 1 to 64 of a-z, 0-9, '.', '_', '-'");
  }
  const auto is_extension_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  if (model.file_extension.empty() || model.file_extension.size() > 16 ||
      !std::all_of(model.file_extension.begin(), model.file_extension.end(), is_extension_char)) {
    invalid("model file extension '" + model.file_extension + "' must be 1 to 16 of a-z, 0-9");
  }
  model.feature_options.validate();
  if (model_bytes.empty()) invalid("the model file is empty: save the model before registering it");
}

std::string compact_metadata_json(const std::string& metadata_json) {
  nlohmann::json metadata;
  try {
    metadata = nlohmann::json::parse(metadata_json);
  } catch (const nlohmann::json::parse_error& e) {
    invalid(std::string("model metadata is not valid JSON (") + e.what() + ")");
  }
  if (!metadata.is_object())
    invalid("model metadata must be a JSON object, not " + std::string(metadata.type_name()));
  return metadata.dump();
}

// "model-20240501T120000Z-1a2b3c4d.bin": sorts by time; the random part keeps two models made
// in the same second apart.
std::string new_model_file_name(const std::string& extension) {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
  unsigned char random[4];
  if (RAND_bytes(random, sizeof random) != 1) {
    throw Error(ErrorCode::kInternal, "OpenSSL could not make random bytes: please report this");
  }
  char suffix[9];
  std::snprintf(suffix, sizeof suffix, "%02x%02x%02x%02x", random[0], random[1], random[2],
                random[3]);
  return kModelFilePrefix + std::string(stamp) + "-" + suffix + "." + extension;
}

// Removes model files no row refers to (their process died between writing the file and
// recording it) and temporary files of interrupted writes: they may hold voice data. Best
// effort: a file that cannot be removed now is tried again at the next open.
void remove_orphan_files(Database& db, const std::string& dir) {
  std::set<std::string> referenced;
  Statement select = db.prepare("SELECT file_name FROM models");
  while (select.step()) referenced.insert(select.column_text(0));
  const auto cutoff = std::filesystem::file_time_type::clock::now() - kOrphanFileAge;
  const std::string temp_prefix = std::string(".") + kModelFilePrefix;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    const bool orphan_model = name.rfind(kModelFilePrefix, 0) == 0 && !referenced.count(name);
    const bool interrupted_write =
        name.rfind(temp_prefix, 0) == 0 && name.find(".tmp-") != std::string::npos;
    if ((orphan_model || interrupted_write) && entry.last_write_time(error) < cutoff && !error) {
      std::filesystem::remove(entry.path(), error);
    }
  }
}

[[noreturn]] void unknown_speaker(const std::string& name, const std::string& dir) {
  invalid("there is no speaker " + quote_speaker_name(name) + " in the store " + dir +
          ": list the enrolled names with `spkid list`");
}

}  // namespace

struct Store::Impl {
  std::string dir;
  Database db;
  StoreAccess access;

  SpeakerSummary remove_speaker(const std::string& name);

  void require_write_access() const {
    if (access == StoreAccess::kRead) {
      throw Error(ErrorCode::kInternal,
                  "the store " + dir + " was opened for reading: open it for writing to change it");
    }
  }
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;

Store Store::open(const std::string& dir, StoreAccess access) {
  if (dir.empty()) {
    invalid("the store folder name is empty: give --store DIR or set SPKID_HOME");
  }
  const std::string db_path = (std::filesystem::path(dir) / kStoreDatabaseName).string();
  const std::string no_store = "no store at " + dir + ": enroll a speaker first";
  if (access == StoreAccess::kCreate) as_store_error([&] { return make_directories(dir, 0700); });
  secure_store_folder(dir, db_path, access);
  if (access == StoreAccess::kCreate) {
    create_private_file(db_path, dir);
  } else {
    struct stat st {};
    if (::stat(db_path.c_str(), &st) != 0 && errno != ENOENT && errno != ENOTDIR) {
      throw Error(ErrorCode::kStore, "cannot read " + db_path + ": " + std::strerror(errno) +
                                         "; check the permissions of " + dir);
    }
    if (st.st_size == 0) throw Error(ErrorCode::kStore, no_store);
  }
  // Everything is checked read-only first: a file that is not ours is never written to.
  const int version = store_detail::inspect_database(db_path);
  if (access != StoreAccess::kCreate && version == 0) throw Error(ErrorCode::kStore, no_store);

  const bool read_only = access == StoreAccess::kRead && version == kStoreSchemaVersion;
  auto impl =
      std::make_unique<Impl>(Impl{dir, Database(db_path, read_only, kStoreBusyTimeoutMs), access});
  Database& db = impl->db;
  // secure_delete zeroes what a removal frees: voiceprints must not linger in free pages.
  db.exec("PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; PRAGMA synchronous = FULL;",
          "configuring the connection");
  if (!read_only) {
    // The log is emptied to zero bytes when a connection closes, not kept at its largest.
    db.exec("PRAGMA journal_size_limit = 0", "configuring the connection");
    store_detail::enable_write_ahead_log(db);
    store_detail::migrate(db);
    make_database_files_private(db_path);
  }
  if (access != StoreAccess::kRead) {
    remove_orphan_files(db, dir);
    store_detail::keep_disk_reserve(dir);
  }
  return Store(std::move(impl));
}

const std::string& Store::dir() const { return impl_->dir; }

bool Store::writable() const { return impl_->access != StoreAccess::kRead; }

std::string Store::database_path() const { return impl_->db.path(); }

std::optional<FeatureOptions> Store::feature_options() const {
  return stored_feature_options(impl_->db);
}

std::optional<std::string> Store::setting(const std::string& key) const {
  Statement query = impl_->db.prepare("SELECT value FROM settings WHERE key = ?1");
  query.bind(1, key);
  if (!query.step()) return std::nullopt;
  return query.column_text(0);
}

void Store::set_setting(const std::string& key, const std::string& value) {
  impl_->require_write_access();
  if (key.empty() || key == kFeatureOptionsKey) {
    invalid("the store setting '" + key + "' cannot be set: choose another key");
  }
  impl_->db
      .prepare(
          "INSERT INTO settings (key, value) VALUES (?1, ?2) "
          "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
      .bind(1, key)
      .bind(2, value)
      .run();
}

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

void Store::rename_speaker(const std::string& old_name, const std::string& new_name) {
  impl_->require_write_access();
  validate_new_speaker_name(new_name);
  const std::string name = canonical_speaker_name(new_name);
  Database& db = impl_->db;
  Transaction transaction(db, Transaction::Kind::kWrite);
  const auto speaker_id = find_speaker_id(db, old_name);
  if (!speaker_id) unknown_speaker(old_name, impl_->dir);
  const auto taken_by = find_speaker_id(db, name);
  if (taken_by == speaker_id) return;
  if (taken_by) {
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

int Store::set_embeddings(int64_t model_id, const std::vector<ClipEmbedding>& embeddings) {
  impl_->require_write_access();
  const std::size_t dims = check_embeddings(
      embeddings, [](const ClipEmbedding& e) -> const auto& { return e.embedding; });
  Database& db = impl_->db;
  Transaction transaction(db, Transaction::Kind::kWrite);
  require_model(db, model_id);
  if (embeddings.empty()) return 0;
  require_embedding_dims(db, model_id, dims);
  // The SELECT skips clips removed since the caller read them.
  Statement upsert = db.prepare(R"sql(
INSERT INTO embeddings (clip_id, model_id, dims, vector)
SELECT id, ?2, ?3, ?4 FROM clips WHERE id = ?1
ON CONFLICT (clip_id, model_id) DO UPDATE SET dims = excluded.dims, vector = excluded.vector
)sql");
  int stored = 0;
  for (const ClipEmbedding& item : embeddings) {
    upsert.bind(1, item.clip_id).bind(2, model_id).bind(3, static_cast<int64_t>(dims));
    bind_floats(upsert, 4, item.embedding).run();
    upsert.reset();
    stored += db.changes();
  }
  transaction.commit();
  return stored;
}

std::vector<StoredEmbedding> Store::embeddings(int64_t model_id) const {
  Database& db = impl_->db;
  Transaction transaction(db, Transaction::Kind::kRead);
  require_model(db, model_id);
  Statement select = db.prepare(R"sql(
SELECT e.clip_id, s.id, s.name, e.dims, e.vector
FROM embeddings e JOIN clips c ON c.id = e.clip_id JOIN recordings r ON r.id = c.recording_id
     JOIN speakers s ON s.id = r.speaker_id
WHERE e.model_id = ?1
ORDER BY s.name, r.id, c.clip_index
)sql");
  select.bind(1, model_id);
  std::vector<StoredEmbedding> embeddings;
  while (select.step()) {
    StoredEmbedding item;
    item.clip_id = select.column_int64(0);
    item.speaker_id = select.column_int64(1);
    item.speaker = select.column_text(2);
    item.embedding =
        read_floats(select, 4, static_cast<std::size_t>(select.column_int64(3)), db.path());
    embeddings.push_back(std::move(item));
  }
  transaction.commit();
  return embeddings;
}

int Store::set_window_embeddings(int64_t model_id, const std::vector<WindowEmbedding>& embeddings) {
  impl_->require_write_access();
  const std::size_t dims = check_embeddings(
      embeddings, [](const WindowEmbedding& e) -> const auto& { return e.embedding; });
  Database& db = impl_->db;
  Transaction transaction(db, Transaction::Kind::kWrite);
  require_model(db, model_id);
  if (embeddings.empty()) return 0;
  Statement upsert = db.prepare(R"sql(
INSERT INTO window_embeddings (clip_id, model_id, window_index, dims, vector)
SELECT id, ?2, ?3, ?4, ?5 FROM clips WHERE id = ?1
ON CONFLICT (clip_id, model_id, window_index)
DO UPDATE SET dims = excluded.dims, vector = excluded.vector
)sql");
  int stored = 0;
  for (const WindowEmbedding& item : embeddings) {
    if (item.window_index < 0) invalid("a window index must be >= 0");
    upsert.bind(1, item.clip_id)
        .bind(2, model_id)
        .bind(3, static_cast<int64_t>(item.window_index))
        .bind(4, static_cast<int64_t>(dims));
    bind_floats(upsert, 5, item.embedding).run();
    upsert.reset();
    stored += db.changes();
  }
  transaction.commit();
  return stored;
}

std::vector<StoredWindowEmbedding> Store::window_embeddings(int64_t model_id) const {
  Database& db = impl_->db;
  Transaction transaction(db, Transaction::Kind::kRead);
  require_model(db, model_id);
  Statement select = db.prepare(R"sql(
SELECT w.clip_id, s.name, w.window_index, w.dims, w.vector
FROM window_embeddings w JOIN clips c ON c.id = w.clip_id
     JOIN recordings r ON r.id = c.recording_id JOIN speakers s ON s.id = r.speaker_id
WHERE w.model_id = ?1
ORDER BY s.name, r.id, c.clip_index, w.window_index
)sql");
  select.bind(1, model_id);
  std::vector<StoredWindowEmbedding> embeddings;
  while (select.step()) {
    StoredWindowEmbedding item;
    item.clip_id = select.column_int64(0);
    item.speaker = select.column_text(1);
    item.window_index = select.column_int(2);
    item.embedding =
        read_floats(select, 4, static_cast<std::size_t>(select.column_int64(3)), db.path());
    embeddings.push_back(std::move(item));
  }
  transaction.commit();
  return embeddings;
}

ModelRecord Store::register_model(const NewModel& model, std::string_view model_bytes) {
  impl_->require_write_access();
  validate_new_model(model, model_bytes);
  const std::string metadata_json = compact_metadata_json(model.metadata_json);
  Database& db = impl_->db;
  const std::string file_name = new_model_file_name(model.file_extension);
  const std::string path = (std::filesystem::path(impl_->dir) / file_name).string();
  as_store_error([&] { write_file_atomically(path, model_bytes, 0600); });
  int64_t model_id = 0;
  std::vector<std::string> replaced_files;
  try {
    Transaction transaction(db, Transaction::Kind::kWrite);
    db.prepare(
          "INSERT INTO models (file_name, kind, feature_options_json, metadata_json, sha256) "
          "VALUES (?1, ?2, ?3, ?4, ?5)")
        .bind(1, file_name)
        .bind(2, model.kind)
        .bind(3, model.feature_options.to_json())
        .bind(4, metadata_json)
        .bind(5, sha256_hex(model_bytes.data(), model_bytes.size()))
        .run();
    model_id = db.last_insert_rowid();
    Statement cover = db.prepare(
        "INSERT OR IGNORE INTO model_speakers (model_id, speaker_id) "
        "SELECT ?1, id FROM speakers WHERE id = ?2");
    for (int64_t speaker_id :
         std::set<int64_t>(model.speaker_ids.begin(), model.speaker_ids.end())) {
      cover.bind(1, model_id).bind(2, speaker_id).run();
      // A speaker removed while the model was being made: it holds their voice, so it must not
      // land (remove_speaker() deletes every model made with a speaker).
      if (db.changes() == 0) {
        invalid("a speaker this model was made with was removed meanwhile (speaker id " +
                std::to_string(speaker_id) + "): make the model again without them");
      }
      cover.reset();
    }
    if (model.make_current) {
      make_model_current(db, model_id);
      // Older models of the kind are never used again, and may hold the voices of speakers
      // enrolled then: they go.
      replaced_files = delete_models(db, "kind = ?1 AND id != ?2", model.kind, model_id);
    }
    transaction.commit();
  } catch (...) {
    // The row never landed, so the file would be an orphan.
    ::unlink(path.c_str());
    throw;
  }
  unlink_model_files(impl_->dir, replaced_files);
  Statement select = db.prepare((std::string(kModelSelect) + "WHERE id = ?1").c_str());
  select.bind(1, model_id);
  if (!select.step()) throw Error(ErrorCode::kInternal, "a model row vanished after its commit");
  return read_model(select, impl_->dir, db.path());
}

std::optional<ModelRecord> Store::current_model() const {
  Statement select =
      impl_->db.prepare((std::string(kModelSelect) + "WHERE is_current = 1").c_str());
  if (!select.step()) return std::nullopt;
  return read_model(select, impl_->dir, impl_->db.path());
}

std::vector<ModelRecord> Store::models() const {
  Statement select = impl_->db.prepare((std::string(kModelSelect) + "ORDER BY id").c_str());
  std::vector<ModelRecord> models;
  while (select.step()) models.push_back(read_model(select, impl_->dir, impl_->db.path()));
  return models;
}

void Store::set_current_model(int64_t model_id) {
  impl_->require_write_access();
  Database& db = impl_->db;
  Transaction transaction(db, Transaction::Kind::kWrite);
  require_model(db, model_id);
  make_model_current(db, model_id);
  transaction.commit();
}

void Store::remove_model(int64_t model_id) {
  impl_->require_write_access();
  Database& db = impl_->db;
  Transaction transaction(db, Transaction::Kind::kWrite);
  require_model(db, model_id);
  const std::vector<std::string> files = delete_models(db, "id = ?1", model_id);
  transaction.commit();
  unlink_model_files(impl_->dir, files);
}

void Store::check_model_file(const ModelRecord& model) const {
  const int fd = ::open(model.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ELOOP) {
    throw Error(ErrorCode::kStore, model.path +
                                       " is a symbolic link: a store's own files are never "
                                       "links; remove it and run spkid train (or identify) again");
  }
  if (fd < 0) {
    throw Error(ErrorCode::kStore, "cannot read " + model.path + ": " + std::strerror(errno) +
                                       "; check its permissions");
  }
  std::string bytes;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (!model.sha256.empty() && sha256_hex(bytes.data(), bytes.size()) != model.sha256) {
    throw Error(ErrorCode::kStore,
                model.path +
                    " is not the model file the store registered (its SHA-256 differs: changed "
                    "or replaced): delete it and run spkid train again, or identify for the "
                    "base model's copy");
  }
}

std::string sha256_of_samples(const float* samples, std::size_t count) {
  return sha256_hex(samples, count * sizeof(float));
}

std::string sha256_hex(const void* data, std::size_t bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  if (EVP_Digest(data, bytes, digest, &digest_length, EVP_sha256(), nullptr) != 1) {
    throw Error(ErrorCode::kInternal, "OpenSSL could not compute SHA-256: please report this");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(std::size_t{2} * digest_length);
  for (unsigned int i = 0; i < digest_length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0x0f];
  }
  return hex;
}

}  // namespace spkid
