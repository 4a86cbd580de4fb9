// Command-line flags of the speaker model's options structs (network, training, augmentation),
// shared by the commands that make models (pretrain, train).
#pragma once

#include <CLI/CLI.hpp>

#include "spkid/model.h"
#include "spkid/training.h"
#include "spkid/recognizer.h"
#include "spkid/train.h"

namespace spkid::cli {

void add_network_options(CLI::App& command, NetworkOptions& options);
void add_training_options(CLI::App& command, TrainingOptions& options);
void add_augment_options(CLI::App& command, AugmentOptions& options);
// What `train` takes (and `eval --train`): fine-tuning, calibration, training and augmentation.
void add_speaker_training_options(CLI::App& command, SpeakerTrainingOptions& options);

}  // namespace spkid::cli
