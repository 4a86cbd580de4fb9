#include "store/schema.h"

#include <chrono>
#include <iterator>
#include <thread>

#include "spkid/error.h"
#include "spkid/store.h"

namespace spkid::store_detail {

namespace {

struct Migration {
  int version;
  const char* sql;
};

// The schema's history, oldest first. A released step is never edited: a change is a new step.
// Ids are AUTOINCREMENT so that an id handed out (to a training run, say) never comes back
// as a different speaker or clip after a removal. Timestamps are ISO 8601 UTC text. Float
// vectors are BLOBs of little-endian float32.
constexpr Migration kMigrations[] = {
    {1, R"sql(
-- Version 1: enrollment.
-- Store-wide settings. 'feature_options': the FeatureOptions JSON every clip was computed with.
CREATE TABLE settings (
  key TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
) STRICT;

-- A speaker is a name; everything else refers to the id, so a rename is one update.
CREATE TABLE speakers (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
) STRICT;

-- One enrolled audio file with its provenance. sha256 is the digest of the decoded mono
-- samples: the same audio twice for one speaker is refused by UNIQUE.
CREATE TABLE recordings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  speaker_id INTEGER NOT NULL REFERENCES speakers (id) ON DELETE CASCADE,
  source_path TEXT NOT NULL,
  sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
  duration_s REAL NOT NULL CHECK (duration_s > 0),
  speech_s REAL NOT NULL CHECK (speech_s >= 0),
  enrolled_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  UNIQUE (speaker_id, sha256)
) STRICT;
-- Finds other speakers enrolled with the same audio.
CREATE INDEX recordings_by_sha256 ON recordings (sha256);

-- The features (frames x features, row-major) of each clip cut from a recording's speech.
CREATE TABLE clips (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
  clip_index INTEGER NOT NULL CHECK (clip_index >= 0),
  num_frames INTEGER NOT NULL CHECK (num_frames > 0),
  num_features INTEGER NOT NULL CHECK (num_features > 0),
  features BLOB NOT NULL CHECK (length(features) = 4 * num_frames * num_features),
  UNIQUE (recording_id, clip_index)
) STRICT;

PRAGMA application_id = 1936747364; -- 0x73706b64, 'spkd'
)sql"},
    {2, R"sql(
-- Version 2: speaker models and embeddings.
-- Model files live in the store folder under file_name. At most one model is current.
CREATE TABLE models (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  file_name TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  feature_options_json TEXT NOT NULL,
  metadata_json TEXT NOT NULL DEFAULT '{}',
  is_current INTEGER NOT NULL DEFAULT 0 CHECK (is_current IN (0, 1))
) STRICT;
CREATE UNIQUE INDEX models_single_current ON models (is_current) WHERE is_current = 1;

-- The speakers a model was made with: `list` says whether the current model covers a speaker.
CREATE TABLE model_speakers (
  model_id INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
  speaker_id INTEGER NOT NULL REFERENCES speakers (id) ON DELETE CASCADE,
  PRIMARY KEY (model_id, speaker_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX model_speakers_by_speaker ON model_speakers (speaker_id);

-- A clip's embedding by one model; kept per model so that a new model can be trained and
-- embedded while the current one still answers.
CREATE TABLE embeddings (
  clip_id INTEGER NOT NULL REFERENCES clips (id) ON DELETE CASCADE,
  model_id INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
  dims INTEGER NOT NULL CHECK (dims > 0),
  vector BLOB NOT NULL CHECK (length(vector) = 4 * dims),
  PRIMARY KEY (clip_id, model_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX embeddings_by_model ON embeddings (model_id);
)sql"},
    {3, R"sql(
-- Version 3: each recording's speech, so that training can augment and crop the audio itself.
-- speech_pcm16 holds the samples voice activity detection kept (the clips were cut from them)
-- as little-endian int16 at speech_rate_hz, the store's feature sample rate. Both are NULL in
-- recordings enrolled before version 3, which kept no audio; never one without the other.
ALTER TABLE recordings ADD COLUMN speech_rate_hz INTEGER CHECK (speech_rate_hz > 0);
ALTER TABLE recordings ADD COLUMN speech_pcm16 BLOB
  CHECK (length(speech_pcm16) > 0 AND length(speech_pcm16) % 2 = 0
         AND (speech_pcm16 IS NULL) = (speech_rate_hz IS NULL));
)sql"},
    {4, R"sql(
-- Version 4: embeddings of windows cut from each clip, as long as the clips identify cuts (3 s),
-- by one model: held out in turn, they tell how a stranger recorded like the enrolled speakers
-- scores (the store's open-set calibration).
CREATE TABLE window_embeddings (
  clip_id INTEGER NOT NULL REFERENCES clips (id) ON DELETE CASCADE,
  model_id INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
  window_index INTEGER NOT NULL CHECK (window_index >= 0),
  dims INTEGER NOT NULL CHECK (dims > 0),
  vector BLOB NOT NULL CHECK (length(vector) = 4 * dims),
  PRIMARY KEY (clip_id, model_id, window_index)
) STRICT, WITHOUT ROWID;
CREATE INDEX window_embeddings_by_model ON window_embeddings (model_id);
)sql"},
    {5, R"sql(
-- Version 5: the SHA-256 of each model file as registered, so that a file changed or replaced
-- in the store folder is refused. NULL for models registered before version 5.
ALTER TABLE models ADD COLUMN sha256 TEXT CHECK (sha256 IS NULL OR length(sha256) = 64);
)sql"},
};
static_assert(std::size(kMigrations) == kStoreSchemaVersion,
              "kStoreSchemaVersion must be the last migration's version");

int64_t query_int(Database& db, const char* sql) {
  Statement statement = db.prepare(sql);
  if (!statement.step()) db.fail(SQLITE_CORRUPT, "reading its header");
  return statement.column_int64(0);
}

[[noreturn]] void throw_newer(const std::string& path, int64_t version) {
  throw Error(ErrorCode::kStore, path + " was made by a newer spkid (store schema version " +
                                     std::to_string(version) + "; this spkid reads up to " +
                                     std::to_string(kStoreSchemaVersion) +
                                     "): upgrade spkid to use it; it was left untouched");
}

}  // namespace

int inspect_database(const std::string& path) {
  Database db(path, /*read_only=*/true, kStoreBusyTimeoutMs);
  // One snapshot for the three reads: a store being created concurrently must not look half
  // made. BEGIN reads nothing yet; the first query fails on a file that is not SQLite.
  Transaction snapshot(db, Transaction::Kind::kRead);
  const int64_t version = query_int(db, "PRAGMA user_version");
  const int64_t application_id = query_int(db, "PRAGMA application_id");
  const int64_t num_schema_objects = query_int(db, "SELECT count(*) FROM sqlite_schema");
  snapshot.commit();
  const bool empty = version == 0 && application_id == 0 && num_schema_objects == 0;
  if (!empty && application_id != kApplicationId) {
    throw Error(ErrorCode::kStore, path +
                                       " is an SQLite database of another program, not an spkid "
                                       "store: choose another store folder; it was left untouched");
  }
  if (version > kStoreSchemaVersion) throw_newer(path, version);
  return static_cast<int>(version);
}

void enable_write_ahead_log(Database& db) {
  {
    Statement current = db.prepare("PRAGMA journal_mode");
    if (current.step() && current.column_text(0) == "wal") return;
  }  // finalised here: an unfinished statement would hold a transaction open
  // Changing the journal mode needs a moment alone with the file, which the busy handler does
  // not always wait for: retry while other connections (a concurrent first open) hold it.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kStoreBusyTimeoutMs);
  for (;;) {
    std::string mode;
    const int rc = sqlite3_exec(
        db.handle(), "PRAGMA journal_mode = WAL",
        [](void* out, int, char** values, char**) {
          *static_cast<std::string*>(out) = values[0] ? values[0] : "";
          return 0;
        },
        &mode, nullptr);
    if ((rc & 0xff) == SQLITE_BUSY && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    if (rc != SQLITE_OK) db.fail(rc, "switching it to write-ahead logging");
    if (mode != "wal") {
      throw Error(ErrorCode::kStore, "cannot use write-ahead logging for " + db.path() +
                                         " (journal mode stays '" + mode +
                                         "'): put the store on a local filesystem");
    }
    return;
  }
}

void migrate(Database& db) {
  if (query_int(db, "PRAGMA user_version") == kStoreSchemaVersion) return;
  for (const Migration& migration : kMigrations) {
    Transaction transaction(db, Transaction::Kind::kWrite);
    // Read under the write lock: another process may have migrated since the check above.
    const int64_t version = query_int(db, "PRAGMA user_version");
    if (version > kStoreSchemaVersion) throw_newer(db.path(), version);
    if (version >= migration.version) continue;
    db.exec(migration.sql, "upgrading its schema");
    db.exec(("PRAGMA user_version = " + std::to_string(migration.version)).c_str(),
            "upgrading its schema");
    transaction.commit();
  }
}

}  // namespace spkid::store_detail
