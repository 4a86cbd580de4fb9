// SpeakerModel: construction, the model file (weights + metadata in one LibTorch archive),
// embedding and classification.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "model_impl.h"
#include "spkid/error.h"
#include "spkid/fs_util.h"
#include "spkid/parallel.h"

namespace spkid {
namespace {

constexpr const char* kFormatName = "spkid-model";
constexpr int kFormatVersion = 1;

[[noreturn]] void model_error(const std::string& message) {
  throw Error(ErrorCode::kModel, message);
}

// LibTorch's messages carry a C++ backtrace after the first line.
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

void validate_labels(const std::vector<std::string>& labels) {
  if (labels.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "a model needs at least one speaker label");
  }
  std::set<std::string> seen;
  for (const auto& label : labels) {
    if (label.empty() || label.find('\n') != std::string::npos) {
      throw Error(ErrorCode::kInvalidArgument,
                  "speaker labels must be non-empty single-line names");
    }
    if (!seen.insert(label).second) {
      throw Error(ErrorCode::kInvalidArgument,
                  "speaker label '" + label + "' appears twice: labels must be unique");
    }
  }
}

// Names of the feature settings that differ, e.g. "num_mel_bins (64 vs 40)".
std::string feature_differences(const FeatureOptions& model, const FeatureOptions& given) {
  const auto a = nlohmann::json::parse(model.to_json());
  const auto b = nlohmann::json::parse(given.to_json());
  std::string out;
  for (const auto& [key, value] : a.items()) {
    const auto other = b.find(key);
    if (other != b.end() && *other == value) continue;
    if (!out.empty()) out += ", ";
    out += key + " (model " + value.dump() + " vs " +
           (other == b.end() ? std::string("absent") : other->dump()) + ")";
  }
  return out;
}

void check_clip(const FeatureMatrix& clip, int num_features, int min_frames) {
  if (clip.num_features != num_features) {
    throw Error(ErrorCode::kInvalidArgument,
                "a clip has " + std::to_string(clip.num_features) +
                    " features per frame but the model takes " + std::to_string(num_features) +
                    ": compute features with the model's feature settings");
  }
  if (clip.num_frames < min_frames) {
    throw Error(ErrorCode::kInvalidArgument,
                "a clip of " + std::to_string(clip.num_frames) +
                    " frames is too short for the model: give at least " +
                    std::to_string(min_frames) + " frames of speech");
  }
  if (clip.data.size() != static_cast<size_t>(clip.num_frames) * clip.num_features) {
    throw Error(ErrorCode::kInvalidArgument, "a feature matrix's data does not match its size");
  }
}

// FNV-1a over every parameter and buffer: LibTorch does not check the archive's CRCs, so a
// flipped byte in the weights would otherwise load silently.
std::string weights_checksum(const SpeakerNetImpl& net) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  const auto add = [&hash](const void* data, size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) hash = (hash ^ bytes[i]) * 0x100000001b3ULL;
  };
  for (const auto& tensors : {net.named_parameters(), net.named_buffers()}) {
    for (const auto& item : tensors) {
      add(item.key().data(), item.key().size());
      const auto t = item.value().contiguous();
      add(t.data_ptr(), t.numel() * t.element_size());
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

}  // namespace

namespace detail {

torch::Tensor stack_clips(const std::vector<const FeatureMatrix*>& clips) {
  const auto frames = clips.front()->num_frames;
  const auto features = clips.front()->num_features;
  auto batch = torch::empty({static_cast<int64_t>(clips.size()), frames, features});
  float* out = batch.data_ptr<float>();
  const size_t clip_size = static_cast<size_t>(frames) * features;
  for (size_t i = 0; i < clips.size(); ++i) {
    std::memcpy(out + i * clip_size, clips[i]->data.data(), clip_size * sizeof(float));
  }
  return batch;
}

nlohmann::json metadata(const SpeakerModel::Impl& impl) {
  nlohmann::json provenance;
  try {
    provenance = nlohmann::json::parse(impl.provenance_json);
  } catch (const nlohmann::json::exception&) {
    provenance = impl.provenance_json;  // kept as text rather than lost
  }
  return {{"format", kFormatName},
          {"format_version", kFormatVersion},
          {"spkid_version", SPKID_VERSION},
          {"features", nlohmann::json::parse(impl.features.to_json())},
          {"network", nlohmann::json::parse(impl.net->options().to_json())},
          {"labels", impl.labels},
          {"thresholds", impl.thresholds},
          {"provenance", provenance},
          {"weights_checksum", weights_checksum(*impl.net)}};
}

void write_model_archive(const SpeakerModel& model, torch::serialize::OutputArchive& archive) {
  const auto& impl = ModelAccess::impl(model);
  archive.write("metadata", c10::IValue(metadata(impl).dump()));
  torch::serialize::OutputArchive weights(archive.compilation_unit());
  impl.net->save(weights);
  archive.write("weights", weights);
  if (impl.cohort.defined()) archive.write("cohort", impl.cohort);
}

SpeakerModel read_model_archive(torch::serialize::InputArchive& archive, const std::string& path) {
  c10::IValue metadata_value;
  if (!archive.try_read("metadata", metadata_value) || !metadata_value.isString()) {
    model_error(path + " is not a spkid model (no metadata): give a model made by spkid");
  }
  auto impl = std::make_unique<SpeakerModel::Impl>();
  NetworkOptions network;
  std::string checksum;
  try {
    const auto metadata = nlohmann::json::parse(metadata_value.toStringRef());
    if (metadata.at("format").get<std::string>() != kFormatName) {
      model_error(path + " is not a spkid model file: give a model made by spkid");
    }
    const int version = metadata.at("format_version").get<int>();
    if (version > kFormatVersion) {
      model_error(path + " was written by a newer spkid (" +
                  metadata.value("spkid_version", std::string("?")) + ", model format " +
                  std::to_string(version) + "): upgrade spkid");
    }
    impl->features = FeatureOptions::from_json(metadata.at("features").dump());
    network = NetworkOptions::from_json(metadata.at("network").dump());
    impl->labels = metadata.at("labels").get<std::vector<std::string>>();
    validate_labels(impl->labels);
    impl->thresholds = metadata.at("thresholds").get<std::map<std::string, double>>();
    impl->provenance_json = metadata.at("provenance").dump();
    checksum = metadata.at("weights_checksum").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    model_error(path + " has damaged metadata (" + e.what() + "): re-create the model");
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kModel) throw;
    model_error(path + " has invalid metadata (" + e.what() + "): re-create the model");
  }

  impl->net =
      SpeakerNet(network, impl->features.num_features(), static_cast<int>(impl->labels.size()));
  // Module::load adopts whatever shapes the file holds, so compare against the architecture.
  std::map<std::string, std::vector<int64_t>> expected;
  for (const auto& p : impl->net->named_parameters()) expected[p.key()] = p.value().sizes().vec();
  for (const auto& b : impl->net->named_buffers()) expected[b.key()] = b.value().sizes().vec();
  try {
    torch::serialize::InputArchive weights;
    archive.read("weights", weights);
    impl->net->load(weights);
  } catch (const c10::Error& e) {
    model_error(path + " has damaged weights (" + first_line(e.what()) +
                "): re-create the model or restore a backup");
  }
  const auto check = [&](const std::string& name, const torch::Tensor& t) {
    if (expected.at(name) != t.sizes().vec()) {
      model_error(path + ": the weights of " + name +
                  " do not match the recorded architecture: re-create the model");
    }
  };
  for (const auto& p : impl->net->named_parameters()) check(p.key(), p.value());
  for (const auto& b : impl->net->named_buffers()) check(b.key(), b.value());
  torch::Tensor cohort;
  if (archive.try_read("cohort", cohort)) {
    if (cohort.dim() != 2 || cohort.size(1) != network.embedding_size || cohort.size(0) < 2) {
      model_error(path + " has a damaged cohort: re-create the model");
    }
    impl->cohort = cohort.to(torch::kFloat32).contiguous();
  }
  if (weights_checksum(*impl->net) != checksum) {
    model_error(path +
                " has damaged weights (checksum mismatch): re-create the model or "
                "restore a backup");
  }
  impl->net->eval();
  return ModelAccess::make(std::move(impl));
}

void load_archive(torch::serialize::InputArchive& archive, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw Error(ErrorCode::kNotFound,
                "model file " + path + " does not exist: give the path of a spkid model");
  }
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    model_error(path + " is not a readable spkid model (" + first_line(e.what()) +
                "): it may be truncated or corrupt; re-create it or restore a backup");
  }
}

