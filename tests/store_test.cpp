// The enrollment store: SQLite schema, migrations, safety of the files, concurrency.
#include "spkid/store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "spkid/error.h"
#include "spkid/fs_util.h"
#include "store_fixtures.h"
#include "synth.h"

namespace spkid {
namespace {

namespace fs = std::filesystem;
using test::expect_error;
using test::make_enrollment;
using test::query_int;
using test::query_text;
using test::random_features;
using test::run_sql;
using test::TempDir;

ClipQuery clips_of(const std::string& speaker) {
  ClipQuery query;
  query.speaker = speaker;
  return query;
}

ClipQuery clips_missing_embedding(int64_t model_id) {
  ClipQuery query;
  query.missing_embedding_for_model = model_id;
  return query;
}

NewModel model_of_kind(const std::string& kind) {
  NewModel model;
  model.kind = kind;
  return model;
}

unsigned file_mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// An SQL blob literal (x'...') of little-endian float32 values, as the store keeps vectors.
std::string sql_float_blob(const std::vector<float>& values) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string literal = "x'";
  for (const float value : values) {
    unsigned char bytes[sizeof value];
    std::memcpy(bytes, &value, sizeof value);
    for (const unsigned char byte : bytes) {
      literal += kHex[byte >> 4];
      literal += kHex[byte & 15];
    }
  }
  return literal + "'";
}

// One int16 step of the stored speech, libsndfile's: full scale is 32768.
constexpr float kPcm16Step = 1.0f / 32768;

TEST(Sha256OfSamples, MatchesReferenceDigests) {
  // References: Python's hashlib.sha256 of the same little-endian float32 bytes.
  EXPECT_EQ(sha256_of_samples(std::vector<float>{}),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_of_samples(std::vector<float>{0.0f, 1.0f, -0.5f}),
            "dbde3f595c2501dfce3d0c8a02ec2baaeac2c2a514757d9660d1948dc072c540");
}

TEST(Store, OnlyCreateAccessMakesAMissingStore) {
  TempDir temp;
  const std::string dir = temp.file("nowhere");
  for (StoreAccess access : {StoreAccess::kRead, StoreAccess::kWrite}) {
    expect_error([&] { Store::open(dir, access); }, ErrorCode::kStore,
                 "no store at " + dir + ": enroll a speaker first");
    EXPECT_FALSE(fs::exists(dir));
  }
  // An empty database file (a first open that died early) is no store either.
  fs::create_directory(dir);
  write_bytes(dir + "/spkid.db", "");
  expect_error([&] { Store::open(dir, StoreAccess::kWrite); }, ErrorCode::kStore, "no store at");
  Store::open(dir, StoreAccess::kCreate).add_enrollment(make_enrollment("ann", 1));
  EXPECT_EQ(Store::open(dir, StoreAccess::kWrite).remove_speaker("ann").name, "ann");
}

TEST(Store, CreatesAPrivateFolderAndPrivateFilesWhateverTheUmask) {
  // 0: the umask must not leak extra permissions; 0277: nor take the owner's away.
  for (const mode_t umask : {0, 0277}) {
    TempDir temp;
    const std::string dir = temp.file("a/b/store");
    const mode_t old_umask = ::umask(umask);
    {
      Store store = Store::open(dir, StoreAccess::kCreate);
      store.add_enrollment(make_enrollment("alice", 1));
      const std::string db = store.database_path();
      EXPECT_EQ(db, dir + "/spkid.db");
      EXPECT_EQ(file_mode(temp.file("a")), 0700u);
      EXPECT_EQ(file_mode(dir), 0700u);
      EXPECT_EQ(file_mode(db), 0600u);
      ASSERT_TRUE(fs::exists(db + "-wal"));
      EXPECT_EQ(file_mode(db + "-wal"), 0600u);
      EXPECT_EQ(file_mode(db + "-shm"), 0600u);
      const ModelRecord model = store.register_model(model_of_kind("test-model"), "weights");
      EXPECT_EQ(file_mode(model.path), 0600u);
    }
    ::umask(old_umask);
    EXPECT_EQ(query_text(dir + "/spkid.db", "PRAGMA journal_mode"), "wal");
    EXPECT_EQ(query_int(dir + "/spkid.db", "PRAGMA user_version"), kStoreSchemaVersion);
  }
}

TEST(Store, AFolderOpenToOthersIsMadePrivateToWriteAndRefusedToRead) {
  TempDir temp;
  const std::string dir = temp.file("store");
  fs::create_directory(dir);
  ::chmod(dir.c_str(), 0777);  // made beforehand, by someone's script
  Store::open(dir, StoreAccess::kCreate).add_enrollment(make_enrollment("alice", 1));
  EXPECT_EQ(file_mode(dir), 0700u);

  ::chmod(dir.c_str(), 0777);
  expect_error([&] { Store::open(dir, StoreAccess::kRead); }, ErrorCode::kStore,
               "can be written by other users");
  EXPECT_EQ(file_mode(dir), 0777u);  // reading changes nothing
  ::chmod(dir.c_str(), 0755);        // readable by others, but theirs to change: fine to read
  EXPECT_EQ(Store::open(dir, StoreAccess::kRead).list_speakers().size(), 1u);
}

TEST(Store, AStorePathThatIsALinkToNothingIsSaidSo) {
  TempDir temp;
  const std::string dir = temp.file("store");
  fs::create_symlink(temp.file("nowhere"), dir);
  expect_error([&] { Store::open(dir, StoreAccess::kCreate); }, ErrorCode::kStore,
               dir + " is a symbolic link to nothing");
  EXPECT_FALSE(fs::exists(temp.file("nowhere")));
}

TEST(Store, TheStoresOwnFilesAreNeverFollowedThroughLinks) {
  TempDir temp;
  const std::string elsewhere = temp.file("elsewhere.db");
  write_bytes(elsewhere, "");
  for (const char* linked : {"spkid.db", "spkid.db-wal"}) {
    const std::string dir = temp.file(std::string("store-") + linked);
    if (std::string(linked) != "spkid.db") {
      Store::open(dir, StoreAccess::kCreate).add_enrollment(make_enrollment("alice", 1));
      fs::remove(dir + "/" + linked);
    } else {
      fs::create_directories(dir);
    }
    fs::create_symlink(elsewhere, dir + "/" + linked);
    for (const StoreAccess access :
         {StoreAccess::kCreate, StoreAccess::kWrite, StoreAccess::kRead}) {
      expect_error([&] { Store::open(dir, access); }, ErrorCode::kStore,
                   std::string(linked) + " is a symbolic link");
    }
    EXPECT_EQ(fs::file_size(elsewhere), 0u) << linked;  // never written through the link
  }
}

TEST(Store, EnrollsListsRenamesAndRemovesSpeakers) {
  TempDir temp;
  Store store = Store::open(temp.file("store"), StoreAccess::kCreate);
  EXPECT_TRUE(store.list_speakers().empty());
  EXPECT_FALSE(store.feature_options().has_value());

  const EnrollmentResult bob = store.add_enrollment(make_enrollment("bob", 1, 3));
  EXPECT_TRUE(bob.added);
  EXPECT_TRUE(bob.new_speaker);
  EXPECT_EQ(bob.clip_ids.size(), 3u);
  EXPECT_EQ(bob.recording.num_clips, 3);
  EXPECT_EQ(bob.recording.provenance.source_path, "bob-1.wav");
  EXPECT_EQ(bob.speaker.name, "bob");
  store.add_enrollment(make_enrollment("alice", 2, 1));
  ASSERT_TRUE(store.feature_options().has_value());
  EXPECT_EQ(*store.feature_options(), FeatureOptions{});

  std::vector<SpeakerSummary> speakers = store.list_speakers();
  ASSERT_EQ(speakers.size(), 2u);
  EXPECT_EQ(speakers[0].name, "alice");  // by name
  EXPECT_EQ(speakers[1].name, "bob");
  EXPECT_EQ(speakers[1].num_recordings, 1);
  EXPECT_EQ(speakers[1].num_clips, 3);
  EXPECT_DOUBLE_EQ(speakers[1].speech_seconds, 10.0);
  EXPECT_DOUBLE_EQ(speakers[1].audio_seconds, 12.5);
  EXPECT_FALSE(speakers[1].covered_by_current_model);
  EXPECT_EQ(speakers[1].created_at.size(), 20u);  // 2024-05-01T12:00:00Z

  store.rename_speaker("bob", "robert");
  speakers = store.list_speakers();
  ASSERT_EQ(speakers.size(), 2u);
  EXPECT_EQ(speakers[1].name, "robert");
  EXPECT_EQ(speakers[1].num_clips, 3);  // the recordings follow the speaker
  EXPECT_EQ(store.clips(clips_of("robert")).size(), 3u);

  const SpeakerSummary removed = store.remove_speaker("robert");
  EXPECT_EQ(removed.num_clips, 3);
  speakers = store.list_speakers();
  ASSERT_EQ(speakers.size(), 1u);
  EXPECT_EQ(speakers[0].name, "alice");
  EXPECT_EQ(store.clips().size(), 1u);  // robert's clips went with him
}

TEST(Store, AccumulatesRecordingsForOneName) {
  TempDir temp;
  const std::string dir = temp.file("store");
  Store::open(dir, StoreAccess::kCreate).add_enrollment(make_enrollment("carol", 1, 2));
  // A second process (here: a second Store) adds more audio for the same name.
  const EnrollmentResult second =
      Store::open(dir, StoreAccess::kCreate).add_enrollment(make_enrollment("carol", 2, 3));
  EXPECT_TRUE(second.added);
  EXPECT_FALSE(second.new_speaker);
  EXPECT_EQ(second.speaker.num_recordings, 2);
  EXPECT_EQ(second.speaker.num_clips, 5);
  EXPECT_DOUBLE_EQ(second.speaker.speech_seconds, 20.0);

  const SpeakerDetails details = Store::open(dir, StoreAccess::kRead).speaker_details("carol");
  ASSERT_EQ(details.recordings.size(), 2u);
  EXPECT_EQ(details.recordings[0].provenance.source_path, "carol-1.wav");
  EXPECT_EQ(details.recordings[1].provenance.source_path, "carol-2.wav");
  EXPECT_EQ(details.recordings[1].num_clips, 3);
  EXPECT_EQ(details.recordings[1].provenance.sha256, make_enrollment("carol", 2).recording.sha256);
  EXPECT_FALSE(details.recordings[1].enrolled_at.empty());
}

TEST(Store, EnrollingTheSameAudioTwiceChangesNothing) {
  TempDir temp;
  Store store = Store::open(temp.file("store"), StoreAccess::kCreate);
  const EnrollmentResult first = store.add_enrollment(make_enrollment("dave", 7, 2));
  const std::vector<StoredClip> clips_before = store.clips();

  Enrollment again = make_enrollment("dave", 7, 4);  // same audio, other file name and clips
  again.recording.source_path = "copy-of-dave.flac";
  const EnrollmentResult second = store.add_enrollment(again);
  EXPECT_FALSE(second.added);
  EXPECT_FALSE(second.new_speaker);
  EXPECT_TRUE(second.clip_ids.empty());
  EXPECT_EQ(second.recording.id, first.recording.id);
  EXPECT_EQ(second.recording.provenance.source_path, "dave-7.wav");  // the earlier one
  EXPECT_EQ(second.speaker.num_recordings, 1);
  EXPECT_EQ(second.speaker.num_clips, 2);
  const std::vector<StoredClip> clips_after = store.clips();
  ASSERT_EQ(clips_after.size(), clips_before.size());
  for (std::size_t i = 0; i < clips_after.size(); ++i) {
    EXPECT_EQ(clips_after[i].id, clips_before[i].id);
    EXPECT_EQ(clips_after[i].features.data, clips_before[i].features.data);
  }

  // The same audio under another name is enrolled, and the result names the other speaker.
  const EnrollmentResult other = store.add_enrollment(make_enrollment("erin", 7, 1));
  EXPECT_TRUE(other.added);
  EXPECT_EQ(other.same_audio_speakers, std::vector<std::string>{"dave"});
}

TEST(Store, StoredFeaturesComeBackExactly) {
  TempDir temp;
  Store store = Store::open(temp.file("store"), StoreAccess::kCreate);
  const Enrollment enrollment = make_enrollment("frank", 3, 2);
  const EnrollmentResult result = store.add_enrollment(enrollment);
  const std::vector<StoredClip> clips = store.clips(clips_of("frank"));
  ASSERT_EQ(clips.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(clips[i].id, result.clip_ids[i]);
    EXPECT_EQ(clips[i].clip_index, i);
    EXPECT_EQ(clips[i].speaker, "frank");
    EXPECT_EQ(clips[i].speaker_id, result.speaker.id);
    EXPECT_EQ(clips[i].recording_id, result.recording.id);
    EXPECT_EQ(clips[i].features.num_frames, enrollment.clip_features[i].num_frames);
    EXPECT_EQ(clips[i].features.num_features, enrollment.clip_features[i].num_features);
    EXPECT_EQ(clips[i].features.data, enrollment.clip_features[i].data);
  }
  expect_error([&] { store.clips(clips_of("nobody")); }, ErrorCode::kInvalidArgument,
               "no speaker 'nobody'");
}

TEST(Store, StoredSpeechComesBackAtInt16Precision) {
  TempDir temp;
  Store store = Store::open(temp.file("store"), StoreAccess::kCreate);
  Enrollment first = make_enrollment("rita", 4, 1);
  // Full scale both ways, beyond it (float files may exceed it), and below one step.
  const std::vector<float> edges = {1.0f, -1.0f, 1.5f, -2.0f, 0.0f, 0.3f * kPcm16Step};
  std::copy(edges.begin(), edges.end(), first.speech.begin());
  const EnrollmentResult rita_first = store.add_enrollment(first);
  const EnrollmentResult sam = store.add_enrollment(make_enrollment("sam", 5, 1));
  const Enrollment second = make_enrollment("rita", 6, 1);
  const EnrollmentResult rita_second = store.add_enrollment(second);

  const std::vector<StoredSpeech> all = store.recording_speech();
  ASSERT_EQ(all.size(), 3u);  // by name, then enrollment order
  EXPECT_EQ(all[0].recording_id, rita_first.recording.id);
  EXPECT_EQ(all[1].recording_id, rita_second.recording.id);
  EXPECT_EQ(all[2].recording_id, sam.recording.id);
  EXPECT_EQ(all[2].speaker, "sam");
  EXPECT_EQ(all[2].speaker_id, sam.speaker.id);

  const std::vector<StoredSpeech> rita = store.recording_speech("rita");
  ASSERT_EQ(rita.size(), 2u);
  const std::vector<const Enrollment*> enrolled = {&first, &second};
  for (std::size_t r = 0; r < rita.size(); ++r) {
    EXPECT_EQ(rita[r].speaker, "rita");
    EXPECT_TRUE(rita[r].has_audio);
    EXPECT_EQ(rita[r].sample_rate_hz, FeatureOptions{}.sample_rate_hz);
    const std::vector<float>& sent = enrolled[r]->speech;
    ASSERT_EQ(rita[r].samples.size(), sent.size());
    float max_error = 0;
    for (std::size_t i = 0; i < sent.size(); ++i) {
      const float kept = std::clamp(sent[i], -1.0f, 1.0f - kPcm16Step);  // int16's range
      max_error = std::max(max_error, std::abs(rita[r].samples[i] - kept));
    }
    // Rounded, not truncated: within half a step (plus float rounding).
    EXPECT_LE(max_error, 0.5f * kPcm16Step + 1e-7f);
  }
  EXPECT_EQ(std::vector<float>(rita[0].samples.begin(), rita[0].samples.begin() + edges.size()),
            (std::vector<float>{1.0f - kPcm16Step, -1.0f, 1.0f - kPcm16Step, -1.0f, 0.0f, 0.0f}));
  // Samples on the int16 grid (16-bit files that needed no resampling) come back exactly.
  std::vector<float> grid(first.speech.size());
  for (std::size_t i = 0; i < grid.size(); ++i) {
    grid[i] = static_cast<float>(static_cast<int>(i % 65536) - 32768) * kPcm16Step;
  }
  Enrollment exact = make_enrollment("tess", 7, 1);
  exact.speech = grid;
  store.add_enrollment(exact);
  EXPECT_TRUE(store.recording_speech("tess").at(0).samples == grid);
  expect_error([&] { store.recording_speech("nobody"); }, ErrorCode::kInvalidArgument,
               "no speaker 'nobody'");
}

TEST(Store, RefusesFeaturesMadeWithOtherOptionsThanTheStores) {
  TempDir temp;
  Store store = Store::open(temp.file("store"), StoreAccess::kCreate);
  store.add_enrollment(make_enrollment("gina", 1));
  FeatureOptions other;
  other.num_mel_bins = 40;
  expect_error([&] { store.add_enrollment(make_enrollment("gina", 2, 2, other)); },
               ErrorCode::kInvalidArgument, "other settings than the store's");
  EXPECT_EQ(store.list_speakers().at(0).num_recordings, 1);
  EXPECT_EQ(*store.feature_options(), FeatureOptions{});
}

TEST(Store, RefusesInconsistentEnrollments) {
  TempDir temp;
  Store store = Store::open(temp.file("store"), StoreAccess::kCreate);
  Enrollment no_clips = make_enrollment("hal", 1, 0);
  expect_error([&] { store.add_enrollment(no_clips); }, ErrorCode::kInvalidArgument,
               "at least one clip");
  Enrollment wrong_width = make_enrollment("hal", 1);
  wrong_width.clip_features[1].num_features = 13;
  expect_error([&] { store.add_enrollment(wrong_width); }, ErrorCode::kInvalidArgument,
               "clip 1 is 40 x 13");
  Enrollment bad_digest = make_enrollment("hal", 1);
  bad_digest.recording.sha256 = "abc";
  expect_error([&] { store.add_enrollment(bad_digest); }, ErrorCode::kInvalidArgument,
               "64 lowercase hex digits");
  Enrollment nan_clip = make_enrollment("hal", 1);
  nan_clip.clip_features[0].data[5] = std::nanf("");
  expect_error([&] { store.add_enrollment(nan_clip); }, ErrorCode::kInvalidArgument, "NaN");
  Enrollment orphan_embeddings = make_enrollment("hal", 1);
  orphan_embeddings.clip_embeddings = {{1.0f}, {2.0f}};
  expect_error([&] { store.add_enrollment(orphan_embeddings); }, ErrorCode::kInvalidArgument,
               "embedding_model_id");
  Enrollment no_speech = make_enrollment("hal", 1);
  no_speech.speech.clear();
  expect_error([&] { store.add_enrollment(no_speech); }, ErrorCode::kInvalidArgument,
               "a recording needs its speech samples");
  Enrollment nan_speech = make_enrollment("hal", 1);
  nan_speech.speech[7] = std::nanf("");
  expect_error([&] { store.add_enrollment(nan_speech); }, ErrorCode::kInvalidArgument,
               "speech contains NaN");
  // Speech at another rate than the features' (here 48 kHz for 16 kHz features).
  Enrollment other_rate = make_enrollment("hal", 1);
  other_rate.speech.resize(other_rate.speech.size() * 3);
  expect_error([&] { store.add_enrollment(other_rate); }, ErrorCode::kInvalidArgument,
               "speech lasts 30.000 s at 16000 Hz, but its provenance says 10.000 s");
  EXPECT_TRUE(store.list_speakers().empty());
  EXPECT_TRUE(store.recording_speech().empty());
}

TEST(Store, BadNamesChangeNothing) {
  TempDir temp;
  Store store = Store::open(temp.file("store"), StoreAccess::kCreate);
  store.add_enrollment(make_enrollment("ivan", 1));
  expect_error([&] { store.add_enrollment(make_enrollment("../ivan", 2)); },
               ErrorCode::kInvalidArgument, "'/' or '\\'");
  expect_error([&] { store.rename_speaker("ivan", "unknown"); }, ErrorCode::kInvalidArgument,
               "identify prints");
  expect_error([&] { store.rename_speaker("ivan", ""); }, ErrorCode::kInvalidArgument, "empty");
  const std::vector<SpeakerSummary> speakers = store.list_speakers();
  ASSERT_EQ(speakers.size(), 1u);
  EXPECT_EQ(speakers[0].name, "ivan");
  EXPECT_EQ(speakers[0].num_recordings, 1);
}

TEST(Store, RenameAndRemoveGiveClearErrors) {
  TempDir temp;
  Store store = Store::open(temp.file("store"), StoreAccess::kCreate);
  store.add_enrollment(make_enrollment("jane", 1));
  store.add_enrollment(make_enrollment("kim", 2));
  expect_error([&] { store.rename_speaker("nobody", "lee"); }, ErrorCode::kInvalidArgument,
               "no speaker 'nobody'");
  expect_error([&] { store.rename_speaker("jane", "kim"); }, ErrorCode::kInvalidArgument,
               "that name is taken");
  expect_error([&] { store.remove_speaker("nobody"); }, ErrorCode::kInvalidArgument,
               "no speaker 'nobody'");
  expect_error([&] { store.speaker_details("nobody"); }, ErrorCode::kInvalidArgument,
               "no speaker 'nobody'");
  EXPECT_FALSE(store.find_speaker("nobody").has_value());
  EXPECT_EQ(store.find_speaker("jane")->summary.name, "jane");
  EXPECT_NO_THROW(store.rename_speaker("jane", "jane"));
  const std::vector<SpeakerSummary> speakers = store.list_speakers();
  ASSERT_EQ(speakers.size(), 2u);
  EXPECT_EQ(speakers[0].name, "jane");
  EXPECT_EQ(speakers[1].name, "kim");
}

TEST(Store, RemovingASpeakerErasesTheirFeaturesAndSpeechFromDisk) {
  TempDir temp;
  const std::string dir = temp.file("store");
  Store store = Store::open(dir, StoreAccess::kCreate);
  store.add_enrollment(make_enrollment("keep", 1));
  Enrollment secret = make_enrollment("leave", 2, 3);
  // A float pattern found nowhere else, so its bytes can be searched for on disk.
  for (FeatureMatrix& clip : secret.clip_features) {
    for (std::size_t i = 0; i < clip.data.size(); ++i)
      clip.data[i] = 4242.0f + static_cast<float>(i % 7);
  }
  std::string pattern(7 * sizeof(float), '\0');
  for (int i = 0; i < 7; ++i) {
    const float value = 4242.0f + static_cast<float>(i);
    std::memcpy(pattern.data() + i * sizeof(float), &value, sizeof value);
  }
  // Likewise an int16 sequence in the middle of the speech.
  const std::vector<int16_t> pcm = {12345, -23456, 3210, 31000, -1, 777, -30000};
  const std::string speech_pattern(reinterpret_cast<const char*>(pcm.data()),
                                   pcm.size() * sizeof(int16_t));
  for (std::size_t i = 0; i < pcm.size(); ++i) secret.speech[80000 + i] = pcm[i] * kPcm16Step;
  const auto bytes_on_disk = [&] {
    std::string all;
    for (const auto& entry : fs::directory_iterator(dir)) all += read_bytes(entry.path());
    return all;
  };
  store.add_enrollment(secret);
  ASSERT_NE(bytes_on_disk().find(pattern), std::string::npos);
  ASSERT_NE(bytes_on_disk().find(speech_pattern), std::string::npos);
  store.remove_speaker("leave");
  EXPECT_EQ(bytes_on_disk().find(pattern), std::string::npos);
  EXPECT_EQ(bytes_on_disk().find(speech_pattern), std::string::npos);
  EXPECT_EQ(store.list_speakers().size(), 1u);
  EXPECT_EQ(query_int(store.database_path(), "SELECT count(*) FROM recordings"), 1)
      << "only the kept speaker's recording, with its speech";
  const std::vector<StoredSpeech> left = store.recording_speech();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].speaker, "keep");
}

