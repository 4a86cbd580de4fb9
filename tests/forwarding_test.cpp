// spkid hands the commands that need the speaker model to spkid-model: run as real processes, the
// two must behave as one program, and spkid must not load LibTorch.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "synth.h"

namespace spkid {
namespace {

namespace fs = std::filesystem;
using test::CommandResult;
using test::shell_quote;
using test::TempDir;

const fs::path kSpkid = SPKID_BINARY;
const fs::path kModelProgram = kSpkid.parent_path() / "spkid-model";

CommandResult run(const fs::path& program, const std::string& arguments) {
  return test::run_command(shell_quote(program.string()) + " " + arguments);
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) result.push_back(line);
  return result;
}

void expect_one_error_line(const CommandResult& result, const std::string& mentions) {
  const std::vector<std::string> err = lines(result.err);
  ASSERT_EQ(err.size(), 1u) << result.err;
  EXPECT_EQ(err[0].rfind("spkid: error: ", 0), 0u) << err[0];
  EXPECT_NE(err[0].find(mentions), std::string::npos) << err[0] << "\nlacks: " << mentions;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(ForwardingTest, SpkidListsTheModelCommandsAsSpkidModelDoes) {
  const CommandResult spkid = run(kSpkid, "--help");
  ASSERT_EQ(spkid.exit_code, 0) << spkid.err;
  EXPECT_TRUE(contains(spkid.out, "\n  pretrain ")) << spkid.out;
  EXPECT_TRUE(contains(spkid.out, "\n  enroll ")) << spkid.out;
  EXPECT_TRUE(contains(spkid.out, "\n  features ")) << spkid.out;
  // spkid's help lines for the forwarded commands are copies: they must not drift.
  EXPECT_EQ(spkid.out, run(kModelProgram, "--help").out);
}

TEST(ForwardingTest, ForwardedCommandShowsItsOwnHelp) {
  const CommandResult help = run(kSpkid, "pretrain --help");
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_TRUE(contains(help.out, "CORPUS_DIR")) << help.out;
  EXPECT_TRUE(contains(help.out, "--dev-speakers")) << help.out;
  EXPECT_EQ(help.err, "");
}

TEST(ForwardingTest, UsageErrorInForwardedCommandIsOneLineAndStatus2) {
  const CommandResult missing_corpus = run(kSpkid, "pretrain -o base.pt");
  EXPECT_EQ(missing_corpus.exit_code, 2);
  expect_one_error_line(missing_corpus, "see 'spkid pretrain --help'");

  const CommandResult unknown_option = run(kSpkid, "pretrain corpus -o base.pt --no-such-option");
  EXPECT_EQ(unknown_option.exit_code, 2);
  expect_one_error_line(unknown_option, "--no-such-option");
}

// Global options, command options, words that name other commands, `--`, errors and exit
// statuses: the outcome is spkid-model's, byte for byte.
TEST(ForwardingTest, ForwardedCommandLinesBehaveExactlyAsInSpkidModel) {
  TempDir dir;
  const std::string corpus = shell_quote(dir.file("no-corpus"));
  const std::string model = shell_quote(dir.file("base.pt"));
  const std::vector<std::string> command_lines = {
      "pretrain --help",
      "-v -q pretrain " + corpus + " -o " + model,
      "--store " + shell_quote(dir.path()) + " -v pretrain " + corpus + " -o " + model,
      "pretrain --noise list " + corpus + " -o " + model,
      "pretrain -o " + model + " -- info",
  };
  for (const std::string& arguments : command_lines) {
    SCOPED_TRACE(arguments);
    const CommandResult spkid = run(kSpkid, arguments);
    const CommandResult spkid_model = run(kModelProgram, arguments);
    EXPECT_EQ(spkid.exit_code, spkid_model.exit_code);
    EXPECT_EQ(spkid.out, spkid_model.out);
    EXPECT_EQ(spkid.err, spkid_model.err);
  }
}

TEST(ForwardingTest, SpkidDoesNotLinkLibTorch) {
  // ldd lists every shared library the loader would map, directly needed or not.
  const CommandResult spkid = test::run_command("ldd " + shell_quote(kSpkid.string()));
  ASSERT_EQ(spkid.exit_code, 0) << spkid.err;
  EXPECT_FALSE(contains(spkid.out, "libtorch")) << spkid.out;
  EXPECT_FALSE(contains(spkid.out, "libc10")) << spkid.out;
  // The same check finds LibTorch where it is.
  const CommandResult model = test::run_command("ldd " + shell_quote(kModelProgram.string()));
  ASSERT_EQ(model.exit_code, 0) << model.err;
  EXPECT_TRUE(contains(model.out, "libtorch_cpu")) << model.out;
}

TEST(ForwardingTest, MissingSpkidModelIsAModelError) {
  TempDir dir;
  const fs::path lone_spkid = dir.file("spkid");
  fs::copy_file(kSpkid, lone_spkid);

  const CommandResult pretrain = run(lone_spkid, "pretrain corpus -o base.pt");
  EXPECT_EQ(pretrain.exit_code, 5);
  expect_one_error_line(
      pretrain, "'pretrain' runs in spkid-model, which is neither at " + dir.file("spkid-model"));
  EXPECT_EQ(pretrain.out, "");
  // The commands without a model do not need it.
  EXPECT_EQ(run(lone_spkid, "--help").exit_code, 0);
}

TEST(ForwardingTest, SpkidModelThatCannotRunIsAModelError) {
  TempDir dir;
  const fs::path spkid = dir.file("spkid");
  fs::copy_file(kSpkid, spkid);
  test::write_text(dir.file("spkid-model"), "not a program\n");  // not executable

  const CommandResult pretrain = run(spkid, "pretrain --help");
  EXPECT_EQ(pretrain.exit_code, 5);
  expect_one_error_line(pretrain, "cannot run " + dir.file("spkid-model") + " for 'pretrain'");
}

TEST(ForwardingTest, InstalledSpkidFindsSpkidModelInLibexec) {
  // GNUInstallDirs' default layout: bin/spkid and libexec/spkid/spkid-model.
  TempDir prefix;
  fs::create_directories(prefix.file("bin"));
  fs::create_directories(prefix.file("libexec/spkid"));
  const fs::path spkid = prefix.file("bin/spkid");
  fs::copy_file(kSpkid, spkid);
  fs::create_symlink(kModelProgram, prefix.file("libexec/spkid/spkid-model"));

  const CommandResult help = run(spkid, "pretrain --help");
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_TRUE(contains(help.out, "CORPUS_DIR")) << help.out;
}

}  // namespace
}  // namespace spkid
