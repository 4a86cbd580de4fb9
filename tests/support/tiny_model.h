// A small speaker network pretrained in seconds on generated voices: the base model of the tests
// that run the model commands (they pass its path as SPKID_BASE_MODEL).
#pragma once

#include <string>

namespace spkid::test {

// The path of a tiny base model with the default feature settings, pretrained on eight generated
// voices (pitch 90-295 Hz) in a few seconds. It is trained with the AAM loss, so it carries a
// cohort of its pretraining speakers. Enroll other voices in tests, as real enrollment does.
// Under ctest it is made once per run (the tiny_model fixture, which sets
// $SPKID_TEST_TINY_MODEL); a test program run by hand makes its own on the first call and keeps
// it in a temporary folder until the process ends. Both are the same model (same seed).
const std::string& tiny_base_model();

// Pretrains the tiny model and writes it to `path` (whole: written beside it, then renamed).
void write_tiny_base_model(const std::string& path);

}  // namespace spkid::test