TEST(Store, RefusesAStoreFromANewerSpkidAndLeavesItUntouched) {
  TempDir temp;
  const std::string dir = temp.file("store");
  Store::open(dir, StoreAccess::kCreate).add_enrollment(make_enrollment("mia", 1));
  const std::string db = dir + "/spkid.db";
  run_sql(db, "PRAGMA user_version = " + std::to_string(kStoreSchemaVersion + 1));
  const std::string before = read_bytes(db);
  for (StoreAccess access : {StoreAccess::kCreate, StoreAccess::kRead}) {
    expect_error([&] { Store::open(dir, access); }, ErrorCode::kStore, "newer spkid");
  }
  EXPECT_TRUE(read_bytes(db) == before) << "the database changed";
}

TEST(Store, RefusesFilesThatAreNotAStoreAndLeavesThemUntouched) {
  TempDir temp;
  std::mt19937 rng(5);
  std::string random_bytes(8192, '\0');
  for (char& c : random_bytes) c = static_cast<char>(rng());
  const std::string text = "name path\nalice alice.wav\n";
  for (const std::string& contents : {random_bytes, text}) {
    const std::string dir = temp.file(contents == text ? "text" : "random");
    fs::create_directory(dir);
    write_bytes(dir + "/spkid.db", contents);
    for (StoreAccess access : {StoreAccess::kCreate, StoreAccess::kRead}) {
      expect_error([&] { Store::open(dir, access); }, ErrorCode::kStore,
                   "not a readable spkid store database");
    }
    EXPECT_TRUE(read_bytes(dir + "/spkid.db") == contents) << "the file changed";
    EXPECT_EQ(fs::directory_iterator(dir)->path().filename(), "spkid.db") << "no files added";
  }

  // Another program's SQLite database.
  const std::string dir = temp.file("foreign");
  fs::create_directory(dir);
  run_sql(dir + "/spkid.db", "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi');");
  const std::string before = read_bytes(dir + "/spkid.db");
  expect_error([&] { Store::open(dir, StoreAccess::kCreate); }, ErrorCode::kStore,
               "another program");
  EXPECT_TRUE(read_bytes(dir + "/spkid.db") == before) << "the database changed";
}

