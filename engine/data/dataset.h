#pragma once
// Datasets: the synthetic sets generated from a seed and MNIST-format IDX files.
// Everything is held in fp32 on the host; the trainer uploads batches.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "backend/tensor.h"  // Shape

namespace plab {

// A dataset that cannot be made or read. The message names the file or field and
// what was wrong ("train-images-idx3-ubyte.gz: bad magic 0x00000000, expected 0x00000803").
struct DatasetError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Dataset {
  std::string name;
  Shape sampleShape;              // one example: {2} for points, {1, 28, 28} for images
  std::int32_t numClasses = 0;    // 0: regression
  std::int32_t targetSize = 1;    // values per target: 1 (class index or scalar)
  std::vector<std::string> classNames;
  std::int64_t trainCount = 0, testCount = 0;
  std::vector<float> trainX, trainY;   // trainCount * sampleShape.numel(), trainCount * targetSize
  std::vector<float> testX, testY;
  bool isClassification() const { return numClasses > 0; }
  std::int64_t sampleSize() const { return sampleShape.numel(); }
};

// Builds the dataset a file's "dataset" object describes (docs/experiment-format.md).
// Throws DatasetError.
Dataset loadDataset(const nlohmann::json& spec, std::uint64_t seed);

// Names accepted by loadDataset, for error messages and the GUI.
std::vector<std::string> datasetNames();

// Iterates over shuffled minibatches; the order depends only on (seed, epoch).
class BatchIterator {
 public:
  BatchIterator(const Dataset& data, std::int32_t batchSize, std::uint64_t seed, bool dropLast = true);
  // Starts an epoch: reshuffles with (seed, epoch).
  void startEpoch(std::int32_t epoch);
  // Fills x (batch * sampleSize) and y (batch * targetSize); false at the end of the epoch.
  bool next(std::vector<float>& x, std::vector<float>& y);
  std::int64_t batchesPerEpoch() const;

 private:
  const Dataset& data_;
  std::int32_t batchSize_;
  std::uint64_t seed_;
  bool dropLast_;
  std::vector<std::int64_t> order_;
  std::int64_t cursor_ = 0;
};

}  // namespace plab
