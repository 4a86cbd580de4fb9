// The spkid program itself, run as a user would, on audio the tests make.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "decoded_png.h"
#include "spkid/features.h"
#include "spkid/npy.h"
#include "synth.h"

namespace spkid {
namespace {

using test::CommandResult;
using test::shell_quote;
using test::TempDir;

constexpr int kRate = 16000;
constexpr double kLeadingSilenceSeconds = 2.0;
constexpr double kSpeechSeconds = 13.0;  // 2 clips of 6 s; the 1 s remainder is dropped

CommandResult spkid(const std::string& arguments) {
  return test::run_command(shell_quote(SPKID_BINARY) + " " + arguments);
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) result.push_back(line);
  return result;
}

// Errors are one line, "spkid: error: ...", and nothing else on standard error.
void expect_one_error_line(const CommandResult& result, const std::string& mentions = "") {
  const std::vector<std::string> err = lines(result.err);
  ASSERT_EQ(err.size(), 1u) << result.err;
  EXPECT_EQ(err[0].rfind("spkid: error: ", 0), 0u) << err[0];
  EXPECT_NE(err[0].find(mentions), std::string::npos) << err[0];
}

using test::big_endian_u32;

// Audio files shared by the tests, made once.
class CliTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    const auto speech = test::speech_like({}, kSpeechSeconds, 44100);
    const auto pause = test::silence(kLeadingSilenceSeconds, 44100);
    // Stereo 44.1 kHz with silence either side of the speech.
    test::write_audio(file("talk.wav"), test::concat({pause, speech, pause}), 44100, 2);
    test::write_audio(file("short.flac"), test::speech_like({180, {500, 1500, 2500}}, 3, kRate),
                      kRate);
    test::write_audio(file("silence.wav"), test::silence(5, kRate), kRate);
    test::write_text(file("notes.wav"), "These are meeting notes, not audio.\n");
    test::write_text(file("empty.wav"), "");
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string file(const std::string& name) { return dir_->file(name); }
  static std::string quoted(const std::string& name) { return shell_quote(file(name)); }

  static TempDir* dir_;
};
TempDir* CliTest::dir_ = nullptr;

TEST_F(CliTest, VersionPrintsTheProgramAndVersion) {
  const CommandResult result = spkid("--version");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_TRUE(std::regex_search(result.out, std::regex(R"(^spkid \d+\.\d+\.\d+)"))) << result.out;
}

TEST_F(CliTest, HelpDescribesEveryCommand) {
  const CommandResult main_help = spkid("--help");
  EXPECT_EQ(main_help.exit_code, 0);
  for (const char* expected :
       {"info", "spectrogram", "features", "--store", "--verbose", "--quiet", "Exit status"}) {
    EXPECT_NE(main_help.out.find(expected), std::string::npos) << expected;
  }
  const std::vector<std::pair<std::string, std::vector<std::string>>> commands = {
      {"info", {"--json", "--clip-seconds", "--vad-threshold-db", "--sample-rate", "Examples"}},
      {"spectrogram", {"--linear", "--waveform", "--width", "--mel-bins", "Examples"}},
      {"features", {"--no-vad", "--jobs", "--json", "--mfcc", "--cmvn", "--window", "Examples"}}};
  for (const auto& [command, flags] : commands) {
    const CommandResult help = spkid(command + " --help");
    EXPECT_EQ(help.exit_code, 0) << command;
    for (const std::string& flag : flags) {
      EXPECT_NE(help.out.find(flag), std::string::npos) << command << " lacks " << flag;
    }
  }
}

TEST_F(CliTest, UsageErrorsExitWithTwo) {
  for (const std::string& arguments :
       {std::string(""), std::string("dance"), std::string("info"), std::string("info --bogus x"),
        "features " + quoted("talk.wav"),  // no -o
        "spectrogram " + quoted("talk.wav") + " -o x.png --linear --waveform",
        "features --window triangle -o out " + quoted("talk.wav"),
        "info --clip-seconds -1 " + quoted("talk.wav"), "-q -v info " + quoted("talk.wav")}) {
    const CommandResult result = spkid(arguments);
    EXPECT_EQ(result.exit_code, 2) << arguments;
    expect_one_error_line(result);
    EXPECT_TRUE(result.out.empty()) << arguments;
  }
}

TEST_F(CliTest, StoreDefaultsFollowTheEnvironment) {
  // `spkid --help` shows the store directory the environment resolves to.
  EXPECT_NE(test::run_command("SPKID_HOME=/srv/voices " + shell_quote(SPKID_BINARY) + " --help")
                .out.find("/srv/voices"),
            std::string::npos);
  EXPECT_NE(test::run_command("env -u SPKID_HOME XDG_DATA_HOME=/data " + shell_quote(SPKID_BINARY) +
                              " --help")
                .out.find("/data/spkid"),
            std::string::npos);
  EXPECT_NE(test::run_command("env -u SPKID_HOME -u XDG_DATA_HOME HOME=/home/ann " +
                              shell_quote(SPKID_BINARY) + " --help")
                .out.find("/home/ann/.local/share/spkid"),
            std::string::npos);
}

