// Files that survive crashes and stay private: atomic replacement, private folders.
#pragma once

#include <string>
#include <string_view>

namespace spkid {

// Replaces `path` with `bytes` so that a crash at any moment leaves either the old file or the
// new one, never a mix: writes a temporary file in the same folder, fsyncs it, renames it over
// `path`, then fsyncs the folder. The file gets `mode` whatever the umask (default: owner
// read/write only). Throws Error(kIo) naming the path and the reason; on failure the old file is
// untouched and the temporary file removed.
void write_file_atomically(const std::string& path, std::string_view bytes, unsigned mode = 0600);

// Creates `dir` and any missing parents with exactly `mode`, whatever the umask; returns true
// when `dir` itself was created. Throws Error(kIo) when a part of the path is not a folder or
// cannot be created.
bool make_directories(const std::string& dir, unsigned mode = 0700);

// fsyncs a folder, so that files just created or renamed in it survive a power cut.
// Throws Error(kIo).
void sync_directory(const std::string& dir);

}  // namespace spkid
