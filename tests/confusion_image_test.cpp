#include "spkid/confusion_image.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "decoded_png.h"
#include "spkid/error.h"
#include "synth.h"

namespace spkid {
namespace {

using test::DecodedPng;

bool same_colour(Rgb a, Rgb b) { return a.red == b.red && a.green == b.green && a.blue == b.blue; }

// Speakers of equal name length, so that only their number changes the layout.
ConfusionMatrix matrix_of(const std::vector<std::vector<int>>& counts) {
  std::vector<std::string> labels;
  for (size_t i = 0; i < counts.size(); ++i) labels.push_back("spk" + std::to_string(i));
  ConfusionMatrix matrix(labels);
  for (size_t t = 0; t < counts.size(); ++t) {
    for (size_t a = 0; a < counts.size(); ++a) {
      for (int k = 0; k < counts[t][a]; ++k) matrix.add(t, a);
    }
  }
  return matrix;
}

TEST(ConfusionImage, CellColoursFollowTheRowShare) {
  EXPECT_TRUE(same_colour(confusion_cell_colour(0, 10), {255, 255, 255}));
  EXPECT_TRUE(same_colour(confusion_cell_colour(0, 0), {255, 255, 255}));
  EXPECT_TRUE(same_colour(confusion_cell_colour(10, 10), viridis(1)));
  EXPECT_TRUE(same_colour(confusion_cell_colour(3, 12), viridis(0.25)));
}

TEST(ConfusionImage, DecodesWithTheLayoutsSizeAndCellColours) {
  const ConfusionMatrix matrix = matrix_of({{9, 1, 0}, {0, 6, 4}, {2, 0, 8}});
  ConfusionImageOptions options;
  options.cell_px = 40;
  options.title = "dev";
  const ConfusionImageLayout layout = confusion_image_layout(matrix, options);
  const std::string png = render_confusion_png(matrix, options);
  EXPECT_EQ(png.substr(0, 8), "\x89PNG\r\n\x1a\n");
  const DecodedPng decoded(png);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded.width(), layout.width_px);
  EXPECT_EQ(decoded.height(), layout.height_px);
  EXPECT_EQ(layout.cell_px, 40);
  EXPECT_GE(layout.width_px, layout.grid_left_px + 3 * layout.cell_px);
  EXPECT_GE(layout.height_px, layout.grid_top_px + 3 * layout.cell_px);

  // Away from the grid lines and the count written in the middle, each cell has its colour.
  for (size_t t = 0; t < 3; ++t) {
    for (size_t a = 0; a < 3; ++a) {
      const int x = layout.grid_left_px + static_cast<int>(a) * layout.cell_px + 4;
      const int y = layout.grid_top_px + static_cast<int>(t) * layout.cell_px + 4;
      const Rgb expected = confusion_cell_colour(matrix.count(t, a), matrix.row_total(t));
      EXPECT_TRUE(same_colour(decoded.at(x, y), expected)) << "cell " << t << ", " << a;
    }
  }
  // Outside the grid, left of it, is the white background.
  EXPECT_TRUE(same_colour(decoded.at(2, decoded.height() - 2), {255, 255, 255}));
}

TEST(ConfusionImage, GrowsOneCellPerSpeaker) {
  ConfusionImageOptions options;
  options.cell_px = 30;
  const auto three = confusion_image_layout(matrix_of({{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}), options);
  const auto four = confusion_image_layout(
      matrix_of({{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}), options);
  EXPECT_EQ(four.height_px - three.height_px, 30);
  EXPECT_EQ(four.grid_top_px, three.grid_top_px);
  EXPECT_EQ(four.grid_left_px, three.grid_left_px);
  EXPECT_GE(four.width_px, three.width_px);

  // Longer names push the grid right and down, to make room for them.
  ConfusionMatrix long_names({"a-much-longer-speaker-name", "b"});
  const auto long_layout = confusion_image_layout(long_names, options);
  EXPECT_GT(long_layout.grid_left_px, three.grid_left_px);
  EXPECT_GT(long_layout.grid_top_px, three.grid_top_px);
}

TEST(ConfusionImage, WritesAPngFile) {
  test::TempDir dir;
  const ConfusionMatrix matrix = matrix_of({{2, 0}, {1, 1}});
  write_confusion_png(dir.file("c.png"), matrix, {});
  const DecodedPng decoded(test::read_text(dir.file("c.png")));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded.width(), confusion_image_layout(matrix, {}).width_px);

  const auto error =
      test::thrown_error([&] { write_confusion_png(dir.file("missing/c.png"), matrix, {}); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code(), ErrorCode::kIo);
  EXPECT_NE(std::string(error->what()).find("missing/c.png"), std::string::npos);
}

TEST(ConfusionImage, RefusesWhatItCannotDraw) {
  const auto code_of = [](const std::function<void()>& action) {
    const auto error = test::thrown_error(action);
    return error ? error->code() : ErrorCode::kInternal;
  };
  EXPECT_EQ(code_of([] { render_confusion_png(ConfusionMatrix({}), {}); }),
            ErrorCode::kInvalidArgument);
  ConfusionImageOptions tiny_cells;
  tiny_cells.cell_px = 2;
  EXPECT_EQ(code_of([&] {
              render_confusion_png(matrix_of({{1, 0}, {0, 1}}), tiny_cells);
            }),
            ErrorCode::kInvalidArgument);
  // 500 speakers in cells of the default size make a picture too large to hold.
  std::vector<std::string> many;
  for (int i = 0; i < 500; ++i) many.push_back("s" + std::to_string(i));
  EXPECT_EQ(code_of([&] { confusion_image_layout(ConfusionMatrix(many), {}); }),
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace spkid
