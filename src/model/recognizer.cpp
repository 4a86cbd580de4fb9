// Identification and verification against a store's enrolled speakers, and the base model a
// store starts from. The scoring mechanism is described in recognizer.h.
#include "spkid/recognizer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "spkid/error.h"
#include "spkid/features.h"
#include "spkid/speaker_name.h"

namespace spkid {
namespace {

bool readable_file(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f s", seconds);
  return text;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in && !in.eof()) {
    throw Error(ErrorCode::kIo, "cannot read " + path + ": check its permissions");
  }
  return bytes;
}

}  // namespace

std::string base_model_path() {
  if (const char* env = std::getenv("SPKID_BASE_MODEL"); env != nullptr && *env != '\0') {
    if (!readable_file(env)) {
      throw Error(ErrorCode::kModel, std::string("SPKID_BASE_MODEL is ") + env +
                                         ", which is not a file: point it at a spkid model or "
                                         "unset it to use the shipped one");
    }
    return env;
  }
  const std::string installed = std::string(SPKID_INSTALLED_MODEL_DIR) + "/base.pt";
  if (readable_file(installed)) return installed;
  const std::string source_tree = std::string(SPKID_SOURCE_MODEL_DIR) + "/base.pt";
  if (readable_file(source_tree)) return source_tree;
  throw Error(ErrorCode::kModel, "the shipped base model is missing (looked for " + installed +
                                     " and " + source_tree +
                                     "): reinstall spkid, or set SPKID_BASE_MODEL to a model");
}

namespace {

ModelRecord register_base_model(Store& store, const std::string& base_path, bool make_current) {
  const SpeakerModel base = SpeakerModel::load(base_path);
  if (const auto stored = store.feature_options()) base.check_features(*stored);
  NewModel model;
  model.kind = kBaseModelKind;
  model.feature_options = base.feature_options();
  model.metadata_json = base.metadata_json();
  model.file_extension = "pt";
  model.make_current = make_current;
  return store.register_model(model, read_bytes(base_path));
}

}  // namespace

std::map<std::string, std::vector<std::vector<float>>> enrolled_embeddings(
    Store& store, const SpeakerModel& model, int64_t model_id) {
  ClipQuery missing_query;
  missing_query.missing_embedding_for_model = model_id;
  const std::vector<StoredClip> missing = store.clips(missing_query);
  std::vector<ClipEmbedding> fresh;
  if (!missing.empty()) {
    std::vector<FeatureMatrix> features;
    features.reserve(missing.size());
    for (const StoredClip& clip : missing) features.push_back(clip.features);
    auto embeddings = model.embed_batch(features);
    fresh.reserve(missing.size());
    for (std::size_t i = 0; i < missing.size(); ++i) {
      fresh.push_back({missing[i].id, std::move(embeddings[i])});
    }
    try {
      store.set_embeddings(model_id, fresh);
    } catch (const Error&) {
      // Only a cache: a store that cannot be written (read-only) still identifies, and the
      // embeddings are computed again next time.
    }
  }
  std::map<std::string, std::vector<std::vector<float>>> enrolled;
  std::set<int64_t> stored_clips;
  for (StoredEmbedding& stored : store.embeddings(model_id)) {
    stored_clips.insert(stored.clip_id);
    enrolled[stored.speaker].push_back(std::move(stored.embedding));
  }
  for (std::size_t i = 0; i < missing.size(); ++i) {
    if (stored_clips.count(missing[i].id) == 0) {
      enrolled[missing[i].speaker].push_back(fresh[i].embedding);
    }
  }
  return enrolled;
}

ModelRecord ensure_current_model(Store& store, const std::string& base_path) {
  if (auto current = store.current_model()) return *current;
  return register_base_model(store, base_path, true);
}

ModelRecord store_base_model(Store& store) {
  const auto models = store.models();
  for (auto it = models.rbegin(); it != models.rend(); ++it) {
    if (it->kind == kBaseModelKind) return *it;
  }
  return register_base_model(store, base_model_path(), !store.current_model().has_value());
}

ChunkOptions RecognitionOptions::default_chunks() {
  ChunkOptions chunks;
  chunks.clip_seconds = 3;
  chunks.min_clip_seconds = 0.5;
  return chunks;
}

