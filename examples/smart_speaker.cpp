// A smart speaker's loop on spkid's engine: 16 kHz 16-bit mono PCM on standard input (a
// microphone through arecord), one greeting per utterance as soon as the speaker stops.
//
//   arecord -f S16_LE -r 16000 -c 1 -d 30 > alice.raw && smart_speaker STORE enroll alice <
//   alice.raw arecord -f S16_LE -r 16000 -c 1 | smart_speaker STORE
#include <spkid/engine.h>
#include <spkid/stream.h>

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr int kRate = 16000;

// Reads up to `frames` samples of 16-bit PCM; fewer at the end of the input.
std::vector<float> read_pcm(std::size_t frames) {
  std::vector<int16_t> raw(frames);
  raw.resize(std::fread(raw.data(), sizeof(int16_t), frames, stdin));
  std::vector<float> samples(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) samples[i] = raw[i] / 32768.0f;
  return samples;
}

void greet(const spkid::StreamResult& heard) {
  std::cout << "[" << heard.start_seconds << "-" << heard.end_seconds << " s] ";
  if (!heard.identification) {
    std::cout << "(not identified: " << heard.error->what() << ")\n";
  } else if (heard.identification->known) {
    std::cout << "hello, " << heard.identification->speaker << "\n";
  } else {
    std::cout << "hello, whoever you are\n";
  }
  std::cout.flush();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && !(argc == 4 && std::string(argv[2]) == "enroll")) {
    std::cerr << "usage: smart_speaker STORE [enroll NAME] < 16 kHz S16_LE mono PCM\n";
    return 2;
  }
  try {
    spkid::Engine engine = spkid::Engine::open(argv[1]);
    if (argc == 4) {
      const std::vector<float> voice = read_pcm(kRate * 120);
      const spkid::SpeakerEnrollment done =
          engine.enroll(argv[3], {voice.data(), voice.size(), kRate});
      std::cout << "enrolled " << done.speaker << ": " << done.summary->speech_seconds
                << " s of speech\n";
      return 0;
    }
    spkid::IdentifyStream stream(engine, kRate);
    for (;;) {
      const std::vector<float> chunk = read_pcm(kRate / 10);  // 100 ms at a time
      for (const auto& heard : stream.push(chunk.data(), chunk.size())) greet(heard);
      if (chunk.size() < kRate / 10) break;
    }
    for (const auto& heard : stream.finish()) greet(heard);
    return 0;
  } catch (const spkid::Error& error) {
    std::cerr << "smart_speaker: " << error.what() << "\n";
    return 1;
  }
}
