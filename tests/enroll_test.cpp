// Enrollment in the library: dataset inputs, quality feedback, analysis, and batches into a store.
#include "spkid/enroll.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "spkid/dataset.h"
#include "store_fixtures.h"
#include "synth.h"

namespace spkid {
namespace {

namespace fs = std::filesystem;
using test::expect_error;
using test::TempDir;

constexpr int kRate = 16000;

std::vector<float> voice(double seconds, unsigned seed, double pitch_hz = 120) {
  test::Voice v;
  v.pitch_hz = pitch_hz;
  return test::speech_like(v, seconds, kRate, seed);
}

// `seconds` of speech with a second of silence either side.
std::vector<float> recording(double seconds, unsigned seed, double pitch_hz = 120) {
  return test::concat(
      {test::silence(1, kRate), voice(seconds, seed, pitch_hz), test::silence(1, kRate)});
}

std::vector<float> scaled(std::vector<float> samples, double gain) {
  for (float& x : samples) x = static_cast<float>(x * gain);
  return samples;
}

double dbfs(double rms) { return 20 * std::log10(rms); }

void touch(const std::string& path) {
  fs::create_directories(fs::path(path).parent_path());
  test::write_text(path, "x");
}

TEST(Dataset, TellsAudioFilesByTheirExtension) {
  for (const char* name : {"a.wav", "b.FLAC", "dir.x/c.ogg", "d.opus", "e.mp3", "f.aiff"}) {
    EXPECT_TRUE(is_audio_file_name(name)) << name;
  }
  for (const char* name : {"notes.txt", "wav", ".wav", "a.wav.bak", "trans.txt", "x.json"}) {
    EXPECT_FALSE(is_audio_file_name(name)) << name;
  }
}

TEST(Dataset, ListsOneSpeakerPerSubFolderInNameOrder) {
  TempDir temp;
  const std::string root = temp.file("dataset");
  touch(root + "/bob/2.wav");
  touch(root + "/bob/1.flac");
  touch(root + "/alice/session 1/a.wav");  // nested folders belong to their speaker
  touch(root + "/alice/b.WAV");
  touch(root + "/alice/readme.txt");   // not audio
  touch(root + "/alice/.hidden.wav");  // hidden
  touch(root + "/.cache/x.wav");       // hidden speaker folder
  touch(root + "/carol/notes.txt");    // no audio: no speaker
  touch(root + "/loose.wav");          // not in a speaker folder
  const std::vector<LabelledRecording> found = list_dataset_folder(root);
  std::vector<std::pair<std::string, std::string>> got;
  for (const LabelledRecording& r : found) {
    got.emplace_back(r.speaker, fs::path(r.path).lexically_relative(root).string());
  }
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"alice", "alice/b.WAV"},
      {"alice", "alice/session 1/a.wav"},
      {"bob", "bob/1.flac"},
      {"bob", "bob/2.wav"}};
  EXPECT_EQ(got, expected);
  EXPECT_EQ(found.front().origin, root + "/alice");
}

TEST(Dataset, FollowsLinksButTakesEachFolderAndFileOnce) {
  TempDir temp;
  const std::string root = temp.file("dataset");
  touch(root + "/alice/a.wav");
  touch(root + "/alice/deeper/b.wav");
  touch(temp.file("elsewhere/c.wav"));
  fs::create_directory_symlink(root + "/alice", root + "/alice/deeper/up");  // a loop
  fs::create_directory_symlink(root + "/alice/deeper", root + "/alice/again");
  fs::create_directory_symlink(temp.file("elsewhere"), root + "/alice/linked");
  fs::create_symlink(root + "/alice/a.wav", root + "/alice/z-same.wav");  // one file, two names
  fs::create_symlink(temp.file("missing.wav"), root + "/alice/dangling.wav");
  // Two folders linking to each other.
  fs::create_directories(root + "/bob/x");
  fs::create_directories(root + "/bob/y");
  touch(root + "/bob/x/1.wav");
  fs::create_directory_symlink(root + "/bob/y", root + "/bob/x/to-y");
  fs::create_directory_symlink(root + "/bob/x", root + "/bob/y/to-x");

  std::vector<std::pair<std::string, std::string>> got;
  for (const LabelledRecording& r : list_dataset_folder(root)) {
    got.emplace_back(r.speaker, fs::path(r.path).lexically_relative(root).string());
  }
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"alice", "alice/a.wav"},
      {"alice", "alice/again/b.wav"},  // "again" comes before "deeper" and leads to the same folder
      {"alice", "alice/linked/c.wav"},
      {"bob", "bob/x/1.wav"}};
  EXPECT_EQ(got, expected);
}

