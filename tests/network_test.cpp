// The speaker network's two ways through its blocks: the modules' own forward() (training) and
// the fused oneDNN path for frozen blocks (inference, and the blocks fine-tuning leaves alone).
#include "network.h"

#include <gtest/gtest.h>

namespace spkid {
namespace {

constexpr int kBands = 64;

// A network whose batch norms hold statistics far from the identity, so that a wrong folding
// of them into the convolutions changes the embedding.
SpeakerNet network_with_statistics(const NetworkOptions& options) {
  torch::manual_seed(7);
  SpeakerNet net(options, kBands, 5);
  torch::NoGradGuard no_grad;
  for (auto& module : net->modules(/*include_self=*/false)) {
    if (auto* norm = module->as<torch::nn::BatchNorm2d>()) {
      norm->running_mean.uniform_(-0.5, 0.5);
      norm->running_var.uniform_(0.3, 3);
      norm->weight.uniform_(-1.5, 1.5);  // negative scales too: pooling must follow the fold
      norm->bias.uniform_(-0.5, 0.5);
    }
  }
  net->eval();
  return net;
}

// The modules' own forward(): every weight wants a gradient, so no block counts as frozen.
torch::Tensor embed_through_modules(SpeakerNet& net, const torch::Tensor& features) {
  for (auto& p : net->parameters()) p.set_requires_grad(true);
  return net->embed(features).detach();
}

TEST(SpeakerNet, FrozenBlocksGiveTheModulesOwnEmbedding) {
  for (const int convs_per_block : {1, 2}) {
    NetworkOptions options;
    options.convs_per_block = convs_per_block;
    SpeakerNet net = network_with_statistics(options);
    // 3 s and an odd length, whose last frame every pooling drops.
    for (const int frames : {300, 157}) {
      const auto features = torch::randn({3, frames, kBands});
      const auto reference = embed_through_modules(net, features);
      torch::Tensor fused;
      {
        torch::InferenceMode inference;
        fused = net->embed(features);
      }
      EXPECT_TRUE(torch::allclose(fused, reference, 1e-4, 1e-4))
          << convs_per_block << " convolutions per block, " << frames << " frames: largest "
          << "difference " << (fused - reference).abs().max().item<float>();
    }
  }
}

TEST(SpeakerNet, FineTuningTrainsTheLastBlockOnTopOfTheFrozenOnes) {
  SpeakerNet net = network_with_statistics(NetworkOptions{});
  const auto features = torch::randn({4, 200, kBands});
  const auto before = embed_through_modules(net, features);

  net->begin_training(TrainScope::kLastBlockAndHead);
  net->eval();  // dropout off in the trained part too, to compare with the reference
  const auto embedding = net->embed(features);
  ASSERT_TRUE(embedding.requires_grad());
  EXPECT_TRUE(torch::allclose(embedding.detach(), before, 1e-4, 1e-4));
  embedding.sum().backward();

  int with_gradient = 0;
  for (const auto& item : net->named_parameters()) {
    const bool first_blocks = item.key().rfind("block1.", 0) == 0 ||
                              item.key().rfind("block2.", 0) == 0 ||
                              item.key().rfind("block3.", 0) == 0;
    if (first_blocks) {
      EXPECT_FALSE(item.value().grad().defined()) << item.key() << " is frozen";
    } else if (item.key().rfind("block4.", 0) == 0) {
      ASSERT_TRUE(item.value().grad().defined()) << item.key() << " is trained";
      EXPECT_GT(item.value().grad().abs().sum().item<float>(), 0) << item.key();
      ++with_gradient;
    }
  }
  EXPECT_GT(with_gradient, 0);
  net->end_training();
}

}  // namespace
}  // namespace spkid
