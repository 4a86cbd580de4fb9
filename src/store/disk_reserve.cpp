#include "disk_reserve.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace spkid::store_detail {

namespace {

std::string reserve_path(const std::string& dir) {
  return (std::filesystem::path(dir) / kDiskReserveFileName).string();
}

}  // namespace

void keep_disk_reserve(const std::string& dir) {
  const std::string path = reserve_path(dir);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return;
  struct stat st {};
  bool whole = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
               st.st_blocks * int64_t{512} >= kDiskReserveBytes;
  // posix_fallocate() allocates the blocks (a sparse file of that size would hold no room), and
  // on a disk without the room it fails with ENOSPC rather than filling the disk.
  if (!whole && S_ISREG(st.st_mode)) {
    whole = ::fchmod(fd, 0600) == 0 && ::posix_fallocate(fd, 0, kDiskReserveBytes) == 0;
  }
  ::close(fd);
  if (!whole && S_ISREG(st.st_mode)) ::unlink(path.c_str());
}

bool release_disk_reserve(const std::string& dir) {
  const std::string path = reserve_path(dir);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  return ::unlink(path.c_str()) == 0;
}

}  // namespace spkid::store_detail
