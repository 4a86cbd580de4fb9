// The recognizer's scoring (speaker vectors, combined posteriors, AS-normalised scores, the
// threshold), the base model a store starts from, and train_speakers on a store.
#include "spkid/recognizer.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>

#include "spkid/enroll.h"
#include "spkid/error.h"
#include "spkid/model_registry.h"
#include "spkid/speaker_name.h"
#include "spkid/train.h"
#include "synth.h"
#include "tiny_model.h"

namespace spkid {
namespace {

using test::thrown_error;

constexpr int kRate = 16000;

// Sets an environment variable for one test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

const test::Voice kAlice{110, {700, 1200, 2600}};
const test::Voice kBob{210, {450, 1900, 2900}};
const test::Voice kCarol{160, {800, 1500, 3300}};

class RecognizerTest : public ::testing::Test {
 protected:
  RecognizerTest() : model_(SpeakerModel::load(test::tiny_base_model())) {}

  FeatureMatrix features_of(const test::Voice& voice, double seconds, unsigned seed) const {
    return FeatureExtractor(model_.feature_options())
        .compute(test::speech_like(voice, seconds, kRate, seed));
  }
  std::vector<float> embedding_of(const test::Voice& voice, unsigned seed) const {
    return model_.embed(features_of(voice, 3, seed));
  }

