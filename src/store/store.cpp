// The Store: opening it (the folder's safety, the schema, the disk reserve), its settings and
// digests. Speakers and their recordings are in store_speakers.cpp, models and embeddings in
// store_models.cpp; what they share is in store_internal.h.
#include "spkid/store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>

#include "spkid/error.h"
#include "spkid/fs_util.h"
#include "store/disk_reserve.h"
#include "store/schema.h"
#include "store/sqlite_db.h"
#include "store/store_internal.h"

namespace spkid {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the store keeps float vectors, digests and speech as little-endian values");

namespace store_detail {

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, message);
}

bool all_finite(const std::vector<float>& values) {
  return std::all_of(values.begin(), values.end(), [](float x) { return std::isfinite(x); });
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

FeatureOptions parse_stored_feature_options(const std::string& json, const std::string& db_path) {
  try {
    return FeatureOptions::from_json(json);
  } catch (const Error& e) {
    throw Error(ErrorCode::kStore, db_path + " holds feature options this spkid cannot read (" +
                                       e.what() + "): upgrade spkid or restore a backup");
  }
}

std::optional<FeatureOptions> stored_feature_options(Database& db) {
  Statement query = db.prepare("SELECT value FROM settings WHERE key = ?1");
  query.bind(1, kFeatureOptionsKey);
  if (!query.step()) return std::nullopt;
  return parse_stored_feature_options(query.column_text(0), db.path());
}

void require_model(Database& db, int64_t model_id) {
  Statement query = db.prepare("SELECT 1 FROM models WHERE id = ?1");
  query.bind(1, model_id);
  if (!query.step()) {
    invalid("there is no model with id " + std::to_string(model_id) + " in " + db.path());
  }
}

void require_embedding_dims(Database& db, int64_t model_id, std::size_t dims) {
  Statement query = db.prepare("SELECT dims FROM embeddings WHERE model_id = ?1 LIMIT 1");
  query.bind(1, model_id);
  if (query.step() && static_cast<std::size_t>(query.column_int64(0)) != dims) {
    invalid("model " + std::to_string(model_id) + "'s stored embeddings have " +
            std::to_string(query.column_int64(0)) + " dimensions, these have " +
            std::to_string(dims) + ": compute them with the same model");
  }
}

void unlink_model_files(const std::string& dir, const std::vector<std::string>& files) {
  for (const std::string& file : files) {
    ::unlink((std::filesystem::path(dir) / file).c_str());
  }
}

}  // namespace store_detail

using namespace store_detail;

namespace {

// Younger unreferenced model files may belong to a registration still in progress elsewhere.
constexpr std::chrono::hours kOrphanFileAge{1};

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

}  // namespace

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
