#include "spkid/enroll.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "spkid/parallel.h"
#include "spkid/speaker_name.h"

namespace spkid {
namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, message);
}

std::string seconds(double value, int decimals = 1) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f s", decimals, value);
  return text;
}

// Messages about one recording start with the file, like the audio reader's own.
Error about(const std::string& where, const Error& error) {
  const std::string message = error.what();
  if (message.rfind(where + ":", 0) == 0) return error;
  return Error(error.code(), where + ": " + message);
}

std::string display_path(const std::string& path) { return path == "-" ? "<stdin>" : path; }

// Provenance outlives the working folder the batch ran in.
std::string absolute_source(const std::string& path) {
  if (path == "-") return path;
  std::error_code error;
  const std::filesystem::path absolute = std::filesystem::absolute(path, error);
  return error ? path : absolute.lexically_normal().string();
}

// One recording of the batch on its way to the store.
struct Pending {
  RecordingOutcome outcome;
  std::size_t group = 0;
  std::vector<float> speech;
  std::vector<FeatureMatrix> clip_features;
  std::vector<std::vector<float>> clip_embeddings;
};

// A speaker's recordings: they are checked and stored together once all are analysed.
struct SpeakerGroup {
  std::string speaker;
  std::vector<std::size_t> members;  // into Batch::pending_, in request order
  std::size_t remaining = 0;         // members not analysed yet
};

class Batch {
 public:
  Batch(Store& store, const std::vector<LabelledRecording>& recordings,
        const EnrollmentOptions& options, const EnrollmentHooks& hooks)
      : store_(store), options_(options), hooks_(hooks), extractor_(options.features) {
    std::map<std::string, std::size_t> group_of;
    for (const LabelledRecording& recording : recordings) {
      const auto [it, added] = group_of.emplace(recording.speaker, groups_.size());
      if (added) groups_.push_back({recording.speaker, {}, 0});
      SpeakerGroup& group = groups_[it->second];
      ++group.remaining;
      group.members.push_back(pending_.size());
      pending_.push_back({});
      pending_.back().outcome.request = recording;
      pending_.back().group = it->second;
    }
    // Work in speaker order, so each speaker is stored as soon as possible.
    for (const SpeakerGroup& group : groups_) {
      order_.insert(order_.end(), group.members.begin(), group.members.end());
    }
    finished_.resize(groups_.size());
  }

  std::vector<SpeakerEnrollment> run() {
    parallel_for(order_.size(), options_.jobs, [this](std::size_t i) { process(order_[i]); });
    return std::move(finished_);
  }

 private:
  void process(std::size_t index) {
    Pending& pending = pending_[index];
    analyse(pending);
    bool group_ready = false;
    {
      std::lock_guard<std::mutex> lock(state_mutex_);
      ++num_analysed_;
      if (hooks_.on_progress) hooks_.on_progress(num_analysed_, pending_.size());
      group_ready = --groups_[pending.group].remaining == 0;
    }
    if (!group_ready) return;
    // One writer at a time: a Store is one connection.
    std::lock_guard<std::mutex> store_lock(store_mutex_);
    SpeakerEnrollment result = finish(groups_[pending.group]);
    std::lock_guard<std::mutex> lock(state_mutex_);
    finished_[pending.group] = std::move(result);
    is_finished_.insert(pending.group);
    // Speakers are reported in order even when a later one is stored first.
    for (; is_finished_.count(num_reported_) != 0; ++num_reported_) {
      if (hooks_.on_speaker) hooks_.on_speaker(finished_[num_reported_]);
    }
  }

  void analyse(Pending& pending) {
    RecordingOutcome& outcome = pending.outcome;
    const LabelledRecording& request = outcome.request;
    try {
      validate_speaker_name(request.speaker);
    } catch (const Error& error) {
      outcome.error =
          about(request.origin.empty() ? display_path(request.path) : request.origin, error);
      return;
    }
    try {
      AnalysedRecording analysed =
          request.audio ? analyse_recording(at_store_rate(*request.audio, request.path),
                                            request.path, options_, extractor_)
                        : analyse_recording(load_audio(request.path, options_.audio),
                                            absolute_source(request.path), options_, extractor_);
      if (hooks_.embedder) pending.clip_embeddings = hooks_.embedder->embed(analysed.clip_features);
      outcome.provenance = std::move(analysed.provenance);
      outcome.num_clips = static_cast<int>(analysed.clip_features.size());
      outcome.quality = analysed.quality;
      outcome.warnings = std::move(analysed.warnings);
      pending.speech = std::move(analysed.speech);
      pending.clip_features = std::move(analysed.clip_features);
    } catch (const Error& error) {
      outcome.error = about(display_path(request.path), error);
    }
  }

