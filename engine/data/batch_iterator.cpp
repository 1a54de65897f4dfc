#include <algorithm>
#include <numeric>

#include "data/dataset.h"
#include "data/random.h"

namespace plab {

BatchIterator::BatchIterator(const Dataset& data, std::int32_t batchSize, std::uint64_t seed, bool dropLast)
    : data_(data), batchSize_(batchSize), seed_(seed), dropLast_(dropLast) {
  if (batchSize <= 0) throw DatasetError("batch_size: must be >= 1 (got " + std::to_string(batchSize) + ")");
  if (dropLast && data.trainCount < batchSize)
    throw DatasetError("batch_size: " + std::to_string(batchSize) + " is larger than the " +
                       std::to_string(data.trainCount) + " training examples of dataset \"" + data.name + "\"");
  order_.resize(std::size_t(data.trainCount));
  startEpoch(0);
}

void BatchIterator::startEpoch(std::int32_t epoch) {
  // Fisher-Yates from the identity, so the order depends on (seed, epoch) only and
  // not on which epochs came before.
  std::iota(order_.begin(), order_.end(), std::int64_t(0));
  data::Rng rng(data::deriveSeed(seed_, 0x5348554646ull + std::uint64_t(epoch)));  // "SHUFF" + epoch
  for (std::size_t i = order_.size(); i > 1; --i) {
    const std::size_t j = std::size_t(rng.below(i));
    std::swap(order_[i - 1], order_[j]);
  }
  cursor_ = 0;
}

bool BatchIterator::next(std::vector<float>& x, std::vector<float>& y) {
  const std::int64_t remaining = std::int64_t(order_.size()) - cursor_;
  if (remaining <= 0 || (dropLast_ && remaining < batchSize_)) return false;
  const std::int64_t count = std::min<std::int64_t>(batchSize_, remaining);
  const std::int64_t sampleSize = data_.sampleSize();
  const std::int64_t targetSize = data_.targetSize;
  x.resize(std::size_t(count * sampleSize));
  y.resize(std::size_t(count * targetSize));
  for (std::int64_t b = 0; b < count; ++b) {
    const std::int64_t index = order_[std::size_t(cursor_ + b)];
    std::copy_n(data_.trainX.begin() + index * sampleSize, sampleSize, x.begin() + b * sampleSize);
    std::copy_n(data_.trainY.begin() + index * targetSize, targetSize, y.begin() + b * targetSize);
  }
  cursor_ += count;
  return true;
}

std::int64_t BatchIterator::batchesPerEpoch() const {
  const std::int64_t n = std::int64_t(order_.size());
  return dropLast_ ? n / batchSize_ : (n + batchSize_ - 1) / batchSize_;
}

}  // namespace plab