TEST(Store, ATableOrColumnTakenAwayIsADamagedStoreNotABug) {
  TempDir temp;
  for (const char* damage :
       {"DROP TABLE clips", "ALTER TABLE speakers RENAME COLUMN name TO label"}) {
    const std::string dir = temp.file(std::string("store-") + damage);
    Store::open(dir, StoreAccess::kCreate).add_enrollment(make_enrollment("alice", 1));
    run_sql(dir + "/spkid.db", damage);
    const std::optional<Error> error = test::thrown_error([&] {
      Store store = Store::open(dir, StoreAccess::kRead);
      store.list_speakers();
      store.clips(ClipQuery{});
    });
    ASSERT_TRUE(error.has_value()) << damage;
    EXPECT_EQ(error->code(), ErrorCode::kStore);
    const std::string message = error->what();
    EXPECT_NE(message.find("not a readable spkid store database"), std::string::npos) << message;
    EXPECT_EQ(message.find("please report"), std::string::npos) << message;
  }
}

// Version 1 of the schema as it was released; never edit it (it stands for stores on disk).
constexpr const char* kVersion1Schema = R"sql(
CREATE TABLE settings (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT;
CREATE TABLE speakers (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
) STRICT;
CREATE TABLE recordings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  speaker_id INTEGER NOT NULL REFERENCES speakers (id) ON DELETE CASCADE,
  source_path TEXT NOT NULL,
  sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
  duration_s REAL NOT NULL CHECK (duration_s > 0),
  speech_s REAL NOT NULL CHECK (speech_s >= 0),
  enrolled_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  UNIQUE (speaker_id, sha256)
) STRICT;
CREATE INDEX recordings_by_sha256 ON recordings (sha256);
CREATE TABLE clips (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
  clip_index INTEGER NOT NULL CHECK (clip_index >= 0),
  num_frames INTEGER NOT NULL CHECK (num_frames > 0),
  num_features INTEGER NOT NULL CHECK (num_features > 0),
  features BLOB NOT NULL CHECK (length(features) = 4 * num_frames * num_features),
  UNIQUE (recording_id, clip_index)
) STRICT;
PRAGMA application_id = 1936747364;
PRAGMA user_version = 1;
)sql";

