#include "spkid/fine_tune.h"
#include "spkid/pretrain.h"
#include "spkid/speech_corpus.h"
#include "spkid/training.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>

#include "augment.h"
#include "spkid/error.h"
#include "spkid/scoring.h"
#include "synth.h"
#include "training_data.h"

namespace spkid {
namespace {

constexpr int kRate = 16000;

// Generated voices far apart in pitch and vocal tract.
const std::vector<test::Voice>& voices() {
  static const std::vector<test::Voice> v = {
      {95, {600, 1100, 2500}, 0.3}, {165, {750, 1350, 2800}, 0.3}, {240, {850, 1600, 3100}, 0.3}};
  return v;
}
const std::vector<test::Voice>& other_voices() {
  static const std::vector<test::Voice> v = {
      {120, {500, 1500, 2400}, 0.3}, {200, {700, 1000, 2900}, 0.3}, {300, {900, 1900, 3300}, 0.3}};
  return v;
}

// corpus/<name>/<n>.wav: two files of `seconds` per voice.
void write_corpus(const std::string& dir, const std::vector<test::Voice>& voice_list,
                  double seconds) {
  for (size_t v = 0; v < voice_list.size(); ++v) {
    const std::string speaker = dir + "/speaker" + std::to_string(v);
    std::filesystem::create_directories(speaker);
    for (unsigned f = 0; f < 2; ++f) {
      test::write_audio(speaker + "/" + std::to_string(f) + ".wav",
                        test::speech_like(voice_list[v], seconds, kRate, 10 * v + f + 1), kRate);
    }
  }
}

NetworkOptions tiny_network(LossType loss) {
  NetworkOptions network;
  network.channels = {8, 16};
  network.dense_size = 32;
  network.embedding_size = 16;
  network.conv_dropout = 0;
  network.dense_dropout = 0;
  network.loss = loss;
  return network;
}

PretrainOptions tiny_run(const test::TempDir& dir, LossType loss, int epochs) {
  PretrainOptions options;
  options.corpus_dir = dir.file("corpus");
  options.output_path = dir.file("model.pt");
  options.network = tiny_network(loss);
  TrainingOptions& t = options.training;
  t.epochs = epochs;
  t.crops_per_speaker = 32;
  t.batch_size = 16;
  t.crop_min_seconds = 1;
  t.crop_max_seconds = 1.5;
  t.learning_rate = 1e-2;
  t.final_learning_rate = 1e-3;
  t.warmup_epochs = 1;
  t.val_crop_seconds = 1;
  t.threads = 1;
  return options;
}

std::vector<EpochReport> run(const PretrainOptions& options, SpeakerModel* model = nullptr,
                             int stop_after_epoch = 0) {
  std::vector<EpochReport> reports;
  TrainingCallbacks callbacks;
  callbacks.on_epoch = [&](const EpochReport& r) {
    reports.push_back(r);
    if (r.epoch == stop_after_epoch) throw std::runtime_error("interrupted");
  };
  SpeakerModel trained = pretrain(options, callbacks);
  if (model) *model = std::move(trained);
  return reports;
}

size_t argmax(const std::vector<float>& v) {
  return size_t(std::max_element(v.begin(), v.end()) - v.begin());
}

TEST(Pretrain, TinyRunOnGeneratedVoicesOverfits) {
  test::TempDir dir;
  write_corpus(dir.file("corpus"), voices(), 4);
  PretrainOptions options = tiny_run(dir, LossType::kSoftmax, 6);
  options.training.augment.noise_probability = 0;
  options.training.augment.speed_probability = 0;
  options.training.augment.spec_augment_probability = 0;
  options.training.augment.pitch_probability = 0;
  options.training.augment.reverb_probability = 0;
  options.training.augment.telephone_probability = 0;
  SpeakerModel model(FeatureOptions{}, tiny_network(LossType::kSoftmax), {"x", "y"});
  const auto reports = run(options, &model);

  ASSERT_EQ(reports.size(), 6u);
  EXPECT_LT(reports.back().train_loss, 0.2);  // from ln 3 = 1.1 at chance
  EXPECT_LT(reports.back().train_loss, reports.front().train_loss);
  EXPECT_DOUBLE_EQ(reports.back().val_accuracy, 1.0);
  EXPECT_TRUE(std::filesystem::exists(options.output_path));
  EXPECT_TRUE(std::filesystem::exists(options.output_path + ".ckpt"));

  // The saved model names a fresh clip of each voice.
  const SpeakerModel loaded = SpeakerModel::load(options.output_path);
  EXPECT_EQ(loaded.labels(), (std::vector<std::string>{"speaker0", "speaker1", "speaker2"}));
  const FeatureExtractor extractor;
  for (size_t v = 0; v < voices().size(); ++v) {
    const auto clip = extractor.compute(test::speech_like(voices()[v], 2, kRate, 99));
    EXPECT_EQ(argmax(loaded.classify(clip)), v);
  }
}

TEST(Pretrain, AamRunWithAugmentationLearns) {
  test::TempDir dir;
  write_corpus(dir.file("corpus"), voices(), 4);
  PretrainOptions options = tiny_run(dir, LossType::kAam, 6);
  options.training.augment.snr_min_db = 15;
  options.training.augment.snr_max_db = 25;
  const auto reports = run(options);
  EXPECT_LT(reports.back().train_loss, 0.5 * reports.front().train_loss);
  EXPECT_GE(reports.back().val_accuracy, 0.99);
}

TEST(Pretrain, SameSeedSameModelAlsoWhenResumed) {
  test::TempDir a, b;
  write_corpus(a.file("corpus"), voices(), 3);
  write_corpus(b.file("corpus"), voices(), 3);
  SpeakerModel whole(FeatureOptions{}, tiny_network(LossType::kAam), {"x", "y"});
  const auto whole_reports = run(tiny_run(a, LossType::kAam, 3), &whole);

  PretrainOptions interrupted = tiny_run(b, LossType::kAam, 3);
  interrupted.corpus_dir = b.file("corpus");
  EXPECT_THROW(run(interrupted, nullptr, 2), std::runtime_error);
  // A checkpoint is there: starting over without --resume is refused.
  try {
    run(interrupted);
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("--resume"), std::string::npos);
  }
  PretrainOptions other_seed = interrupted;
  other_seed.resume = true;
  other_seed.training.seed = 2;
  EXPECT_THROW(run(other_seed), Error);