TEST(Dataset, SaysWhatDirExpects) {
  TempDir temp;
  expect_error([&] { list_dataset_folder(temp.file("missing")); }, ErrorCode::kNotFound,
               "one sub-folder of recordings per speaker");
  touch(temp.file("flat/a.wav"));
  expect_error([&] { list_dataset_folder(temp.file("flat")); }, ErrorCode::kNotFound,
               "give them with --name NAME");
}

TEST(Dataset, ReadsKaldiStyleListsRelativeToTheirFolder) {
  TempDir temp;
  fs::create_directories(temp.file("lists"));
  test::write_text(temp.file("lists/enroll.txt"),
                   "# speaker path\n"
                   "alice clips/alice 1.wav\r\n"
                   "\n"
                   "bob\t/abs/bob.flac  \n"
                   "  carol   ../carol.ogg\n");
  const std::vector<LabelledRecording> list = read_labelled_list(temp.file("lists/enroll.txt"));
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].speaker, "alice");
  EXPECT_EQ(list[0].path, temp.file("lists/clips/alice 1.wav"));
  EXPECT_EQ(list[0].origin, temp.file("lists/enroll.txt") + ":2");
  EXPECT_EQ(list[1].speaker, "bob");
  EXPECT_EQ(list[1].path, "/abs/bob.flac");
  EXPECT_EQ(list[2].speaker, "carol");
  EXPECT_EQ(list[2].path, temp.file("carol.ogg"));

  test::write_text(temp.file("bad.txt"), "alice a.wav\n\nbob\n");
  expect_error([&] { read_labelled_list(temp.file("bad.txt")); }, ErrorCode::kInvalidArgument,
               temp.file("bad.txt") + ":3: 'bob' has no path");
  expect_error([&] { read_labelled_list(temp.file("none.txt")); }, ErrorCode::kNotFound,
               "none.txt");
}

// Labels are compared with the store's names, which are NFC: a folder or list label typed with
// a combining accent must name the same speaker.
TEST(Dataset, LabelsAreInTheStoresUnicodeForm) {
  const std::string decomposed = "Rene\u0301", precomposed = "Ren\u00e9";
  TempDir temp;
  touch(temp.file("set/" + decomposed + "/a.wav"));
  const std::vector<LabelledRecording> folder = list_dataset_folder(temp.file("set"));
  ASSERT_EQ(folder.size(), 1u);
  EXPECT_EQ(folder[0].speaker, precomposed);
  test::write_text(temp.file("list.txt"), decomposed + " a.wav\n");
  const std::vector<LabelledRecording> list = read_labelled_list(temp.file("list.txt"));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].speaker, precomposed);
}

EnrollmentOptions default_options() {
  EnrollmentOptions options;
  options.jobs = 2;
  return options;
}

SignalQuality quality_of(const std::vector<float>& samples) {
  const EnrollmentOptions options;
  const VadResult vad = detect_speech(samples, kRate, options.vad);
  return measure_signal_quality(samples, kRate, vad, options.vad, options.quality.clipping_level);
}

std::vector<QualityIssue> issues_of(const std::vector<float>& samples) {
  std::vector<QualityIssue> issues;
  for (const QualityWarning& w : assess_signal_quality(quality_of(samples), default_options())) {
    EXPECT_EQ(w.message.find('\n'), std::string::npos) << w.message;
    issues.push_back(w.issue);
  }
  return issues;
}

TEST(Quality, CleanSpeechHasNoWarnings) {
  const std::vector<float> clean = recording(10, 1);
  const SignalQuality quality = quality_of(clean);
  EXPECT_NEAR(quality.speech_seconds, 10, 0.5);
  EXPECT_EQ(quality.clipped_fraction, 0);
  EXPECT_GT(quality.snr_db, 60);
  EXPECT_GT(quality.speech_level_dbfs, -30);
  EXPECT_TRUE(issues_of(clean).empty());
}