// Speaker 'nora' with one recording of one clip, as version 1 stored them.
std::string version1_enrollment_sql(const FeatureMatrix& features) {
  return "INSERT INTO settings VALUES ('feature_options', '" + FeatureOptions{}.to_json() +
         "');"
         "INSERT INTO speakers (name) VALUES ('nora');"
         "INSERT INTO recordings (speaker_id, source_path, sha256, duration_s, speech_s) "
         "VALUES (1, 'nora.wav', '" +
         std::string(64, 'a') +
         "', 9.0, 8.0);"
         "INSERT INTO clips (recording_id, clip_index, num_frames, num_features, features) "
         "VALUES (1, 0, " +
         std::to_string(features.num_frames) + ", " + std::to_string(features.num_features) + ", " +
         sql_float_blob(features.data) + ");";
}

TEST(Store, MigratesAVersion1Store) {
  TempDir temp;
  const std::string dir = temp.file("store");
  fs::create_directory(dir);
  const std::string db = dir + "/spkid.db";
  const FeatureMatrix features = random_features(3, 9);
  run_sql(db, std::string(kVersion1Schema) + version1_enrollment_sql(features));
  ASSERT_EQ(query_int(db, "PRAGMA user_version"), 1);

  {
    // Reading is enough to upgrade: the store exists, only its schema is old.
    Store store = Store::open(dir, StoreAccess::kRead);
    const std::vector<SpeakerSummary> speakers = store.list_speakers();
    ASSERT_EQ(speakers.size(), 1u);
    EXPECT_EQ(speakers[0].name, "nora");
    EXPECT_DOUBLE_EQ(speakers[0].speech_seconds, 8.0);
    EXPECT_FALSE(speakers[0].covered_by_current_model);
    const std::vector<StoredClip> clips = store.clips();
    ASSERT_EQ(clips.size(), 1u);
    EXPECT_EQ(clips[0].features.data, features.data);
    EXPECT_FALSE(store.recording_speech().at(0).has_audio);
  }
  EXPECT_EQ(query_int(db, "PRAGMA user_version"), kStoreSchemaVersion);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'models'"), 1);

  // The version 2 tables work on the migrated data.
  Store store = Store::open(dir, StoreAccess::kCreate);
  NewModel model;
  model.kind = "test-model";
  model.speaker_ids = {store.list_speakers()[0].id};
  store.register_model(model, "weights");
  EXPECT_TRUE(store.list_speakers()[0].covered_by_current_model);
}

