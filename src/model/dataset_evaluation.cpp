// `spkid eval` on a dataset folder: speech per speaker, a temporary store enrolled (and trained)
// like a user's, then the evaluation protocol.
#include "spkid/dataset_evaluation.h"

#include <fnmatch.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "spkid/error.h"
#include "spkid/model_registry.h"
#include "spkid/store.h"
#include "spkid/train.h"

namespace spkid {
namespace {

namespace fs = std::filesystem;

// A private folder (0700, as mkdtemp makes it) for a store that only lives during the
// evaluation: it holds voices, so it is removed whatever happens.
class TemporaryFolder {
 public:
  TemporaryFolder() {
    std::string pattern = (fs::temp_directory_path() / "spkid-eval-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw Error(ErrorCode::kIo, "cannot create a temporary folder in " +
                                      fs::temp_directory_path().string() +
                                      ": set TMPDIR to a writable folder");
    }
    path_ = pattern;
  }
  ~TemporaryFolder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TemporaryFolder(const TemporaryFolder&) = delete;
  TemporaryFolder& operator=(const TemporaryFolder&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string folder_name(const std::string& folder) {
  return fs::path(folder).lexically_normal().filename().string();
}

// Each folder's speech, one folder at a time so that a folder without speech is one speaker
// with none (left out by the protocol, with the reason) rather than the end of the evaluation.
std::vector<SpeakerSpeech> load_speakers(const std::vector<std::string>& folders,
                                         const RecognitionOptions& recognition, int threads,
                                         std::vector<std::string>& skipped_files) {
  std::vector<SpeakerSpeech> speakers;
  for (const std::string& folder : folders) {
    try {
      auto loaded = load_speaker_folders({folder}, recognition.audio, recognition.vad, threads,
                                         &skipped_files);
      speakers.push_back(std::move(loaded.front()));
    } catch (const Error& error) {
      if (error.code() != ErrorCode::kNoSpeech) throw;
      speakers.push_back({folder_name(folder), {}});
    }
  }
  return speakers;
}

// One recording of each speaker: their enrollment speech, clipped as `spkid enroll` clips it.
void enroll(Store& store, const EvaluationSet& set, const std::string& dataset_dir,
            const FeatureOptions& features, const EvaluationOptions& protocol) {
  const FeatureExtractor extractor(features);
  for (const EvaluationSpeaker& speaker : set.enrolled) {
    Enrollment enrollment;
    enrollment.speaker = speaker.name;
    enrollment.recording.source_path = (fs::path(dataset_dir) / speaker.name).string();
    enrollment.recording.sha256 = sha256_of_samples(speaker.enrollment_speech);
    enrollment.recording.speech_seconds =
        double(speaker.enrollment_speech.size()) / set.sample_rate_hz;
    enrollment.recording.duration_seconds = enrollment.recording.speech_seconds;  // speech only
    enrollment.speech = speaker.enrollment_speech;
    enrollment.feature_options = features;
    enrollment.clip_features =
        enrollment_clip_features(speaker.enrollment_speech, extractor, protocol);
    store.add_enrollment(enrollment);
  }
}

}  // namespace

void DatasetEvaluationOptions::validate() const {
  recognition.validate();
  protocol.validate();
  if (!open_set && !impostor_pattern.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "an impostor pattern needs the open-set evaluation: add --open-set");
  }
  if (training) {
    training->fine_tune.validate();
  }
  if (threshold && !std::isfinite(*threshold)) {
    throw Error(ErrorCode::kInvalidArgument, "the threshold must be a finite number");
  }
}

DatasetEvaluation evaluate_dataset(const std::string& dataset_dir,
                                   const DatasetEvaluationOptions& options,
                                   const DatasetEvaluationCallbacks& callbacks) {
  options.validate();
  const auto say = [&](const std::string& message) {
    if (callbacks.on_message) callbacks.on_message(message);
  };

  std::vector<std::string> speaker_folders, impostor_folders;
  const std::vector<std::string> folders = list_speaker_folders(dataset_dir);
  for (size_t i = 0; i < folders.size(); ++i) {
    const std::string name = folder_name(folders[i]);
    const bool impostor = options.open_set &&
                          (options.impostor_pattern.empty()
                               ? i % 3 == 2
                               : ::fnmatch(options.impostor_pattern.c_str(), name.c_str(), 0) == 0);
    (impostor ? impostor_folders : speaker_folders).push_back(folders[i]);
  }
  if (options.open_set && impostor_folders.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "no speaker folder of " + dataset_dir + " matches the impostor pattern '" +
                    options.impostor_pattern + "': give a pattern that matches some folder names");
  }
  if (speaker_folders.size() < 2) {
    throw Error(ErrorCode::kInvalidArgument,
                dataset_dir + " has " + std::to_string(speaker_folders.size()) +
                    " speaker folders left to enroll: give at least two (and, with --open-set, "
                    "a pattern that leaves them out of the impostors)");
  }

  DatasetEvaluation evaluation;
  evaluation.model_path = options.model_path.empty() ? base_model_path() : options.model_path;
  const TemporaryFolder folder;
  Store store = Store::open(folder.path(), StoreAccess::kCreate);
  const ModelRecord model = ensure_current_model(store, evaluation.model_path);
  RecognitionOptions recognition = options.recognition;
  recognition.audio.sample_rate_hz = model.feature_options.sample_rate_hz;

  const auto speakers =
      load_speakers(speaker_folders, recognition, options.threads, evaluation.skipped_files);
  const auto impostors =
      load_speakers(impostor_folders, recognition, options.threads, evaluation.skipped_files);
  say("loaded " + std::to_string(speakers.size()) + " speakers and " +
      std::to_string(impostors.size()) + " impostors; " +
      std::to_string(evaluation.skipped_files.size()) + " files skipped");
  const EvaluationSet set =
      make_evaluation_set(speakers, impostors, recognition.audio.sample_rate_hz, options.protocol);
  enroll(store, set, dataset_dir, model.feature_options, options.protocol);
  say("enrolled " + std::to_string(set.enrolled.size()) + " speakers");
  if (options.training) {
    evaluation.training = train_speakers(store, *options.training, callbacks.training);
  }

  const Recognizer recognizer = Recognizer::from_store(store, recognition);
  evaluation.open_set = recognizer.open_set();
  evaluation.result = evaluate_recognizer(
      recognizer, set, options.threshold.value_or(recognizer.default_threshold()),
      callbacks.on_progress);
  return evaluation;
}

}  // namespace spkid