TEST(Quality, EstimatesTheNoiseUnderSpeech) {
  const std::vector<float> speech = recording(10, 2);
  const double speech_rms = test::rms(voice(10, 2));
  for (const double snr_db : {30.0, 5.0}) {
    std::vector<float> noise = test::white_noise(12, kRate, 1.0, 7);
    noise = scaled(noise, speech_rms / test::rms(noise) * std::pow(10, -snr_db / 20));
    std::vector<float> noisy = speech;
    for (std::size_t i = 0; i < noisy.size(); ++i) noisy[i] += noise[i];
    const SignalQuality quality = quality_of(noisy);
    // The noise level is measured where there is no speech, whatever the VAD makes of it.
    EXPECT_NEAR(quality.noise_level_dbfs, dbfs(test::rms(noise)), 1.5) << snr_db;
    const std::vector<QualityIssue> issues = issues_of(noisy);
    const bool too_noisy =
        std::find(issues.begin(), issues.end(), QualityIssue::kTooNoisy) != issues.end();
    EXPECT_EQ(too_noisy, snr_db < 15) << "SNR " << snr_db << " dB, estimated " << quality.snr_db;
  }
}

TEST(Quality, FlagsClippingQuietAndShortRecordings) {
  std::vector<float> clipped = scaled(recording(10, 3), 4);
  for (float& x : clipped) x = std::clamp(x, -1.0f, 1.0f);
  EXPECT_EQ(issues_of(clipped), std::vector<QualityIssue>{QualityIssue::kClipping});

  const std::vector<float> speech = recording(10, 4);
  const std::vector<float> quiet =
      scaled(speech, std::pow(10, -48.0 / 20) / test::rms(voice(10, 4)));
  EXPECT_LT(quality_of(quiet).speech_level_dbfs, -40);
  EXPECT_EQ(issues_of(quiet), std::vector<QualityIssue>{QualityIssue::kTooQuiet});

  EXPECT_EQ(issues_of(recording(4, 5)), std::vector<QualityIssue>{QualityIssue::kTooLittleSpeech});
}

TEST(Quality, DifferentVoiceCheckComparesMeanDirections) {
  const std::vector<std::vector<float>> alice = {{1, 0.1f}, {2, -0.1f}};
  EXPECT_FALSE(check_same_voice("alice", alice, {{0.9f, 0.05f}}, 0.5).has_value());
  EXPECT_FALSE(check_same_voice("alice", {}, {{0, 1}}, 0.5).has_value());  // nothing to compare
  const std::optional<QualityWarning> warning = check_same_voice("alice", alice, {{0, 1}}, 0.5);
  ASSERT_TRUE(warning.has_value());
  EXPECT_EQ(warning->issue, QualityIssue::kDifferentVoice);
  EXPECT_NE(warning->message.find("different person than 'alice'"), std::string::npos)
      << warning->message;
  expect_error(
      [&] {
        check_same_voice("alice", alice, {{1, 0, 0}}, 0.5);
      },
      ErrorCode::kInvalidArgument, "different sizes");
}

TEST(Analysis, CutsSpeechIntoClipsOfFeatures) {
  const EnrollmentOptions options = default_options();
  const FeatureExtractor extractor(options.features);
  Audio audio;
  audio.samples = recording(13, 6);
  audio.sample_rate_hz = kRate;
  const AnalysedRecording analysed = analyse_recording(audio, "talk.wav", options, extractor);
  EXPECT_EQ(analysed.provenance.source_path, "talk.wav");
  EXPECT_EQ(analysed.provenance.sha256, sha256_of_samples(audio.samples));
  EXPECT_DOUBLE_EQ(analysed.provenance.duration_seconds, 15);
  EXPECT_NEAR(analysed.provenance.speech_seconds, 13, 0.5);
  // The speech the clips were cut from, kept whole for the store.
  EXPECT_EQ(analysed.speech, keep_speech(audio.samples, detect_speech(audio.samples, kRate)));
  EXPECT_EQ(analysed.speech.size(),
            static_cast<std::size_t>(std::lround(analysed.provenance.speech_seconds * kRate)));
  ASSERT_EQ(analysed.clip_features.size(), 2u);  // 6 s clips; the last second is dropped
  for (const FeatureMatrix& clip : analysed.clip_features) {
    EXPECT_EQ(clip.num_frames, num_frames_for(6 * kRate, options.features));
    EXPECT_EQ(clip.num_features, options.features.num_features());
  }
  EXPECT_TRUE(analysed.warnings.empty());

  audio.samples = test::silence(5, kRate);
  expect_error([&] { analyse_recording(audio, "silence.wav", options, extractor); },
               ErrorCode::kNoSpeech, "no speech found");
  audio.samples = recording(0.5, 7);
  expect_error([&] { analyse_recording(audio, "blip.wav", options, extractor); },
               ErrorCode::kNoSpeech, "less than the shortest clip");
}

