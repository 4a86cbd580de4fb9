#include "tiny_model.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "spkid/pretrain.h"
#include "spkid/training.h"
#include "synth.h"

namespace spkid::test {
namespace {

constexpr double kSecondsPerFile = 4;
constexpr int kFilesPerVoice = 2;

// Far apart in pitch and vocal tract, as different people are.
const std::vector<Voice>& pretraining_voices() {
  static const std::vector<Voice> voices = {
      {90, {550, 1050, 2400}, 0.3},  {115, {700, 1250, 2650}, 0.3}, {140, {600, 1700, 2500}, 0.3},
      {160, {800, 1150, 2900}, 0.3}, {190, {650, 1450, 2750}, 0.3}, {220, {900, 1550, 3100}, 0.3},
      {255, {750, 1900, 3000}, 0.3}, {295, {950, 1300, 3300}, 0.3}};
  return voices;
}

// corpus/<voice>/<n>.wav: one folder per voice, as pretraining takes a corpus.
void write_corpus(const std::string& corpus_dir, int sample_rate_hz) {
  const std::vector<Voice>& voices = pretraining_voices();
  for (std::size_t v = 0; v < voices.size(); ++v) {
    const std::string speaker_dir = corpus_dir + "/voice" + std::to_string(v);
    std::filesystem::create_directories(speaker_dir);
    for (int f = 0; f < kFilesPerVoice; ++f) {
      const auto seed = static_cast<unsigned>(1000 + kFilesPerVoice * v + f);
      write_audio(speaker_dir + "/" + std::to_string(f) + ".wav",
                  speech_like(voices[v], kSecondsPerFile, sample_rate_hz, seed), sample_rate_hz);
    }
  }
}

// Default features; a network small enough to learn the voices in a few hundred steps.
PretrainOptions tiny_pretraining(const std::string& dir) {
  PretrainOptions options;
  options.corpus_dir = dir + "/corpus";
  options.output_path = dir + "/base.pt";
  NetworkOptions& network = options.network;
  network.channels = {4, 8, 16, 32};
  network.dense_size = 32;
  network.embedding_size = 32;
  network.conv_dropout = 0;
  network.dense_dropout = 0;
  network.loss = LossType::kAam;
  TrainingOptions& training = options.training;
  training.epochs = 8;
  training.crops_per_speaker = 16;
  training.batch_size = 16;
  training.crop_min_seconds = 1;
  training.crop_max_seconds = 1.5;
  training.val_crop_seconds = 1;
  training.learning_rate = 1e-2;
  training.final_learning_rate = 1e-3;
  training.warmup_epochs = 1;
  // One LibTorch thread: on a busy machine a second one spins waiting and costs ten times more.
  training.threads = 1;
  // Clean crops: the voices differ only in pitch and formants, and the model must learn them
  // within seconds.
  training.augment.noise_probability = 0;
  training.augment.speed_probability = 0;
  training.augment.spec_augment_probability = 0;
  training.augment.pitch_probability = 0;
  training.augment.reverb_probability = 0;
  training.augment.telephone_probability = 0;
  return options;
}

}  // namespace

void write_tiny_base_model(const std::string& path) {
  const TempDir dir;
  const PretrainOptions options = tiny_pretraining(dir.path());
  write_corpus(options.corpus_dir, options.features.sample_rate_hz);
  pretrain(options);
  // Whole or not at all: tests of another process may be waiting for it.
  const std::string partial = path + ".partial";
  std::filesystem::copy_file(options.output_path, partial,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::rename(partial, path);
}

const std::string& tiny_base_model() {
  static const TempDir dir;  // removed at exit
  static const std::string path = [] {
    const char* made = std::getenv("SPKID_TEST_TINY_MODEL");
    if (made != nullptr && std::filesystem::is_regular_file(made)) return std::string(made);
    const std::string own = dir.file("base.pt");
    write_tiny_base_model(own);
    return own;
  }();
  return path;
}

}  // namespace spkid::test
