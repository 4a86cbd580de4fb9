#include "spkid/fs_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "spkid/error.h"

namespace spkid {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void throw_io(const std::string& what, const std::string& path, int errno_value,
                           const char* advice) {
  throw Error(ErrorCode::kIo,
              what + " " + path + ": " + std::strerror(errno_value) + "; " + advice);
}

// Closes the descriptor on every path out of a function.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  // Closes now and reports the result: close() is where some filesystems report write errors.
  int close() { return ::close(std::exchange(fd_, -1)); }

 private:
  int fd_;
};

std::string parent_directory(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

void sync_directory(const std::string& dir) {
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) {
    throw_io("cannot sync the folder", dir, errno, "check the disk");
  }
}

void write_file_atomically(const std::string& path, std::string_view bytes, unsigned mode) {
  const std::string dir = parent_directory(path);
  // Hidden, and in the same folder so that rename() is atomic (same filesystem).
  std::string temp_path =
      (fs::path(dir) / ("." + fs::path(path).filename().string() + ".tmp-XXXXXX")).string();
  const char* advice = "check that the folder exists and is writable, and that the disk has room";
  FileDescriptor fd(::mkostemp(temp_path.data(), O_CLOEXEC));
  if (fd.get() < 0) throw_io("cannot create a temporary file for", path, errno, advice);

  const auto fail = [&](const char* what) {
    const int saved_errno = errno;
    ::unlink(temp_path.c_str());
    throw_io(what, path, saved_errno, advice);
  };
  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) fail("cannot set the mode of");
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot write");
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) fail("cannot sync");
  if (fd.close() != 0) fail("cannot write");
  if (::rename(temp_path.c_str(), path.c_str()) != 0) fail("cannot replace");
  sync_directory(dir);
}

bool make_directories(const std::string& dir, unsigned mode) {
  if (dir.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "the folder name is empty: give a folder path");
  }
  fs::path prefix;
  bool created = false;
  for (const fs::path& part : fs::path(dir).lexically_normal()) {
    prefix /= part;
    if (part.empty()) continue;  // the trailing "" of "a/b/"
    if (::mkdir(prefix.c_str(), static_cast<mode_t>(mode)) == 0) {
      // mkdir() honours the umask; the caller asked for exactly `mode`.
      if (::chmod(prefix.c_str(), static_cast<mode_t>(mode)) != 0) {
        throw_io("cannot set the mode of", prefix.string(), errno,
                 "check the permissions of its parent folder");
      }
      created = true;
      continue;
    }
    const int saved_errno = errno;
    struct stat st {};
    if (saved_errno == EEXIST && ::stat(prefix.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) {
        throw Error(ErrorCode::kIo, prefix.string() +
                                        " exists and is not a folder: choose "
                                        "another path or move the file away");
      }
      created = false;
      continue;
    }
    if (saved_errno == EEXIST && ::lstat(prefix.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      throw Error(ErrorCode::kIo, prefix.string() +
                                      " is a symbolic link to nothing: remove the link, or "
                                      "choose another path");
    }
    throw_io("cannot create the folder", prefix.string(), saved_errno,
             "check the permissions of its parent folder");
  }
  return created;
}

}  // namespace spkid
