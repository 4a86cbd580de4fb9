// spkid listen - | FILE | --device NAME: who speaks in live audio, one line per utterance as
// soon as it ends.
#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>

#include "pcm_source.h"
#include "recognition.h"
#include "spkid/stream.h"
#include "table.h"

namespace spkid::cli {
namespace {

struct ListenSettings {
  std::string input;
  std::string device;
  std::string format = "S16_LE";
  int rate = 16000;
  int channels = 1;
  std::optional<double> threshold;
  std::size_t top = 1;
  bool json = false;
  UtteranceOptions utterance;
};

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop = true; }

// SIGINT and SIGTERM end the input, not the process: what is pending is still answered. No
// SA_RESTART, so a blocking read returns at once.
void catch_stop_signals() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

nlohmann::json result_json(const StreamResult& r) {
  nlohmann::json object = {{"start", r.start_seconds}, {"end", r.end_seconds}};
  if (!r.identification) {
    object["error"] = {{"code", error_code_name(r.error->code())}, {"message", r.error->what()}};
    return object;
  }
  object.update(identification_json(*r.identification));
  return object;
}

// "12.30-14.10 s: alice (score 5.10)".
std::string result_text(const StreamResult& r) {
  std::string line = fixed(r.start_seconds) + "-" + fixed(r.end_seconds) + " s: ";
  if (!r.identification) return line + "not identified (" + r.error->what() + ")";
  const Identification& id = *r.identification;
  if (id.known) return line + id.speaker + " (score " + fixed(id.score) + ")";
  return line + "unknown (best: " + id.top.front().speaker + ", score " + fixed(id.score) + ")";
}

int run_listen(const ListenSettings& settings, const Context& context) {
  catch_stop_signals();  // before the model loads: a stop then still exits cleanly
  settings.utterance.validate();
  if (settings.input.empty() == settings.device.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "give the audio to listen to: - (standard input), a FILE, or --device NAME");
  }
  PcmSettings pcm{parse_pcm_format(settings.format), settings.rate, settings.channels};
  if (pcm.sample_rate_hz < 1 || pcm.channels < 1) {
    throw Error(ErrorCode::kInvalidArgument, "--rate and --channels must be at least 1");
  }
  // The store must exist: listening creates nothing.
  Store::open(context.store_dir, StoreAccess::kRead);
  EngineOptions options;
  options.threshold = settings.threshold;
  const Engine engine = Engine::open(context.store_dir, options);
  if (engine.speakers().empty()) {
    throw Error(ErrorCode::kStore, "nobody is enrolled in " + context.store_dir +
                                       ": enroll speakers first (spkid enroll FILE --name NAME)");
  }

  std::unique_ptr<PcmSource> source;
  int fd = -1;
  if (!settings.device.empty()) {
    source = open_alsa_source(settings.device, pcm);
  } else {
    fd = settings.input == "-" ? 0 : ::open(settings.input.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      throw Error(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                  settings.input + ": cannot open (" + std::strerror(errno) + ")");
    }
    source = open_fd_source(fd, input_name(settings.input), pcm);
  }
  const bool json = settings.json || !::isatty(1);
  spdlog::info("listening: {} Hz, {} channel(s); {} enrolled; threshold {}",
               source->sample_rate_hz(), source->channels(), engine.speakers().size(),
               fixed(engine.threshold()));
  IdentifyStream stream(engine, source->sample_rate_hz(), source->channels(), settings.utterance,
                        settings.top);
  const auto print = [json](const std::vector<StreamResult>& results) {
    for (const StreamResult& r : results) {
      if (json) {
        print_json_line(result_json(r));
      } else {
        std::cout << result_text(r) << '\n';
      }
    }
    std::cout.flush();
  };

  std::vector<float> samples;
  bool more = true;
  while (more && !g_stop) {
    samples.clear();
    more = source->read(samples);
    const auto frames = samples.size() / static_cast<std::size_t>(source->channels());
    print(stream.push(samples.data(), frames));
  }
  print(stream.finish());
  if (fd > 0) ::close(fd);
  spdlog::debug("listened to {:.1f} s", stream.seconds_pushed());
  return kExitSuccess;
}

}  // namespace

Command add_listen_command(CLI::App& parent, const Context& context) {
  auto settings = std::make_shared<ListenSettings>();
  CLI::App* command = parent.add_subcommand(
      "listen", "Say who speaks in live audio, one line per utterance as soon as it ends");
  command->add_option("INPUT", settings->input, "- for standard input, or a file")
      ->type_name("");
  command->add_option("--device", settings->device, "Capture from this ALSA device instead")
      ->type_name("NAME");
  command
      ->add_option("--format", settings->format,
                   "Raw input's sample format: S16_LE, S32_LE, FLOAT_LE or U8 (a WAV stream "
                   "says its own)")
      ->capture_default_str()
      ->type_name("FMT");
  command->add_option("--rate", settings->rate, "Raw input's (or the device's) sample rate")
      ->capture_default_str()
      ->type_name("HZ");
  command->add_option("--channels", settings->channels, "Raw input's (or the device's) channels")
      ->capture_default_str()
      ->type_name("N");
  add_threshold_option(*command, settings->threshold);
  add_top_option(*command, settings->top);
  add_json_flag(*command, settings->json);
  UtteranceOptions& u = settings->utterance;
  const char* group = "Utterances";
  add_value(*command, "--end-silence", u.end_silence_seconds, "Non-speech that ends an utterance",
            "S", group);
  add_value(*command, "--min-speech", u.min_speech_seconds, "Shorter utterances are ignored", "S",
            group);
  add_value(*command, "--max-utterance", u.max_seconds,
            "A longer utterance is answered in parts of this length", "S", group);
  command->footer(
      "Reads until the input ends or SIGINT/SIGTERM, then answers what is pending and exits 0.\n"
      "With --json (the default when standard output is not a terminal), one object per line:\n"
      "  {\"start\": S, \"end\": S, \"speaker\": NAME or \"unknown\", \"known\": ..., \"score\": "
      "...,\n"
      "   \"top\": [...]}   or   {\"start\": S, \"end\": S, \"error\": {\"code\": ..., "
      "\"message\": ...}}\n\n"
      "Examples:\n"
      "  arecord -f S16_LE -r 16000 -c 1 | spkid listen -\n"
      "  spkid listen --device default\n"
      "  sox meeting.flac -t wav - | spkid listen --json -");
  return {command, [settings, &context] { return run_listen(*settings, context); }};
}

}  // namespace spkid::cli
