#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "cairo_canvas.h"
#include "spkid/confusion_image.h"
#include "spkid/error.h"

namespace spkid {
namespace {

using detail::Cairo;
using detail::Surface;

constexpr char kFont[] = "DejaVu Sans";
constexpr double kTitleFontPx = 16;
constexpr double kAxisTitleFontPx = 13;
constexpr double kMaxLabelFontPx = 12;
constexpr int kMarginPx = 12;
constexpr int kTitleBandPx = 34;
constexpr int kAxisTitleBandPx = 22;
constexpr int kLabelGapPx = 6;
constexpr int kMinCountCellPx = 14;  // smaller cells leave their count out
constexpr int kMinCellPx = 4;
constexpr int kMaxCellPx = 200;
constexpr int kMaxSidePx = 16384;  // cairo's image surfaces stop at 32767
constexpr double kTextGray = 0.13;
constexpr double kGridGray = 0.82;
constexpr char kAccuracyHeader[] = "accuracy";
constexpr char kWidestAccuracy[] = "100.0%";

std::string percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", 100 * fraction);
  return text;
}

// Labels shrink with small cells so that neighbours do not overlap.
double label_font_px(int cell_px) { return std::min(kMaxLabelFontPx, 0.8 * cell_px); }
double count_font_px(int cell_px) { return std::clamp(0.38 * cell_px, 9.0, 14.0); }

void set_font(cairo_t* cr, double size_px, bool bold = false) {
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size_px);
}

std::string title_of(const ConfusionMatrix& matrix, const ConfusionImageOptions& options) {
  const std::string what = options.title.empty() ? "Confusion matrix" : options.title;
  return what + ": top-1 accuracy " + percent(matrix.accuracy()) + " of " +
         std::to_string(matrix.total()) + " clips";
}

// The layout, measured with the fonts it will be drawn in.
ConfusionImageLayout measure(cairo_t* cr, const ConfusionMatrix& matrix,
                             const ConfusionImageOptions& options) {
  using detail::text_width;
  set_font(cr, label_font_px(options.cell_px));
  double label_px = text_width(cr, kAccuracyHeader);  // the column headers' band holds it too
  double row_label_px = 0;
  for (const std::string& label : matrix.labels()) {
    row_label_px = std::max(row_label_px, text_width(cr, label));
  }
  label_px = std::max(label_px, row_label_px);
  const double accuracy_px = text_width(cr, kWidestAccuracy);
  set_font(cr, kTitleFontPx, true);
  const double title_px = text_width(cr, title_of(matrix, options));

  const auto grid_px = static_cast<long>(matrix.labels().size()) * options.cell_px;
  ConfusionImageLayout layout;
  layout.cell_px = options.cell_px;
  layout.grid_left_px =
      kMarginPx + kAxisTitleBandPx + static_cast<int>(std::ceil(row_label_px)) + kLabelGapPx;
  layout.grid_top_px = kMarginPx + kTitleBandPx + kAxisTitleBandPx +
                       static_cast<int>(std::ceil(label_px)) + kLabelGapPx;
  const long width = std::max<long>(
      layout.grid_left_px + grid_px + kLabelGapPx + long(std::ceil(accuracy_px)) + kMarginPx,
      2 * kMarginPx + long(std::ceil(title_px)));
  const long height = layout.grid_top_px + grid_px + kMarginPx;
  if (width > kMaxSidePx || height > kMaxSidePx) {
    throw Error(ErrorCode::kInvalidArgument,
                "a confusion picture of " + std::to_string(matrix.labels().size()) +
                    " speakers would be " + std::to_string(width) + " x " + std::to_string(height) +
                    " pixels, more than " + std::to_string(kMaxSidePx) + ": give smaller cells");
  }
  layout.width_px = static_cast<int>(width);
  layout.height_px = static_cast<int>(height);
  return layout;
}

void set_colour(cairo_t* cr, Rgb colour) {
  cairo_set_source_rgb(cr, colour.red / 255.0, colour.green / 255.0, colour.blue / 255.0);
}

// Dark text on light cells, white on dark ones (by perceived lightness).
bool is_dark(Rgb colour) {
  return 0.299 * colour.red + 0.587 * colour.green + 0.114 * colour.blue < 128;
}