void RecognitionOptions::validate() const {
  audio.validate();
  vad.validate();
  chunk.validate();
  if (cohort_top_k < 2) {
    throw Error(ErrorCode::kInvalidArgument,
                "cohort_top_k must be at least 2, got " + std::to_string(cohort_top_k));
  }
}

struct Recognizer::Impl {
  SpeakerModel model;
  RecognitionOptions options;
  FeatureExtractor extractor;
  SpeakerGallery gallery;           // each speaker's vector, AS-normalised scores
  std::vector<std::string> names;   // gallery order (by name)
  std::vector<std::string> classifier_speakers;
  double scale = 0;                 // of the cosine logits: the model head's

  Impl(SpeakerModel m, const RecognitionOptions& o, AsNorm norm)
      : model(std::move(m)), options(o), extractor(model.feature_options()),
        gallery(std::move(norm)), scale(model.network_options().aam_scale) {}
};

Recognizer::Recognizer(SpeakerModel model,
                       const std::map<std::string, std::vector<std::vector<float>>>& enrolled,
                       bool use_classifier_rows, const RecognitionOptions& options) {
  options.validate();
  if (enrolled.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "nobody is enrolled: enroll speakers first (spkid enroll FILE --name NAME)");
  }
  if (options.audio.sample_rate_hz != model.feature_options().sample_rate_hz) {
    throw Error(ErrorCode::kInvalidArgument,
                "audio is decoded at " + std::to_string(options.audio.sample_rate_hz) +
                    " Hz but the model takes " +
                    std::to_string(model.feature_options().sample_rate_hz) + " Hz");
  }
  const auto cohort = model.cohort();
  if (cohort.size() < 2) {
    throw Error(ErrorCode::kModel,
                "the model has no cohort of pretraining speakers to normalise scores with: use a "
                "model pretrained with the AAM loss");
  }
  impl_ = std::make_unique<Impl>(std::move(model), options, AsNorm(cohort, options.cohort_top_k));
  Impl& impl = *impl_;

  // A trained classifier's rows stand for the speakers it was trained on.
  std::map<std::string, std::vector<float>> rows;
  if (use_classifier_rows) {
    const auto vectors = impl.model.class_vectors();
    const auto& labels = impl.model.labels();
    for (std::size_t i = 0; i < labels.size() && i < vectors.size(); ++i) {
      if (enrolled.count(labels[i]) > 0) rows[labels[i]] = vectors[i];
    }
  }
  for (const auto& [speaker, embeddings] : enrolled) {
    const auto row = rows.find(speaker);
    if (row != rows.end()) {
      impl.gallery.add(speaker, {row->second});
      impl.classifier_speakers.push_back(speaker);
    } else {
      impl.gallery.add(speaker, embeddings);
    }
  }
  impl.names = impl.gallery.speakers();
}

Recognizer Recognizer::from_store(Store& store, const RecognitionOptions& options) {
  if (store.list_speakers().empty()) {
    throw Error(ErrorCode::kStore, "nobody is enrolled in " + store.dir() +
                                       ": enroll speakers first (spkid enroll FILE --name NAME)");
  }
  const auto current = store.current_model();
  const ModelRecord record = current ? *current : ensure_current_model(store, base_model_path());
  SpeakerModel model = SpeakerModel::load(record.path);
  if (const auto stored = store.feature_options()) model.check_features(*stored);
  auto enrolled = enrolled_embeddings(store, model, record.id);
  RecognitionOptions decoding = options;
  decoding.audio.sample_rate_hz = model.feature_options().sample_rate_hz;
  return Recognizer(std::move(model), enrolled, record.kind == kClassifierModelKind, decoding);
}

Recognizer::~Recognizer() = default;
Recognizer::Recognizer(Recognizer&&) noexcept = default;
Recognizer& Recognizer::operator=(Recognizer&&) noexcept = default;

const SpeakerModel& Recognizer::model() const { return impl_->model; }
const RecognitionOptions& Recognizer::options() const { return impl_->options; }
std::vector<std::string> Recognizer::speakers() const { return impl_->names; }
std::vector<std::string> Recognizer::classifier_speakers() const {
  return impl_->classifier_speakers;
}

