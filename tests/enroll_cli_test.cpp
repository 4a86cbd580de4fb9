// spkid enroll, list, remove and rename as users run them: real processes on generated audio,
// several at once, one killed mid-way, and bad inputs that must leave the store as it was.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sndfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "spkid/store.h"
#include "synth.h"

namespace spkid {
namespace {

using test::json_lines;
using test::lines_of;
namespace fs = std::filesystem;
using test::CommandResult;
using test::shell_quote;
using test::TempDir;

constexpr int kRate = 16000;

// Errors are one line, "spkid: error: ...", and nothing else on standard error.
void expect_one_error_line(const CommandResult& result, const std::string& mentions) {
  const std::vector<std::string> err = lines_of(result.err);
  ASSERT_EQ(err.size(), 1u) << result.err;
  EXPECT_EQ(err[0].rfind("spkid: error: ", 0), 0u) << err[0];
  EXPECT_NE(err[0].find(mentions), std::string::npos) << err[0] << "\nlacks: " << mentions;
}

unsigned file_mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Starts spkid in the background with its output in files; returns its process id.
pid_t start_spkid(const std::vector<std::string>& args, const std::string& out_path,
                  const std::string& err_path) {
  std::vector<char*> argv = {const_cast<char*>(SPKID_BINARY)};
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    ::execv(SPKID_BINARY, argv.data());
    ::_exit(127);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Every clip's features by speaker, to show that earlier enrollments are intact.
std::map<std::string, std::vector<std::vector<float>>> clip_features(const std::string& store_dir) {
  std::map<std::string, std::vector<std::vector<float>>> features;
  for (const StoredClip& clip : Store::open(store_dir, StoreAccess::kRead).clips()) {
    features[clip.speaker].push_back(clip.features.data);
  }
  return features;
}

// A store is consistent when every recording has its clips and the totals add up.
void expect_consistent(const std::string& store_dir) {
  const Store store = Store::open(store_dir, StoreAccess::kRead);
  for (const SpeakerSummary& speaker : store.list_speakers()) {
    const SpeakerDetails details = store.speaker_details(speaker.name);
    EXPECT_GT(details.recordings.size(), 0u) << speaker.name;
    int clips = 0;
    for (const RecordingRecord& recording : details.recordings) {
      EXPECT_GT(recording.num_clips, 0) << speaker.name << " " << recording.provenance.source_path;
      clips += recording.num_clips;
    }
    EXPECT_EQ(clips, speaker.num_clips) << speaker.name;
  }
}

class EnrollCli : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    audio_ = new TempDir;
    const test::Voice alice{110, {700, 1200, 2600}, 0.3};
    const test::Voice bob{190, {500, 1500, 2500}, 0.3};
    const auto pause = test::silence(1, 44100);
    // Stereo 44.1 kHz, as a phone or laptop records: enrollment mixes and resamples it.
    test::write_audio(file("alice.wav"),
                      test::concat({pause, test::speech_like(alice, 13, 44100, 1), pause}), 44100,
                      2);
    test::write_audio(file("alice-2.flac"), test::speech_like(alice, 10, kRate, 2), kRate);
    test::write_audio(file("bob.wav"), test::speech_like(bob, 12, kRate, 3), kRate);
    test::write_audio(file("short.wav"), test::speech_like(bob, 4, kRate, 4), kRate);
    // The bad inputs of the foundation issue.
    test::write_text(file("empty.wav"), "");
    test::write_text(file("notes.wav"), "These are meeting notes, not audio.\n");
    test::write_audio(file("truncated.wav"), test::speech_like(bob, 4, kRate, 5), kRate);
    fs::resize_file(file("truncated.wav"), fs::file_size(file("truncated.wav")) / 2);
    test::write_audio(file("tiny.wav"), test::speech_like(bob, 0.05, kRate, 6), kRate);
    test::write_audio(file("silence.wav"), test::silence(5, kRate), kRate);
    std::vector<float> with_nan = test::speech_like(bob, 9, kRate, 7);
    with_nan[kRate] = std::numeric_limits<float>::quiet_NaN();
    test::write_audio(file("nan.wav"), with_nan, kRate, 1, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
  }
  static void TearDownTestSuite() { delete audio_; }
  static std::string file(const std::string& name) { return audio_->file(name); }
  static std::string quoted(const std::string& name) { return shell_quote(file(name)); }

  std::string store_dir() const { return temp_.file("store"); }
  CommandResult spkid(const std::string& arguments) const {
    return test::run_command(shell_quote(SPKID_BINARY) + " --store " + shell_quote(store_dir()) +
                             " " + arguments);
  }
  std::string list_json() const {
    const CommandResult list = spkid("list --json");
    EXPECT_EQ(list.exit_code, 0) << list.err;
    return list.out;
  }

  static TempDir* audio_;
  TempDir temp_;
};
TempDir* EnrollCli::audio_ = nullptr;

TEST_F(EnrollCli, AStoreThatCannotBeMadeIsAStoreErrorNotABadInput) {
  // The store's folder would go inside a regular file: exit 4 (store), not 3 (bad input).
  test::write_text(temp_.file("not-a-folder"), "x");
  const CommandResult result = test::run_command(shell_quote(SPKID_BINARY) + " --store " +
                                                 shell_quote(temp_.file("not-a-folder/store")) +
                                                 " enroll " + quoted("alice.wav"));
  EXPECT_EQ(result.exit_code, 4) << result.err;
  expect_one_error_line(result, "not-a-folder");
}

TEST_F(EnrollCli, EnrollListRenameRemove) {
  const CommandResult missing = spkid("list");
  EXPECT_EQ(missing.exit_code, 4);
  expect_one_error_line(missing, "no store at " + store_dir() + ": enroll a speaker first");
  EXPECT_FALSE(fs::exists(store_dir())) << "list must not create a store";

  // The name comes from the file's stem; the table is aligned.
  const CommandResult alice = spkid("enroll " + quoted("alice.wav"));
  ASSERT_EQ(alice.exit_code, 0) << alice.err;
  const std::vector<std::string> table = lines_of(alice.out);
  ASSERT_EQ(table.size(), 2u) << alice.out;
  std::smatch row;
  ASSERT_TRUE(std::regex_search(table[1], row,
                                std::regex(R"(alice\.wav +alice +enrolled +13\.\d\d +(2) )")))
      << table[1];
  EXPECT_EQ(static_cast<std::size_t>(row.position(1)) + 1, table[0].find("clips") + 5)
      << "numbers end under their headers";

  const CommandResult bob = spkid("enroll --json --name robert " + quoted("bob.wav"));
  ASSERT_EQ(bob.exit_code, 0) << bob.err;
  const nlohmann::json enrolled = nlohmann::json::parse(bob.out);
  EXPECT_EQ(enrolled["speaker"], "robert");
  EXPECT_EQ(enrolled["status"], "enrolled");
  EXPECT_EQ(enrolled["clips"], 2);
  EXPECT_EQ(enrolled["source_path"], file("bob.wav"));
  EXPECT_EQ(enrolled["sha256"].get<std::string>().size(), 64u);
  EXPECT_NEAR(enrolled["speech_seconds"].get<double>(), 12, 0.3);
  EXPECT_TRUE(enrolled["warnings"].empty());
  EXPECT_EQ(enrolled["speaker_total"]["files"], 1);

  // A second recording accumulates; the same audio again changes nothing.
  ASSERT_EQ(spkid("enroll --name alice " + quoted("alice-2.flac")).exit_code, 0);
  const std::string before_duplicate = list_json();
  const CommandResult again = spkid("enroll --json " + quoted("alice.wav"));
  EXPECT_EQ(again.exit_code, 0) << again.err;
  const nlohmann::json duplicate = nlohmann::json::parse(again.out);
  EXPECT_EQ(duplicate["status"], "already_enrolled");
  EXPECT_EQ(duplicate["message"], "already enrolled, nothing changed");
  EXPECT_EQ(list_json(), before_duplicate);
  const std::vector<nlohmann::json> speakers = json_lines(before_duplicate);
  ASSERT_EQ(speakers.size(), 2u);
  EXPECT_EQ(speakers[0]["speaker"], "alice");
  EXPECT_EQ(speakers[0]["files"], 2);
  EXPECT_EQ(speakers[0]["clips"], 4);
  EXPECT_NEAR(speakers[0]["speech_seconds"].get<double>(), 23, 0.5);
  EXPECT_EQ(speakers[0]["covered_by_current_model"], false);
  EXPECT_EQ(speakers[1]["speaker"], "robert");

  const CommandResult recordings = spkid("list --json alice");
  ASSERT_EQ(recordings.exit_code, 0) << recordings.err;
  const std::vector<nlohmann::json> alice_recordings = json_lines(recordings.out);
  ASSERT_EQ(alice_recordings.size(), 2u);
  EXPECT_EQ(alice_recordings[0]["source_path"], file("alice.wav"));
  EXPECT_EQ(alice_recordings[1]["source_path"], file("alice-2.flac"));

  const CommandResult renamed = spkid("rename robert bob");
  EXPECT_EQ(renamed.exit_code, 0) << renamed.err;
  EXPECT_EQ(renamed.out, "renamed 'robert' to 'bob'\n");
  const CommandResult taken = spkid("rename bob alice");
  EXPECT_EQ(taken.exit_code, 2);
  expect_one_error_line(taken, "that name is taken");
  const CommandResult bad_new_name = spkid("rename bob unknown");
  EXPECT_EQ(bad_new_name.exit_code, 2);
  expect_one_error_line(bad_new_name, "'unknown' is what identify prints");

  const CommandResult removed = spkid("remove --json bob");
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  const nlohmann::json removed_json = nlohmann::json::parse(removed.out);
  EXPECT_EQ(removed_json["speaker"], "bob");
  EXPECT_EQ(removed_json["status"], "removed");
  EXPECT_EQ(removed_json["clips"], 2);
  const CommandResult unknown = spkid("remove bob");
  EXPECT_EQ(unknown.exit_code, 2);
  expect_one_error_line(unknown, "no speaker 'bob'");
  const std::vector<nlohmann::json> left = json_lines(list_json());
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0]["speaker"], "alice");