TEST_F(CliTest, InfoPrintsAnAlignedTable) {
  const CommandResult result = spkid("info " + quoted("talk.wav") + " " + quoted("short.flac"));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::vector<std::string> table = lines(result.out);
  ASSERT_EQ(table.size(), 3u) << result.out;
  EXPECT_NE(table[0].find("speech (s)"), std::string::npos);
  EXPECT_EQ(table[1].size(), table[0].size());  // aligned columns end together
  EXPECT_EQ(table[2].size(), table[0].size());
  EXPECT_TRUE(std::regex_search(table[1], std::regex(R"(talk\.wav +WAV +\S.* +44100 +2 +17\.00 )")))
      << table[1];
  EXPECT_TRUE(
      std::regex_search(table[2], std::regex(R"(short\.flac +FLAC +\S.* +16000 +1 +3\.00 )")))
      << table[2];
}

TEST_F(CliTest, InfoJsonGivesOneObjectPerFile) {
  const CommandResult result =
      spkid("info --json " + quoted("talk.wav") + " " + quoted("short.flac"));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::vector<std::string> objects = lines(result.out);
  ASSERT_EQ(objects.size(), 2u);

  const nlohmann::json talk = nlohmann::json::parse(objects[0]);
  EXPECT_EQ(talk["file"], file("talk.wav"));
  EXPECT_EQ(talk["format"], "WAV");
  EXPECT_EQ(talk["sample_rate_hz"], 44100);
  EXPECT_EQ(talk["channels"], 2);
  EXPECT_NEAR(talk["duration_seconds"].get<double>(), kSpeechSeconds + 2 * kLeadingSilenceSeconds,
              1e-3);
  EXPECT_NEAR(talk["speech_seconds"].get<double>(), kSpeechSeconds, 0.5);
  EXPECT_EQ(talk["clip_seconds"], 6.0);
  EXPECT_EQ(talk["clips"], 2);

  const nlohmann::json short_file = nlohmann::json::parse(objects[1]);
  EXPECT_EQ(short_file["format"], "FLAC");
  EXPECT_EQ(short_file["channels"], 1);
  EXPECT_EQ(short_file["clips"], 1);  // 3 s of speech is one shorter clip

  const nlohmann::json shorter_clips =
      nlohmann::json::parse(spkid("info --json --clip-seconds 4 " + quoted("talk.wav")).out);
  EXPECT_EQ(shorter_clips["clips"], 3);
}

TEST_F(CliTest, InfoGoesOnAfterAFailedFile) {
  const CommandResult text = spkid("info " + quoted("talk.wav") + " " + quoted("missing.wav"));
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_EQ(lines(text.out).size(), 2u);  // header and talk.wav
  expect_one_error_line(text, "missing.wav");

  const CommandResult json =
      spkid("info --json " + quoted("missing.wav") + " " + quoted("talk.wav"));
  EXPECT_EQ(json.exit_code, 1);
  const std::vector<std::string> objects = lines(json.out);
  ASSERT_EQ(objects.size(), 2u);
  const nlohmann::json failed = nlohmann::json::parse(objects[0]);
  EXPECT_EQ(failed["file"], file("missing.wav"));
  EXPECT_EQ(failed["error"]["code"], "not_found");
  EXPECT_EQ(nlohmann::json::parse(objects[1])["sample_rate_hz"], 44100);
}

TEST_F(CliTest, BadInputsGiveOneErrorLineAndExitThree) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"info " + quoted("missing.wav"), "missing.wav"},
      {"info " + quoted("notes.wav"), "notes.wav"},
      {"info " + quoted("empty.wav"), "empty.wav"},
      {"spectrogram " + quoted("notes.wav") + " -o " + quoted("notes.png"), "notes.wav"},
      {"features " + quoted("empty.wav") + " -o " + quoted("out-bad"), "empty.wav"},
      {"features " + quoted("silence.wav") + " -o " + quoted("out-bad"), "no speech"}};
  for (const auto& [arguments, mentions] : cases) {
    const CommandResult result = spkid(arguments);
    EXPECT_EQ(result.exit_code, 3) << arguments;
    expect_one_error_line(result, mentions);
    EXPECT_TRUE(result.out.empty()) << arguments;
  }
  EXPECT_FALSE(std::filesystem::exists(file("out-bad/silence.npy")));
}

