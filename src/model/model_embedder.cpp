#include "spkid/model_embedder.h"

#include <mutex>

namespace spkid {
namespace {

class ModelEmbedder final : public ClipEmbedder {
 public:
  ModelEmbedder(SpeakerModel model, int64_t model_id)
      : model_(std::move(model)), model_id_(model_id) {}
  int64_t model_id() const override { return model_id_; }
  const FeatureOptions& feature_options() const override { return model_.feature_options(); }
  double same_speaker_min_cosine() const override {
    return model_.threshold("cosine", kDefaultSameSpeakerCosine);
  }
  std::vector<std::vector<float>> embed(const std::vector<FeatureMatrix>& clips) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return model_.embed_batch(clips);
  }

 private:
  SpeakerModel model_;
  int64_t model_id_;
  mutable std::mutex mutex_;
};

}  // namespace

std::unique_ptr<ClipEmbedder> make_model_embedder(SpeakerModel model, int64_t model_id) {
  return std::make_unique<ModelEmbedder>(std::move(model), model_id);
}

}  // namespace spkid
