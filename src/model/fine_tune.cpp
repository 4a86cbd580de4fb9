// Transfer learning for enrolled speakers: a cosine head started from the speakers' embedding
// centroids, trained (optionally with the last block) with early stopping on held-out speech.
#include <chrono>
#include <cmath>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "model_impl.h"
#include "spkid/chunk.h"
#include "spkid/error.h"
#include "spkid/fine_tune.h"
#include "spkid/speech_corpus.h"
#include "spkid/training.h"
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

TrainScope train_scope(FineTuneScope scope) {
  switch (scope) {
    case FineTuneScope::kHead:
      return TrainScope::kHead;
    case FineTuneScope::kLastBlock:
      return TrainScope::kLastBlockAndHead;
    default:
      return TrainScope::kEmbeddingAndHead;
  }
}

// Pooled statistics and labels of clips, `net` frozen up to its pooling.
struct PooledClips {
  torch::Tensor pooled;  // [clips, pooled size]
  torch::Tensor labels;  // [clips] int64
};

PooledClips pool_clips(SpeakerNetImpl& net, const LabelledClips& clips) {
  torch::NoGradGuard no_grad;
  std::map<int, std::vector<size_t>> by_length;
  for (size_t i = 0; i < clips.clips.size(); ++i) by_length[clips.clips[i].num_frames].push_back(i);
  std::vector<torch::Tensor> pooled, labels;
  for (const auto& [frames, indices] : by_length) {
    std::vector<const FeatureMatrix*> group;
    std::vector<int64_t> group_labels;
    for (const size_t i : indices) {
      group.push_back(&clips.clips[i]);
      group_labels.push_back(clips.labels[i]);
    }
    pooled.push_back(net.pool(detail::stack_clips(group)));
    labels.push_back(torch::tensor(group_labels, torch::kLong));
  }
  if (pooled.empty()) return {};
  return {torch::cat(pooled), torch::cat(labels)};
}

// Every speaker's cached augmented crops through the frozen convolutions, once: batches of the
// sampler's first epoch, the next one prepared while the network pools this one.
PooledClips pool_crops(SpeakerNetImpl& net, const CropSampler& sampler) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> pooled, labels;
  const auto make_batch = [&sampler](int step) { return sampler.batch(1, step); };
  std::future<TrainingBatch> next = std::async(std::launch::async, make_batch, 0);
  for (int step = 0; step < sampler.steps_per_epoch(); ++step) {
    TrainingBatch batch = next.get();
    if (step + 1 < sampler.steps_per_epoch()) {
      next = std::async(std::launch::async, make_batch, step + 1);
    }
    const auto features =
        torch::from_blob(batch.data.data(), {batch.size, batch.frames, batch.features});
    pooled.push_back(net.pool(features));
    labels.push_back(torch::tensor(batch.labels, torch::kLong));
  }
  return {torch::cat(pooled), torch::cat(labels)};
}

