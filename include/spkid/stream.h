// Who speaks in a live stream: the application pushes PCM as it arrives (a microphone, a pipe),
// the stream finds utterances (utterance.h) and gives one answer per utterance as soon as it
// ends. Memory stays bounded over hours of input: an utterance at most
// UtteranceOptions::max_seconds, and a few seconds of level statistics.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "spkid/engine.h"
#include "spkid/error.h"
#include "spkid/utterance.h"

namespace spkid {

struct StreamResult {
  double start_seconds = 0;  // from the stream's first sample
  double end_seconds = 0;
  // The answer; none when the utterance could not be identified (then `error` says why: too
  // little speech for the model, nobody enrolled).
  std::optional<Identification> identification;
  std::optional<Error> error;
};

// Not thread-safe: one stream per thread (several streams may share an engine).
class IdentifyStream {
 public:
  // Frames of `channels` interleaved samples at `sample_rate_hz`, full scale 1.0. The engine must
  // outlive the stream. Throws Error(kInvalidArgument) for bad options, a rate or channel count
  // below 1.
  IdentifyStream(const Engine& engine, int sample_rate_hz, int channels = 1,
                 const UtteranceOptions& options = {}, std::size_t top_n = 1);

  // The answers for the utterances that ended within these frames, in order.
  std::vector<StreamResult> push(const float* interleaved, std::size_t frames);
  // The end of the input: the utterance still open ends, and is answered.
  std::vector<StreamResult> finish();

  double seconds_pushed() const;

 private:
  std::vector<StreamResult> answer(std::vector<StreamUtterance> utterances) const;

  const Engine& engine_;
  int channels_;
  std::size_t top_n_;
  UtteranceDetector detector_;
};

}  // namespace spkid