void save_archive(torch::serialize::OutputArchive& archive, const std::string& path) {
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_file_atomically(path, bytes.str());
}

}  // namespace detail

SpeakerModel::SpeakerModel(const FeatureOptions& features, const NetworkOptions& network,
                           std::vector<std::string> labels, uint64_t seed)
    : impl_(std::make_unique<Impl>()) {
  features.validate();
  network.validate();
  validate_labels(labels);
  if (features.num_features() < (1 << network.channels.size())) {
    throw Error(ErrorCode::kInvalidArgument,
                std::to_string(features.num_features()) + " features are too few for " +
                    std::to_string(network.channels.size()) +
                    " pooling blocks: use more Mel bands or fewer blocks");
  }
  impl_->features = features;
  impl_->labels = std::move(labels);
  torch::manual_seed(seed);
  impl_->net = SpeakerNet(network, features.num_features(), static_cast<int>(impl_->labels.size()));
  impl_->net->eval();
}

SpeakerModel::SpeakerModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SpeakerModel::~SpeakerModel() = default;
SpeakerModel::SpeakerModel(SpeakerModel&&) noexcept = default;
SpeakerModel& SpeakerModel::operator=(SpeakerModel&&) noexcept = default;

SpeakerModel SpeakerModel::clone() const {
  auto copy = std::make_unique<Impl>(*impl_);
  copy->net = SpeakerNet(std::dynamic_pointer_cast<SpeakerNetImpl>(impl_->net->clone()));
  return SpeakerModel(std::move(copy));
}