  // Samples given in memory, at the rate the store's features take.
  Audio at_store_rate(const Audio& audio, const std::string& name) const {
    if (audio.sample_rate_hz == options_.audio.sample_rate_hz) return audio;
    return audio_from_samples(audio.samples.data(), static_cast<int64_t>(audio.samples.size()), 1,
                              audio.sample_rate_hz, options_.audio, name);
  }

  // The speaker's other clips' embeddings by the model, computing those that are missing (clips
  // enrolled before the model existed).
  std::vector<std::vector<float>> earlier_embeddings(const std::string& speaker) {
    const ClipEmbedder& embedder = *hooks_.embedder;
    ClipQuery query;
    query.speaker = speaker;
    query.missing_embedding_for_model = embedder.model_id();
    std::vector<StoredClip> missing = store_.clips(query);
    if (!missing.empty()) {
      std::vector<FeatureMatrix> features;
      for (StoredClip& clip : missing) features.push_back(std::move(clip.features));
      std::vector<std::vector<float>> vectors = embedder.embed(features);
      std::vector<ClipEmbedding> embeddings;
      for (std::size_t i = 0; i < missing.size(); ++i) {
        embeddings.push_back({missing[i].id, std::move(vectors[i])});
      }
      store_.set_embeddings(embedder.model_id(), embeddings);
    }
    std::vector<std::vector<float>> earlier;
    for (StoredEmbedding& stored : store_.embeddings(embedder.model_id())) {
      if (stored.speaker == speaker) earlier.push_back(std::move(stored.embedding));
    }
    return earlier;
  }

  using RecordingOfDigest = std::map<std::string, std::optional<int64_t>>;

  // The group's analysed recordings that are new to the speaker; audio already enrolled, or given
  // twice in this batch, is marked so and stored once.
  std::vector<Pending*> new_recordings(const SpeakerGroup& group, RecordingOfDigest& known) {
    std::vector<Pending*> fresh;
    for (std::size_t index : group.members) {
      Pending& pending = pending_[index];
      if (pending.outcome.error) continue;
      if (!known.emplace(pending.outcome.provenance.sha256, std::nullopt).second) {
        pending.outcome.status = RecordingStatus::kAlreadyEnrolled;
        continue;
      }
      fresh.push_back(&pending);
    }
    return fresh;
  }

  // Whether the speaker reaches the minimum with `fresh`; if not, every fresh recording (and its
  // copies in this batch) fails saying so.
  bool enough_speech(const SpeakerGroup& group, double speech_before,
                     const std::vector<Pending*>& fresh, RecordingOfDigest& known) {
    double speech_added = 0;
    for (const Pending* pending : fresh) speech_added += pending->outcome.provenance.speech_seconds;
    const double minimum = options_.quality.min_speaker_speech_seconds;
    if (speech_before + speech_added >= minimum) return true;
    const Error too_little(
        ErrorCode::kNoSpeech,
        quote_speaker_name(group.speaker) + " would have " + seconds(speech_before + speech_added) +
            " of speech (" + seconds(speech_before) + " enrolled before, " + seconds(speech_added) +
            " in this batch); enrollment needs " + seconds(minimum) + ", " +
            seconds(options_.quality.recommended_speech_seconds) +
            " recommended: add more recordings of " + quote_speaker_name(group.speaker));
    for (std::size_t index : group.members) {
      RecordingOutcome& outcome = pending_[index].outcome;
      if (!outcome.error && !known[outcome.provenance.sha256]) {
        outcome.error = about(display_path(outcome.request.path), too_little);
      }
    }
    return false;
  }

