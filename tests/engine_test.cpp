// The engine an application embeds (engine.h): enroll and identify from samples in memory at any
// rate, the store's answers, bad input refused with nothing lost, and changes while other
// threads identify.
#include "spkid/engine.h"

#include <gtest/gtest.h>
#include <sndfile.h>
#include <stdlib.h>

#include <atomic>
#include <limits>
#include <random>
#include <thread>

#include "spkid/audio.h"
#include "spkid/error.h"
#include "spkid/speaker_name.h"
#include "spkid/stream.h"
#include "store_fixtures.h"
#include "synth.h"
#include "tiny_model.h"

namespace spkid {
namespace {

using test::expect_error;

const test::Voice kAlice{110, {700, 1200, 2600}};
const test::Voice kBob{210, {450, 1900, 2900}};
const test::Voice kCarol{160, {800, 1500, 3300}};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override { setenv("SPKID_BASE_MODEL", test::tiny_base_model().c_str(), 1); }
  void TearDown() override { unsetenv("SPKID_BASE_MODEL"); }

  // `seconds` of a voice at `rate`, as an application's buffer holds it.
  static std::vector<float> voice(const test::Voice& v, double seconds, int rate, unsigned seed) {
    return test::speech_like(v, seconds, rate, seed);
  }
  static Samples samples_of(const std::vector<float>& s, int rate, int channels = 1) {
    return {s.data(), s.size() / static_cast<std::size_t>(channels), rate, channels};
  }

  void enroll_three(Engine& engine) {
    const auto a = voice(kAlice, 20, 48000, 1);
    const auto b = voice(kBob, 20, 16000, 2);
    const auto c = voice(kCarol, 20, 44100, 3);
    engine.enroll("alice", samples_of(a, 48000));
    engine.enroll("bob", samples_of(b, 16000));
    engine.enroll("carol", samples_of(c, 44100));
  }

