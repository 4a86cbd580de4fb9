// What the parts of the Store share: its connection, the constants of its schema, and the
// helpers more than one of store.cpp (opening, settings, digests), store_speakers.cpp (speakers,
// recordings, clips) and store_models.cpp (models and embeddings) uses. Private to src/store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "spkid/error.h"
#include "spkid/store.h"
#include "store/sqlite_db.h"

namespace spkid {

struct Store::Impl {
  std::string dir;
  store_detail::Database db;
  StoreAccess access;

  SpeakerSummary remove_speaker(const std::string& name);

  void require_write_access() const {
    if (access == StoreAccess::kRead) {
      throw Error(ErrorCode::kInternal,
                  "the store " + dir + " was opened for reading: open it for writing to change it");
    }
  }
};

namespace store_detail {

inline constexpr const char* kFeatureOptionsKey = "feature_options";
inline constexpr const char* kModelFilePrefix = "model-";

[[noreturn]] void invalid(const std::string& message);

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

bool all_finite(const std::vector<float>& values);

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

Statement& bind_floats(Statement& statement, int index, const std::vector<float>& values);
// Throws Error(kStore) when the blob does not hold `count` floats: the store is damaged.
std::vector<float> read_floats(const Statement& statement, int column, std::size_t count,
                               const std::string& db_path);

FeatureOptions parse_stored_feature_options(const std::string& json, const std::string& db_path);
std::optional<FeatureOptions> stored_feature_options(Database& db);

void require_model(Database& db, int64_t model_id);
// Embeddings by one model must all have one size, across calls too.
void require_embedding_dims(Database& db, int64_t model_id, std::size_t dims);

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
void unlink_model_files(const std::string& dir, const std::vector<std::string>& files);

}  // namespace store_detail
}  // namespace spkid
