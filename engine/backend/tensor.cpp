#include "backend/tensor.h"

#include "backend/backend.h"

namespace plab {

std::string_view toString(MemoryLayout layout) {
  return layout == MemoryLayout::nhwc ? "nhwc" : "nchw";
}

std::string_view toString(ConvLayoutChoice choice) {
  switch (choice) {
    case ConvLayoutChoice::nhwc: return "nhwc";
    case ConvLayoutChoice::automatic: return "auto";
    case ConvLayoutChoice::nchw: return "nchw";
  }
  throw std::invalid_argument("unknown convolution layout choice value " + std::to_string(static_cast<int>(choice)));
}

ConvLayoutChoice parseConvLayoutChoice(std::string_view text, std::string_view where) {
  if (text == "nchw") return ConvLayoutChoice::nchw;
  if (text == "nhwc") return ConvLayoutChoice::nhwc;
  if (text == "auto") return ConvLayoutChoice::automatic;
  throw std::invalid_argument(std::string(where) + ": \"" + std::string(text) +
                              "\" is not one of nchw, nhwc, auto");
}

void Backend::toLayout(const Tensor& src, Tensor& dst, MemoryLayout layout) {
  if (src.layout() != MemoryLayout::nchw || layout != MemoryLayout::nchw)
    throw std::invalid_argument("Backend::toLayout: the " + info().name + " backend holds nchw tensors only (asked " +
                                std::string(toString(src.layout())) + " -> " + std::string(toString(layout)) + ")");
  if (src.precision() != dst.precision() || !(src.shape() == dst.shape()))
    throw std::invalid_argument("Backend::toLayout: source " + src.shape().toString() + " " +
                                std::string(toString(src.precision())) + " and destination " + dst.shape().toString() +
                                " " + std::string(toString(dst.precision())) + " differ");
  convert(src, dst);
}

std::string Shape::toString() const {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

}  // namespace plab