TEST_F(CliTest, SpectrogramWritesAPngOfTheRequestedSizeInEveryMode) {
  for (const std::string mode : {"", "--linear", "--waveform"}) {
    const std::string png = file("talk" + mode + ".png");
    const CommandResult result = spkid("spectrogram " + quoted("talk.wav") + " " + mode +
                                       " --width 800 --height 360 -o " + shell_quote(png));
    ASSERT_EQ(result.exit_code, 0) << mode << ": " << result.err;
    const std::string bytes = test::read_text(png);
    ASSERT_GT(bytes.size(), 24u) << mode;
    EXPECT_EQ(bytes.substr(0, 8), "\x89PNG\r\n\x1a\n") << mode;
    EXPECT_EQ(bytes.substr(12, 4), "IHDR") << mode;
    EXPECT_EQ(big_endian_u32(bytes, 16), 800u) << mode;
    EXPECT_EQ(big_endian_u32(bytes, 20), 360u) << mode;
  }
  const CommandResult to_stdout = spkid("spectrogram " + quoted("short.flac") + " -o -");
  ASSERT_EQ(to_stdout.exit_code, 0) << to_stdout.err;
  EXPECT_EQ(to_stdout.out.substr(0, 8), "\x89PNG\r\n\x1a\n");
  EXPECT_EQ(big_endian_u32(to_stdout.out, 16), 1200u);  // the default width
}

