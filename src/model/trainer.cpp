#include "trainer.h"

#include <chrono>
#include <cmath>
#include <future>
#include <map>

#include "model_impl.h"

namespace spkid {

Validation validate(SpeakerNetImpl& net, const LabelledClips& val) {
  Validation result;
  if (val.clips.empty()) return result;
  const bool was_training = net.is_training();
  net.eval();
  torch::NoGradGuard no_grad;
  std::map<int, std::vector<size_t>> by_length;
  for (size_t i = 0; i < val.clips.size(); ++i) by_length[val.clips[i].num_frames].push_back(i);
  double loss_sum = 0;
  int64_t correct = 0;
  for (const auto& [frames, indices] : by_length) {
    std::vector<const FeatureMatrix*> group;
    std::vector<int64_t> labels;
    for (const size_t i : indices) {
      group.push_back(&val.clips[i]);
      labels.push_back(val.labels[i]);
    }
    const auto targets = torch::tensor(labels, torch::kLong);
    const auto logits = net.logits(net.embed(detail::stack_clips(group)));
    loss_sum += torch::nn::functional::cross_entropy(
                    logits, targets,
                    torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .item<double>();
    correct += logits.argmax(1).eq(targets).sum().item<int64_t>();
  }
  if (was_training) net.train();
  result.loss = loss_sum / double(val.clips.size());
  result.accuracy = double(correct) / double(val.clips.size());
  return result;
}

Trainer::Trainer(SpeakerNet net, TrainScope scope, const TrainingOptions& options,
                 int steps_per_epoch)
    : net_(std::move(net)), scope_(scope), options_(options), steps_per_epoch_(steps_per_epoch) {
  optimizer_ = std::make_unique<torch::optim::AdamW>(
      net_->begin_training(scope_),
      torch::optim::AdamWOptions(options_.learning_rate).weight_decay(options_.weight_decay));
  net_->end_training();
}

double scheduled_learning_rate(const TrainingOptions& options, int steps_per_epoch,
                               int64_t global_step) {
  const double warmup = options.warmup_epochs * steps_per_epoch;
  const double total = double(options.epochs) * steps_per_epoch;
  if (double(global_step) < warmup) {
    return options.learning_rate * double(global_step + 1) / warmup;
  }
  const double progress =
      std::min(1.0, (double(global_step) - warmup) / std::max(1.0, total - warmup));
  return options.final_learning_rate + 0.5 * (options.learning_rate - options.final_learning_rate) *
                                           (1 + std::cos(M_PI * progress));
}

double Trainer::learning_rate(int64_t global_step) const {
  return scheduled_learning_rate(options_, steps_per_epoch_, global_step);
}

EpochReport Trainer::run_epoch(int epoch, const CropSampler& sampler, const LabelledClips& val,
                               const TrainingCallbacks& callbacks) {
  const auto start = std::chrono::steady_clock::now();
  // Dropout draws from LibTorch's generator: seeding it per epoch makes a resumed run identical.
  torch::manual_seed(mix_seed(options_.seed, uint64_t(epoch), 0xd5));
  net_->begin_training(scope_);

  const auto make_batch = [&sampler, epoch](int step) { return sampler.batch(epoch, step); };
  std::future<TrainingBatch> next;
  if (options_.prefetch) next = std::async(std::launch::async, make_batch, 0);

  EpochReport report;
  report.epoch = epoch;
  report.epochs = options_.epochs;
  double loss_sum = 0;
  int64_t correct = 0;
  int64_t seen = 0;
  for (int step = 0; step < steps_per_epoch_; ++step) {
    TrainingBatch batch = options_.prefetch ? next.get() : make_batch(step);
    if (options_.prefetch && step + 1 < steps_per_epoch_) {
      next = std::async(std::launch::async, make_batch, step + 1);
    }
    const double lr = learning_rate(int64_t(epoch - 1) * steps_per_epoch_ + step);
    for (auto& group : optimizer_->param_groups()) {
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    }
    report.learning_rate = lr;

    const auto features =
        torch::from_blob(batch.data.data(), {batch.size, batch.frames, batch.features});
    const auto targets = torch::from_blob(batch.labels.data(), {batch.size}, torch::kLong);
    optimizer_->zero_grad();
    const auto embedding = net_->embed(features);
    const auto loss =
        torch::nn::functional::cross_entropy(net_->logits(embedding, targets), targets);
    loss.backward();
    optimizer_->step();

    {
      torch::NoGradGuard no_grad;  // accuracy as identification sees it: no margin
      correct += net_->logits(embedding.detach()).argmax(1).eq(targets).sum().item<int64_t>();
    }
    seen += batch.size;
    loss_sum += loss.item<double>() * batch.size;
    if (callbacks.on_step) {
      callbacks.on_step({epoch, options_.epochs, step + 1, steps_per_epoch_,
                         loss_sum / double(seen), double(correct) / double(seen)});
    }
  }
  net_->end_training();
  report.train_loss = loss_sum / double(seen);
  report.train_accuracy = double(correct) / double(seen);
  const Validation v = validate(*net_, val);
  report.val_loss = v.loss;
  report.val_accuracy = v.accuracy;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

void Trainer::save_state(torch::serialize::OutputArchive& archive) { optimizer_->save(archive); }

void Trainer::load_state(torch::serialize::InputArchive& archive) { optimizer_->load(archive); }

}  // namespace spkid
