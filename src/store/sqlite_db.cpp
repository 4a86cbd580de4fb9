#include "store/sqlite_db.h"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <filesystem>
#include <utility>

#include "spkid/error.h"

namespace spkid::store_detail {

namespace {

[[noreturn]] void throw_sqlite_error(int rc, const std::string& reason, const std::string& path,
                                     const std::string& doing, int system_errno = 0) {
  const std::string sqlite_says = " (SQLite: " + reason + ")";
  // SQLite says SQLITE_FULL only for its own writes; growing the -shm file, or a write the kernel
  // refuses for a quota, comes back as an I/O error with the system's reason.
  if ((rc & 0xff) == SQLITE_IOERR && (system_errno == ENOSPC || system_errno == EDQUOT)) {
    rc = SQLITE_FULL;
  }
  // The schema version was checked when the store opened, so a table or column it lacks was
  // taken away since, by damage or by another program: the store's state, not a bug.
  const bool schema_damaged =
      (rc & 0xff) == SQLITE_ERROR &&
      (reason.rfind("no such table", 0) == 0 || reason.rfind("no such column", 0) == 0);
  switch (schema_damaged ? SQLITE_CORRUPT : rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      throw Error(ErrorCode::kStore, "store database " + path +
                                         " stayed locked by another spkid process while " + doing +
                                         ": try again when that process has finished");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      throw Error(ErrorCode::kStore, path + " is not a readable spkid store database" +
                                         sqlite_says +
                                         ": spkid leaves it untouched; restore a backup, or move "
                                         "it away to start a new store");
    case SQLITE_FULL:
      throw DiskFull(ErrorCode::kStore, "the disk holding " + path + " is full while " + doing +
                                            ": free some space and try again");
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_CANTOPEN:
      throw Error(ErrorCode::kStore, "cannot access " + path + " while " + doing + sqlite_says +
                                         ": check the permissions of the store folder and files");
    case SQLITE_IOERR:
      throw Error(ErrorCode::kStore, "disk error on " + path + " while " + doing + sqlite_says +
                                         ": check the disk and try again");
    default:
      throw Error(ErrorCode::kStore, "store database " + path + " failed while " + doing +
                                         sqlite_says + ": please report this");
  }
}

// A read-only connection to a database in a folder this process cannot write (a read-only
// mount, a folder without write permission): SQLite cannot make the -shm file WAL readers need,
// so the file is opened as immutable, which reads it without locks or a -shm. Nothing can be
// writing to it meanwhile, since nothing can write in that folder.
bool needs_immutable(const std::string& path, bool read_only) {
  if (!read_only) return false;
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return ::access(dir.empty() ? "." : dir.c_str(), W_OK) != 0;
}

// `path` as an SQLite URI that opens it immutable.
std::string immutable_uri(const std::string& path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string uri = "file:";
  for (const unsigned char c : path) {
    if (std::isalnum(c) != 0 || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      uri += static_cast<char>(c);
    } else {
      uri += '%';
      uri += kHex[c >> 4];
      uri += kHex[c & 0x0f];
    }
  }
  return uri + "?immutable=1";
}

}  // namespace

Database::Database(const std::string& path, bool read_only, int busy_timeout_ms)
    : path_(path), busy_timeout_ms_(busy_timeout_ms) {
  const bool immutable = needs_immutable(path, read_only);
  const int flags =
      (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX |
      SQLITE_OPEN_NOFOLLOW;  // the store's files are never links (Store::open says so first)
  const int rc = immutable ? sqlite3_open_v2(immutable_uri(path).c_str(), &db_,
                                             flags | SQLITE_OPEN_URI, nullptr)
                           : sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string reason = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw_sqlite_error(rc, reason, path, "opening it");
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, busy_timeout_ms);
  if (!read_only) {
    // The -wal and -shm files stay when the last connection closes (the log emptied): opening
    // the store then needs no new room on the disk, so a full disk can still remove a speaker.
    int persist = 1;
    sqlite3_file_control(db_, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
  }
}

Database::~Database() { sqlite3_close(db_); }

Database::Database(Database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      path_(std::move(other.path_)),
      busy_timeout_ms_(other.busy_timeout_ms_) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    sqlite3_close(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
    busy_timeout_ms_ = other.busy_timeout_ms_;
  }
  return *this;
}

void Database::exec(const char* sql, const char* doing) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    const std::string reason = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    throw_sqlite_error(rc, reason, path_, doing, sqlite3_system_errno(db_));
  }
}

Statement Database::prepare(const char* sql) { return Statement(*this, sql); }

int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

int Database::changes() const { return sqlite3_changes(db_); }

void Database::try_truncate_wal(int wait_ms) {
  sqlite3_busy_timeout(db_, wait_ms);
  sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  sqlite3_busy_timeout(db_, busy_timeout_ms_);
}

void Database::fail(int rc, const std::string& doing) const {
  throw_sqlite_error(rc, sqlite3_errmsg(db_), path_, doing, sqlite3_system_errno(db_));
}

Statement::Statement(const Database& db, const char* sql) : db_(&db) {
  const int rc = sqlite3_prepare_v2(db.handle(), sql, -1, &stmt_, nullptr);
  if (rc != SQLITE_OK) db.fail(rc, "preparing a query");
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::bind(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) db_->fail(rc, "binding a value");
  return *this;
}

Statement& Statement::bind(int index, double value) {
  const int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK) db_->fail(rc, "binding a value");
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  const int rc =
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) db_->fail(rc, "binding a value");
  return *this;
}

Statement& Statement::bind_blob(int index, const void* data, std::size_t bytes) {
  // SQLITE_STATIC: every caller keeps the bytes alive until the statement has stepped.
  const int rc = sqlite3_bind_blob64(stmt_, index, data, bytes, SQLITE_STATIC);
  if (rc != SQLITE_OK) db_->fail(rc, "binding a value");
  return *this;
}

Statement& Statement::bind_null(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) db_->fail(rc, "binding a value");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_->fail(rc, "running a query");
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

int64_t Statement::column_int64(int column) const { return sqlite3_column_int64(stmt_, column); }

int Statement::column_int(int column) const { return sqlite3_column_int(stmt_, column); }

double Statement::column_double(int column) const { return sqlite3_column_double(stmt_, column); }

std::string Statement::column_text(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  return text ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)))
              : std::string();
}

const void* Statement::column_blob(int column) const { return sqlite3_column_blob(stmt_, column); }

std::size_t Statement::column_bytes(int column) const {
  return static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column));
}

Transaction::Transaction(Database& db, Kind kind) : db_(db) {
  if (kind == Kind::kWrite) {
    db_.exec("BEGIN IMMEDIATE", "waiting to write");
  } else {
    db_.exec("BEGIN DEFERRED", "starting to read");
  }
}

Transaction::~Transaction() {
  // Rolling back after a failure must not throw; SQLite may already have rolled back itself.
  if (open_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec("COMMIT", "committing");
  open_ = false;
}

}  // namespace spkid::store_detail
