#include "decoded_png.h"

#include <gtest/gtest.h>

#include <cstring>

namespace spkid::test {
namespace {

struct Reader {
  const std::string& bytes;
  std::size_t offset;

  static cairo_status_t read(void* closure, unsigned char* data, unsigned int length) {
    auto* self = static_cast<Reader*>(closure);
    if (self->offset + length > self->bytes.size()) return CAIRO_STATUS_READ_ERROR;
    std::memcpy(data, self->bytes.data() + self->offset, length);
    self->offset += length;
    return CAIRO_STATUS_SUCCESS;
  }
};

}  // namespace

uint32_t big_endian_u32(const std::string& bytes, std::size_t at) {
  uint32_t value = 0;
  for (std::size_t i = at; i < at + 4; ++i) {
    value = value << 8 | static_cast<unsigned char>(bytes[i]);
  }
  return value;
}

DecodedPng::DecodedPng(const std::string& png) {
  Reader reader{png, 0};
  surface_ = cairo_image_surface_create_from_png_stream(&Reader::read, &reader);
  if (!ok()) {
    ADD_FAILURE() << "cairo cannot decode the PNG";
    return;
  }
  cairo_surface_flush(surface_);
}

DecodedPng::~DecodedPng() { cairo_surface_destroy(surface_); }

bool DecodedPng::ok() const { return cairo_surface_status(surface_) == CAIRO_STATUS_SUCCESS; }

int DecodedPng::width() const { return cairo_image_surface_get_width(surface_); }

int DecodedPng::height() const { return cairo_image_surface_get_height(surface_); }

Rgb DecodedPng::at(int x, int y) const {
  const unsigned char* row = cairo_image_surface_get_data(surface_) +
                             static_cast<long>(y) * cairo_image_surface_get_stride(surface_);
  uint32_t pixel;  // cairo's ARGB32: one native-endian word per pixel
  std::memcpy(&pixel, row + 4 * x, sizeof(pixel));
  return {static_cast<uint8_t>(pixel >> 16), static_cast<uint8_t>(pixel >> 8),
          static_cast<uint8_t>(pixel)};
}

}  // namespace spkid::test
