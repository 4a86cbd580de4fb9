// What spkid's PNG pictures share: owning cairo handles, error checks, text placed by its box,
// and PNG output to memory or to a file.
#pragma once

#include <cairo.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "spkid/error.h"

namespace spkid::detail {

struct SurfaceDeleter {
  void operator()(cairo_surface_t* surface) const { cairo_surface_destroy(surface); }
};
using Surface = std::unique_ptr<cairo_surface_t, SurfaceDeleter>;
struct CairoDeleter {
  void operator()(cairo_t* cr) const { cairo_destroy(cr); }
};
using Cairo = std::unique_ptr<cairo_t, CairoDeleter>;

inline void check_cairo(cairo_status_t status, const char* what) {
  if (status != CAIRO_STATUS_SUCCESS) {
    throw Error(ErrorCode::kInternal, std::string("cairo failed to ") + what + ": " +
                                          cairo_status_to_string(status) +
                                          "; try a smaller picture, else report it");
  }
}

inline Surface make_image_surface(int width_px, int height_px) {
  Surface surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width_px, height_px));
  check_cairo(cairo_surface_status(surface.get()), "create an image");
  return surface;
}

// Draws `text` so that the point (align_x, align_y) of its box, each 0 (left/top) to 1
// (right/bottom), lands on (x, y).
inline void draw_text(cairo_t* cr, double x, double y, const std::string& text, double align_x,
                      double align_y) {
  cairo_text_extents_t extents;
  cairo_text_extents(cr, text.c_str(), &extents);
  cairo_move_to(cr, x - extents.x_bearing - align_x * extents.width,
                y - extents.y_bearing - align_y * extents.height);
  cairo_show_text(cr, text.c_str());
}

// The same, turned a quarter to read upwards; the alignment is along and across the text.
inline void draw_upward_text(cairo_t* cr, double x, double y, const std::string& text,
                             double align_along, double align_across) {
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, -1.5707963267948966);  // a quarter turn, counter-clockwise
  draw_text(cr, 0, 0, text, align_along, align_across);
  cairo_restore(cr);
}

inline double text_width(cairo_t* cr, const std::string& text) {
  cairo_text_extents_t extents;
  cairo_text_extents(cr, text.c_str(), &extents);
  return extents.width;
}

inline std::string encode_png(cairo_surface_t* surface) {
  std::string png;
  const auto append = [](void* closure, const unsigned char* data, unsigned int length) {
    static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
    return CAIRO_STATUS_SUCCESS;
  };
  check_cairo(cairo_surface_write_to_png_stream(surface, append, &png), "encode the PNG");
  return png;
}

inline void write_png(cairo_surface_t* surface, const std::string& path) {
  errno = 0;
  if (cairo_surface_write_to_png(surface, path.c_str()) != CAIRO_STATUS_SUCCESS) {
    const std::string reason = errno != 0 ? std::strerror(errno) : "write error";
    throw Error(ErrorCode::kIo, "cannot write the picture to '" + path + "': " + reason +
                                    "; check that the directory exists and is writable");
  }
}

}  // namespace spkid::detail