  const CommandResult text = spkid("list");
  ASSERT_EQ(text.exit_code, 0);
  const std::vector<std::string> rows = lines_of(text.out);
  ASSERT_EQ(rows.size(), 2u) << text.out;
  EXPECT_TRUE(std::regex_search(rows[1], std::regex(R"(^alice +2 +4 +2\d\.\d\d +7\d% +no )")))
      << rows[1];
}

TEST_F(EnrollCli, RemoveAndRenameNeedAStore) {
  for (const char* command : {"remove alice", "rename alice bob"}) {
    const CommandResult result = spkid(command);
    EXPECT_EQ(result.exit_code, 4) << command;
    expect_one_error_line(result, "no store at");
  }
  EXPECT_FALSE(fs::exists(store_dir()));
}

TEST_F(EnrollCli, BadInputsAndBadNamesChangeNothing) {
  ASSERT_EQ(spkid("enroll " + quoted("alice.wav")).exit_code, 0);
  const std::string listed_before = list_json();
  const auto features_before = clip_features(store_dir());

  // Every bad input of the foundation issue, in one batch: one error line each, in order.
  const std::vector<std::pair<std::string, std::string>> bad_audio = {
      {"empty.wav", "the file is empty"}, {"notes.wav", "not an audio file"},
      {"truncated.wav", "truncated"},     {"tiny.wav", "only 0.05 s of audio"},
      {"silence.wav", "no speech found"}, {"nan.wav", "sample at 1 s is NaN"},
      {"missing.wav", "no such file"}};
  std::string bad_files;
  for (const auto& [name, reason] : bad_audio) bad_files += " " + quoted(name);
  // Bad names from a list, each error naming its line.
  const std::vector<std::string> bad_names = {"a/b", "unknown", "..", "bo\x01b",
                                              std::string(65, 'x')};
  std::string list;
  for (const std::string& name : bad_names) list += name + " " + file("bob.wav") + "\n";
  test::write_text(temp_.file("names.txt"), list);

  struct Case {
    std::string arguments;
    int exit_code;
    std::vector<std::string> error_lines;  // what each line of standard error mentions, in order
  };
  std::vector<Case> cases = {
      {"enroll --name alice" + bad_files, 3, {}},
      {"enroll --list " + shell_quote(temp_.file("names.txt")), 2, {}},
      {"enroll " + quoted("short.wav"), 3, {"enrollment needs 8.0 s"}},
      {"enroll --name '' " + quoted("bob.wav"), 2, {"the speaker name is empty"}},
      {"enroll --name ' bob' " + quoted("bob.wav"), 2, {"whitespace"}},
      // Names that look like another on screen, or hold what cannot be seen.
      {"enroll --name Alice " + quoted("bob.wav"),
       2,
       {"looks the same as the enrolled speaker 'alice'"}},
      {"enroll --name \uff55\uff4e\uff4b\uff4e\uff4f\uff57\uff4e " + quoted("bob.wav"),
       2,
       {"looks like 'unknown'"}},
      {"enroll --name 'bo\u200bb' " + quoted("bob.wav"), 2, {"invisible character U+200B"}},
      {"enroll --list " + shell_quote(temp_.file("no-list.txt")), 3, {"no list file"}}};
  for (const auto& [name, reason] : bad_audio) {
    cases[0].error_lines.push_back(file(name) + ": " + reason);
  }
  for (std::size_t line = 1; line <= bad_names.size(); ++line) {
    cases[1].error_lines.push_back(temp_.file("names.txt") + ":" + std::to_string(line) +
                                   ": bad speaker name");
  }
  // Each case is its own process; they run side by side to keep the test quick.
  std::vector<std::future<CommandResult>> results;
  for (const Case& c : cases) {
    results.push_back(std::async(std::launch::async, [this, &c] { return spkid(c.arguments); }));
  }
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const CommandResult result = results[i].get();
    EXPECT_EQ(result.exit_code, cases[i].exit_code) << cases[i].arguments << "\n" << result.err;
    EXPECT_TRUE(result.out.empty()) << cases[i].arguments << "\n" << result.out;
    const std::vector<std::string> err = lines_of(result.err);
    ASSERT_EQ(err.size(), cases[i].error_lines.size()) << cases[i].arguments << "\n" << result.err;
    for (std::size_t line = 0; line < err.size(); ++line) {
      EXPECT_EQ(err[line].rfind("spkid: error: ", 0), 0u) << err[line];
      EXPECT_NE(err[line].find(cases[i].error_lines[line]), std::string::npos)
          << err[line] << "\nlacks: " << cases[i].error_lines[line];
    }
  }
  EXPECT_EQ(list_json(), listed_before);
  EXPECT_EQ(clip_features(store_dir()), features_before);
}

