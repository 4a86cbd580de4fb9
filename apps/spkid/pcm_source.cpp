#include "pcm_source.h"

#include <alsa/asoundlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "spkid/error.h"

namespace spkid::cli {
namespace {

[[noreturn]] void unsupported(const std::string& name, const std::string& what) {
  throw Error(ErrorCode::kUnsupportedFormat,
              name + ": " + what +
                  "; send 16-bit, 32-bit or float PCM WAV, or raw PCM with --format/--rate/"
                  "--channels");
}

uint32_t le32(const unsigned char* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
uint16_t le16(const unsigned char* p) { return uint16_t(p[0] | p[1] << 8); }

float sample_at(const unsigned char* p, PcmFormat format) {
  switch (format) {
    case PcmFormat::kS16Le:
      return static_cast<float>(static_cast<int16_t>(le16(p))) / 32768.0f;
    case PcmFormat::kS32Le:
      return static_cast<float>(static_cast<double>(static_cast<int32_t>(le32(p))) / 2147483648.0);
    case PcmFormat::kFloatLe: {
      const uint32_t bits = le32(p);
      float value;
      std::memcpy(&value, &bits, sizeof value);
      return value;
    }
    case PcmFormat::kU8:
      return (static_cast<float>(p[0]) - 128.0f) / 128.0f;
  }
  return 0;
}

class FdSource final : public PcmSource {
 public:
  FdSource(int fd, std::string name, const PcmSettings& raw)
      : fd_(fd), name_(std::move(name)), settings_(raw) {
    read_header();
  }
  int sample_rate_hz() const override { return settings_.sample_rate_hz; }
  int channels() const override { return settings_.channels; }

  bool read(std::vector<float>& interleaved) override {
    if (ended_) return false;
    unsigned char block[8192];
    const ssize_t n = ::read(fd_, block, sizeof block);
    if (n < 0) {
      if (errno == EINTR) return true;
      throw Error(ErrorCode::kIo, name_ + ": cannot read (" + std::strerror(errno) + ")");
    }
    if (n == 0) {
      append(block, 0, interleaved);  // the raw bytes read while looking for a header
      ended_ = true;
      return false;
    }
    append(block, static_cast<std::size_t>(n), interleaved);
    return true;
  }

 private:
  // Bytes are converted a whole sample at a time; a sample split between reads waits.
  void append(const unsigned char* data, std::size_t size, std::vector<float>& out) {
    pending_.insert(pending_.end(), data, data + size);
    const std::size_t width = pcm_bytes_per_sample(settings_.format);
    const std::size_t frame = width * static_cast<std::size_t>(settings_.channels);
    std::size_t usable = pending_.size() / frame * frame;
    if (data_left_ >= 0)
      usable = std::min<std::size_t>(usable, std::size_t(data_left_) / frame * frame);
    for (std::size_t i = 0; i < usable; i += width) {
      out.push_back(sample_at(pending_.data() + i, settings_.format));
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(usable));
    if (data_left_ >= 0) {
      data_left_ -= static_cast<int64_t>(usable);
      if (data_left_ < static_cast<int64_t>(frame)) ended_ = true;  // what follows is not audio
    }
  }

  // Reads exactly `size` bytes unless the input ends first; returns how many it read.
  std::size_t read_exactly(unsigned char* into, std::size_t size) {
    std::size_t got = 0;
    while (got < size) {
      const ssize_t n = ::read(fd_, into + got, size - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        throw Error(ErrorCode::kIo, name_ + ": cannot read (" + std::strerror(errno) + ")");
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
    }
    return got;
  }

  void read_header() {
    unsigned char head[12];
    const std::size_t got = read_exactly(head, sizeof head);
    if (got < 12 || std::memcmp(head, "RIFF", 4) != 0 || std::memcmp(head + 8, "WAVE", 4) != 0) {
      pending_.assign(head, head + got);  // raw PCM: these bytes are samples
      return;
    }
    bool have_format = false;
    for (;;) {
      unsigned char chunk[8];
      if (read_exactly(chunk, 8) < 8) unsupported(name_, "the WAV stream ends before its audio");
      const uint32_t size = le32(chunk + 4);
      if (std::memcmp(chunk, "data", 4) == 0) {
        if (!have_format) unsupported(name_, "the WAV stream has no fmt chunk before its audio");
        // A stream being recorded declares 0 or the largest size: read to the end then.
        data_left_ = (size == 0 || size == 0xFFFFFFFFu) ? -1 : int64_t(size);
        return;
      }
      std::vector<unsigned char> body(size + (size & 1));
      if (read_exactly(body.data(), body.size()) < body.size()) {
        unsupported(name_, "the WAV stream ends inside its header");
      }
      if (std::memcmp(chunk, "fmt ", 4) == 0) {
        if (size < 16) unsupported(name_, "its WAV fmt chunk is too short");
        parse_format(body);
        have_format = true;
      }
    }
  }

  void parse_format(const std::vector<unsigned char>& fmt) {
    uint16_t tag = le16(fmt.data());
    const int channels = le16(fmt.data() + 2);
    const auto rate = static_cast<int>(le32(fmt.data() + 4));
    const int bits = le16(fmt.data() + 14);
    if (tag == 0xFFFE && fmt.size() >= 26) tag = le16(fmt.data() + 24);  // the sub-format
    if (channels < 1 || rate < 1) unsupported(name_, "its WAV header declares no channels or rate");
    if (tag == 1 && bits == 16) {
      settings_.format = PcmFormat::kS16Le;
    } else if (tag == 1 && bits == 32) {
      settings_.format = PcmFormat::kS32Le;
    } else if (tag == 1 && bits == 8) {
      settings_.format = PcmFormat::kU8;
    } else if (tag == 3 && bits == 32) {
      settings_.format = PcmFormat::kFloatLe;
    } else {
      unsupported(name_, "its WAV audio is format " + std::to_string(tag) + " with " +
                             std::to_string(bits) + "-bit samples");
    }
    settings_.channels = channels;
    settings_.sample_rate_hz = rate;
  }

  int fd_;
  std::string name_;
  PcmSettings settings_;
  std::vector<unsigned char> pending_;
  int64_t data_left_ = -1;  // bytes of a WAV data chunk still to come; -1: to the end
  bool ended_ = false;
};

class AlsaSource final : public PcmSource {
 public:
  AlsaSource(const std::string& device, const PcmSettings& settings) : settings_(settings) {
    const auto check = [&device](int status, const char* what) {
      if (status < 0) {
        throw Error(ErrorCode::kIo, "cannot " + std::string(what) + " the capture device '" +
                                        device + "' (" + snd_strerror(status) +
                                        "); list the devices with `arecord -L`");
      }
    };
    check(snd_pcm_open(&pcm_, device.c_str(), SND_PCM_STREAM_CAPTURE, 0), "open");
    // 50 ms of latency at most: utterances are reported soon after they end.
    check(snd_pcm_set_params(pcm_, SND_PCM_FORMAT_FLOAT_LE, SND_PCM_ACCESS_RW_INTERLEAVED,
                             static_cast<unsigned>(settings.channels),
                             static_cast<unsigned>(settings.sample_rate_hz), 1, 50000),
          "set up");
  }
  ~AlsaSource() override {
    if (pcm_ != nullptr) snd_pcm_close(pcm_);
  }
  int sample_rate_hz() const override { return settings_.sample_rate_hz; }
  int channels() const override { return settings_.channels; }

  bool read(std::vector<float>& interleaved) override {
    const snd_pcm_uframes_t frames = static_cast<snd_pcm_uframes_t>(settings_.sample_rate_hz / 100);
    std::vector<float> block(frames * static_cast<std::size_t>(settings_.channels));
    snd_pcm_sframes_t got = snd_pcm_readi(pcm_, block.data(), frames);
    if (got == -EINTR) return true;
    if (got < 0) got = snd_pcm_recover(pcm_, static_cast<int>(got), 1);  // an overrun
    if (got < 0) {
      throw Error(ErrorCode::kIo,
                  std::string("capture failed (") + snd_strerror(static_cast<int>(got)) + ")");
    }
    interleaved.insert(interleaved.end(), block.begin(), block.begin() + got * settings_.channels);
    return true;
  }

 private:
  PcmSettings settings_;
  snd_pcm_t* pcm_ = nullptr;
};

}  // namespace

PcmFormat parse_pcm_format(const std::string& name) {
  if (name == "S16_LE") return PcmFormat::kS16Le;
  if (name == "S32_LE") return PcmFormat::kS32Le;
  if (name == "FLOAT_LE" || name == "F32_LE") return PcmFormat::kFloatLe;
  if (name == "U8") return PcmFormat::kU8;
  throw Error(ErrorCode::kInvalidArgument,
              "unknown sample format '" + name + "': use S16_LE, S32_LE, FLOAT_LE or U8");
}

std::size_t pcm_bytes_per_sample(PcmFormat format) {
  switch (format) {
    case PcmFormat::kS16Le:
      return 2;
    case PcmFormat::kS32Le:
    case PcmFormat::kFloatLe:
      return 4;
    case PcmFormat::kU8:
      return 1;
  }
  return 2;
}

std::unique_ptr<PcmSource> open_fd_source(int fd, const std::string& name, const PcmSettings& raw) {
  return std::make_unique<FdSource>(fd, name, raw);
}

std::unique_ptr<PcmSource> open_alsa_source(const std::string& device,
                                            const PcmSettings& settings) {
  return std::make_unique<AlsaSource>(device, settings);
}

}  // namespace spkid::cli