TEST(Analysis, VoicingTellsSpeechFromNoise) {
  EXPECT_GT(measure_voiced_fraction(voice(10, 8), kRate), 0.5);
  EXPECT_GT(measure_voiced_fraction(voice(10, 8, 300), kRate), 0.5);  // a child's pitch
  EXPECT_LT(measure_voiced_fraction(test::white_noise(10, kRate, 0.3, 9), kRate), 0.1);
  EXPECT_EQ(measure_voiced_fraction(test::silence(10, kRate), kRate), 0);
  EXPECT_EQ(measure_voiced_fraction({}, kRate), 0);
}

TEST(Analysis, RefusesWhatIsNotSpeech) {
  const EnrollmentOptions options = default_options();
  const FeatureExtractor extractor(options.features);
  Audio audio;
  audio.sample_rate_hz = kRate;
  // Bursts of low-passed noise between pauses: the VAD takes the bursts for speech, voicing
  // does not.
  std::vector<std::vector<float>> bursts;
  for (unsigned i = 0; i < 40; ++i) {
    std::vector<float> burst = test::white_noise(0.5, kRate, 0.1, 20 + i);
    for (std::size_t n = 1; n < burst.size(); ++n) burst[n] += 0.9f * burst[n - 1];
    bursts.push_back(std::move(burst));
    bursts.push_back(test::white_noise(0.25, kRate, 0.001, 60 + i));  // a quiet room
  }
  audio.samples = test::concat(bursts);
  expect_error([&] { analyse_recording(audio, "noise.wav", options, extractor); },
               ErrorCode::kNoSpeech, "voiced (noise or music?)");
  // Speech overdriven far past full scale.
  audio.samples = recording(20, 10);
  for (float& x : audio.samples) x = std::clamp(x * 30.0f, -1.0f, 1.0f);
  expect_error([&] { analyse_recording(audio, "loud.wav", options, extractor); },
               ErrorCode::kNoSpeech, "of its samples are clipped");
  // Speech under as loud a noise: refused, whichever check finds it first.
  audio.samples = voice(20, 11);
  const std::vector<float> noise =
      test::white_noise(20, kRate, std::sqrt(3.0) * test::rms(audio.samples), 12);
  for (std::size_t i = 0; i < audio.samples.size(); ++i) audio.samples[i] += noise[i];
  expect_error([&] { analyse_recording(audio, "street.wav", options, extractor); },
               ErrorCode::kNoSpeech, "");
}

TEST(Analysis, TheStoreKeepsTheFeatureSettingsOfItsFirstEnrollment) {
  EnrollmentOptions requested = default_options();
  FeatureOptions stored;
  stored.num_mel_bins = 40;
  // Defaults follow the store.
  EXPECT_EQ(options_for_store(requested, stored).features, stored);
  EXPECT_EQ(options_for_store(requested, std::nullopt).features, FeatureOptions{});
  requested.features.num_mel_bins = 40;
  EXPECT_EQ(options_for_store(requested, stored).features, stored);
  requested.features.num_mel_bins = 80;
  expect_error([&] { options_for_store(requested, stored); }, ErrorCode::kInvalidArgument,
               "this store keeps features made with other settings");
}

