// A speaker model as enrollment's embedder (enroll.h's ClipEmbedder): the store's current model
// embeds the new clips and checks that they sound like the speaker's earlier ones.
#pragma once

#include <cstdint>
#include <memory>

#include "spkid/enroll.h"
#include "spkid/model.h"

namespace spkid {

// Until a model carries its own ("cosine" threshold): embeddings of one voice by the network
// are far closer than this.
inline constexpr double kDefaultSameSpeakerCosine = 0.5;

// `model` is the store's model `model_id` (ModelRecord::id), under which the embeddings are
// stored. Its embed() may be called from several threads; they take turns, as LibTorch spreads
// one batch over the cores itself.
std::unique_ptr<ClipEmbedder> make_model_embedder(SpeakerModel model, int64_t model_id);

}  // namespace spkid