  interrupted.resume = true;
  SpeakerModel resumed(FeatureOptions{}, tiny_network(LossType::kAam), {"x", "y"});
  const auto resumed_reports = run(interrupted, &resumed);
  ASSERT_EQ(resumed_reports.size(), 1u);  // only the third epoch was left
  EXPECT_EQ(resumed_reports[0].train_loss, whole_reports[2].train_loss);
  EXPECT_EQ(resumed_reports[0].val_loss, whole_reports[2].val_loss);
  const auto clip = FeatureExtractor().compute(test::speech_like(voices()[1], 2, kRate, 5));
  EXPECT_EQ(resumed.embed(clip), whole.embed(clip));
}

TEST(Pretrain, SecondStageStartsFromTheFirstStagesWeights) {
  test::TempDir first, second;
  write_corpus(first.file("corpus"), voices(), 3);
  SpeakerModel stage1(FeatureOptions{}, tiny_network(LossType::kAam), {"x", "y"});
  run(tiny_run(first, LossType::kAam, 3), &stage1);

  // A second stage of one epoch at a tiny learning rate stays next to the first's weights; the
  // same epoch from scratch does not learn the voices.
  PretrainOptions stage2 = tiny_run(first, LossType::kAam, 1);
  stage2.output_path = second.file("stage2.pt");
  stage2.init_path = first.file("model.pt");
  stage2.training.learning_rate = 1e-6;
  stage2.training.final_learning_rate = 1e-7;
  stage2.training.seed = 2;
  SpeakerModel continued(FeatureOptions{}, tiny_network(LossType::kAam), {"x", "y"});
  const auto continued_reports = run(stage2, &continued);
  PretrainOptions scratch = stage2;
  scratch.init_path.clear();
  scratch.output_path = second.file("scratch.pt");
  const auto scratch_reports = run(scratch);
  ASSERT_EQ(continued_reports.size(), 1u);
  EXPECT_GE(continued_reports[0].val_accuracy, 0.99);
  EXPECT_LT(continued_reports[0].train_loss, scratch_reports[0].train_loss);
  const auto clip = FeatureExtractor().compute(test::speech_like(voices()[1], 2, kRate, 5));
  const auto a = stage1.embed(clip), b = continued.embed(clip);
  EXPECT_GT(cosine_similarity(a, b), 0.99);

  // A model of other layer sizes is refused before any training.
  PretrainOptions wider = stage2;
  wider.output_path = second.file("wider.pt");
  wider.network.dense_size *= 2;
  try {
    run(wider);
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("network shape"), std::string::npos);
  }
}

