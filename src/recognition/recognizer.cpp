// Identification and verification against a store's enrolled speakers. The naming and scoring
// mechanism is described in recognizer.h.
#include "spkid/recognizer.h"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

#include "spkid/error.h"
#include "spkid/features.h"
#include "spkid/model_registry.h"
#include "spkid/speaker_name.h"

namespace spkid {
namespace {

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f s", seconds);
  return text;
}

}  // namespace

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