  SpeakerModel model_;
};

TEST_F(RecognizerTest, AQueryEqualToACentroidIsThatSpeakerWithTheTopScore) {
  const auto alice = embedding_of(kAlice, 1);
  const auto bob = embedding_of(kBob, 2);
  const Recognizer recognizer(model_.clone(), {{"alice", {alice}}, {"bob", {bob}}}, false);
  EXPECT_EQ(recognizer.speakers(), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_TRUE(recognizer.classifier_speakers().empty());

  ChunkedSpeech speech;
  speech.chunks.push_back(features_of(kAlice, 3, 1));  // the very clip alice was enrolled with
  const Identification id = recognizer.identify(speech, -100, 2);
  EXPECT_EQ(id.speaker, "alice");
  EXPECT_TRUE(id.known);
  ASSERT_EQ(id.top.size(), 2u);
  EXPECT_EQ(id.top[0].speaker, "alice");
  EXPECT_DOUBLE_EQ(id.top[0].score, id.score);
  EXPECT_GT(id.top[0].score, id.top[1].score);

  // The same evidence under a threshold above its score: unknown, best match still reported.
  const Identification unknown = recognizer.identify(speech, id.score + 0.01, 1);
  EXPECT_EQ(unknown.speaker, kUnknownSpeaker);
  EXPECT_FALSE(unknown.known);
  EXPECT_DOUBLE_EQ(unknown.score, id.score);
  ASSERT_EQ(unknown.top.size(), 1u);
  EXPECT_EQ(unknown.top[0].speaker, "alice");

  const Verification yes = recognizer.verify(speech, "alice", id.score);
  EXPECT_TRUE(yes.accepted);
  EXPECT_DOUBLE_EQ(yes.score, id.score);
  EXPECT_FALSE(recognizer.verify(speech, "bob", id.score).accepted);
  EXPECT_EQ(thrown_error([&] { recognizer.verify(speech, "dave", 0); })->code(),
            ErrorCode::kInvalidArgument);
}

TEST_F(RecognizerTest, ClassifierRowsStandForTheSpeakersTheModelWasTrainedOn) {
  // The tiny model's labels are its pretraining voices; enrolling under those names with
  // use_classifier_rows makes their rows the speaker vectors, everyone else keeps a centroid.
  const auto& labels = model_.labels();
  ASSERT_GE(labels.size(), 2u);
  const auto carol = embedding_of(kCarol, 3);
  const Recognizer recognizer(model_.clone(), {{labels[0], {carol}}, {"carol", {carol}}}, true);
  EXPECT_EQ(recognizer.classifier_speakers(), std::vector<std::string>{labels[0]});

  // A query on carol's centroid scores her far above the classifier row.
  ChunkedSpeech speech;
  speech.chunks.push_back(features_of(kCarol, 3, 3));
  const Identification id = recognizer.identify(speech, -100, 2);
  EXPECT_EQ(id.speaker, "carol");
}

TEST_F(RecognizerTest, OneModelNamesAndAnotherScoresTheAnswer) {
  // The naming model is given alice's and bob's vectors swapped; the scoring model the true ones.
  const auto alice = embedding_of(kAlice, 1);
  const auto bob = embedding_of(kBob, 2);
  const Recognizer recognizer(model_.clone(), {{"alice", {bob}}, {"bob", {alice}}}, model_.clone(),
                              {{"alice", {alice}}, {"bob", {bob}}});
  const Recognizer scorer_alone(model_.clone(), {{"alice", {alice}}, {"bob", {bob}}}, false);

  ChunkedSpeech speech;
  speech.chunks.push_back(features_of(kAlice, 3, 1));
  const Identification truth = scorer_alone.identify(speech, -100, 2);
  ASSERT_EQ(truth.speaker, "alice");
  // The name is the naming model's; its score is the scoring model's score of that name.
  const Identification id = recognizer.identify(speech, -100, 2);
  EXPECT_EQ(id.speaker, "bob");
  ASSERT_EQ(id.top.size(), 2u);
  EXPECT_DOUBLE_EQ(id.score, truth.top[1].score);
  EXPECT_EQ(id.top[1].speaker, "alice");
  EXPECT_DOUBLE_EQ(id.top[1].score, truth.score);
  // The scoring model's score decides known or unknown, and verification is scored by it too.
  EXPECT_FALSE(recognizer.identify(speech, truth.top[1].score + 0.01).known);
  EXPECT_DOUBLE_EQ(recognizer.verify(speech, "alice", 0).score, truth.score);

  // Both models must be given the same speakers.
  EXPECT_EQ(thrown_error([&] {
              Recognizer(model_.clone(), {{"alice", {alice}}}, model_.clone(),
                         {{"alice", {alice}}, {"bob", {bob}}});
            })->code(),
            ErrorCode::kInvalidArgument);
}

TEST_F(RecognizerTest, RefusesNobodyEnrolledAndMismatchedEmbeddings) {
  EXPECT_EQ(thrown_error([&] { Recognizer(model_.clone(), {}, false); })->code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(thrown_error([&] {
              Recognizer(model_.clone(), {{"alice", {std::vector<float>(3, 1.0f)}}}, false);
            })->code(),
            ErrorCode::kInvalidArgument);
}

TEST_F(RecognizerTest, ChunksSpeechAndRefusesTooLittleOfIt) {
  const Recognizer recognizer(model_.clone(), {{"alice", {embedding_of(kAlice, 1)}}}, false);
  Audio audio;
  audio.sample_rate_hz = kRate;
  audio.samples = test::concat({test::silence(0.5, kRate), test::speech_like(kAlice, 7, kRate, 4),
                                test::silence(0.5, kRate)});
  const ChunkedSpeech speech = recognizer.chunk_speech(audio);
  EXPECT_NEAR(speech.speech_seconds, 7, 0.5);
  EXPECT_EQ(speech.chunks.size(), 2u);  // 3 s chunks; the last 1 s remainder is dropped

  audio.samples = test::concat(
      {test::silence(1, kRate), test::speech_like(kAlice, 0.2, kRate, 5), test::silence(1, kRate)});
  const Error error = *thrown_error([&] { recognizer.chunk_speech(audio); });
  EXPECT_EQ(error.code(), ErrorCode::kNoSpeech);
  EXPECT_NE(std::string(error.what()).find("too little speech"), std::string::npos);

  audio.sample_rate_hz = 8000;
  EXPECT_EQ(thrown_error([&] { recognizer.chunk_speech(audio); })->code(),
            ErrorCode::kInvalidArgument);
}

TEST_F(RecognizerTest, ARecordingLongerThanASegmentIsEmbeddedAMinuteAtATime) {
  const Recognizer recognizer(
      model_.clone(), {{"alice", {embedding_of(kAlice, 1)}}, {"bob", {embedding_of(kBob, 2)}}},
      false);
  // Alice for a minute, a silent minute, alice again for half a minute: three segments.
  ASSERT_EQ(Recognizer::kRecordingSegmentSeconds, 60);
  test::TempDir temp;
  const std::string path = temp.file("long.wav");
  test::write_audio(path,
                    test::concat({test::speech_like(kAlice, 60, kRate, 7), test::silence(60, kRate),
                                  test::speech_like(kAlice, 30, kRate, 8)}),
                    kRate);
  const EmbeddedSpeech embedded = recognizer.embed_recording(path);

  // Each segment chunked on its own, the silent one giving none, all the chunks embedded.
  const Audio whole = load_audio(path);
  const auto part = [&](double from, double to) {
    Audio audio;
    audio.sample_rate_hz = kRate;
    audio.samples.assign(whole.samples.begin() + std::lround(from * kRate),
                         whole.samples.begin() + std::lround(to * kRate));
    return recognizer.chunk_speech(audio);
  };
  const ChunkedSpeech first = part(0, 60);
  const ChunkedSpeech last = part(120, 150);
  ASSERT_EQ(embedded.scoring.size(), first.chunks.size() + last.chunks.size());
  EXPECT_EQ(embedded.naming.size(), embedded.scoring.size());
  EXPECT_NEAR(embedded.speech_seconds, first.speech_seconds + last.speech_seconds, 0.5);
  const EmbeddedSpeech last_embedded = recognizer.embed(last);
  const std::vector<float>& tail = embedded.scoring.back();
  for (std::size_t k = 0; k < tail.size(); ++k) {
    ASSERT_NEAR(tail[k], last_embedded.scoring.back()[k], 1e-5);
  }
  EXPECT_EQ(recognizer.identify(embedded, -100).speaker, "alice");
  EXPECT_TRUE(recognizer.embed_recording(path, false).naming.empty()) << "verify needs no naming";

  // A recording of a segment or less is chunked whole, exactly as chunk_speech() chunks it.
  const std::string short_path = temp.file("short.wav");
  test::write_audio(short_path, test::speech_like(kBob, 10, kRate, 9), kRate);
  EXPECT_EQ(recognizer.embed_recording(short_path).scoring.size(),
            recognizer.chunk_speech(load_audio(short_path)).chunks.size());

  // Only silence in the whole recording: too little speech, as for a short one.
  const std::string silent_path = temp.file("silent.wav");
  test::write_audio(silent_path, test::silence(130, kRate), kRate);
  const Error error = *thrown_error([&] { recognizer.embed_recording(silent_path); });
  EXPECT_EQ(error.code(), ErrorCode::kNoSpeech);
  EXPECT_NE(std::string(error.what()).find("too little speech"), std::string::npos);
}

// A store with speakers enrolled through the library, as `spkid enroll` does.
void enroll(Store& store, const std::string& name, const test::Voice& voice, double seconds,
            unsigned seed) {
  EnrollmentOptions options;
  Audio audio;
  audio.sample_rate_hz = kRate;
  audio.samples = test::speech_like(voice, seconds, kRate, seed);
  const FeatureExtractor extractor(options.features);
  const AnalysedRecording recording = analyse_recording(audio, name + ".wav", options, extractor);
  Enrollment enrollment;
  enrollment.speaker = name;
  enrollment.recording = recording.provenance;
  enrollment.feature_options = options.features;
  enrollment.clip_features = recording.clip_features;
  enrollment.speech = recording.speech;
  store.add_enrollment(enrollment);
}

TEST_F(RecognizerTest, AStoreOfManyClipsIsEmbeddedPageByPageAndEveryPageIsKept) {
  // 300 clips: more than one page of clips read and embedded at a time.
  test::TempDir temp;
  Store store = Store::open(temp.file("store"), StoreAccess::kCreate);
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int s = 0; s < 60; ++s) {
    Enrollment enrollment;
    enrollment.speaker = "speaker" + std::to_string(s);
    enrollment.feature_options = model_.feature_options();
    enrollment.speech = test::speech_like(kAlice, 1.0, kRate, 100 + s);
    enrollment.recording.source_path = enrollment.speaker + ".wav";
    enrollment.recording.sha256 = sha256_of_samples(enrollment.speech);
    enrollment.recording.duration_seconds = 1.0;
    enrollment.recording.speech_seconds = 1.0;
    for (int c = 0; c < 5; ++c) {
      FeatureMatrix clip;
      clip.num_frames = 100;
      clip.num_features = model_.feature_options().num_features();
      clip.data.resize(std::size_t(clip.num_frames) * clip.num_features);
      for (float& x : clip.data) x = normal(rng);
      enrollment.clip_features.push_back(std::move(clip));
    }
    store.add_enrollment(enrollment);
  }
  const ModelRecord base = ensure_current_model(store, test::tiny_base_model());
  const EnrolledEmbeddings enrolled = enrolled_embeddings(store, model_, base.id);
  ASSERT_EQ(enrolled.size(), 60u);
  ClipQuery missing;
  missing.missing_embedding_for_model = base.id;
  EXPECT_TRUE(store.clips(missing).empty()) << "every page was stored";
  const std::vector<StoredEmbedding> stored = store.embeddings(base.id);
  ASSERT_EQ(stored.size(), 300u);
  for (const StoredClip& clip : store.clips(ClipQuery{})) {
    const auto it = std::find_if(stored.begin(), stored.end(),
                                 [&](const StoredEmbedding& e) { return e.clip_id == clip.id; });
    ASSERT_NE(it, stored.end());
    const std::vector<float> own = model_.embed(clip.features);
    for (std::size_t k = 0; k < own.size(); ++k) ASSERT_NEAR(it->embedding[k], own[k], 1e-5);
  }
  // Calibration windows too, one page at a time: every clip has its windows.
  const CalibrationClips windows = calibration_clips(store, model_, base.id, 0.5);
  std::size_t clips_with_windows = 0;
  for (const auto& [speaker, clips] : windows) {
    for (const CalibrationClip& clip : clips) clips_with_windows += clip.windows.empty() ? 0 : 1;
  }
  EXPECT_EQ(clips_with_windows, 300u);
}

TEST(BaseModel, ComesFromTheEnvironmentAndIsRegisteredInANewStore) {
  const ScopedEnv env("SPKID_BASE_MODEL", test::tiny_base_model());
  EXPECT_EQ(base_model_path(), test::tiny_base_model());

  test::TempDir dir;
  Store store = Store::open(dir.path() + "/store", StoreAccess::kCreate);
  EXPECT_FALSE(store.current_model());
  const ModelRecord first = ensure_current_model(store, base_model_path());
  EXPECT_EQ(first.kind, kBaseModelKind);
  EXPECT_TRUE(first.is_current);
  // Registered once: asking again gives the same model.
  EXPECT_EQ(ensure_current_model(store, base_model_path()).id, first.id);
  EXPECT_EQ(store.models().size(), 1u);

  const ScopedEnv missing("SPKID_BASE_MODEL", dir.path() + "/nothing.pt");
  EXPECT_EQ(thrown_error([] { base_model_path(); })->code(), ErrorCode::kModel);
}

TEST(TrainSpeakers, MakesACurrentClassifierAndKeepsTheBaseForNextTime) {
  const ScopedEnv env("SPKID_BASE_MODEL", test::tiny_base_model());
  test::TempDir dir;
  Store store = Store::open(dir.path() + "/store", StoreAccess::kCreate);
  enroll(store, "alice", kAlice, 12, 11);

  SpeakerTrainingOptions options;
  options.fine_tune.training.epochs = 3;
  options.fine_tune.training.crops_per_speaker = 4;
  // One speaker: refused, and nothing registered.
  EXPECT_EQ(thrown_error([&] { train_speakers(store, options); })->code(), ErrorCode::kStore);
  EXPECT_TRUE(store.models().empty());

  enroll(store, "bob", kBob, 12, 12);
  enroll(store, "carol", kCarol, 12, 13);
  const SpeakerTrainingResult result = train_speakers(store, options);
  EXPECT_EQ(result.speakers, (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_EQ(result.model.kind, kClassifierModelKind);
  EXPECT_GE(result.epochs_done, 1);
  ASSERT_TRUE(store.current_model());
  EXPECT_EQ(store.current_model()->id, result.model.id);
  // The base model stays in the store for the next train; the speakers are recorded as covered.
  EXPECT_EQ(store.models().size(), 2u);
  EXPECT_EQ(store_base_model(store).kind, kBaseModelKind);
  for (const SpeakerSummary& speaker : store.list_speakers()) {
    EXPECT_TRUE(speaker.covered_by_current_model) << speaker.name;
  }
  const SpeakerModel trained = SpeakerModel::load(result.model.path);
  EXPECT_EQ(trained.labels(), result.speakers);
  // train reports the store's open-set decision, calibrated on the three enrolled speakers,
  // and sets no threshold of its own: the base model scores.
  EXPECT_TRUE(result.open_set.calibrated);
  EXPECT_EQ(result.open_set.num_speakers, 3);
  EXPECT_GT(result.open_set.impostor_trials, 0u);
  const double w = 2.0 / (2.0 + OpenSetOptions{}.prior_weight_speakers);
  EXPECT_NEAR(
      result.open_set.threshold,
      w * result.open_set.measured_threshold +
          (1 - w) * SpeakerModel::load(test::tiny_base_model())
                        .threshold(kOpenSetPriorThresholdName, OpenSetOptions{}.prior_threshold),
      1e-9);
  // Fine-tuning kept the pretraining speakers as the cohort.
  EXPECT_EQ(trained.cohort().size(), SpeakerModel::load(test::tiny_base_model()).labels().size());

  // Identification now names through the classifier's rows, and names each voice; the base
  // model scores, exactly as it scores before any train.
  const Recognizer recognizer = Recognizer::from_store(store);
  EXPECT_EQ(recognizer.classifier_speakers(), result.speakers);
  EXPECT_DOUBLE_EQ(recognizer.default_threshold(), result.open_set.threshold);
  const ModelRecord base_record = classifier_base_model(store, trained);
  EXPECT_EQ(base_record.id, store_base_model(store).id);
  SpeakerModel base = SpeakerModel::load(base_record.path);
  const auto base_embeddings = enrolled_embeddings(store, base, base_record.id);
  const auto base_clips = calibration_clips(store, base, base_record.id, 3);
  Recognizer untrained(std::move(base), base_embeddings, false);
  untrained.calibrate(base_clips);
  Audio audio;
  audio.sample_rate_hz = kRate;
  for (const auto& [name, voice] : {std::pair{"alice", kAlice}, {"bob", kBob}, {"carol", kCarol}}) {
    audio.samples = test::speech_like(voice, 4, kRate, 99);
    const ChunkedSpeech speech = recognizer.chunk_speech(audio);
    const Identification id = recognizer.identify(speech, -100);
    EXPECT_EQ(id.top.front().speaker, name);
    EXPECT_NEAR(id.score, untrained.verify(speech, name, 0).score, 1e-9) << name;
  }

  // A classifier whose base model the store does not hold cannot be scored: train again.
  SpeakerModel orphan = trained.clone();
  orphan.set_provenance_json(R"({"base_model": "gone.pt"})");
  const Error orphaned = *thrown_error([&] { classifier_base_model(store, orphan); });
  EXPECT_EQ(orphaned.code(), ErrorCode::kModel);
  EXPECT_NE(std::string(orphaned.what()).find("train again"), std::string::npos);
}

}  // namespace
}  // namespace spkid
