// spkid train, identify and verify end to end, as separate processes on a store of generated
// voices, with a tiny base model pretrained in the test (SPKID_BASE_MODEL).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "spkid/features.h"
#include "spkid/model.h"
#include "synth.h"
#include "tiny_model.h"

namespace spkid {
namespace {

using test::json_lines;
using test::lines_of;
using test::shell_quote;

constexpr int kRate = 16000;
constexpr double kEnrollSeconds = 15;
constexpr double kClipSeconds = 4;
// The exit statuses the commands document.
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitBadInput = 3;
constexpr int kExitStore = 4;
constexpr int kExitModel = 5;
constexpr int kExitRejected = 10;

// Voices unlike the tiny model's pretraining voices, far apart in pitch and vocal tract.
const std::map<std::string, test::Voice>& enrolled_voices() {
  static const std::map<std::string, test::Voice> voices = {
      {"alice", {105, {620, 1150, 2550}, 0.3}},
      {"bob", {175, {780, 1500, 2850}, 0.3}},
      {"carol", {270, {880, 1750, 3200}, 0.3}}};
  return voices;
}
const test::Voice kUnseenVoice{135, {480, 2000, 2350}, 0.3};

std::set<std::string> keys_of(const nlohmann::json& object) {
  std::set<std::string> keys;
  for (const auto& item : object.items()) keys.insert(item.key());
  return keys;
}

// The identify --json contract, exactly: these fields with these types, "top" best first.
void expect_identification_contract(const nlohmann::json& object) {
  EXPECT_EQ(keys_of(object), (std::set<std::string>{"file", "speaker", "known", "score", "top"}))
      << object;
  EXPECT_TRUE(object["file"].is_string());
  EXPECT_TRUE(object["speaker"].is_string());
  EXPECT_TRUE(object["known"].is_boolean());
  EXPECT_TRUE(object["score"].is_number());
  ASSERT_TRUE(object["top"].is_array());
  ASSERT_FALSE(object["top"].empty());
  for (const nlohmann::json& candidate : object["top"]) {
    EXPECT_EQ(keys_of(candidate), (std::set<std::string>{"speaker", "score"})) << candidate;
    EXPECT_TRUE(candidate["speaker"].is_string());
    EXPECT_TRUE(candidate["score"].is_number());
  }
  // The score is the answer's, also when it is unknown; the answer leads "top", the runners-up
  // follow by score.
  EXPECT_EQ(object["score"], object["top"][0]["score"]);
  for (std::size_t i = 2; i < object["top"].size(); ++i) {
    EXPECT_GE(object["top"][i - 1]["score"].get<double>(), object["top"][i]["score"].get<double>());
  }
  if (object["known"]) EXPECT_EQ(object["speaker"], object["top"][0]["speaker"]);
  if (!object["known"]) EXPECT_EQ(object["speaker"], "unknown");
}

// A store in a temporary folder and the spkid command run against it.
class IdentifyCli : public ::testing::Test {
 protected:
  test::TempDir temp_;
  const std::string store_dir_ = temp_.file("store");

  test::CommandResult spkid(const std::string& arguments,
                            const std::string& base_model = test::tiny_base_model()) const {
    return test::run_command("SPKID_BASE_MODEL=" + shell_quote(base_model) + " " +
                             shell_quote(SPKID_BINARY) + " --store " + shell_quote(store_dir_) +
                             " " + arguments);
  }

  // A file of the temporary folder as a shell argument.
  std::string arg(const std::string& name) const { return shell_quote(temp_.file(name)); }

  // <name>.wav of kEnrollSeconds for enrollment, <name>-test.wav a fresh clip of the same voice.
  void write_voice(const std::string& name, const test::Voice& voice, unsigned seed) const {
    test::write_audio(temp_.file(name + ".wav"),
                      test::speech_like(voice, kEnrollSeconds, kRate, seed), kRate);
    test::write_audio(temp_.file(name + "-test.wav"),
                      test::speech_like(voice, kClipSeconds, kRate, seed + 100), kRate);
  }

