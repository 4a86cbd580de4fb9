// How well a store's voices can be told apart, as train, eval and list report it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "spkid/open_set.h"

namespace spkid::cli {

// One line of text: the threshold, and what holding each speaker out as a stranger measured.
std::string describe_open_set(const OpenSetCalibration& open_set);
// The same figures as a JSON object (rates null when there were no trials).
nlohmann::json open_set_json(const OpenSetCalibration& open_set);

}  // namespace spkid::cli
