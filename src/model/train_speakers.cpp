// `spkid train`: a classifier of the enrolled speakers, fine-tuned from the store's base model on
// the speech enrollment kept, with its score threshold calibrated on held-out speech.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "spkid/error.h"
#include "spkid/evaluation.h"
#include "spkid/recognizer.h"
#include "spkid/speaker_name.h"

namespace spkid {
namespace {

constexpr double kCalibrationHopSeconds = 0.5;

struct EnrolledSpeech {
  std::vector<SpeakerSpeech> speakers;  // by name
  std::vector<int64_t> speaker_ids;
};

EnrolledSpeech enrolled_speech(const Store& store, int sample_rate_hz) {
  EnrolledSpeech out;
  std::map<std::string, std::size_t> index;
  for (StoredSpeech& recording : store.recording_speech()) {
    if (!recording.has_audio) {
      throw Error(ErrorCode::kStore,
                  "speaker " + quote_speaker_name(recording.speaker) +
                      " was enrolled by an older spkid that kept no audio to train on: enroll " +
                      quote_speaker_name(recording.speaker) + " again");
    }
    if (recording.sample_rate_hz != sample_rate_hz) {
      throw Error(ErrorCode::kModel,
                  "the store's speech is at " + std::to_string(recording.sample_rate_hz) +
                      " Hz but the base model takes " + std::to_string(sample_rate_hz) + " Hz");
    }
    auto [it, added] = index.emplace(recording.speaker, out.speakers.size());
    if (added) {
      out.speakers.push_back({recording.speaker, {}});
      out.speaker_ids.push_back(recording.speaker_id);
    }
    auto& speech = out.speakers[it->second].speech;
    speech.insert(speech.end(), recording.samples.begin(), recording.samples.end());
  }
  return out;
}

// Held-out trials for the threshold: each speaker's held-out speech (the end fine_tune kept out
// of training) in clips, named by the classifier and scored by the base model against centroids
// of the speech trained on, as identify will. A clip's genuine trial counts as accepted only when
// it is also named right; its impostor trial is its best score among the others, as if the
// speaker were not enrolled.
Calibration calibrate(const SpeakerModel& model, const SpeakerModel& base, double base_threshold,
                      const std::vector<SpeakerSpeech>& speakers,
                      const SpeakerTrainingOptions& options) {
  const FeatureExtractor extractor(model.feature_options());
  const int rate = model.feature_options().sample_rate_hz;
  const double heldout = options.fine_tune.training.heldout_fraction;
  const auto heldout_begin = [&](const SpeakerSpeech& speaker) {
    return speaker.speech.end() - static_cast<long>(double(speaker.speech.size()) * heldout);
  };

  EnrolledEmbeddings named, scored;
  const auto rows = model.class_vectors();
  for (std::size_t s = 0; s < speakers.size(); ++s) {
    named[speakers[s].name] = {rows[s]};
    const std::vector<float> trained(speakers[s].speech.begin(), heldout_begin(speakers[s]));
    const std::vector<FeatureMatrix> clips = enrollment_clip_features(trained, extractor);
    if (clips.empty()) {
      throw Error(ErrorCode::kNoSpeech, "speaker " + quote_speaker_name(speakers[s].name) +
                                            " has too little speech to train on: enroll more");
    }
    scored[speakers[s].name] = base.embed_batch(clips);
  }
  RecognitionOptions recognition;
  recognition.audio.sample_rate_hz = rate;
  recognition.chunk.clip_seconds = options.calibration_clip_seconds;
  recognition.chunk.min_clip_seconds =
      std::min(recognition.chunk.min_clip_seconds, options.calibration_clip_seconds);
  // Clips every half second: a few seconds held out per speaker still give enough trials for
  // the false-accept rule to count in percent.
  recognition.chunk.overlap_seconds =
      std::max(0.0, options.calibration_clip_seconds - kCalibrationHopSeconds);
  const Recognizer recognizer(model.clone(), named, base.clone(), scored, recognition);
  constexpr double kMisnamed = -1e9;  // below any score: a misnamed clip is never accepted

  std::vector<double> genuine, impostor;
  for (const SpeakerSpeech& speaker : speakers) {
    const std::vector<float> speech(heldout_begin(speaker), speaker.speech.end());
    for (const auto& clip : cut_clips(speech, rate, recognition.chunk)) {
      ChunkedSpeech one;
      one.chunks.push_back(extractor.compute(clip));
      const Identification id = recognizer.identify(one, 0, speakers.size());
      double best_other = kMisnamed;
      for (const SpeakerScore& s : id.top) {
        if (s.speaker == speaker.name) {
          genuine.push_back(id.top.front().speaker == speaker.name ? s.score : kMisnamed);
        } else {
          best_other = std::max(best_other, s.score);
        }
      }
      impostor.push_back(best_other);
    }
  }
  if (genuine.empty()) {
    throw Error(ErrorCode::kNoSpeech,
                "no speaker has enough held-out speech to calibrate the threshold: enroll more "
                "speech, or hold out more of it (--heldout-fraction)");
  }
  Calibration calibration{base_threshold, error_rates_at(genuine, impostor, base_threshold)};
  if (calibration.rates.false_reject_rate > options.max_false_reject_rate) {
    // The lowest score named right to accept (misnamed clips are rejected at any threshold, so
    // they use up part of the share first), and, like calibrate_threshold(), a margin for new
    // recordings: halfway down to the next lower score of either list.
    std::vector<double> named_right;
    for (const double score : genuine) {
      if (score > kMisnamed) named_right.push_back(score);
    }
    std::sort(named_right.begin(), named_right.end());
    const auto may_reject =
        static_cast<std::size_t>(options.max_false_reject_rate * double(genuine.size()));
    const std::size_t misnamed = genuine.size() - named_right.size();
    if (!named_right.empty()) {
      const double lowest = named_right[std::min(may_reject > misnamed ? may_reject - misnamed : 0,
                                                 named_right.size() - 1)];
      double next_lower = -std::numeric_limits<double>::infinity();
      for (const auto* scores : {&genuine, &impostor}) {
        for (const double score : *scores) {
          if (score < lowest && score > kMisnamed) next_lower = std::max(next_lower, score);
        }
      }
      // Never above the base model's: when misnamed clips alone exceed the share, lowering
      // cannot help and raising would reject more.
      calibration.threshold =
          std::min(base_threshold, std::isfinite(next_lower) ? (lowest + next_lower) / 2 : lowest);
      calibration.rates = error_rates_at(genuine, impostor, calibration.threshold);
    }
  }
  return calibration;
}

}  // namespace

SpeakerTrainingResult train_speakers(Store& store, const SpeakerTrainingOptions& options,
                                     const TrainingCallbacks& callbacks) {
  const auto start = std::chrono::steady_clock::now();
  options.fine_tune.validate();
  if (!(options.max_false_reject_rate >= 0 && options.max_false_reject_rate < 1)) {
    throw Error(ErrorCode::kInvalidArgument, "the largest false-reject rate must be in [0, 1)");
  }
  const auto listed = store.list_speakers();
  if (listed.size() < 2) {
    throw Error(ErrorCode::kStore,
                "train makes a classifier of the enrolled speakers and needs at least two; " +
                    std::to_string(listed.size()) +
                    " enrolled: enroll more speakers (spkid enroll FILE --name NAME)");
  }
  const ModelRecord base_record = store_base_model(store);
  const SpeakerModel base = SpeakerModel::load(base_record.path);
  if (const auto stored = store.feature_options()) base.check_features(*stored);
  const EnrolledSpeech enrolled = enrolled_speech(store, base.feature_options().sample_rate_hz);

  SpeakerModel model = fine_tune(base, enrolled.speakers, options.fine_tune, callbacks);
  SpeakerTrainingResult result;
  result.base_threshold = base.threshold(kScoreThresholdName, kFallbackScoreThreshold);
  result.calibration = calibrate(model, base, result.base_threshold, enrolled.speakers, options);
  model.set_threshold(kScoreThresholdName, result.calibration.threshold);

  const auto provenance = nlohmann::json::parse(model.provenance_json());
  result.epochs_done = provenance.value("epochs_done", 0);
  result.best_epoch = provenance.value("best_epoch", 0);
  for (const auto& epoch : provenance.value("history", nlohmann::json::array())) {
    if (epoch.value("epoch", 0) == result.best_epoch) {
      result.val_accuracy = epoch.value("val_accuracy", 0.0);
    }
  }
  auto recorded = provenance;
  recorded["base_model"] = base_record.file_name;
  recorded["calibration"] = {{"threshold", result.calibration.threshold},
                             {"false_accept_rate", result.calibration.rates.false_accept_rate},
                             {"false_reject_rate", result.calibration.rates.false_reject_rate}};
  model.set_provenance_json(recorded.dump());

  NewModel record;
  record.kind = kClassifierModelKind;
  record.feature_options = model.feature_options();
  record.metadata_json = model.metadata_json();
  record.speaker_ids = enrolled.speaker_ids;
  record.file_extension = "pt";
  record.make_current = true;
  result.model = store.register_model(record, model.serialize());
  for (const auto& s : enrolled.speakers) result.speakers.push_back(s.name);

  // The enrolled clips' embeddings by the new model, so identification starts at once.
  enrolled_embeddings(store, model, result.model.id);

  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace spkid
