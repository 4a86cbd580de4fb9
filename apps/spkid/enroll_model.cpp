// spkid-model's part of enroll: the store's current speaker model embeds the new clips.
#include <spdlog/spdlog.h>

#include <memory>

#include "spkid/model_embedder.h"
#include "store_commands.h"

namespace spkid::cli {
namespace {

std::unique_ptr<ClipEmbedder> current_model_embedder(const Store& store,
                                                     const FeatureOptions& features) {
  const std::optional<ModelRecord> model = store.current_model();
  if (!model) return nullptr;
  try {
    auto embedder = make_model_embedder(SpeakerModel::load(model->path), model->id);
    if (embedder->feature_options() != features) {
      throw Error(ErrorCode::kModel, "it takes other features than the store's clips");
    }
    return embedder;
  } catch (const Error& error) {
    spdlog::warn(
        "the store's current model {} cannot embed the new clips ({}); they are enrolled "
        "without embeddings",
        model->file_name, error.what());
    return nullptr;
  }
}

// Set before main runs: this object file is linked into spkid-model only.
const bool kFactorySet = (set_model_embedder_factory(&current_model_embedder), true);

}  // namespace
}  // namespace spkid::cli
