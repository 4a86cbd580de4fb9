#include "spkid/model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "spkid/error.h"
#include "synth.h"

namespace spkid {
namespace {

constexpr int kRate = 16000;

NetworkOptions tiny_network() {
  NetworkOptions network;
  network.channels = {4, 8};
  network.dense_size = 16;
  network.embedding_size = 8;
  return network;
}

SpeakerModel tiny_model(LossType loss = LossType::kAam) {
  NetworkOptions network = tiny_network();
  network.loss = loss;
  return SpeakerModel(FeatureOptions{}, network, {"alice", "bob", "carol"}, 7);
}

FeatureMatrix voice_features(double seconds, double pitch_hz = 140, unsigned seed = 1) {
  test::Voice voice;
  voice.pitch_hz = pitch_hz;
  return FeatureExtractor().compute(test::speech_like(voice, seconds, kRate, seed));
}

double norm(const std::vector<float>& v) {
  return std::sqrt(std::inner_product(v.begin(), v.end(), v.begin(), 0.0));
}

void expect_error(ErrorCode code, const std::function<void()>& action) {
  try {
    action();
    FAIL() << "expected spkid::Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one-line message";
  }
}

TEST(SpeakerModel, ClipsOfAnyLengthGiveUnitEmbeddingsAndPosteriors) {
  for (const LossType loss : {LossType::kAam, LossType::kSoftmax}) {
    const SpeakerModel model = tiny_model(loss);
    for (const double seconds : {0.4, 1.0, 3.0, 7.3}) {
      const FeatureMatrix clip = voice_features(seconds);
      const auto embedding = model.embed(clip);
      ASSERT_EQ(embedding.size(), 8u);
      EXPECT_NEAR(norm(embedding), 1.0, 1e-5) << seconds << " s";
      const auto posteriors = model.classify(clip);
      ASSERT_EQ(posteriors.size(), 3u);
      EXPECT_NEAR(std::accumulate(posteriors.begin(), posteriors.end(), 0.0), 1.0, 1e-5);
      for (const float p : posteriors) EXPECT_GE(p, 0.0f);
    }
  }
}

TEST(SpeakerModel, BatchGivesTheSameOutputsAsOneClipAtATimeInInputOrder) {
  const SpeakerModel model = tiny_model();
  // Two lengths interleaved: one forward pass per length, results back in input order.
  const std::vector<FeatureMatrix> clips = {voice_features(2, 110, 1), voice_features(1, 200, 2),
                                            voice_features(2, 160, 3), voice_features(1, 90, 4)};
  const auto outputs = model.process_batch(clips);
  const auto embeddings = model.embed_batch(clips);
  ASSERT_EQ(outputs.size(), clips.size());
  for (size_t i = 0; i < clips.size(); ++i) {
    const auto single = model.embed(clips[i]);
    const auto posteriors = model.classify(clips[i]);
    for (size_t k = 0; k < single.size(); ++k) {
      EXPECT_NEAR(outputs[i].embedding[k], single[k], 1e-5);
      EXPECT_NEAR(embeddings[i][k], single[k], 1e-5);
    }
    for (size_t k = 0; k < posteriors.size(); ++k) {
      EXPECT_NEAR(outputs[i].posteriors[k], posteriors[k], 1e-5);
    }
  }
  // Different voices give different embeddings (the network is not constant).
  EXPECT_GT(norm(std::vector<float>{outputs[0].embedding[0] - outputs[1].embedding[0],
                                    outputs[0].embedding[1] - outputs[1].embedding[1],
                                    outputs[0].embedding[2] - outputs[1].embedding[2]}),
            1e-4);
}

TEST(SpeakerModel, ABatchLargerThanOnePassKeepsEveryClipsOwnOutput) {
  // 40 clips of 6 s: more than one forward pass takes (16 of that length), so the batch goes
  // through in several passes; each clip still gets its own embedding, in input order.
  const SpeakerModel model = tiny_model();
  const std::vector<FeatureMatrix> distinct = {voice_features(6, 110, 1), voice_features(6, 190, 2),
                                               voice_features(6, 150, 3)};
  std::vector<FeatureMatrix> clips;
  for (int i = 0; i < 40; ++i) clips.push_back(distinct[(i * 7) % 3]);
  const auto embeddings = model.embed_batch(clips);
  ASSERT_EQ(embeddings.size(), clips.size());
  std::vector<std::vector<float>> single;
  for (const auto& clip : distinct) single.push_back(model.embed(clip));
  for (size_t i = 0; i < clips.size(); ++i) {
    for (size_t k = 0; k < embeddings[i].size(); ++k) {
      ASSERT_NEAR(embeddings[i][k], single[(i * 7) % 3][k], 1e-5) << "clip " << i;
    }
  }
}

TEST(SpeakerModel, SaveAndLoadGiveIdenticalOutputsAndMetadata) {
  test::TempDir dir;
  SpeakerModel model = tiny_model(LossType::kSoftmax);
  model.set_threshold("cosine", 0.42);
  model.set_provenance_json(R"({"corpus": "generated"})");
  const std::string path = dir.file("model.pt");
  model.save(path);

  const SpeakerModel loaded = SpeakerModel::load(path, FeatureOptions{});
  EXPECT_EQ(loaded.labels(), model.labels());
  EXPECT_EQ(loaded.network_options(), model.network_options());
  EXPECT_EQ(loaded.feature_options(), model.feature_options());
  EXPECT_DOUBLE_EQ(loaded.threshold("cosine", 0), 0.42);
  EXPECT_DOUBLE_EQ(loaded.threshold("posterior", -1), -1);
  EXPECT_EQ(nlohmann::json::parse(loaded.provenance_json())["corpus"], "generated");

  const FeatureMatrix clip = voice_features(2.5);
  EXPECT_EQ(loaded.embed(clip), model.embed(clip));
  EXPECT_EQ(loaded.classify(clip), model.classify(clip));

  // A clone is independent of the original but computes the same.
  const SpeakerModel copy = loaded.clone();
  EXPECT_EQ(copy.embed(clip), model.embed(clip));
}

TEST(SpeakerModel, SidecarsDescribeTheModel) {
  test::TempDir dir;
  const SpeakerModel model = tiny_model();
  const std::string path = dir.file("base.pt");
  model.save(path);
  write_model_sidecars(model, path);
  EXPECT_EQ(test::read_text(dir.file("base.labels.txt")), "alice\nbob\ncarol\n");
  const auto metadata = nlohmann::json::parse(test::read_text(dir.file("base.json")));
  EXPECT_EQ(metadata["labels"].size(), 3u);
  EXPECT_EQ(metadata["network"]["channels"], nlohmann::json({4, 8}));
  EXPECT_EQ(metadata["features"]["num_mel_bins"], 64);
  EXPECT_EQ(metadata["num_parameters"], model.info().num_parameters);
}

TEST(SpeakerModel, RefusesFeaturesMadeWithOtherSettings) {
  test::TempDir dir;
  const std::string path = dir.file("model.pt");
  tiny_model().save(path);
  FeatureOptions other;
  other.num_mel_bins = 40;
  expect_error(ErrorCode::kModel, [&] { SpeakerModel::load(path, other); });
  FeatureOptions shifted;
  shifted.frame_shift_ms = 15;
  expect_error(ErrorCode::kModel, [&] { tiny_model().check_features(shifted); });
  try {
    tiny_model().check_features(other);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("num_mel_bins"), std::string::npos) << e.what();
  }