  // Enrolls the named voices (each named after its file).
  void enroll(const std::vector<std::string>& names) const {
    std::string files;
    unsigned seed = 1;
    for (const std::string& name : names) {
      write_voice(name, enrolled_voices().at(name), seed++);
      files += " " + arg(name + ".wav");
    }
    const test::CommandResult enrolled = spkid("enroll" + files);
    ASSERT_EQ(enrolled.exit_code, 0) << enrolled.err;
  }

  std::string test_clips() const {
    std::string files;
    for (const auto& [name, voice] : enrolled_voices()) {
      files += " " + arg(name + "-test.wav");
    }
    return files;
  }

  // identify --json --top 3 on each enrolled voice's fresh clip: the answers by speaker.
  std::map<std::string, nlohmann::json> identify_test_clips(const std::string& options = "") const {
    const test::CommandResult result = spkid("identify --json --top 3 " + options + test_clips());
    EXPECT_EQ(result.exit_code, 0) << result.err;
    std::map<std::string, nlohmann::json> answers;
    const std::vector<nlohmann::json> objects = json_lines(result.out);
    EXPECT_EQ(objects.size(), enrolled_voices().size()) << result.out;
    auto voice = enrolled_voices().begin();
    for (const nlohmann::json& object : objects) {
      expect_identification_contract(object);
      EXPECT_EQ(object["file"], temp_.file(voice->first + "-test.wav"));  // input order
      EXPECT_EQ(object["top"].size(), 3u);
      answers[voice->first] = object;
      ++voice;
    }
    return answers;
  }

