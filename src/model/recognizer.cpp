// Identification and verification against a store's enrolled speakers, and the base model a
// store starts from. The naming and scoring mechanism is described in recognizer.h.
#include "spkid/recognizer.h"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <type_traits>

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

// The id of a model that is not in the store (a read-only store's shipped base model): no
// stored embedding has it, and none are stored under it.
constexpr int64_t kUnregisteredModelId = 0;

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

// `record`, its file checked against the store's digest (Store::check_model_file), or when the
// file has gone (deleted by hand): the base model's copy is made again
// from the shipped base model (a new record: the old one's embeddings were by the file that
// went); a trained classifier cannot be, so the error says to train again.
ModelRecord with_model_file(Store& store, const ModelRecord& record) {
  if (readable_file(record.path)) {
    store.check_model_file(record);
    return record;
  }
  if (record.kind != kBaseModelKind) {
    throw Error(ErrorCode::kModel, "the store's trained model " + record.path +
                                       " is missing: run spkid train to make it again");
  }
  const std::string shipped = base_model_path();
  store.remove_model(record.id);
  return register_base_model(store, shipped, record.is_current);
}

}  // namespace

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

ModelRecord ensure_current_model(Store& store, const std::string& base_path) {
  if (auto current = store.current_model()) return with_model_file(store, *current);
  // No current model: a new store, or its classifier went with a removed speaker. The store's
  // copy of the base model answers again.
  const auto models = store.models();
  for (auto it = models.rbegin(); it != models.rend(); ++it) {
    if (it->kind == kBaseModelKind) {
      store.set_current_model(it->id);
      return with_model_file(store, *store.current_model());
    }
  }
  return register_base_model(store, base_path, true);
}

ModelRecord store_base_model(Store& store) {
  const auto models = store.models();
  for (auto it = models.rbegin(); it != models.rend(); ++it) {
    if (it->kind == kBaseModelKind) return with_model_file(store, *it);
  }
  return register_base_model(store, base_model_path(), !store.current_model().has_value());
}

ModelRecord classifier_base_model(const Store& store, const SpeakerModel& classifier) {
  std::string base_file;
  try {
    base_file = nlohmann::json::parse(classifier.provenance_json()).value("base_model", "");
  } catch (const nlohmann::json::exception&) {
    // No provenance to read: reported below like a missing record.
  }
  for (const ModelRecord& record : store.models()) {
    if (record.kind == kBaseModelKind && record.file_name == base_file) return record;
  }
  throw Error(ErrorCode::kModel,
              "the store's classifier was trained from a base model it no longer holds (" +
                  (base_file.empty() ? std::string("none recorded") : base_file) +
                  "): run spkid train again");
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
  open_set.validate();
  if (cohort_top_k < 2) {
    throw Error(ErrorCode::kInvalidArgument,
                "cohort_top_k must be at least 2, got " + std::to_string(cohort_top_k));
  }
}

struct Recognizer::Impl {
  SpeakerModel model;                  // names
  std::optional<SpeakerModel> scorer;  // scores, when not `model`
  RecognitionOptions options;
  FeatureExtractor extractor;
  SpeakerGallery naming;           // each speaker's vector in the naming model, raw cosines
  SpeakerGallery scoring;          // each speaker's centroid in the scoring model, AS-norm
  std::vector<std::string> names;  // gallery order (by name)
  std::vector<std::string> classifier_speakers;
  double scale = 0;  // of the cosine logits: the naming model's head's
  OpenSetCalibration open_set;

  Impl(SpeakerModel m, std::optional<SpeakerModel> s, const RecognitionOptions& o)
      : model(std::move(m)),
        scorer(std::move(s)),
        options(o),
        extractor(model.feature_options()),
        scale(model.network_options().aam_scale) {}

  const SpeakerModel& scoring_model() const { return scorer ? *scorer : model; }
};

