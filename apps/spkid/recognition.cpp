#include "recognition.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cmath>

namespace spkid::cli {

void add_recognition_options(CLI::App& command, RecognitionOptions& options) {
  add_audio_options(command, options.audio);
  // Audio is decoded at the rate the store's model takes.
  command.remove_option(command.get_option("--sample-rate"));
  add_vad_options(command, options.vad);
  command
      .add_option("--cohort-exclude", options.cohort_exclude,
                  "Leave the pretraining speakers whose labels match this glob out of the score "
                  "normalisation's cohort (to measure a household with no look-alikes among them)")
      ->type_name("GLOB");
  command.add_flag("!--no-store-cohort", options.store_cohort,
                   "Normalise scores against the pretraining speakers alone, not also against "
                   "the other enrolled speakers");
}

void add_threshold_option(CLI::App& command, std::optional<double>& threshold) {
  command
      .add_option_function<double>(
          "--threshold", [&threshold](double value) { threshold = value; },
          "Lowest score accepted as a speaker's voice (default: the store's, calibrated on its "
          "enrolled speakers); scores are AS-normalised against the pretraining speakers and "
          "the other enrolled speakers: 0 is as close as the closest impostors")
      ->type_name("SCORE");
}

void add_top_option(CLI::App& command, std::size_t& top) {
  command.add_option("--top", top, "Also show the runners-up: N speakers in all")
      ->capture_default_str()
      ->type_name("N")
      ->check(CLI::PositiveNumber);
}

nlohmann::json identification_json(const Identification& answer) {
  nlohmann::json top = nlohmann::json::array();
  for (const SpeakerScore& candidate : answer.top) {
    top.push_back({{"speaker", candidate.speaker}, {"score", candidate.score}});
  }
  return {
      {"speaker", answer.speaker}, {"known", answer.known}, {"score", answer.score}, {"top", top}};
}

Store open_store_for_recognition(const std::string& dir) {
  if (::access(dir.c_str(), W_OK) == 0) return Store::open(dir, StoreAccess::kWrite);
  spdlog::debug("{} is read-only: embeddings computed now are not kept", dir);
  return Store::open(dir, StoreAccess::kRead);
}

double decision_threshold(const Recognizer& recognizer, const std::optional<double>& requested) {
  if (!requested) return recognizer.default_threshold();
  if (!std::isfinite(*requested)) {
    throw Error(ErrorCode::kInvalidArgument, "--threshold must be a finite number");
  }
  return *requested;
}

}  // namespace spkid::cli
