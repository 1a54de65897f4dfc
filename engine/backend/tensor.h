#pragma once
// A tensor lives in one backend's memory. Its precision is the format its values
// are stored in: the CPU backend keeps every format in fp32 slots holding values
// already rounded to the format (exact emulation); the CUDA backend stores fp16 and
// bf16 in 16 bits and fp8 in 8 bits. Only the owning backend reads data().
//
// fp8 tensors carry a per-tensor scale (delayed scaling, as Transformer Engine does):
// the stored number is round_fp8(value * scale), the logical value is stored / scale.
// scale() and amax() point into the backend's memory (one float each; device memory
// on CUDA), for the backend's own kernels: host code reads and sets them through
// Backend::fp8Scale, fp8Amax and setFp8Scale.
//
// Memory layout: a 4-D tensor's logical order is always [N, C, H, W]. Only the CUDA
// backend ever stores one channels-last (NHWC), and tags it so; every op reads either
// layout, and anything that needs the logical order (download, flatten) converts
// first. The CPU backend never sees an NHWC tensor.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "numerics/precision.h"

namespace plab {

class Backend;

enum class MemoryLayout : std::uint8_t { nchw, nhwc };
std::string_view toString(MemoryLayout layout);

struct Shape {
  std::vector<std::int64_t> dims;
  Shape() = default;
  Shape(std::initializer_list<std::int64_t> d) : dims(d) {}
  explicit Shape(std::vector<std::int64_t> d) : dims(std::move(d)) {}
  std::int64_t numel() const {
    std::int64_t n = 1;
    for (auto d : dims) n *= d;
    return n;
  }
  std::size_t rank() const { return dims.size(); }
  std::int64_t operator[](std::size_t i) const { return dims[i]; }
  bool operator==(const Shape&) const = default;
  std::string toString() const;  // "[128, 1, 28, 28]"
};

class Tensor {
 public:
  Tensor() = default;
  Tensor(Backend* backend, std::shared_ptr<void> storage, Shape shape, Precision precision,
         std::shared_ptr<float> fp8Scale = {}, std::shared_ptr<float> fp8Amax = {})
      : backend_(backend), storage_(std::move(storage)), shape_(std::move(shape)),
        precision_(precision), scale_(std::move(fp8Scale)), amax_(std::move(fp8Amax)) {}

  bool defined() const { return storage_ != nullptr; }
  Backend* backend() const { return backend_; }
  void* data() const { return storage_.get(); }
  template <class T> T* dataAs() const { return static_cast<T*>(storage_.get()); }
  const Shape& shape() const { return shape_; }
  std::int64_t numel() const { return shape_.numel(); }
  Precision precision() const { return precision_; }
  float* scale() const { return scale_.get(); }  // fp8 only, else nullptr
  float* amax() const { return amax_.get(); }    // fp8 only, else nullptr
  MemoryLayout layout() const { return layout_; }
  // Set by the backend that wrote the values (the CUDA backend only).
  void setLayout(MemoryLayout layout) { layout_ = layout; }

  // Same storage seen with another shape of the same element count (e.g. flatten).
  // A channels-last tensor keeps its tag only as another 4-D view: any other view
  // would read its values in the wrong order, so that throws.
  Tensor reshaped(Shape s) const {
    if (layout_ != MemoryLayout::nchw && s.rank() != 4)
      throw std::logic_error("Tensor::reshaped: a " + std::string(toString(layout_)) + " tensor " +
                             shape_.toString() + " cannot be seen as " + s.toString() +
                             "; convert it to nchw first (Backend::toLayout)");
    Tensor t = *this;
    t.shape_ = std::move(s);
    return t;
  }

  // The same storage using other's fp8 scale and amax slots: the buffers of one
  // logical tensor, re-allocated when the batch size changes, keep one delayed scale.
  Tensor withFp8ScaleOf(const Tensor& other) const {
    Tensor t = *this;
    t.scale_ = other.scale_;
    t.amax_ = other.amax_;
    return t;
  }

 private:
  Backend* backend_ = nullptr;
  std::shared_ptr<void> storage_;
  Shape shape_;
  Precision precision_ = Precision::fp32;
  std::shared_ptr<float> scale_;
  std::shared_ptr<float> amax_;
  MemoryLayout layout_ = MemoryLayout::nchw;
};

}  // namespace plab