Validation validate_pooled(SpeakerNetImpl& net, const PooledClips& val) {
  Validation result;
  if (!val.pooled.defined()) return result;
  torch::NoGradGuard no_grad;
  const bool was_training = net.is_training();
  net.eval();
  const auto logits = net.logits(net.embed_pooled(val.pooled));
  result.loss = torch::nn::functional::cross_entropy(logits, val.labels).item<double>();
  result.accuracy = logits.argmax(1).eq(val.labels).to(torch::kDouble).mean().item<double>();
  if (was_training) net.train();
  return result;
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
    impl.cohort =
        torch::nn::functional::normalize(impl.net->head_weight().detach().clone(),
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
  const TrainScope scope = train_scope(options.scope);
  const bool cached = scope != TrainScope::kLastBlockAndHead;
  TrainingOptions sampling = training;
  if (cached) {
    sampling.crops_per_speaker = options.cached_crops_per_speaker;
    // One batch shape per pooling pass; the epochs then draw their own minibatches.
    sampling.batch_size = std::max(training.batch_size, 64);
  }
  const CropSampler sampler(train_speech, augmenter, extractor, sampling);

  // The cached scopes: every crop through the frozen convolutions once.
  PooledClips crops, val_pooled;
  int cached_steps = 0;
  if (cached) {
    impl.net->begin_training(scope);
    crops = pool_crops(*impl.net, sampler);
    val_pooled = pool_clips(*impl.net, val);
    impl.net->end_training();
    cached_steps = std::max<int>(1, int(crops.labels.size(0)) / training.batch_size);
  }
  std::unique_ptr<Trainer> trainer;
  if (!cached) {
    trainer = std::make_unique<Trainer>(impl.net, scope, training, sampler.steps_per_epoch());
  }
  std::unique_ptr<torch::optim::AdamW> optimizer;
  if (cached) {
    optimizer = std::make_unique<torch::optim::AdamW>(
        impl.net->begin_training(scope),
        torch::optim::AdamWOptions(training.learning_rate).weight_decay(training.weight_decay));
    impl.net->end_training();
  }
  // One epoch over the cached crops in shuffled minibatches.
  const auto run_cached_epoch = [&](int epoch) {
    const auto start = std::chrono::steady_clock::now();
    torch::manual_seed(mix_seed(training.seed, uint64_t(epoch), 0xd5));
    impl.net->begin_training(scope);
    const auto order = torch::randperm(crops.labels.size(0), torch::kLong);
    EpochReport report;
    report.epoch = epoch;
    report.epochs = training.epochs;
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    for (int step = 0; step < cached_steps; ++step) {
      const double lr =
          scheduled_learning_rate(training, cached_steps, int64_t(epoch - 1) * cached_steps + step);
      for (auto& group : optimizer->param_groups()) {
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
      }
      report.learning_rate = lr;
      const auto index = order.narrow(0, int64_t(step) * training.batch_size, training.batch_size);
      const auto targets = crops.labels.index_select(0, index);
      optimizer->zero_grad();
      const auto embedding = impl.net->embed_pooled(crops.pooled.index_select(0, index));
      const auto loss =
          torch::nn::functional::cross_entropy(impl.net->logits(embedding, targets), targets);
      loss.backward();
      optimizer->step();
      {
        torch::NoGradGuard no_grad;
        correct += impl.net->logits(embedding.detach()).argmax(1).eq(targets).sum().item<int64_t>();
      }
      seen += training.batch_size;
      loss_sum += loss.item<double>() * training.batch_size;
      if (callbacks.on_step) {
        callbacks.on_step({epoch, training.epochs, step + 1, cached_steps, loss_sum / double(seen),
                           double(correct) / double(seen)});
      }
    }
    impl.net->end_training();
    report.train_loss = loss_sum / double(std::max<int64_t>(seen, 1));
    report.train_accuracy = double(correct) / double(std::max<int64_t>(seen, 1));
    const Validation v = validate_pooled(*impl.net, val_pooled);
    report.val_loss = v.loss;
    report.val_accuracy = v.accuracy;
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
  };

  // Early stopping keeps a copy of the best epoch's network.
  SpeakerNet best = SpeakerNet(std::dynamic_pointer_cast<SpeakerNetImpl>(impl.net->clone()));
  double best_loss = std::numeric_limits<double>::infinity();
  int best_epoch = 0;
  int epochs_done = 0;
  nlohmann::json history = nlohmann::json::array();
  for (int epoch = 1, stale = 0; epoch <= training.epochs && stale < options.patience; ++epoch) {
    const EpochReport report =
        cached ? run_cached_epoch(epoch) : trainer->run_epoch(epoch, sampler, val, callbacks);
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
      {"scope", fine_tune_scope_name(options.scope)},
      {"cached_crops_per_speaker", cached ? options.cached_crops_per_speaker : 0},
      {"epochs_done", epochs_done},
      {"best_epoch", best_epoch},
      {"training", nlohmann::json::parse(training.to_json())},
      {"history", history}}.dump());
  return model;
}

}  // namespace spkid
