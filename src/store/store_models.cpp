// The Store's models (files registered with their digest, one current per kind) and the
// embeddings each model made of the clips.
#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "spkid/error.h"
#include "spkid/fs_util.h"
#include "spkid/store.h"
#include "store/sqlite_db.h"
#include "store/store_internal.h"

namespace spkid {

using namespace store_detail;

namespace {

constexpr const char* kModelSelect = R"sql(
SELECT id, file_name, kind, created_at, feature_options_json, metadata_json, is_current, sha256
FROM models
)sql";

void make_model_current(Database& db, int64_t model_id) {
  // Two statements: the unique index on the current flag forbids two current rows at any moment.
  db.exec("UPDATE models SET is_current = 0 WHERE is_current = 1");
  db.prepare("UPDATE models SET is_current = 1 WHERE id = ?1").bind(1, model_id).run();
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

}  // namespace

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

}  // namespace spkid
