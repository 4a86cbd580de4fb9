// spkid pretrain CORPUS_DIR -o MODEL: trains the base speaker network as a classifier of the
// corpus's speakers (one folder each).
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>

#include "cli.h"
#include "model_options.h"
#include "spkid/pretrain.h"
#include "spkid/training.h"

namespace spkid::cli {
namespace {

// The command line as typed (from /proc), recorded in the model so the run can be repeated.
std::string own_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string line;
  size_t start = 0;
  while (start < raw.size()) {
    const size_t end = raw.find('\0', start);
    const std::string arg = raw.substr(start, end - start);
    if (!line.empty()) line += ' ';
    const bool plain = !arg.empty() && arg.find_first_of(" \t'\"$*?\\") == std::string::npos;
    line += plain ? arg : "'" + arg + "'";
    start = end == std::string::npos ? raw.size() : end + 1;
  }
  return line;
}

std::string percent(double fraction) { return fmt::format("{:.1f}%", 100 * fraction); }

void log_epoch(const EpochReport& r) {
  std::string line = fmt::format(
      "epoch {}/{}: loss {:.4f}, train acc {}, val loss {:.4f}, val acc {}, lr {:.2e}, {:.0f} s",
      r.epoch, r.epochs, r.train_loss, percent(r.train_accuracy), r.val_loss,
      percent(r.val_accuracy), r.learning_rate, r.seconds);
  if (r.dev) {
    line += fmt::format("; dev top-1 {}, EER {}, minDCF {:.3f}, open-set EER {}",
                        percent(r.dev->top1_accuracy), percent(r.dev->eer.rate),
                        r.dev->min_dcf.cost, percent(r.dev->open_set_eer.rate));
  }
  spdlog::info("{}", line);
}

int run_pretrain(PretrainOptions& options) {
  options.features.sample_rate_hz = options.audio.sample_rate_hz;
  options.command = own_command_line();
  // Training activations exceed glibc's mmap threshold, so every step would map, zero-fill and
  // unmap them again; keeping freed memory in the heap saved a fifth of the epoch time.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);

  // A progress line redrawn in place on a terminal; logs and pipes get the epoch lines only.
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  auto last_draw = std::chrono::steady_clock::now();
  bool line_drawn = false;
  const auto clear_line = [&] {
    if (line_drawn) std::fputs("\r\033[K", stderr);
    line_drawn = false;
  };
  TrainingCallbacks callbacks;
  callbacks.on_message = [&](const std::string& message) {
    clear_line();
    spdlog::info("{}", message);
  };
  callbacks.on_step = [&](const TrainingProgress& p) {
    const auto now = std::chrono::steady_clock::now();
    if (terminal && (now - last_draw > std::chrono::milliseconds(250) || p.step == p.steps)) {
      std::fprintf(stderr, "\r\033[Kepoch %d/%d  step %d/%d  loss %.4f  acc %.1f%%", p.epoch,
                   p.epochs, p.step, p.steps, p.loss, 100 * p.accuracy);
      line_drawn = true;
      last_draw = now;
    } else if (!terminal && p.step % 20 == 0) {
      spdlog::debug("epoch {}/{} step {}/{} loss {:.4f} acc {}", p.epoch, p.epochs, p.step, p.steps,
                    p.loss, percent(p.accuracy));
    }
  };
  callbacks.on_epoch = [&](const EpochReport& report) {
    clear_line();
    log_epoch(report);
  };

  const SpeakerModel model = pretrain(options, callbacks);
  write_model_sidecars(model, options.output_path);
  const ModelInfo info = model.info();
  spdlog::info("wrote {}: {} speakers, {} parameters, {:.1f} M multiply-adds per second of audio",
               options.output_path, info.labels.size(), info.num_parameters,
               info.multiply_adds_per_second / 1e6);
  return kExitSuccess;
}

}  // namespace

Command add_pretrain_command(CLI::App& parent) {
  auto options = std::make_shared<PretrainOptions>();
  CLI::App* command = parent.add_subcommand(
      "pretrain",
      "Train the speaker network on a corpus (one folder of audio per speaker) and write a model");
  command->add_option("CORPUS_DIR", options->corpus_dir, "One sub-folder of audio per speaker")
      ->required()
      ->type_name("");
  command
      ->add_option("-o,--output", options->output_path,
                   "Model file; MODEL.ckpt holds the checkpoint of the last finished epoch")
      ->required()
      ->type_name("MODEL");
  command
      ->add_option("--noise", options->noise_dir,
                   "Folder of background-noise recordings mixed into training crops")
      ->type_name("DIR");
  command->add_flag("--resume", options->resume,
                    "Continue from MODEL.ckpt (same corpus and options)");
  command
      ->add_option("--init", options->init_path,
                   "Start from this model's weights (same corpus, features and layer sizes) with "
                   "a fresh schedule: a second stage of training")
      ->type_name("MODEL");
  command
      ->add_option("--dev-speakers", options->dev_speaker_dirs,
                   "Speaker folders outside the corpus: after each epoch, enroll the first "
                   "30 s of each and identify the rest in 3 s clips")
      ->type_name("DIR...");
  command
      ->add_option("--dev-impostors", options->dev_impostor_dirs,
                   "Speaker folders used as impostors in that check (open-set EER)")
      ->type_name("DIR...");
  add_network_options(*command, options->network);
  add_training_options(*command, options->training);
  add_augment_options(*command, options->training.augment);
  add_audio_options(*command, options->audio);
  add_vad_options(*command, options->vad);
  add_feature_options(*command, options->features);
  command->footer(
      "Examples:\n"
      "  spkid pretrain corpus/train --noise corpus/noise -o base.pt\n"
      "  spkid pretrain corpus/train --noise corpus/noise -o base.pt --resume\n"
      "  spkid pretrain corpus/train -o base.pt --dev-speakers corpus/dev/ar-* "
      "--dev-impostors corpus/dev/ls-*");
  return {command, [options] { return run_pretrain(*options); }};
}

}  // namespace spkid::cli
