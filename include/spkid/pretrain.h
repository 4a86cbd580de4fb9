// Pretraining the speaker network: a classifier of a corpus's speakers (one folder per speaker),
// checked every epoch on speakers it never saw.
#pragma once

#include <string>
#include <vector>

#include "spkid/audio.h"
#include "spkid/evaluation.h"
#include "spkid/features.h"
#include "spkid/model.h"
#include "spkid/training.h"
#include "spkid/vad.h"

namespace spkid {

struct PretrainOptions {
  std::string corpus_dir;   // one sub-folder of audio files per speaker
  std::string noise_dir;    // background noise recordings; empty: generated noise only
  std::string output_path;  // the model; the checkpoint is output_path + ".ckpt"
  bool resume = false;      // continue from the checkpoint
  // Optional model whose weights the run starts from (same features, speakers and layer shapes),
  // with a fresh optimiser and schedule: a second stage after an earlier run.
  std::string init_path;
  FeatureOptions features;
  NetworkOptions network;
  AudioOptions audio;
  VadOptions vad;
  TrainingOptions training;
  // Optional check of every epoch on speakers outside the corpus (reported, never trained on).
  std::vector<std::string> dev_speaker_dirs;
  std::vector<std::string> dev_impostor_dirs;
  EvaluationOptions dev;  // evaluate_unseen_speakers() (evaluation.h)
  std::string command;    // how the run was started, recorded in the model's provenance

  void validate() const;  // throws Error(kInvalidArgument)
};

// Trains a new network as a classifier of the corpus's speakers, writing a checkpoint after every
// epoch and the model at the end (output_path). The same options and seed give the same model,
// also when resumed. Throws Error (kInvalidArgument, kNotFound, kNoSpeech, kModel, kIo).
SpeakerModel pretrain(const PretrainOptions& options, const TrainingCallbacks& callbacks = {});

}  // namespace spkid