// Writes the recordings a batch test enrolls.
class EnrollBatch : public testing::Test {
 protected:
  void SetUp() override {
    write("alice-1.wav", recording(10, 11, 110));
    write("alice-2.wav", recording(7, 12, 110));
    write("bob.wav", recording(10, 13, 190));
    write("short-1.wav", recording(5, 14, 150));
    write("short-2.wav", recording(5, 15, 150));
    write("short-3.wav", recording(5, 16, 150));
    write("silence.wav", test::silence(5, kRate));
    test::write_text(temp_.file("notes.wav"), "not audio\n");
  }
  void write(const std::string& name, const std::vector<float>& samples) {
    test::write_audio(temp_.file(name), samples, kRate);
  }
  LabelledRecording input(const std::string& speaker, const std::string& file) const {
    return {speaker, temp_.file(file), "", nullptr};
  }
  Store open_store() const { return Store::open(temp_.file("store"), StoreAccess::kCreate); }

  TempDir temp_;
};

const RecordingOutcome& only_recording(const SpeakerEnrollment& speaker) {
  EXPECT_EQ(speaker.recordings.size(), 1u);
  return speaker.recordings.front();
}

TEST_F(EnrollBatch, StoresEachSpeakerAndReportsInOrder) {
  Store store = open_store();
  std::vector<std::string> reported;
  std::vector<std::size_t> progress;
  EnrollmentHooks hooks;
  hooks.on_speaker = [&](const SpeakerEnrollment& s) { reported.push_back(s.speaker); };
  hooks.on_progress = [&](std::size_t done, std::size_t total) {
    EXPECT_EQ(total, 5u);
    progress.push_back(done);
  };
  const std::vector<SpeakerEnrollment> result = enroll_recordings(
      store,
      {input("bob", "bob.wav"), input("alice", "alice-1.wav"), input("eve", "notes.wav"),
       input("alice", "alice-2.wav"), input("alice", "alice-1.wav")},
      default_options(), hooks);

  EXPECT_EQ(reported, (std::vector<std::string>{"bob", "alice", "eve"}));
  EXPECT_EQ(progress, (std::vector<std::size_t>{1, 2, 3, 4, 5}));
  ASSERT_EQ(result.size(), 3u);
  EXPECT_TRUE(result[0].new_speaker);
  EXPECT_EQ(only_recording(result[0]).status, RecordingStatus::kEnrolled);
  EXPECT_EQ(only_recording(result[0]).num_clips, 2);

  const SpeakerEnrollment& alice = result[1];
  ASSERT_EQ(alice.recordings.size(), 3u);
  EXPECT_EQ(alice.recordings[0].status, RecordingStatus::kEnrolled);
  EXPECT_EQ(alice.recordings[1].status, RecordingStatus::kEnrolled);
  // The same file twice in one batch is stored once.
  EXPECT_EQ(alice.recordings[2].status, RecordingStatus::kAlreadyEnrolled);
  EXPECT_EQ(alice.recordings[2].recording_id, alice.recordings[0].recording_id);
  ASSERT_TRUE(alice.summary.has_value());
  EXPECT_EQ(alice.summary->num_recordings, 2);
  EXPECT_NEAR(alice.summary->speech_seconds, 17, 1);
  EXPECT_EQ(alice.recordings[0].provenance.source_path, temp_.file("alice-1.wav"));

  const RecordingOutcome& eve = only_recording(result[2]);
  EXPECT_EQ(eve.status, RecordingStatus::kFailed);
  EXPECT_EQ(eve.error->code(), ErrorCode::kUnsupportedFormat);
  EXPECT_EQ(std::string(eve.error->what()).rfind(temp_.file("notes.wav") + ":", 0), 0u);
  EXPECT_FALSE(result[2].summary.has_value());

  const std::vector<SpeakerSummary> speakers = store.list_speakers();
  ASSERT_EQ(speakers.size(), 2u);
  EXPECT_EQ(speakers[0].name, "alice");
  EXPECT_EQ(speakers[0].num_clips, 3);  // 10 s: one clip and a 4 s remainder; 7 s: one clip
  EXPECT_EQ(speakers[1].name, "bob");
}

