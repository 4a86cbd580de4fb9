// The models a store holds: the shipped base model every new store starts from, the store's copy
// of it, the store's current model, and the base model a trained classifier was made from. A
// store keeps each model as a file beside its database, checked against the digest it recorded.
#pragma once

#include <cstdint>
#include <string>

#include "spkid/model.h"
#include "spkid/store.h"

namespace spkid {

// The model file kinds a store records (ModelRecord::kind).
inline constexpr const char* kBaseModelKind = "base";              // the shipped, pretrained one
inline constexpr const char* kClassifierModelKind = "classifier";  // made by train

// The open-set prior a base model carries (SpeakerModel::threshold): the threshold, on its scores,
// that stores too small to calibrate lean on (measured on the dev speakers, data/models/README.md).
// A model without one uses OpenSetOptions::prior_threshold.
inline constexpr const char* kOpenSetPriorThresholdName = "open_set_prior_threshold";

// The shipped base model: $SPKID_BASE_MODEL when set, else the installed copy
// (<prefix>/share/spkid/models/base.pt), else the source tree's data/models/base.pt. Throws
// Error(kModel) naming the places looked at when none exists.
std::string base_model_path();

// The store's current model. With none (a new store, or its classifier went with a removed
// speaker) the store's copy of the base model becomes current again, or the base model at
// `base_path` is copied into the store (kind kBaseModelKind) when it has no copy yet. A base
// model copy whose file has gone is copied again from the shipped base model. Throws
// Error(kModel) when the base model cannot be read or the current trained model's file has
// gone (the message says to train again), Error(kStore) when the store cannot record it.
ModelRecord ensure_current_model(Store& store, const std::string& base_path);

// The newest base model the store holds, which train fine-tunes from; the shipped one is
// registered first when the store has none (and made current when nothing else is), and
// copied again when the store's copy has gone.
ModelRecord store_base_model(Store& store);

// The id standing for a model that is not in the store (a read-only store's shipped base model,
// answering unregistered): no stored embedding has it, and none are stored under it.
inline constexpr int64_t kUnregisteredModelId = 0;

// Whether `path` is a regular file that can be looked at.
bool readable_file(const std::string& path);

// `record`, its file checked against the store's digest (Store::check_model_file), or, when the
// file has gone (deleted by hand), the base model's copy made again from the shipped base model
// (a new record: the old one's embeddings were by the file that went). Throws Error(kModel) for
// a trained classifier whose file has gone ("train again").
ModelRecord with_model_file(Store& store, const ModelRecord& record);

// The base model a classifier of the store was fine-tuned from (recorded by train). Throws
// Error(kModel) when the store no longer holds it ("train again").
ModelRecord classifier_base_model(const Store& store, const SpeakerModel& classifier);

}  // namespace spkid
