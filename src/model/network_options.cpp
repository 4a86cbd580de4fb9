// NetworkOptions: validation and the JSON form recorded in model files.
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "spkid/error.h"
#include "spkid/model.h"

namespace spkid {
namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, message);
}

constexpr int kMaxChannels = 1024;  // far beyond what fits the model-size budget
constexpr int kMaxLayerSize = 8192;

}  // namespace

const char* loss_type_name(LossType loss) noexcept {
  return loss == LossType::kSoftmax ? "softmax" : "aam";
}

LossType parse_loss_type(const std::string& name) {
  if (name == "softmax") return LossType::kSoftmax;
  if (name == "aam") return LossType::kAam;
  invalid("unknown loss '" + name + "': use softmax or aam");
}

int NetworkOptions::min_frames() const { return 2 << channels.size(); }

void NetworkOptions::validate() const {
  if (channels.empty() || channels.size() > 8) {
    invalid("network option channels needs 1 to 8 blocks (e.g. 16,32,64,128)");
  }
  for (const int c : channels) {
    if (c < 1 || c > kMaxChannels) {
      invalid("network option channels: " + std::to_string(c) + " is out of range 1-" +
              std::to_string(kMaxChannels));
    }
  }
  if (convs_per_block < 1 || convs_per_block > 4) {
    invalid("network option convs_per_block must be 1 to 4");
  }
  if (dense_size < 1 || dense_size > kMaxLayerSize) {
    invalid("network option dense_size must be 1 to " + std::to_string(kMaxLayerSize));
  }
  if (embedding_size < 2 || embedding_size > kMaxLayerSize) {
    invalid("network option embedding_size must be 2 to " + std::to_string(kMaxLayerSize));
  }
  for (const double p : {conv_dropout, dense_dropout}) {
    if (!(p >= 0 && p < 1)) invalid("network dropout must be in [0, 1)");
  }
  if (!(aam_margin >= 0 && aam_margin < 1.5)) {
    invalid("network option aam_margin must be in [0, 1.5) radians (0.2 is usual)");
  }
  if (!(aam_scale > 0 && aam_scale <= 128)) {
    invalid("network option aam_scale must be in (0, 128] (30 is usual)");
  }
}

std::string NetworkOptions::to_json() const {
  const nlohmann::json json = {{"channels", channels},
                               {"convs_per_block", convs_per_block},
                               {"conv_dropout", conv_dropout},
                               {"dense_size", dense_size},
                               {"embedding_size", embedding_size},
                               {"dense_dropout", dense_dropout},
                               {"loss", loss_type_name(loss)},
                               {"aam_margin", aam_margin},
                               {"aam_scale", aam_scale}};
  return json.dump();
}

NetworkOptions NetworkOptions::from_json(const std::string& text) {
  NetworkOptions options;
  try {
    const auto json = nlohmann::json::parse(text);
    // Every key is required: a model's architecture must never silently take a default.
    options.channels = json.at("channels").get<std::vector<int>>();
    options.convs_per_block = json.at("convs_per_block").get<int>();
    options.conv_dropout = json.at("conv_dropout").get<double>();
    options.dense_size = json.at("dense_size").get<int>();
    options.embedding_size = json.at("embedding_size").get<int>();
    options.dense_dropout = json.at("dense_dropout").get<double>();
    options.loss = parse_loss_type(json.at("loss").get<std::string>());
    options.aam_margin = json.at("aam_margin").get<double>();
    options.aam_scale = json.at("aam_scale").get<double>();
  } catch (const nlohmann::json::exception& e) {
    invalid(std::string("network options JSON is malformed (") + e.what() +
            "): re-create the model");
  }
  options.validate();
  return options;
}

bool NetworkOptions::operator==(const NetworkOptions& other) const {
  return channels == other.channels && convs_per_block == other.convs_per_block &&
         conv_dropout == other.conv_dropout && dense_size == other.dense_size &&
         embedding_size == other.embedding_size && dense_dropout == other.dense_dropout &&
         loss == other.loss && aam_margin == other.aam_margin && aam_scale == other.aam_scale;
}

}  // namespace spkid
