// The store on a full disk: a speaker can still be removed (the disk reserve), and what cannot
// be done is refused clearly with nothing lost. The disk is a small tmpfs mounted in a mount
// namespace of this test's own, so the tests need root; they are skipped without it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

#include "spkid/store.h"
#include "store_fixtures.h"
#include "synth.h"

namespace spkid {
namespace {

namespace fs = std::filesystem;
using test::make_enrollment;
using test::TempDir;

constexpr const char* kReserve = "spkid.reserve";
constexpr std::uintmax_t kReserveBytes = std::uintmax_t{16} << 20;

// A tmpfs of `megabytes` mounted at `dir` where only this process sees it, unmounted when done.
class SmallDisk {
 public:
  SmallDisk(const std::string& dir, int megabytes) : dir_(dir) {
    fs::create_directory(dir);
    const std::string options = "size=" + std::to_string(megabytes) + "m,mode=0700";
    // A private copy of the mount table, and no propagation of this mount to the real one.
    mounted_ = ::geteuid() == 0 && ::unshare(CLONE_NEWNS) == 0 &&
               ::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
               ::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;
  bool mounted() const { return mounted_; }

  // Writes a file of zeros until the disk has no room left.
  void fill() const {
    const std::string path = dir_ + "/filler";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ASSERT_GE(fd, 0);
    const std::vector<char> block(4096, 0);
    while (::write(fd, block.data(), block.size()) > 0) {
    }
    const int saved_errno = errno;
    ::close(fd);
    ASSERT_EQ(saved_errno, ENOSPC);
  }
  void make_room() const { fs::remove(dir_ + "/filler"); }

 private:
  std::string dir_;
  bool mounted_ = false;
};

// A store with ann (three recordings) and bob, closed: SQLite's log is checkpointed and removed,
// so a removal now has to grow it again.
std::string make_store(const std::string& disk) {
  const std::string dir = disk + "/store";
  Store store = Store::open(dir, StoreAccess::kCreate);
  for (unsigned seed : {1u, 2u, 3u}) store.add_enrollment(make_enrollment("ann", seed, 20));
  store.add_enrollment(make_enrollment("bob", 4, 20));
  return dir;
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const SpeakerSummary& s : Store::open(dir, StoreAccess::kRead).list_speakers()) {
    names.push_back(s.name + ":" + std::to_string(s.num_recordings));
  }
  return names;
}

#define REQUIRE_SMALL_DISK(disk)                                                               \
  if (!(disk).mounted()) {                                                                     \
    GTEST_SKIP() << "mounting a small tmpfs needs root (a mount namespace of the test's own)"; \
  }

TEST(StoreOnAFullDisk, ASpeakerCanStillBeRemovedAndTheReserveComesBack) {
  TempDir temp;
  SmallDisk disk(temp.file("disk"), 40);
  REQUIRE_SMALL_DISK(disk);
  const std::string dir = make_store(temp.file("disk"));
  ASSERT_EQ(fs::file_size(dir + "/" + kReserve), kReserveBytes);
  disk.fill();

  const test::CommandResult removed = test::run_command(std::string(SPKID_BINARY) + " --store " +
                                                        test::shell_quote(dir) + " remove ann");
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"bob:1"});
  // The removal's log was emptied into the database, which gave the reserve's room back.
  EXPECT_EQ(fs::file_size(dir + "/" + kReserve), kReserveBytes);
}

TEST(StoreOnAFullDisk, WithoutTheReserveTheRemovalIsRefusedClearlyAndLosesNothing) {
  TempDir temp;
  SmallDisk disk(temp.file("disk"), 40);
  REQUIRE_SMALL_DISK(disk);
  const std::string dir = make_store(temp.file("disk"));
  fs::remove(dir + "/" + kReserve);  // as a store made before the reserve existed
  disk.fill();

  const test::CommandResult refused = test::run_command(std::string(SPKID_BINARY) + " --store " +
                                                        test::shell_quote(dir) + " remove ann");
  EXPECT_EQ(refused.exit_code, 4);
  EXPECT_NE(refused.err.find("is full"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("free some space and try again"), std::string::npos) << refused.err;
  EXPECT_EQ(std::count(refused.err.begin(), refused.err.end(), '\n'), 1) << refused.err;
  EXPECT_EQ(names_in(dir), (std::vector<std::string>{"ann:3", "bob:1"}));
  test::expect_error(
      [&] { Store::open(dir, StoreAccess::kWrite).add_enrollment(make_enrollment("cy", 5, 20)); },
      ErrorCode::kStore, "is full");

  // With room again, the removal works and the next store opened for writing keeps a reserve.
  disk.make_room();
  EXPECT_EQ(Store::open(dir, StoreAccess::kWrite).remove_speaker("ann").num_recordings, 3);
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"bob:1"});
  EXPECT_EQ(fs::file_size(dir + "/" + kReserve), kReserveBytes);
}

}  // namespace
}  // namespace spkid