TEST_F(EnrollBatch, StoresTheSpeechTheVadKept) {
  Store store = open_store();
  const std::vector<SpeakerEnrollment> result = enroll_recordings(
      store,
      {input("bob", "bob.wav"), input("alice", "alice-1.wav"), input("alice", "alice-2.wav")},
      default_options());
  const std::vector<StoredSpeech> speech = store.recording_speech();
  ASSERT_EQ(speech.size(), 3u);  // alice's two, then bob's
  const std::vector<const RecordingOutcome*> outcomes = {
      &result[1].recordings[0], &result[1].recordings[1], &only_recording(result[0])};
  const EnrollmentOptions options = default_options();
  const FeatureExtractor extractor(options.features);
  for (std::size_t i = 0; i < speech.size(); ++i) {
    const RecordingOutcome& outcome = *outcomes[i];
    EXPECT_EQ(speech[i].recording_id, outcome.recording_id);
    EXPECT_TRUE(speech[i].has_audio);
    EXPECT_EQ(speech[i].sample_rate_hz, kRate);
    EXPECT_EQ(speech[i].samples.size(),
              static_cast<std::size_t>(std::lround(outcome.provenance.speech_seconds * kRate)));
    const AnalysedRecording analysed = analyse_recording(
        load_audio(outcome.request.path, options.audio), outcome.request.path, options, extractor);
    // Exactly: 16-bit files at the features' rate need no resampling, and int16 holds them.
    EXPECT_TRUE(speech[i].samples == analysed.speech);
  }
}

TEST_F(EnrollBatch, EnrollingTheSameAudioAgainChangesNothing) {
  Store store = open_store();
  enroll_recordings(store, {input("alice", "alice-1.wav")}, default_options());
  const SpeakerDetails before = store.speaker_details("alice");
  const std::vector<SpeakerEnrollment> again =
      enroll_recordings(store, {input("alice", "alice-1.wav")}, default_options());
  EXPECT_EQ(only_recording(again[0]).status, RecordingStatus::kAlreadyEnrolled);
  EXPECT_EQ(only_recording(again[0]).recording_id, before.recordings[0].id);
  EXPECT_FALSE(again[0].new_speaker);
  const SpeakerDetails after = store.speaker_details("alice");
  EXPECT_EQ(after.recordings.size(), 1u);
  EXPECT_EQ(after.summary.num_clips, before.summary.num_clips);

  // The same audio under another name is enrolled, with a note about the first name.
  const std::vector<SpeakerEnrollment> other =
      enroll_recordings(store, {input("alicia", "alice-1.wav")}, default_options());
  EXPECT_EQ(only_recording(other[0]).status, RecordingStatus::kEnrolled);
  EXPECT_EQ(only_recording(other[0]).same_audio_speakers, std::vector<std::string>{"alice"});
}

TEST_F(EnrollBatch, RefusesASpeakerBelowTheMinimumCountingWhatIsEnrolled) {
  Store store = open_store();
  const std::vector<SpeakerEnrollment> refused =
      enroll_recordings(store, {input("sam", "short-1.wav")}, default_options());
  const RecordingOutcome& outcome = only_recording(refused[0]);
  EXPECT_EQ(outcome.status, RecordingStatus::kFailed);
  EXPECT_EQ(outcome.error->code(), ErrorCode::kNoSpeech);
  EXPECT_NE(std::string(outcome.error->what()).find("enrollment needs 8.0 s"), std::string::npos)
      << outcome.error->what();
  EXPECT_TRUE(store.list_speakers().empty());

  // Two short recordings together are enough.
  const std::vector<SpeakerEnrollment> together = enroll_recordings(
      store, {input("sam", "short-1.wav"), input("sam", "short-2.wav")}, default_options());
  EXPECT_EQ(together[0].recordings[0].status, RecordingStatus::kEnrolled);
  EXPECT_EQ(together[0].recordings[1].status, RecordingStatus::kEnrolled);
  // Once enrolled, a speaker may add a short recording on its own.
  const std::vector<SpeakerEnrollment> more =
      enroll_recordings(store, {input("sam", "short-3.wav")}, default_options());
  EXPECT_EQ(only_recording(more[0]).status, RecordingStatus::kEnrolled);
  EXPECT_EQ(store.speaker_details("sam").recordings.size(), 3u);
}