  // One transaction. `earlier` holds the speaker's embeddings so far, to compare voices with.
  void store_recording(const std::string& speaker, Pending& pending,
                       std::vector<std::vector<float>>& earlier, SpeakerEnrollment& result) {
    RecordingOutcome& outcome = pending.outcome;
    Enrollment enrollment;
    enrollment.speaker = speaker;
    enrollment.recording = outcome.provenance;
    enrollment.speech = std::move(pending.speech);
    enrollment.feature_options = options_.features;
    enrollment.clip_features = std::move(pending.clip_features);
    if (hooks_.embedder) {
      const auto warning = check_same_voice(speaker, earlier, pending.clip_embeddings,
                                            hooks_.embedder->same_speaker_min_cosine());
      if (warning) outcome.warnings.push_back(*warning);
      enrollment.embedding_model_id = hooks_.embedder->model_id();
      enrollment.clip_embeddings = pending.clip_embeddings;
      earlier.insert(earlier.end(), std::make_move_iterator(pending.clip_embeddings.begin()),
                     std::make_move_iterator(pending.clip_embeddings.end()));
    }
    const EnrollmentResult stored = store_.add_enrollment(enrollment);
    // Another process may have enrolled the same audio since new_recordings() looked.
    outcome.status = stored.added ? RecordingStatus::kEnrolled : RecordingStatus::kAlreadyEnrolled;
    outcome.recording_id = stored.recording.id;
    outcome.same_audio_speakers = stored.same_audio_speakers;
    result.new_speaker = result.new_speaker || stored.new_speaker;
  }

  SpeakerEnrollment finish(const SpeakerGroup& group) {
    SpeakerEnrollment result;
    result.speaker = group.speaker;
    const std::optional<SpeakerDetails> before = store_.find_speaker(group.speaker);
    RecordingOfDigest known;
    if (before) {
      for (const RecordingRecord& r : before->recordings) known[r.provenance.sha256] = r.id;
    }
    std::vector<Pending*> fresh = new_recordings(group, known);
    if (!fresh.empty() &&
        enough_speech(group, before ? before->summary.speech_seconds : 0, fresh, known)) {
      std::vector<std::vector<float>> earlier;
      if (hooks_.embedder && before) earlier = earlier_embeddings(group.speaker);
      for (Pending* pending : fresh) {
        store_recording(group.speaker, *pending, earlier, result);
        known[pending->outcome.provenance.sha256] = pending->outcome.recording_id;
      }
    }
    for (std::size_t index : group.members) {
      Pending& pending = pending_[index];
      RecordingOutcome& outcome = pending.outcome;
      if (outcome.error) outcome.status = RecordingStatus::kFailed;
      if (outcome.status == RecordingStatus::kAlreadyEnrolled && !outcome.recording_id) {
        outcome.recording_id = known[outcome.provenance.sha256];
      }
      // Freed now, not when the batch ends (clear() would keep the memory): a batch over a large
      // dataset holds hours of speech.
      pending.speech = {};
      pending.clip_features = {};
      pending.clip_embeddings = {};
      result.recordings.push_back(std::move(outcome));
    }
    if (const auto after = store_.find_speaker(group.speaker)) result.summary = after->summary;
    return result;
  }

  Store& store_;
  const EnrollmentOptions& options_;
  const EnrollmentHooks& hooks_;
  const FeatureExtractor extractor_;
  std::vector<Pending> pending_;
  std::vector<SpeakerGroup> groups_;
  std::vector<std::size_t> order_;  // pending_ indexes, speaker by speaker

  std::mutex store_mutex_;
  std::mutex state_mutex_;  // guards what follows; taken after store_mutex_, never before
  std::size_t num_analysed_ = 0;
  std::vector<SpeakerEnrollment> finished_;
  std::set<std::size_t> is_finished_;
  std::size_t num_reported_ = 0;
};

}  // namespace

void EnrollmentOptions::validate() const {
  audio.validate();
  vad.validate();
  chunk.validate();
  features.validate();
  quality.validate();
  if (features.sample_rate_hz != audio.sample_rate_hz) {
    invalid("the features' sample rate (" + std::to_string(features.sample_rate_hz) +
            " Hz) must be the audio's (" + std::to_string(audio.sample_rate_hz) + " Hz)");
  }
  if (jobs < 0) invalid("EnrollmentOptions.jobs is " + std::to_string(jobs) + "; use 0 or more");
}

EnrollmentOptions options_for_store(const EnrollmentOptions& requested,
                                    const std::optional<FeatureOptions>& stored) {
  EnrollmentOptions resolved = requested;
  if (!stored) return resolved;
  if (requested.features != FeatureOptions{} && requested.features != *stored) {
    invalid("this store keeps features made with other settings (" + stored->to_json() +
            "): enroll without feature options to use the store's, or use another --store");
  }
  resolved.features = *stored;
  resolved.audio.sample_rate_hz = stored->sample_rate_hz;
  return resolved;
}

