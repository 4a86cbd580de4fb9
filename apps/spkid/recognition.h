// What the commands that recognise voices with the store's model share (identify, verify).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli.h"
#include "open_set_report.h"
#include "spkid/recognizer.h"
#include "spkid/store.h"

namespace spkid::cli {

// The audio and voice-activity flag groups: how a file becomes chunks of speech.
void add_recognition_options(CLI::App& command, RecognitionOptions& options);

// --threshold, overriding the model's calibrated score threshold.
void add_threshold_option(CLI::App& command, std::optional<double>& threshold);
// --top N: the answer and its runners-up.
void add_top_option(CLI::App& command, std::size_t& top);

// {"speaker": NAME or "unknown", "known": ..., "score": ..., "top": [{"speaker", "score"}...]}:
// the answer's part of identify's and listen's JSON lines.
nlohmann::json identification_json(const Identification& answer);

// Opens the store for writing when its folder allows, so that embeddings the recognizer computes
// for clips the current model has not embedded yet are kept for next time; a read-only store is
// still read. Throws Error(kStore) when there is no store ("enroll a speaker first").
Store open_store_for_recognition(const std::string& dir);

// `requested` when given, else the model's threshold. Throws Error(kInvalidArgument) for a
// threshold that is not a finite number.
double decision_threshold(const Recognizer& recognizer, const std::optional<double>& requested);

}  // namespace spkid::cli
