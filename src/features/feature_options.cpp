// FeatureOptions: derived sizes, validation, JSON form (what a model records of its front end).
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <type_traits>

#include "spkid/error.h"
#include "spkid/features.h"

namespace spkid {
namespace {

constexpr double kMaxFrameLengthMs = 1000;  // bounds the FFT size a typo could ask for

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, message);
}

void require_finite(double value, const char* field) {
  if (!std::isfinite(value)) {
    invalid(std::string("feature option ") + field + " is not a finite number: give a real value");
  }
}

// Kaldi's window sizes: samp_freq * 0.001 * ms, truncated.
int samples_for_ms(int sample_rate_hz, double ms) {
  return static_cast<int>(sample_rate_hz * 0.001 * ms);
}

template <typename T>
bool has_type(const nlohmann::json& value) {
  if constexpr (std::is_same_v<T, bool>) {
    return value.is_boolean();
  } else if constexpr (std::is_integral_v<T>) {
    return value.is_number_integer();
  } else if constexpr (std::is_floating_point_v<T>) {
    return value.is_number();
  } else {
    static_assert(std::is_same_v<T, std::string>);
    return value.is_string();
  }
}

// Reads `key` into `field` when present; a wrong type names the field.
template <typename T>
void read_field(const nlohmann::json& json, const char* key, T& field) {
  auto it = json.find(key);
  if (it == json.end()) return;  // absent keys keep their defaults, so older models still load
  // Strict types: nlohmann would silently truncate 16000.5 to an int or read 1 as true.
  if (!has_type<T>(*it)) {
    invalid(std::string("feature options JSON: '") + key + "' has the wrong type (" +
            it->type_name() + "): check the model or options file");
  }
  field = it->get<T>();
}

// The fields operator== compares: a new field goes here, in to_json and in from_json.
auto fields(const FeatureOptions& o) {
  return std::tie(o.sample_rate_hz, o.frame_length_ms, o.frame_shift_ms, o.window, o.preemphasis,
                  o.remove_dc_offset, o.num_mel_bins, o.f_min_hz, o.f_max_hz, o.log_floor, o.mfcc,
                  o.num_ceps, o.normalize_mean, o.normalize_variance);
}

}  // namespace

const char* window_type_name(WindowType window) noexcept {
  switch (window) {
    case WindowType::kHann:
      return "hann";
    case WindowType::kPovey:
      return "povey";
    case WindowType::kHamming:
      return "hamming";
  }
  return "unknown";
}

WindowType parse_window_type(const std::string& name) {
  if (name == "hann" || name == "hanning") return WindowType::kHann;  // "hanning" is Kaldi's name
  if (name == "povey") return WindowType::kPovey;
  if (name == "hamming") return WindowType::kHamming;
  invalid("unknown window '" + name + "': use hann, povey or hamming");
}

int FeatureOptions::frame_length_samples() const {
  return samples_for_ms(sample_rate_hz, frame_length_ms);
}

int FeatureOptions::frame_shift_samples() const {
  return samples_for_ms(sample_rate_hz, frame_shift_ms);
}

int FeatureOptions::fft_size() const {
  int size = 1;
  while (size < frame_length_samples()) size *= 2;
  return size;
}

