#include "spkid/stream.h"

#include <string>

#include "spkid/audio.h"

namespace spkid {

IdentifyStream::IdentifyStream(const Engine& engine, int sample_rate_hz, int channels,
                               const UtteranceOptions& options, std::size_t top_n)
    : engine_(engine), channels_(channels), top_n_(top_n), detector_(sample_rate_hz, options) {
  if (channels < 1) {
    throw Error(ErrorCode::kInvalidArgument,
                "IdentifyStream: " + std::to_string(channels) + " channels; give at least one");
  }
}

std::vector<StreamResult> IdentifyStream::push(const float* interleaved, std::size_t frames) {
  if (frames > 0 && interleaved == nullptr) {
    throw Error(ErrorCode::kInvalidArgument, "IdentifyStream::push: no samples given");
  }
  if (channels_ == 1) return answer(detector_.push(interleaved, frames));
  const std::vector<float> mono = mix_to_mono(interleaved, static_cast<int64_t>(frames), channels_);
  return answer(detector_.push(mono.data(), frames));
}

std::vector<StreamResult> IdentifyStream::finish() { return answer(detector_.finish()); }

double IdentifyStream::seconds_pushed() const {
  return static_cast<double>(detector_.samples_pushed()) / detector_.sample_rate_hz();
}

std::vector<StreamResult> IdentifyStream::answer(std::vector<StreamUtterance> utterances) const {
  const int rate = detector_.sample_rate_hz();
  std::vector<StreamResult> results;
  for (const StreamUtterance& u : utterances) {
    StreamResult result;
    result.start_seconds = static_cast<double>(u.begin_sample) / rate;
    result.end_seconds = static_cast<double>(u.end_sample) / rate;
    try {
      result.identification =
          engine_.identify({u.samples.data(), u.samples.size(), rate, 1}, top_n_);
    } catch (const Error& error) {
      result.error = error;
    }
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace spkid