Surface draw(const ConfusionMatrix& matrix, const ConfusionImageOptions& options) {
  const ConfusionImageLayout layout = confusion_image_layout(matrix, options);
  Surface surface = detail::make_image_surface(layout.width_px, layout.height_px);
  const Cairo owner(cairo_create(surface.get()));
  cairo_t* cr = owner.get();
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_set_line_width(cr, 1);

  const auto& labels = matrix.labels();
  const int n = static_cast<int>(labels.size());
  const double cell = layout.cell_px;
  const double left = layout.grid_left_px;
  const double top = layout.grid_top_px;
  const double grid = n * cell;
  const auto centre = [cell](int index, double origin) { return origin + (index + 0.5) * cell; };

  for (int t = 0; t < n; ++t) {
    const int64_t row_total = matrix.row_total(t);
    for (int a = 0; a < n; ++a) {
      const int64_t count = matrix.count(t, a);
      const Rgb colour = confusion_cell_colour(count, row_total);
      set_colour(cr, colour);
      cairo_rectangle(cr, left + a * cell, top + t * cell, cell, cell);
      cairo_fill(cr);
      if (count > 0 && layout.cell_px >= kMinCountCellPx) {
        set_font(cr, count_font_px(layout.cell_px));
        const double shade = is_dark(colour) ? 1.0 : kTextGray;
        cairo_set_source_rgb(cr, shade, shade, shade);
        detail::draw_text(cr, centre(a, left), centre(t, top), std::to_string(count), 0.5, 0.5);
      }
    }
  }
  // Lines between the cells, on pixel centres so that they stay crisp.
  cairo_set_source_rgb(cr, kGridGray, kGridGray, kGridGray);
  for (int i = 0; i <= n; ++i) {
    cairo_move_to(cr, left + i * cell + 0.5, top);
    cairo_line_to(cr, left + i * cell + 0.5, top + grid);
    cairo_move_to(cr, left, top + i * cell + 0.5);
    cairo_line_to(cr, left + grid, top + i * cell + 0.5);
  }
  cairo_stroke(cr);

  cairo_set_source_rgb(cr, kTextGray, kTextGray, kTextGray);
  set_font(cr, label_font_px(layout.cell_px));
  for (int i = 0; i < n; ++i) {
    detail::draw_text(cr, left - kLabelGapPx, centre(i, top), labels[i], 1, 0.5);
    detail::draw_upward_text(cr, centre(i, left), top - kLabelGapPx, labels[i], 0, 0.5);
    const std::string accuracy = matrix.row_total(i) > 0 ? percent(matrix.class_accuracy(i)) : "-";
    detail::draw_text(cr, left + grid + kLabelGapPx, centre(i, top), accuracy, 0, 0.5);
  }
  detail::draw_upward_text(cr, left + grid + kLabelGapPx, top - kLabelGapPx, kAccuracyHeader, 0, 0);

  set_font(cr, kAxisTitleFontPx);
  detail::draw_text(cr, left + grid / 2, kMarginPx + kTitleBandPx, "answer", 0.5, 0);
  detail::draw_upward_text(cr, kMarginPx, top + grid / 2, "true speaker", 0.5, 0);
  set_font(cr, kTitleFontPx, true);
  detail::draw_text(cr, kMarginPx, kMarginPx, title_of(matrix, options), 0, 0);

  detail::check_cairo(cairo_status(cr), "draw");
  cairo_surface_flush(surface.get());
  return surface;
}

}  // namespace

void ConfusionImageOptions::validate() const {
  if (cell_px < kMinCellPx || cell_px > kMaxCellPx) {
    throw Error(ErrorCode::kInvalidArgument, "ConfusionImageOptions.cell_px is " +
                                                 std::to_string(cell_px) + "; it must be between " +
                                                 std::to_string(kMinCellPx) + " and " +
                                                 std::to_string(kMaxCellPx) + " pixels");
  }
}

ConfusionImageLayout confusion_image_layout(const ConfusionMatrix& matrix,
                                            const ConfusionImageOptions& options) {
  options.validate();
  if (matrix.labels().empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "the confusion matrix has no speakers: there is nothing to draw");
  }
  // Text is measured on a scratch surface: the picture's size depends on it.
  const Surface scratch = detail::make_image_surface(1, 1);
  const Cairo cr(cairo_create(scratch.get()));
  return measure(cr.get(), matrix, options);
}

Rgb confusion_cell_colour(int64_t count, int64_t row_total) noexcept {
  if (count <= 0 || row_total <= 0) return {255, 255, 255};
  return viridis(double(count) / double(row_total));
}

std::string render_confusion_png(const ConfusionMatrix& matrix,
                                 const ConfusionImageOptions& options) {
  return detail::encode_png(draw(matrix, options).get());
}

void write_confusion_png(const std::string& path, const ConfusionMatrix& matrix,
                         const ConfusionImageOptions& options) {
  detail::write_png(draw(matrix, options).get(), path);
}

}  // namespace spkid
