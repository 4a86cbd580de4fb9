#include "audio/mpeg.h"

#include <mpg123.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "audio/seconds_text.h"
#include "spkid/error.h"

namespace spkid::detail {

bool looks_like_mpeg(const unsigned char* head, std::size_t size) {
  if (size >= 4 && std::memcmp(head, "ID3", 3) == 0 && head[3] != 0xFF) return true;
  if (size < 3 || head[0] != 0xFF || (head[1] & 0xE0) != 0xE0) return false;
  const int version = (head[1] >> 3) & 3;  // 1 is reserved
  const int layer = (head[1] >> 1) & 3;    // 0 is reserved (ADTS AAC has it)
  const int bitrate = head[2] >> 4;        // 15 is invalid
  const int rate = (head[2] >> 2) & 3;     // 3 is reserved
  return version != 1 && layer != 0 && bitrate != 15 && rate != 3;
}

std::optional<ByteRange> find_mpeg_in_wav(
    const std::function<std::size_t(int64_t, unsigned char*, std::size_t)>& read_at) {
  unsigned char header[12];
  if (read_at(0, header, sizeof header) != sizeof header || std::memcmp(header, "RIFF", 4) != 0 ||
      std::memcmp(header + 8, "WAVE", 4) != 0) {
    return std::nullopt;
  }
  const auto le32 = [](const unsigned char* p) {
    return static_cast<int64_t>(p[0]) | static_cast<int64_t>(p[1]) << 8 |
           static_cast<int64_t>(p[2]) << 16 | static_cast<int64_t>(p[3]) << 24;
  };
  // A header of a few chunks; a walk that goes on longer is not a WAV header worth a look.
  constexpr int kMaxChunks = 64;
  bool mpeg = false;
  int64_t offset = 12;
  for (int i = 0; i < kMaxChunks; ++i) {
    unsigned char chunk[10];
    const std::size_t got = read_at(offset, chunk, sizeof chunk);
    if (got < 8) return std::nullopt;
    const int64_t size = le32(chunk + 4);
    if (std::memcmp(chunk, "fmt ", 4) == 0) {
      if (got < 10) return std::nullopt;
      const int tag = chunk[8] | chunk[9] << 8;
      mpeg = tag == 0x0050 || tag == 0x0055;
      if (!mpeg) return std::nullopt;
    } else if (std::memcmp(chunk, "data", 4) == 0) {
      if (!mpeg) return std::nullopt;
      return ByteRange{offset + 8, size};
    }
    offset += 8 + size + (size & 1);  // chunks are padded to an even size
  }
  return std::nullopt;
}

namespace {

// Where libmpg123 reads: `size` bytes from `base` of a descriptor (pread), or of memory.
struct ByteSource {
  int fd = -1;
  const unsigned char* data = nullptr;
  off_t base = 0;
  off_t size = 0;
  off_t position = 0;

  static mpg123_ssize_t read(void* handle, void* destination, size_t count) {
    ByteSource& source = *static_cast<ByteSource*>(handle);
    const off_t available = std::max<off_t>(0, source.size - source.position);
    count = std::min(count, static_cast<size_t>(available));
    if (source.fd >= 0) {
      ssize_t n = 0;
      do {
        n = ::pread(source.fd, destination, count, source.base + source.position);
      } while (n < 0 && errno == EINTR);
      if (n > 0) source.position += n;
      return n;
    }
    if (count > 0) std::memcpy(destination, source.data + source.base + source.position, count);
    source.position += static_cast<off_t>(count);
    return static_cast<mpg123_ssize_t>(count);
  }
  static off_t seek(void* handle, off_t offset, int whence) {
    ByteSource& source = *static_cast<ByteSource*>(handle);
    const off_t base =
        whence == SEEK_CUR ? source.position : (whence == SEEK_END ? source.size : 0);
    if (base + offset < 0) return -1;
    source.position = base + offset;
    return source.position;
  }
};

struct HandleDeleter {
  void operator()(mpg123_handle* handle) const noexcept { mpg123_delete(handle); }
};
using Handle = std::unique_ptr<mpg123_handle, HandleDeleter>;

// A quiet decoder reading `source`, opened, with float output and its frames counted (every
// frame header parsed). `resync`: skip damaged bytes to find the next frame, as players do;
// without it the count stops where the headers stop following each other.
struct Scan {
  Handle handle;
  long rate = 0;
  int channels = 0;
  int64_t frames = 0;
  int64_t declared_frames = -1;  // by a LAME/Xing info frame, when there is one
  bool lost_sync = false;        // the count stopped at bytes that were not a frame
  int layer = 0;
};

Scan open_and_scan(ByteSource& source, bool resync, const std::string& name) {
  int error = MPG123_OK;
  Scan scan;
  scan.handle.reset(mpg123_new(nullptr, &error));
  if (!scan.handle) {
    throw Error(ErrorCode::kInternal,
                name + ": cannot start the MPEG decoder (" + mpg123_plain_strerror(error) + ")");
  }
  mpg123_handle* mh = scan.handle.get();
  mpg123_param(mh, MPG123_ADD_FLAGS,
               MPG123_QUIET | MPG123_GAPLESS | (resync ? 0 : MPG123_NO_RESYNC), 0);
  mpg123_format_none(mh);
  const long* rates = nullptr;
  size_t num_rates = 0;
  mpg123_rates(&rates, &num_rates);
  for (size_t i = 0; i < num_rates; ++i) {
    mpg123_format(mh, rates[i], MPG123_MONO | MPG123_STEREO, MPG123_ENC_FLOAT_32);
  }
  int encoding = 0;
  if (mpg123_replace_reader_handle(mh, ByteSource::read, ByteSource::seek, nullptr) != MPG123_OK ||
      mpg123_open_handle(mh, &source) != MPG123_OK ||
      mpg123_getformat(mh, &scan.rate, &scan.channels, &encoding) != MPG123_OK) {
    throw Error(ErrorCode::kUnsupportedFormat, name + ": no MPEG audio frame found (" +
                                                   mpg123_strerror(mh) +
                                                   "); convert it to WAV or FLAC");
  }
  // Before the scan, the length is exact only when an info frame declares it.
  long accurate = 0;
  double unused = 0;
  if (mpg123_getstate(mh, MPG123_ACCURATE, &accurate, &unused) == MPG123_OK && accurate == 1) {
    scan.declared_frames = mpg123_length(mh);
  }
  const off_t length = mpg123_scan(mh) == MPG123_OK ? mpg123_length(mh) : -1;
  if (length < 0) {
    throw Error(ErrorCode::kCorruptAudio, name + ": damaged MPEG frame headers (" +
                                              mpg123_strerror(mh) + "); copy or export it again");
  }
  scan.frames = length;
  const int last_error = mpg123_errcode(mh);
  scan.lost_sync = last_error == MPG123_OUT_OF_SYNC || last_error == MPG123_RESYNC_FAIL;
  mpg123_frameinfo info{};
  if (mpg123_info(mh, &info) != MPG123_OK) {
    throw Error(ErrorCode::kCorruptAudio, name + ": damaged MPEG frame header (" +
                                              mpg123_strerror(mh) + "); copy or export it again");
  }
  scan.layer = info.layer;
  return scan;
}

}  // namespace

struct MpegDecoder::Impl {
  std::string name;
  ByteSource source;
  Scan scan;  // of `source` without resync, its handle the one that decodes