// Version 2 of the schema as it was released, applied on top of version 1; never edit it.
constexpr const char* kVersion2Schema = R"sql(
CREATE TABLE models (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  file_name TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  feature_options_json TEXT NOT NULL,
  metadata_json TEXT NOT NULL DEFAULT '{}',
  is_current INTEGER NOT NULL DEFAULT 0 CHECK (is_current IN (0, 1))
) STRICT;
CREATE UNIQUE INDEX models_single_current ON models (is_current) WHERE is_current = 1;
CREATE TABLE model_speakers (
  model_id INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
  speaker_id INTEGER NOT NULL REFERENCES speakers (id) ON DELETE CASCADE,
  PRIMARY KEY (model_id, speaker_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX model_speakers_by_speaker ON model_speakers (speaker_id);
CREATE TABLE embeddings (
  clip_id INTEGER NOT NULL REFERENCES clips (id) ON DELETE CASCADE,
  model_id INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
  dims INTEGER NOT NULL CHECK (dims > 0),
  vector BLOB NOT NULL CHECK (length(vector) = 4 * dims),
  PRIMARY KEY (clip_id, model_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX embeddings_by_model ON embeddings (model_id);
PRAGMA user_version = 2;
)sql";

TEST(Store, MigratesAVersion2StoreWhoseRecordingsHaveNoAudio) {
  TempDir temp;
  const std::string dir = temp.file("store");
  fs::create_directory(dir);
  const std::string db = dir + "/spkid.db";
  const FeatureMatrix features = random_features(3, 9);
  const std::vector<float> embedding = {0.6f, 0.8f};
  run_sql(db, std::string(kVersion1Schema) + kVersion2Schema + version1_enrollment_sql(features) +
                  "INSERT INTO models (file_name, kind, feature_options_json, is_current) "
                  "VALUES ('model-old.bin', 'cnn', '" +
                  FeatureOptions{}.to_json() +
                  "', 1);"
                  "INSERT INTO model_speakers VALUES (1, 1);"
                  "INSERT INTO embeddings VALUES (1, 1, 2, " +
                  sql_float_blob(embedding) + ");");
  ASSERT_EQ(query_int(db, "PRAGMA user_version"), 2);

  {
    Store store = Store::open(dir, StoreAccess::kRead);
    const std::vector<StoredSpeech> speech = store.recording_speech();
    ASSERT_EQ(speech.size(), 1u);
    EXPECT_EQ(speech[0].speaker, "nora");
    EXPECT_FALSE(speech[0].has_audio);  // train asks to enroll nora again
    EXPECT_TRUE(speech[0].samples.empty());
    EXPECT_EQ(speech[0].sample_rate_hz, 0);
    // Everything else is as it was.
    const SpeakerDetails nora = store.speaker_details("nora");
    EXPECT_TRUE(nora.summary.covered_by_current_model);
    ASSERT_EQ(nora.recordings.size(), 1u);
    EXPECT_EQ(nora.recordings[0].provenance.source_path, "nora.wav");
    EXPECT_DOUBLE_EQ(nora.recordings[0].provenance.speech_seconds, 8.0);
    EXPECT_EQ(store.clips().at(0).features.data, features.data);
    ASSERT_TRUE(store.current_model().has_value());
    EXPECT_EQ(store.current_model()->file_name, "model-old.bin");
    EXPECT_EQ(store.embeddings(1).at(0).embedding, embedding);
  }
  EXPECT_EQ(query_int(db, "PRAGMA user_version"), kStoreSchemaVersion);

  // New recordings keep their speech beside the old one's absence.
  Store store = Store::open(dir, StoreAccess::kCreate);
  const Enrollment more = make_enrollment("nora", 5, 1);
  store.add_enrollment(more);
  const std::vector<StoredSpeech> speech = store.recording_speech("nora");
  ASSERT_EQ(speech.size(), 2u);
  EXPECT_FALSE(speech[0].has_audio);
  EXPECT_TRUE(speech[1].has_audio);
  EXPECT_EQ(speech[1].samples.size(), more.speech.size());
}

TEST(Store, ConcurrentWritersInThreadsAllSucceed) {
  TempDir temp;
  const std::string dir = temp.file("store");  // created by the racing writers themselves
  constexpr int kThreads = 6;
  constexpr int kEnrollmentsPerThread = 4;
  std::atomic<int> failures{0};
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        Store store = Store::open(dir, StoreAccess::kCreate);
        for (int i = 0; i < kEnrollmentsPerThread; ++i) {
          // Every thread adds to a shared speaker and to its own.
          store.add_enrollment(make_enrollment("shared", 1000 + t * 10 + i, 1));
          store.add_enrollment(make_enrollment("thread" + std::to_string(t), 10 * t + i, 2));
          store.list_speakers();
        }
      } catch (const std::exception& e) {
        errors[t] = e.what();
        ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const std::string& error : errors) EXPECT_EQ(error, "");
  ASSERT_EQ(failures.load(), 0);

  Store store = Store::open(dir, StoreAccess::kRead);
  const std::vector<SpeakerSummary> speakers = store.list_speakers();
  ASSERT_EQ(speakers.size(), kThreads + 1u);
  EXPECT_EQ(speakers[0].name, "shared");
  EXPECT_EQ(speakers[0].num_recordings, kThreads * kEnrollmentsPerThread);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(speakers[t + 1].num_recordings, kEnrollmentsPerThread);
    EXPECT_EQ(speakers[t + 1].num_clips, 2 * kEnrollmentsPerThread);
  }
}

TEST(Store, AWriterKilledMidEnrollmentLeavesTheStoreConsistent) {
  TempDir temp;
  const std::string dir = temp.file("store");
  Store::open(dir, StoreAccess::kCreate).add_enrollment(make_enrollment("earlier", 1, 3));
  std::mt19937 rng(3);
  for (int round = 0; round < 4; ++round) {
    // No connection is open across fork(): SQLite connections must not cross it.
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      try {
        Store store = Store::open(dir, StoreAccess::kCreate);
        for (unsigned seed = 1000 * (round + 1);; ++seed) {  // until killed
          store.add_enrollment(make_enrollment("victim", seed, 4));
        }
      } catch (...) {
        ::_exit(1);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 200));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the enrolling process failed on its own";

    Store store = Store::open(dir, StoreAccess::kCreate);
    EXPECT_EQ(query_text(dir + "/spkid.db", "PRAGMA integrity_check"), "ok");
    EXPECT_EQ(query_int(dir + "/spkid.db", "SELECT count(*) FROM pragma_foreign_key_check"), 0)
        << "no dangling rows";
    const SpeakerDetails earlier = store.speaker_details("earlier");
    EXPECT_EQ(earlier.summary.num_clips, 3);
    // Every recording that made it in has all its clips and speech: enrollment is one
    // transaction.
    for (const SpeakerSummary& speaker : store.list_speakers()) {
      EXPECT_EQ(speaker.num_clips, (speaker.name == "victim" ? 4 : 3) * speaker.num_recordings);
    }
    for (const StoredSpeech& speech : store.recording_speech()) {
      EXPECT_EQ(speech.samples.size(), 10u * FeatureOptions{}.sample_rate_hz);
    }
  }
}

