#pragma once
// MNIST-format IDX files (http://yann.lecun.com/exdb/mnist/ describes the layout):
// a big-endian header (magic 0x00000803 for unsigned-byte images with 3 dims,
// 0x00000801 for labels with 1 dim), then the bytes. Plain or gzipped: zlib's
// gzread reads both.
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace plab::data {

inline constexpr std::uint32_t kIdxImagesMagic = 0x00000803;
inline constexpr std::uint32_t kIdxLabelsMagic = 0x00000801;

struct IdxImages {
  std::int64_t count = 0;
  std::int32_t rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  // count * rows * cols, row-major
};

// Throw DatasetError naming the file and the fault (missing, bad magic in hex,
// truncated, wrong dims, bytes left over).
IdxImages readIdxImages(const std::string& path);
std::vector<std::uint8_t> readIdxLabels(const std::string& path);

// "<folder>/<stem>.gz" if it exists, else "<folder>/<stem>"; throws when neither does.
std::string findIdxFile(const std::string& folder, const std::string& stem);

struct IdxSetOptions {
  std::string name;                      // "fashion-mnist", "mnist", "idx"
  std::string folder;
  std::int64_t limitTrain = 0, limitTest = 0;  // 0: all
  std::vector<std::string> classNames;   // empty: "0", "1", ...
  std::int32_t numClasses = 0;           // 0: the largest label + 1
};

// Reads train-{images-idx3,labels-idx1}-ubyte[.gz] and t10k-... from options.folder.
// Pixels are scaled to [0, 1]; sampleShape is {1, rows, cols}.
Dataset loadIdxSet(const IdxSetOptions& options);

// The ten Fashion-MNIST classes, in label order.
const std::vector<std::string>& fashionMnistClassNames();

}  // namespace plab::data