namespace {

// Noise, a tone or a square wave enrolled would be answered for any other noise.
void refuse_what_is_not_speech(const SignalQuality& quality,
                               const EnrollmentQualityOptions& options) {
  const auto percent = [](double share) { return std::to_string(std::lround(100 * share)) + "%"; };
  const std::string what = "does not sound like a person talking: ";
  const std::string to_do = "; enroll a recording of the speaker talking";
  if (quality.clipped_fraction > options.refuse_clipped_fraction) {
    throw Error(ErrorCode::kNoSpeech, what + percent(quality.clipped_fraction) +
                                          " of its samples are clipped (full scale)" + to_do +
                                          " at a lower recording level");
  }
  if (quality.snr_db < options.refuse_snr_db) {
    char snr[32];
    std::snprintf(snr, sizeof snr, "%.1f dB", quality.snr_db);
    throw Error(ErrorCode::kNoSpeech, what + "its speech stands only " + snr + " above its noise" +
                                          to_do + " in a quieter place");
  }
  if (quality.voiced_fraction < options.min_voiced_fraction) {
    throw Error(ErrorCode::kNoSpeech, what + "only " + percent(quality.voiced_fraction) +
                                          " of it is voiced (noise or music?)" + to_do +
                                          " aloud, not whispering");
  }
}

}  // namespace

AnalysedRecording analyse_recording(const Audio& audio, const std::string& source_path,
                                    const EnrollmentOptions& options,
                                    const FeatureExtractor& extractor) {
  const VadResult vad = detect_speech(audio.samples, audio.sample_rate_hz, options.vad);
  if (vad.segments.empty()) {
    throw Error(ErrorCode::kNoSpeech,
                "no speech found: enroll a recording of the speaker talking (or lower "
                "--vad-floor-dbfs for very quiet speech)");
  }
  AnalysedRecording analysed;
  analysed.speech = keep_speech(audio.samples, vad);
  const std::vector<std::vector<float>> clips =
      cut_clips(analysed.speech, audio.sample_rate_hz, options.chunk);
  if (clips.empty()) {
    // Two decimals: 0.99 s must not read as the 1.0 s it falls short of.
    throw Error(ErrorCode::kNoSpeech, "only " + seconds(vad.speech_seconds, 2) +
                                          " of speech, less than the shortest clip (" +
                                          seconds(options.chunk.min_clip_seconds, 2) +
                                          "): enroll a longer recording");
  }
  analysed.provenance.source_path = source_path;
  analysed.provenance.sha256 = sha256_of_samples(audio.samples);
  analysed.provenance.duration_seconds = audio.duration_seconds();
  analysed.provenance.speech_seconds = vad.speech_seconds;
  for (const std::vector<float>& clip : clips) {
    analysed.clip_features.push_back(extractor.compute(clip));
  }
  analysed.quality = measure_signal_quality(audio.samples, audio.sample_rate_hz, vad, options.vad,
                                            options.quality.clipping_level);
  analysed.quality.voiced_fraction = measure_voiced_fraction(analysed.speech, audio.sample_rate_hz);
  refuse_what_is_not_speech(analysed.quality, options.quality);
  analysed.warnings = assess_signal_quality(analysed.quality, options);
  return analysed;
}

const char* recording_status_name(RecordingStatus status) noexcept {
  switch (status) {
    case RecordingStatus::kEnrolled:
      return "enrolled";
    case RecordingStatus::kAlreadyEnrolled:
      return "already_enrolled";
    case RecordingStatus::kFailed:
      return "failed";
  }
  return "unknown";
}

std::vector<SpeakerEnrollment> enroll_recordings(Store& store,
                                                 const std::vector<LabelledRecording>& recordings,
                                                 const EnrollmentOptions& requested,
                                                 const EnrollmentHooks& hooks) {
  const EnrollmentOptions options = options_for_store(requested, store.feature_options());
  options.validate();
  if (hooks.embedder && hooks.embedder->feature_options() != options.features) {
    throw Error(ErrorCode::kModel,
                "the speaker model takes other features than the store's clips: use the model "
                "made for this store, or enroll without it");
  }
  const auto from_stdin =
      std::count_if(recordings.begin(), recordings.end(),
                    [](const LabelledRecording& r) { return !r.audio && r.path == "-"; });
  if (from_stdin > 1) {
    invalid("'-' (standard input) is given more than once; it can be read only once");
  }
  return Batch(store, recordings, options, hooks).run();
}

}  // namespace spkid
