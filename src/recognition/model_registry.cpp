// The models a store holds: the shipped base model a store starts from, its copy in the store,
// and the base model a trained classifier was made from (model_registry.h).
#include "spkid/model_registry.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "spkid/error.h"
#include "spkid/model.h"

namespace spkid {
namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in && !in.eof()) {
    throw Error(ErrorCode::kIo, "cannot read " + path + ": check its permissions");
  }
  return bytes;
}

ModelRecord register_base_model(Store& store, const std::string& base_path, bool make_current) {
  const SpeakerModel base = SpeakerModel::load(base_path);
  if (const auto stored = store.feature_options()) base.check_features(*stored);
  NewModel model;
  model.kind = kBaseModelKind;
  model.feature_options = base.feature_options();
  model.metadata_json = base.metadata_json();
  model.file_extension = "pt";
  model.make_current = make_current;
  return store.register_model(model, read_bytes(base_path));
}

}  // namespace

bool readable_file(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

std::string base_model_path() {
  if (const char* env = std::getenv("SPKID_BASE_MODEL"); env != nullptr && *env != '\0') {
    if (!readable_file(env)) {
      throw Error(ErrorCode::kModel, std::string("SPKID_BASE_MODEL is ") + env +
                                         ", which is not a file: point it at a spkid model or "
                                         "unset it to use the shipped one");
    }
    return env;
  }
  const std::string installed = std::string(SPKID_INSTALLED_MODEL_DIR) + "/base.pt";
  if (readable_file(installed)) return installed;
  const std::string source_tree = std::string(SPKID_SOURCE_MODEL_DIR) + "/base.pt";
  if (readable_file(source_tree)) return source_tree;
  throw Error(ErrorCode::kModel, "the shipped base model is missing (looked for " + installed +
                                     " and " + source_tree +
                                     "): reinstall spkid, or set SPKID_BASE_MODEL to a model");
}

// `record`, its file checked against the store's digest (Store::check_model_file), or when the
// file has gone (deleted by hand): the base model's copy is made again
// from the shipped base model (a new record: the old one's embeddings were by the file that
// went); a trained classifier cannot be, so the error says to train again.
ModelRecord with_model_file(Store& store, const ModelRecord& record) {
  if (readable_file(record.path)) {
    store.check_model_file(record);
    return record;
  }
  if (record.kind != kBaseModelKind) {
    throw Error(ErrorCode::kModel, "the store's trained model " + record.path +
                                       " is missing: run spkid train to make it again");
  }
  const std::string shipped = base_model_path();
  store.remove_model(record.id);
  return register_base_model(store, shipped, record.is_current);
}

ModelRecord ensure_current_model(Store& store, const std::string& base_path) {
  if (auto current = store.current_model()) return with_model_file(store, *current);
  // No current model: a new store, or its classifier went with a removed speaker. The store's
  // copy of the base model answers again.
  const auto models = store.models();
  for (auto it = models.rbegin(); it != models.rend(); ++it) {
    if (it->kind == kBaseModelKind) {
      store.set_current_model(it->id);
      return with_model_file(store, *store.current_model());
    }
  }
  return register_base_model(store, base_path, true);
}

ModelRecord store_base_model(Store& store) {
  const auto models = store.models();
  for (auto it = models.rbegin(); it != models.rend(); ++it) {
    if (it->kind == kBaseModelKind) return with_model_file(store, *it);
  }
  return register_base_model(store, base_model_path(), !store.current_model().has_value());
}

ModelRecord classifier_base_model(const Store& store, const SpeakerModel& classifier) {
  std::string base_file;
  try {
    base_file = nlohmann::json::parse(classifier.provenance_json()).value("base_model", "");
  } catch (const nlohmann::json::exception&) {
    // No provenance to read: reported below like a missing record.
  }
  for (const ModelRecord& record : store.models()) {
    if (record.kind == kBaseModelKind && record.file_name == base_file) return record;
  }
  throw Error(ErrorCode::kModel,
              "the store's classifier was trained from a base model it no longer holds (" +
                  (base_file.empty() ? std::string("none recorded") : base_file) +
                  "): run spkid train again");
}

}  // namespace spkid
