#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "cairo_canvas.h"
#include "spkid/audio.h"
#include "spkid/error.h"
#include "spkid/spectrogram_image.h"

namespace spkid {
namespace {

using detail::Cairo;
using detail::check_cairo;
using detail::draw_text;
using detail::draw_upward_text;
using detail::encode_png;
using detail::make_image_surface;
using detail::Surface;
using detail::write_png;

// Viridis (matplotlib's table, CC0), every 15th of its 256 entries: interpolating linearly
// between them stays within 5/255 of the full table.
constexpr float kViridis[][3] = {
    {0.267004f, 0.004874f, 0.329415f}, {0.281924f, 0.089666f, 0.412415f},
    {0.280255f, 0.165693f, 0.476498f}, {0.263663f, 0.237631f, 0.518762f},
    {0.237441f, 0.305202f, 0.541921f}, {0.208623f, 0.367752f, 0.552675f},
    {0.182256f, 0.426184f, 0.557120f}, {0.159194f, 0.482237f, 0.558073f},
    {0.137770f, 0.537492f, 0.554906f}, {0.121148f, 0.592739f, 0.544641f},
    {0.128087f, 0.647749f, 0.523491f}, {0.180653f, 0.701402f, 0.488189f},
    {0.274149f, 0.751988f, 0.436601f}, {0.395174f, 0.797475f, 0.367757f},
    {0.535621f, 0.835785f, 0.281908f}, {0.688944f, 0.865448f, 0.182725f},
    {0.845561f, 0.887322f, 0.099702f}, {0.993248f, 0.906157f, 0.143936f},
};
constexpr int kViridisPoints = sizeof(kViridis) / sizeof(kViridis[0]);

constexpr int kMinWidthPx = 320;
constexpr int kMinHeightPx = 200;
constexpr int kMaxSidePx = 16384;  // cairo's image surfaces stop at 32767

constexpr char kFont[] = "DejaVu Sans";
constexpr double kTitleFontPx = 17;
constexpr double kSubtitleFontPx = 12.5;
constexpr double kLabelFontPx = 13;
constexpr double kTickFontPx = 11.5;
constexpr double kTickLengthPx = 5;
constexpr double kTextGray = 0.13;
constexpr double kAxisGray = 0.3;

constexpr double kDbPerNeper = 4.342944819032518;  // 10 / ln(10): ln(power) to dB
constexpr float kMagnitudeFloor = 1e-10f;          // keeps log10 finite on digital silence

struct Rect {
  double x = 0;
  double y = 0;
  double width = 0;
  double height = 0;
  double right() const { return x + width; }
  double bottom() const { return y + height; }
};

// Values in dB relative to the loudest (so <= 0), one column per frame, row 0 the lowest band.
struct DbGrid {
  int columns = 0;
  int rows = 0;
  std::vector<float> db;  // column-major
  float& at(int column, int row) { return db[static_cast<std::size_t>(column) * rows + row]; }
  float at(int column, int row) const { return db[static_cast<std::size_t>(column) * rows + row]; }
};

// frames x bins values in dB, averaged down to at most `max_columns` columns so a long recording
// keeps within the picture (and cairo's size limit), then shifted so the loudest is 0 dB.
DbGrid relative_db_grid(const FeatureMatrix& values, const std::function<float(float)>& to_db,
                        int max_columns) {
  DbGrid grid;
  grid.columns = std::min(values.num_frames, max_columns);
  grid.rows = values.num_features;
  grid.db.assign(static_cast<std::size_t>(grid.columns) * grid.rows, 0.0f);
  for (int column = 0; column < grid.columns; ++column) {
    const long first = static_cast<long>(column) * values.num_frames / grid.columns;
    const long last = static_cast<long>(column + 1) * values.num_frames / grid.columns;
    for (long frame = first; frame < last; ++frame) {
      const float* bins = values.frame(static_cast<int>(frame));
      for (int row = 0; row < grid.rows; ++row) grid.at(column, row) += to_db(bins[row]);
    }
    const auto frames = static_cast<float>(last - first);
    for (int row = 0; row < grid.rows; ++row) grid.at(column, row) /= frames;
  }
  const float loudest = *std::max_element(grid.db.begin(), grid.db.end());
  for (float& value : grid.db) value -= loudest;
  return grid;
}

// Paints the grid over `area`, loudest in the bright end of the colour map, low rows at the bottom.
void paint_grid(cairo_t* cr, const Rect& area, const DbGrid& grid, double range_db) {
  Surface image = make_image_surface(grid.columns, grid.rows);
  cairo_surface_flush(image.get());
  unsigned char* pixels = cairo_image_surface_get_data(image.get());
  const int stride = cairo_image_surface_get_stride(image.get());
  for (int row = 0; row < grid.rows; ++row) {
    auto* line =
        reinterpret_cast<uint32_t*>(pixels + static_cast<long>(grid.rows - 1 - row) * stride);
    for (int column = 0; column < grid.columns; ++column) {
      const Rgb rgb = viridis(1.0 + grid.at(column, row) / range_db);
      line[column] = (uint32_t{rgb.red} << 16) | (uint32_t{rgb.green} << 8) | rgb.blue;
    }
  }
  cairo_surface_mark_dirty(image.get());

  cairo_save(cr);
  cairo_rectangle(cr, area.x, area.y, area.width, area.height);
  cairo_clip(cr);
  cairo_translate(cr, area.x, area.y);
  cairo_scale(cr, area.width / grid.columns, area.height / grid.rows);
  cairo_set_source_surface(cr, image.get(), 0, 0);
  cairo_pattern_t* pattern = cairo_get_source(cr);
  cairo_pattern_set_filter(pattern, CAIRO_FILTER_BILINEAR);
  cairo_pattern_set_extend(pattern, CAIRO_EXTEND_PAD);  // no fade to black at the edges
  cairo_paint(cr);
  cairo_restore(cr);
}

enum class Weight { kNormal, kBold };

void set_font(cairo_t* cr, double size_px, Weight weight = Weight::kNormal) {
  cairo_select_font_face(
      cr, kFont, CAIRO_FONT_SLANT_NORMAL,
      weight == Weight::kBold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size_px);
}

struct Ticks {
  std::vector<double> values;
  int decimals = 0;  // enough to tell neighbouring ticks apart
};

// Round values 1, 2 or 5 times a power of ten apart, about `target_count` of them in [low, high].
Ticks nice_ticks(double low, double high, int target_count) {
  const double raw_step = (high - low) / std::max(target_count, 1);
  const double power = std::pow(10.0, std::floor(std::log10(raw_step)));
  const double mantissa = raw_step / power;
  const double step = (mantissa < 1.5 ? 1 : mantissa < 3.5 ? 2 : mantissa < 7.5 ? 5 : 10) * power;
  Ticks ticks;
  ticks.decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  const double tolerance = step * 1e-6;
  for (auto k = static_cast<long>(std::ceil((low - tolerance) / step));; ++k) {
    const double value = static_cast<double>(k) * step;
    if (value > high + tolerance) break;
    ticks.values.push_back(std::abs(value) < tolerance ? 0.0 : value);
  }
  return ticks;
}

std::string format_number(double value, int decimals) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

// "500", "1k", "1.5k": short enough to sit left of the plot.
std::string format_hz(double hz) {
  if (hz < 1000) return format_number(hz, 0);
  char text[32];
  std::snprintf(text, sizeof(text), "%gk", std::round(hz / 100) / 10);
  return text;
}

struct AxisTick {
  double fraction;  // 0 at the plot's start (left or bottom), 1 at its end
  std::string label;
};

void draw_time_axis(cairo_t* cr, const Rect& plot, double duration_seconds) {
  const Ticks ticks =
      nice_ticks(0, duration_seconds, std::max(2, static_cast<int>(plot.width / 90)));
  set_font(cr, kTickFontPx);
  cairo_set_source_rgb(cr, kAxisGray, kAxisGray, kAxisGray);
  for (double seconds : ticks.values) {
    const double x = std::round(plot.x + seconds / duration_seconds * plot.width) + 0.5;
    cairo_move_to(cr, x, plot.bottom());
    cairo_line_to(cr, x, plot.bottom() + kTickLengthPx);
    cairo_stroke(cr);
    draw_text(cr, x, plot.bottom() + kTickLengthPx + 4, format_number(seconds, ticks.decimals), 0.5,
              0);
  }
  set_font(cr, kLabelFontPx);
  cairo_set_source_rgb(cr, kTextGray, kTextGray, kTextGray);
  draw_text(cr, plot.x + plot.width / 2, plot.bottom() + kTickLengthPx + 22, "Time (s)", 0.5, 0);
}

// Ticks up the left side of `plot`; labels closer than a line of text to the one below are skipped.
void draw_vertical_axis(cairo_t* cr, const Rect& plot, const std::vector<AxisTick>& ticks,
                        const std::string& title) {
  set_font(cr, kTickFontPx);
  cairo_set_source_rgb(cr, kAxisGray, kAxisGray, kAxisGray);
  double last_y = plot.bottom() + 2 * kTickFontPx;
  for (const AxisTick& tick : ticks) {
    if (tick.fraction < -1e-9 || tick.fraction > 1 + 1e-9) continue;
    const double y = std::round(plot.bottom() - tick.fraction * plot.height) + 0.5;
    if (last_y - y < 1.6 * kTickFontPx) continue;
    last_y = y;
    cairo_move_to(cr, plot.x, y);
    cairo_line_to(cr, plot.x - kTickLengthPx, y);
    cairo_stroke(cr);
    draw_text(cr, plot.x - kTickLengthPx - 4, y, tick.label, 1, 0.5);
  }
  set_font(cr, kLabelFontPx);
  cairo_set_source_rgb(cr, kTextGray, kTextGray, kTextGray);
  draw_upward_text(cr, 16, plot.y + plot.height / 2, title, 0.5, 0.5);
}

void draw_frame(cairo_t* cr, const Rect& area) {
  cairo_set_source_rgb(cr, kAxisGray, kAxisGray, kAxisGray);
  cairo_rectangle(cr, std::round(area.x) - 0.5, std::round(area.y) - 0.5,
                  std::round(area.width) + 1, std::round(area.height) + 1);
  cairo_stroke(cr);
}

// The dB scale right of the plot: the colour map from the floor up to 0 dB, the loudest value.
void draw_colour_bar(cairo_t* cr, const Rect& plot, double range_db) {
  constexpr int kSteps = 256;
  DbGrid scale;
  scale.columns = 1;
  scale.rows = kSteps;
  for (int row = 0; row < kSteps; ++row) {
    scale.db.push_back(static_cast<float>(-range_db * (1.0 - row / (kSteps - 1.0))));
  }
  const Rect bar{plot.right() + 18, plot.y, 14, plot.height};
  paint_grid(cr, bar, scale, range_db);
  draw_frame(cr, bar);

  set_font(cr, kTickFontPx);
  for (double db : nice_ticks(-range_db, 0, 6).values) {
    const double y = std::round(bar.bottom() - (db + range_db) / range_db * bar.height) + 0.5;
    cairo_move_to(cr, bar.right(), y);
    cairo_line_to(cr, bar.right() + kTickLengthPx - 1, y);
    cairo_stroke(cr);
    draw_text(cr, bar.right() + kTickLengthPx + 3, y, format_number(db, 0), 0, 0.5);
  }
  draw_text(cr, bar.x + bar.width / 2, bar.y - 6, "dB", 0.5, 1);
}

FeatureExtractor picture_extractor(const FeatureOptions& requested, int sample_rate_hz) {
  FeatureOptions options = requested;
  options.sample_rate_hz = sample_rate_hz;
  options.mfcc = false;
  options.normalize_mean = false;
  options.normalize_variance = false;
  return FeatureExtractor(options);
}

void check_has_frames(const FeatureMatrix& values, const Audio& audio,
                      const FeatureOptions& options) {
  if (values.num_frames == 0) {
    throw Error(ErrorCode::kAudioTooShort,
                "the audio (" + format_number(audio.duration_seconds(), 3) +
                    " s) is shorter than one " + format_number(options.frame_length_ms, 0) +
                    " ms frame; a spectrogram needs a longer recording");
  }
}

std::string draw_log_mel(cairo_t* cr, const Rect& plot, const Audio& audio,
                         const SpectrogramImageOptions& options) {
  const FeatureExtractor extractor = picture_extractor(options.features, audio.sample_rate_hz);
  const FeatureMatrix log_mel = extractor.compute(audio.samples);
  check_has_frames(log_mel, audio, options.features);
  const auto plot_columns = static_cast<int>(plot.width);
  paint_grid(cr, plot,
             relative_db_grid(
                 log_mel, [](float ln_power) { return ln_power * kDbPerNeper; }, plot_columns),
             options.dynamic_range_db);

  // Round frequencies placed by interpolating between the bands' centres, evenly spaced in Mel.
  const std::vector<double> centres_hz = extractor.mel_center_frequencies_hz();
  const auto bands = static_cast<double>(centres_hz.size());
  std::vector<AxisTick> ticks;
  for (double hz :
       {100, 200, 500, 1000, 2000, 3000, 4000, 5000, 6000, 8000, 10000, 12000, 16000, 20000}) {
    const auto above = std::lower_bound(centres_hz.begin(), centres_hz.end(), hz);
    if (above == centres_hz.begin() || above == centres_hz.end()) continue;
    const double band = static_cast<double>(above - centres_hz.begin() - 1) +
                        (hz - *(above - 1)) / (*above - *(above - 1));
    ticks.push_back({(band + 0.5) / bands, format_hz(hz)});
  }
  draw_vertical_axis(cr, plot, ticks, "Frequency (Hz, Mel scale)");
  draw_colour_bar(cr, plot, options.dynamic_range_db);
  return "log-Mel spectrogram, " + std::to_string(centres_hz.size()) + " bands";
}

std::string draw_linear(cairo_t* cr, const Rect& plot, const Audio& audio,
                        const SpectrogramImageOptions& options) {
  const FeatureExtractor extractor = picture_extractor(options.features, audio.sample_rate_hz);
  const FeatureMatrix magnitude = extractor.magnitude_spectrogram(
      audio.samples.data(), static_cast<long>(audio.samples.size()));
  check_has_frames(magnitude, audio, options.features);
  paint_grid(cr, plot,
             relative_db_grid(
                 magnitude,
                 [](float value) { return 20.0f * std::log10(std::max(value, kMagnitudeFloor)); },
                 static_cast<int>(plot.width)),
             options.dynamic_range_db);

  const double nyquist_hz = audio.sample_rate_hz / 2.0;
  const double bin_hz = nyquist_hz / (magnitude.num_features - 1);
  std::vector<AxisTick> ticks;
  for (double hz : nice_ticks(0, nyquist_hz, static_cast<int>(plot.height / 45)).values) {
    ticks.push_back({(hz / bin_hz + 0.5) / magnitude.num_features, format_hz(hz)});
  }
  draw_vertical_axis(cr, plot, ticks, "Frequency (Hz)");
  draw_colour_bar(cr, plot, options.dynamic_range_db);
  return "linear spectrogram, " + std::to_string(magnitude.num_features) + " bins";
}

std::string draw_waveform(cairo_t* cr, const Rect& plot, const Audio& audio) {
  const std::vector<float>& samples = audio.samples;
  const auto count = static_cast<long>(samples.size());
  const auto columns = static_cast<long>(plot.width);
  const auto amplitude_y = [&plot](double amplitude) {
    return plot.y + (1.0 - std::clamp(amplitude, -1.0, 1.0)) / 2.0 * plot.height;
  };

  cairo_set_source_rgb(cr, 0.85, 0.85, 0.85);
  cairo_move_to(cr, plot.x, std::round(amplitude_y(0)) + 0.5);
  cairo_line_to(cr, plot.right(), std::round(amplitude_y(0)) + 0.5);
  cairo_stroke(cr);

  // Each pixel column shows the extremes of its samples and, darker, their RMS level.
  const Rgb peak_colour = viridis(0.3);
  const Rgb rms_colour = viridis(0.1);
  std::vector<std::pair<double, double>> rms_spans;
  for (long column = 0; column < columns; ++column) {
    const long first = column * count / columns;
    const long last = std::max(first + 1, (column + 1) * count / columns);
    double low = samples[first];
    double high = low;
    double energy = 0;
    for (long i = first; i < last; ++i) {
      low = std::min<double>(low, samples[i]);
      high = std::max<double>(high, samples[i]);
      energy += static_cast<double>(samples[i]) * samples[i];
    }
    const double rms = std::sqrt(energy / static_cast<double>(last - first));
    const double x = plot.x + static_cast<double>(column);
    const double top = amplitude_y(high);
    cairo_rectangle(cr, x, top, 1, std::max(1.0, amplitude_y(low) - top));
    rms_spans.emplace_back(amplitude_y(std::min(rms, high)), amplitude_y(std::max(-rms, low)));
  }
  cairo_set_source_rgb(cr, peak_colour.red / 255.0, peak_colour.green / 255.0,
                       peak_colour.blue / 255.0);
  cairo_fill(cr);
  for (std::size_t column = 0; column < rms_spans.size(); ++column) {
    const auto [top, bottom] = rms_spans[column];
    if (bottom > top)
      cairo_rectangle(cr, plot.x + static_cast<double>(column), top, 1, bottom - top);
  }
  cairo_set_source_rgb(cr, rms_colour.red / 255.0, rms_colour.green / 255.0,
                       rms_colour.blue / 255.0);
  cairo_fill(cr);

  std::vector<AxisTick> ticks;
  for (double amplitude : {-1.0, -0.5, 0.0, 0.5, 1.0}) {
    ticks.push_back({(amplitude + 1) / 2, format_number(amplitude, amplitude == 0 ? 0 : 1)});
  }
  draw_vertical_axis(cr, plot, ticks, "Amplitude");
  return "waveform, peak and RMS";
}

// The whole picture: title line, plot with axes, and the colour bar for spectrograms.
Surface draw(const Audio& audio, const SpectrogramImageOptions& options) {
  options.validate();
  if (audio.samples.empty() || audio.sample_rate_hz <= 0) {
    throw Error(ErrorCode::kEmptyAudio, "there is no audio to draw; give a non-empty recording");
  }
  Surface surface = make_image_surface(options.width_px, options.height_px);
  Cairo owner(cairo_create(surface.get()));
  cairo_t* cr = owner.get();
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_set_line_width(cr, 1);

  const bool has_colour_bar = options.kind != SpectrogramKind::kWaveform;
  const double left_px = 74;
  const double right_px = has_colour_bar ? 84 : 24;
  const double top_px = 44;
  const double bottom_px = 54;
  const Rect plot{left_px, top_px, std::floor(options.width_px - left_px - right_px),
                  std::floor(options.height_px - top_px - bottom_px)};

  std::string description;
  switch (options.kind) {
    case SpectrogramKind::kLogMel:
      description = draw_log_mel(cr, plot, audio, options);
      break;
    case SpectrogramKind::kLinear:
      description = draw_linear(cr, plot, audio, options);
      break;
    case SpectrogramKind::kWaveform:
      description = draw_waveform(cr, plot, audio);
      break;
  }
  draw_frame(cr, plot);
  draw_time_axis(cr, plot, audio.duration_seconds());

  cairo_set_source_rgb(cr, kTextGray, kTextGray, kTextGray);
  set_font(cr, kTitleFontPx, Weight::kBold);
  draw_text(cr, plot.x, top_px - 14, options.title, 0, 1);
  set_font(cr, kSubtitleFontPx);
  cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
  draw_text(cr, plot.right(), top_px - 14,
            description + " · " + format_number(audio.sample_rate_hz / 1000.0, 1) + " kHz · " +
                format_number(audio.duration_seconds(), 2) + " s",
            1, 1);

  check_cairo(cairo_status(cr), "draw");
  cairo_surface_flush(surface.get());
  return surface;
}


}  // namespace

void SpectrogramImageOptions::validate() const {
  const auto check_side = [](int value_px, int min_px, const char* field, const char* flag) {
    if (value_px < min_px || value_px > kMaxSidePx) {
      throw Error(ErrorCode::kInvalidArgument,
                  std::string("picture ") + field + " " + std::to_string(value_px) +
                      " is out of range; give " + flag + " between " + std::to_string(min_px) +
                      " and " + std::to_string(kMaxSidePx) + " pixels");
    }
  };
  check_side(width_px, kMinWidthPx, "width", "--width");
  check_side(height_px, kMinHeightPx, "height", "--height");
  if (!(dynamic_range_db >= 1 && dynamic_range_db <= 200)) {
    throw Error(ErrorCode::kInvalidArgument,
                "dynamic_range_db " + format_number(dynamic_range_db, 1) +
                    " is out of range; give a range between 1 and 200 dB");
  }
  features.validate();
}

Rgb viridis(double t) noexcept {
  const double position = std::clamp(std::isnan(t) ? 0.0 : t, 0.0, 1.0) * (kViridisPoints - 1);
  const int below = std::min(static_cast<int>(position), kViridisPoints - 2);
  const double weight = position - below;
  const auto channel = [&](int c) {
    const double value = kViridis[below][c] * (1 - weight) + kViridis[below + 1][c] * weight;
    return static_cast<std::uint8_t>(std::lround(value * 255));
  };
  return {channel(0), channel(1), channel(2)};
}

std::string render_spectrogram_png(const Audio& audio, const SpectrogramImageOptions& options) {
  return encode_png(draw(audio, options).get());
}

void write_spectrogram_png(const std::string& path, const Audio& audio,
                           const SpectrogramImageOptions& options) {
  write_png(draw(audio, options).get(), path);
}

}  // namespace spkid
