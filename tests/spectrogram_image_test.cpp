#include "spkid/spectrogram_image.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "decoded_png.h"
#include "spkid/audio.h"
#include "spkid/error.h"
#include "synth.h"

namespace spkid {
namespace {

constexpr int kRate = 16000;

Audio make_audio(std::vector<float> samples) {
  Audio audio;
  audio.samples = std::move(samples);
  audio.sample_rate_hz = kRate;
  return audio;
}

SpectrogramImageOptions picture(SpectrogramKind kind, int width_px = 640, int height_px = 320) {
  SpectrogramImageOptions options;
  options.kind = kind;
  options.width_px = width_px;
  options.height_px = height_px;
  options.title = "test.wav";
  return options;
}

using test::big_endian_u32;
using test::DecodedPng;

// In column x, the row whose colour is nearest `colour`, and how near (squared RGB distance).
std::pair<int, int> nearest_in_column(const DecodedPng& decoded, int x, Rgb colour) {
  std::pair<int, int> best{-1, std::numeric_limits<int>::max()};
  for (int y = 0; y < decoded.height(); ++y) {
    const Rgb pixel = decoded.at(x, y);
    const int dr = pixel.red - colour.red, dg = pixel.green - colour.green,
              db = pixel.blue - colour.blue;
    const int distance = dr * dr + dg * dg + db * db;
    if (distance < best.second) best = {y, distance};
  }
  return best;
}

// Height in the picture (row) of the brightest colour of a steady tone, mid-recording.
int loudest_row_of_tone(double freq_hz, SpectrogramKind kind) {
  const std::string png =
      render_spectrogram_png(make_audio(test::sine(freq_hz, 2.0, kRate)), picture(kind));
  const DecodedPng decoded(png);
  return nearest_in_column(decoded, decoded.width() / 2, viridis(1)).first;
}

TEST(Viridis, EndpointsAreThePublishedColours) {
  const Rgb dark = viridis(0), bright = viridis(1);
  EXPECT_EQ(dark.red, 0x44);
  EXPECT_EQ(dark.green, 0x01);
  EXPECT_EQ(dark.blue, 0x54);
  EXPECT_EQ(bright.red, 0xfd);
  EXPECT_EQ(bright.green, 0xe7);
  EXPECT_EQ(bright.blue, 0x25);
  // Matplotlib's middle entry, #21918c, within the interpolation's error.
  const Rgb middle = viridis(0.5);
  EXPECT_NEAR(middle.red, 0x21, 3);
  EXPECT_NEAR(middle.green, 0x91, 3);
  EXPECT_NEAR(middle.blue, 0x8c, 3);
}

TEST(Viridis, ClampsOutsideTheUnitInterval) {
  EXPECT_EQ(viridis(-3).blue, viridis(0).blue);
  EXPECT_EQ(viridis(7).green, viridis(1).green);
  EXPECT_EQ(viridis(std::numeric_limits<double>::quiet_NaN()).red, viridis(0).red);
}

TEST(Viridis, LightnessRisesSteadily) {
  double previous_luma = -1;
  for (int step = 0; step <= 40; ++step) {
    const Rgb colour = viridis(step / 40.0);
    const double luma = 0.2126 * colour.red + 0.7152 * colour.green + 0.0722 * colour.blue;
    EXPECT_GT(luma, previous_luma) << "at t = " << step / 40.0;
    previous_luma = luma;
  }
}

TEST(SpectrogramImage, PngHasTheRequestedSizeInEveryKind) {
  const Audio audio = make_audio(test::speech_like({}, 1.5, kRate));
  for (SpectrogramKind kind :
       {SpectrogramKind::kLogMel, SpectrogramKind::kLinear, SpectrogramKind::kWaveform}) {
    const std::string png = render_spectrogram_png(audio, picture(kind, 700, 260));
    ASSERT_GT(png.size(), 24u);
    EXPECT_EQ(png.substr(0, 8), "\x89PNG\r\n\x1a\n");
    EXPECT_EQ(png.substr(12, 4), "IHDR");
    EXPECT_EQ(big_endian_u32(png, 16), 700u);
    EXPECT_EQ(big_endian_u32(png, 20), 260u);
  }
}

TEST(SpectrogramImage, LowFrequenciesAreAtTheBottom) {
  for (SpectrogramKind kind : {SpectrogramKind::kLogMel, SpectrogramKind::kLinear}) {
    const int low_row = loudest_row_of_tone(300, kind);
    const int high_row = loudest_row_of_tone(3000, kind);
    EXPECT_GT(low_row, high_row + 20) << "kind " << static_cast<int>(kind);
  }
}

TEST(SpectrogramImage, TimeRunsLeftToRight) {
  const Audio audio =
      make_audio(test::concat({test::silence(1.0, kRate), test::sine(1000, 1.0, kRate)}));
  const DecodedPng decoded(render_spectrogram_png(audio, picture(SpectrogramKind::kLogMel)));
  const int silent_distance =
      nearest_in_column(decoded, decoded.width() * 3 / 10, viridis(1)).second;
  const int tone_distance = nearest_in_column(decoded, decoded.width() * 7 / 10, viridis(1)).second;
  EXPECT_LT(tone_distance, 300);
  EXPECT_GT(silent_distance, 10000);
}

TEST(SpectrogramImage, WaveformSpansTheSignalsPeaks) {
  // A full-scale tone must reach near the top and bottom of the plot; a quiet one must not.
  const auto span = [](double amplitude) {
    const DecodedPng decoded(render_spectrogram_png(
        make_audio(test::sine(1000, 1.0, kRate, amplitude)), picture(SpectrogramKind::kWaveform)));
    const Rgb peak = viridis(0.3);
    int top = decoded.height(), bottom = -1;
    for (int y = 0; y < decoded.height(); ++y) {
      const Rgb pixel = decoded.at(decoded.width() / 2, y);
      if (pixel.red == peak.red && pixel.green == peak.green && pixel.blue == peak.blue) {
        top = std::min(top, y);
        bottom = std::max(bottom, y);
      }
    }
    return bottom - top;
  };
  const int loud = span(0.9), quiet = span(0.3);
  EXPECT_GT(loud, 0);
  EXPECT_NEAR(static_cast<double>(quiet) / loud, 0.3 / 0.9, 0.1);
}

TEST(SpectrogramImage, WritesAPngFile) {
  test::TempDir dir;
  write_spectrogram_png(dir.file("a.png"), make_audio(test::sine(440, 0.5, kRate)),
                        picture(SpectrogramKind::kLogMel, 400, 240));
  const std::string png = test::read_text(dir.file("a.png"));
  EXPECT_EQ(png.substr(0, 8), "\x89PNG\r\n\x1a\n");
  EXPECT_EQ(big_endian_u32(png, 16), 400u);

  try {
    write_spectrogram_png(dir.file("missing/a.png"), make_audio(test::sine(440, 0.5, kRate)),
                          picture(SpectrogramKind::kLogMel));
    FAIL() << "wrote into a missing directory";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::kIo);
  }
}

TEST(SpectrogramImage, RefusesBadSizesAndAudioShorterThanAFrame) {
  const Audio audio = make_audio(test::sine(440, 0.5, kRate));
  for (const auto& [width, height] :
       {std::pair{100, 300}, std::pair{640, 20}, std::pair{100000, 300}}) {
    try {
      render_spectrogram_png(audio, picture(SpectrogramKind::kLogMel, width, height));
      FAIL() << width << " x " << height << " accepted";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::kInvalidArgument);
    }
  }
  try {
    render_spectrogram_png(make_audio(test::sine(440, 0.01, kRate)),
                           picture(SpectrogramKind::kLogMel));
    FAIL() << "drew a spectrogram of 10 ms";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::kAudioTooShort);
  }
}

}  // namespace
}  // namespace spkid
