// What a store's models computed of its enrolled clips, computed when missing and kept
// (store_embeddings.h).
#include "spkid/store_embeddings.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <type_traits>

#include "spkid/error.h"
#include "spkid/model_registry.h"

namespace spkid {
namespace {

// Clips whose features are read and embedded at a time (256 clips of 6 s are 39 MB of features):
// the first model command after a batch enrollment of thousands of speakers embeds them page by
// page, storing each page before reading the next, so memory stays bounded and an interruption
// keeps every page done.
constexpr std::size_t kClipsPerPage = 256;

// Calls `page_fn` with each page of the clips `query` selects, in id order.
template <typename PageFn>
void for_each_page(const Store& store, ClipQuery query, PageFn page_fn) {
  query.limit = kClipsPerPage;
  for (;;) {
    const std::vector<StoredClip> page = store.clips(query);
    if (page.empty()) return;
    page_fn(page);
    if (page.size() < kClipsPerPage) return;
    query.after_clip_id = page.back().id;
  }
}

std::vector<FeatureMatrix> features_of(const std::vector<StoredClip>& clips) {
  std::vector<FeatureMatrix> features;
  features.reserve(clips.size());
  for (const StoredClip& clip : clips) features.push_back(clip.features);
  return features;
}

// Stores `embeddings` by the model `model_id`; false when they can only be kept in memory (the
// model is not in the store, or the store cannot be written: they are only a cache, computed
// again next time).
template <typename Embedding>
bool store_embeddings(Store& store, int64_t model_id, const std::vector<Embedding>& embeddings) {
  if (model_id == kUnregisteredModelId) return false;
  try {
    if constexpr (std::is_same_v<Embedding, WindowEmbedding>) {
      store.set_window_embeddings(model_id, embeddings);
    } else {
      store.set_embeddings(model_id, embeddings);
    }
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

EnrolledEmbeddings enrolled_embeddings(Store& store, const SpeakerModel& model, int64_t model_id) {
  EnrolledEmbeddings unstored;  // embedded now but not stored, by speaker
  ClipQuery missing;
  missing.missing_embedding_for_model = model_id;
  for_each_page(store, missing, [&](const std::vector<StoredClip>& page) {
    auto embeddings = model.embed_batch(features_of(page));
    std::vector<ClipEmbedding> fresh;
    fresh.reserve(page.size());
    for (std::size_t i = 0; i < page.size(); ++i) {
      fresh.push_back({page[i].id, std::move(embeddings[i])});
    }
    if (store_embeddings(store, model_id, fresh)) return;
    for (std::size_t i = 0; i < page.size(); ++i) {
      unstored[page[i].speaker].push_back(std::move(fresh[i].embedding));
    }
  });
  EnrolledEmbeddings enrolled;
  if (model_id != kUnregisteredModelId) {
    for (StoredEmbedding& stored : store.embeddings(model_id)) {
      enrolled[stored.speaker].push_back(std::move(stored.embedding));
    }
  }
  for (auto& [speaker, embeddings] : unstored) {
    for (auto& embedding : embeddings) enrolled[speaker].push_back(std::move(embedding));
  }
  return enrolled;
}

std::vector<FeatureMatrix> calibration_windows(const FeatureMatrix& clip, const SpeakerModel& model,
                                               double window_seconds) {
  const FeatureOptions& features = model.feature_options();
  const int min_frames = model.network_options().min_frames();
  if (clip.num_frames < min_frames) return {};
  const int window_frames = std::max(
      min_frames, num_frames_for(std::lround(window_seconds * features.sample_rate_hz), features));
  std::vector<int> starts;
  if (clip.num_frames <= window_frames) {
    starts.push_back(0);
  } else {
    const int hop = std::max(1, window_frames / 2);
    for (int begin = 0; begin + window_frames <= clip.num_frames; begin += hop) {
      starts.push_back(begin);
    }
    if (starts.back() + window_frames < clip.num_frames) {
      starts.push_back(clip.num_frames - window_frames);
    }
  }
  std::vector<FeatureMatrix> windows;
  for (const int begin : starts) {
    FeatureMatrix w;
    w.num_frames = std::min(window_frames, clip.num_frames);
    w.num_features = clip.num_features;
    w.data.assign(clip.data.begin() + std::size_t(begin) * clip.num_features,
                  clip.data.begin() + std::size_t(begin + w.num_frames) * clip.num_features);
    // Normalisation is affine per band: normalising a slice of normalised features gives the
    // slice's own normalisation, as if it had been a clip of its own.
    if (features.normalize_mean) normalize_utterance(w, features.normalize_variance);
    windows.push_back(std::move(w));
  }
  return windows;
}

CalibrationClips calibration_clips(Store& store, const SpeakerModel& model, int64_t model_id,
                                   double window_seconds) {
  std::map<int64_t, std::vector<std::vector<float>>> windows_of;  // embedded now, not stored
  ClipQuery missing;
  missing.missing_window_embeddings_for_model = model_id;
  for_each_page(store, missing, [&](const std::vector<StoredClip>& page) {
    std::vector<FeatureMatrix> windows;
    std::vector<WindowEmbedding> fresh;
    for (const StoredClip& clip : page) {
      auto cut = calibration_windows(clip.features, model, window_seconds);
      for (std::size_t w = 0; w < cut.size(); ++w) {
        windows.push_back(std::move(cut[w]));
        fresh.push_back({clip.id, int(w), {}});
      }
    }
    if (windows.empty()) return;
    auto embeddings = model.embed_batch(windows);
    for (std::size_t i = 0; i < windows.size(); ++i) fresh[i].embedding = std::move(embeddings[i]);
    if (store_embeddings(store, model_id, fresh)) return;
    for (WindowEmbedding& w : fresh) windows_of[w.clip_id].push_back(std::move(w.embedding));
  });
  std::vector<StoredEmbedding> clip_embeddings;
  if (model_id != kUnregisteredModelId) {
    for (StoredWindowEmbedding& w : store.window_embeddings(model_id)) {
      windows_of[w.clip_id].push_back(std::move(w.embedding));
    }
    clip_embeddings = store.embeddings(model_id);
  } else {
    for_each_page(store, ClipQuery{}, [&](const std::vector<StoredClip>& page) {
      auto embedded = model.embed_batch(features_of(page));
      for (std::size_t i = 0; i < page.size(); ++i) {
        StoredEmbedding e;
        e.clip_id = page[i].id;
        e.speaker = page[i].speaker;
        e.embedding = std::move(embedded[i]);
        clip_embeddings.push_back(std::move(e));
      }
    });
  }
  CalibrationClips clips;
  for (StoredEmbedding& e : clip_embeddings) {
    CalibrationClip clip;
    clip.id = e.clip_id;
    clip.embedding = std::move(e.embedding);
    const auto it = windows_of.find(e.clip_id);
    if (it != windows_of.end()) clip.windows = std::move(it->second);
    clips[e.speaker].push_back(std::move(clip));
  }
  return clips;
}

}  // namespace spkid