SpeakerModel SpeakerModel::load(const std::string& path) {
  torch::serialize::InputArchive archive;
  detail::load_archive(archive, path);
  return detail::read_model_archive(archive, path);
}

SpeakerModel SpeakerModel::load(const std::string& path, const FeatureOptions& features) {
  SpeakerModel model = load(path);
  model.check_features(features);
  return model;
}

void SpeakerModel::save(const std::string& path) const {
  torch::serialize::OutputArchive archive;
  detail::write_model_archive(*this, archive);
  detail::save_archive(archive, path);
}

std::string SpeakerModel::serialize() const {
  torch::serialize::OutputArchive archive;
  detail::write_model_archive(*this, archive);
  std::ostringstream bytes;
  archive.save_to(bytes);
  return bytes.str();
}

const FeatureOptions& SpeakerModel::feature_options() const { return impl_->features; }
const NetworkOptions& SpeakerModel::network_options() const { return impl_->net->options(); }
const std::vector<std::string>& SpeakerModel::labels() const { return impl_->labels; }
int SpeakerModel::embedding_size() const { return impl_->net->options().embedding_size; }

double SpeakerModel::multiply_adds(int num_frames) const {
  return impl_->net->multiply_adds(num_frames);
}

ModelInfo SpeakerModel::info() const {
  ModelInfo info;
  info.spkid_version = SPKID_VERSION;
  info.features = impl_->features;
  info.network = impl_->net->options();
  info.labels = impl_->labels;
  info.thresholds = impl_->thresholds;
  info.provenance_json = impl_->provenance_json;
  for (const auto& p : impl_->net->parameters()) info.num_parameters += p.numel();
  // Measured on 3 s clips so the per-second figure includes the pooling's rounding.
  const double clip_seconds = 3;
  const int frames = num_frames_for(
      static_cast<long>(clip_seconds * impl_->features.sample_rate_hz), impl_->features);
  info.multiply_adds_per_second =
      (multiply_adds(frames) - double(embedding_size()) * double(impl_->labels.size())) /
      clip_seconds;
  return info;
}

std::string SpeakerModel::metadata_json() const {
  const ModelInfo summary = info();
  auto json = detail::metadata(*impl_);
  json["num_parameters"] = summary.num_parameters;
  json["multiply_adds_per_second"] = summary.multiply_adds_per_second;
  return json.dump(2) + "\n";
}

void write_model_sidecars(const SpeakerModel& model, const std::string& model_path) {
  const auto base = std::filesystem::path(model_path).replace_extension();
  std::string labels;
  for (const auto& label : model.labels()) labels += label + "\n";
  write_file_atomically(base.string() + ".labels.txt", labels, 0644);
  write_file_atomically(base.string() + ".json", model.metadata_json(), 0644);
}

void SpeakerModel::check_features(const FeatureOptions& features) const {
  if (features == impl_->features) return;
  model_error("the model was made for other feature settings: " +
              feature_differences(impl_->features, features) +
              "; compute features with the model's settings or use a matching model");
}

