// The commands that change or show the enrollment store: enroll, list, remove, rename.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "spkid/enroll.h"
#include "spkid/store.h"

namespace spkid::cli {

Command add_enroll_command(CLI::App& parent, const Context& context);
Command add_list_command(CLI::App& parent, const Context& context);
Command add_remove_command(CLI::App& parent, const Context& context);
Command add_rename_command(CLI::App& parent, const Context& context);

// How enroll embeds new clips with the store's current speaker model, or nullptr when that model
// cannot embed them (they are then stored without embeddings). Only spkid-model, which links
// LibTorch, sets one (enroll_model.cpp); spkid runs enroll itself while the store has no model,
// and hands it to spkid-model once it has one.
using ModelEmbedderFactory = std::unique_ptr<ClipEmbedder> (*)(const Store& store,
                                                               const FeatureOptions& features);
void set_model_embedder_factory(ModelEmbedderFactory factory);

// A speaker's totals as JSON fields, shared by the commands' --json output.
nlohmann::json speaker_totals_json(const SpeakerSummary& speaker);

// "82%": how far the speaker's speech is toward the recommended amount, capped at 100%; and the
// header of a table column of them, "of 30 s".
std::string progress_toward_recommended(double speech_seconds);
std::string progress_header();

}  // namespace spkid::cli