TEST(Pretrain, RefusesMissingCorpusAndTooShortCrops) {
  test::TempDir dir;
  PretrainOptions options = tiny_run(dir, LossType::kAam, 1);
  try {
    run(options);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
  write_corpus(dir.file("corpus"), voices(), 2);
  options.network.channels = {4, 4, 4, 4, 4, 4};  // needs 128 frames
  try {
    run(options);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
}

TEST(Pretrain, RefusesADevCheckWithoutTheAamLoss) {
  test::TempDir dir;
  PretrainOptions options = tiny_run(dir, LossType::kSoftmax, 1);
  options.dev_speaker_dirs = {dir.file("dev/a"), dir.file("dev/b")};
  try {
    options.validate();
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("--loss aam"), std::string::npos);
  }
  options.network.loss = LossType::kAam;
  EXPECT_NO_THROW(options.validate());
}

TEST(FineTune, NewHeadNamesTheEnrolledSpeakers) {
  test::TempDir dir;
  write_corpus(dir.file("corpus"), voices(), 3);
  SpeakerModel base(FeatureOptions{}, tiny_network(LossType::kAam), {"x", "y"});
  run(tiny_run(dir, LossType::kAam, 3), &base);

  std::vector<SpeakerSpeech> enrolled;
  for (size_t v = 0; v < other_voices().size(); ++v) {
    enrolled.push_back({"new" + std::to_string(v),
                        test::speech_like(other_voices()[v], 8, kRate, unsigned(40 + v))});
  }
  FineTuneOptions options;
  options.training.epochs = 4;
  options.training.crops_per_speaker = 16;
  options.training.batch_size = 16;
  options.training.crop_min_seconds = 1;
  options.training.crop_max_seconds = 1.5;
  options.training.val_crop_seconds = 1;
  options.training.threads = 1;
  // The toy voices differ only in pitch and formants: moving them would make them one voice.
  options.training.augment.pitch_probability = 0;
  for (const FineTuneScope scope : {FineTuneScope::kEmbedding, FineTuneScope::kLastBlock}) {
    SCOPED_TRACE(fine_tune_scope_name(scope));
    options.scope = scope;
    int epochs_seen = 0;
    TrainingCallbacks callbacks;
    callbacks.on_epoch = [&](const EpochReport&) { ++epochs_seen; };
    const SpeakerModel tuned = fine_tune(base, enrolled, options, callbacks);

    EXPECT_GE(epochs_seen, 1);
    EXPECT_EQ(tuned.labels(), (std::vector<std::string>{"new0", "new1", "new2"}));
    EXPECT_EQ(tuned.network_options().loss, LossType::kAam);
    const FeatureExtractor extractor;
    for (size_t v = 0; v < other_voices().size(); ++v) {
      const auto clip = extractor.compute(test::speech_like(other_voices()[v], 2, kRate, 77));
      const auto posteriors = tuned.classify(clip);
      ASSERT_EQ(posteriors.size(), 3u);
      EXPECT_EQ(argmax(posteriors), v);
    }
  }
  // The base model is untouched.
  EXPECT_EQ(base.labels().size(), 3u);
  EXPECT_THROW(fine_tune(base, {enrolled[0]}, options), Error);
}

TEST(EvaluateUnseenSpeakers, FollowsTheEnrollAndClipProtocol) {
  const SpeakerModel model(FeatureOptions{}, tiny_network(LossType::kAam), {"a", "b"});
  std::vector<SpeakerSpeech> speakers;
  for (size_t v = 0; v < voices().size(); ++v) {
    speakers.push_back(
        {"s" + std::to_string(v), test::speech_like(voices()[v], 40, kRate, unsigned(v + 1))});
  }
  const std::vector<SpeakerSpeech> impostors = {
      {"imp", test::speech_like(other_voices()[0], 7, kRate, 3)}};
  const auto result = evaluate_unseen_speakers(model, speakers, impostors);
  // 30 s enroll, 10 s left: three 3 s clips each (the 1 s remainder is under half a clip).
  EXPECT_EQ(result.test_clips, 9);
  EXPECT_EQ(result.confusion.total(), 9);
  EXPECT_EQ(result.impostor_clips, 2);
  EXPECT_EQ(result.confusion.labels(), (std::vector<std::string>{"s0", "s1", "s2"}));
  EXPECT_DOUBLE_EQ(result.top1_accuracy, result.confusion.accuracy());
  EXPECT_GE(result.eer.rate, 0.0);
  EXPECT_LE(result.eer.rate, 1.0);

  speakers[1].speech.resize(20 * kRate);  // not enough for 30 s of enrollment and a test clip
  EXPECT_EQ(evaluate_unseen_speakers(model, speakers, impostors).skipped.size(), 1u);
  speakers[2].speech.resize(20 * kRate);  // one speaker left: nobody to tell apart
  EXPECT_THROW(evaluate_unseen_speakers(model, speakers, impostors), Error);
}

TEST(Augmenter, CropsHaveTheAskedLengthAndRepeatForASeed) {
  const auto speech = test::speech_like(voices()[0], 3, kRate);
  const Augmenter augmenter(AugmentOptions{}, {test::white_noise(2, kRate, 0.1, 1)}, kRate);
  for (int i = 0; i < 20; ++i) {
    TrainingRng a(i), b(i);
    const auto crop_a = augmenter.crop(speech, 24000, a);
    EXPECT_EQ(crop_a.size(), 24000u);
    EXPECT_EQ(crop_a, augmenter.crop(speech, 24000, b));
  }
}

TEST(Augmenter, NoiseIsMixedAtTheDrawnSnr) {
  AugmentOptions options;
  options.noise_probability = 1;
  options.snr_min_db = options.snr_max_db = 10;
  options.gain_min_db = options.gain_max_db = 0;
  options.speed_probability = 0;
  options.pitch_probability = options.reverb_probability = options.telephone_probability = 0;
  options.real_noise_fraction = 1;
  // 8000 samples hold 220 whole periods of 440 Hz: every crop has power 0.125 exactly.
  const auto speech = test::sine(440, 1, kRate, 0.5);
  const Augmenter augmenter(options, {test::white_noise(3, kRate, 0.3, 2)}, kRate);
  for (unsigned seed = 0; seed < 5; ++seed) {
    TrainingRng rng(seed);
    const auto noisy = augmenter.crop(speech, kRate / 2, rng);
    const double power =
        std::inner_product(noisy.begin(), noisy.end(), noisy.begin(), 0.0) / double(noisy.size());
    // Speech plus noise 10 dB below it; the cross term of independent signals is near zero.
    EXPECT_NEAR(power, 0.125 * 1.1, 0.002);
  }
}

TEST(Augmenter, SpeedPerturbationRaisesPitchWhenFaster) {
  AugmentOptions options;
  options.noise_probability = 0;
  options.gain_min_db = options.gain_max_db = 0;
  options.speed_probability = 1;
  options.speed_min = options.speed_max = 1.25;
  options.pitch_probability = options.reverb_probability = options.telephone_probability = 0;
  const Augmenter augmenter(options, {}, kRate);
  TrainingRng rng(1);
  const auto faster = augmenter.crop(test::sine(1000, 2, kRate), kRate, rng);
  int crossings = 0;
  for (size_t i = 1000; i + 1 < 15000; ++i) crossings += (faster[i] < 0) != (faster[i + 1] < 0);
  const double frequency_hz = crossings / 2.0 / (14000.0 / kRate);
  EXPECT_NEAR(frequency_hz, 1250, 15);
}

TEST(Augmenter, SpecAugmentMasksWithBandMeans) {
  AugmentOptions options;
  options.spec_augment_probability = 1;
  options.time_masks = 1;
  options.frequency_masks = 1;
  options.max_time_mask_frames = 20;
  options.max_frequency_mask_bands = 10;
  const Augmenter augmenter(options, {}, kRate);
  FeatureMatrix features = FeatureExtractor().compute(test::speech_like(voices()[0], 2, kRate));
  const FeatureMatrix original = features;
  int changed = 0;
  for (unsigned seed = 0; seed < 10; ++seed) {
    FeatureMatrix f = original;
    TrainingRng rng(seed);
    augmenter.spec_augment(f, rng);
    EXPECT_EQ(f.num_frames, original.num_frames);
    changed += f.data != original.data;
    // Mean-normalised features have zero band means, so masked cells are zero.
    for (size_t i = 0; i < f.data.size(); ++i) {
      if (f.data[i] != original.data[i]) EXPECT_NEAR(f.data[i], 0.0f, 1e-4);
    }
  }
  EXPECT_GE(changed, 8);  // a mask can draw zero width

  options.spec_augment_probability = 0;
  TrainingRng rng(1);
  Augmenter(options, {}, kRate).spec_augment(features, rng);
  EXPECT_EQ(features.data, original.data);
}

TEST(TakeCrop, WrapsAroundShortSpeech) {
  const std::vector<float> speech = {1, 2, 3};
  EXPECT_EQ(take_crop(speech, 1, 7), (std::vector<float>{2, 3, 1, 2, 3, 1, 2}));
  EXPECT_EQ(take_crop(speech, 4, 2), (std::vector<float>{2, 3}));
}

TEST(CropSampler, BalancedDeterministicBatchesAndHeldOutSplit) {
  std::vector<SpeakerSpeech> speakers;
  for (size_t v = 0; v < voices().size(); ++v) {
    speakers.push_back({"s" + std::to_string(v), test::speech_like(voices()[v], 10, kRate)});
  }
  TrainingOptions options;
  options.crops_per_speaker = 8;
  options.batch_size = 6;
  options.heldout_fraction = 0.2;
  options.val_crop_seconds = 1;
  options.val_crops_per_speaker = 2;
  const FeatureExtractor extractor;
  const LabelledClips val = split_heldout(speakers, extractor, options, 32);
  EXPECT_EQ(val.clips.size(), 6u);
  EXPECT_EQ(val.labels, (std::vector<int64_t>{0, 0, 1, 1, 2, 2}));
  for (const auto& s : speakers) EXPECT_EQ(s.speech.size(), 8u * kRate);

  const Augmenter augmenter(options.augment, {}, kRate);
  const CropSampler sampler(speakers, augmenter, extractor, options);
  ASSERT_EQ(sampler.steps_per_epoch(), 4);  // 3 speakers x 8 crops / 6
  std::map<int64_t, int> count;
  for (int step = 0; step < sampler.steps_per_epoch(); ++step) {
    const TrainingBatch batch = sampler.batch(1, step);
    EXPECT_EQ(batch.size, 6);
    EXPECT_EQ(batch.data.size(), size_t(batch.size) * batch.frames * batch.features);
    EXPECT_GE(batch.frames, 198);  // crops of 2 to 4 s
    EXPECT_LE(batch.frames, 398);
    for (const auto label : batch.labels) ++count[label];
  }
  EXPECT_EQ(count, (std::map<int64_t, int>{{0, 8}, {1, 8}, {2, 8}}));
  EXPECT_EQ(sampler.batch(2, 1).data, sampler.batch(2, 1).data);
  EXPECT_NE(sampler.batch(2, 1).labels, sampler.batch(3, 1).labels);
}

}  // namespace
}  // namespace spkid