namespace {

// At most this many frames go through the network in one forward pass (16 clips of 6 s): the
// activations of a pass grow with its frames, so a batch of thousands of clips (the first model
// command after a batch enrollment, an hour-long file) runs in passes of bounded memory.
constexpr int kMaxFramesPerPass = 16 * 600;

// Clips of one length go through the network together, at most kMaxFramesPerPass frames at a
// time; outputs in input order.
std::vector<ClipOutput> run_network(const SpeakerModel::Impl& impl,
                                    const std::vector<const FeatureMatrix*>& clips,
                                    bool with_posteriors) {
  const int num_features = impl.features.num_features();
  const int min_frames = impl.net->options().min_frames();
  std::map<int, std::vector<size_t>> by_length;
  for (size_t i = 0; i < clips.size(); ++i) {
    check_clip(*clips[i], num_features, min_frames);
    by_length[clips[i]->num_frames].push_back(i);
  }
  std::vector<ClipOutput> outputs(clips.size());
  torch::InferenceMode inference;
  SpeakerNetImpl& net = *impl.net.ptr();  // forward() is not const, but eval mode changes nothing
  for (const auto& [frames, same_length] : by_length) {
    const size_t per_pass = std::max<size_t>(1, kMaxFramesPerPass / std::max(frames, 1));
    for (size_t first = 0; first < same_length.size(); first += per_pass) {
      const std::vector<size_t> indices(
          same_length.begin() + first,
          same_length.begin() + std::min(same_length.size(), first + per_pass));
      std::vector<const FeatureMatrix*> group;
      for (const size_t i : indices) group.push_back(clips[i]);
      const auto embedding = net.embed(detail::stack_clips(group));
      const auto unit = torch::nn::functional::normalize(
          embedding, torch::nn::functional::NormalizeFuncOptions().dim(1));
      const auto unit_data = unit.accessor<float, 2>();
      for (size_t g = 0; g < indices.size(); ++g) {
        outputs[indices[g]].embedding.assign(&unit_data[g][0], &unit_data[g][0] + unit.size(1));
      }
      if (!with_posteriors) continue;
      const auto posteriors = torch::softmax(net.logits(embedding), 1);
      const auto posterior_data = posteriors.accessor<float, 2>();
      for (size_t g = 0; g < indices.size(); ++g) {
        outputs[indices[g]].posteriors.assign(&posterior_data[g][0],
                                              &posterior_data[g][0] + posteriors.size(1));
      }
    }
  }
  return outputs;
}

std::vector<const FeatureMatrix*> pointers(const std::vector<FeatureMatrix>& clips) {
  std::vector<const FeatureMatrix*> out;
  out.reserve(clips.size());
  for (const auto& clip : clips) out.push_back(&clip);
  return out;
}

}  // namespace

std::vector<ClipOutput> SpeakerModel::process_batch(const std::vector<FeatureMatrix>& clips) const {
  return run_network(*impl_, pointers(clips), true);
}

std::vector<std::vector<float>> SpeakerModel::embed_batch(
    const std::vector<FeatureMatrix>& clips) const {
  std::vector<std::vector<float>> embeddings;
  embeddings.reserve(clips.size());
  for (auto& output : run_network(*impl_, pointers(clips), false)) {
    embeddings.push_back(std::move(output.embedding));
  }
  return embeddings;
}

std::vector<float> SpeakerModel::embed(const FeatureMatrix& clip) const {
  return std::move(run_network(*impl_, {&clip}, false).front().embedding);
}

std::vector<float> SpeakerModel::classify(const FeatureMatrix& clip) const {
  return std::move(run_network(*impl_, {&clip}, true).front().posteriors);
}

namespace {

std::vector<std::vector<float>> rows_of(const torch::Tensor& matrix) {
  const auto unit = torch::nn::functional::normalize(
      matrix.detach().to(torch::kFloat32), torch::nn::functional::NormalizeFuncOptions().dim(1));
  const auto data = unit.accessor<float, 2>();
  std::vector<std::vector<float>> rows(static_cast<size_t>(unit.size(0)));
  for (int64_t r = 0; r < unit.size(0); ++r)
    rows[r].assign(&data[r][0], &data[r][0] + unit.size(1));
  return rows;
}

}  // namespace

std::vector<std::vector<float>> SpeakerModel::class_vectors() const {
  if (impl_->net->options().loss != LossType::kAam) return {};
  torch::NoGradGuard no_grad;
  return rows_of(impl_->net->head_weight());
}

std::vector<std::vector<float>> SpeakerModel::cohort() const {
  if (impl_->cohort.defined()) {
    torch::NoGradGuard no_grad;
    return rows_of(impl_->cohort);
  }
  return class_vectors();
}

double SpeakerModel::threshold(const std::string& name, double fallback) const {
  const auto it = impl_->thresholds.find(name);
  return it == impl_->thresholds.end() ? fallback : it->second;
}

void SpeakerModel::set_threshold(const std::string& name, double value) {
  impl_->thresholds[name] = value;
}

const std::string& SpeakerModel::provenance_json() const { return impl_->provenance_json; }

void SpeakerModel::set_provenance_json(const std::string& json) {
  try {
    impl_->provenance_json = nlohmann::json::parse(json).dump();
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string("model provenance must be JSON (") + e.what() + ")");
  }
}

void set_model_threads(int num_threads) {
  torch::set_num_threads(num_threads > 0 ? num_threads : default_worker_count());
}

}  // namespace spkid
