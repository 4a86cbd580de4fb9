// Transfer learning for enrolled speakers: a cosine head started from the speakers' embedding
// centroids, trained (optionally with the last block) with early stopping on held-out speech.
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "model_impl.h"
#include "spkid/chunk.h"
#include "spkid/error.h"
#include "spkid/pretrain.h"
#include "trainer.h"

namespace spkid {
namespace {

// [speakers, embedding_size]: each row the normalised mean of the speaker's clip embeddings.
torch::Tensor centroid_rows(const SpeakerModel& base, const FeatureExtractor& extractor,
                            const std::vector<SpeakerSpeech>& speakers, double clip_seconds) {
  ChunkOptions chunks;
  chunks.clip_seconds = clip_seconds;
  chunks.min_clip_seconds = std::min(chunks.min_clip_seconds, clip_seconds);
  const int rate = extractor.options().sample_rate_hz;
  auto rows = torch::zeros({int64_t(speakers.size()), base.embedding_size()});
  for (size_t s = 0; s < speakers.size(); ++s) {
    std::vector<FeatureMatrix> clips;
    for (const auto& clip : cut_clips(speakers[s].speech, rate, chunks)) {
      clips.push_back(extractor.compute(clip));
    }
    if (clips.empty()) {
      throw Error(ErrorCode::kNoSpeech, "speaker " + speakers[s].name +
                                            " has too little speech to train on: enroll more");
    }
    for (const auto& e : base.embed_batch(clips)) {
      rows[int64_t(s)] += torch::tensor(e);
    }
  }
  return torch::nn::functional::normalize(rows,
                                          torch::nn::functional::NormalizeFuncOptions().dim(1));
}

}  // namespace

SpeakerModel fine_tune(const SpeakerModel& base, const std::vector<SpeakerSpeech>& speakers,
                       const FineTuneOptions& options, const TrainingCallbacks& callbacks) {
  options.validate();
  if (speakers.size() < 2) {
    throw Error(ErrorCode::kInvalidArgument,
                "training a classifier needs at least two enrolled speakers");
  }
  const TrainingOptions& training = options.training;
  set_model_threads(training.threads);
  const FeatureExtractor extractor(base.feature_options());
  const int rate = base.feature_options().sample_rate_hz;
  const int min_frames = base.network_options().min_frames();

  std::vector<SpeakerSpeech> train_speech = speakers;
  const LabelledClips val = split_heldout(train_speech, extractor, training, min_frames);

  SpeakerModel model = base.clone();
  auto& impl = detail::ModelAccess::impl(model);
  impl.labels.clear();
  for (const auto& s : speakers) impl.labels.push_back(s.name);
  impl.thresholds.clear();  // the base's thresholds were for other speakers
  // The pretraining speakers' rows stay on as the score-normalisation cohort.
  if (!impl.cohort.defined() && impl.net->options().loss == LossType::kAam) {
    torch::NoGradGuard no_grad;
    impl.cohort = torch::nn::functional::normalize(
        impl.net->head_weight().detach().clone(),
        torch::nn::functional::NormalizeFuncOptions().dim(1));
  }
  impl.net->set_cosine_head(centroid_rows(base, extractor, train_speech, training.crop_max_seconds),
                            options.aam_margin, options.aam_scale);

  std::vector<std::vector<float>> noises;
  if (!options.noise_dir.empty()) {
    AudioOptions audio;
    audio.sample_rate_hz = rate;
    noises = load_noise_folder(options.noise_dir, audio);
  }
  const Augmenter augmenter(training.augment, std::move(noises), rate);
  const CropSampler sampler(train_speech, augmenter, extractor, training);
  Trainer trainer(impl.net,
                  options.train_last_block ? TrainScope::kLastBlockAndHead : TrainScope::kHead,
                  training, sampler.steps_per_epoch());

  // Early stopping keeps a copy of the best epoch's network.
  SpeakerNet best = SpeakerNet(std::dynamic_pointer_cast<SpeakerNetImpl>(impl.net->clone()));
  double best_loss = std::numeric_limits<double>::infinity();
  int best_epoch = 0;
  int epochs_done = 0;
  nlohmann::json history = nlohmann::json::array();
  for (int epoch = 1, stale = 0; epoch <= training.epochs && stale < options.patience; ++epoch) {
    const EpochReport report = trainer.run_epoch(epoch, sampler, val, callbacks);
    epochs_done = epoch;
    history.push_back({{"epoch", epoch},
                       {"train_loss", report.train_loss},
                       {"val_loss", report.val_loss},
                       {"val_accuracy", report.val_accuracy}});
    if (callbacks.on_epoch) callbacks.on_epoch(report);
    if (val.clips.empty() || report.val_loss < best_loss) {
      best_loss = report.val_loss;
      best_epoch = epoch;
      best = SpeakerNet(std::dynamic_pointer_cast<SpeakerNetImpl>(impl.net->clone()));
      stale = 0;
    } else {
      ++stale;
    }
  }
  impl.net = best;
  impl.net->eval();
  model.set_provenance_json(nlohmann::json{
      {"made_by", "spkid train"},
      {"speakers", speakers.size()},
      {"train_last_block", options.train_last_block},
      {"epochs_done", epochs_done},
      {"best_epoch", best_epoch},
      {"training", nlohmann::json::parse(training.to_json())},
      {"history", history}}.dump());
  return model;
}

}  // namespace spkid
