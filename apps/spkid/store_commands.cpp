#include "store_commands.h"

#include <algorithm>
#include <cmath>

#include "spkid/enroll.h"
#include "table.h"

namespace spkid::cli {
namespace {

double recommended_speech_seconds() {
  return EnrollmentQualityOptions{}.recommended_speech_seconds;
}

}  // namespace

nlohmann::json speaker_totals_json(const SpeakerSummary& speaker) {
  return {{"files", speaker.num_recordings},
          {"clips", speaker.num_clips},
          {"audio_seconds", speaker.audio_seconds},
          {"speech_seconds", speaker.speech_seconds},
          {"recommended_speech_seconds", recommended_speech_seconds()},
          {"covered_by_current_model", speaker.covered_by_current_model},
          {"created_at", speaker.created_at}};
}

std::string progress_toward_recommended(double speech_seconds) {
  const double percent = std::min(100.0, 100 * speech_seconds / recommended_speech_seconds());
  return std::to_string(static_cast<int>(std::floor(percent))) + "%";
}

std::string progress_header() { return "of " + fixed(recommended_speech_seconds(), 0) + " s"; }

}  // namespace spkid::cli