TEST(Store, ModelsAndEmbeddings) {
  TempDir temp;
  Store store = Store::open(temp.file("store"), StoreAccess::kCreate);
  const EnrollmentResult olga = store.add_enrollment(make_enrollment("olga", 1, 2));
  const EnrollmentResult paul = store.add_enrollment(make_enrollment("paul", 2, 1));
  EXPECT_FALSE(store.current_model().has_value());

  NewModel first;
  first.kind = "cnn-classifier";
  first.metadata_json = R"({"labels": ["olga", "paul"], "threshold": 0.5})";
  first.speaker_ids = {olga.speaker.id};
  const ModelRecord model = store.register_model(first, "first weights");
  EXPECT_TRUE(model.is_current);
  EXPECT_EQ(read_bytes(model.path), "first weights");
  EXPECT_EQ(fs::path(model.path).parent_path(), fs::path(store.dir()));
  EXPECT_EQ(model.metadata_json, R"({"labels":["olga","paul"],"threshold":0.5})");
  EXPECT_EQ(model.feature_options, FeatureOptions{});
  ASSERT_TRUE(store.current_model().has_value());
  EXPECT_EQ(store.current_model()->id, model.id);
  std::vector<SpeakerSummary> speakers = store.list_speakers();
  EXPECT_TRUE(speakers[0].covered_by_current_model);   // olga
  EXPECT_FALSE(speakers[1].covered_by_current_model);  // paul

  // Embeddings for olga's clips; paul's clip is still missing one.
  EXPECT_EQ(store.set_embeddings(model.id,
                                 {{olga.clip_ids[0], {1, 0, 0}}, {olga.clip_ids[1], {0, 1, 0}}}),
            2);
  std::vector<StoredClip> missing = store.clips(clips_missing_embedding(model.id));
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].id, paul.clip_ids[0]);
  EXPECT_EQ(store.set_embeddings(model.id, {{paul.clip_ids[0], {0, 0, 1}}}), 1);
  EXPECT_TRUE(store.clips(clips_missing_embedding(model.id)).empty());
  expect_error(
      [&] {
        store.set_embeddings(model.id, {{paul.clip_ids[0], {1, 2}}});
      },
      ErrorCode::kInvalidArgument, "3 dimensions");
  std::vector<StoredEmbedding> embeddings = store.embeddings(model.id);
  ASSERT_EQ(embeddings.size(), 3u);
  EXPECT_EQ(embeddings[1].speaker, "olga");
  EXPECT_EQ(embeddings[1].embedding, (std::vector<float>{0, 1, 0}));
  EXPECT_EQ(embeddings[2].speaker, "paul");

  // Enrolling once a model exists stores the new clips' embeddings in the same transaction.
  Enrollment with_embeddings = make_enrollment("olga", 3, 1);
  with_embeddings.embedding_model_id = model.id;
  with_embeddings.clip_embeddings = {{0.5f, 0.5f, 0}};
  store.add_enrollment(with_embeddings);
  EXPECT_TRUE(store.clips(clips_missing_embedding(model.id)).empty());
  EXPECT_EQ(store.embeddings(model.id).size(), 4u);

  // A second model, of another kind, becomes current; the first can be made current again.
  NewModel second;
  second.kind = "cnn";
  second.speaker_ids = {olga.speaker.id, paul.speaker.id};
  const ModelRecord newer = store.register_model(second, "second weights");
  EXPECT_NE(newer.file_name, model.file_name);
  EXPECT_EQ(store.current_model()->id, newer.id);
  EXPECT_EQ(store.clips(clips_missing_embedding(newer.id)).size(),
            4u);  // no embeddings by the new model yet
  speakers = store.list_speakers();
  EXPECT_TRUE(speakers[1].covered_by_current_model);
  store.set_current_model(model.id);
  const std::vector<ModelRecord> models = store.models();
  ASSERT_EQ(models.size(), 2u);
  EXPECT_TRUE(models[0].is_current);
  EXPECT_FALSE(models[1].is_current);
  expect_error([&] { store.set_current_model(12345); }, ErrorCode::kInvalidArgument,
               "no model with id 12345");

  // Removing a speaker takes their embeddings and the model made with them; a late embedding
  // for a removed clip is skipped.
  EXPECT_FALSE(store.remove_speaker("paul").covered_by_current_model);
  EXPECT_EQ(store.embeddings(model.id).size(), 3u);
  EXPECT_EQ(store.set_embeddings(model.id, {{paul.clip_ids[0], {0, 0, 1}}}), 0);
  ASSERT_EQ(store.models().size(), 1u);
  EXPECT_EQ(store.models()[0].id, model.id);
  EXPECT_FALSE(fs::exists(newer.path));

  expect_error([&] { store.register_model(model_of_kind("Bad Kind"), "x"); },
               ErrorCode::kInvalidArgument, "model kind");
  NewModel bad_metadata;
  bad_metadata.kind = "cnn";
  bad_metadata.metadata_json = "[1, 2]";
  expect_error([&] { store.register_model(bad_metadata, "x"); }, ErrorCode::kInvalidArgument,
               "JSON object");
  EXPECT_EQ(store.models().size(), 1u);
}