TEST_F(EnrollCli, StoreFilesArePrivateWhateverTheUmask) {
  const CommandResult result =
      test::run_command("umask 000 && " + shell_quote(SPKID_BINARY) + " --store " +
                        shell_quote(temp_.file("a/b/store")) + " enroll " + quoted("bob.wav"));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(file_mode(temp_.file("a")), 0700u);  // created parents too: the path names people
  EXPECT_EQ(file_mode(temp_.file("a/b/store")), 0700u);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(temp_.file("a/b/store"))) {
    names.push_back(entry.path().filename().string());
    EXPECT_EQ(file_mode(entry.path().string()), 0600u) << entry.path();
  }
  EXPECT_NE(std::find(names.begin(), names.end(), "spkid.db"), names.end());
}

TEST_F(EnrollCli, ACorruptDatabaseIsReportedAndLeftAlone) {
  fs::create_directories(store_dir());
  std::mt19937 rng(3);
  std::string garbage(16384, '\0');
  for (char& c : garbage) c = static_cast<char>(rng());
  for (const std::string& contents : {garbage, std::string("alice alice.wav\n")}) {
    test::write_text(store_dir() + "/spkid.db", contents);
    for (const std::string& command : {"enroll " + quoted("bob.wav"), std::string("list")}) {
      const CommandResult result = spkid(command);
      EXPECT_EQ(result.exit_code, 4) << command;
      expect_one_error_line(result, "is not a readable spkid store database");
    }
    EXPECT_TRUE(read_bytes(store_dir() + "/spkid.db") == contents) << "the database changed";
  }
}

