// spkid as an installed package: `cmake --install` into a temporary prefix, then examples/ built
// against it with find_package(spkid) and with pkg-config, and the smart-speaker example run on
// generated voices.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "synth.h"
#include "tiny_model.h"

namespace spkid {
namespace {

using test::lines_of;
using test::shell_quote;

constexpr int kRate = 16000;
const test::Voice kAlice{105, {620, 1150, 2550}, 0.3};
const test::Voice kBob{270, {880, 1750, 3200}, 0.3};

void write_raw(const std::string& path, const std::vector<float>& samples) {
  std::ofstream out(path, std::ios::binary);
  for (const float x : samples) {
    const auto v = static_cast<int16_t>(std::max(-1.0f, std::min(1.0f, x)) * 32767.0f);
    out.write(reinterpret_cast<const char*>(&v), sizeof v);
  }
}

class Package : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    prefix_ = new test::TempDir();
    const auto installed = test::run_command("cmake --install " + shell_quote(SPKID_BUILD_DIR) +
                                             " --prefix " + shell_quote(prefix_->path()));
    ASSERT_EQ(installed.exit_code, 0) << installed.out << installed.err;
  }
  static void TearDownTestSuite() { delete prefix_; }

  // Runs the example program `binary` on a store of alice and bob, then on a conversation.
  void expect_example_works(const std::string& binary) const {
    const std::string env = "SPKID_BASE_MODEL=" + shell_quote(test::tiny_base_model()) + " ";
    const std::string store = shell_quote(temp_.file("store"));
    write_raw(temp_.file("alice.raw"), test::speech_like(kAlice, 15, kRate, 1));
    write_raw(temp_.file("bob.raw"), test::speech_like(kBob, 15, kRate, 2));
    for (const std::string name : {"alice", "bob"}) {
      const auto enrolled =
          test::run_command("{ " + env + shell_quote(binary) + " " + store + " enroll " + name +
                            " < " + shell_quote(temp_.file(name + ".raw")) + "; }");
      ASSERT_EQ(enrolled.exit_code, 0) << enrolled.err;
      EXPECT_NE(enrolled.out.find("enrolled " + name), std::string::npos) << enrolled.out;
    }
    const std::vector<float> pause = test::silence(1.0, kRate);
    write_raw(temp_.file("talk.raw"),
              test::concat({pause, test::speech_like(kAlice, 2.5, kRate, 10), pause,
                            test::speech_like(kBob, 2.5, kRate, 11), pause}));
    const auto heard = test::run_command("{ " + env + shell_quote(binary) + " " + store + " < " +
                                         shell_quote(temp_.file("talk.raw")) + "; }");
    ASSERT_EQ(heard.exit_code, 0) << heard.err;
    const auto lines = lines_of(heard.out);
    ASSERT_EQ(lines.size(), 2u) << heard.out;
    for (const std::string& line : lines) EXPECT_NE(line.find("hello, "), std::string::npos);
  }

  static test::TempDir* prefix_;
  test::TempDir temp_;
};
test::TempDir* Package::prefix_ = nullptr;

TEST_F(Package, AnotherCMakeProjectBuildsTheExampleWithFindPackage) {
  const std::string build = temp_.file("build");
  const auto configured = test::run_command(
      "cmake -S " + shell_quote(std::string(SPKID_SOURCE_DIR) + "/examples") + " -B " +
      shell_quote(build) + " -DCMAKE_PREFIX_PATH=" + shell_quote(prefix_->path()));
  ASSERT_EQ(configured.exit_code, 0) << configured.out << configured.err;
  const auto built = test::run_command("cmake --build " + shell_quote(build));
  ASSERT_EQ(built.exit_code, 0) << built.out << built.err;
  expect_example_works(build + "/smart_speaker");
}

TEST_F(Package, PkgConfigGivesWhatTheExampleNeeds) {
  const std::string binary = temp_.file("smart_speaker");
  const auto built = test::run_command(
      "{ export PKG_CONFIG_PATH=" + shell_quote(prefix_->path() + "/lib/pkgconfig") + "; c++ " +
      "-std=c++17 -o " + shell_quote(binary) + " " +
      shell_quote(std::string(SPKID_SOURCE_DIR) + "/examples/smart_speaker.cpp") +
      " $(pkg-config --cflags --libs spkid); }");
  ASSERT_EQ(built.exit_code, 0) << built.out << built.err;
  expect_example_works(binary);
}

TEST_F(Package, TheVersionFileRefusesAnotherMinorVersion) {
  const std::string project = temp_.file("wants-9.9");
  std::filesystem::create_directories(project);
  test::write_text(temp_.file("wants-9.9/CMakeLists.txt"),
                   "cmake_minimum_required(VERSION 3.18)\nproject(p LANGUAGES CXX)\n"
                   "find_package(spkid 9.9 REQUIRED)\n");
  const auto configured = test::run_command("cmake -S " + shell_quote(project) + " -B " +
                                            shell_quote(project + "/build") +
                                            " -DCMAKE_PREFIX_PATH=" + shell_quote(prefix_->path()));
  EXPECT_NE(configured.exit_code, 0);
  EXPECT_NE((configured.out + configured.err).find("spkid"), std::string::npos);
}

}  // namespace
}  // namespace spkid
