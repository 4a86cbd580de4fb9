#include "network.h"

#include <cmath>
#include <string>

namespace spkid {
namespace {

constexpr int kConvKernel = 3;
constexpr int kConvPadding = 1;  // every convolution keeps frames x bands
constexpr int kPoolSize = 2;

// A block whose weights nothing will change: its layers in eval mode (fixed batch-norm
// statistics, no dropout) and no gradient wanted for them. The layers' own modes count, not the
// container's: a cloned network's containers come back in training mode.
bool is_frozen(torch::nn::Sequential& block) {
  for (const auto& layer : block->children()) {
    if (layer->is_training()) return false;
  }
  if (!torch::GradMode::is_enabled()) return true;
  for (const auto& p : block->parameters()) {
    if (p.requires_grad()) return false;
  }
  return true;
}

// A frozen block as oneDNN runs it fastest, on a tensor in oneDNN's blocked layout: each batch
// norm folded into the convolution before it, and the max pooling before the ReLU it commutes
// with, so the ReLU sees a quarter of the values. The same outputs as the modules' own
// forward() to float rounding, several times faster (bench/README.md, "Embedding").
torch::Tensor run_frozen_block(torch::nn::Sequential& block, torch::Tensor x) {
  const auto modules = block->children();
  for (size_t i = 0; i < modules.size(); ++i) {
    const auto& module = modules[i];
    const bool pool_next =
        i + 1 < modules.size() && modules[i + 1]->as<torch::nn::MaxPool2d>() != nullptr;
    if (const auto* conv = module->as<torch::nn::Conv2d>()) {
      const auto* norm = modules.at(i + 1)->as<torch::nn::BatchNorm2d>();
      TORCH_CHECK(norm != nullptr, "a convolution without its batch norm");
      const auto scale = norm->weight / torch::sqrt(norm->running_var + norm->options.eps());
      x = at::mkldnn_convolution(x, conv->weight * scale.view({-1, 1, 1, 1}),
                                 norm->bias - norm->running_mean * scale,
                                 {kConvPadding, kConvPadding}, {1, 1}, {1, 1}, 1);
      ++i;
    } else if (module->as<torch::nn::ReLU>() != nullptr) {
      if (pool_next) {
        x = at::max_pool2d(x, {kPoolSize, kPoolSize}, {kPoolSize, kPoolSize});
        ++i;
      }
      x = torch::relu_(x);
    } else if (module->as<torch::nn::MaxPool2d>() != nullptr) {
      x = at::max_pool2d(x, {kPoolSize, kPoolSize}, {kPoolSize, kPoolSize});
    } else {
      TORCH_CHECK(module->as<torch::nn::Dropout>() != nullptr, "an unexpected layer in a block");
    }
  }
  return x;
}

}  // namespace

ClassifierHeadImpl::ClassifierHeadImpl(int embedding_size, int num_classes,
                                       const NetworkOptions& options)
    : embedding_size_(embedding_size),
      num_classes_(num_classes),
      loss_(options.loss),
      margin_(options.aam_margin),
      scale_(options.aam_scale) {
  reset();
}

void ClassifierHeadImpl::reset() {
  weight = register_parameter("weight", torch::empty({num_classes_, embedding_size_}));
  torch::nn::init::xavier_normal_(weight);
  if (loss_ == LossType::kSoftmax) {
    bias = register_parameter("bias", torch::zeros({num_classes_}));
  }
}

torch::Tensor ClassifierHeadImpl::forward(const torch::Tensor& embedding,
                                          const torch::Tensor& targets) {
  namespace F = torch::nn::functional;
  if (loss_ == LossType::kSoftmax) return F::linear(embedding, weight, bias);

  const auto unit = F::normalize(embedding, F::NormalizeFuncOptions().dim(1));
  const auto directions = F::normalize(weight, F::NormalizeFuncOptions().dim(1));
  // Clamped away from +-1 so the angle's gradient stays finite.
  auto cosine = torch::matmul(unit, directions.t()).clamp(-1 + 1e-7, 1 - 1e-7);
  if (targets.defined() && margin_ > 0) {
    const auto index = targets.unsqueeze(1);
    const auto target_cosine = cosine.gather(1, index);
    const auto sine = (1 - target_cosine * target_cosine).sqrt();
    auto with_margin = target_cosine * std::cos(margin_) - sine * std::sin(margin_);
    // Past pi - m, cos(theta + m) would grow again; ArcFace's linear extension keeps it falling.
    const double threshold = std::cos(M_PI - margin_);
    with_margin = torch::where(target_cosine > threshold, with_margin,
                               target_cosine - std::sin(M_PI - margin_) * margin_);
    cosine = cosine.scatter(1, index, with_margin);
  }
  return cosine * scale_;
}

SpeakerNetImpl::SpeakerNetImpl(NetworkOptions options, int num_features, int num_classes)
    : options_(std::move(options)), num_features_(num_features), num_classes_(num_classes) {
  reset();
}

void SpeakerNetImpl::reset() {
  namespace nn = torch::nn;
  blocks_.clear();
  int in_channels = 1;
  int pooled_bands = num_features_;
  for (size_t b = 0; b < options_.channels.size(); ++b) {
    nn::Sequential block;
    const int out_channels = options_.channels[b];
    for (int c = 0; c < options_.convs_per_block; ++c) {
      // No conv bias: the batch norm that follows has its own.
      block->push_back(nn::Conv2d(nn::Conv2dOptions(in_channels, out_channels, kConvKernel)
                                      .padding(kConvPadding)
                                      .bias(false)));
      block->push_back(nn::BatchNorm2d(out_channels));
      block->push_back(nn::ReLU(nn::ReLUOptions().inplace(true)));
      in_channels = out_channels;
    }
    block->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(kPoolSize)));
    if (options_.conv_dropout > 0) block->push_back(nn::Dropout(options_.conv_dropout));
    blocks_.push_back(register_module("block" + std::to_string(b + 1), block));
    pooled_bands /= 2;
  }
  const int pooled_size = 2 * in_channels * pooled_bands;  // mean and std of every channel x band
  pooled_dropout_ = register_module("pooled_dropout", nn::Dropout(options_.dense_dropout));
  dense_ = register_module("dense", nn::Linear(pooled_size, options_.dense_size));
  dense_norm_ = register_module("dense_norm", nn::BatchNorm1d(options_.dense_size));
  embedding_ =
      register_module("embedding", nn::Linear(options_.dense_size, options_.embedding_size));
  head_ = register_module("head", ClassifierHead(options_.embedding_size, num_classes_, options_));
}

