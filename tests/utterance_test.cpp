// Utterances found in a stream as it arrives (utterance.h).
#include "spkid/utterance.h"

#include <gtest/gtest.h>

#include <random>

#include "spkid/error.h"
#include "synth.h"

namespace spkid {
namespace {

constexpr int kRate = 16000;
const test::Voice kVoice{140, {700, 1200, 2600}};

struct Span {
  double begin, end;
};

// Voice and pauses in turn: `spans` are where the voice is.
std::vector<float> conversation(const std::vector<Span>& spans, double total, unsigned seed) {
  std::vector<float> out = test::white_noise(total, kRate, 0.001, seed);
  for (const Span& s : spans) {
    const auto v = test::speech_like(kVoice, s.end - s.begin, kRate, seed++);
    const auto at = static_cast<std::size_t>(s.begin * kRate);
    for (std::size_t i = 0; i < v.size() && at + i < out.size(); ++i) out[at + i] += v[i];
  }
  return out;
}

std::vector<StreamUtterance> push_in_chunks(const std::vector<float>& samples,
                                            std::size_t max_chunk, unsigned seed,
                                            const UtteranceOptions& options = {}) {
  UtteranceDetector detector(kRate, options);
  std::mt19937 random(seed);
  std::vector<StreamUtterance> all;
  for (std::size_t at = 0; at < samples.size();) {
    const std::size_t n = std::min<std::size_t>(
        samples.size() - at, std::uniform_int_distribution<std::size_t>(1, max_chunk)(random));
    for (auto& u : detector.push(samples.data() + at, n)) all.push_back(std::move(u));
    at += n;
  }
  for (auto& u : detector.finish()) all.push_back(std::move(u));
  return all;
}

TEST(UtteranceDetector, FindsEachUtteranceWhereItIs) {
  const std::vector<Span> spans = {{0.5, 2.0}, {3.0, 5.0}, {6.2, 7.2}};
  const auto audio = conversation(spans, 8.5, 1);
  const auto found = push_in_chunks(audio, audio.size(), 1);
  ASSERT_EQ(found.size(), spans.size());
  for (std::size_t i = 0; i < spans.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_NEAR(found[i].begin_sample / double(kRate), spans[i].begin, 0.1);
    // The voice's last syllable may end before its span does.
    EXPECT_NEAR(found[i].end_sample / double(kRate), spans[i].end, 0.15);
    EXPECT_EQ(found[i].samples.size(), std::size_t(found[i].end_sample - found[i].begin_sample));
    EXPECT_EQ(found[i].samples.front(), audio[std::size_t(found[i].begin_sample)]);
  }
}

TEST(UtteranceDetector, AnswersDoNotDependOnHowTheSamplesArrive) {
  const auto audio = conversation({{0.3, 1.8}, {2.4, 4.0}, {4.9, 6.0}}, 7, 2);
  const auto whole = push_in_chunks(audio, audio.size(), 1);
  ASSERT_EQ(whole.size(), 3u);
  for (const std::size_t max_chunk : {1, 37, 160, 4096}) {
    SCOPED_TRACE(max_chunk);
    const auto chunked = push_in_chunks(audio, max_chunk, unsigned(max_chunk));
    ASSERT_EQ(chunked.size(), whole.size());
    for (std::size_t i = 0; i < whole.size(); ++i) {
      EXPECT_EQ(chunked[i].begin_sample, whole[i].begin_sample);
      EXPECT_EQ(chunked[i].end_sample, whole[i].end_sample);
      EXPECT_EQ(chunked[i].samples, whole[i].samples);
    }
  }
}

TEST(UtteranceDetector, AnUtteranceEndsSoonAfterTheVoiceStops) {
  const auto audio = conversation({{0.5, 2.0}}, 4, 3);
  UtteranceDetector detector(kRate);
  const std::size_t step = kRate / 100;  // 10 ms pushes, as a sound card delivers them
  for (std::size_t at = 0; at + step <= audio.size(); at += step) {
    const auto found = detector.push(audio.data() + at, step);
    if (found.empty()) continue;
    const double now = double(at + step) / kRate;
    EXPECT_LT(now - found[0].end_sample / double(kRate), 0.25);
    EXPECT_LT(now, 2.0 + 0.3);
    return;
  }
  FAIL() << "no utterance before the end of the input";
}

TEST(UtteranceDetector, SilenceNoiseAndClicksAreNoUtterance) {
  EXPECT_TRUE(push_in_chunks(test::silence(5, kRate), 1000, 1).empty());
  EXPECT_TRUE(push_in_chunks(test::white_noise(5, kRate, 0.1, 4), 1000, 1).empty());
  std::vector<float> clicks = test::silence(5, kRate);
  for (std::size_t i = kRate; i < clicks.size(); i += kRate) clicks[i] = 0.9f;
  EXPECT_TRUE(push_in_chunks(clicks, 1000, 1).empty());
}

TEST(UtteranceDetector, LongSpeechIsCutAndFinishFlushesWhatIsOpen) {
  UtteranceOptions options;
  options.max_seconds = 4;
  // 9 s of talk without a pause long enough to end it, and no silence after it.
  const auto audio = conversation({{0.5, 9.5}}, 9.5, 5);
  const auto found = push_in_chunks(audio, 3000, 5, options);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_NEAR(found[0].seconds(kRate), 4.0, 0.02);
  // The talk goes on in the next part (after at most a syllable's pause).
  EXPECT_GE(found[1].begin_sample, found[0].end_sample);
  EXPECT_LT(found[1].begin_sample - found[0].end_sample, kRate / 10);
  EXPECT_NEAR(found[1].seconds(kRate), 4.0, 0.02);
  EXPECT_NEAR(found[2].end_sample / double(kRate), 9.5, 0.1);  // flushed by finish()
}

TEST(UtteranceDetector, MemoryStaysBoundedOverALongStream) {
  UtteranceOptions options;
  options.max_seconds = 5;
  UtteranceDetector detector(kRate, options);
  const auto block = conversation({{0.5, 3.0}, {4.0, 9.8}}, 10, 6);
  std::size_t utterances = 0, most_held = 0;
  for (int i = 0; i < 60; ++i) {  // 10 minutes
    utterances += detector.push(block.data(), block.size()).size();
    most_held = std::max(most_held, detector.samples_held());
  }
  EXPECT_GE(utterances, 120u);
  EXPECT_LE(most_held, std::size_t(5.1 * kRate));
  EXPECT_EQ(detector.samples_pushed(), int64_t(60 * block.size()));
}

TEST(UtteranceDetector, BadOptionsAreRefused) {
  UtteranceOptions options;
  options.end_silence_seconds = 0;
  EXPECT_EQ(test::thrown_error([&] { UtteranceDetector(kRate, options); })->code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(test::thrown_error([] { UtteranceDetector(0); })->code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace spkid