TEST_F(EnrollCli, ConcurrentEnrollmentsAllSucceed) {
  // Four processes at once on a new store: each creates it if first, all write.
  const std::vector<std::vector<std::string>> commands = {
      {"enroll", "--name", "ann", file("alice.wav")},
      {"enroll", "--name", "ben", file("bob.wav")},
      {"enroll", "--name", "cat", file("alice-2.flac")},
      {"enroll", "--name", "ann", file("alice-2.flac")},
  };
  std::vector<pid_t> pids;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    std::vector<std::string> args = {"--store", store_dir()};
    args.insert(args.end(), commands[i].begin(), commands[i].end());
    pids.push_back(start_spkid(args, temp_.file("out" + std::to_string(i)),
                               temp_.file("err" + std::to_string(i))));
  }
  for (std::size_t i = 0; i < pids.size(); ++i) {
    EXPECT_EQ(wait_for(pids[i]), 0) << test::read_text(temp_.file("err" + std::to_string(i)));
  }
  const std::vector<nlohmann::json> speakers = json_lines(list_json());
  ASSERT_EQ(speakers.size(), 3u);
  EXPECT_EQ(speakers[0]["speaker"], "ann");
  EXPECT_EQ(speakers[0]["files"], 2);  // nothing lost
  EXPECT_EQ(speakers[1]["speaker"], "ben");
  EXPECT_EQ(speakers[2]["speaker"], "cat");
  expect_consistent(store_dir());
}

