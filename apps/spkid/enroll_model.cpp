// spkid-model's part of enroll: the store's current speaker model embeds the new clips.
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>

#include "spkid/model.h"
#include "store_commands.h"

namespace spkid::cli {
namespace {

// Until a model says otherwise: embeddings of one voice by a trained model are far closer.
constexpr double kDefaultSameSpeakerCosine = 0.5;

class CurrentModelEmbedder final : public ClipEmbedder {
 public:
  CurrentModelEmbedder(SpeakerModel model, int64_t model_id)
      : model_(std::move(model)), model_id_(model_id) {}
  int64_t model_id() const override { return model_id_; }
  const FeatureOptions& feature_options() const override { return model_.feature_options(); }
  double same_speaker_min_cosine() const override {
    return model_.threshold("cosine", kDefaultSameSpeakerCosine);
  }
  std::vector<std::vector<float>> embed(const std::vector<FeatureMatrix>& clips) const override {
    // LibTorch spreads one batch over the cores itself.
    std::lock_guard<std::mutex> lock(mutex_);
    return model_.embed_batch(clips);
  }

 private:
  SpeakerModel model_;
  int64_t model_id_;
  mutable std::mutex mutex_;
};

std::unique_ptr<ClipEmbedder> current_model_embedder(const Store& store,
                                                     const FeatureOptions& features) {
  const std::optional<ModelRecord> model = store.current_model();
  if (!model) return nullptr;
  try {
    auto embedder =
        std::make_unique<CurrentModelEmbedder>(SpeakerModel::load(model->path), model->id);
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
