#include "data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

namespace plab::data {
namespace {

namespace fs = std::filesystem;

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw DatasetError(path + ": " + what);
}

// How many bytes the file will give: a gzip file records its uncompressed size
// (mod 2^32) in its last four bytes (RFC 1952, ISIZE); a plain file gives its size.
// Only a hint for the first allocation; reading does not depend on it.
std::size_t expectedSize(const std::string& path) {
  std::error_code ec;
  const auto fileSize = fs::file_size(path, ec);
  if (ec) return 1 << 20;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return std::size_t(fileSize);
  unsigned char head[2] = {0, 0}, tail[4] = {0, 0, 0, 0};
  std::size_t hint = std::size_t(fileSize);
  if (std::fread(head, 1, 2, f) == 2 && head[0] == 0x1f && head[1] == 0x8b && fileSize >= 18 &&
      std::fseek(f, -4, SEEK_END) == 0 && std::fread(tail, 1, 4, f) == 4)
    hint = std::size_t(tail[0]) | (std::size_t(tail[1]) << 8) | (std::size_t(tail[2]) << 16) | (std::size_t(tail[3]) << 24);
  std::fclose(f);
  // A damaged or truncated file has garbage there; deflate never expands more than
  // about 1032 to 1, so no honest hint is larger than that.
  return std::min<std::size_t>(hint, std::size_t(fileSize) * 1032 + 4096);
}

// The whole file, decompressed when it is gzipped (gzread passes plain files through).
std::vector<std::uint8_t> readWholeFile(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(path, "file not found");
  if (fs::is_directory(path, ec)) fail(path, "is a folder, expected an IDX file");
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gzopen(path.c_str(), "rb"), gzclose);
  if (!file) fail(path, "cannot open: " + std::string(std::strerror(errno)));
  gzbuffer(file.get(), 1 << 20);

  // One allocation of the expected size (+1, to see the end without growing); grows
  // by doubling if the hint was short.
  std::vector<std::uint8_t> bytes(expectedSize(path) + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == bytes.size()) bytes.resize(bytes.size() * 2);
    const unsigned want = unsigned(std::min<std::size_t>(bytes.size() - used, 1u << 30));
    const int got = gzread(file.get(), bytes.data() + used, want);
    if (got < 0) {
      int code = 0;
      const char* message = gzerror(file.get(), &code);
      fail(path, std::string("corrupt gzip data: ") + message);
    }
    if (got == 0) break;
    used += std::size_t(got);
  }
  bytes.resize(used);
  int code = 0;
  const char* message = gzerror(file.get(), &code);
  // A gzip stream cut short reads as far as it goes, then reports Z_BUF_ERROR.
  if (code == Z_BUF_ERROR) fail(path, "truncated gzip stream (" + std::string(message) + ")");
  if (code != Z_OK && code != Z_STREAM_END) fail(path, std::string("read error: ") + message);
  return bytes;
}

std::uint32_t bigEndian32(const std::uint8_t* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
         std::uint32_t(p[3]);
}

// Checks the magic, reads the dims and checks that exactly the promised bytes follow.
// Returns the dims; `dataOffset` receives where the values start.
std::vector<std::uint32_t> parseHeader(const std::string& path, const std::vector<std::uint8_t>& bytes,
                                       std::uint32_t expectedMagic, std::size_t& dataOffset) {
  const std::size_t rank = expectedMagic & 0xFF;
  const std::string kind = rank == 3 ? "images" : "labels";
  if (bytes.size() < 4) fail(path, "truncated: " + std::to_string(bytes.size()) + " bytes, too short for the IDX magic");
  const std::uint32_t magic = bigEndian32(bytes.data());
  if (magic != expectedMagic)
    fail(path, "bad magic " + hex32(magic) + ", expected " + hex32(expectedMagic) + " (IDX unsigned-byte " + kind + ")");
  dataOffset = 4 + 4 * rank;
  if (bytes.size() < dataOffset) fail(path, "truncated: the header needs " + std::to_string(dataOffset) + " bytes, the file has " + std::to_string(bytes.size()));

  std::vector<std::uint32_t> dims;
  std::uint64_t expectedBytes = 1;
  for (std::size_t i = 0; i < rank; ++i) {
    dims.push_back(bigEndian32(bytes.data() + 4 + 4 * i));
    expectedBytes *= dims.back();
  }
  const std::uint64_t have = bytes.size() - dataOffset;
  if (have < expectedBytes)
    fail(path, "truncated: the header promises " + std::to_string(expectedBytes) + " bytes of " + kind +
                   " but only " + std::to_string(have) + " follow");
  if (have > expectedBytes)
    fail(path, std::to_string(have - expectedBytes) + " unexpected bytes after the " + std::to_string(dims[0]) + " " + kind);
  return dims;
}

std::string baseName(const std::string& path) { return fs::path(path).filename().string(); }

}  // namespace

