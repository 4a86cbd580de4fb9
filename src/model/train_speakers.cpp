// `spkid train`: a classifier of the enrolled speakers, fine-tuned from the store's base model on
// the speech enrollment kept.
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>

#include "spkid/error.h"
#include "spkid/evaluation.h"
#include "spkid/model_registry.h"
#include "spkid/recognizer.h"
#include "spkid/speaker_name.h"
#include "spkid/train.h"

namespace spkid {
namespace {

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

}  // namespace

SpeakerTrainingResult train_speakers(Store& store, const SpeakerTrainingOptions& options,
                                     const TrainingCallbacks& callbacks) {
  const auto start = std::chrono::steady_clock::now();
  options.fine_tune.validate();
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

  // The enrolled clips' embeddings by the new model, so identification starts at once, and the
  // open-set decision it will use (the base model scores, calibrated on the enrolled speakers).
  enrolled_embeddings(store, model, result.model.id);
  result.open_set = Recognizer::from_store(store).open_set();

  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace spkid
