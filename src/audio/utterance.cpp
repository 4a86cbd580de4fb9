// Online utterance detection (utterance.h): each frame is decided once, when its samples have
// arrived, against levels of the frames before it; an utterance closes after enough non-speech.
#include "spkid/utterance.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "audio/option_check.h"
#include "audio/vad_frames.h"
#include "spkid/error.h"

namespace spkid {
namespace {

// The levels are taken again every this many frames (and every frame in the first second), at
// fixed frame numbers, so the decisions do not depend on how the samples were pushed.
constexpr int64_t kLevelRefreshFrames = 10;

int64_t to_samples(double seconds, int rate) { return std::llround(seconds * rate); }

}  // namespace

void UtteranceOptions::validate() const {
  using detail::require_option;
  vad.validate();
  require_option(history_seconds > 0, "UtteranceOptions.history_seconds", history_seconds,
                 "more than 0");
  require_option(end_silence_seconds > 0, "UtteranceOptions.end_silence_seconds",
                 end_silence_seconds, "more than 0");
  require_option(min_speech_seconds >= 0, "UtteranceOptions.min_speech_seconds", min_speech_seconds,
                 "0 or more");
  require_option(max_seconds > min_speech_seconds, "UtteranceOptions.max_seconds", max_seconds,
                 "more than min_speech_seconds");
  require_option(padding_seconds >= 0 && padding_seconds < end_silence_seconds,
                 "UtteranceOptions.padding_seconds", padding_seconds,
                 "0 or more, and less than end_silence_seconds");
}

UtteranceDetector::UtteranceDetector(int sample_rate_hz, const UtteranceOptions& options)
    : rate_(sample_rate_hz), options_(options) {
  options.validate();
  if (sample_rate_hz < 1) {
    throw Error(ErrorCode::kInvalidArgument, "UtteranceDetector: the sample rate is " +
                                                 std::to_string(sample_rate_hz) +
                                                 " Hz; it must be positive, such as 16000");
  }
  frame_length_ = std::max<int64_t>(1, to_samples(options.vad.frame_length_ms / 1000, rate_));
  frame_shift_ = std::max<int64_t>(1, to_samples(options.vad.frame_shift_ms / 1000, rate_));
  end_silence_frames_ =
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(options.end_silence_seconds * rate_ /
                                                          static_cast<double>(frame_shift_))));
  min_speech_samples_ = to_samples(options.min_speech_seconds, rate_);
  max_samples_ = std::max<int64_t>(frame_shift_, to_samples(options.max_seconds, rate_));
  padding_ = to_samples(options.padding_seconds, rate_);
  history_frames_ = static_cast<std::size_t>(std::max<int64_t>(
      1, std::llround(options.history_seconds * 1000 / options.vad.frame_shift_ms)));
}

std::vector<StreamUtterance> UtteranceDetector::push(const float* samples, std::size_t count) {
  if (count > 0 && samples == nullptr) {
    throw Error(ErrorCode::kInvalidArgument, "UtteranceDetector::push: no samples given");
  }
  std::vector<StreamUtterance> out;
  buffer_.insert(buffer_.end(), samples, samples + count);
  pushed_ += static_cast<int64_t>(count);
  while (next_frame_ * frame_shift_ + frame_length_ <= pushed_) {
    process_frame(out);
    trim_buffer();
  }
  return out;
}

std::vector<StreamUtterance> UtteranceDetector::finish() {
  std::vector<StreamUtterance> out;
  if (open_) close(std::min(pushed_, last_speech_end_ + padding_), out);
  return out;
}

bool UtteranceDetector::is_speech(double energy_db) {
  if (energy_db > detail::kDigitalSilenceDbfs) {
    history_.push_back(energy_db);
    if (history_.size() > history_frames_) history_.pop_front();
  }
  if (history_.empty()) return false;
  const bool warming_up = history_.size() < history_frames_ &&
                          static_cast<double>(history_.size()) * options_.vad.frame_shift_ms < 1000;
  if (warming_up || next_frame_ % kLevelRefreshFrames == 0 || !threshold_known_) {
    scratch_.assign(history_.begin(), history_.end());
    threshold_db_ = detail::speech_threshold_dbfs(scratch_, options_.vad);
    threshold_known_ = true;
  }
  return energy_db > threshold_db_;
}

void UtteranceDetector::process_frame(std::vector<StreamUtterance>& out) {
  const int64_t begin = next_frame_ * frame_shift_;
  frame_.assign(buffer_.begin() + (begin - buffer_start_),
                buffer_.begin() + (begin - buffer_start_ + frame_length_));
  const bool speech =
      is_speech(detail::frame_energy_dbfs(frame_.data(), static_cast<std::size_t>(frame_length_)));
  // A frame stands for the hop at its centre.
  const int64_t centre_begin = begin + (frame_length_ - frame_shift_) / 2;
  const int64_t centre_end = centre_begin + frame_shift_;
  if (speech) {
    if (!open_) {
      open_ = true;
      // Its padding never reaches back into the utterance before it.
      begin_sample_ = std::max(previous_end_, centre_begin - padding_);
      first_speech_begin_ = centre_begin;
    }
    last_speech_frame_ = next_frame_;
    last_speech_end_ = centre_end;
  }
  if (open_) {
    if (!speech && next_frame_ - last_speech_frame_ >= end_silence_frames_) {
      close(last_speech_end_ + padding_, out);
    } else if (centre_end - begin_sample_ >= max_samples_) {
      // Too long to wait for a pause: this part is reported, and the speech goes on as the next.
      close(centre_end, out);
      if (speech) {
        open_ = true;
        begin_sample_ = first_speech_begin_ = centre_end;
        last_speech_end_ = centre_end;
      }
    }
  }
  ++next_frame_;
}

void UtteranceDetector::close(int64_t end_sample, std::vector<StreamUtterance>& out) {
  open_ = false;
  previous_end_ = std::min(end_sample, pushed_);
  if (last_speech_end_ - first_speech_begin_ < min_speech_samples_) return;
  StreamUtterance utterance;
  utterance.begin_sample = begin_sample_;
  utterance.end_sample = previous_end_;
  utterance.samples.assign(buffer_.begin() + (utterance.begin_sample - buffer_start_),
                           buffer_.begin() + (utterance.end_sample - buffer_start_));
  out.push_back(std::move(utterance));
}

void UtteranceDetector::trim_buffer() {
  // The next frame's samples, and the padding an utterance starting at it would take.
  const int64_t next = next_frame_ * frame_shift_;
  int64_t keep_from = std::min(next, next + (frame_length_ - frame_shift_) / 2 - padding_);
  if (open_) keep_from = std::min(keep_from, begin_sample_);
  keep_from = std::max<int64_t>(keep_from, 0);
  const int64_t drop =
      std::min<int64_t>(keep_from - buffer_start_, static_cast<int64_t>(buffer_.size()));
  if (drop <= 0) return;
  buffer_.erase(buffer_.begin(), buffer_.begin() + drop);
  buffer_start_ += drop;
}

}  // namespace spkid
