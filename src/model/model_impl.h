// What is behind SpeakerModel's pimpl, for the training code in src/model.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "network.h"
#include "spkid/model.h"

namespace spkid {

struct SpeakerModel::Impl {
  FeatureOptions features;
  std::vector<std::string> labels;
  std::map<std::string, double> thresholds;
  std::string provenance_json = "{}";
  SpeakerNet net{nullptr};  // its options() are the model's NetworkOptions
  // [speakers, embedding_size] unit rows: the pretraining head's, once fine-tuning replaced it
  // (undefined while the head is still the pretraining one).
  torch::Tensor cohort;
};

namespace detail {

struct ModelAccess {
  static SpeakerModel::Impl& impl(SpeakerModel& model) { return *model.impl_; }
  static const SpeakerModel::Impl& impl(const SpeakerModel& model) { return *model.impl_; }
  static SpeakerModel make(std::unique_ptr<SpeakerModel::Impl> impl) {
    return SpeakerModel(std::move(impl));
  }
};

// The metadata a model file records.
nlohmann::json metadata(const SpeakerModel::Impl& impl);

// The archive keys of a model file, shared with training checkpoints (a checkpoint is a model
// file with the training state added, so it loads as a model too).
void write_model_archive(const SpeakerModel& model, torch::serialize::OutputArchive& archive);
SpeakerModel read_model_archive(torch::serialize::InputArchive& archive, const std::string& path);
// Loads the archive at `path`, turning LibTorch's errors into Error(kNotFound / kModel).
void load_archive(torch::serialize::InputArchive& archive, const std::string& path);
// Serialises the archive and writes it with write_file_atomically().
void save_archive(torch::serialize::OutputArchive& archive, const std::string& path);

// [clips, frames, features] float tensor from equal-length feature matrices.
torch::Tensor stack_clips(const std::vector<const FeatureMatrix*>& clips);

}  // namespace detail
}  // namespace spkid