namespace {

void check_recognizer_inputs(const SpeakerModel& model, const EnrolledEmbeddings& enrolled,
                             const RecognitionOptions& options) {
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
}

AsNorm cohort_normalization(const SpeakerModel& model, const RecognitionOptions& options) {
  auto cohort = model.cohort();
  const auto& labels = model.labels();
  if (!options.cohort_exclude.empty() && labels.size() == cohort.size()) {
    std::vector<std::vector<float>> kept;
    for (std::size_t i = 0; i < cohort.size(); ++i) {
      if (::fnmatch(options.cohort_exclude.c_str(), labels[i].c_str(), 0) != 0) {
        kept.push_back(std::move(cohort[i]));
      }
    }
    cohort = std::move(kept);
  }
  if (cohort.size() < 2) {
    throw Error(ErrorCode::kModel,
                "the model has no cohort of pretraining speakers to normalise scores with: use a "
                "model pretrained with the AAM loss");
  }
  return AsNorm(std::move(cohort), options.cohort_top_k);
}

OpenSetOptions open_set_options(const SpeakerModel& scorer, const RecognitionOptions& options) {
  OpenSetOptions open_set = options.open_set;
  open_set.prior_threshold = scorer.threshold(kOpenSetPriorThresholdName, open_set.prior_threshold);
  return open_set;
}

// Each speaker's vector in `model`: its classifier row for the speakers it was trained on (with
// use_classifier_rows), else the speaker's clip embeddings. Returns the speakers given rows.
std::vector<std::string> add_speaker_vectors(SpeakerGallery& gallery, const SpeakerModel& model,
                                             const EnrolledEmbeddings& enrolled,
                                             bool use_classifier_rows) {
  std::map<std::string, std::vector<float>> rows;
  if (use_classifier_rows) {
    const auto vectors = model.class_vectors();
    const auto& labels = model.labels();
    for (std::size_t i = 0; i < labels.size() && i < vectors.size(); ++i) {
      if (enrolled.count(labels[i]) > 0) rows[labels[i]] = vectors[i];
    }
  }
  std::vector<std::string> with_rows;
  for (const auto& [speaker, embeddings] : enrolled) {
    const auto row = rows.find(speaker);
    if (row != rows.end()) {
      gallery.add(speaker, {row->second});
      with_rows.push_back(speaker);
    } else {
      gallery.add(speaker, embeddings);
    }
  }
  return with_rows;
}

}  // namespace

Recognizer::Recognizer(SpeakerModel model, const EnrolledEmbeddings& enrolled,
                       bool use_classifier_rows, const RecognitionOptions& options) {
  check_recognizer_inputs(model, enrolled, options);
  AsNorm normalization = cohort_normalization(model, options);
  impl_ = std::make_unique<Impl>(std::move(model), std::nullopt, options);
  Impl& impl = *impl_;
  impl.scoring = SpeakerGallery(std::move(normalization), options.store_cohort);
  impl.classifier_speakers =
      add_speaker_vectors(impl.naming, impl.model, enrolled, use_classifier_rows);
  add_speaker_vectors(impl.scoring, impl.model, enrolled, use_classifier_rows);
  impl.names = impl.naming.speakers();
  impl.open_set = prior_open_set(int(impl.names.size()), open_set_options(impl.model, options));
}

Recognizer::Recognizer(SpeakerModel namer, const EnrolledEmbeddings& named, SpeakerModel scorer,
                       const EnrolledEmbeddings& scored, const RecognitionOptions& options) {
  check_recognizer_inputs(namer, named, options);
  scorer.check_features(namer.feature_options());
  const auto speakers_of = [](const EnrolledEmbeddings& enrolled) {
    std::vector<std::string> speakers;
    for (const auto& entry : enrolled) speakers.push_back(entry.first);
    return speakers;
  };
  if (speakers_of(named) != speakers_of(scored)) {
    throw Error(ErrorCode::kInvalidArgument,
                "the naming and the scoring model must be given the same enrolled speakers");
  }
  AsNorm normalization = cohort_normalization(scorer, options);
  impl_ = std::make_unique<Impl>(std::move(namer), std::move(scorer), options);
  Impl& impl = *impl_;
  impl.scoring = SpeakerGallery(std::move(normalization), options.store_cohort);
  impl.classifier_speakers = add_speaker_vectors(impl.naming, impl.model, named, true);
  add_speaker_vectors(impl.scoring, *impl.scorer, scored, false);
  impl.names = impl.naming.speakers();
  impl.open_set = prior_open_set(int(impl.names.size()), open_set_options(*impl.scorer, options));
}

