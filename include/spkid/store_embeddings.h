// What a store's models computed of its enrolled clips: one embedding per clip, and the 3 s
// windows that calibrate the open-set decision. Computed when missing, a page of clips at a
// time, and kept in the store for next time (in memory only when it cannot be written).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "spkid/features.h"
#include "spkid/model.h"
#include "spkid/open_set.h"
#include "spkid/store.h"

namespace spkid {

// One model's embeddings of every enrolled speaker's clips (unit length), by speaker.
using EnrolledEmbeddings = std::map<std::string, std::vector<std::vector<float>>>;

// Every enrolled speaker's clip embeddings by `model` (the store's model `model_id`). Those the
// store lacks are computed and saved for next time (kept in memory only when the store cannot
// be written).
EnrolledEmbeddings enrolled_embeddings(Store& store, const SpeakerModel& model, int64_t model_id);

// The windows of one enrollment clip's features that calibrate the open-set decision:
// `window_seconds` long (the length identify cuts), every half window, the last ending with the
// clip; a shorter clip is one window, one too short for the network none.
std::vector<FeatureMatrix> calibration_windows(const FeatureMatrix& clip, const SpeakerModel& model,
                                               double window_seconds);

// Every enrolled clip's embedding and its windows' embeddings by `model` (calibration_windows of
// the stored features). Those the store lacks are computed and saved as enrolled_embeddings()
// does.
CalibrationClips calibration_clips(Store& store, const SpeakerModel& model, int64_t model_id,
                                   double window_seconds);

}  // namespace spkid
