// Sample-rate conversion of a whole buffer, with libsoxr or libsamplerate: one table names every
// quality, its backend and that backend's setting.
#include <samplerate.h>
#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "spkid/audio.h"
#include "spkid/error.h"

namespace spkid {
namespace {

// Converts `in` to `out`, whose size is enough for the result; returns how many samples it wrote.
using Converter = size_t (*)(const std::vector<float>& in, int from_hz, int to_hz, int setting,
                             std::vector<float>& out);

// Input fed in blocks keeps libsoxr's internal buffers small (64 KB, under glibc's mmap
// threshold); given a whole file at once, it grows them by realloc and page-faults through ~2 MB
// per file, which took spkid features twice as long.
constexpr size_t kSoxrBlockSamples = 16384;

size_t convert_with_soxr(const std::vector<float>& in, int from_hz, int to_hz, int recipe,
                         std::vector<float>& out) {
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t quality = soxr_quality_spec(static_cast<unsigned long>(recipe), 0);
  // One thread: spkid already runs one file per core.
  const soxr_runtime_spec_t runtime = soxr_runtime_spec(1);
  soxr_error_t error = nullptr;
  const std::unique_ptr<soxr, decltype(&soxr_delete)> resampler(
      soxr_create(from_hz, to_hz, 1, &error, &io, &quality, &runtime), soxr_delete);
  size_t consumed = 0;
  size_t written = 0;
  while (error == nullptr) {
    const size_t block = std::min(kSoxrBlockSamples, in.size() - consumed);
    size_t block_consumed = 0;
    size_t block_written = 0;
    // A null input, once every sample is in, flushes the filter's tail.
    error =
        soxr_process(resampler.get(), block > 0 ? in.data() + consumed : nullptr, block,
                     &block_consumed, out.data() + written, out.size() - written, &block_written);
    consumed += block_consumed;
    written += block_written;
    if (block_consumed == 0 && block_written == 0) break;
  }
  if (error != nullptr) {
    throw Error(ErrorCode::kInternal,
                std::string("libsoxr failed: ") + error + "; please report this as a bug");
  }
  return written;
}

size_t convert_with_samplerate(const std::vector<float>& in, int from_hz, int to_hz, int converter,
                               std::vector<float>& out) {
  SRC_DATA data{};
  data.data_in = in.data();
  data.input_frames = static_cast<long>(in.size());
  data.data_out = out.data();
  data.output_frames = static_cast<long>(out.size());
  data.src_ratio = static_cast<double>(to_hz) / from_hz;
  data.end_of_input = 1;
  const int status = src_simple(&data, converter, 1);
  if (status != 0) {
    throw Error(ErrorCode::kInternal, std::string("libsamplerate failed: ") + src_strerror(status) +
                                          "; please report this as a bug");
  }
  return static_cast<size_t>(data.output_frames_gen);
}

struct QualityEntry {
  ResampleQuality quality;
  const char* name;
  Converter convert;
  int setting;  // soxr's quality recipe, or libsamplerate's converter type
};

// In the order of the enum.
constexpr QualityEntry kQualities[] = {
    {ResampleQuality::kSoxrVeryHigh, "soxr-vhq", convert_with_soxr, SOXR_VHQ},
    {ResampleQuality::kSoxrHigh, "soxr-hq", convert_with_soxr, SOXR_HQ},
    {ResampleQuality::kSincBest, "sinc-best", convert_with_samplerate, SRC_SINC_BEST_QUALITY},
    {ResampleQuality::kSincMedium, "sinc-medium", convert_with_samplerate, SRC_SINC_MEDIUM_QUALITY},
    {ResampleQuality::kSincFastest, "sinc-fastest", convert_with_samplerate, SRC_SINC_FASTEST},
    {ResampleQuality::kZeroOrderHold, "zero-order-hold", convert_with_samplerate,
     SRC_ZERO_ORDER_HOLD},
    {ResampleQuality::kLinear, "linear", convert_with_samplerate, SRC_LINEAR},
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

const std::vector<ResampleQuality>& resample_qualities() {
  static const std::vector<ResampleQuality> qualities = [] {
    std::vector<ResampleQuality> all;
    for (const QualityEntry& entry : kQualities) all.push_back(entry.quality);
    return all;
  }();
  return qualities;
}

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
  // libsamplerate's limit, kept for every backend so that a quality accepts the same rates.
  const double ratio = static_cast<double>(to_hz) / from_hz;
  if (ratio > 256 || ratio < 1.0 / 256) {
    throw Error(ErrorCode::kInvalidArgument,
                "cannot resample from " + std::to_string(from_hz) + " Hz to " +
                    std::to_string(to_hz) +
                    " Hz; spkid converts at most 256 times up or down, so convert the audio to a "
                    "common rate such as 16000 Hz first");
  }
  if (samples.empty()) return {};

  // Room for one sample more than the exact length; the rest stays unused.
  std::vector<float> out(
      static_cast<size_t>(std::ceil(static_cast<double>(samples.size()) * ratio)) + 2);
  out.resize(entry->convert(samples, from_hz, to_hz, entry->setting, out));
  return out;
}

}  // namespace spkid