TEST(Store, ClipsComePageByPageInIdOrderEachOnce) {
  TempDir temp;
  Store store = Store::open(temp.file("store"), StoreAccess::kCreate);
  // Enrolled out of name order, so that id order and name order differ.
  std::vector<int64_t> ids;
  for (const auto& [name, seed] :
       std::vector<std::pair<std::string, unsigned>>{{"zoe", 1}, {"adam", 2}, {"mia", 3}}) {
    const EnrollmentResult result = store.add_enrollment(make_enrollment(name, seed, 3));
    ids.insert(ids.end(), result.clip_ids.begin(), result.clip_ids.end());
  }
  const ModelRecord model = store.register_model(model_of_kind("cnn"), "weights");
  ASSERT_TRUE(store.set_embeddings(model.id, {{ids[4], {1, 0}}}) == 1);

  ClipQuery page = clips_missing_embedding(model.id);
  page.limit = 3;
  std::vector<int64_t> seen;
  for (;;) {
    const std::vector<StoredClip> clips = store.clips(page);
    EXPECT_LE(clips.size(), 3u);
    if (clips.empty()) break;
    for (const StoredClip& clip : clips) seen.push_back(clip.id);
    page.after_clip_id = clips.back().id;
  }
  std::vector<int64_t> expected = ids;
  expected.erase(expected.begin() + 4);  // has its embedding
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(seen, expected);
  // Without a limit, by speaker name as before.
  EXPECT_EQ(store.clips(ClipQuery{}).front().speaker, "adam");
}

TEST(Store, ANewCurrentModelDeletesTheOlderOnesOfItsKind) {
  TempDir temp;
  Store store = Store::open(temp.file("store"), StoreAccess::kCreate);
  const EnrollmentResult olga = store.add_enrollment(make_enrollment("olga", 1));
  const ModelRecord base = store.register_model(model_of_kind("base"), "base weights");
  NewModel classifier = model_of_kind("cnn-classifier");
  classifier.speaker_ids = {olga.speaker.id};
  const ModelRecord first = store.register_model(classifier, "first");
  store.set_embeddings(first.id, {{olga.clip_ids[0], {1, 0}}});
  classifier.make_current = false;  // made aside: the current one stays
  const ModelRecord aside = store.register_model(classifier, "aside");
  EXPECT_EQ(store.models().size(), 3u);
  classifier.make_current = true;
  const ModelRecord second = store.register_model(classifier, "second");

  const std::vector<ModelRecord> models = store.models();
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].id, base.id);  // another kind stays
  EXPECT_EQ(models[1].id, second.id);
  EXPECT_TRUE(models[1].is_current);
  for (const ModelRecord& gone : {first, aside}) EXPECT_FALSE(fs::exists(gone.path)) << gone.path;
  EXPECT_TRUE(fs::exists(base.path));
  expect_error([&] { store.embeddings(first.id); }, ErrorCode::kInvalidArgument,
               "no model with id");  // its embeddings went with it
}

TEST(Store, AModelFileChangedOrReplacedIsRefused) {
  TempDir temp;
  Store store = Store::open(temp.file("store"), StoreAccess::kCreate);
  const ModelRecord model = store.register_model(model_of_kind("cnn"), "the weights");
  EXPECT_EQ(model.sha256, sha256_hex("the weights", 11));
  EXPECT_EQ(store.models().at(0).sha256, model.sha256);
  store.check_model_file(model);  // as registered

  write_bytes(model.path, "other weights");
  expect_error([&] { store.check_model_file(model); }, ErrorCode::kStore, "SHA-256 differs");
  write_bytes(temp.file("elsewhere.bin"), "the weights");
  fs::remove(model.path);
  fs::create_symlink(temp.file("elsewhere.bin"), model.path);  // the same bytes, through a link
  expect_error([&] { store.check_model_file(model); }, ErrorCode::kStore, "symbolic link");
}

TEST(Store, RemovingASpeakerDeletesEveryModelMadeWithThem) {
  TempDir temp;
  Store store = Store::open(temp.file("store"), StoreAccess::kCreate);
  const EnrollmentResult olga = store.add_enrollment(make_enrollment("olga", 1));
  const EnrollmentResult paul = store.add_enrollment(make_enrollment("paul", 2));
  const ModelRecord base = store.register_model(model_of_kind("base"), "base weights");
  NewModel classifier = model_of_kind("cnn-classifier");
  classifier.speaker_ids = {olga.speaker.id, paul.speaker.id};
  const ModelRecord current = store.register_model(classifier, "olga and paul");
  EXPECT_TRUE(store.remove_speaker("paul").covered_by_current_model);
  EXPECT_FALSE(fs::exists(current.path));
  EXPECT_FALSE(store.current_model().has_value());  // the caller picks what answers now
  ASSERT_EQ(store.models().size(), 1u);
  EXPECT_EQ(store.models()[0].id, base.id);

  // A model made while one of its speakers was removed holds their voice: it never lands.
  classifier.speaker_ids = {olga.speaker.id, paul.speaker.id};
  expect_error([&] { store.register_model(classifier, "made before paul left"); },
               ErrorCode::kInvalidArgument, "was removed meanwhile");
  EXPECT_EQ(store.models().size(), 1u);
  for (const auto& entry : fs::directory_iterator(store.dir())) {
    EXPECT_EQ(read_bytes(entry.path().string()).find("made before"), std::string::npos)
        << entry.path();
  }
}

