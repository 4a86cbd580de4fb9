// The CIFAR-10-style speaker CNN as a LibTorch module (internal: only src/model sees LibTorch).
#pragma once

#include <torch/torch.h>

#include <vector>

#include "spkid/model.h"

namespace spkid {

// Embedding -> class logits: a linear layer (softmax loss) or a scaled cosine layer (AAM).
class ClassifierHeadImpl : public torch::nn::Cloneable<ClassifierHeadImpl> {
 public:
  ClassifierHeadImpl(int embedding_size, int num_classes, const NetworkOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& embedding, const torch::Tensor& targets = {});

  torch::Tensor weight;  // [classes, embedding_size]
  torch::Tensor bias;    // softmax head only

 private:
  int embedding_size_;
  int num_classes_;
  LossType loss_;
  double margin_;
  double scale_;
};
TORCH_MODULE(ClassifierHead);

// Which weights training changes: everything (pretraining), or only the end (fine-tuning): the
// head, the layers after statistics pooling (dense, embedding) with the head, or the last
// convolution block with those.
enum class TrainScope { kAll, kHead, kEmbeddingAndHead, kLastBlockAndHead };

class SpeakerNetImpl : public torch::nn::Cloneable<SpeakerNetImpl> {
 public:
  SpeakerNetImpl(NetworkOptions options, int num_features, int num_classes);
  void reset() override;

  // [batch, frames, features] -> embedding before length normalisation, [batch, embedding_size]:
  // embed_pooled(pool(features)).
  torch::Tensor embed(const torch::Tensor& features);
  // The convolution blocks and statistics pooling over time: [batch, pooled_size()].
  torch::Tensor pool(const torch::Tensor& features);
  // Dropout, dense layer, batch norm, ReLU and the embedding layer over pooled statistics.
  torch::Tensor embed_pooled(const torch::Tensor& pooled);
  // Logits over the classes. With `targets` ([batch] int64) an AAM head subtracts its margin from
  // the target class (training); without, the logits are the ones used for posteriors.
  torch::Tensor logits(const torch::Tensor& embedding, const torch::Tensor& targets = {});

  // Replaces the head with an AAM head over `weight.size(0)` classes whose rows start as
  // `weight` (e.g. the speakers' embedding centroids), with the given margin and scale.
  void set_cosine_head(const torch::Tensor& weight, double margin, double scale);
  const torch::Tensor& head_weight() const { return head_->weight; }  // [classes, embedding]

  // Puts the trained part in training mode and the frozen part in eval mode (fixed batch-norm
  // statistics, no dropout, no gradients); returns the parameters to optimise. The last block
  // is the last convolution block with the dense and embedding layers after it.
  std::vector<torch::Tensor> begin_training(TrainScope scope);
  // Back to inference: eval mode everywhere, gradients enabled again for a later training.
  void end_training();

  const NetworkOptions& options() const { return options_; }
  int num_features() const { return num_features_; }
  int num_classes() const { return num_classes_; }

  // Multiply-adds of one forward pass over `num_frames` frames, head included.
  double multiply_adds(int num_frames) const;

 private:
  NetworkOptions options_;
  int num_features_;
  int num_classes_;
  std::vector<torch::nn::Sequential> blocks_;
  torch::nn::Dropout pooled_dropout_{nullptr};
  torch::nn::Linear dense_{nullptr};
  torch::nn::BatchNorm1d dense_norm_{nullptr};
  torch::nn::Linear embedding_{nullptr};
  ClassifierHead head_{nullptr};
};
TORCH_MODULE(SpeakerNet);

}  // namespace spkid