  const FeatureMatrix forty_bands =
      FeatureExtractor(other).compute(test::speech_like(test::Voice{}, 1.0, kRate));
  expect_error(ErrorCode::kInvalidArgument, [&] { tiny_model().embed(forty_bands); });
}

TEST(SpeakerModel, RefusesClipsShorterThanThePoolingNeeds) {
  const SpeakerModel model = tiny_model();
  FeatureMatrix clip = voice_features(1.0);
  clip.num_frames = model.network_options().min_frames() - 1;
  clip.data.resize(static_cast<size_t>(clip.num_frames) * clip.num_features);
  expect_error(ErrorCode::kInvalidArgument, [&] { model.embed(clip); });
}

TEST(SpeakerModel, DamagedFilesAreClearModelErrors) {
  test::TempDir dir;
  const std::string path = dir.file("model.pt");
  tiny_model().save(path);
  const std::string bytes = test::read_text(path);

  test::write_text(dir.file("truncated.pt"), bytes.substr(0, bytes.size() / 2));
  expect_error(ErrorCode::kModel, [&] { SpeakerModel::load(dir.file("truncated.pt")); });

  std::string flipped = bytes;
  for (size_t i = bytes.size() / 3; i < bytes.size() / 3 + 64; ++i) flipped[i] ^= 0x5a;
  test::write_text(dir.file("flipped.pt"), flipped);
  expect_error(ErrorCode::kModel, [&] { SpeakerModel::load(dir.file("flipped.pt")); });

  test::write_text(dir.file("text.pt"), "not a model at all\n");
  expect_error(ErrorCode::kModel, [&] { SpeakerModel::load(dir.file("text.pt")); });

  expect_error(ErrorCode::kNotFound, [&] { SpeakerModel::load(dir.file("missing.pt")); });
}

TEST(SpeakerModel, SaveReplacesAtomicallyAndLeavesNoTemporaryFiles) {
  test::TempDir dir;
  const std::string path = dir.file("model.pt");
  tiny_model().save(path);
  SpeakerModel other(FeatureOptions{}, tiny_network(), {"dave", "erin"}, 3);
  other.save(path);
  EXPECT_EQ(SpeakerModel::load(path).labels(), other.labels());
  int files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(SpeakerModel, ReportsParametersAndMultiplyAdds) {
  NetworkOptions network;
  network.channels = {4};
  network.dense_size = 8;
  network.embedding_size = 4;
  const SpeakerModel model(FeatureOptions{}, network, {"a", "b", "c"});
  // conv 1x4x3x3 (no bias) + batch norm 2x4; pooled stats 2 x 4 channels x 32 bands = 256;
  // dense 256x8 + 8 + batch norm 2x8; embedding 8x4 + 4; cosine head 3x4.
  const int64_t expected = 36 + 8 + (256 * 8 + 8) + 16 + (8 * 4 + 4) + 3 * 4;
  const ModelInfo info = model.info();
  EXPECT_EQ(info.num_parameters, expected);
  // 100 frames x 64 bands x 4 x 9 for the convolution, then the dense layers and the head.
  EXPECT_DOUBLE_EQ(model.multiply_adds(100), 100.0 * 64 * 4 * 9 + 256 * 8 + 8 * 4 + 4 * 3);
  EXPECT_GT(info.multiply_adds_per_second, 0);
  EXPECT_LT(info.multiply_adds_per_second, model.multiply_adds(300));
}

TEST(SpeakerModel, ConstructionIsDeterministicForASeed) {
  const FeatureMatrix clip = voice_features(1.5);
  const auto a = SpeakerModel(FeatureOptions{}, tiny_network(), {"x", "y"}, 11).embed(clip);
  const auto b = SpeakerModel(FeatureOptions{}, tiny_network(), {"x", "y"}, 11).embed(clip);
  const auto c = SpeakerModel(FeatureOptions{}, tiny_network(), {"x", "y"}, 12).embed(clip);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(SpeakerModel, RefusesBadLabelsAndOptions) {
  expect_error(ErrorCode::kInvalidArgument,
               [] { SpeakerModel(FeatureOptions{}, tiny_network(), {}); });
  expect_error(ErrorCode::kInvalidArgument, [] {
    SpeakerModel(FeatureOptions{}, tiny_network(), {"a", "a"});
  });
  NetworkOptions bad = tiny_network();
  bad.channels = {8, 0};
  expect_error(ErrorCode::kInvalidArgument, [&] {
    SpeakerModel(FeatureOptions{}, bad, {"a", "b"});
  });
  // Seven 2x2 poolings need 128 bands; 64 are too few.
  NetworkOptions deep = tiny_network();
  deep.channels = {2, 2, 2, 2, 2, 2, 2};
  expect_error(ErrorCode::kInvalidArgument, [&] {
    SpeakerModel(FeatureOptions{}, deep, {"a", "b"});
  });
}

TEST(NetworkOptions, JsonRoundTripAndStrictParsing) {
  NetworkOptions options = tiny_network();
  options.loss = LossType::kSoftmax;
  options.aam_margin = 0.3;
  EXPECT_EQ(NetworkOptions::from_json(options.to_json()), options);
  auto json = nlohmann::json::parse(options.to_json());
  json.erase("embedding_size");
  expect_error(ErrorCode::kInvalidArgument, [&] { NetworkOptions::from_json(json.dump()); });
  expect_error(ErrorCode::kInvalidArgument, [] { parse_loss_type("triplet"); });
  EXPECT_EQ(parse_loss_type(loss_type_name(LossType::kAam)), LossType::kAam);
}

}  // namespace
}  // namespace spkid