TEST(Store, WindowEmbeddingsAreKeptPerClipAndModelAndGoWithTheSpeaker) {
  TempDir temp;
  Store store = Store::open(temp.file("store"), StoreAccess::kCreate);
  const EnrollmentResult olga = store.add_enrollment(make_enrollment("olga", 1, 2));
  const EnrollmentResult paul = store.add_enrollment(make_enrollment("paul", 2, 1));
  const ModelRecord model = store.register_model(model_of_kind("cnn"), "weights");
  ClipQuery missing;
  missing.missing_window_embeddings_for_model = model.id;
  EXPECT_EQ(store.clips(missing).size(), 3u);

  // Given out of order, read back by speaker, clip and window.
  EXPECT_EQ(store.set_window_embeddings(model.id, {{olga.clip_ids[1], 0, {0, 1}},
                                                   {olga.clip_ids[0], 1, {1, 1}},
                                                   {olga.clip_ids[0], 0, {1, 0}}}),
            3);
  const std::vector<StoredClip> still_missing = store.clips(missing);
  ASSERT_EQ(still_missing.size(), 1u);
  EXPECT_EQ(still_missing[0].id, paul.clip_ids[0]);
  // Clip embeddings are another cache: a clip with windows still misses its embedding.
  EXPECT_EQ(store.clips(clips_missing_embedding(model.id)).size(), 3u);
  store.set_window_embeddings(model.id, {{paul.clip_ids[0], 0, {0.5f, 0.5f}}});
  std::vector<StoredWindowEmbedding> windows = store.window_embeddings(model.id);
  ASSERT_EQ(windows.size(), 4u);
  EXPECT_EQ(windows[0].clip_id, olga.clip_ids[0]);
  EXPECT_EQ(windows[0].window_index, 0);
  EXPECT_EQ(windows[0].embedding, (std::vector<float>{1, 0}));
  EXPECT_EQ(windows[1].window_index, 1);
  EXPECT_EQ(windows[2].clip_id, olga.clip_ids[1]);
  EXPECT_EQ(windows[3].speaker, "paul");
  // Replaced in place; a bad vector changes nothing.
  store.set_window_embeddings(model.id, {{olga.clip_ids[0], 1, {2, 2}}});
  EXPECT_EQ(store.window_embeddings(model.id)[1].embedding, (std::vector<float>{2, 2}));
  expect_error(
      [&] {
        store.set_window_embeddings(model.id, {{olga.clip_ids[0], 0, {NAN, 1}}});
      },
      ErrorCode::kInvalidArgument, "NaN");
  expect_error(
      [&] {
        store.set_window_embeddings(model.id, {{olga.clip_ids[0], -1, {1, 1}}});
      },
      ErrorCode::kInvalidArgument, "window index");
  EXPECT_EQ(store.window_embeddings(model.id).size(), 4u);

  // A removed speaker's windows go with them; a late window of a removed clip is skipped.
  store.remove_speaker("paul");
  EXPECT_EQ(store.window_embeddings(model.id).size(), 3u);
  EXPECT_EQ(store.set_window_embeddings(model.id, {{paul.clip_ids[0], 0, {1, 1}}}), 0);
}

TEST(Store, OpeningForWritingRemovesOldOrphanModelFiles) {
  TempDir temp;
  const std::string dir = temp.file("store");
  const std::string kept_model =
      Store::open(dir, StoreAccess::kCreate).register_model(model_of_kind("cnn"), "in use").path;
  const auto make_file = [&](const std::string& name, std::chrono::hours age) {
    write_bytes(dir + "/" + name, "voice data");
    fs::last_write_time(dir + "/" + name, fs::file_time_type::clock::now() - age);
  };
  // A model whose registration never committed, and a write killed half-way: both old.
  make_file("model-20000101T000000Z-deadbeef.bin", std::chrono::hours(2));
  make_file(".model-20000101T000000Z-deadbeef.bin.tmp-a1B2c3", std::chrono::hours(2));
  // A registration that may still be in progress, and a file that is not spkid's.
  make_file("model-20000101T000000Z-0badf00d.bin", std::chrono::hours(0));
  make_file("notes.txt", std::chrono::hours(2));

  Store::open(dir, StoreAccess::kCreate);
  EXPECT_TRUE(fs::exists(kept_model));
  EXPECT_FALSE(fs::exists(dir + "/model-20000101T000000Z-deadbeef.bin"));
  EXPECT_FALSE(fs::exists(dir + "/.model-20000101T000000Z-deadbeef.bin.tmp-a1B2c3"));
  EXPECT_TRUE(fs::exists(dir + "/model-20000101T000000Z-0badf00d.bin"));
  EXPECT_TRUE(fs::exists(dir + "/notes.txt"));
}

TEST(Store, ReadAccessRefusesChanges) {
  TempDir temp;
  const std::string dir = temp.file("store");
  Store::open(dir, StoreAccess::kCreate).add_enrollment(make_enrollment("quinn", 1));
  Store store = Store::open(dir, StoreAccess::kRead);
  EXPECT_EQ(store.list_speakers().size(), 1u);
  expect_error([&] { store.remove_speaker("quinn"); }, ErrorCode::kInternal, "opened for reading");
  EXPECT_EQ(store.list_speakers().size(), 1u);
}

TEST(WriteFileAtomically, WritesAndReplacesWithTheRequestedMode) {
  TempDir temp;
  const std::string path = temp.file("model.bin");
  write_file_atomically(path, "first");
  EXPECT_EQ(read_bytes(path), "first");
  EXPECT_EQ(file_mode(path), 0600u);
  write_file_atomically(path, "second, longer", 0644);
  EXPECT_EQ(read_bytes(path), "second, longer");
  EXPECT_EQ(file_mode(path), 0644u);
  EXPECT_EQ(std::distance(fs::directory_iterator(temp.path()), {}), 1) << "no temporary files";
  expect_error([&] { write_file_atomically(temp.file("missing/x.bin"), "x"); }, ErrorCode::kIo,
               temp.file("missing/x.bin"));
}

TEST(WriteFileAtomically, ReadersSeeTheOldOrTheNewContentNeverAMix) {
  TempDir temp;
  const std::string path = temp.file("data");
  const std::string old_content(1 << 20, 'o');
  const std::string new_content((1 << 20) + 3, 'n');
  write_file_atomically(path, old_content);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 40; ++i) write_file_atomically(path, i % 2 ? old_content : new_content);
    done = true;
  });
  int reads = 0;
  while (!done) {
    const std::string seen = read_bytes(path);
    ASSERT_TRUE(seen == old_content || seen == new_content) << "read " << seen.size() << " bytes";
    ++reads;
  }
  writer.join();
  EXPECT_GT(reads, 0);
}

TEST(WriteFileAtomically, AWriterKilledAtAnyMomentLeavesTheOldOrTheNewContent) {
  TempDir temp;
  const std::string path = temp.file("data");
  const std::string old_content(4 << 20, 'o');
  const std::string new_content((4 << 20) + 1, 'n');
  std::mt19937 rng(11);
  for (int round = 0; round < 8; ++round) {
    write_file_atomically(path, old_content);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      try {
        for (;;) write_file_atomically(path, new_content);  // until killed
      } catch (...) {
        ::_exit(1);
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 20000));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status));
    const std::string seen = read_bytes(path);
    ASSERT_TRUE(seen == old_content || seen == new_content) << "read " << seen.size() << " bytes";
  }
}

}  // namespace
}  // namespace spkid
