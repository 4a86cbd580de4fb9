// The clipping rule of spkid/chunk.h: whole clips, overlap, the remainder, short speech.
#include "spkid/chunk.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "spkid/error.h"
#include "synth.h"

namespace spkid {
namespace {

constexpr int kRate = 16000;

long samples(double seconds) { return static_cast<long>(seconds * kRate); }

// Clip boundaries in seconds, for readable expectations.
std::vector<std::pair<double, double>> plan_seconds(double speech_seconds,
                                                    const ChunkOptions& options = {}) {
  std::vector<std::pair<double, double>> clips;
  for (const Clip& clip : plan_clips(samples(speech_seconds), kRate, options)) {
    clips.emplace_back(static_cast<double>(clip.begin_sample) / kRate,
                       static_cast<double>(clip.end_sample) / kRate);
  }
  return clips;
}

using Seconds = std::vector<std::pair<double, double>>;

TEST(Chunk, ThirtySecondsGiveFiveClipsOfSix) {
  EXPECT_EQ(plan_seconds(30), (Seconds{{0, 6}, {6, 12}, {12, 18}, {18, 24}, {24, 30}}));
}

TEST(Chunk, RemainderOfHalfAClipOrMoreBecomesAClipEndingWithTheSpeech) {
  EXPECT_EQ(plan_seconds(33), (Seconds{{0, 6}, {6, 12}, {12, 18}, {18, 24}, {24, 30}, {27, 33}}));
  EXPECT_EQ(plan_seconds(35).back(), (std::pair<double, double>{29, 35}));
}

TEST(Chunk, ShorterRemainderIsDropped) {
  EXPECT_EQ(plan_seconds(32), plan_seconds(30));
  ChunkOptions options;
  options.min_remainder_fraction = 0.25;
  EXPECT_EQ(plan_seconds(32, options).size(), 6u);
}

TEST(Chunk, OverlapStartsClipsEarlier) {
  ChunkOptions options;
  options.overlap_seconds = 1;
  // Clips every 5 s; the 4 s left after the clip ending at 26 s make a last clip 24-30 s.
  EXPECT_EQ(plan_seconds(30, options),
            (Seconds{{0, 6}, {5, 11}, {10, 16}, {15, 21}, {20, 26}, {24, 30}}));
}

TEST(Chunk, SpeechShorterThanAClip) {
  EXPECT_EQ(plan_seconds(4), (Seconds{{0, 4}}));
  EXPECT_EQ(plan_seconds(1), (Seconds{{0, 1}}));
  EXPECT_TRUE(plan_seconds(0.8).empty());
  EXPECT_TRUE(plan_seconds(0).empty());
  EXPECT_EQ(plan_seconds(6), (Seconds{{0, 6}}));
}

TEST(Chunk, CutClipsCopiesTheSamplesOfEachClip) {
  std::vector<float> ramp(static_cast<size_t>(samples(13)));
  for (size_t i = 0; i < ramp.size(); ++i) ramp[i] = static_cast<float>(i);
  const std::vector<std::vector<float>> clips = cut_clips(ramp, kRate);
  const std::vector<Clip> plan = plan_clips(samples(13), kRate);
  ASSERT_EQ(clips.size(), 2u);
  ASSERT_EQ(plan.size(), 2u);
  for (size_t c = 0; c < clips.size(); ++c) {
    ASSERT_EQ(clips[c].size(), static_cast<size_t>(samples(6)));
    EXPECT_EQ(clips[c].front(), static_cast<float>(plan[c].begin_sample));
    EXPECT_EQ(clips[c].back(), static_cast<float>(plan[c].end_sample - 1));
  }
}

TEST(ChunkOptions, ValidateNamesTheBadField) {
  const auto expect_refused = [](ChunkOptions options, double ChunkOptions::*field, double value,
                                 const std::string& name) {
    options.*field = value;
    const std::optional<Error> error = test::thrown_error([&] { options.validate(); });
    ASSERT_TRUE(error.has_value()) << name << " = " << value << " was accepted";
    EXPECT_EQ(error->code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(error->what()).find(name), std::string::npos) << error->what();
  };
  const ChunkOptions defaults;
  EXPECT_NO_THROW(defaults.validate());
  expect_refused(defaults, &ChunkOptions::clip_seconds, 0, "clip_seconds");
  expect_refused(defaults, &ChunkOptions::overlap_seconds, -1, "overlap_seconds");
  expect_refused(defaults, &ChunkOptions::overlap_seconds, 6, "overlap_seconds");
  expect_refused(defaults, &ChunkOptions::min_remainder_fraction, 1.5, "min_remainder_fraction");
  expect_refused(defaults, &ChunkOptions::min_clip_seconds, 7, "min_clip_seconds");
  EXPECT_THROW(plan_clips(100, 0), Error);
  EXPECT_THROW(plan_clips(-1, kRate), Error);
}

}  // namespace
}  // namespace spkid
