#include "model_options.h"

#include <string>

#include "cli.h"
#include "spkid/train.h"

namespace spkid::cli {
namespace {

constexpr char kNetworkGroup[] = "Network";
constexpr char kTrainingGroup[] = "Training";
constexpr char kAugmentGroup[] = "Augmentation";
constexpr char kFineTuneGroup[] = "Fine-tuning";

}  // namespace

void add_network_options(CLI::App& command, NetworkOptions& options) {
  add_value(command, "--channels", options.channels,
            "Output channels of each convolution block (one block per value)", "N,...",
            kNetworkGroup)
      ->delimiter(',');
  add_value(command, "--convs-per-block", options.convs_per_block,
            "3x3 convolutions before each block's pooling", "N", kNetworkGroup);
  add_value(command, "--conv-dropout", options.conv_dropout, "Dropout after each block", "P",
            kNetworkGroup);
  add_value(command, "--dense-size", options.dense_size, "Units of the dense layer", "N",
            kNetworkGroup);
  add_value(command, "--embedding-size", options.embedding_size, "Values of the embedding", "N",
            kNetworkGroup);
  add_value(command, "--dense-dropout", options.dense_dropout, "Dropout of the pooled statistics",
            "P", kNetworkGroup);
  command
      .add_option_function<std::string>(
          "--loss", [&options](const std::string& name) { options.loss = parse_loss_type(name); },
          "softmax: cross-entropy of a linear head; aam: additive angular margin on a cosine head")
      ->check(CLI::IsMember({"softmax", "aam"}))
      ->default_str(loss_type_name(options.loss))
      ->type_name("NAME")
      ->group(kNetworkGroup);
  add_value(command, "--aam-margin", options.aam_margin, "AAM margin", "RADIANS", kNetworkGroup);
  add_value(command, "--aam-scale", options.aam_scale, "AAM logit scale", "S", kNetworkGroup);
}

void add_training_options(CLI::App& command, TrainingOptions& options) {
  add_value(command, "--epochs", options.epochs, "Passes of balanced crops", "N", kTrainingGroup);
  add_value(command, "--crops-per-speaker", options.crops_per_speaker,
            "Random crops of each speaker per epoch", "N", kTrainingGroup);
  add_value(command, "--batch-size", options.batch_size, "Crops per optimisation step", "N",
            kTrainingGroup);
  add_value(command, "--crop-min-seconds", options.crop_min_seconds, "Shortest crop", "S",
            kTrainingGroup);
  add_value(command, "--crop-max-seconds", options.crop_max_seconds, "Longest crop", "S",
            kTrainingGroup);
  add_value(command, "--learning-rate", options.learning_rate, "Peak Adam learning rate", "LR",
            kTrainingGroup);
  add_value(command, "--final-learning-rate", options.final_learning_rate,
            "Learning rate at the end of the cosine decay", "LR", kTrainingGroup);
  add_value(command, "--warmup-epochs", options.warmup_epochs, "Linear learning-rate warm-up",
            "EPOCHS", kTrainingGroup);
  add_value(command, "--weight-decay", options.weight_decay, "Decoupled weight decay", "W",
            kTrainingGroup);
  add_value(command, "--heldout-fraction", options.heldout_fraction,
            "End of each speaker's speech kept for validation", "F", kTrainingGroup);
  add_value(command, "--seed", options.seed, "Same seed and options, same model", "N",
            kTrainingGroup);
  add_value(command, "--threads", options.threads, "LibTorch threads (0: all cores)", "N",
            kTrainingGroup);
  command
      .add_flag(
          "--no-prefetch", [&options](int64_t) { options.prefetch = false; },
          "Prepare each batch on the training thread")
      ->group(kTrainingGroup);
}

void add_augment_options(CLI::App& command, AugmentOptions& options) {
  add_value(command, "--noise-probability", options.noise_probability,
            "Share of crops mixed with noise", "P", kAugmentGroup);
  add_value(command, "--real-noise-fraction", options.real_noise_fraction,
            "Of those, share taking real noise (with --noise) rather than generated", "P",
            kAugmentGroup);
  add_value(command, "--snr-min-db", options.snr_min_db, "Lowest speech-to-noise ratio", "DB",
            kAugmentGroup);
  add_value(command, "--snr-max-db", options.snr_max_db, "Highest speech-to-noise ratio", "DB",
            kAugmentGroup);
  add_value(command, "--speed-probability", options.speed_probability,
            "Share of crops played faster or slower", "P", kAugmentGroup);
  add_value(command, "--speed-min", options.speed_min, "Slowest speed factor", "F", kAugmentGroup);
  add_value(command, "--speed-max", options.speed_max, "Fastest speed factor", "F", kAugmentGroup);
  add_value(command, "--babble-fraction", options.babble_fraction,
            "Of the noisy crops, share mixed with other speakers talking at once", "P",
            kAugmentGroup);
  add_value(command, "--pitch-probability", options.pitch_probability,
            "Share of crops with their pitch moved at the same speed", "P", kAugmentGroup);
  add_value(command, "--pitch-min-cents", options.pitch_min_cents, "Lowest pitch shift", "CENTS",
            kAugmentGroup);
  add_value(command, "--pitch-max-cents", options.pitch_max_cents, "Highest pitch shift", "CENTS",
            kAugmentGroup);
  add_value(command, "--reverb-probability", options.reverb_probability,
            "Share of crops played in a simulated room", "P", kAugmentGroup);
  add_value(command, "--rt60-min", options.rt60_min_seconds, "Shortest reverberation time", "S",
            kAugmentGroup);
  add_value(command, "--rt60-max", options.rt60_max_seconds, "Longest reverberation time", "S",
            kAugmentGroup);
  add_value(command, "--telephone-probability", options.telephone_probability,
            "Share of crops sent through an 8 kHz mu-law or A-law telephone line", "P",
            kAugmentGroup);
  add_value(command, "--spec-augment-probability", options.spec_augment_probability,
            "Share of crops given SpecAugment time and frequency masks", "P", kAugmentGroup);
}

void add_speaker_training_options(CLI::App& command, SpeakerTrainingOptions& options) {
  FineTuneOptions& fine_tune = options.fine_tune;
  command
      .add_option_function<std::string>(
          "--scope",
          [&fine_tune](const std::string& name) { fine_tune.scope = parse_fine_tune_scope(name); },
          "What train adapts: head (the classifier alone), embedding (the layers after pooling "
          "too; each crop goes through the frozen convolutions once), last-block (the last "
          "convolution block too; about 10x slower)")
      ->check(CLI::IsMember({"head", "embedding", "last-block"}))
      ->default_str(fine_tune_scope_name(fine_tune.scope))
      ->type_name("SCOPE")
      ->group(kFineTuneGroup);
  command
      .add_flag(
          "--head-only", [&fine_tune](int64_t) { fine_tune.scope = FineTuneScope::kHead; },
          "The same as --scope head")
      ->group(kFineTuneGroup);
  add_value(command, "--cached-crops-per-speaker", fine_tune.cached_crops_per_speaker,
            "With --scope head or embedding: distinct augmented crops of each speaker", "N",
            kFineTuneGroup);
  add_value(command, "--patience", fine_tune.patience,
            "Stop after this many epochs without a better held-out loss", "EPOCHS", kFineTuneGroup);
  command
      .add_option("--noise", fine_tune.noise_dir,
                  "Folder of background-noise recordings mixed into training crops")
      ->type_name("DIR")
      ->group(kFineTuneGroup);
  add_training_options(command, fine_tune.training);
  add_augment_options(command, fine_tune.training.augment);
}

}  // namespace spkid::cli
