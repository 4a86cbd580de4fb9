// Pretraining: the corpus in memory, a held-out split, epochs of the shared trainer, a
// checkpoint after every epoch (a model file plus the optimiser state), resume.
#include "spkid/pretrain.h"
#include "spkid/speech_corpus.h"
#include "spkid/training.h"

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "model_impl.h"
#include "spkid/error.h"
#include "trainer.h"

namespace spkid {
namespace {

using nlohmann::json;

json unseen_json(const EvaluationResult& r) {
  return {{"top1_accuracy", r.top1_accuracy},    {"eer", r.eer.rate},
          {"eer_threshold", r.eer.threshold},    {"min_dcf", r.min_dcf.cost},
          {"open_set_eer", r.open_set_eer.rate}, {"open_set_threshold", r.open_set_eer.threshold},
          {"test_clips", r.test_clips},          {"impostor_clips", r.impostor_clips}};
}

json epoch_json(const EpochReport& r) {
  json j = {{"epoch", r.epoch},
            {"train_loss", r.train_loss},
            {"train_accuracy", r.train_accuracy},
            {"val_loss", r.val_loss},
            {"val_accuracy", r.val_accuracy},
            {"learning_rate", r.learning_rate},
            {"seconds", r.seconds}};
  if (r.dev) j["dev"] = unseen_json(*r.dev);
  return j;
}

double seconds_of(const std::vector<SpeakerSpeech>& speakers, int rate) {
  double samples = 0;
  for (const auto& s : speakers) samples += double(s.speech.size());
  return samples / rate;
}

// What must not change between a run and its resumption.
std::string run_identity(const PretrainOptions& o, const std::vector<std::string>& labels) {
  return json{{"corpus", o.corpus_dir},
              {"noise", o.noise_dir},
              {"init", o.init_path},
              {"labels", labels},
              {"features", json::parse(o.features.to_json())},
              {"network", json::parse(o.network.to_json())},
              {"training", json::parse(o.training.to_json())}}
      .dump();
}

struct Checkpoint {
  int epoch = 0;
  json history = json::array();
};

void write_checkpoint(const SpeakerModel& model, Trainer& trainer, const std::string& identity,
                      const Checkpoint& checkpoint, const std::string& path) {
  torch::serialize::OutputArchive archive;
  detail::write_model_archive(model, archive);
  torch::serialize::OutputArchive state(archive.compilation_unit());
  state.write("run", c10::IValue(identity));
  state.write("epoch", c10::IValue(int64_t(checkpoint.epoch)));
  state.write("history", c10::IValue(checkpoint.history.dump()));
  torch::serialize::OutputArchive optimizer(archive.compilation_unit());
  trainer.save_state(optimizer);
  state.write("optimizer", optimizer);
  archive.write("training_state", state);
  detail::save_archive(archive, path);
}

// Copies every parameter and buffer of `init` into `model`: a later stage of training. The
// features, the speakers and every layer's shape must match; dropout and the margin may differ.
void start_from(SpeakerModel& model, const SpeakerModel& init, const std::string& path) {
  const auto& from = detail::ModelAccess::impl(init);
  auto& to = detail::ModelAccess::impl(model);
  if (from.labels != to.labels || from.features.to_json() != to.features.to_json()) {
    throw Error(ErrorCode::kInvalidArgument,
                path +
                    " was trained on other speakers or features: start from a model of this "
                    "corpus made with the same feature options");
  }
  const auto source = from.net->named_parameters(true);
  const auto source_buffers = from.net->named_buffers(true);
  torch::NoGradGuard no_grad;
  const auto copy = [&](const torch::OrderedDict<std::string, torch::Tensor>& targets,
                        const torch::OrderedDict<std::string, torch::Tensor>& sources) {
    for (const auto& item : targets) {
      const torch::Tensor* value = sources.find(item.key());
      if (value == nullptr || !value->sizes().equals(item.value().sizes())) {
        throw Error(ErrorCode::kInvalidArgument,
                    path + " has another network shape (layer " + item.key() +
                        "): use the same --channels, --dense-size and --embedding-size");
      }
      item.value().copy_(*value);
    }
  };
  copy(to.net->named_parameters(true), source);
  copy(to.net->named_buffers(true), source_buffers);
}

}  // namespace

SpeakerModel pretrain(const PretrainOptions& options, const TrainingCallbacks& callbacks) {
  options.validate();
  const auto say = [&](const std::string& m) {
    if (callbacks.on_message) callbacks.on_message(m);
  };
  const TrainingOptions& training = options.training;
  set_model_threads(training.threads);
  AudioOptions audio = options.audio;
  audio.sample_rate_hz = options.features.sample_rate_hz;
  const int rate = audio.sample_rate_hz;
  if (num_frames_for(std::lround(training.crop_min_seconds * rate), options.features) <
      options.network.min_frames()) {
    throw Error(ErrorCode::kInvalidArgument,
                "the shortest training crop is shorter than the network's " +
                    std::to_string(options.network.min_frames()) +
                    " frames: raise the minimum crop length or use fewer blocks");
  }

  const auto load_start = std::chrono::steady_clock::now();
  std::vector<std::string> skipped;
  auto speakers = load_speaker_folders(list_speaker_folders(options.corpus_dir), audio, options.vad,
                                       0, &skipped);
  std::ostringstream loaded;
  loaded << "loaded " << speakers.size() << " speakers, " << std::lround(seconds_of(speakers, rate))
         << " s of speech, in "
         << std::lround(std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start)
                            .count())
         << " s; " << skipped.size() << " files skipped";
  say(loaded.str());
  for (const auto& s : skipped) say("skipped " + s);
  const double speech_seconds = seconds_of(speakers, rate);

