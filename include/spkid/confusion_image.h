// A confusion matrix as a PNG picture: one row per true speaker, one column per answer, each
// cell coloured by its share of the row (viridis; an empty cell white) and labelled with its
// count, each row's accuracy at its right, the overall accuracy in the title.
#pragma once

#include <string>

#include "spkid/metrics.h"
#include "spkid/spectrogram_image.h"

namespace spkid {

struct ConfusionImageOptions {
  int cell_px = 36;   // side of one cell; counts are written in cells of 14 px or more
  std::string title;  // what was evaluated, e.g. the dataset

  void validate() const;  // throws Error(kInvalidArgument) naming the bad field
};

// Where the picture puts things, in pixels from its top-left corner.
struct ConfusionImageLayout {
  int width_px = 0;
  int height_px = 0;
  int grid_left_px = 0;  // the top-left corner of the cell (truth 0, answer 0)
  int grid_top_px = 0;
  int cell_px = 0;  // cell (truth t, answer a) starts at grid_left_px + a * cell_px,
                    // grid_top_px + t * cell_px
};

// The layout render_confusion_png() uses: it grows with the labels' length and count. Throws
// Error(kInvalidArgument) for bad options, a matrix without labels, or a picture too large.
ConfusionImageLayout confusion_image_layout(const ConfusionMatrix& matrix,
                                            const ConfusionImageOptions& options);

// The colour of a cell holding `count` of its row's `row_total` trials.
Rgb confusion_cell_colour(int64_t count, int64_t row_total) noexcept;

// The picture's PNG bytes. Throws as confusion_image_layout(), and Error(kInternal) when cairo
// fails.
std::string render_confusion_png(const ConfusionMatrix& matrix,
                                 const ConfusionImageOptions& options);

// The picture, written to `path`. Throws as render_confusion_png(), and Error(kIo).
void write_confusion_png(const std::string& path, const ConfusionMatrix& matrix,
                         const ConfusionImageOptions& options);

}  // namespace spkid
