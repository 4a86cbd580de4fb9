// The evaluation protocol: enrollment and test clips from each speaker's speech, every clip
// identified by a Recognizer, and the figures of merit of its answers and scores.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "spkid/chunk.h"
#include "spkid/error.h"
#include "spkid/evaluation.h"
#include "spkid/speech_corpus.h"
#include "spkid/recognizer.h"

namespace spkid {
namespace {

using nlohmann::json;

std::string seconds(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", value);
  return text;
}

void require(bool ok, const std::string& message) {
  if (!ok) throw Error(ErrorCode::kInvalidArgument, message);
}

// Test clips all last test_clip_seconds: less speech gives none.
ChunkOptions test_clip_chunks(const EvaluationOptions& options) {
  ChunkOptions chunks;
  chunks.clip_seconds = options.test_clip_seconds;
  chunks.min_clip_seconds = options.test_clip_seconds;
  return chunks;
}

// One clip of speech as the recognizer takes a file's speech: cut into its chunks.
ChunkedSpeech chunk_clip(const std::vector<float>& clip, int sample_rate_hz,
                         const ChunkOptions& chunks, const FeatureExtractor& extractor) {
  ChunkedSpeech speech;
  speech.speech_seconds = double(clip.size()) / sample_rate_hz;
  for (const auto& chunk : cut_clips(clip, sample_rate_hz, chunks)) {
    speech.chunks.push_back(extractor.compute(chunk));
  }
  return speech;
}

json rates_json(const EqualErrorRate& eer, const DetectionCost& dcf) {
  return {{"eer", eer.rate},
          {"eer_threshold", eer.threshold},
          {"min_dcf", dcf.cost},
          {"min_dcf_threshold", dcf.threshold}};
}

}  // namespace

void EvaluationOptions::validate() const {
  require(enroll_seconds > 0, "EvaluationOptions.enroll_seconds must be more than 0");
  require(enroll_clip_seconds > 0, "EvaluationOptions.enroll_clip_seconds must be more than 0");
  require(test_clip_seconds > 0, "EvaluationOptions.test_clip_seconds must be more than 0");
}

EvaluationSet make_evaluation_set(const std::vector<SpeakerSpeech>& speakers,
                                  const std::vector<SpeakerSpeech>& impostors, int sample_rate_hz,
                                  const EvaluationOptions& options) {
  options.validate();
  require(sample_rate_hz > 0, "the evaluation's sample rate must be positive");
  const ChunkOptions test_chunks = test_clip_chunks(options);
  const auto enroll_samples =
      static_cast<size_t>(std::lround(options.enroll_seconds * sample_rate_hz));
  const auto speech_seconds = [&](const SpeakerSpeech& s) {
    return seconds(double(s.speech.size()) / sample_rate_hz);
  };

  EvaluationSet set;
  set.sample_rate_hz = sample_rate_hz;
  std::set<std::string> names;
  const auto check_unique = [&names](const std::string& name) {
    require(names.insert(name).second,
            "two speakers are called " + name + ": give each speaker one folder");
  };
  for (const SpeakerSpeech& speaker : speakers) {
    check_unique(speaker.name);
    std::vector<std::vector<float>> test_clips;
    if (speaker.speech.size() >= enroll_samples) {
      const std::vector<float> rest(speaker.speech.begin() + long(enroll_samples),
                                    speaker.speech.end());
      test_clips = cut_clips(rest, sample_rate_hz, test_chunks);
    }
    if (test_clips.empty()) {
      set.skipped.push_back(speaker.name + ": " + speech_seconds(speaker) +
                            " of speech, less than " + seconds(options.enroll_seconds) +
                            " to enroll plus one " + seconds(options.test_clip_seconds) +
                            " test clip");
      continue;
    }
    EvaluationSpeaker& kept = set.enrolled.emplace_back();
    kept.name = speaker.name;
    kept.enrollment_speech.assign(speaker.speech.begin(),
                                  speaker.speech.begin() + long(enroll_samples));
    kept.test_clips = std::move(test_clips);
  }
  for (const SpeakerSpeech& impostor : impostors) {
    check_unique(impostor.name);
    auto test_clips = cut_clips(impostor.speech, sample_rate_hz, test_chunks);
    if (test_clips.empty()) {
      set.skipped.push_back(impostor.name + " (impostor): " + speech_seconds(impostor) +
                            " of speech, less than one " + seconds(options.test_clip_seconds) +
                            " test clip");
      continue;
    }
    set.impostors.push_back({impostor.name, {}, std::move(test_clips)});
  }
  if (set.enrolled.size() < 2) {
    throw Error(ErrorCode::kNoSpeech,
                std::to_string(set.enrolled.size()) + " of " + std::to_string(speakers.size()) +
                    " speakers have " + seconds(options.enroll_seconds) +
                    " of speech to enroll plus one " + seconds(options.test_clip_seconds) +
                    " test clip: give at least two speakers that much speech, or enroll less");
  }
  return set;
}

std::vector<FeatureMatrix> enrollment_clip_features(const std::vector<float>& enrollment_speech,
                                                    const FeatureExtractor& extractor,
                                                    const EvaluationOptions& options) {
  ChunkOptions chunks;
  chunks.clip_seconds = options.enroll_clip_seconds;
  chunks.min_clip_seconds = std::min(chunks.min_clip_seconds, options.enroll_clip_seconds);
  std::vector<FeatureMatrix> features;
  for (const auto& clip :
       cut_clips(enrollment_speech, extractor.options().sample_rate_hz, chunks)) {
    features.push_back(extractor.compute(clip));
  }
  return features;
}

std::string EvaluationResult::to_json() const {
  json per_speaker = json::array();
  json counts = json::array();
  const auto& labels = confusion.labels();
  for (size_t t = 0; t < labels.size(); ++t) {
    per_speaker.push_back({{"speaker", labels[t]},
                           {"clips", confusion.row_total(t)},
                           {"accuracy", confusion.class_accuracy(t)}});
    json row = json::array();
    for (size_t p = 0; p < labels.size(); ++p) row.push_back(confusion.count(t, p));
    counts.push_back(std::move(row));
  }
  json j = {{"speakers", labels},
            {"impostors", impostors},
            {"skipped", skipped},
            {"test_clips", test_clips},
            {"impostor_clips", impostor_clips},
            {"top1_accuracy", top1_accuracy},
            {"per_speaker", std::move(per_speaker)},
            {"confusion", {{"labels", labels}, {"counts", std::move(counts)}}},
            {"threshold", threshold}};
  j.update(rates_json(eer, min_dcf));
  if (has_open_set()) {
    json open_set = {{"false_accept_rate", open_set_rates.false_accept_rate},
                     {"false_reject_rate", open_set_rates.false_reject_rate}};
    open_set.update(rates_json(open_set_eer, open_set_min_dcf));
    // Every answer's score, for DET curves and other thresholds (a misnamed genuine clip is
    // below every answer).
    open_set["genuine_scores"] = open_set_genuine_scores;
    open_set["impostor_scores"] = open_set_impostor_scores;
    j["open_set"] = std::move(open_set);
  } else {
    j["open_set"] = nullptr;
  }
  return j.dump();
}

EvaluationResult evaluate_recognizer(const Recognizer& recognizer, const EvaluationSet& set,
                                     double threshold, const EvaluationProgress& progress) {
  require(std::isfinite(threshold), "the evaluation's threshold must be a finite number");
  std::vector<std::string> names;
  std::map<std::string, size_t> index;
  for (const EvaluationSpeaker& speaker : set.enrolled) {
    index.emplace(speaker.name, names.size());
    names.push_back(speaker.name);
  }
  std::vector<std::string> sorted_names = names;
  std::sort(sorted_names.begin(), sorted_names.end());
  require(recognizer.speakers() == sorted_names,
          "the recognizer's enrolled speakers are not the evaluation's: enroll exactly them");
  const FeatureOptions& features = recognizer.model().feature_options();
  require(set.sample_rate_hz == features.sample_rate_hz,
          "the evaluation's speech is at " + std::to_string(set.sample_rate_hz) +
              " Hz but the model takes " + std::to_string(features.sample_rate_hz) +
              " Hz: load the speech at the model's rate");
  const ChunkOptions& chunks = recognizer.options().chunk;
  const FeatureExtractor extractor(features);

  size_t total = 0;
  for (const auto* group : {&set.enrolled, &set.impostors}) {
    for (const EvaluationSpeaker& speaker : *group) total += speaker.test_clips.size();
  }
  size_t done = 0;
  const auto identify = [&](const std::vector<float>& clip) {
    const ChunkedSpeech speech = chunk_clip(clip, set.sample_rate_hz, chunks, extractor);
    require(!speech.chunks.empty(), "test clips of " +
                                        seconds(double(clip.size()) / set.sample_rate_hz) +
                                        " are shorter than the recognizer's shortest chunk (" +
                                        seconds(chunks.min_clip_seconds) + "): give longer clips");
    Identification answer = recognizer.identify(speech, threshold, names.size());
    if (progress) progress(++done, total);
    return answer;
  };

  EvaluationResult result;
  result.confusion = ConfusionMatrix(names);
  result.skipped = set.skipped;
  result.threshold = threshold;
  std::vector<double> targets, nontargets, impostor_answers;
  std::vector<std::optional<double>> genuine_answers;  // none: named wrong
  int64_t genuine_accepted = 0, impostors_accepted = 0;
  for (size_t s = 0; s < set.enrolled.size(); ++s) {
    const std::string& truth = set.enrolled[s].name;
    for (const auto& clip : set.enrolled[s].test_clips) {
      const Identification answer = identify(clip);
      for (const SpeakerScore& candidate : answer.top) {
        (candidate.speaker == truth ? targets : nontargets).push_back(candidate.score);
      }
      // The answer is the first of `top`, also when its score is below the threshold.
      const std::string& named = answer.top.front().speaker;
      result.confusion.add(s, index.at(named));
      genuine_answers.push_back(named == truth ? std::optional<double>(answer.score)
                                               : std::nullopt);
      if (named == truth && answer.known) ++genuine_accepted;
      ++result.test_clips;
      result.answers.push_back({truth, answer.top});
    }
  }
  for (const EvaluationSpeaker& impostor : set.impostors) {
    result.impostors.push_back(impostor.name);
    for (const auto& clip : impostor.test_clips) {
      const Identification answer = identify(clip);
      for (const SpeakerScore& candidate : answer.top) nontargets.push_back(candidate.score);
      impostor_answers.push_back(answer.score);
      if (answer.known) ++impostors_accepted;
      ++result.impostor_clips;
      result.answers.push_back({"", answer.top});
    }
  }

  result.top1_accuracy = result.confusion.accuracy();
  result.eer = equal_error_rate(targets, nontargets);
  result.min_dcf = min_detection_cost(targets, nontargets);
  if (result.has_open_set()) {
    result.open_set_rates.false_accept_rate =
        double(impostors_accepted) / double(result.impostor_clips);
    result.open_set_rates.false_reject_rate =
        double(result.test_clips - genuine_accepted) / double(result.test_clips);
    // A genuine clip named wrong scores below every answer: rejected at any threshold.
    double lowest = *std::min_element(impostor_answers.begin(), impostor_answers.end());
    for (const auto& score : genuine_answers) {
      if (score) lowest = std::min(lowest, *score);
    }
    auto& genuine_scores = result.open_set_genuine_scores;
    for (const auto& score : genuine_answers) genuine_scores.push_back(score.value_or(lowest - 1));
    result.open_set_eer = equal_error_rate(genuine_scores, impostor_answers);
    result.open_set_min_dcf = min_detection_cost(genuine_scores, impostor_answers);
    result.open_set_impostor_scores = std::move(impostor_answers);
  }
  return result;
}

EvaluationResult evaluate_unseen_speakers(const SpeakerModel& model,
                                          const std::vector<SpeakerSpeech>& speakers,
                                          const std::vector<SpeakerSpeech>& impostors,
                                          const EvaluationOptions& options) {
  const EvaluationSet set =
      make_evaluation_set(speakers, impostors, model.feature_options().sample_rate_hz, options);
  const FeatureExtractor extractor(model.feature_options());
  RecognitionOptions recognition;
  recognition.audio.sample_rate_hz = model.feature_options().sample_rate_hz;
  std::map<std::string, std::vector<std::vector<float>>> enrolled;
  CalibrationClips calibration;
  int64_t clip_id = 0;
  for (const EvaluationSpeaker& speaker : set.enrolled) {
    const auto clips = enrollment_clip_features(speaker.enrollment_speech, extractor, options);
    enrolled[speaker.name] = model.embed_batch(clips);
    for (std::size_t c = 0; c < clips.size(); ++c) {
      calibration[speaker.name].push_back({++clip_id, enrolled[speaker.name][c],
                                           model.embed_batch(calibration_windows(
                                               clips[c], model, recognition.chunk.clip_seconds))});
    }
  }
  Recognizer recognizer(model.clone(), enrolled, /*use_classifier_rows=*/false, recognition);
  recognizer.calibrate(calibration);
  return evaluate_recognizer(recognizer, set, recognizer.default_threshold());
}

}  // namespace spkid
