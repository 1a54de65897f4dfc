#pragma once
// Helpers shared by the model suites: a real CPU backend, host <-> tensor copies,
// and networks written as JSON the way experiment files write them.
#include <QtTest>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backend/registry.h"
#include "model/experiment.h"
#include "model/network.h"

namespace plab::test {

// For QCOMPARE: a format's name, so that a failure prints "fp16", not a number.
// The bits of an fp32 value, for comparing results bit for bit.
inline std::uint32_t bitsOf(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

inline QString formatName(Precision p) { return QString::fromLatin1(toString(p).data(), int(toString(p).size())); }

inline std::unique_ptr<Backend> cpuBackend() {
  std::string note;
  return createBackend("cpu", note);
}

inline std::vector<float> download(Backend& b, const Tensor& t) {
  std::vector<float> host(static_cast<std::size_t>(t.numel()));
  b.download(t, host.data());
  return host;
}

inline Tensor upload(Backend& b, const std::vector<float>& host, const Shape& shape,
                     Precision p = Precision::fp32) {
  Tensor t = b.empty(shape, p);
  b.upload(host.data(), t);
  return t;
}

// A network from the JSON text of its "layers" array (and loss), through the real parser.
inline NetworkSpec networkFromJson(const std::string& layersJson, const std::string& loss = "cross_entropy") {
  const std::string text = R"({"dataset": {"name": "spirals"}, "network": {"layers": )" + layersJson +
                           R"(, "loss": ")" + loss + R"("}})";
  return parseExperimentText(text, "<test>").network;
}

inline Shape batchShape(std::int64_t n, const Shape& sample) {
  std::vector<std::int64_t> dims{n};
  dims.insert(dims.end(), sample.dims.begin(), sample.dims.end());
  return Shape(dims);
}

}  // namespace plab::test