TEST_F(CliTest, FeaturesWritesSpeechFramesAsNpy) {
  TempDir out;
  const CommandResult result = spkid("features " + quoted("talk.wav") + " " + quoted("short.flac") +
                                     " -o " + shell_quote(out.path()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(result.out.empty());

  const NpyArray talk = read_npy(out.file("talk.npy"));
  ASSERT_EQ(talk.shape.size(), 2u);
  EXPECT_EQ(talk.shape[1], 64u);
  // About the speech's frames, 100 a second: the silence either side is left out.
  EXPECT_NEAR(static_cast<double>(talk.shape[0]), kSpeechSeconds * 100, 50);
  for (std::size_t band = 0; band < talk.shape[1]; ++band) {
    double sum = 0;
    for (std::size_t frame = 0; frame < talk.shape[0]; ++frame) {
      const float value = talk.data[frame * talk.shape[1] + band];
      ASSERT_TRUE(std::isfinite(value));
      sum += value;
    }
    EXPECT_NEAR(sum / static_cast<double>(talk.shape[0]), 0.0, 1e-3) << "band " << band;
  }
  EXPECT_EQ(read_npy(out.file("short.npy")).shape[1], 64u);
}

TEST_F(CliTest, FeaturesHonoursFeatureAndVadOptions) {
  TempDir out;
  ASSERT_EQ(spkid("features --no-vad --mfcc --num-ceps 13 -o " + shell_quote(out.path()) + " " +
                  quoted("talk.wav"))
                .exit_code,
            0);
  const NpyArray all = read_npy(out.file("talk.npy"));
  const double total_seconds = kSpeechSeconds + 2 * kLeadingSilenceSeconds;
  EXPECT_EQ(all.shape,
            (std::vector<std::size_t>{static_cast<std::size_t>(num_frames_for(
                                          std::lround(total_seconds * kRate), FeatureOptions{})),
                                      13u}));
}

TEST_F(CliTest, FeaturesIsTheSameWithOneOrTwoWorkers) {
  std::vector<std::string> inputs;
  std::string arguments;
  for (int i = 0; i < 4; ++i) {
    inputs.push_back(file("voice" + std::to_string(i) + ".wav"));
    test::write_audio(inputs.back(), test::speech_like({100.0 + 30 * i}, 2.5, kRate, i + 1), kRate);
    arguments += " " + shell_quote(inputs.back());
  }
  TempDir serial, parallel;
  ASSERT_EQ(spkid("features -j 1 -o " + shell_quote(serial.path()) + arguments).exit_code, 0);
  ASSERT_EQ(spkid("features -j 2 -o " + shell_quote(parallel.path()) + arguments).exit_code, 0);
  for (int i = 0; i < 4; ++i) {
    const std::string name = "voice" + std::to_string(i) + ".npy";
    const std::string bytes = test::read_text(serial.file(name));
    EXPECT_GT(bytes.size(), 128u) << name;
    EXPECT_EQ(bytes, test::read_text(parallel.file(name))) << name;
  }
}

TEST_F(CliTest, FeaturesJsonReportsEachFile) {
  TempDir out;
  const CommandResult result = spkid("-q features --json -o " + shell_quote(out.path()) + " " +
                                     quoted("short.flac") + " " + quoted("silence.wav"));
  EXPECT_EQ(result.exit_code, 1);
  expect_one_error_line(result, "silence.wav");
  const std::vector<std::string> objects = lines(result.out);
  ASSERT_EQ(objects.size(), 2u);
  const nlohmann::json written = nlohmann::json::parse(objects[0]);
  EXPECT_EQ(written["output"], out.file("short.npy"));
  EXPECT_EQ(written["features"], 64);
  EXPECT_EQ(written["frames"], read_npy(out.file("short.npy")).shape[0]);
  EXPECT_EQ(nlohmann::json::parse(objects[1])["error"]["code"], "no_speech");
}

TEST_F(CliTest, FeaturesRefusesTwoInputsWithOneStemBeforeWork) {
  std::filesystem::create_directories(file("other"));
  test::write_audio(file("other/talk.flac"), test::speech_like({}, 2, kRate), kRate);
  const std::string out = file("stem-clash");
  const CommandResult result = spkid("features -o " + shell_quote(out) + " " + quoted("talk.wav") +
                                     " " + quoted("other/talk.flac"));
  EXPECT_EQ(result.exit_code, 2);
  expect_one_error_line(result, "talk.npy");
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST_F(CliTest, ReadsStandardInput) {
  // The group keeps run_command's own stdin redirection from replacing ours.
  const CommandResult info = test::run_command("{ " + shell_quote(SPKID_BINARY) +
                                               " info --json - < " + quoted("short.flac") + "; }");
  ASSERT_EQ(info.exit_code, 0) << info.err;
  const nlohmann::json object = nlohmann::json::parse(info.out);
  EXPECT_EQ(object["file"], "-");
  EXPECT_EQ(object["format"], "FLAC");

  TempDir out;
  const CommandResult features =
      test::run_command("{ " + shell_quote(SPKID_BINARY) + " features -o " +
                        shell_quote(out.path()) + " - < " + quoted("short.flac") + "; }");
  ASSERT_EQ(features.exit_code, 0) << features.err;
  EXPECT_EQ(read_npy(out.file("stdin.npy")).shape[1], 64u);

  EXPECT_EQ(spkid("info - -").exit_code, 2);
}

TEST_F(CliTest, EndlessInputsAreRefusedWithinBoundedMemory) {
  // 1 GB of address space: reading all of an endless input would fail with bad_alloc (exit 70).
  const std::string limited = "ulimit -v 1000000; " + shell_quote(SPKID_BINARY);
  const CommandResult device = test::run_command(limited + " info /dev/zero");
  EXPECT_EQ(device.exit_code, 3) << device.err;
  expect_one_error_line(device, "/dev/zero: is a device");
  const CommandResult piped = test::run_command("{ " + limited + " info - < /dev/zero; }");
  EXPECT_EQ(piped.exit_code, 3) << piped.err;
  expect_one_error_line(piped, "<stdin>: not an audio file");
  // A WAV stream with no end (a streaming writer's size, 0xFFFFFFFF), cut off past --max-seconds.
  // The outer braces take run_command's </dev/null, so spkid reads the pipe.
  const CommandResult stream = test::run_command(
      "{ { printf 'RIFF\\377\\377\\377\\377WAVEfmt \\020\\0\\0\\0\\1\\0\\1\\0"
      "\\200\\076\\0\\0\\0\\175\\0\\0\\2\\0\\020\\0data\\377\\377\\377\\377'; "
      "cat /dev/zero; } | { " +
      limited + " info --max-seconds 5 -; }; }");
  EXPECT_EQ(stream.exit_code, 3) << stream.err;
  expect_one_error_line(stream, "<stdin>: the stream goes on past the 5 s of audio allowed");
}

TEST_F(CliTest, OutputThatCannotBeWrittenIsAnError) {
  // Braces: run_command's own redirection then applies to the group, not to spkid.
  const CommandResult full = test::run_command("{ " + shell_quote(SPKID_BINARY) + " info " +
                                               quoted("talk.wav") + " > /dev/full; }");
  EXPECT_EQ(full.exit_code, 3) << full.err;
  expect_one_error_line(full, "cannot write to standard output");
}

TEST_F(CliTest, QuietSilencesInfoMessagesButNotErrors) {
  TempDir out;
  const CommandResult normal =
      spkid("features -o " + shell_quote(out.path()) + " " + quoted("short.flac"));
  EXPECT_NE(normal.err.find("spkid: info: wrote 1 of 1"), std::string::npos) << normal.err;
  const CommandResult quiet =
      spkid("-q features -o " + shell_quote(out.path()) + " " + quoted("short.flac"));
  EXPECT_EQ(quiet.exit_code, 0);
  EXPECT_TRUE(quiet.err.empty()) << quiet.err;
  const CommandResult verbose =
      spkid("-v features -o " + shell_quote(out.path()) + " " + quoted("short.flac"));
  EXPECT_NE(verbose.err.find("spkid: debug: "), std::string::npos) << verbose.err;
}

}  // namespace
}  // namespace spkid
