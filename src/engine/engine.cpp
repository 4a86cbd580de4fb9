// The engine (engine.h): a store, the writer's turn, and the current Recognizer shared with the
// readers. A change builds a new Recognizer from the store and swaps it in, so a reader never
// waits for a change and never sees half of one.
#include "spkid/engine.h"

#include <cmath>
#include <mutex>
#include <utility>

#include "spkid/error.h"
#include "spkid/model.h"
#include "spkid/model_embedder.h"
#include "spkid/model_registry.h"
#include "spkid/speaker_name.h"

namespace spkid {

void EngineOptions::validate() const {
  enrollment.validate();
  recognition.validate();
  if (threshold && !std::isfinite(*threshold)) {
    throw Error(ErrorCode::kInvalidArgument, "EngineOptions.threshold must be a finite number");
  }
}

struct Engine::Impl {
  Impl(EngineOptions engine_options, Store opened)
      : options(std::move(engine_options)), store(std::move(opened)) {}

  // The Recognizer calls that start now use; null with nobody enrolled.
  std::shared_ptr<const Recognizer> current() const {
    std::lock_guard<std::mutex> lock(current_mutex);
    return recognizer;
  }

  const Recognizer& require_current(std::shared_ptr<const Recognizer>& held) const {
    held = current();
    if (!held) {
      throw Error(ErrorCode::kStore,
                  "nobody is enrolled in " + store.dir() + ": enroll a speaker first");
    }
    return *held;
  }

  double threshold_of(const Recognizer& r) const {
    return options.threshold ? *options.threshold : r.default_threshold();
  }

  // Called with the writer's turn, after every change of the store.
  void refresh() {
    std::shared_ptr<const Recognizer> next;
    if (!store.list_speakers().empty()) {
      next = std::make_shared<const Recognizer>(Recognizer::from_store(store, options.recognition));
    }
    std::lock_guard<std::mutex> lock(current_mutex);
    recognizer = std::move(next);
  }

  // The embedder of the store's current model, loaded again only when that model changes (a
  // train by another process, a removed speaker's classifier).
  const ClipEmbedder& current_embedder() {
    const ModelRecord model = ensure_current_model(store, base_model_path());
    if (!embedder || embedder->model_id() != model.id) {
      embedder = make_model_embedder(SpeakerModel::load(model.path), model.id);
    }
    return *embedder;
  }

  // The options of an enrollment: a new store takes the features of the model it starts with.
  EnrollmentOptions enrollment_options() {
    EnrollmentOptions enrollment = options.enrollment;
    if (!store.feature_options()) {
      enrollment.features = current_embedder().feature_options();
      enrollment.audio.sample_rate_hz = enrollment.features.sample_rate_hz;
    }
    return options_for_store(enrollment, store.feature_options());
  }

  SpeakerEnrollment enroll(LabelledRecording recording, const EnrollmentOptions& enrollment) {
    EnrollmentHooks hooks;
    const ClipEmbedder& model = current_embedder();
    if (model.feature_options() == enrollment.features) hooks.embedder = &model;
    std::vector<SpeakerEnrollment> done = enroll_recordings(store, {recording}, enrollment, hooks);
    SpeakerEnrollment& result = done.at(0);
    const RecordingOutcome& outcome = result.recordings.at(0);
    if (outcome.status == RecordingStatus::kFailed) throw *outcome.error;
    refresh();
    return std::move(result);
  }

  EngineOptions options;
  std::mutex writer;  // the store's one connection, and every change, take turns
  Store store;
  std::unique_ptr<ClipEmbedder> embedder;  // guarded by `writer`
  mutable std::mutex current_mutex;
  std::shared_ptr<const Recognizer> recognizer;
};

namespace {

// `samples` checked, mixed and resampled to options.sample_rate_hz.
Audio to_audio(const Samples& samples, const AudioOptions& options, const std::string& name) {
  return audio_from_samples(samples.data, static_cast<int64_t>(samples.frames), samples.channels,
                            samples.sample_rate_hz, options, name);
}

}  // namespace

Engine Engine::open(const std::string& store_dir, const EngineOptions& options) {
  options.validate();
  auto impl = std::make_unique<Impl>(options, Store::open(store_dir, StoreAccess::kCreate));
  std::lock_guard<std::mutex> turn(impl->writer);
  ensure_current_model(impl->store, base_model_path());
  impl->refresh();
  return Engine(std::move(impl));
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

const std::string& Engine::store_dir() const { return impl_->store.dir(); }

std::vector<std::string> Engine::speakers() const {
  const auto r = impl_->current();
  return r ? r->speakers() : std::vector<std::string>{};
}

double Engine::threshold() const {
  const auto r = impl_->current();
  if (r) return impl_->threshold_of(*r);
  return impl_->options.threshold ? *impl_->options.threshold
                                  : impl_->options.recognition.open_set.prior_threshold;
}

OpenSetCalibration Engine::open_set() const {
  const auto r = impl_->current();
  return r ? r->open_set() : prior_open_set(0, impl_->options.recognition.open_set);
}

SpeakerEnrollment Engine::enroll(const std::string& name, const Samples& samples,
                                 const std::string& source) {
  std::lock_guard<std::mutex> turn(impl_->writer);
  const EnrollmentOptions enrollment = impl_->enrollment_options();
  auto audio = std::make_shared<Audio>(to_audio(samples, enrollment.audio, source));
  return impl_->enroll({canonical_speaker_name(name), source, "", std::move(audio)}, enrollment);
}

SpeakerEnrollment Engine::enroll_file(const std::string& name, const std::string& path) {
  std::lock_guard<std::mutex> turn(impl_->writer);
  return impl_->enroll({canonical_speaker_name(name), path, "", nullptr},
                       impl_->enrollment_options());
}

SpeakerSummary Engine::remove(const std::string& name) {
  std::lock_guard<std::mutex> turn(impl_->writer);
  SpeakerSummary removed = impl_->store.remove_speaker(name);
  impl_->refresh();
  return removed;
}

std::string Engine::rename(const std::string& old_name, const std::string& new_name) {
  std::lock_guard<std::mutex> turn(impl_->writer);
  std::string stored = impl_->store.rename_speaker(old_name, new_name);
  impl_->refresh();
  return stored;
}

Identification Engine::identify(const Samples& samples, std::size_t top_n) const {
  std::shared_ptr<const Recognizer> held;
  const Recognizer& r = impl_->require_current(held);
  const Audio audio = to_audio(samples, r.options().audio, "<samples>");
  return r.identify(r.chunk_speech(audio), impl_->threshold_of(r), top_n);
}

Identification Engine::identify_file(const std::string& path, std::size_t top_n) const {
  std::shared_ptr<const Recognizer> held;
  const Recognizer& r = impl_->require_current(held);
  return r.identify(r.embed_recording(path), impl_->threshold_of(r), top_n);
}

Verification Engine::verify(const std::string& speaker, const Samples& samples) const {
  std::shared_ptr<const Recognizer> held;
  const Recognizer& r = impl_->require_current(held);
  const Audio audio = to_audio(samples, r.options().audio, "<samples>");
  return r.verify(r.chunk_speech(audio), canonical_speaker_name(speaker), impl_->threshold_of(r));
}

}  // namespace spkid