double Recognizer::default_threshold() const {
  return impl_->model.threshold(kScoreThresholdName, kFallbackScoreThreshold);
}

ChunkedSpeech Recognizer::chunk_speech(const Audio& audio) const {
  const Impl& impl = *impl_;
  const int rate = impl.model.feature_options().sample_rate_hz;
  if (audio.sample_rate_hz != rate) {
    throw Error(ErrorCode::kInvalidArgument,
                "the audio is at " + std::to_string(audio.sample_rate_hz) +
                    " Hz but the model takes " + std::to_string(rate) +
                    " Hz: decode it with the model's sample rate");
  }
  const VadResult vad = detect_speech(audio.samples, rate, impl.options.vad);
  ChunkedSpeech speech;
  speech.speech_seconds = vad.speech_seconds;
  const auto clips = cut_clips(keep_speech(audio.samples, vad), rate, impl.options.chunk);
  if (clips.empty()) {
    throw Error(ErrorCode::kNoSpeech, "too little speech to tell who speaks (" +
                                          seconds_text(vad.speech_seconds) +
                                          " found): give at least " +
                                          seconds_text(impl.options.chunk.min_clip_seconds) +
                                          " of speech");
  }
  speech.chunks.reserve(clips.size());
  for (const auto& clip : clips) speech.chunks.push_back(impl.extractor.compute(clip));
  return speech;
}

namespace {

// Each chunk's softmax over the scaled cosines with every speaker vector.
std::vector<std::vector<float>> chunk_posteriors(const std::vector<std::vector<float>>& chunks,
                                                 const SpeakerGallery& gallery,
                                                 const std::vector<std::string>& names,
                                                 double scale) {
  std::vector<std::vector<float>> posteriors;
  posteriors.reserve(chunks.size());
  for (const auto& embedding : chunks) {
    std::vector<double> logits(names.size());
    for (std::size_t k = 0; k < names.size(); ++k) {
      logits[k] = scale * cosine_similarity(embedding, gallery.centroid(names[k]));
    }
    const double top = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (double& l : logits) sum += (l = std::exp(l - top));
    std::vector<float> p(names.size());
    for (std::size_t k = 0; k < names.size(); ++k) p[k] = static_cast<float>(logits[k] / sum);
    posteriors.push_back(std::move(p));
  }
  return posteriors;
}

}  // namespace

Identification Recognizer::identify(const ChunkedSpeech& speech, double threshold,
                                    std::size_t top_n) const {
  const Impl& impl = *impl_;
  if (speech.chunks.empty()) {
    throw Error(ErrorCode::kNoSpeech, "no speech to identify: give at least one chunk");
  }
  const auto embeddings = impl.model.embed_batch(speech.chunks);
  const auto combined =
      combine_posteriors(chunk_posteriors(embeddings, impl.gallery, impl.names, impl.scale));
  const std::size_t answer = static_cast<std::size_t>(
      std::max_element(combined.begin(), combined.end()) - combined.begin());

  // The answer first, the others by score (scores() is in name order, like names).
  const std::vector<SpeakerScore> scores = impl.gallery.scores(mean_embedding(embeddings));
  std::vector<SpeakerScore> ranked = scores;
  std::swap(ranked[0], ranked[answer]);
  std::sort(ranked.begin() + 1, ranked.end(), [](const SpeakerScore& a, const SpeakerScore& b) {
    return a.score != b.score ? a.score > b.score : a.speaker < b.speaker;
  });

  Identification result;
  result.score = scores[answer].score;
  result.threshold = threshold;
  result.known = result.score >= threshold;
  result.speaker = result.known ? impl.names[answer] : kUnknownSpeaker;
  ranked.resize(std::min(std::max<std::size_t>(top_n, 1), ranked.size()));
  result.top = std::move(ranked);
  return result;
}

Verification Recognizer::verify(const ChunkedSpeech& speech, const std::string& speaker,
                                double threshold) const {
  if (speech.chunks.empty()) {
    throw Error(ErrorCode::kNoSpeech, "no speech to verify: give at least one chunk");
  }
  return impl_->gallery.verify(speaker, mean_embedding(impl_->model.embed_batch(speech.chunks)),
                               threshold);
}

}  // namespace spkid
