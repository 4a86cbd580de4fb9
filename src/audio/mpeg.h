// MPEG audio (MP3, MP2) decoded with libmpg123 itself rather than through libsndfile, which
// cannot silence the library's own printouts on standard error nor tell a stream the decoder
// had to resynchronise (damaged data skipped) from a sound one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace spkid::detail {

// Whether a file's first bytes start an MPEG audio stream: an ID3v2 tag or a Layer I-III
// frame header.
bool looks_like_mpeg(const unsigned char* head, std::size_t size);

// Where a WAV file keeps MPEG audio: its data chunk, when the fmt chunk before it says MPEG
// (format tag 0x0050 Layer I/II, 0x0055 Layer III). `read_at(offset, buffer, count)` reads the
// file's bytes and returns how many it got. nullopt for any other file, and for WAV files with
// other audio, which libsndfile reads.
struct ByteRange {
  int64_t offset = 0;
  int64_t declared_length = 0;  // as the chunk header says; the file may end sooner
};
std::optional<ByteRange> find_mpeg_in_wav(
    const std::function<std::size_t(int64_t, unsigned char*, std::size_t)>& read_at);

// A decoder over `length` bytes from `offset` of a seekable file descriptor (read with pread,
// not owned), or over bytes in memory; either must outlive it. An MP3 file is all MPEG from
// offset 0; a WAV file with MPEG audio holds it in its data chunk. The length is counted exactly
// (every frame header is parsed) when it opens. Damaged data, where the decoder would have to skip
// bytes to find the next frame, throws Error(kCorruptAudio) naming the place: at open when the
// frame headers are damaged, while reading otherwise. Nothing is ever printed.
class MpegDecoder {
 public:
  MpegDecoder(int fd, int64_t offset, int64_t length, std::string name);
  MpegDecoder(const unsigned char* data, std::size_t size, std::string name);
  ~MpegDecoder();
  MpegDecoder(const MpegDecoder&) = delete;
  MpegDecoder& operator=(const MpegDecoder&) = delete;

  int sample_rate_hz() const;
  int channels() const;
  int64_t frames() const;  // samples per channel, as the header declares or as counted
  int layer() const;       // 1, 2 or 3

  // The next `count` frames (at most) as interleaved float samples; fewer only at the end.
  int64_t read(float* interleaved, int64_t count);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spkid::detail
