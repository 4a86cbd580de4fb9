// NumPy .npy files of float32 arrays in C order, so features can be read with numpy.load.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace spkid {

struct FeatureMatrix;

// The NPY format 1.0 header of a float32 C-order array of `shape`: magic, version, header length
// and the dict, padded with spaces and a newline so the data starts on a 64-byte boundary.
// Throws Error(kInvalidArgument) when the dict would not fit format 1.0 (thousands of dimensions).
std::string npy_header(const std::vector<std::size_t>& shape);

// Writes header and data to a temporary file beside `path` and renames it into place, so a failed
// write never leaves a truncated array behind. Throws Error(kIo).
void write_npy(const std::string& path, const float* data, const std::vector<std::size_t>& shape);
// frames x features.
void write_npy(const std::string& path, const FeatureMatrix& features);

struct NpyArray {
  std::vector<std::size_t> shape;
  std::vector<float> data;  // C order
};

// Reads a float32 C-order array in this machine's byte order (NPY format 1.0 to 3.0).
// Throws Error: kNotFound, kIo (unreadable, or not such an array).
NpyArray read_npy(const std::string& path);

}  // namespace spkid
