// libFuzzer target for the decode and feature path (fuzz_input.h). Built a second time with
// SPKID_FUZZ_SEEDS_MAIN as fuzz_seeds, which writes the seed corpus: libFuzzer owns main() here.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_input.h"

#ifdef SPKID_FUZZ_SEEDS_MAIN
#include <filesystem>
#include <fstream>

// fuzz_seeds DIR: writes every seed into DIR (made if missing).
int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  std::filesystem::create_directories(argv[1]);
  for (const spkid::fuzz::Seed& seed : spkid::fuzz::make_seeds()) {
    const std::string path = std::string(argv[1]) + "/seed-" + seed.name;
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(seed.bytes.data()),
              static_cast<std::streamsize>(seed.bytes.size()));
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", path.c_str());
      return 1;
    }
  }
  return 0;
}
#else
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string violation = spkid::fuzz::check_input(data, size);
  if (!violation.empty()) {
    // abort() makes libFuzzer save the input as crash-<sha1> and stop.
    std::fprintf(stderr, "invariant violated: %s\n", violation.c_str());
    std::abort();
  }
  return 0;
}
#endif
