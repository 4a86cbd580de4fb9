// The evaluation protocol (evaluation.h), `spkid eval` on dataset folders (dataset_evaluation.h)
// and its command line, on generated voices with the tiny base model.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "decoded_png.h"
#include "spkid/confusion_image.h"
#include "spkid/dataset_evaluation.h"
#include "spkid/error.h"
#include "spkid/evaluation.h"
#include "spkid/model.h"
#include "spkid/model_registry.h"
#include "spkid/speech_corpus.h"
#include "spkid/training.h"
#include "spkid/recognizer.h"
#include "spkid/train.h"
#include "synth.h"
#include "tiny_model.h"

namespace spkid {
namespace {

using test::shell_quote;

constexpr int kRate = 16000;
constexpr double kSecondsPerFile = 4;

// Voices unlike the tiny model's pretraining voices, far apart in pitch and vocal tract.
const std::map<std::string, test::Voice>& speaker_voices() {
  static const std::map<std::string, test::Voice> voices = {
      {"alice", {105, {620, 1150, 2550}, 0.3}},
      {"bob", {175, {780, 1500, 2850}, 0.3}},
      {"carol", {270, {880, 1750, 3200}, 0.3}}};
  return voices;
}
const std::map<std::string, test::Voice>& impostor_voices() {
  static const std::map<std::string, test::Voice> voices = {
      {"imp-dan", {135, {480, 2000, 2350}, 0.3}}, {"imp-eve", {215, {560, 1300, 2700}, 0.3}}};
  return voices;
}

// A small untrained network, saved once per process: enough for what the protocol counts, which
// holds whatever the model answers. The accuracy test uses the pretrained tiny model.
const std::string& untrained_model() {
  static const test::TempDir dir;
  static const std::string path = [] {
    NetworkOptions network;
    network.channels = {4, 8};
    network.dense_size = 16;
    network.embedding_size = 16;
    network.loss = LossType::kAam;  // its class rows are the cohort
    const std::string file = dir.file("untrained.pt");
    SpeakerModel(FeatureOptions{}, network, {"c0", "c1", "c2", "c3"}).save(file);
    return file;
  }();
  return path;
}

SpeakerSpeech speech_of(const std::string& name, const test::Voice& voice, double seconds,
                        unsigned seed) {
  return {name, test::speech_like(voice, seconds, kRate, seed)};
}

// DIR/<speaker>/<n>.wav, `files` files of kSecondsPerFile each.
void write_speaker(const std::string& dataset_dir, const std::string& name,
                   const test::Voice& voice, int files, unsigned seed) {
  const std::string folder = dataset_dir + "/" + name;
  std::filesystem::create_directories(folder);
  for (int f = 0; f < files; ++f) {
    test::write_audio(folder + "/" + std::to_string(10 + f) + ".wav",
                      test::speech_like(voice, kSecondsPerFile, kRate, seed + unsigned(f)), kRate);
  }
}

// Three speakers with 40 s of speech each (30 s to enroll, about 10 s of test clips) and two
// impostors with 8 s each.
void write_dataset(const std::string& dataset_dir) {
  unsigned seed = 1;
  for (const auto& [name, voice] : speaker_voices()) {
    write_speaker(dataset_dir, name, voice, 10, seed);
    seed += 100;
  }
  for (const auto& [name, voice] : impostor_voices()) {
    write_speaker(dataset_dir, name, voice, 2, seed);
    seed += 100;
  }
}

ErrorCode error_code_of(const std::function<void()>& action) {
  const auto error = test::thrown_error(action);
  return error ? error->code() : ErrorCode::kInternal;
}

DatasetEvaluationOptions open_set_options(const std::string& model_path) {
  DatasetEvaluationOptions options;
  options.model_path = model_path;
  options.open_set = true;
  options.impostor_pattern = "imp-*";
  return options;
}

// What every result must satisfy, whatever the model: the figures are counts of one set of
// answers.
void expect_consistent(const EvaluationResult& r) {
  const ConfusionMatrix& confusion = r.confusion;
  EXPECT_EQ(confusion.total(), r.test_clips);
  EXPECT_DOUBLE_EQ(r.top1_accuracy, confusion.accuracy());
  int64_t right = 0;
  for (size_t t = 0; t < confusion.labels().size(); ++t) right += confusion.count(t, t);
  EXPECT_DOUBLE_EQ(r.top1_accuracy, double(right) / double(r.test_clips));
  for (const double rate : {r.eer.rate, r.open_set_rates.false_accept_rate,
                            r.open_set_rates.false_reject_rate, r.open_set_eer.rate}) {
    EXPECT_GE(rate, 0.0);
    EXPECT_LE(rate, 1.0);
  }
  if (r.has_open_set()) {
    // A genuine clip is accepted only when named right: at least the misnamed are rejected.
    EXPECT_GE(r.open_set_rates.false_reject_rate, 1 - r.top1_accuracy - 1e-12);
    // Rates are whole counts of clips.
    const double false_accepts = r.open_set_rates.false_accept_rate * double(r.impostor_clips);
    EXPECT_NEAR(false_accepts, std::round(false_accepts), 1e-9);
    const double false_rejects = r.open_set_rates.false_reject_rate * double(r.test_clips);
    EXPECT_NEAR(false_rejects, std::round(false_rejects), 1e-9);
  }
}

TEST(EvaluationSet, EnrollsTheStartAndCutsTheRestIntoWholeClips) {
  const auto& voices = speaker_voices();
  const std::vector<SpeakerSpeech> speakers = {speech_of("alice", voices.at("alice"), 40, 1),
                                               speech_of("bob", voices.at("bob"), 37.6, 2),
                                               speech_of("carol", voices.at("carol"), 31, 3)};
  const std::vector<SpeakerSpeech> impostors = {
      speech_of("imp-dan", impostor_voices().at("imp-dan"), 7, 4),
      speech_of("imp-eve", impostor_voices().at("imp-eve"), 2, 5)};
  const EvaluationSet set = make_evaluation_set(speakers, impostors, kRate);

  EXPECT_EQ(set.sample_rate_hz, kRate);
  ASSERT_EQ(set.enrolled.size(), 2u);  // carol: 1 s after enrollment, less than a clip
  EXPECT_EQ(set.enrolled[0].name, "alice");
  EXPECT_EQ(set.enrolled[1].name, "bob");
  for (const EvaluationSpeaker& speaker : set.enrolled) {
    ASSERT_EQ(speaker.enrollment_speech.size(), size_t(30 * kRate));
  }
  // The enrollment is the start of the speech, the first test clip follows it.
  EXPECT_TRUE(std::equal(set.enrolled[0].enrollment_speech.begin(),
                         set.enrolled[0].enrollment_speech.end(), speakers[0].speech.begin()));
  EXPECT_TRUE(std::equal(set.enrolled[0].test_clips[0].begin(), set.enrolled[0].test_clips[0].end(),
                         speakers[0].speech.begin() + 30 * kRate));
  // 10 s: three 3 s clips, the 1 s remainder dropped; 7.6 s: two clips and one more that ends
  // with the speech (a 1.6 s remainder is over half a clip).
  EXPECT_EQ(set.enrolled[0].test_clips.size(), 3u);
  EXPECT_EQ(set.enrolled[1].test_clips.size(), 3u);
  EXPECT_TRUE(std::equal(set.enrolled[1].test_clips[2].begin(), set.enrolled[1].test_clips[2].end(),
                         speakers[1].speech.end() - 3 * kRate));
  ASSERT_EQ(set.impostors.size(), 1u);  // imp-eve: 2 s, less than one clip
  EXPECT_TRUE(set.impostors[0].enrollment_speech.empty());
  EXPECT_EQ(set.impostors[0].test_clips.size(), 2u);
  for (const auto* group : {&set.enrolled, &set.impostors}) {
    for (const EvaluationSpeaker& speaker : *group) {
      for (const auto& clip : speaker.test_clips) EXPECT_EQ(clip.size(), size_t(3 * kRate));
    }
  }
  ASSERT_EQ(set.skipped.size(), 2u);
  EXPECT_EQ(set.skipped[0].rfind("carol: 31.0 s of speech", 0), 0u) << set.skipped[0];
  EXPECT_EQ(set.skipped[1].rfind("imp-eve (impostor): 2.0 s", 0), 0u) << set.skipped[1];

  // Enrollment clips as `spkid enroll` cuts them: 30 s in five 6 s clips.
  const FeatureExtractor extractor;
  const auto clips = enrollment_clip_features(set.enrolled[0].enrollment_speech, extractor);
  ASSERT_EQ(clips.size(), 5u);
  EXPECT_EQ(clips[0].num_frames, num_frames_for(6 * kRate, extractor.options()));
}

TEST(EvaluationSet, RefusesTooFewSpeakersAndDuplicateNames) {
  const test::Voice voice = speaker_voices().at("alice");
  const std::vector<SpeakerSpeech> one_long = {speech_of("a", voice, 40, 1),
                                               speech_of("b", voice, 20, 2)};
  EXPECT_EQ(error_code_of([&] { make_evaluation_set(one_long, {}, kRate); }), ErrorCode::kNoSpeech);
  const std::vector<SpeakerSpeech> twins = {speech_of("a", voice, 40, 1),
                                            speech_of("a", voice, 40, 2)};
  EXPECT_EQ(error_code_of([&] { make_evaluation_set(twins, {}, kRate); }),
            ErrorCode::kInvalidArgument);
  const std::vector<SpeakerSpeech> two = {speech_of("a", voice, 40, 1),
                                          speech_of("b", voice, 40, 2)};
  EXPECT_EQ(error_code_of([&] { make_evaluation_set(two, {speech_of("a", voice, 9, 3)}, kRate); }),
            ErrorCode::kInvalidArgument);
  EvaluationOptions no_clips;
  no_clips.test_clip_seconds = 0;
  EXPECT_EQ(error_code_of([&] { make_evaluation_set(two, {}, kRate, no_clips); }),
            ErrorCode::kInvalidArgument);
}

TEST(EvaluateRecognizer, CountsAcceptsAndRejectsAtTheThreshold) {
  const SpeakerModel model = SpeakerModel::load(test::tiny_base_model());
  std::vector<SpeakerSpeech> speakers, impostors;
  unsigned seed = 1;
  for (const auto& [name, voice] : speaker_voices())
    speakers.push_back(speech_of(name, voice, 40, seed++));
  for (const auto& [name, voice] : impostor_voices())
    impostors.push_back(speech_of(name, voice, 7, seed++));
  const EvaluationSet set = make_evaluation_set(speakers, impostors, kRate);
  const FeatureExtractor extractor(model.feature_options());
  std::map<std::string, std::vector<std::vector<float>>> enrolled;
  for (const EvaluationSpeaker& speaker : set.enrolled) {
    enrolled[speaker.name] =
        model.embed_batch(enrollment_clip_features(speaker.enrollment_speech, extractor));
  }
  const Recognizer recognizer(model.clone(), enrolled, false);

  size_t last_done = 0, calls = 0;
  const EvaluationResult low =
      evaluate_recognizer(recognizer, set, -1e9, [&](size_t done, size_t total) {
        EXPECT_EQ(done, last_done + 1);
        EXPECT_EQ(total, 3u * 3u + 2u * 2u);
        last_done = done;
        ++calls;
      });
  EXPECT_EQ(calls, 13u);
  EXPECT_EQ(low.test_clips, 9);
  EXPECT_EQ(low.impostor_clips, 4);
  EXPECT_EQ(low.impostors, (std::vector<std::string>{"imp-dan", "imp-eve"}));
  EXPECT_EQ(low.confusion.labels(), (std::vector<std::string>{"alice", "bob", "carol"}));
  for (size_t t = 0; t < 3; ++t) EXPECT_EQ(low.confusion.row_total(t), 3);
  expect_consistent(low);
  // Everything is accepted: every impostor clip, and every genuine clip named right.
  EXPECT_DOUBLE_EQ(low.open_set_rates.false_accept_rate, 1.0);
  EXPECT_DOUBLE_EQ(low.open_set_rates.false_reject_rate, 1 - low.top1_accuracy);
  const EvaluationResult high = evaluate_recognizer(recognizer, set, 1e9);
  EXPECT_DOUBLE_EQ(high.open_set_rates.false_accept_rate, 0.0);
  EXPECT_DOUBLE_EQ(high.open_set_rates.false_reject_rate, 1.0);
  // The threshold changes decisions, not names or scores.
  EXPECT_DOUBLE_EQ(high.top1_accuracy, low.top1_accuracy);
  EXPECT_DOUBLE_EQ(high.eer.rate, low.eer.rate);
  EXPECT_DOUBLE_EQ(high.open_set_eer.rate, low.open_set_eer.rate);
  // These voices are far apart: the tiny model tells them apart.
  EXPECT_GE(low.top1_accuracy, 8.0 / 9);

  // The recognizer must know exactly the evaluation's speakers.
  enrolled.erase("carol");
  const Recognizer partial(model.clone(), enrolled, false);
  EXPECT_EQ(error_code_of([&] { evaluate_recognizer(partial, set, 0); }),
            ErrorCode::kInvalidArgument);
}

TEST(EvaluateDataset, ScoresAsThePretrainingCheckAndCountsImpostors) {
  test::TempDir dir;
  write_dataset(dir.path());
  const std::string& model_path = untrained_model();
  const DatasetEvaluation evaluation = evaluate_dataset(dir.path(), open_set_options(model_path));
  const EvaluationResult& r = evaluation.result;
  EXPECT_EQ(evaluation.model_path, model_path);
  EXPECT_FALSE(evaluation.training);
  EXPECT_EQ(r.confusion.labels(), (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_EQ(r.impostors, (std::vector<std::string>{"imp-dan", "imp-eve"}));
  EXPECT_TRUE(r.skipped.empty());
  EXPECT_GE(r.test_clips, 3 * 3);
  EXPECT_GE(r.impostor_clips, 2 * 2);
  // The store's own threshold: calibrated on its three enrolled speakers.
  EXPECT_TRUE(evaluation.open_set.calibrated);
  EXPECT_DOUBLE_EQ(r.threshold, evaluation.open_set.threshold);
  expect_consistent(r);

  // Through a store, as a user's enrollment, the figures are those of the in-memory check that
  // pretraining runs every epoch.
  AudioOptions audio;
  const auto load = [&](const std::vector<std::string>& names) {
    std::vector<std::string> folders;
    for (const auto& name : names) folders.push_back(dir.file(name));
    return load_speaker_folders(folders, audio, VadOptions{}, 1);
  };
  const EvaluationResult check =
      evaluate_unseen_speakers(SpeakerModel::load(model_path), load({"alice", "bob", "carol"}),
                               load({"imp-dan", "imp-eve"}));
  EXPECT_EQ(check.test_clips, r.test_clips);
  EXPECT_EQ(check.impostor_clips, r.impostor_clips);
  for (size_t t = 0; t < 3; ++t) {
    for (size_t a = 0; a < 3; ++a) EXPECT_EQ(check.confusion.count(t, a), r.confusion.count(t, a));
  }
  EXPECT_DOUBLE_EQ(check.eer.rate, r.eer.rate);
  EXPECT_DOUBLE_EQ(check.open_set_rates.false_accept_rate, r.open_set_rates.false_accept_rate);
  // The two batch the clips differently, which moves a score in its last float bits.
  EXPECT_NEAR(check.open_set_eer.threshold, r.open_set_eer.threshold, 1e-6);
}

TEST(EvaluateDataset, HoldsOutEveryThirdSpeakerWithoutAPattern) {
  test::TempDir dir;
  write_dataset(dir.path());  // by name: alice, bob, carol, imp-dan, imp-eve
  DatasetEvaluationOptions options;
  options.model_path = untrained_model();
  options.open_set = true;
  const DatasetEvaluation evaluation = evaluate_dataset(dir.path(), options);
  // carol is the third; imp-dan and imp-eve, too short to enroll, are left out.
  EXPECT_EQ(evaluation.result.impostors, (std::vector<std::string>{"carol"}));
  EXPECT_EQ(evaluation.result.confusion.labels(), (std::vector<std::string>{"alice", "bob"}));
  ASSERT_EQ(evaluation.result.skipped.size(), 2u);
  EXPECT_EQ(evaluation.result.skipped[0].rfind("imp-dan:", 0), 0u);
  expect_consistent(evaluation.result);

  // Closed set: every speaker with enough speech is enrolled.
  options.open_set = false;
  const DatasetEvaluation closed = evaluate_dataset(dir.path(), options);
  EXPECT_EQ(closed.result.confusion.labels(), (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_FALSE(closed.result.has_open_set());
}

TEST(EvaluateDataset, LeavesOutASpeakerWithoutSpeech) {
  test::TempDir dir;
  write_dataset(dir.path());
  std::filesystem::create_directories(dir.file("quiet"));
  test::write_audio(dir.file("quiet/1.wav"), test::silence(3, kRate), kRate);
  test::write_text(dir.file("alice/notes.txt"), "not audio");
  const DatasetEvaluation evaluation =
      evaluate_dataset(dir.path(), open_set_options(untrained_model()));
  ASSERT_EQ(evaluation.result.skipped.size(), 1u);
  EXPECT_EQ(evaluation.result.skipped[0].rfind("quiet: 0.0 s of speech", 0), 0u)
      << evaluation.result.skipped[0];
  EXPECT_EQ(evaluation.skipped_files.size(), 2u);  // the silence, and the text file
  EXPECT_EQ(evaluation.result.confusion.labels().size(), 3u);
}

TEST(EvaluateDataset, TrainsAClassifierOfTheEnrolledSpeakersWhenAsked) {
  test::TempDir dir;
  write_dataset(dir.path());
  DatasetEvaluationOptions options = open_set_options(untrained_model());
  SpeakerTrainingOptions training;
  training.fine_tune.training.epochs = 2;
  options.training = training;
  int epochs = 0;
  DatasetEvaluationCallbacks callbacks;
  callbacks.training.on_epoch = [&epochs](const EpochReport&) { ++epochs; };
  const DatasetEvaluation evaluation = evaluate_dataset(dir.path(), options, callbacks);
  ASSERT_TRUE(evaluation.training);
  EXPECT_EQ(evaluation.training->speakers, (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_EQ(evaluation.training->model.kind, kClassifierModelKind);
  EXPECT_EQ(epochs, evaluation.training->epochs_done);
  // The clips are identified at the store's threshold, the one train reported.
  EXPECT_DOUBLE_EQ(evaluation.result.threshold, evaluation.training->open_set.threshold);
  EXPECT_EQ(evaluation.result.impostors, (std::vector<std::string>{"imp-dan", "imp-eve"}));
  expect_consistent(evaluation.result);
}

TEST(EvaluateDataset, BadDatasetsGiveClearErrors) {
  test::TempDir dir;
  const std::string model = untrained_model();
  const auto error_of = [&](const std::string& dataset, const DatasetEvaluationOptions& options) {
    const auto error = test::thrown_error([&] { evaluate_dataset(dataset, options); });
    EXPECT_TRUE(error) << dataset;
    return error ? *error : Error(ErrorCode::kInternal, "");
  };
  DatasetEvaluationOptions closed;
  closed.model_path = model;

  const Error missing = error_of(dir.file("nowhere"), closed);
  EXPECT_EQ(missing.code(), ErrorCode::kNotFound);
  EXPECT_NE(std::string(missing.what()).find("nowhere"), std::string::npos);
  std::filesystem::create_directories(dir.file("empty"));
  EXPECT_EQ(error_of(dir.file("empty"), closed).code(), ErrorCode::kNotFound);

  write_speaker(dir.file("one"), "alice", speaker_voices().at("alice"), 10, 1);
  EXPECT_EQ(error_of(dir.file("one"), closed).code(), ErrorCode::kInvalidArgument);

  write_speaker(dir.file("short"), "alice", speaker_voices().at("alice"), 10, 1);
  write_speaker(dir.file("short"), "bob", speaker_voices().at("bob"), 3, 1);
  const Error too_short = error_of(dir.file("short"), closed);
  EXPECT_EQ(too_short.code(), ErrorCode::kNoSpeech);
  EXPECT_NE(std::string(too_short.what()).find("1 of 2 speakers"), std::string::npos)
      << too_short.what();

  write_dataset(dir.file("full"));
  DatasetEvaluationOptions no_match = open_set_options(model);
  no_match.impostor_pattern = "ls-*";
  const Error unmatched = error_of(dir.file("full"), no_match);
  EXPECT_EQ(unmatched.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(std::string(unmatched.what()).find("ls-*"), std::string::npos);
  DatasetEvaluationOptions pattern_only = closed;
  pattern_only.impostor_pattern = "imp-*";
  EXPECT_EQ(error_of(dir.file("full"), pattern_only).code(), ErrorCode::kInvalidArgument);
  DatasetEvaluationOptions bad_model = closed;
  bad_model.model_path = dir.file("missing.pt");
  EXPECT_EQ(error_of(dir.file("full"), bad_model).code(), ErrorCode::kNotFound);
}

TEST(EvalCommand, PrintsEveryFigureAsJsonAndDrawsTheConfusionMatrix) {
  test::TempDir dir;
  write_dataset(dir.file("data"));
  const std::string model = untrained_model();
  const std::string command = std::string(SPKID_BINARY) + " eval " + shell_quote(dir.file("data")) +
                              " --open-set --impostors 'imp-*'" + " --model " + shell_quote(model) +
                              " --json --confusion-png " + shell_quote(dir.file("c.png")) +
                              " --calibrate-into " + shell_quote(dir.file("calibrated.pt"));
  const test::CommandResult run = test::run_command(command);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j["model"], model);
  EXPECT_EQ(j["speakers"], (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_EQ(j["impostors"], (std::vector<std::string>{"imp-dan", "imp-eve"}));
  EXPECT_TRUE(j["training"].is_null());
  // Per-speaker figures are the confusion matrix's rows.
  ConfusionMatrix confusion(j["confusion"]["labels"].get<std::vector<std::string>>());
  for (size_t t = 0; t < 3; ++t) {
    for (size_t a = 0; a < 3; ++a) {
      for (int64_t k = 0; k < j["confusion"]["counts"][t][a].get<int64_t>(); ++k) {
        confusion.add(t, a);
      }
    }
    EXPECT_EQ(j["per_speaker"][t]["clips"], confusion.row_total(t));
    EXPECT_DOUBLE_EQ(j["per_speaker"][t]["accuracy"].get<double>(), confusion.class_accuracy(t));
  }
  EXPECT_EQ(j["test_clips"], confusion.total());
  EXPECT_DOUBLE_EQ(j["top1_accuracy"].get<double>(), confusion.accuracy());
  for (const char* key : {"false_accept_rate", "false_reject_rate", "eer", "eer_threshold",
                          "min_dcf", "min_dcf_threshold"}) {
    EXPECT_TRUE(j["open_set"][key].is_number()) << key;
  }

  // The picture decodes to the size its layout gives for this matrix.
  const std::string png = test::read_text(dir.file("c.png"));
  ASSERT_GT(png.size(), 24u);
  ASSERT_EQ(png.substr(0, 8), "\x89PNG\r\n\x1a\n");
  ConfusionImageOptions picture;
  picture.title = "spkid eval data";
  const ConfusionImageLayout layout = confusion_image_layout(confusion, picture);
  EXPECT_EQ(test::big_endian_u32(png, 16), uint32_t(layout.width_px));
  EXPECT_EQ(test::big_endian_u32(png, 20), uint32_t(layout.height_px));

  // The calibrated copy carries the threshold this evaluation's store measured on its enrolled
  // speakers as its open-set prior.
  const SpeakerModel calibrated = SpeakerModel::load(dir.file("calibrated.pt"));
  EXPECT_TRUE(std::filesystem::exists(dir.file("calibrated.json")));
  ASSERT_TRUE(j["store_open_set"]["measured_threshold"].is_number());
  EXPECT_DOUBLE_EQ(calibrated.threshold(kOpenSetPriorThresholdName, -1e9),
                   j["store_open_set"]["measured_threshold"].get<double>());
  // Evaluated again, the same enrolled speakers give the same top-1 (the prior only shifts the
  // shrunk statistics).
  const test::CommandResult again = test::run_command(
      std::string(SPKID_BINARY) + " eval " + shell_quote(dir.file("data")) +
      " --open-set --impostors 'imp-*' --json --model " + shell_quote(dir.file("calibrated.pt")));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const nlohmann::json k = nlohmann::json::parse(again.out);
  EXPECT_DOUBLE_EQ(k["top1_accuracy"].get<double>(), j["top1_accuracy"].get<double>());
}

TEST(EvalCommand, ReportsInTextAndRefusesBadUse) {
  test::TempDir dir;
  write_dataset(dir.file("data"));
  const std::string base =
      std::string(SPKID_BINARY) + " eval --model " + shell_quote(untrained_model()) + " ";
  const test::CommandResult text =
      test::run_command(base + shell_quote(dir.file("data")) + " --open-set --impostors 'imp-*'");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  for (const char* expected :
       {"top-1 accuracy", "confusion matrix", "alice", "false accepts", "open set:", "EER"}) {
    EXPECT_NE(text.out.find(expected), std::string::npos) << expected << "\n" << text.out;
  }

  const test::CommandResult missing = test::run_command(base + shell_quote(dir.file("nowhere")));
  EXPECT_EQ(missing.exit_code, 3) << missing.err;  // bad input
  EXPECT_NE(missing.err.find("nowhere"), std::string::npos) << missing.err;
  // --impostors needs --open-set; --calibrate-into is not for a trained model.
  EXPECT_EQ(
      test::run_command(base + shell_quote(dir.file("data")) + " --impostors 'imp-*'").exit_code,
      2);
  EXPECT_EQ(
      test::run_command(base + shell_quote(dir.file("data")) + " --train --calibrate-into x.pt")
          .exit_code,
      2);
}

TEST(EvalCommand, TrainKeepsTheStoresOpenSetDecision) {
  test::TempDir dir;
  write_dataset(dir.file("data"));
  const std::string common = std::string(SPKID_BINARY) + " eval " + shell_quote(dir.file("data")) +
                             " --open-set --impostors 'imp-*' --json --model " +
                             shell_quote(untrained_model());
  const test::CommandResult before = test::run_command(common);
  const test::CommandResult run = test::run_command(
      common +
      " --train --epochs 2 --crops-per-speaker 8 --batch-size 8 --crop-min-seconds 1"
      " --crop-max-seconds 1.5 --threads 1");
  ASSERT_EQ(before.exit_code, 0) << before.err;
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json b = nlohmann::json::parse(before.out);
  const nlohmann::json j = nlohmann::json::parse(run.out);
  ASSERT_TRUE(j["training"].is_object()) << run.out;
  // The base model scores before and after train, calibrated on the same enrolled speakers:
  // the threshold and the held-out figures do not move.
  EXPECT_DOUBLE_EQ(j["threshold"].get<double>(), b["threshold"].get<double>());
  EXPECT_DOUBLE_EQ(j["threshold"].get<double>(), j["store_open_set"]["threshold"].get<double>());
  EXPECT_EQ(j["store_open_set"], b["store_open_set"]);
  for (const char* rate : {"heldout_false_accept_rate", "heldout_genuine_accept_rate"}) {
    EXPECT_GE(j["store_open_set"][rate].get<double>(), 0) << rate;
    EXPECT_LE(j["store_open_set"][rate].get<double>(), 1) << rate;
  }
}

}  // namespace
}  // namespace spkid
