// Sample-rate conversion with libsamplerate, the whole buffer in one call.
#include <samplerate.h>

#include <cmath>
#include <string>
#include <vector>

#include "spkid/audio.h"
#include "spkid/error.h"

namespace spkid {
namespace {

struct QualityEntry {
  ResampleQuality quality;
  const char* name;
  int converter;  // libsamplerate's converter type
};

constexpr QualityEntry kQualities[] = {
    {ResampleQuality::kSincBest, "sinc-best", SRC_SINC_BEST_QUALITY},
    {ResampleQuality::kSincMedium, "sinc-medium", SRC_SINC_MEDIUM_QUALITY},
    {ResampleQuality::kSincFastest, "sinc-fastest", SRC_SINC_FASTEST},
    {ResampleQuality::kZeroOrderHold, "zero-order-hold", SRC_ZERO_ORDER_HOLD},
    {ResampleQuality::kLinear, "linear", SRC_LINEAR},
};

const QualityEntry* find_quality(ResampleQuality quality) noexcept {
  for (const QualityEntry& entry : kQualities) {
    if (entry.quality == quality) return &entry;
  }
  return nullptr;
}

std::string quality_names() {
  std::string names;
  for (const QualityEntry& entry : kQualities) {
    if (!names.empty()) names += ", ";
    names += entry.name;
  }
  return names;
}

}  // namespace

const char* resample_quality_name(ResampleQuality quality) noexcept {
  const QualityEntry* entry = find_quality(quality);
  return entry != nullptr ? entry->name : "unknown";
}

ResampleQuality parse_resample_quality(const std::string& name) {
  for (const QualityEntry& entry : kQualities) {
    if (name == entry.name) return entry.quality;
  }
  throw Error(ErrorCode::kInvalidArgument,
              "unknown resample quality '" + name + "'; use one of " + quality_names());
}

std::vector<float> resample(const std::vector<float>& samples, int from_hz, int to_hz,
                            ResampleQuality quality) {
  const QualityEntry* entry = find_quality(quality);
  if (entry == nullptr) {
    throw Error(ErrorCode::kInvalidArgument,
                "unknown resample quality; use one of " + quality_names());
  }
  if (from_hz <= 0 || to_hz <= 0) {
    throw Error(ErrorCode::kInvalidArgument, "cannot resample from " + std::to_string(from_hz) +
                                                 " Hz to " + std::to_string(to_hz) +
                                                 " Hz; both rates must be positive");
  }
  if (from_hz == to_hz) return samples;
  const double ratio = static_cast<double>(to_hz) / from_hz;
  if (src_is_valid_ratio(ratio) == 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "cannot resample from " + std::to_string(from_hz) + " Hz to " +
                    std::to_string(to_hz) +
                    " Hz; libsamplerate converts at most 256 times up or down, so convert the "
                    "audio to a common rate such as 16000 Hz first");
  }
  if (samples.empty()) return {};

  // libsamplerate may emit one sample more than the exact length; the rest stays unused.
  std::vector<float> out(
      static_cast<size_t>(std::ceil(static_cast<double>(samples.size()) * ratio)) + 2);
  SRC_DATA data{};
  data.data_in = samples.data();
  data.input_frames = static_cast<long>(samples.size());
  data.data_out = out.data();
  data.output_frames = static_cast<long>(out.size());
  data.src_ratio = ratio;
  data.end_of_input = 1;
  const int status = src_simple(&data, entry->converter, 1);
  if (status != 0) {
    throw Error(ErrorCode::kInternal, std::string("libsamplerate failed: ") + src_strerror(status) +
                                          "; please report this as a bug");
  }
  out.resize(static_cast<size_t>(data.output_frames_gen));
  return out;
}

}  // namespace spkid