TEST_F(EnrollBatch, BadNamesAndBadAudioChangeNothing) {
  Store store = open_store();
  enroll_recordings(store, {input("bob", "bob.wav")}, default_options());
  const std::vector<StoredClip> clips_before = store.clips();
  LabelledRecording listed = input("unknown", "alice-1.wav");
  listed.origin = "enroll.txt:4";
  const std::vector<SpeakerEnrollment> result =
      enroll_recordings(store,
                        {input("a/b", "alice-1.wav"), listed, input("bob", "silence.wav"),
                         input("bob", "missing.wav")},
                        default_options());
  ASSERT_EQ(result.size(), 3u);
  EXPECT_EQ(only_recording(result[0]).error->code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(std::string(only_recording(result[1]).error->what()).rfind("enroll.txt:4: ", 0), 0u);
  EXPECT_EQ(result[2].recordings[0].error->code(), ErrorCode::kNoSpeech);
  EXPECT_EQ(result[2].recordings[1].error->code(), ErrorCode::kNotFound);
  const std::vector<StoredClip> clips_after = store.clips();
  ASSERT_EQ(clips_after.size(), clips_before.size());
  for (std::size_t i = 0; i < clips_after.size(); ++i) {
    EXPECT_EQ(clips_after[i].features.data, clips_before[i].features.data);
  }
  expect_error(
      [&] {
        enroll_recordings(store, {{"x", "-", ""}, {"y", "-", ""}}, default_options());
      },
      ErrorCode::kInvalidArgument, "more than once");
}

// Embeds every clip of a call as `direction`, standing in for a speaker model.
class FixedEmbedder final : public ClipEmbedder {
 public:
  explicit FixedEmbedder(int64_t model_id) : model_id_(model_id) {}
  int64_t model_id() const override { return model_id_; }
  const FeatureOptions& feature_options() const override { return features_; }
  double same_speaker_min_cosine() const override { return 0.5; }
  std::vector<std::vector<float>> embed(const std::vector<FeatureMatrix>& clips) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    num_embedded_ += clips.size();
    return std::vector<std::vector<float>>(clips.size(), direction_);
  }
  void set_direction(std::vector<float> direction) { direction_ = std::move(direction); }
  std::size_t num_embedded() const { return num_embedded_; }

 private:
  int64_t model_id_;
  FeatureOptions features_;
  std::vector<float> direction_ = {1, 0};
  mutable std::mutex mutex_;
  mutable std::size_t num_embedded_ = 0;
};

TEST_F(EnrollBatch, AModelEmbedsTheClipsAndNoticesADifferentVoice) {
  Store store = open_store();
  enroll_recordings(store, {input("alice", "alice-1.wav")}, default_options());  // no model yet
  NewModel model;
  model.kind = "test";
  const ModelRecord record = store.register_model(model, "weights");
  FixedEmbedder embedder(record.id);
  EnrollmentHooks hooks;
  hooks.embedder = &embedder;

  embedder.set_direction({1, 0.1f});
  const std::vector<SpeakerEnrollment> same =
      enroll_recordings(store, {input("alice", "alice-2.wav")}, default_options(), hooks);
  EXPECT_TRUE(only_recording(same[0]).warnings.empty());
  // The earlier clips got their embeddings too, so every clip of alice has one.
  EXPECT_EQ(store.embeddings(record.id).size(), 3u);
  EXPECT_EQ(embedder.num_embedded(), 3u);

  embedder.set_direction({0, 1});
  const std::vector<SpeakerEnrollment> other =
      enroll_recordings(store, {input("alice", "bob.wav")}, default_options(), hooks);
  const RecordingOutcome& outcome = only_recording(other[0]);
  EXPECT_EQ(outcome.status, RecordingStatus::kEnrolled);  // a warning, not a refusal
  ASSERT_EQ(outcome.warnings.size(), 1u);
  EXPECT_EQ(outcome.warnings[0].issue, QualityIssue::kDifferentVoice);
  EXPECT_EQ(store.embeddings(record.id).size(), 5u);

  // A new speaker has nothing to compare with.
  const std::vector<SpeakerEnrollment> first =
      enroll_recordings(store, {input("carol", "bob.wav")}, default_options(), hooks);
  EXPECT_EQ(only_recording(first[0]).status, RecordingStatus::kEnrolled);
  EXPECT_TRUE(only_recording(first[0]).warnings.empty());
  EXPECT_EQ(store.embeddings(record.id).size(), 7u);
}

}  // namespace
}  // namespace spkid