TEST_F(EnrollCli, AKilledBatchLeavesWholeRecordingsAndEarlierOnesIntact) {
  ASSERT_EQ(spkid("enroll " + quoted("alice.wav")).exit_code, 0);
  const auto features_before = clip_features(store_dir());

  // A dataset far bigger than the time the test lets it run.
  constexpr int kSpeakers = 300;
  const std::string dataset = temp_.file("dataset");
  for (int i = 0; i < kSpeakers; ++i) {
    const std::string folder = dataset + "/speaker-" + std::to_string(1000 + i);
    fs::create_directories(folder);
    fs::create_symlink(file(i % 2 ? "bob.wav" : "alice-2.flac"), folder + "/take.wav");
  }
  const pid_t pid = start_spkid({"--store", store_dir(), "enroll", "--json", "--dir", dataset},
                                temp_.file("out"), temp_.file("err"));
  // Killed once it has stored a few speakers.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (lines_of(test::read_text(temp_.file("out"))).size() < 3 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  EXPECT_EQ(wait_for(pid), 128 + SIGKILL) << "the batch ended before it was killed";

  expect_consistent(store_dir());
  const std::size_t stored = json_lines(list_json()).size();
  EXPECT_GE(stored, 1u + 3);
  EXPECT_LT(stored, 1u + kSpeakers) << "the batch was not interrupted";
  EXPECT_EQ(clip_features(store_dir())["alice"], features_before.at("alice"));
  // The store goes on working.
  const CommandResult more = spkid("enroll --name zoe " + quoted("bob.wav"));
  EXPECT_EQ(more.exit_code, 0) << more.err;
}

