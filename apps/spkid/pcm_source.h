// Live audio for `spkid listen`: raw PCM or a WAV stream from a file descriptor (a pipe from
// arecord, a file), or an ALSA capture device.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace spkid::cli {

// Raw sample formats, by ALSA's names: S16_LE, S32_LE, FLOAT_LE (also F32_LE), U8.
enum class PcmFormat { kS16Le, kS32Le, kFloatLe, kU8 };
PcmFormat parse_pcm_format(const std::string& name);  // throws Error(kInvalidArgument)
std::size_t pcm_bytes_per_sample(PcmFormat format);

struct PcmSettings {
  PcmFormat format = PcmFormat::kS16Le;
  int sample_rate_hz = 16000;
  int channels = 1;
};

class PcmSource {
 public:
  virtual ~PcmSource() = default;
  virtual int sample_rate_hz() const = 0;
  virtual int channels() const = 0;
  // Appends the next frames (interleaved floats, full scale 1.0) as soon as any arrive; false at
  // the end of the input (after appending what was left). An interrupted wait (a signal) returns
  // true, maybe with nothing appended.
  virtual bool read(std::vector<float>& interleaved) = 0;
};

// Reads `fd` (0: standard input). A stream that starts with a RIFF/WAVE header takes its format
// from it; anything else is raw PCM of `raw`. Throws Error(kUnsupportedFormat) for a WAV header
// of a format it cannot read.
std::unique_ptr<PcmSource> open_fd_source(int fd, const std::string& name, const PcmSettings& raw);

// Captures from ALSA device `device` ("default", "hw:1,0", "plughw:1") at the settings' rate and
// channels. Throws Error(kIo) when the device cannot be opened or set up.
std::unique_ptr<PcmSource> open_alsa_source(const std::string& device, const PcmSettings& settings);

}  // namespace spkid::cli
