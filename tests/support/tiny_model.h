// A small speaker network pretrained in seconds on generated voices: the base model of the tests
// that run the model commands (they pass its path as SPKID_BASE_MODEL).
#pragma once

#include <string>

namespace spkid::test {

// The path of a tiny base model with the default feature settings, pretrained on eight generated
// voices (pitch 90-295 Hz) on the first call in this process, in a few seconds, and kept in a
// temporary folder until the process ends. It is trained with the AAM loss, so it carries a
// cohort of its pretraining speakers. Enroll other voices in tests, as real enrollment does.
const std::string& tiny_base_model();

}  // namespace spkid::test
