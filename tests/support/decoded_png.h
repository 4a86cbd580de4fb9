// PNG files the tests render, read back: the size from the header, the pixels decoded by cairo.
#pragma once

#include <cairo.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "spkid/spectrogram_image.h"

namespace spkid::test {

// The 4-byte big-endian number at `at` (a PNG's width is at 16, its height at 20).
uint32_t big_endian_u32(const std::string& bytes, std::size_t at);

// A PNG decoded back to pixels, to look at where a picture puts things. A PNG cairo cannot
// decode adds a test failure and leaves ok() false.
class DecodedPng {
 public:
  explicit DecodedPng(const std::string& png);
  ~DecodedPng();
  DecodedPng(const DecodedPng&) = delete;
  DecodedPng& operator=(const DecodedPng&) = delete;

  bool ok() const;
  int width() const;
  int height() const;
  Rgb at(int x, int y) const;

 private:
  cairo_surface_t* surface_ = nullptr;
};

}  // namespace spkid::test
