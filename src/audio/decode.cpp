// Decoding with libsndfile from a path, from standard input or pipes (read into memory, no more
// than the longest audio allowed can take) and from memory (virtual I/O), then mixing to mono and
// resampling.
#include <fcntl.h>
#include <sndfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "audio/mpeg.h"
#include "audio/option_check.h"
#include "audio/seconds_text.h"
#include "spkid/audio.h"
#include "spkid/error.h"

namespace spkid {
namespace {

constexpr const char* kStdinName = "<stdin>";

using detail::format_seconds;

[[noreturn]] void throw_unreadable(const std::string& name, const std::string& reason) {
  throw Error(ErrorCode::kIo,
              name + ": cannot read (" + reason + "); check that the file is readable");
}

[[noreturn]] void throw_unreadable(const std::string& name, int error_number) {
  // std::error_code's message is thread-safe where strerror is not.
  throw_unreadable(name, std::error_code(error_number, std::generic_category()).message());
}

// `what`: "3 s long, more than the 2 s allowed".
[[noreturn]] void throw_too_long(const std::string& name, const std::string& what) {
  throw Error(
      ErrorCode::kAudioTooLong,
      name + ": " + what + "; split it into shorter files or raise the maximum (max_seconds)");
}

[[noreturn]] void throw_truncated_chunk(const std::string& name, long long declared_bytes,
                                        long long present_bytes) {
  throw Error(ErrorCode::kCorruptAudio,
              name + ": truncated: the header declares " + std::to_string(declared_bytes) +
                  " bytes of audio but the file holds " +
                  std::to_string(std::max(0LL, present_bytes)) + "; copy or export it again");
}

[[noreturn]] void throw_empty(const std::string& name) {
  throw Error(ErrorCode::kEmptyAudio,
              name + ": the file is empty (0 bytes); give a recording with audio in it");
}

// An encoded file in memory, read by libsndfile through its virtual I/O callbacks.
struct MemoryStream {
  const unsigned char* data = nullptr;
  sf_count_t size = 0;
  sf_count_t position = 0;

