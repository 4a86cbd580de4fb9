// spkid listen on a pipe: one JSON line per utterance, in order, from raw PCM or a WAV stream;
// a clean exit on end of input and on SIGTERM with what was pending answered.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "spkid/audio.h"
#include "synth.h"
#include "tiny_model.h"

namespace spkid {
namespace {

using test::json_lines;
using test::shell_quote;

constexpr int kRate = 16000;
const test::Voice kAlice{105, {620, 1150, 2550}, 0.3};
const test::Voice kBob{270, {880, 1750, 3200}, 0.3};

class ListenCli : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_audio(temp_.file("alice.wav"), test::speech_like(kAlice, 15, kRate, 1), kRate);
    test::write_audio(temp_.file("bob.wav"), test::speech_like(kBob, 15, kRate, 2), kRate);
    const auto enrolled = spkid("enroll " + arg("alice.wav") + " " + arg("bob.wav"));
    ASSERT_EQ(enrolled.exit_code, 0) << enrolled.err;
    // alice, a pause, bob, a pause, alice; 16-bit mono.
    const std::vector<float> pause = test::silence(1.0, kRate);
    conversation_ =
        test::concat({test::silence(0.5, kRate), test::speech_like(kAlice, 2.5, kRate, 10), pause,
                      test::speech_like(kBob, 2.5, kRate, 11), pause,
                      test::speech_like(kAlice, 2.0, kRate, 12), pause});
    test::write_audio(temp_.file("talk.wav"), conversation_, kRate);
  }

  test::CommandResult spkid(const std::string& arguments) const {
    return test::run_command("SPKID_BASE_MODEL=" + shell_quote(test::tiny_base_model()) + " " +
                             shell_quote(SPKID_BINARY) + " --store " + shell_quote(store_dir_) +
                             " " + arguments);
  }
  std::string arg(const std::string& name) const { return shell_quote(temp_.file(name)); }
  std::string listen() const {
    return "SPKID_BASE_MODEL=" + shell_quote(test::tiny_base_model()) + " " +
           shell_quote(SPKID_BINARY) + " -q --store " + shell_quote(store_dir_) + " listen";
  }

  static void expect_three_turns(const std::vector<nlohmann::json>& lines) {
    ASSERT_EQ(lines.size(), 3u);
    const double starts[] = {0.5, 4.0, 7.5};
    for (std::size_t i = 0; i < 3; ++i) {
      SCOPED_TRACE(lines[i].dump());
      EXPECT_NEAR(lines[i]["start"].get<double>(), starts[i], 0.15);
      EXPECT_EQ(lines[i]["top"][0]["speaker"], i == 1 ? "bob" : "alice");
      EXPECT_TRUE(lines[i]["known"].is_boolean());
      EXPECT_TRUE(lines[i]["score"].is_number());
    }
    EXPECT_LT(lines[0]["end"].get<double>(), lines[1]["start"].get<double>());
  }

  test::TempDir temp_;
  const std::string store_dir_ = temp_.file("store");
  std::vector<float> conversation_;
};

TEST_F(ListenCli, AWavStreamOnAPipeGivesOneLinePerUtteranceInOrder) {
  const auto result = test::run_command("{ cat " + arg("talk.wav") + " | " + listen() + " -; }");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  expect_three_turns(json_lines(result.out));
}

TEST_F(ListenCli, RawPcmAtAnotherRateAndTwoChannels) {
  // 44.1 kHz stereo float, raw: the flags say what it is.
  const std::vector<float> resampled = resample(conversation_, kRate, 44100);
  std::vector<float> stereo;
  for (const float x : resampled) stereo.insert(stereo.end(), {x, x});
  {
    std::ofstream raw(temp_.file("talk.f32"), std::ios::binary);
    raw.write(reinterpret_cast<const char*>(stereo.data()),
              static_cast<std::streamsize>(stereo.size() * sizeof(float)));
  }
  const auto result = test::run_command("{ cat " + arg("talk.f32") + " | " + listen() +
                                        " --format FLOAT_LE --rate 44100 --channels 2 -; }");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  expect_three_turns(json_lines(result.out));
}

TEST_F(ListenCli, SigtermAnswersWhatIsPendingAndExitsCleanly) {
  // The stream stays open (sleep), the voice never pauses at its end: only SIGTERM ends it.
  const std::vector<float> talk =
      test::concat({test::silence(0.5, kRate), test::speech_like(kBob, 3, kRate, 20)});
  test::write_audio(temp_.file("open.wav"), talk, kRate);
  const auto result =
      test::run_command("{ { cat " + arg("open.wav") + "; sleep 10; } 2>/dev/null | " + listen() +
                        " - > " + arg("out.jsonl") +
                        " & pid=$!; sleep 6; kill -TERM $pid; wait $pid; "
                        "echo exit=$?; cat " +
                        arg("out.jsonl") + "; }");
  ASSERT_NE(result.out.find("exit=0"), std::string::npos) << result.out << result.err;
  const std::string json = result.out.substr(result.out.find('\n') + 1);
  const auto lines = json_lines(json);
  ASSERT_EQ(lines.size(), 1u) << result.out;
  EXPECT_EQ(lines[0]["top"][0]["speaker"], "bob");
}

TEST_F(ListenCli, BadInputGetsOneLineAndAnExitStatus) {
  const auto wrong_format =
      test::run_command("{ cat " + arg("talk.wav") + " | " + listen() + " --format S24 -; }");
  EXPECT_EQ(wrong_format.exit_code, 2) << wrong_format.err;
  EXPECT_NE(wrong_format.err.find("S16_LE"), std::string::npos);
  const auto nothing = test::run_command(listen());
  EXPECT_EQ(nothing.exit_code, 2) << nothing.err;
  const auto no_store = test::run_command(
      "{ cat " + arg("talk.wav") + " | SPKID_BASE_MODEL=" + shell_quote(test::tiny_base_model()) +
      " " + shell_quote(SPKID_BINARY) + " --store " + arg("none") + " listen -; }");
  EXPECT_EQ(no_store.exit_code, 4) << no_store.err;
  const auto no_device = test::run_command(listen() + " --device spkid-no-such-device");
  EXPECT_EQ(no_device.exit_code, 3) << no_device.err;
  EXPECT_NE(no_device.err.find("capture device"), std::string::npos);
}

}  // namespace
}  // namespace spkid