  test::TempDir dir_;
};

TEST_F(EngineTest, EnrollsAndIdentifiesFromMemoryAtAnyRate) {
  Engine engine = Engine::open(dir_.file("store"));
  EXPECT_TRUE(engine.speakers().empty());
  EXPECT_FALSE(engine.open_set().calibrated);
  enroll_three(engine);
  EXPECT_EQ(engine.speakers(), (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_TRUE(engine.open_set().calibrated);

  for (const int rate : {8000, 16000, 44100, 48000}) {
    SCOPED_TRACE(rate);
    const auto clip = voice(kBob, 3, rate, 40);
    const Identification id = engine.identify(samples_of(clip, rate), 3);
    EXPECT_EQ(id.top.at(0).speaker, "bob");
    EXPECT_EQ(id.top.size(), 3u);
    EXPECT_DOUBLE_EQ(id.threshold, engine.threshold());
    EXPECT_EQ(id.known, id.score >= id.threshold);
    EXPECT_EQ(id.speaker, id.known ? "bob" : kUnknownSpeaker);
  }
  // Two channels are mixed to mono: the same voice in both gives the same answer.
  const auto mono = voice(kAlice, 3, 16000, 41);
  std::vector<float> stereo;
  for (const float x : mono) stereo.insert(stereo.end(), {x, x});
  const Identification from_mono = engine.identify(samples_of(mono, 16000));
  const Identification from_stereo = engine.identify(samples_of(stereo, 16000, 2));
  EXPECT_EQ(from_stereo.top.at(0).speaker, "alice");
  EXPECT_NEAR(from_stereo.score, from_mono.score, 1e-4);

  const Verification yes = engine.verify("alice", samples_of(mono, 16000));
  EXPECT_DOUBLE_EQ(yes.score, from_mono.top.at(0).score);
  EXPECT_EQ(yes.accepted, yes.score >= engine.threshold());
}

TEST_F(EngineTest, AStoreTheEngineMadeIsTheCommandLinesStore) {
  {
    Engine engine = Engine::open(dir_.file("store"));
    enroll_three(engine);
  }
  // Opened again, by a new engine: the speakers and the answers are the same.
  Engine engine = Engine::open(dir_.file("store"));
  EXPECT_EQ(engine.speakers().size(), 3u);
  const auto clip = voice(kCarol, 3, 16000, 50);
  EXPECT_EQ(engine.identify(samples_of(clip, 16000)).top.at(0).speaker, "carol");
  test::write_audio(dir_.file("carol.wav"), clip, 16000, 1, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
  const Identification from_file = engine.identify_file(dir_.file("carol.wav"));
  EXPECT_EQ(from_file.top.at(0).speaker, "carol");
  EXPECT_NEAR(from_file.score, engine.identify(samples_of(clip, 16000)).score, 1e-4);
}

TEST_F(EngineTest, BadInputIsRefusedAndChangesNothing) {
  Engine engine = Engine::open(dir_.file("store"));
  const auto enough = voice(kAlice, 20, 16000, 11);
  expect_error([&] { engine.identify(samples_of(enough, 16000)); }, ErrorCode::kStore,
               "nobody is enrolled");
  enroll_three(engine);
  const double threshold = engine.threshold();

  const std::vector<float> silence = test::silence(10, 16000);
  const std::vector<float> short_voice = voice(kAlice, 2, 16000, 9);
  std::vector<float> broken = voice(kAlice, 20, 16000, 10);
  broken[1000] = std::numeric_limits<float>::quiet_NaN();
  expect_error([&] { engine.enroll("dave", samples_of(silence, 16000)); }, ErrorCode::kNoSpeech,
               "no speech found");
  expect_error([&] { engine.enroll("dave", samples_of(short_voice, 16000)); }, ErrorCode::kNoSpeech,
               "speech");
  expect_error([&] { engine.enroll("dave", samples_of(broken, 16000)); },
               ErrorCode::kNonFiniteAudio, "is NaN");
  expect_error(
      [&] {
        engine.enroll("dave", {enough.data(), 0, 16000, 1});
      },
      ErrorCode::kEmptyAudio, "holds no audio samples");
  expect_error(
      [&] {
        engine.enroll("dave", {enough.data(), 100, 0, 1});
      },
      ErrorCode::kInvalidArgument, "positive rate");
  expect_error([&] { engine.enroll("unknown", samples_of(enough, 16000)); },
               ErrorCode::kInvalidArgument, "unknown");
  expect_error([&] { engine.enroll("Alice", samples_of(enough, 16000)); },
               ErrorCode::kInvalidArgument, "looks the same as the enrolled speaker 'alice'");
  expect_error([&] { engine.remove("dave"); }, ErrorCode::kInvalidArgument, "no speaker 'dave'");
  expect_error([&] { engine.verify("dave", samples_of(enough, 16000)); },
               ErrorCode::kInvalidArgument, "dave");
  expect_error([&] { engine.identify(samples_of(silence, 16000)); }, ErrorCode::kNoSpeech,
               "too little speech");

  EXPECT_EQ(engine.speakers(), (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_DOUBLE_EQ(engine.threshold(), threshold);
  EXPECT_EQ(Engine::open(dir_.file("store")).speakers().size(), 3u);
}

TEST_F(EngineTest, EnrollRemoveAndRenameWhileOtherThreadsIdentify) {
  Engine engine = Engine::open(dir_.file("store"));
  enroll_three(engine);
  const auto bob_clip = voice(kBob, 3, 16000, 60);
  std::atomic<bool> stop{false};
  std::atomic<int> answers{0}, wrong{0}, failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop) {
        try {
          const Identification id = engine.identify(samples_of(bob_clip, 16000), 2);
          // Bob keeps his voice whatever else changes; only his name moves.
          if (id.top.at(0).speaker != "bob" && id.top.at(0).speaker != "robert") ++wrong;
          ++answers;
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  const auto dave = voice({130, {600, 1000, 2400}}, 20, 22050, 70);
  for (int round = 0; round < 2; ++round) {
    engine.enroll("dave", samples_of(dave, 22050));
    EXPECT_EQ(engine.speakers().size(), 4u);
    EXPECT_EQ(engine.rename("bob", "robert"), "robert");
    EXPECT_EQ(engine.remove("dave").name, "dave");
    EXPECT_EQ(engine.rename("robert", "bob"), "bob");
  }
  stop = true;
  for (std::thread& reader : readers) reader.join();
  EXPECT_GT(answers.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(engine.speakers(), (std::vector<std::string>{"alice", "bob", "carol"}));
}

TEST_F(EngineTest, AStreamInChunksOfAnySizeAnswersAsTheWholeRecording) {
  Engine engine = Engine::open(dir_.file("store"));
  enroll_three(engine);
  const int rate = 22050;  // the stream's own rate; each utterance is resampled whole
  const std::vector<float> pause = test::silence(0.8, rate);
  const std::vector<float> talk =
      test::concat({pause, voice(kBob, 2.5, rate, 80), pause, voice(kAlice, 2.5, rate, 81), pause,
                    voice(kCarol, 2.0, rate, 82)});
  const auto run = [&](std::size_t max_chunk, unsigned seed) {
    IdentifyStream stream(engine, rate, 1, {}, 2);
    std::mt19937 random(seed);
    std::vector<StreamResult> all;
    for (std::size_t at = 0; at < talk.size();) {
      const std::size_t n = std::min<std::size_t>(
          talk.size() - at, std::uniform_int_distribution<std::size_t>(1, max_chunk)(random));
      for (auto& r : stream.push(talk.data() + at, n)) all.push_back(std::move(r));
      at += n;
    }
    for (auto& r : stream.finish()) all.push_back(std::move(r));  // carol never pauses
    return all;
  };
  const std::vector<StreamResult> whole = run(talk.size(), 1);
  ASSERT_EQ(whole.size(), 3u);
  const char* expected[] = {"bob", "alice", "carol"};
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(whole[i].identification) << whole[i].error->what();
    EXPECT_EQ(whole[i].identification->top.at(0).speaker, expected[i]);
  }
  for (const std::size_t max_chunk : {7, 441, 5000}) {
    SCOPED_TRACE(max_chunk);
    const std::vector<StreamResult> chunked = run(max_chunk, unsigned(max_chunk));
    ASSERT_EQ(chunked.size(), whole.size());
    for (std::size_t i = 0; i < whole.size(); ++i) {
      EXPECT_DOUBLE_EQ(chunked[i].start_seconds, whole[i].start_seconds);
      EXPECT_DOUBLE_EQ(chunked[i].end_seconds, whole[i].end_seconds);
      EXPECT_EQ(chunked[i].identification->speaker, whole[i].identification->speaker);
      EXPECT_DOUBLE_EQ(chunked[i].identification->score, whole[i].identification->score);
    }
  }
}

}  // namespace
}  // namespace spkid