  static constexpr const char* kQuickTraining =
      "train --epochs 6 --crops-per-speaker 16 --batch-size 16 --crop-min-seconds 1 "
      "--crop-max-seconds 1.5 --threads 1 --noise-probability 0 --speed-probability 0 "
      "--pitch-probability 0 --reverb-probability 0 --telephone-probability 0";
};

TEST_F(IdentifyCli, NamesEnrolledVoicesBeforeAndAfterTrainAndAnUnseenVoiceUnknown) {
  enroll({"alice", "bob", "carol"});

  // Right after enrollment: the enrollment clips' centroids.
  for (const auto& [name, answer] : identify_test_clips("--threshold -1000")) {
    EXPECT_EQ(answer["speaker"], name) << answer;
    EXPECT_TRUE(answer["known"]);
  }

  const test::CommandResult trained = spkid(std::string(kQuickTraining) + " --json");
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const std::vector<nlohmann::json> summary = json_lines(trained.out);
  ASSERT_EQ(summary.size(), 1u) << trained.out;
  EXPECT_EQ(summary[0]["speakers"], (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_GE(summary[0]["epochs"].get<int>(), 1);
  EXPECT_TRUE(summary[0]["open_set"]["threshold"].is_number());
  EXPECT_EQ(summary[0]["open_set"]["speakers"], 3);
  EXPECT_TRUE(summary[0]["open_set"]["calibrated"]);
  EXPECT_TRUE(std::filesystem::is_regular_file(summary[0]["model"].get<std::string>()));
  const test::CommandResult listed = spkid("list --json");
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  for (const nlohmann::json& speaker : json_lines(listed.out)) {
    EXPECT_TRUE(speaker["covered_by_current_model"]) << speaker;
  }

  // The trained classifier names each voice; an unseen voice scores below every enrolled one.
  std::vector<double> genuine_scores;
  for (const auto& [name, answer] : identify_test_clips()) {
    EXPECT_EQ(answer["top"][0]["speaker"], name) << answer;
    genuine_scores.push_back(answer["score"]);
  }
  test::write_audio(temp_.file("dave.wav"), test::speech_like(kUnseenVoice, kClipSeconds, kRate, 7),
                    kRate);
  const test::CommandResult unseen = spkid("identify --json " + arg("dave.wav"));
  ASSERT_EQ(unseen.exit_code, 0) << unseen.err;
  const double unseen_score = json_lines(unseen.out).at(0)["score"];
  const double lowest_genuine = *std::min_element(genuine_scores.begin(), genuine_scores.end());
  ASSERT_LT(unseen_score, lowest_genuine);

  // A threshold between them accepts every enrolled voice and calls the unseen one unknown.
  const std::string threshold = std::to_string((unseen_score + lowest_genuine) / 2);
  for (const auto& [name, answer] : identify_test_clips("--threshold " + threshold)) {
    EXPECT_EQ(answer["speaker"], name) << answer;
    EXPECT_TRUE(answer["known"]) << answer;
  }
  const test::CommandResult unknown =
      spkid("identify --json --threshold " + threshold + " " + arg("dave.wav"));
  ASSERT_EQ(unknown.exit_code, 0) << unknown.err;
  const nlohmann::json dave = json_lines(unknown.out).at(0);
  expect_identification_contract(dave);
  EXPECT_EQ(dave["speaker"], "unknown");
  EXPECT_FALSE(dave["known"]);

  // The text form says the same in one line per file.
  const test::CommandResult text = spkid("identify --threshold " + threshold + " " +
                                         arg("alice-test.wav") + " " + arg("dave.wav"));
  ASSERT_EQ(text.exit_code, 0) << text.err;
  const std::vector<std::string> text_lines = lines_of(text.out);
  ASSERT_EQ(text_lines.size(), 2u) << text.out;
  EXPECT_EQ(text_lines[0].rfind(temp_.file("alice-test.wav") + ": alice (score ", 0), 0u)
      << text_lines[0];
  EXPECT_EQ(text_lines[1].rfind(temp_.file("dave.wav") + ": unknown (best: ", 0), 0u)
      << text_lines[1];
}

TEST_F(IdentifyCli, LabelledDatasetGetsExpectedNamesAndAnAccuracyLine) {
  enroll({"alice", "bob", "carol"});
  for (const auto& [name, voice] : enrolled_voices()) {
    std::filesystem::create_directories(temp_.file("dataset/" + name));
    std::filesystem::copy_file(temp_.file(name + "-test.wav"),
                               temp_.file("dataset/" + name + "/clip.wav"));
  }
  // A speaker nobody enrolled is expected to be unknown; at this threshold everyone is known.
  std::filesystem::create_directories(temp_.file("dataset/dave"));
  test::write_audio(temp_.file("dataset/dave/clip.wav"),
                    test::speech_like(kUnseenVoice, kClipSeconds, kRate, 7), kRate);
  const test::CommandResult result =
      spkid("identify --json --threshold -1000 --dir " + arg("dataset"));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::vector<nlohmann::json> objects = json_lines(result.out);
  ASSERT_EQ(objects.size(), 4u) << result.out;
  for (const nlohmann::json& object : objects) {
    const std::string file = object["file"];
    if (file.find("/dave/") != std::string::npos) {
      EXPECT_EQ(object["expected"], "unknown") << object;
      EXPECT_NE(object["speaker"], "unknown") << object;
    } else {
      EXPECT_EQ(object["speaker"], object["expected"]) << object;
      EXPECT_NE(file.find("/" + object["expected"].get<std::string>() + "/"), std::string::npos);
    }
  }
  EXPECT_NE(result.err.find("not enrolled, so expected to be unknown: 'dave'"), std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("3 of 4 files named as labelled (75.0%)"), std::string::npos)
      << result.err;
}

TEST_F(IdentifyCli, AFailedFileGetsAnErrorObjectAndTheOthersAreAnswered) {
  enroll({"alice", "bob"});
  test::write_text(temp_.file("notes.wav"), "not audio at all");
  const std::string missing = temp_.file("missing.wav");
  const test::CommandResult result =
      spkid("identify --json --jobs 2 " + arg("alice-test.wav") + " " + shell_quote(missing) + " " +
            arg("notes.wav") + " " + arg("bob-test.wav"));
  EXPECT_EQ(result.exit_code, kExitFailure) << result.err;
  const std::vector<nlohmann::json> objects = json_lines(result.out);
  ASSERT_EQ(objects.size(), 4u) << result.out;
  expect_identification_contract(objects[0]);
  expect_identification_contract(objects[3]);
  for (const nlohmann::json& failed : {objects[1], objects[2]}) {
    EXPECT_EQ(keys_of(failed), (std::set<std::string>{"file", "error"})) << failed;
    EXPECT_TRUE(failed["error"]["code"].is_string());
    EXPECT_TRUE(failed["error"]["message"].is_string());
  }
  EXPECT_EQ(objects[1]["file"], missing);
  EXPECT_EQ(objects[1]["error"]["code"], "not_found");
  EXPECT_EQ(objects[2]["error"]["code"], "unsupported_format");
  EXPECT_EQ(lines_of(result.err).size(), 2u) << result.err;  // one line per failed file

  // Every file failing for the same reason gives that reason's status.
  EXPECT_EQ(spkid("identify " + shell_quote(missing)).exit_code, kExitBadInput);
}

TEST_F(IdentifyCli, VerifyAcceptsTheClaimedVoiceAndRejectsAnother) {
  enroll({"alice", "bob"});
  const auto verify = [&](const std::string& file, const std::string& options) {
    return spkid("verify --json " + options + " --name alice " + arg(file));
  };
  // The scores at any threshold, then a threshold between them.
  const test::CommandResult own = verify("alice-test.wav", "--threshold 0");
  const test::CommandResult other = verify("bob-test.wav", "--threshold 0");
  ASSERT_EQ(lines_of(own.out).size(), 1u) << own.err;
  ASSERT_EQ(lines_of(other.out).size(), 1u) << other.err;
  const double own_score = json_lines(own.out)[0]["score"];
  const double other_score = json_lines(other.out)[0]["score"];
  ASSERT_GT(own_score, other_score);
  const std::string threshold = "--threshold " + std::to_string((own_score + other_score) / 2);

  const test::CommandResult accepted = verify("alice-test.wav", threshold);
  EXPECT_EQ(accepted.exit_code, 0) << accepted.err;
  const nlohmann::json yes = json_lines(accepted.out).at(0);
  EXPECT_EQ(keys_of(yes),
            (std::set<std::string>{"file", "speaker", "accepted", "score", "threshold"}));
  EXPECT_EQ(yes["speaker"], "alice");
  EXPECT_TRUE(yes["accepted"]);
  EXPECT_GE(yes["score"].get<double>(), yes["threshold"].get<double>());

  const test::CommandResult rejected = verify("bob-test.wav", threshold);
  EXPECT_EQ(rejected.exit_code, kExitRejected) << rejected.err;
  EXPECT_FALSE(json_lines(rejected.out).at(0)["accepted"]);
  const test::CommandResult rejected_text =
      spkid("verify " + threshold + " --name alice " + arg("bob-test.wav"));
  EXPECT_EQ(rejected_text.exit_code, kExitRejected);
  EXPECT_NE(rejected_text.out.find(": rejected as alice (score "), std::string::npos)
      << rejected_text.out;

  const test::CommandResult nobody = spkid("verify --name zoe " + arg("alice-test.wav"));
  EXPECT_EQ(nobody.exit_code, kExitUsage);
  EXPECT_EQ(lines_of(nobody.err).size(), 1u) << nobody.err;
  EXPECT_NE(nobody.err.find("spkid list"), std::string::npos) << nobody.err;
}

// The store's files that hold models, with their contents.
std::map<std::string, std::string> model_files(const std::string& store_dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(store_dir)) {
    if (entry.path().filename().string().rfind("model-", 0) == 0) {
      files[entry.path().filename().string()] = test::read_text(entry.path().string());
    }
  }
  return files;
}

bool any_holds(const std::map<std::string, std::string>& files, const std::string& text) {
  return std::any_of(files.begin(), files.end(),
                     [&](const auto& file) { return file.second.find(text) != std::string::npos; });
}

TEST_F(IdentifyCli, RemoveDeletesEveryModelTrainedWithTheSpeaker) {
  enroll({"alice", "bob", "carol"});
  ASSERT_EQ(spkid(kQuickTraining).exit_code, 0);
  ASSERT_EQ(spkid(kQuickTraining).exit_code, 0);
  // The base model's copy and the newest classifier: the first classifier went.
  const auto trained = model_files(store_dir_);
  EXPECT_EQ(trained.size(), 2u);
  ASSERT_TRUE(any_holds(trained, "carol"));  // the classifier's labels

  const test::CommandResult removed = spkid("remove carol");
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_NE(removed.err.find("deleted the store's model trained with the voice of 'carol'"),
            std::string::npos)
      << removed.err;
  const auto left = model_files(store_dir_);
  EXPECT_EQ(left.size(), 1u);
  EXPECT_FALSE(any_holds(left, "carol"));

  // The base model answers at once; a new train is made with the others only.
  const test::CommandResult answer =
      spkid("identify --json --threshold -1000 " + arg("alice-test.wav"));
  ASSERT_EQ(answer.exit_code, 0) << answer.err;
  EXPECT_EQ(json_lines(answer.out).at(0)["speaker"], "alice") << answer.out;
  ASSERT_EQ(spkid(kQuickTraining).exit_code, 0);
  const auto retrained = model_files(store_dir_);
  EXPECT_EQ(retrained.size(), 2u);
  EXPECT_TRUE(any_holds(retrained, "alice"));
  EXPECT_FALSE(any_holds(retrained, "carol"));
}

TEST_F(IdentifyCli, AModelFileDeletedByHandIsMadeAgainOrNamesTheCommandThatDoes) {
  enroll({"alice", "bob"});
  const std::string identify_alice = "identify --json --threshold -1000 " + arg("alice-test.wav");
  ASSERT_EQ(spkid(identify_alice).exit_code, 0);
  const auto copied = model_files(store_dir_);
  ASSERT_EQ(copied.size(), 1u);
  // The base model's copy: copied again from the shipped one, and identify answers as before.
  std::filesystem::remove(store_dir_ + "/" + copied.begin()->first);
  const test::CommandResult again = spkid(identify_alice);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(json_lines(again.out).at(0)["speaker"], "alice");
  ASSERT_EQ(model_files(store_dir_).size(), 1u);
  const std::string base_copy = model_files(store_dir_).begin()->first;

  // A trained classifier cannot be made again without training: the error says so.
  ASSERT_EQ(spkid(kQuickTraining).exit_code, 0);
  const auto trained = model_files(store_dir_);
  ASSERT_EQ(trained.size(), 2u);
  for (const auto& [file, bytes] : trained) {
    if (file != base_copy) std::filesystem::remove(store_dir_ + "/" + file);
  }
  const test::CommandResult missing = spkid(identify_alice);
  EXPECT_EQ(missing.exit_code, kExitModel) << missing.err;
  EXPECT_EQ(lines_of(missing.err).size(), 1u) << missing.err;
  EXPECT_NE(missing.err.find("is missing: run spkid train"), std::string::npos) << missing.err;
  ASSERT_EQ(spkid(kQuickTraining).exit_code, 0);
  const test::CommandResult retrained = spkid(identify_alice);
  ASSERT_EQ(retrained.exit_code, 0) << retrained.err;
  EXPECT_EQ(json_lines(retrained.out).at(0)["speaker"], "alice");

  // A model file replaced by another (here the base copy's bytes) is refused, not used.
  for (const auto& [file, bytes] : model_files(store_dir_)) {
    if (file != base_copy) test::write_text(store_dir_ + "/" + file, trained.at(base_copy));
  }
  const test::CommandResult replaced = spkid(identify_alice);
  EXPECT_EQ(replaced.exit_code, kExitStore) << replaced.err;
  EXPECT_EQ(lines_of(replaced.err).size(), 1u) << replaced.err;
  EXPECT_NE(replaced.err.find("SHA-256 differs"), std::string::npos) << replaced.err;
}

TEST_F(IdentifyCli, AStoreThatCannotBeWrittenIsStillListedAndAnswers) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes folders whatever their permissions";
  enroll({"alice", "bob"});  // no model yet: the first identify cannot register one
  ASSERT_EQ(::chmod(store_dir_.c_str(), 0500), 0);
  const test::CommandResult listed = spkid("list --json");
  const test::CommandResult answer =
      spkid("identify --json --threshold -1000 " + arg("alice-test.wav"));
  // Both with a threshold every score passes: what is tested is that they answer at all (the
  // default threshold's decision on these synthetic voices is the model's business).
  const test::CommandResult verified =
      spkid("verify --json --threshold -1000 --name alice " + arg("alice-test.wav"));
  ::chmod(store_dir_.c_str(), 0700);
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(json_lines(listed.out).size(), 2u) << listed.out;
  ASSERT_EQ(answer.exit_code, 0) << answer.err;
  EXPECT_EQ(json_lines(answer.out).at(0)["speaker"], "alice");
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_TRUE(model_files(store_dir_).empty());  // nothing was written
}

TEST_F(IdentifyCli, TrainWithOneSpeakerIsRefusedAndChangesNothing) {
  enroll({"alice"});
  // identify registers the base model: the store's model before the failed train.
  ASSERT_EQ(spkid("identify " + arg("alice-test.wav")).exit_code, 0);
  const std::string listed_before = spkid("list --json").out;
  const auto models_before = model_files(store_dir_);
  ASSERT_EQ(models_before.size(), 1u);

  const test::CommandResult refused = spkid(kQuickTraining);
  EXPECT_EQ(refused.exit_code, kExitStore);
  EXPECT_EQ(lines_of(refused.err).size(), 1u) << refused.err;
  EXPECT_NE(refused.err.find("two"), std::string::npos) << refused.err;
  EXPECT_TRUE(refused.out.empty()) << refused.out;
  EXPECT_EQ(spkid("list --json").out, listed_before);
  EXPECT_EQ(model_files(store_dir_), models_before);
}

TEST_F(IdentifyCli, AModelMadeForOtherFeaturesIsRefused) {
  enroll({"alice", "bob"});  // 64 Mel bands, the default
  FeatureOptions other_features;
  other_features.num_mel_bins = 40;
  NetworkOptions network;
  network.channels = {4, 8};
  network.dense_size = 16;
  network.embedding_size = 16;
  const std::string other_model = temp_.file("40-bands.pt");
  SpeakerModel(other_features, network, {"x", "y"}).save(other_model);
  for (const std::string& command :
       {"identify " + arg("alice-test.wav"), std::string(kQuickTraining)}) {
    const test::CommandResult refused = spkid(command, other_model);
    EXPECT_EQ(refused.exit_code, kExitModel) << command << ": " << refused.err;
    EXPECT_EQ(lines_of(refused.err).size(), 1u) << refused.err;
    EXPECT_NE(refused.err.find("other feature settings"), std::string::npos) << refused.err;
    EXPECT_TRUE(refused.out.empty()) << refused.out;
  }
  EXPECT_TRUE(model_files(store_dir_).empty());
}

TEST_F(IdentifyCli, AStoreWithoutSpeakersSaysToEnrollFirst) {
  test::write_audio(temp_.file("alice-test.wav"),
                    test::speech_like(enrolled_voices().at("alice"), kClipSeconds, kRate), kRate);
  // The store is refused before any model is looked at.
  const test::CommandResult result =
      spkid("identify " + arg("alice-test.wav"), temp_.file("no-model.pt"));
  EXPECT_EQ(result.exit_code, kExitStore);
  EXPECT_EQ(lines_of(result.err).size(), 1u) << result.err;
  EXPECT_NE(result.err.find("enroll"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace spkid