  std::vector<std::vector<float>> noises;
  if (!options.noise_dir.empty()) noises = load_noise_folder(options.noise_dir, audio);
  std::vector<SpeakerSpeech> dev, impostors;
  if (!options.dev_speaker_dirs.empty()) {
    dev = load_speaker_folders(options.dev_speaker_dirs, audio, options.vad, 0);
    if (!options.dev_impostor_dirs.empty()) {
      impostors = load_speaker_folders(options.dev_impostor_dirs, audio, options.vad, 0);
    }
    say("dev check: " + std::to_string(dev.size()) + " speakers, " +
        std::to_string(impostors.size()) + " impostors");
  }

  std::vector<std::string> labels;
  for (const auto& s : speakers) labels.push_back(s.name);
  const std::string identity = run_identity(options, labels);
  const std::string checkpoint_path = options.output_path + ".ckpt";
  std::error_code ec;
  const bool have_checkpoint = std::filesystem::exists(checkpoint_path, ec);
  if (have_checkpoint && !options.resume) {
    throw Error(ErrorCode::kInvalidArgument,
                "a checkpoint of an earlier run exists at " + checkpoint_path +
                    ": resume it (--resume) or delete it to start over");
  }

  SpeakerModel model(options.features, options.network, labels, training.seed);
  Checkpoint checkpoint;
  torch::serialize::InputArchive archive;
  const bool resuming = have_checkpoint && options.resume;
  if (resuming) {
    detail::load_archive(archive, checkpoint_path);
    model = detail::read_model_archive(archive, checkpoint_path);
    torch::serialize::InputArchive state;
    c10::IValue run, epoch, history;
    if (!archive.try_read("training_state", state) || !state.try_read("run", run) ||
        !state.try_read("epoch", epoch) || !state.try_read("history", history)) {
      throw Error(ErrorCode::kModel,
                  checkpoint_path + " is not a pretraining checkpoint: delete it");
    }
    if (run.toStringRef() != identity) {
      throw Error(ErrorCode::kInvalidArgument,
                  checkpoint_path +
                      " was made with other settings or another corpus: use the same options "
                      "to resume, or delete it to start over");
    }
    checkpoint.epoch = static_cast<int>(epoch.toInt());
    checkpoint.history = json::parse(history.toStringRef());
  } else {
    if (options.resume)
      say("no checkpoint at " + checkpoint_path + ": starting from the first epoch");
    if (!options.init_path.empty()) {
      start_from(model, SpeakerModel::load(options.init_path), options.init_path);
      say("starting from the weights of " + options.init_path);
    }
  }

  const FeatureExtractor extractor(options.features);
  const LabelledClips val =
      split_heldout(speakers, extractor, training, options.network.min_frames());
  const Augmenter augmenter(training.augment, std::move(noises), rate, &speakers);
  const CropSampler sampler(speakers, augmenter, extractor, training);
  Trainer trainer(detail::ModelAccess::impl(model).net, TrainScope::kAll, training,
                  sampler.steps_per_epoch());
  if (resuming) {
    torch::serialize::InputArchive state, optimizer;
    archive.read("training_state", state);
    state.read("optimizer", optimizer);
    trainer.load_state(optimizer);
    say("resuming after epoch " + std::to_string(checkpoint.epoch));
  }
  say(std::to_string(sampler.steps_per_epoch()) + " steps of " +
      std::to_string(training.batch_size) + " crops per epoch, " +
      std::to_string(val.clips.size()) + " validation crops");

  const auto set_provenance = [&] {
    json provenance = {
        {"made_by", "spkid pretrain"},     {"corpus", options.corpus_dir},
        {"speakers", speakers.size()},     {"speech_seconds", std::lround(speech_seconds)},
        {"noise", options.noise_dir},      {"training", json::parse(training.to_json())},
        {"epochs_done", checkpoint.epoch}, {"history", checkpoint.history}};
    if (!options.command.empty()) provenance["command"] = options.command;
    model.set_provenance_json(provenance.dump());
  };
  for (int epoch = checkpoint.epoch + 1; epoch <= training.epochs; ++epoch) {
    EpochReport report = trainer.run_epoch(epoch, sampler, val, callbacks);
    if (!dev.empty()) report.dev = evaluate_unseen_speakers(model, dev, impostors, options.dev);
    checkpoint.epoch = epoch;
    checkpoint.history.push_back(epoch_json(report));
    set_provenance();
    write_checkpoint(model, trainer, identity, checkpoint, checkpoint_path);
    if (callbacks.on_epoch) callbacks.on_epoch(report);
  }
  set_provenance();
  model.save(options.output_path);
  return model;
}

}  // namespace spkid