IdxImages readIdxImages(const std::string& path) {
  std::vector<std::uint8_t> bytes = readWholeFile(path);
  std::size_t offset = 0;
  const auto dims = parseHeader(path, bytes, kIdxImagesMagic, offset);
  if (dims[1] == 0 || dims[2] == 0 || dims[1] > 4096 || dims[2] > 4096)
    fail(path, "wrong dims: images are " + std::to_string(dims[1]) + "x" + std::to_string(dims[2]) +
                   ", expected 1..4096 on each side");
  IdxImages images;
  images.count = dims[0];
  images.rows = std::int32_t(dims[1]);
  images.cols = std::int32_t(dims[2]);
  bytes.erase(bytes.begin(), bytes.begin() + std::ptrdiff_t(offset));  // keep the buffer, drop the header
  images.pixels = std::move(bytes);
  return images;
}

std::vector<std::uint8_t> readIdxLabels(const std::string& path) {
  const std::vector<std::uint8_t> bytes = readWholeFile(path);
  std::size_t offset = 0;
  parseHeader(path, bytes, kIdxLabelsMagic, offset);
  return {bytes.begin() + std::ptrdiff_t(offset), bytes.end()};
}

std::string findIdxFile(const std::string& folder, const std::string& stem) {
  std::error_code ec;
  const fs::path base = fs::path(folder) / stem;
  const fs::path gz = fs::path(folder) / (stem + ".gz");
  if (fs::exists(gz, ec)) return gz.string();
  if (fs::exists(base, ec)) return base.string();
  if (!fs::is_directory(folder, ec)) throw DatasetError(folder + ": dataset folder not found");
  throw DatasetError(gz.string() + ": file not found (nor " + base.filename().string() + ")");
}

const std::vector<std::string>& fashionMnistClassNames() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

namespace {

struct Split {
  IdxImages images;
  std::vector<std::uint8_t> labels;
  std::string imagesPath, labelsPath;
};

Split readSplit(const std::string& folder, const std::string& prefix, std::int64_t limit) {
  Split s;
  s.imagesPath = findIdxFile(folder, prefix + "-images-idx3-ubyte");
  s.labelsPath = findIdxFile(folder, prefix + "-labels-idx1-ubyte");
  s.images = readIdxImages(s.imagesPath);
  s.labels = readIdxLabels(s.labelsPath);
  if (std::int64_t(s.labels.size()) != s.images.count)
    throw DatasetError(s.labelsPath + ": " + std::to_string(s.labels.size()) + " labels but " +
                       baseName(s.imagesPath) + " has " + std::to_string(s.images.count) + " images");
  if (limit > 0 && limit < s.images.count) {
    s.images.count = limit;
    s.images.pixels.resize(std::size_t(limit) * s.images.rows * s.images.cols);
    s.labels.resize(std::size_t(limit));
  }
  return s;
}

void toFloats(const Split& s, std::vector<float>& x, std::vector<float>& y) {
  // A table of the 256 values: the same floats as v / 255.0f, without a division per pixel.
  std::array<float, 256> scaled;
  for (int v = 0; v < 256; ++v) scaled[std::size_t(v)] = float(v) / 255.0f;
  x.clear();
  x.reserve(s.images.pixels.size());  // no resize: zero-filling 188 MB first costs as much as the copy
  for (std::uint8_t v : s.images.pixels) x.push_back(scaled[v]);
  y.assign(s.labels.begin(), s.labels.end());
}

void checkLabels(const Split& s, std::int32_t numClasses) {
  for (std::size_t i = 0; i < s.labels.size(); ++i)
    if (s.labels[i] >= numClasses)
      throw DatasetError(s.labelsPath + ": label " + std::to_string(s.labels[i]) + " at index " +
                         std::to_string(i) + " is out of range 0.." + std::to_string(numClasses - 1));
}

}  // namespace

Dataset loadIdxSet(const IdxSetOptions& options) {
  const Split train = readSplit(options.folder, "train", options.limitTrain);
  const Split test = readSplit(options.folder, "t10k", options.limitTest);
  if (train.images.rows != test.images.rows || train.images.cols != test.images.cols)
    throw DatasetError(test.imagesPath + ": wrong dims: images are " + std::to_string(test.images.rows) + "x" +
                       std::to_string(test.images.cols) + " but the training images are " +
                       std::to_string(train.images.rows) + "x" + std::to_string(train.images.cols));

  std::int32_t numClasses = options.numClasses;
  if (numClasses == 0) {
    std::uint8_t maxLabel = 0;
    for (auto v : train.labels) maxLabel = std::max(maxLabel, v);
    for (auto v : test.labels) maxLabel = std::max(maxLabel, v);
    numClasses = maxLabel + 1;
  }
  checkLabels(train, numClasses);
  checkLabels(test, numClasses);

  Dataset d;
  d.name = options.name;
  d.sampleShape = Shape{1, train.images.rows, train.images.cols};
  d.numClasses = numClasses;
  d.targetSize = 1;
  d.classNames = options.classNames;
  if (d.classNames.empty())
    for (int c = 0; c < numClasses; ++c) d.classNames.push_back(std::to_string(c));
  d.trainCount = train.images.count;
  d.testCount = test.images.count;
  toFloats(train, d.trainX, d.trainY);
  toFloats(test, d.testX, d.testY);
  return d;
}

}  // namespace plab::data
