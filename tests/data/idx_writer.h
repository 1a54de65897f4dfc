#pragma once
// Writes real IDX files (plain or gzipped) for the reader's tests.
#include <zlib.h>

#include <QByteArray>
#include <QFile>
#include <QString>

#include <cstdint>
#include <vector>

namespace plab::testing {

inline void appendBigEndian(QByteArray& out, std::uint32_t v) {
  out.append(char(v >> 24)).append(char(v >> 16)).append(char(v >> 8)).append(char(v));
}

inline QByteArray idxImages(std::uint32_t count, std::uint32_t rows, std::uint32_t cols, std::uint32_t magic = 0x803) {
  QByteArray out;
  appendBigEndian(out, magic);
  appendBigEndian(out, count);
  appendBigEndian(out, rows);
  appendBigEndian(out, cols);
  for (std::uint32_t i = 0; i < count * rows * cols; ++i) out.append(char((i * 7 + i / (rows * cols)) % 256));
  return out;
}

inline QByteArray idxLabels(std::uint32_t count, std::uint32_t classes = 10, std::uint32_t magic = 0x801) {
  QByteArray out;
  appendBigEndian(out, magic);
  appendBigEndian(out, count);
  for (std::uint32_t i = 0; i < count; ++i) out.append(char(i % classes));
  return out;
}

inline bool writePlain(const QString& path, const QByteArray& bytes) {
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly)) return false;
  return f.write(bytes) == bytes.size();
}

inline bool writeGzip(const QString& path, const QByteArray& bytes) {
  gzFile f = gzopen(path.toLocal8Bit().constData(), "wb");
  if (!f) return false;
  const int written = gzwrite(f, bytes.constData(), unsigned(bytes.size()));
  return gzclose(f) == Z_OK && written == bytes.size();
}

}  // namespace plab::testing
