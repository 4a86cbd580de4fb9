// Simulated rooms, telephone lines and pitch for augmentation: what each does to tones and
// impulses.
#include "spkid/channel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "spkid/error.h"

namespace spkid {
namespace {

constexpr int kRate = 16000;
const double kPi = std::acos(-1.0);

std::vector<float> tone(double hz, double seconds, double amplitude = 0.5, int rate = kRate) {
  std::vector<float> x(static_cast<size_t>(seconds * rate));
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>(amplitude * std::sin(2 * kPi * hz * double(i) / rate));
  }
  return x;
}

double rms(const std::vector<float>& x, size_t begin = 0, size_t end = 0) {
  if (end == 0) end = x.size();
  double sum = 0;
  for (size_t i = begin; i < end; ++i) sum += double(x[i]) * x[i];
  return std::sqrt(sum / double(end - begin));
}

// Frequency of a steady tone from its upward zero crossings.
double frequency(const std::vector<float>& x, int rate = kRate) {
  int crossings = 0;
  for (size_t i = 1; i < x.size(); ++i) crossings += x[i - 1] < 0 && x[i] >= 0;
  return crossings * double(rate) / double(x.size());
}

TEST(RoomImpulseResponse, StartsWithTheDirectPathAndDecaysAsItsRt60Says) {
  std::mt19937_64 rng(1);
  const auto h = room_impulse_response(kRate, 0.5, rng);
  ASSERT_EQ(h.size(), size_t(0.5 * kRate));
  EXPECT_FLOAT_EQ(h[0], 1.0f);
  // 60 dB down over the RT60: the last tenth holds far less energy than the second tenth.
  const size_t tenth = h.size() / 10;
  EXPECT_LT(rms(h, 9 * tenth, h.size()), rms(h, tenth, 2 * tenth) / 100);
  // The same engine state, the same room; a longer RT60, a longer response (cut at 1 s).
  std::mt19937_64 again(1);
  EXPECT_EQ(room_impulse_response(kRate, 0.5, again), h);
  std::mt19937_64 long_room(2);
  EXPECT_EQ(room_impulse_response(kRate, 1.0, long_room).size(), size_t(kRate));
}

TEST(Convolve, MatchesDirectConvolutionAcrossBlocks) {
  std::mt19937_64 rng(3);
  std::normal_distribution<float> g(0, 1);
  std::vector<float> x(40000), h(700);
  for (auto& v : x) v = g(rng);
  for (auto& v : h) v = g(rng) * 0.05f;
  const auto y = convolve(x, h);
  ASSERT_EQ(y.size(), x.size());
  // Spot checks against the direct sum, in each overlap-add block and across their edges.
  for (const size_t n : {0ul, 1ul, 699ul, 16383ul, 16384ul, 16800ul, 32770ul, 39999ul}) {
    double direct = 0;
    for (size_t k = 0; k < h.size() && k <= n; ++k) direct += double(h[k]) * x[n - k];
    EXPECT_NEAR(y[n], direct, 1e-3) << n;
  }
  // A unit impulse changes nothing; a delayed one delays.
  EXPECT_EQ(convolve(x, {1.0f}).size(), x.size());
  const auto same = convolve(x, {1.0f});
  const auto late = convolve(x, {0.0f, 1.0f});
  for (size_t n = 1; n < 100; ++n) {
    EXPECT_NEAR(same[n], x[n], 1e-4);
    EXPECT_NEAR(late[n], x[n - 1], 1e-4);
  }
  EXPECT_THROW(convolve(x, {}), Error);
  EXPECT_THROW(convolve(x, std::vector<float>(20000, 0.1f)), Error);
}

TEST(TelephoneChannel, KeepsTheVoiceBandAndCutsWhatATelephoneCannotCarry) {
  for (const TelephoneCodec codec : {TelephoneCodec::kMuLaw, TelephoneCodec::kALaw}) {
    const auto speech_band = telephone_channel(tone(1000, 1), kRate, codec);
    ASSERT_EQ(speech_band.size(), size_t(kRate));
    // Inside the band: the level stays within 1 dB (companding noise is ~35 dB down).
    EXPECT_NEAR(20 * std::log10(rms(speech_band, 2000, 14000) / rms(tone(1000, 1))), 0, 1.0);
    EXPECT_NEAR(frequency(speech_band), 1000, 10);
    // Above 4 kHz nothing is left; far below 300 Hz little is.
    const auto high = telephone_channel(tone(6000, 1), kRate, codec);
    EXPECT_LT(rms(high, 2000, 14000), rms(tone(6000, 1)) / 100);
    const auto hum = telephone_channel(tone(60, 1), kRate, codec);
    EXPECT_LT(rms(hum, 4000, 14000), rms(tone(60, 1)) / 10);
  }
}

TEST(TimeStretch, ChangesTheLengthAndKeepsThePitch) {
  const auto x = tone(220, 2);
  for (const double factor : {0.8, 1.0, 1.25}) {
    const auto y = time_stretch(x, factor);
    EXPECT_EQ(y.size(), size_t(std::lround(double(x.size()) * factor)));
    // Away from the edges, the same tone at its level.
    const std::vector<float> middle(y.begin() + 2000, y.end() - 2000);
    EXPECT_NEAR(frequency(middle), 220, 220 * 0.02) << factor;
    EXPECT_NEAR(rms(middle), rms(x), rms(x) * 0.15) << factor;
  }
}

TEST(ShiftPitch, MovesTheToneByTheCentsAtTheSameLength) {
  const auto x = tone(200, 2);
  for (const double cents : {-400.0, 300.0, 1200.0}) {
    const auto y = shift_pitch(x, kRate, cents);
    ASSERT_EQ(y.size(), x.size());
    const std::vector<float> middle(y.begin() + 2000, y.end() - 2000);
    const double expected = 200 * std::pow(2.0, cents / 1200);
    EXPECT_NEAR(frequency(middle), expected, expected * 0.03) << cents;
  }
}

}  // namespace
}  // namespace spkid
