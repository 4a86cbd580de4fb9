#include "spkid/npy.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

#include "spkid/error.h"
#include "spkid/features.h"

namespace spkid {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;
constexpr std::size_t kAlignment = 64;  // NumPy aligns the data so it can be memory-mapped
// NPY stores the byte order in the dtype; write ours so no byte is ever swapped on the hot path.
constexpr bool kLittleEndianHost = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
constexpr const char* kFloat32Descr = kLittleEndianHost ? "<f4" : ">f4";

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

std::string shape_tuple(const std::vector<std::size_t>& shape) {
  std::string tuple = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) tuple += ", ";
    tuple += std::to_string(shape[i]);
  }
  if (shape.size() == 1) tuple += ",";  // Python's one-element tuple
  return tuple + ")";
}

std::size_t element_count(const std::vector<std::size_t>& shape, const std::string& path) {
  std::size_t count = 1;
  for (std::size_t dim : shape) {
    if (dim != 0 && count > std::numeric_limits<std::size_t>::max() / sizeof(float) / dim) {
      throw Error(ErrorCode::kIo, "'" + path + "' has an impossible array shape " +
                                      shape_tuple(shape) + "; the file is damaged, recreate it");
    }
    count *= dim;
  }
  return count;
}

uint32_t read_little_endian(const unsigned char* bytes, int size) {
  uint32_t value = 0;
  for (int i = size - 1; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

// The value after `'key':` in a NumPy header dict, up to the next comma outside brackets.
std::string dict_value(const std::string& dict, const std::string& key) {
  const std::size_t at = dict.find("'" + key + "':");
  if (at == std::string::npos) return {};
  std::size_t begin = at + key.size() + 3;
  while (begin < dict.size() && dict[begin] == ' ') ++begin;
  std::size_t end = begin;
  int depth = 0;
  for (; end < dict.size(); ++end) {
    const char c = dict[end];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if ((c == ',' && depth == 0) || c == '}') break;
  }
  return dict.substr(begin, end - begin);
}

std::vector<std::size_t> parse_shape(const std::string& tuple, bool* ok) {
  std::vector<std::size_t> shape;
  *ok = tuple.size() >= 2 && tuple.front() == '(' && tuple.back() == ')';
  const char* p = tuple.c_str() + 1;
  while (*ok) {
    while (*p == ' ' || *p == ',') ++p;
    if (*p == ')') break;
    char* end = nullptr;
    errno = 0;
    const unsigned long long dim = std::strtoull(p, &end, 10);
    *ok = end != p && errno == 0;
    shape.push_back(static_cast<std::size_t>(dim));
    p = end;
  }
  return shape;
}

[[noreturn]] void throw_io(const std::string& what, const std::string& path, int error_number) {
  throw Error(ErrorCode::kIo, "cannot " + what + " '" + path + "': " + std::strerror(error_number) +
                                  "; check the path and its directory's permissions and space");
}

}  // namespace

std::string npy_header(const std::vector<std::size_t>& shape) {
  std::string dict = std::string("{'descr': '") + kFloat32Descr +
                     "', 'fortran_order': False, 'shape': " + shape_tuple(shape) + ", }";
  const std::size_t preamble = kMagicSize + 2 + 2;  // magic, version, header length
  const std::size_t unpadded = preamble + dict.size() + 1;
  dict.append((kAlignment - unpadded % kAlignment) % kAlignment, ' ');
  dict += '\n';
  if (dict.size() > std::numeric_limits<uint16_t>::max()) {
    throw Error(ErrorCode::kInvalidArgument,
                "an array of " + std::to_string(shape.size()) +
                    " dimensions does not fit an NPY 1.0 header; reshape it first");
  }
  const auto length = static_cast<uint16_t>(dict.size());
  std::string header(kMagic, kMagicSize);
  header += '\x01';  // format version 1.0
  header += '\x00';
  header += static_cast<char>(length & 0xff);
  header += static_cast<char>(length >> 8);
  return header + dict;
}

void write_npy(const std::string& path, const float* data, const std::vector<std::size_t>& shape) {
  const std::string header = npy_header(shape);
  const std::size_t count = element_count(shape, path);
  const std::string partial_path = path + ".partial";
  File file(std::fopen(partial_path.c_str(), "wb"));
  if (!file) throw_io("write", path, errno);
  const bool written = std::fwrite(header.data(), 1, header.size(), file.get()) == header.size() &&
                       std::fwrite(data, sizeof(float), count, file.get()) == count;
  const int write_error = errno;
  const bool closed = std::fclose(file.release()) == 0;  // flushes: a full disk shows up here
  if (!written || !closed) {
    const int error_number = written ? errno : write_error;
    std::remove(partial_path.c_str());
    throw_io("write", path, error_number);
  }
  if (std::rename(partial_path.c_str(), path.c_str()) != 0) {
    const int error_number = errno;
    std::remove(partial_path.c_str());
    throw_io("replace", path, error_number);
  }
}

void write_npy(const std::string& path, const FeatureMatrix& features) {
  write_npy(path, features.data.data(),
            {static_cast<std::size_t>(features.num_frames),
             static_cast<std::size_t>(features.num_features)});
}

NpyArray read_npy(const std::string& path) {
  File file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    if (errno == ENOENT) {
      throw Error(ErrorCode::kNotFound, "'" + path + "' does not exist; check the path");
    }
    throw_io("read", path, errno);
  }
  const auto not_an_array = [&path](const std::string& why) {
    return Error(ErrorCode::kIo, "'" + path + "' is not a float32 C-order NPY array (" + why +
                                     "); save it with numpy.save(path, array.astype('" +
                                     kFloat32Descr + "'))");
  };

  unsigned char preamble[kMagicSize + 2 + 4];
  if (std::fread(preamble, 1, kMagicSize + 2, file.get()) != kMagicSize + 2 ||
      std::memcmp(preamble, kMagic, kMagicSize) != 0) {
    throw not_an_array("no NPY signature");
  }
  const int major_version = preamble[kMagicSize];
  if (major_version < 1 || major_version > 3) {
    throw not_an_array("format version " + std::to_string(major_version));
  }
  const int length_size = major_version == 1 ? 2 : 4;
  unsigned char* length_bytes = preamble + kMagicSize + 2;
  if (std::fread(length_bytes, 1, length_size, file.get()) !=
      static_cast<std::size_t>(length_size)) {
    throw not_an_array("truncated header");
  }
  std::string dict(read_little_endian(length_bytes, length_size), '\0');
  if (std::fread(dict.data(), 1, dict.size(), file.get()) != dict.size()) {
    throw not_an_array("truncated header");
  }

  const std::string descr = dict_value(dict, "descr");
  if (descr != std::string("'") + kFloat32Descr + "'") throw not_an_array("dtype " + descr);
  if (dict_value(dict, "fortran_order") != "False") throw not_an_array("Fortran order");
  bool shape_ok = false;
  NpyArray array;
  array.shape = parse_shape(dict_value(dict, "shape"), &shape_ok);
  if (!shape_ok) throw not_an_array("unreadable shape");

  array.data.resize(element_count(array.shape, path));
  if (std::fread(array.data.data(), sizeof(float), array.data.size(), file.get()) !=
      array.data.size()) {
    throw not_an_array("fewer values than its shape says");
  }
  return array;
}

}  // namespace spkid
