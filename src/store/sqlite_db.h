// A thin RAII layer over the SQLite C API for the store: connections, prepared statements and
// transactions, with SQLite's failures turned into spkid::Error messages a user can act on.
// Private to src/store: SQLite types never reach include/spkid.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "spkid/error.h"

namespace spkid::store_detail {

class Statement;

// What SQLITE_FULL throws: the disk holding the database has no room for a write. An
// Error(kStore) like the others, told apart so that remove_speaker() can free the disk reserve.
class DiskFull : public Error {
 public:
  using Error::Error;
};

class Database {
 public:
  // Opens an existing database file; never creates one (the store creates the file itself with
  // mode 0600 before SQLite sees it).
  Database(const std::string& path, bool read_only, int busy_timeout_ms);
  ~Database();
  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }

  // Runs one or more statements that return no rows; `doing` names the step in errors.
  void exec(const char* sql, const char* doing = "updating it");
  Statement prepare(const char* sql);
  int64_t last_insert_rowid() const;
  int changes() const;
  // Copies the write-ahead log into the database and empties it, waiting at most `wait_ms` for
  // readers. Best effort: a reader elsewhere may hold it back, and later writes overwrite the
  // old frames anyway.
  void try_truncate_wal(int wait_ms);

  // Throws the Error that describes `rc` for this database; `doing` says what failed.
  [[noreturn]] void fail(int rc, const std::string& doing) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
  int busy_timeout_ms_ = 0;
};

// A prepared statement; bind indices are 1-based as in SQL ("?1").
class Statement {
 public:
  Statement(const Database& db, const char* sql);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Statement& bind(int index, const std::string& text) {
    return bind(index, std::string_view(text));
  }
  Statement& bind_blob(int index, const void* data, std::size_t bytes);
  Statement& bind_null(int index);

  // Returns true when a row is ready, false when the statement has finished.
  bool step();
  // Steps a statement that returns no rows.
  void run();
  // Makes the statement ready to run again with new bindings.
  void reset();

  bool is_null(int column) const;
  int64_t column_int64(int column) const;
  int column_int(int column) const;
  double column_double(int column) const;
  std::string column_text(int column) const;
  const void* column_blob(int column) const;
  std::size_t column_bytes(int column) const;

 private:
  const Database* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE for writers (takes the write lock up front, so two writers never deadlock on
// a lock upgrade) or BEGIN DEFERRED for a consistent multi-statement read. Rolls back in the
// destructor unless commit() ran.
class Transaction {
 public:
  enum class Kind { kRead, kWrite };
  Transaction(Database& db, Kind kind);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool open_ = true;
};

}  // namespace spkid::store_detail
