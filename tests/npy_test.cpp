#include "spkid/npy.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "spkid/error.h"
#include "spkid/features.h"
#include "synth.h"

namespace spkid {
namespace {

using test::read_text;
using test::TempDir;
using test::write_text;

std::vector<float> ramp(std::size_t count) {
  std::vector<float> values(count);
  for (std::size_t i = 0; i < count; ++i) values[i] = 0.25f * static_cast<float>(i) - 3.0f;
  return values;
}

// The header's dict as NumPy reads it: after magic, version and the little-endian length.
std::string header_dict(const std::string& file) {
  const auto length = static_cast<std::size_t>(static_cast<unsigned char>(file[8]) |
                                               static_cast<unsigned char>(file[9]) << 8);
  return file.substr(10, length);
}

ErrorCode read_error(const std::string& path) {
  try {
    read_npy(path);
  } catch (const Error& error) {
    return error.code();
  }
  ADD_FAILURE() << "read_npy accepted " << path;
  return ErrorCode::kInternal;
}

TEST(NpyHeader, IsVersion1WithDictPaddedTo64Bytes) {
  const std::string header = npy_header({3, 4});
  ASSERT_GE(header.size(), 10u);
  EXPECT_EQ(header.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(header.size() % 64, 0u);
  EXPECT_EQ(header.size(), 10 + header_dict(header).size());
  EXPECT_EQ(header.back(), '\n');
  EXPECT_EQ(
      header_dict(header).rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 0),
      0u);
}

TEST(NpyHeader, WritesPythonTuplesForEveryRank) {
  EXPECT_NE(npy_header({7}).find("'shape': (7,)"), std::string::npos);
  EXPECT_NE(npy_header({}).find("'shape': ()"), std::string::npos);
  EXPECT_NE(npy_header({2, 0, 5}).find("'shape': (2, 0, 5)"), std::string::npos);
}

TEST(Npy, FileIsHeaderThenRawFloatsInCOrder) {
  TempDir dir;
  const std::vector<float> values = ramp(6);
  write_npy(dir.file("a.npy"), values.data(), {2, 3});

  const std::string file = read_text(dir.file("a.npy"));
  const std::string header = npy_header({2, 3});
  ASSERT_EQ(file.size(), header.size() + values.size() * sizeof(float));
  EXPECT_EQ(file.substr(0, header.size()), header);
  EXPECT_EQ(std::memcmp(file.data() + header.size(), values.data(), values.size() * sizeof(float)),
            0);
  EXPECT_FALSE(std::filesystem::exists(dir.file("a.npy.partial")));
}

TEST(Npy, RoundTripsShapeAndData) {
  TempDir dir;
  for (const std::vector<std::size_t>& shape :
       std::vector<std::vector<std::size_t>>{{5}, {4, 64}, {2, 3, 4}, {0, 64}}) {
    std::size_t count = 1;
    for (std::size_t dim : shape) count *= dim;
    const std::vector<float> values = ramp(count);
    write_npy(dir.file("x.npy"), values.data(), shape);
    const NpyArray array = read_npy(dir.file("x.npy"));
    EXPECT_EQ(array.shape, shape);
    EXPECT_EQ(array.data, values);
  }
}

TEST(Npy, WritesFeatureMatrixAsFramesByFeatures) {
  TempDir dir;
  FeatureMatrix features;
  features.num_frames = 3;
  features.num_features = 2;
  features.data = ramp(6);
  write_npy(dir.file("f.npy"), features);
  const NpyArray array = read_npy(dir.file("f.npy"));
  EXPECT_EQ(array.shape, (std::vector<std::size_t>{3, 2}));
  EXPECT_EQ(array.data, features.data);
}

TEST(Npy, OverwritesAnEarlierFile) {
  TempDir dir;
  const std::vector<float> first = ramp(8), second = ramp(2);
  write_npy(dir.file("x.npy"), first.data(), {8});
  write_npy(dir.file("x.npy"), second.data(), {2});
  EXPECT_EQ(read_npy(dir.file("x.npy")).data, second);
}

TEST(Npy, WriteIntoMissingDirectoryIsAnIoError) {
  TempDir dir;
  const std::vector<float> values = ramp(4);
  try {
    write_npy(dir.file("no/such/dir/x.npy"), values.data(), {4});
    FAIL() << "write_npy succeeded";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(error.what()).find("no/such/dir/x.npy"), std::string::npos);
  }
}

TEST(Npy, RefusesWhatIsNotAFloat32Array) {
  TempDir dir;
  EXPECT_EQ(read_error(dir.file("missing.npy")), ErrorCode::kNotFound);

  write_text(dir.file("text.npy"), "just some text, not an array\n");
  EXPECT_EQ(read_error(dir.file("text.npy")), ErrorCode::kIo);

  // A float64 array as NumPy writes it by default.
  std::string float64 = npy_header({2});
  float64.replace(float64.find("<f4"), 3, "<f8");
  float64.append(2 * sizeof(double), '\0');
  write_text(dir.file("f8.npy"), float64);
  EXPECT_EQ(read_error(dir.file("f8.npy")), ErrorCode::kIo);

  std::string fortran = npy_header({2, 2});
  fortran.replace(fortran.find("False"), 5, "True ");
  fortran.append(4 * sizeof(float), '\0');
  write_text(dir.file("fortran.npy"), fortran);
  EXPECT_EQ(read_error(dir.file("fortran.npy")), ErrorCode::kIo);

  const std::vector<float> values = ramp(10);
  write_npy(dir.file("full.npy"), values.data(), {10});
  const std::string full = read_text(dir.file("full.npy"));
  write_text(dir.file("truncated.npy"), full.substr(0, full.size() - 3));
  EXPECT_EQ(read_error(dir.file("truncated.npy")), ErrorCode::kIo);
}

}  // namespace
}  // namespace spkid