void FeatureOptions::validate() const {
  if (sample_rate_hz <= 0) {
    invalid("feature option sample_rate_hz must be positive (got " +
            std::to_string(sample_rate_hz) +
            "): use the rate the audio is resampled to, e.g. 16000");
  }
  require_finite(frame_length_ms, "frame_length_ms");
  require_finite(frame_shift_ms, "frame_shift_ms");
  require_finite(preemphasis, "preemphasis");
  require_finite(f_min_hz, "f_min_hz");
  require_finite(f_max_hz, "f_max_hz");
  require_finite(log_floor, "log_floor");
  if (frame_length_ms > kMaxFrameLengthMs || frame_length_samples() < 2) {
    invalid("feature option frame_length_ms=" + std::to_string(frame_length_ms) +
            " gives a frame of " + std::to_string(frame_length_samples()) +
            " samples: use a length of at least 2 samples and at most 1000 ms, e.g. 25");
  }
  if (frame_shift_samples() < 1) {
    invalid("feature option frame_shift_ms=" + std::to_string(frame_shift_ms) +
            " gives a shift under one sample: use a positive shift, e.g. 10");
  }
  if (preemphasis < 0 || preemphasis > 1) {
    invalid("feature option preemphasis=" + std::to_string(preemphasis) +
            " is outside [0, 1]: use 0.97, or 0 to turn it off");
  }
  if (num_mel_bins < 3) {
    invalid("feature option num_mel_bins=" + std::to_string(num_mel_bins) +
            " is too small: use at least 3 bands, e.g. 64");
  }
  const double nyquist_hz = 0.5 * sample_rate_hz;
  const double f_max_effective_hz = f_max_hz <= 0 ? nyquist_hz + f_max_hz : f_max_hz;
  if (f_min_hz < 0 || f_min_hz >= nyquist_hz) {
    invalid("feature option f_min_hz=" + std::to_string(f_min_hz) + " must be in [0, " +
            std::to_string(nyquist_hz) +
            ") Hz for sample_rate_hz=" + std::to_string(sample_rate_hz) + ": use e.g. 20");
  }
  if (f_max_effective_hz <= f_min_hz || f_max_effective_hz > nyquist_hz) {
    invalid("feature option f_max_hz=" + std::to_string(f_max_hz) + " gives an upper edge of " +
            std::to_string(f_max_effective_hz) + " Hz, not in (f_min_hz, Nyquist=" +
            std::to_string(nyquist_hz) + "]: use 0 for Nyquist or a negative offset from it");
  }
  if (log_floor <= 0) {
    invalid("feature option log_floor=" + std::to_string(log_floor) +
            " must be positive: use e.g. 1.1920928955078125e-07 (float epsilon)");
  }
  if (mfcc && (num_ceps < 1 || num_ceps > num_mel_bins)) {
    invalid("feature option num_ceps=" + std::to_string(num_ceps) +
            " must be in [1, num_mel_bins=" + std::to_string(num_mel_bins) +
            "]: use fewer cepstra or more Mel bands");
  }
  if (normalize_variance && !normalize_mean) {
    invalid(
        "feature option normalize_variance needs normalize_mean: set both, or turn variance off");
  }
}

std::string FeatureOptions::to_json() const {
  nlohmann::json json;
  json["sample_rate_hz"] = sample_rate_hz;
  json["frame_length_ms"] = frame_length_ms;
  json["frame_shift_ms"] = frame_shift_ms;
  json["window"] = window_type_name(window);
  json["preemphasis"] = preemphasis;
  json["remove_dc_offset"] = remove_dc_offset;
  json["num_mel_bins"] = num_mel_bins;
  json["f_min_hz"] = f_min_hz;
  json["f_max_hz"] = f_max_hz;
  json["log_floor"] = log_floor;
  json["mfcc"] = mfcc;
  json["num_ceps"] = num_ceps;
  json["normalize_mean"] = normalize_mean;
  json["normalize_variance"] = normalize_variance;
  return json.dump();
}

FeatureOptions FeatureOptions::from_json(const std::string& text) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    invalid(std::string("feature options are not valid JSON (") + e.what() +
            "): check the model or options file");
  }
  if (!json.is_object()) {
    invalid("feature options JSON is a " + std::string(json.type_name()) +
            ", not an object: check the model or options file");
  }
  FeatureOptions options;
  const nlohmann::json known = nlohmann::json::parse(options.to_json());
  for (const auto& item : json.items()) {
    // An unknown key is a setting this version cannot honour, e.g. from a newer spkid.
    if (!known.contains(item.key())) {
      invalid("feature options JSON has unknown key '" + item.key() +
              "': it was written by a newer spkid or has a typo");
    }
  }
  read_field(json, "sample_rate_hz", options.sample_rate_hz);
  read_field(json, "frame_length_ms", options.frame_length_ms);
  read_field(json, "frame_shift_ms", options.frame_shift_ms);
  std::string window = window_type_name(options.window);
  read_field(json, "window", window);
  options.window = parse_window_type(window);
  read_field(json, "preemphasis", options.preemphasis);
  read_field(json, "remove_dc_offset", options.remove_dc_offset);
  read_field(json, "num_mel_bins", options.num_mel_bins);
  read_field(json, "f_min_hz", options.f_min_hz);
  read_field(json, "f_max_hz", options.f_max_hz);
  read_field(json, "log_floor", options.log_floor);
  read_field(json, "mfcc", options.mfcc);
  read_field(json, "num_ceps", options.num_ceps);
  read_field(json, "normalize_mean", options.normalize_mean);
  read_field(json, "normalize_variance", options.normalize_variance);
  options.validate();
  return options;
}

bool FeatureOptions::operator==(const FeatureOptions& other) const {
  return fields(*this) == fields(other);
}

}  // namespace spkid