  static MemoryStream& of(void* user) { return *static_cast<MemoryStream*>(user); }
  static sf_count_t length(void* user) { return of(user).size; }
  static sf_count_t tell(void* user) { return of(user).position; }
  static sf_count_t seek(sf_count_t offset, int whence, void* user) {
    MemoryStream& stream = of(user);
    const sf_count_t base =
        whence == SEEK_CUR ? stream.position : (whence == SEEK_END ? stream.size : 0);
    if (base + offset < 0) return -1;
    stream.position = base + offset;
    return stream.position;
  }
  static sf_count_t read(void* destination, sf_count_t count, void* user) {
    MemoryStream& stream = of(user);
    const sf_count_t available = std::max<sf_count_t>(0, stream.size - stream.position);
    const sf_count_t n = std::min(count, available);
    if (n > 0) std::memcpy(destination, stream.data + stream.position, static_cast<size_t>(n));
    stream.position += n;
    return n;
  }
  static sf_count_t write(const void*, sf_count_t, void*) { return 0; }
};

SF_VIRTUAL_IO memory_io = {MemoryStream::length, MemoryStream::seek, MemoryStream::read,
                           MemoryStream::write, MemoryStream::tell};

// libsndfile reports a failed open in one process-wide slot, so opens take turns.
std::mutex& open_mutex() {
  static std::mutex mutex;
  return mutex;
}

// A stream is read in blocks; the header is looked for in the first kHeaderProbeBytes, then in
// four times as much, up to kMaxHeaderBytes (ID3 tags with cover art or long metadata chunks
// come before the audio). A stream with no header libsndfile knows by then is not read further.
constexpr size_t kStreamBlockBytes = size_t{1} << 16;
constexpr size_t kHeaderProbeBytes = size_t{1} << 16;
constexpr size_t kMaxHeaderBytes = size_t{1} << 24;

// The most bytes a second of this format can take: no codec libsndfile decodes stores a sample in
// more than 4 bytes but 64-bit float, and the compressed ones (FLAC, Vorbis, Opus, MP3) take less
// than their samples would, frame headers included.
double max_bytes_per_second(const SF_INFO& info) {
  const int bytes_per_sample = (info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_DOUBLE ? 8 : 4;
  return static_cast<double>(info.samplerate) * info.channels * bytes_per_sample;
}

// find_mpeg_in_wav()'s reader over `size` bytes in memory.
auto memory_reader(const unsigned char* data, size_t size) {
  return [data, size](int64_t offset, unsigned char* buffer, size_t count) {
    if (offset < 0 || static_cast<uint64_t>(offset) >= size) return size_t{0};
    const size_t n = std::min(count, size - static_cast<size_t>(offset));
    std::memcpy(buffer, data + offset, n);
    return n;
  };
}

// The header of the encoded bytes so far, when libsndfile recognises one. For MPEG audio, the
// most any MPEG stream holds a second: 48 kHz stereo.
std::optional<SF_INFO> probe_header(const std::vector<unsigned char>& bytes, size_t size) {
  if (detail::looks_like_mpeg(bytes.data(), size) ||
      detail::find_mpeg_in_wav(memory_reader(bytes.data(), size))) {
    SF_INFO mpeg{};
    mpeg.samplerate = 48000;
    mpeg.channels = 2;
    mpeg.format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
    return mpeg;
  }
  MemoryStream prefix{bytes.data(), static_cast<sf_count_t>(size), 0};
  SF_INFO info{};
  const std::lock_guard<std::mutex> lock(open_mutex());
  SNDFILE* file = sf_open_virtual(&memory_io, SFM_READ, &info, &prefix);
  if (file == nullptr) return std::nullopt;
  sf_close(file);
  if (info.channels < 1 || info.samplerate < 1) return std::nullopt;
  return info;
}

struct SndfileCloser {
  void operator()(SNDFILE* file) const noexcept { sf_close(file); }
};

class FileDescriptor {
 public:
  FileDescriptor() = default;  // none: the audio is in memory
  FileDescriptor(int fd, bool owned) : fd_(fd), owned_(owned) {}
  ~FileDescriptor() {
    if (owned_ && fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_ = -1;
  bool owned_ = false;
};

// An open reader with its header and the name used in error messages: libsndfile, or libmpg123
// for MPEG audio.
class SoundFile {
 public:
  // A path, or "-" for standard input; a stream holding more than `max_seconds` of audio is
  // refused while it is read.
  SoundFile(const std::string& path, double max_seconds);
  // Encoded bytes that outlive this object.
  SoundFile(const void* data, size_t size, std::string name) : name_(std::move(name)) {
    open_memory(static_cast<const unsigned char*>(data), size);
  }
  SoundFile(const SoundFile&) = delete;
  SoundFile& operator=(const SoundFile&) = delete;

  SNDFILE* get() const { return file_.get(); }  // null for MPEG audio
  const SF_INFO& info() const { return info_; }
  const std::string& name() const { return name_; }
  // The next `count` frames (at most), interleaved; fewer only at the end.
  sf_count_t read(float* interleaved, sf_count_t count) const {
    if (mpeg_) return mpeg_->read(interleaved, count);
    return std::max<sf_count_t>(0, sf_readf_float(file_.get(), interleaved, count));
  }

 private:
  void read_stream(int fd, double max_seconds);
  void open_memory(const unsigned char* data, size_t size);
  template <typename OpenFn>
  void open_with(OpenFn open_fn);
  // Takes `decoder` as the reader and fills info_ from it; `container` is SF_FORMAT_MPEG for an
  // MP3 file, SF_FORMAT_WAV for MPEG audio in a WAV file.
  void open_mpeg(std::unique_ptr<detail::MpegDecoder> decoder, int container);
  int64_t mpeg_payload_length(const detail::ByteRange& payload, int64_t file_size) const;
  void check_header() const;

  // Destroyed bottom-up: libsndfile closes before the descriptor and the bytes it reads go.
  std::string name_;
  FileDescriptor fd_;
  std::vector<unsigned char> bytes_;  // standard input or a pipe, as read
  MemoryStream memory_;
  std::array<unsigned char, 12> head_{};  // the first bytes, zero-filled when fewer
  SF_INFO info_{};
  std::unique_ptr<SNDFILE, SndfileCloser> file_;
  std::unique_ptr<detail::MpegDecoder> mpeg_;
};

// The container whose signature starts `head`, or null: a file that starts like one and still
// cannot be opened is damaged or cut short, not some other kind of file.
const char* container_signature(const std::array<unsigned char, 12>& head) {
  const auto at = [&](size_t offset, const char* magic) {
    return std::memcmp(head.data() + offset, magic, std::strlen(magic)) == 0;
  };
  if ((at(0, "RIFF") || at(0, "RIFX") || at(0, "RF64")) && at(8, "WAVE")) return "WAV";
  if (at(0, "FORM") && (at(8, "AIFF") || at(8, "AIFC"))) return "AIFF";
  if (at(0, "fLaC")) return "FLAC";
  if (at(0, "OggS")) return "Ogg";
  if (at(0, "caff")) return "CAF";
  return nullptr;
}

// Standard input for "-", else the file at `path`.
FileDescriptor open_descriptor(const std::string& path) {
  if (path == "-") {
    if (::isatty(STDIN_FILENO) == 1) {
      throw Error(ErrorCode::kInvalidArgument,
                  "standard input is a terminal, not audio; redirect or pipe a file into it "
                  "(... - < speech.wav)");
    }
    return FileDescriptor(STDIN_FILENO, false);
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error_number = errno;
    if (error_number == ENOENT || error_number == ENOTDIR) {
      throw Error(ErrorCode::kNotFound, path + ": no such file; check the path");
    }
    throw_unreadable(path, error_number);
  }
  return FileDescriptor(fd, true);
}

SoundFile::SoundFile(const std::string& path, double max_seconds)
    : name_(path == "-" ? kStdinName : path), fd_(open_descriptor(path)) {
  struct stat status {};
  if (::fstat(fd_.get(), &status) != 0) throw_unreadable(name_, errno);
  if (S_ISDIR(status.st_mode)) {
    throw Error(ErrorCode::kIo, name_ + ": is a directory; give the path of an audio file");
  }
  // A device named on the command line (/dev/zero, a disk, a sound card) is never a recording
  // and may never end; standard input redirected from one is still read, within the limit.
  if ((S_ISCHR(status.st_mode) || S_ISBLK(status.st_mode)) && path != "-") {
    throw Error(ErrorCode::kUnsupportedFormat,
                name_ +
                    ": is a device, not an audio file; give a file, or pipe the audio into "
                    "standard input (... - < speech.wav)");
  }
  if (!S_ISREG(status.st_mode)) {
    // libsndfile cannot seek in a pipe, and most formats need to.
    read_stream(fd_.get(), max_seconds);
    open_memory(bytes_.data(), bytes_.size());
    return;
  }
  if (status.st_size == 0) throw_empty(name_);
  const ssize_t head_size = ::pread(fd_.get(), head_.data(), head_.size(), 0);
  if (head_size < 0) throw_unreadable(name_, errno);
  if (detail::looks_like_mpeg(head_.data(), static_cast<size_t>(head_size))) {
    open_mpeg(std::make_unique<detail::MpegDecoder>(fd_.get(), 0, status.st_size, name_),
              SF_FORMAT_MPEG);
    return;
  }
  const auto read_at = [this](int64_t offset, unsigned char* buffer, size_t count) -> size_t {
    ssize_t n = 0;
    do {
      n = ::pread(fd_.get(), buffer, count, static_cast<off_t>(offset));
    } while (n < 0 && errno == EINTR);
    return n > 0 ? static_cast<size_t>(n) : 0;
  };
  if (const auto payload = detail::find_mpeg_in_wav(read_at)) {
    const int64_t length = mpeg_payload_length(*payload, status.st_size);
    open_mpeg(std::make_unique<detail::MpegDecoder>(fd_.get(), payload->offset, length, name_),
              SF_FORMAT_WAV);
    return;
  }
  open_with([this](SF_INFO* info) { return sf_open_fd(fd_.get(), SFM_READ, info, SF_FALSE); });
}

// Whatever arrives, memory stays bounded: first by kMaxHeaderBytes until the header is known,
// then by what `max_seconds` of audio in that header's format can take. Anything beyond is
// refused as too long without being read.
void SoundFile::read_stream(int fd, double max_seconds) {
  size_t size = 0;
  size_t next_probe = kHeaderProbeBytes;
  size_t limit = kMaxHeaderBytes;
  bool header_known = false;
  for (;;) {
    if (size == limit) {
      // One byte more tells a stream that ends here from one that goes on.
      unsigned char extra = 0;
      ssize_t n = 0;
      do {
        n = ::read(fd, &extra, 1);
      } while (n < 0 && errno == EINTR);
      if (n < 0) throw_unreadable(name_, errno);
      if (n == 0) break;
      if (!header_known) break;  // no audio header: open_memory() says what the bytes are not
      throw_too_long(name_, "the stream goes on past the " + format_seconds(max_seconds) +
                                " of audio allowed (read no further)");
    }
    const size_t block = std::min(kStreamBlockBytes, limit - size);
    bytes_.resize(size + block);
    const ssize_t n = ::read(fd, bytes_.data() + size, block);
    if (n == 0) break;
    if (n < 0) {
      const int error_number = errno;
      if (error_number == EINTR) continue;
      throw_unreadable(name_, error_number);
    }
    size += static_cast<size_t>(n);
    if (!header_known && size >= next_probe) {
      next_probe *= 4;
      if (const auto header = probe_header(bytes_, size)) {
        header_known = true;
        // Computed in double: an absurd rate or channel count in the header must not wrap.
        const double allowed = static_cast<double>(size) +
                               max_seconds * max_bytes_per_second(*header) + kStreamBlockBytes;
        constexpr size_t kNoLimit = std::numeric_limits<size_t>::max() / 2;
        limit = allowed < static_cast<double>(kNoLimit) ? static_cast<size_t>(allowed) : kNoLimit;
      }
    }
  }
  bytes_.resize(size);
}

void SoundFile::open_memory(const unsigned char* data, size_t size) {
  if (size == 0) throw_empty(name_);
  std::memcpy(head_.data(), data, std::min(size, head_.size()));
  if (detail::looks_like_mpeg(data, size)) {
    open_mpeg(std::make_unique<detail::MpegDecoder>(data, size, name_), SF_FORMAT_MPEG);
    return;
  }
  if (const auto payload = detail::find_mpeg_in_wav(memory_reader(data, size))) {
    const int64_t length = mpeg_payload_length(*payload, static_cast<int64_t>(size));
    open_mpeg(std::make_unique<detail::MpegDecoder>(data + payload->offset,
                                                    static_cast<size_t>(length), name_),
              SF_FORMAT_WAV);
    return;
  }
  memory_ = MemoryStream{data, static_cast<sf_count_t>(size), 0};
  open_with(
      [this](SF_INFO* info) { return sf_open_virtual(&memory_io, SFM_READ, info, &memory_); });
}

template <typename OpenFn>
void SoundFile::open_with(OpenFn open_fn) {
  int code = SF_ERR_NO_ERROR;
  std::string reason;
  {
    const std::lock_guard<std::mutex> lock(open_mutex());
    file_.reset(open_fn(&info_));
    if (!file_) {
      code = sf_error(nullptr);
      reason = sf_strerror(nullptr);
    }
  }
  if (!file_) {
    if (code == SF_ERR_SYSTEM) throw_unreadable(name_, reason);
    if (code == SF_ERR_MALFORMED_FILE) {
      throw Error(ErrorCode::kCorruptAudio,
                  name_ + ": damaged audio file (" + reason + "); copy or export it again");
    }
    if (const char* container = container_signature(head_)) {
      throw Error(ErrorCode::kCorruptAudio, name_ + ": a " + container +
                                                " file with a damaged or cut-short header (" +
                                                reason + "); copy or export it again");
    }
    throw Error(ErrorCode::kUnsupportedFormat, name_ + ": not an audio file libsndfile can read (" +
                                                   reason + "); convert it to WAV or FLAC");
  }
  check_header();
}

// The bytes of a WAV file's MPEG data chunk, which must all be there: libmpg123 would decode a
// cut-short chunk to its end without a word.
int64_t SoundFile::mpeg_payload_length(const detail::ByteRange& payload, int64_t file_size) const {
  const int64_t present = file_size - payload.offset;
  // 0xFFFFFFFF: a writer that could not seek back to fill the size in; the chunk runs to the end.
  if (payload.declared_length == 0xFFFFFFFFLL) return present;
  if (present < payload.declared_length) {
    throw_truncated_chunk(name_, payload.declared_length, present);
  }
  return payload.declared_length;
}

void SoundFile::open_mpeg(std::unique_ptr<detail::MpegDecoder> decoder, int container) {
  mpeg_ = std::move(decoder);
  static constexpr std::array<int, 3> kLayers = {SF_FORMAT_MPEG_LAYER_I, SF_FORMAT_MPEG_LAYER_II,
                                                 SF_FORMAT_MPEG_LAYER_III};
  info_.format = container | kLayers[static_cast<size_t>(std::clamp(mpeg_->layer(), 1, 3) - 1)];
  info_.samplerate = mpeg_->sample_rate_hz();
  info_.channels = mpeg_->channels();
  info_.frames = mpeg_->frames();
  check_header();
}

void SoundFile::check_header() const {
  if (info_.channels < 1 || info_.samplerate < 1 || info_.frames < 0) {
    throw Error(ErrorCode::kCorruptAudio,
                name_ + ": damaged header (" + std::to_string(info_.channels) + " channels at " +
                    std::to_string(info_.samplerate) + " Hz); copy or export the file again");
  }
  // Every source here can seek, so libsndfile only fails to find the length when the end of the
  // stream is missing (an Ogg file cut short has no end-of-stream page).
  if (info_.frames == SF_COUNT_MAX) {
    throw Error(ErrorCode::kCorruptAudio,
                name_ +
                    ": truncated: the end of the audio stream is missing; copy or export "
                    "the file again");
  }
}

std::string format_name(int format) {
  SF_FORMAT_INFO format_info{};
  format_info.format = format;
  if (sf_command(nullptr, SFC_GET_FORMAT_INFO, &format_info, sizeof format_info) != 0 ||
      format_info.name == nullptr) {
    return "unknown";
  }
  return format_info.name;
}

AudioFileInfo describe(const SF_INFO& info) {
  AudioFileInfo described;
  // "WAV (Microsoft)" -> "WAV": the short name people know.
  described.format = format_name(info.format & SF_FORMAT_TYPEMASK);
  described.format = described.format.substr(0, described.format.find(" ("));
  described.encoding = format_name(info.format & SF_FORMAT_SUBMASK);
  described.sample_rate_hz = info.samplerate;
  described.channels = info.channels;
  described.frames = info.frames;
  return described;
}

// libsndfile shortens a data chunk that runs past the end of the file to what is there and only
// notes it in its log: "data : 32000 (should be 15978)" (AIFF: "SSND : ..."). 0xFFFFFFFF is the
// size a streaming writer leaves when it cannot seek back, not a truncation.
void check_data_chunk_complete(const SoundFile& file) {
  if (file.get() == nullptr) return;  // MPEG audio: libmpg123 counted its frames
  std::array<char, 4096> log{};
  sf_command(file.get(), SFC_GET_LOG_INFO, log.data(), static_cast<int>(log.size() - 1));
  std::istringstream lines(log.data());
  for (std::string line; std::getline(lines, line);) {
    std::array<char, 5> chunk{};
    long long declared_bytes = 0, present_bytes = 0;
    if (std::sscanf(line.c_str(), " %4s : %lld (should be %lld)", chunk.data(), &declared_bytes,
                    &present_bytes) != 3) {
      continue;
    }
    const bool audio_chunk =
        std::strcmp(chunk.data(), "data") == 0 || std::strcmp(chunk.data(), "SSND") == 0;
    if (audio_chunk && declared_bytes != 0xFFFFFFFFLL && present_bytes < declared_bytes) {
      throw_truncated_chunk(file.name(), declared_bytes, present_bytes);
    }
  }
}

// Averages each frame's channels into mono[frame].
void mix_into(const float* interleaved, int64_t frames, int channels, float* mono) {
  const float scale = 1.0f / static_cast<float>(channels);
  for (int64_t frame = 0; frame < frames; ++frame) {
    const float* channel = interleaved + frame * channels;
    float sum = 0;
    for (int c = 0; c < channels; ++c) sum += channel[c];
    mono[frame] = sum * scale;
  }
}

// The next `count` frames as mono; a short read means the file ends before its header says.
std::vector<float> read_mono(const SoundFile& file, sf_count_t first, sf_count_t count) {
  const SF_INFO& info = file.info();
  std::vector<float> mono(static_cast<size_t>(count));
  sf_count_t frames_read = 0;
  if (info.channels == 1) {
    frames_read = file.read(mono.data(), count);
  } else {
    constexpr sf_count_t kBlockFrames = 8192;
    std::vector<float> block(static_cast<size_t>(kBlockFrames * info.channels));
    while (frames_read < count) {
      const sf_count_t got = file.read(block.data(), std::min(kBlockFrames, count - frames_read));
      if (got <= 0) break;
      mix_into(block.data(), got, info.channels, mono.data() + frames_read);
      frames_read += got;
    }
  }
  if (frames_read < count) {
    throw Error(ErrorCode::kCorruptAudio,
                file.name() + ": truncated: the audio stops after " +
                    format_seconds(static_cast<double>(first + frames_read) / info.samplerate) +
                    " of the " +
                    format_seconds(static_cast<double>(info.frames) / info.samplerate) +
                    " its header declares; copy or export it again");
  }
  if (sf_error(file.get()) != SF_ERR_NO_ERROR) {
    throw Error(ErrorCode::kCorruptAudio, file.name() + ": damaged audio data (" +
                                              sf_strerror(file.get()) +
                                              "); copy or export it again");
  }
  return mono;
}

// `first`: where `samples` start in the file, for the message.
void check_samples(const std::vector<float>& samples, sf_count_t first, int sample_rate_hz,
                   const std::string& name) {
  const auto bad = std::find_if_not(samples.begin(), samples.end(), is_usable_sample);
  if (bad == samples.end()) return;
  const std::string at =
      format_seconds(static_cast<double>(first + (bad - samples.begin())) / sample_rate_hz);
  if (std::isfinite(*bad)) {
    char value[32];
    std::snprintf(value, sizeof value, "%.3g", static_cast<double>(*bad));
    throw Error(ErrorCode::kCorruptAudio,
                name + ": sample at " + at + " is " + value +
                    ", more than a million times full scale, so the audio is damaged; export "
                    "it again from the original");
  }
  throw Error(ErrorCode::kNonFiniteAudio,
              name + ": sample at " + at + " is " + (std::isnan(*bad) ? "NaN" : "infinite") +
                  ", so the audio is damaged; export it again from the original");
}

// What every source of audio must pass before it is decoded: samples, and a length within the
// options' limits (known from a header, so a long file costs nothing to refuse).
void check_length(const AudioFileInfo& source, const AudioOptions& options,
                  const std::string& name) {
  if (source.frames == 0) {
    throw Error(ErrorCode::kEmptyAudio,
                name + ": holds no audio samples; give a recording with audio in it");
  }
  const double seconds = source.duration_seconds();
  if (seconds > options.max_seconds) {
    throw_too_long(name, format_seconds(seconds) + " long, more than the " +
                             format_seconds(options.max_seconds) + " allowed");
  }
  if (seconds < options.min_seconds) {
    throw Error(ErrorCode::kAudioTooShort,
                name + ": only " + format_seconds(seconds) + " of audio, less than the " +
                    format_seconds(options.min_seconds) + " needed; give a longer recording");
  }
}

// Mono samples of `source` starting at frame `first`, checked and resampled to the options'
// rate.
Audio convert(std::vector<float> mono, sf_count_t first, const AudioFileInfo& source,
              const AudioOptions& options, const std::string& name) {
  // Before resampling, which would smear one bad sample over its neighbours.
  check_samples(mono, first, source.sample_rate_hz, name);
  Audio audio;
  audio.source = source;
  if (source.sample_rate_hz == options.sample_rate_hz) {
    audio.samples = std::move(mono);
  } else {
    try {
      audio.samples =
          resample(mono, source.sample_rate_hz, options.sample_rate_hz, options.resample_quality);
    } catch (const Error& error) {
      // The options are valid, so the source's own rate is what resample() refused.
      if (error.code() != ErrorCode::kInvalidArgument) throw;
      throw Error(ErrorCode::kUnsupportedFormat, name + ": " + error.what());
    }
    // The filter rings past the peaks it is given (a square wave by about 9%): what comes out
    // must be within the limit too, as every later stage expects.
    const double scale = static_cast<double>(options.sample_rate_hz) / source.sample_rate_hz;
    check_samples(audio.samples, std::llround(static_cast<double>(first) * scale),
                  options.sample_rate_hz, name);
  }
  audio.sample_rate_hz = options.sample_rate_hz;
  return audio;
}

// Decodes `file` a segment of at most `segment_seconds` at a time (0: all at once), each mixed
// to mono and resampled on its own, and hands each to `segment_fn` before reading the next.
void decode(const SoundFile& file, const AudioOptions& options, double segment_seconds,
            const std::function<void(Audio&&)>& segment_fn) {
  const AudioFileInfo source = describe(file.info());
  check_data_chunk_complete(file);
  const std::string& name = file.name();
  check_length(source, options, name);
  const sf_count_t segment_frames =
      segment_seconds > 0
          ? std::max<sf_count_t>(1, std::llround(segment_seconds * source.sample_rate_hz))
          : source.frames;
  for (sf_count_t first = 0; first < source.frames; first += segment_frames) {
    segment_fn(convert(read_mono(file, first, std::min(segment_frames, source.frames - first)),
                       first, source, options, name));
  }
}

Audio decode(const SoundFile& file, const AudioOptions& options) {
  Audio whole;
  decode(file, options, 0, [&whole](Audio&& audio) { whole = std::move(audio); });
  return whole;
}

}  // namespace

void AudioOptions::validate() const {
  using detail::require_option;
  require_option(sample_rate_hz > 0, "AudioOptions.sample_rate_hz", sample_rate_hz,
                 "a positive rate in Hz, such as 16000");
  require_option(min_seconds >= 0, "AudioOptions.min_seconds", min_seconds, "0 or more");
  require_option(max_seconds > 0, "AudioOptions.max_seconds", max_seconds, "more than 0");
  require_option(min_seconds <= max_seconds, "AudioOptions.min_seconds", min_seconds,
                 "at most max_seconds");
  require_option(std::strcmp(resample_quality_name(resample_quality), "unknown") != 0,
                 "AudioOptions.resample_quality", static_cast<int>(resample_quality),
                 "one of the ResampleQuality values");
}

std::vector<float> mix_to_mono(const float* interleaved, int64_t frames, int channels) {
  if (channels < 1 || frames < 0 || (frames > 0 && interleaved == nullptr)) {
    throw Error(ErrorCode::kInvalidArgument,
                "mix_to_mono needs at least one channel and a buffer of frames x channels "
                "samples (got " +
                    std::to_string(channels) + " channels, " + std::to_string(frames) + " frames)");
  }
  std::vector<float> mono(static_cast<size_t>(frames));
  mix_into(interleaved, frames, channels, mono.data());
  return mono;
}

AudioFileInfo probe_audio(const std::string& path) {
  const SoundFile file(path, AudioOptions{}.max_seconds);
  return describe(file.info());
}

Audio load_audio(const std::string& path, const AudioOptions& options) {
  options.validate();
  const SoundFile file(path, options.max_seconds);
  return decode(file, options);
}

void load_audio_segments(const std::string& path, const AudioOptions& options,
                         double segment_seconds, const std::function<void(Audio&&)>& segment_fn) {
  options.validate();
  if (!(segment_seconds > 0)) {
    throw Error(ErrorCode::kInvalidArgument, "load_audio_segments needs segment_seconds > 0");
  }
  const SoundFile file(path, options.max_seconds);
  decode(file, options, segment_seconds, segment_fn);
}

Audio decode_audio(const void* data, std::size_t size, const AudioOptions& options,
                   const std::string& name) {
  options.validate();
  const SoundFile file(data, size, name);
  return decode(file, options);
}

Audio audio_from_samples(const float* interleaved, int64_t frames, int channels, int sample_rate_hz,
                         const AudioOptions& options, const std::string& name) {
  options.validate();
  if (channels < 1 || sample_rate_hz < 1 || frames < 0 || (frames > 0 && interleaved == nullptr)) {
    throw Error(ErrorCode::kInvalidArgument,
                name +
                    ": samples need a positive rate, at least one channel and a buffer of "
                    "frames x channels values (got " +
                    std::to_string(sample_rate_hz) + " Hz, " + std::to_string(channels) +
                    " channels, " + std::to_string(frames) + " frames)");
  }
  AudioFileInfo source;
  source.format = "samples";
  source.encoding = "32 bit float";
  source.sample_rate_hz = sample_rate_hz;
  source.channels = channels;
  source.frames = frames;
  check_length(source, options, name);
  return convert(mix_to_mono(interleaved, frames, channels), 0, source, options, name);
}

}  // namespace spkid