  [[noreturn]] void throw_damaged(int64_t at_frame) const {
    const double at_seconds = static_cast<double>(at_frame) / static_cast<double>(scan.rate);
    throw Error(ErrorCode::kCorruptAudio,
                name + ": damaged MPEG audio after " + format_seconds(at_seconds) +
                    ": the frames that follow are found only by skipping bytes; copy or export "
                    "it again");
  }

  void open() {
    scan = open_and_scan(source, false, name);
    if (scan.lost_sync) {
      // Tags or padding after the last frame stop the count too; more audio after the place
      // where it stopped is damage (or a splice) in the middle.
      ByteSource again = source;
      again.position = 0;
      if (open_and_scan(again, true, name).frames > scan.frames) throw_damaged(scan.frames);
    }
  }

  int64_t read(float* interleaved, int64_t count) {
    unsigned char* out = reinterpret_cast<unsigned char*>(interleaved);
    mpg123_handle* mh = scan.handle.get();
    const size_t frame_bytes = sizeof(float) * static_cast<size_t>(scan.channels);
    const size_t wanted = frame_bytes * static_cast<size_t>(count);
    size_t total = 0;
    while (total < wanted) {
      size_t done = 0;
      const int status = mpg123_read(mh, out + total, wanted - total, &done);
      total += done;
      if (status == MPG123_DONE) break;
      if (status == MPG123_NEW_FORMAT) {
        long new_rate = 0;
        int new_channels = 0, encoding = 0;
        mpg123_getformat(mh, &new_rate, &new_channels, &encoding);
        if (new_rate != scan.rate || new_channels != scan.channels) {
          throw Error(ErrorCode::kUnsupportedFormat,
                      name +
                          ": the MPEG stream changes its sample rate or channels midway; "
                          "convert it to WAV or FLAC");
        }
        continue;
      }
      if (status != MPG123_OK) throw_damaged(std::max<off_t>(0, mpg123_tell(mh)));
    }
    return static_cast<int64_t>(total / frame_bytes);
  }
};

MpegDecoder::MpegDecoder(int fd, int64_t offset, int64_t length, std::string name)
    : impl_(std::make_unique<Impl>()) {
  impl_->name = std::move(name);
  impl_->source.fd = fd;
  impl_->source.base = static_cast<off_t>(offset);
  impl_->source.size = static_cast<off_t>(length);
  impl_->open();
}

MpegDecoder::MpegDecoder(const unsigned char* data, std::size_t size, std::string name)
    : impl_(std::make_unique<Impl>()) {
  impl_->name = std::move(name);
  impl_->source.data = data;
  impl_->source.size = static_cast<off_t>(size);
  impl_->open();
}

MpegDecoder::~MpegDecoder() = default;

int MpegDecoder::sample_rate_hz() const { return static_cast<int>(impl_->scan.rate); }
int MpegDecoder::channels() const { return impl_->scan.channels; }
// A LAME/Xing header that declares more than the frames there are: reading comes up short, and
// the reader reports the truncation as it does for any format.
int64_t MpegDecoder::frames() const {
  return std::max(impl_->scan.frames, impl_->scan.declared_frames);
}
int MpegDecoder::layer() const { return impl_->scan.layer; }
int64_t MpegDecoder::read(float* interleaved, int64_t count) {
  return impl_->read(interleaved, count);
}

}  // namespace spkid::detail
