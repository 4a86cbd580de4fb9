// Room kept on the store's disk so that a speaker can be removed when the disk is full: SQLite
// must append to its write-ahead log even to delete, and secure_delete writes zeros over every
// freed page, so removing a speaker needs about as many free bytes as their audio and features
// take. A file of kDiskReserveBytes in the store folder holds that room; remove_speaker() gives
// it back to the disk when SQLite reports the disk full, and it is made again once there is room.
// Private to src/store.
#pragma once

#include <cstdint>
#include <string>

namespace spkid::store_detail {

// Covers a speaker with about 4.5 minutes of enrolled speech: their 16 kHz int16 speech and clip
// features take 3.5 MB a minute, and removing them grew the log by as much (1.10 MB for 1.05 MB
// of a speaker's rows, secure_delete on).
inline constexpr int64_t kDiskReserveBytes = int64_t{16} << 20;
inline constexpr const char* kDiskReserveFileName = "spkid.reserve";

// Makes the reserve file in `dir` (mode 0600, never through a link) when it is missing or short.
// Best effort: on a disk with less room than the reserve, it is left out, silently; the next
// open for writing tries again.
void keep_disk_reserve(const std::string& dir);

// Deletes the reserve file; false when there was none to free.
bool release_disk_reserve(const std::string& dir);

}  // namespace spkid::store_detail