TEST_F(EnrollCli, DatasetFoldersAndListsEnrollInOneProcess) {
  const std::string dataset = temp_.file("dataset");
  fs::create_directories(dataset + "/ann/day 2");
  fs::create_directories(dataset + "/ben");
  fs::copy_file(file("alice.wav"), dataset + "/ann/a.wav");
  fs::copy_file(file("alice-2.flac"), dataset + "/ann/day 2/b.flac");
  fs::copy_file(file("bob.wav"), dataset + "/ben/b.wav");
  test::write_text(dataset + "/ben/transcript.txt", "not audio, skipped\n");
  const CommandResult dir = spkid("enroll --json --dir " + shell_quote(dataset));
  ASSERT_EQ(dir.exit_code, 0) << dir.err;
  const std::vector<nlohmann::json> outcomes = json_lines(dir.out);
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_EQ(outcomes[0]["speaker"], "ann");
  EXPECT_EQ(outcomes[1]["speaker"], "ann");
  EXPECT_EQ(outcomes[1]["speaker_total"]["files"], 2);
  EXPECT_EQ(outcomes[2]["speaker"], "ben");

  // A list names a line it cannot read, before anything is enrolled.
  fs::create_directories(temp_.file("lists"));
  test::write_text(temp_.file("lists/bad.txt"), "cat ../dataset/ann/a.wav\ndan\n");
  const std::string listed_before = list_json();
  const CommandResult bad = spkid("enroll --list " + shell_quote(temp_.file("lists/bad.txt")));
  EXPECT_EQ(bad.exit_code, 2);
  expect_one_error_line(bad, temp_.file("lists/bad.txt") + ":2: 'dan' has no path");
  EXPECT_EQ(list_json(), listed_before);

  // Relative paths start at the list's folder; one failing line does not stop the others.
  fs::create_directories(temp_.file("audio"));
  test::write_audio(temp_.file("audio/cat.wav"), test::speech_like({150}, 10, kRate, 8), kRate);
  test::write_audio(temp_.file("audio/dan.wav"), test::speech_like({230}, 10, kRate, 9), kRate);
  test::write_text(temp_.file("lists/enroll.txt"),
                   "# name path\n"
                   "cat ../audio/cat.wav\n"
                   "dan ../audio/dan.wav\n"
                   "dan ../audio/missing.wav\n");
  const CommandResult list = spkid("enroll --list " + shell_quote(temp_.file("lists/enroll.txt")));
  EXPECT_EQ(list.exit_code, 1) << list.err;  // some inputs failed
  expect_one_error_line(list, "missing.wav");
  const std::vector<std::string> table = lines_of(list.out);
  ASSERT_EQ(table.size(), 3u) << list.out;
  EXPECT_NE(table[1].find("cat"), std::string::npos);
  EXPECT_NE(table[2].find("dan"), std::string::npos);
  const std::vector<nlohmann::json> speakers = json_lines(list_json());
  ASSERT_EQ(speakers.size(), 4u);
  EXPECT_EQ(speakers[2]["speaker"], "cat");
  EXPECT_EQ(speakers[3]["files"], 1);
}

TEST_F(EnrollCli, HelpDescribesTheStoreCommands) {
  const CommandResult help = spkid("--help");
  for (const char* command : {"enroll", "list", "remove", "rename"}) {
    EXPECT_NE(help.out.find(command), std::string::npos) << command;
  }
  const CommandResult enroll = spkid("enroll --help");
  for (const char* flag : {"--name", "--dir", "--list", "--json", "--jobs", "Examples"}) {
    EXPECT_NE(enroll.out.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace spkid