namespace {

// The calibration's summary for `spkid list`, which has no model to recompute it with.
void keep_open_set_summary(Store& store, const OpenSetCalibration& open_set) {
  const std::string summary = open_set_summary_json(open_set);
  if (store.setting(kOpenSetSummaryKey) == summary) return;  // no write for every identify
  try {
    store.set_setting(kOpenSetSummaryKey, summary);
  } catch (const Error&) {
    // A read-only store still identifies; list then shows the last summary written.
  }
}

}  // namespace

Recognizer Recognizer::from_store(Store& store, const RecognitionOptions& options) {
  if (store.list_speakers().empty()) {
    throw Error(ErrorCode::kStore, "nobody is enrolled in " + store.dir() +
                                       ": enroll speakers first (spkid enroll FILE --name NAME)");
  }
  const auto current = store.current_model();
  ModelRecord record;
  if (current) {
    record = with_model_file(store, *current);
  } else if (store.writable()) {
    record = ensure_current_model(store, base_model_path());
  } else {
    // A read-only store that has no model yet: the shipped base model answers unregistered,
    // its embeddings computed now and not kept.
    record.id = kUnregisteredModelId;
    record.path = base_model_path();
    record.kind = kBaseModelKind;
  }
  SpeakerModel model = SpeakerModel::load(record.path);
  if (const auto stored = store.feature_options()) model.check_features(*stored);
  auto enrolled = enrolled_embeddings(store, model, record.id);
  RecognitionOptions decoding = options;
  decoding.audio.sample_rate_hz = model.feature_options().sample_rate_hz;
  const double window_seconds = options.chunk.clip_seconds;
  if (record.kind != kClassifierModelKind) {
    auto clips = calibration_clips(store, model, record.id, window_seconds);
    Recognizer recognizer(std::move(model), enrolled, false, decoding);
    recognizer.calibrate(clips);
    keep_open_set_summary(store, recognizer.open_set());
    return recognizer;
  }
  const ModelRecord base_record = classifier_base_model(store, model);
  if (!readable_file(base_record.path)) {
    // Made again it would be another file, which the classifier was not trained from.
    throw Error(ErrorCode::kModel, "the base model copy " + base_record.path +
                                       " the store's classifier was trained from is missing: "
                                       "run spkid train again");
  }
  store.check_model_file(base_record);
  SpeakerModel base = SpeakerModel::load(base_record.path);
  auto scored = enrolled_embeddings(store, base, base_record.id);
  auto clips = calibration_clips(store, base, base_record.id, window_seconds);
  Recognizer recognizer(std::move(model), enrolled, std::move(base), scored, decoding);
  recognizer.calibrate(clips);
  keep_open_set_summary(store, recognizer.open_set());
  return recognizer;
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

double Recognizer::default_threshold() const { return impl_->open_set.threshold; }

const OpenSetCalibration& Recognizer::open_set() const { return impl_->open_set; }

void Recognizer::calibrate(const CalibrationClips& scored_clips) {
  Impl& impl = *impl_;
  impl.open_set = calibrate_open_set(impl.scoring, scored_clips,
                                     open_set_options(impl.scoring_model(), impl.options));
}

void Recognizer::throw_too_little_speech(double speech_seconds) const {
  throw Error(ErrorCode::kNoSpeech, "too little speech to tell who speaks (" +
                                        seconds_text(speech_seconds) + " found): give at least " +
                                        seconds_text(impl_->options.chunk.min_clip_seconds) +
                                        " of speech");
}

ChunkedSpeech Recognizer::chunk_speech(const Audio& audio) const {
  ChunkedSpeech speech = chunk_any_speech(audio);
  if (speech.chunks.empty()) throw_too_little_speech(speech.speech_seconds);
  return speech;
}

ChunkedSpeech Recognizer::chunk_any_speech(const Audio& audio) const {
  const Impl& impl = *impl_;
  const int rate = impl.model.feature_options().sample_rate_hz;
  if (audio.sample_rate_hz != rate) {
    throw Error(ErrorCode::kInvalidArgument, "the audio is at " +
                                                 std::to_string(audio.sample_rate_hz) +
                                                 " Hz but the model takes " + std::to_string(rate) +
                                                 " Hz: decode it with the model's sample rate");
  }
  VadResult vad = detect_speech(audio.samples, rate, impl.options.vad);
  auto clips = cut_clips(keep_speech(audio.samples, vad), rate, impl.options.chunk);
  if (clips.empty() && impl.options.vad.snr_margin_db > 0) {
    // Speech deep in noise (0 dB SNR) barely stands out from the noise floor: rather than
    // refuse the clip, score what stands above silence, as the detector without its noise-floor
    // margin keeps it. Silence is still refused; noise alone comes back unknown.
    VadOptions permissive = impl.options.vad;
    permissive.snr_margin_db = 0;
    vad = detect_speech(audio.samples, rate, permissive);
    clips = cut_clips(keep_speech(audio.samples, vad), rate, impl.options.chunk);
  }
  ChunkedSpeech speech;
  speech.speech_seconds = vad.speech_seconds;
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

void EmbeddedSpeech::append(EmbeddedSpeech&& more) {
  speech_seconds += more.speech_seconds;
  for (auto& e : more.naming) naming.push_back(std::move(e));
  for (auto& e : more.scoring) scoring.push_back(std::move(e));
}

EmbeddedSpeech Recognizer::embed(const ChunkedSpeech& speech, bool for_identify) const {
  const Impl& impl = *impl_;
  if (speech.chunks.empty()) {
    throw Error(ErrorCode::kNoSpeech, "no speech to embed: give at least one chunk");
  }
  EmbeddedSpeech embedded;
  embedded.speech_seconds = speech.speech_seconds;
  embedded.scoring = impl.scoring_model().embed_batch(speech.chunks);
  if (for_identify) {
    embedded.naming = impl.scorer ? impl.model.embed_batch(speech.chunks) : embedded.scoring;
  }
  return embedded;
}

EmbeddedSpeech Recognizer::embed_recording(const std::string& path, bool for_identify) const {
  EmbeddedSpeech embedded;
  load_audio_segments(path, impl_->options.audio, kRecordingSegmentSeconds, [&](Audio&& audio) {
    // A minute without speech in a long recording is no error; the recording without any is.
    const ChunkedSpeech speech = chunk_any_speech(audio);
    if (speech.chunks.empty()) {
      embedded.speech_seconds += speech.speech_seconds;
    } else {
      embedded.append(embed(speech, for_identify));
    }
  });
  if (embedded.scoring.empty()) throw_too_little_speech(embedded.speech_seconds);
  return embedded;
}

Identification Recognizer::identify(const ChunkedSpeech& speech, double threshold,
                                    std::size_t top_n) const {
  return identify(embed(speech), threshold, top_n);
}

Identification Recognizer::identify(const EmbeddedSpeech& speech, double threshold,
                                    std::size_t top_n) const {
  const Impl& impl = *impl_;
  if (speech.naming.empty() || speech.naming.size() != speech.scoring.size()) {
    throw Error(ErrorCode::kInvalidArgument,
                "no speech to identify: give the embeddings of at least one chunk by both models "
                "(embed with for_identify)");
  }
  const auto combined =
      combine_posteriors(chunk_posteriors(speech.naming, impl.naming, impl.names, impl.scale));
  const std::size_t answer = static_cast<std::size_t>(
      std::max_element(combined.begin(), combined.end()) - combined.begin());

  // The answer first, the others by score (scores() is in name order, like names).
  std::vector<SpeakerScore> scores = impl.scoring.scores(mean_embedding(speech.scoring));
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
  return verify(embed(speech, false), speaker, threshold);
}

Verification Recognizer::verify(const EmbeddedSpeech& speech, const std::string& speaker,
                                double threshold) const {
  if (speech.scoring.empty()) {
    throw Error(ErrorCode::kNoSpeech, "no speech to verify: give at least one chunk");
  }
  return impl_->scoring.verify(speaker, mean_embedding(speech.scoring), threshold);
}

}  // namespace spkid