torch::Tensor SpeakerNetImpl::embed(const torch::Tensor& features) {
  return embed_pooled(pool(features));
}

torch::Tensor SpeakerNetImpl::pool(const torch::Tensor& features) {
  auto x = features.unsqueeze(1);  // [batch, 1 channel, frames, bands]
  size_t frozen = 0;
  while (frozen < blocks_.size() && is_frozen(blocks_[frozen])) ++frozen;
  if (frozen > 0) {
    // The leading frozen blocks (all of them in inference) run in oneDNN's layout.
    torch::NoGradGuard no_grad;
    x = x.contiguous().to_mkldnn();
    for (size_t b = 0; b < frozen; ++b) x = run_frozen_block(blocks_[b], x);
    x = x.to_dense();
  }
  for (size_t b = frozen; b < blocks_.size(); ++b) x = blocks_[b]->forward(x);
  // Statistics pooling over time: the embedding does not depend on the clip's length.
  const auto mean = x.mean(2);
  const auto std = x.var(2, /*unbiased=*/false).clamp_min(1e-5).sqrt();
  return torch::cat({mean.flatten(1), std.flatten(1)}, 1);
}

torch::Tensor SpeakerNetImpl::embed_pooled(const torch::Tensor& pooled) {
  const auto dropped = pooled_dropout_->forward(pooled);
  const auto hidden = torch::relu(dense_norm_->forward(dense_->forward(dropped)));
  return embedding_->forward(hidden);
}

torch::Tensor SpeakerNetImpl::logits(const torch::Tensor& embedding, const torch::Tensor& targets) {
  return head_->forward(embedding, targets);
}

void SpeakerNetImpl::set_cosine_head(const torch::Tensor& weight, double margin, double scale) {
  options_.loss = LossType::kAam;
  options_.aam_margin = margin;
  options_.aam_scale = scale;
  num_classes_ = static_cast<int>(weight.size(0));
  ClassifierHead head(options_.embedding_size, num_classes_, options_);
  {
    torch::NoGradGuard no_grad;
    head->weight.copy_(weight);
  }
  head_ = replace_module("head", head);
}

std::vector<torch::Tensor> SpeakerNetImpl::begin_training(TrainScope scope) {
  if (scope == TrainScope::kAll) {
    train();
    return parameters();
  }
  eval();
  for (auto& p : parameters()) p.set_requires_grad(false);
  std::vector<std::shared_ptr<torch::nn::Module>> trained = {head_.ptr()};
  if (scope == TrainScope::kEmbeddingAndHead || scope == TrainScope::kLastBlockAndHead) {
    trained.insert(trained.end(), {dense_.ptr(), dense_norm_.ptr(), embedding_.ptr()});
    trained.push_back(pooled_dropout_.ptr());
  }
  if (scope == TrainScope::kLastBlockAndHead) trained.push_back(blocks_.back().ptr());
  std::vector<torch::Tensor> parameters;
  for (const auto& module : trained) {
    module->train();
    for (auto& p : module->parameters()) {
      p.set_requires_grad(true);
      parameters.push_back(p);
    }
  }
  return parameters;
}

void SpeakerNetImpl::end_training() {
  eval();
  for (auto& p : parameters()) p.set_requires_grad(true);
}

double SpeakerNetImpl::multiply_adds(int num_frames) const {
  double total = 0;
  double frames = num_frames;
  double bands = num_features_;
  int in_channels = 1;
  for (const int out_channels : options_.channels) {
    for (int c = 0; c < options_.convs_per_block; ++c) {
      total += frames * bands * out_channels * in_channels * kConvKernel * kConvKernel;
      in_channels = out_channels;
    }
    frames = std::floor(frames / 2);
    bands = std::floor(bands / 2);
  }
  const double pooled_size = 2.0 * in_channels * bands;
  total +=
      pooled_size * options_.dense_size + double(options_.dense_size) * options_.embedding_size;
  return total + double(options_.embedding_size) * num_classes_;
}

}  // namespace spkid
