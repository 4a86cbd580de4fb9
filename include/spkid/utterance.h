// Utterances in a stream: voice activity decided frame by frame as samples arrive, so that an
// utterance is known as soon as its speaker stops, in bounded memory over hours of input. The
// frame rules are detect_speech()'s (vad.h), with the loudness statistics taken over the recent
// past instead of the whole recording.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "spkid/vad.h"

namespace spkid {

struct UtteranceOptions {
  // Frame length and shift, and the level rules of a speech frame (its percentiles are taken
  // over the last history_seconds). Its min_silence_ms and padding_ms are replaced by those here.
  VadOptions vad;
  double history_seconds = 30;
  // An utterance ends after this much non-speech: the delay before it is reported.
  double end_silence_seconds = 0.2;
  double min_speech_seconds = 0.3;  // shorter ones are dropped (a cough, a door)
  double max_seconds = 20;          // a longer one is cut here, and goes on as the next
  double padding_seconds = 0.05;    // kept either side

  void validate() const;  // throws Error(kInvalidArgument) naming the bad field
};

struct StreamUtterance {
  int64_t begin_sample = 0;  // from the first sample pushed, inclusive
  int64_t end_sample = 0;    // exclusive
  std::vector<float> samples;
  double seconds(int sample_rate_hz) const {
    return static_cast<double>(end_sample - begin_sample) / sample_rate_hz;
  }
};

// Mono samples in, utterances out. The utterances do not depend on how the samples are split
// into pushes. Not thread-safe: one stream per thread.
class UtteranceDetector {
 public:
  // Throws Error(kInvalidArgument) for bad options or a rate below 1.
  UtteranceDetector(int sample_rate_hz, const UtteranceOptions& options = {});

  int sample_rate_hz() const { return rate_; }
  int64_t samples_pushed() const { return pushed_; }
  // Samples held now: at most max_seconds and a frame, whatever has been pushed.
  std::size_t samples_held() const { return buffer_.size(); }
  // The utterances that ended within these samples, in order.
  std::vector<StreamUtterance> push(const float* samples, std::size_t count);
  // The end of the input: an utterance still open ends with it.
  std::vector<StreamUtterance> finish();

 private:
  void process_frame(std::vector<StreamUtterance>& out);
  bool is_speech(double energy_db);
  void close(int64_t end_sample, std::vector<StreamUtterance>& out);
  void trim_buffer();

  int rate_;
  UtteranceOptions options_;
  int64_t frame_length_ = 0, frame_shift_ = 0;
  int64_t end_silence_frames_ = 0, min_speech_samples_ = 0, max_samples_ = 0, padding_ = 0;
  std::size_t history_frames_ = 0;

  std::deque<float> buffer_;  // samples from buffer_start_ on
  int64_t buffer_start_ = 0;
  int64_t pushed_ = 0;
  int64_t next_frame_ = 0;      // index of the next frame to decide
  std::deque<double> history_;  // recent frame energies (dBFS), digital silence left out
  std::vector<double> scratch_;

  std::vector<float> frame_;
  double threshold_db_ = 0;  // the energy a speech frame exceeds, from history_
  bool threshold_known_ = false;

  bool open_ = false;               // an utterance has started and not ended
  int64_t begin_sample_ = 0;        // of the open utterance, padding included
  int64_t first_speech_begin_ = 0;  // where its speech starts
  int64_t last_speech_end_ = 0;     // where its last speech frame ends
  int64_t last_speech_frame_ = 0;
  int64_t previous_end_ = 0;  // where the last utterance closed
};

}  // namespace spkid
