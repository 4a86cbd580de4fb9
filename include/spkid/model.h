// The speaker network: a clip's log-Mel features -> a unit-length speaker embedding (for cosine
// scoring against enrolled speakers) and posteriors over the speakers the model was trained on.
// One file holds the weights and everything needed to use them (feature settings, labels,
// architecture, thresholds). No LibTorch type appears here: the network lives behind a pimpl.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "spkid/features.h"

namespace spkid {

// How the classifier head turns an embedding into logits.
enum class LossType {
  kSoftmax,  // linear head with bias over the raw embedding, plain softmax cross-entropy
  kAam,      // cosine head over the unit embedding, additive angular margin (ArcFace) in training
};
const char* loss_type_name(LossType loss) noexcept;  // "softmax", "aam"
LossType parse_loss_type(const std::string& name);   // throws Error(kInvalidArgument)

// Architecture hyper-parameters, recorded in the model file. The input is a clip as a
// 1-channel image of frames x Mel bands; each block is `convs_per_block` x (3x3 conv, batch norm,
// ReLU), then 2x2 max pooling and dropout; mean+std statistics pooling over time; dense layer;
// embedding layer; head.
struct NetworkOptions {
  std::vector<int> channels = {16, 32, 64, 128};  // one block per entry
  int convs_per_block = 1;
  double conv_dropout = 0.1;
  int dense_size = 256;
  int embedding_size = 192;
  double dense_dropout = 0.2;
  LossType loss = LossType::kAam;
  double aam_margin = 0.2;  // radians added to the target angle in training
  double aam_scale = 30;    // cosine logits are multiplied by this

  // Shortest clip (in frames) the network takes: every pooling needs at least 2 frames.
  int min_frames() const;

  void validate() const;  // throws Error(kInvalidArgument) naming the bad field
  std::string to_json() const;
  static NetworkOptions from_json(const std::string& json);  // throws Error(kInvalidArgument)
  bool operator==(const NetworkOptions& other) const;
  bool operator!=(const NetworkOptions& other) const { return !(*this == other); }
};

// What a model is, for `spkid info`-style reports and the metadata file beside a model.
struct ModelInfo {
  std::string spkid_version;  // of the spkid that wrote the file
  FeatureOptions features;
  NetworkOptions network;
  std::vector<std::string> labels;
  std::map<std::string, double> thresholds;
  std::string provenance_json;  // how the model was made (corpus, epochs, measured figures)
  int64_t num_parameters = 0;
  double multiply_adds_per_second = 0;  // embedding forward pass, per second of audio
};

// One clip's outputs from a single forward pass.
struct ClipOutput {
  std::vector<float> embedding;   // unit length
  std::vector<float> posteriors;  // over labels(), sums to 1
};

namespace detail {
struct ModelAccess;  // lets the training code in src/model reach the network
}

class SpeakerModel {
 public:
  struct Impl;  // the network and metadata, defined where LibTorch is visible

  // A freshly initialised network for `labels` (deterministic for a seed).
  SpeakerModel(const FeatureOptions& features, const NetworkOptions& network,
               std::vector<std::string> labels, uint64_t seed = 1);
  ~SpeakerModel();
  SpeakerModel(SpeakerModel&&) noexcept;
  SpeakerModel& operator=(SpeakerModel&&) noexcept;
  SpeakerModel clone() const;  // a deep copy with its own weights

  // Throws Error: kNotFound, kModel (corrupt, truncated, not a spkid model, newer format).
  static SpeakerModel load(const std::string& path);
  // Also refuses a model whose feature settings differ from `features` (Error kModel).
  static SpeakerModel load(const std::string& path, const FeatureOptions& features);
  // Writes a temporary file beside `path`, syncs it and renames it into place. Throws Error(kIo).
  void save(const std::string& path) const;
  // The bytes save() writes, e.g. for a store to keep (Store::register_model).
  std::string serialize() const;

  const FeatureOptions& feature_options() const;
  const NetworkOptions& network_options() const;
  const std::vector<std::string>& labels() const;
  int embedding_size() const;
  ModelInfo info() const;
  // What the file records (features, network, labels, thresholds, provenance) plus the
  // parameter count and multiply-adds per second of audio, as pretty-printed JSON.
  std::string metadata_json() const;
  // Multiply-adds of one forward pass over `num_frames` frames (embedding and head).
  double multiply_adds(int num_frames) const;

  // Throws Error(kModel) when features made with `features` cannot be fed to this model.
  void check_features(const FeatureOptions& features) const;

  // Each clip is frames x bands from a FeatureExtractor with feature_options(), at least
  // network_options().min_frames() frames. Throws Error(kInvalidArgument) otherwise.
  std::vector<float> embed(const FeatureMatrix& clip) const;
  // Clips of equal length go through the network in one forward pass (one pass per distinct
  // length); results are in input order.
  std::vector<std::vector<float>> embed_batch(const std::vector<FeatureMatrix>& clips) const;
  std::vector<float> classify(const FeatureMatrix& clip) const;
  std::vector<ClipOutput> process_batch(const std::vector<FeatureMatrix>& clips) const;

  // The classifier's rows at unit length, one per label: where each label's voices lie in the
  // embedding space (AAM head). Empty for a softmax head.
  std::vector<std::vector<float>> class_vectors() const;
  // Unit-length embeddings of speakers outside any store, for score normalisation (AsNorm): the
  // pretraining classifier's rows, which fine-tuning keeps when it replaces the head. Empty for
  // a softmax model that was never fine-tuned.
  std::vector<std::vector<float>> cohort() const;

  // Named decision thresholds (e.g. "cosine", "posterior"), calibrated by training.
  double threshold(const std::string& name, double fallback) const;
  void set_threshold(const std::string& name, double value);
  // Free-form JSON object saying how the model was made; recorded in the file.
  const std::string& provenance_json() const;
  void set_provenance_json(const std::string& json);

 private:
  explicit SpeakerModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend struct detail::ModelAccess;
};

// Writes <stem>.json (metadata_json()) and <stem>.labels.txt (one label a line) beside
// `model_path`, for people and tools that do not read model files. Throws Error(kIo).
void write_model_sidecars(const SpeakerModel& model, const std::string& model_path);

// LibTorch's intra-op threads for every model in the process (<= 0: all cores).
void set_model_threads(int num_threads);

}  // namespace spkid
