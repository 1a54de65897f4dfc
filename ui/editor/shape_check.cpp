#include "editor/shape_check.h"

#include <QLocale>
#include <QStringList>
#include <map>
#include <mutex>

#include "data/dataset.h"
#include "model/experiment.h"

namespace plab::ui {
namespace {

// The dataset's shape does not depend on its size, so a copy with a handful of
// examples answers for it; IDX sets read only the first few records.
nlohmann::json smallDatasetSpec(nlohmann::json spec) {
  const std::string name = spec.value("name", std::string());
  if (name == "fashion-mnist" || name == "mnist" || name == "idx") {
    spec["limit_train"] = 16;
    spec["limit_test"] = 16;
  } else {
    spec["train_size"] = 16;
    spec["test_size"] = 16;
  }
  return spec;
}

struct DatasetShape {
  Dataset data;  // tiny copy, kept for inferShapesForDataset
  QString error;
};

const DatasetShape& cachedDatasetShape(const nlohmann::json& spec) {
  static std::mutex mutex;
  static std::map<std::string, DatasetShape> cache;
  const std::lock_guard lock(mutex);
  const std::string key = spec.dump();
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  DatasetShape entry;
  try {
    entry.data = loadDataset(smallDatasetSpec(spec), 1);
  } catch (const std::exception& e) {
    entry.error = QStringLiteral("dataset: ") + QString::fromUtf8(e.what());
  }
  return cache.emplace(key, std::move(entry)).first->second;
}

// The layer an error's key path is about: "network.layers[2].precision" -> 2; -1 for
// a path outside the layers.
int layerIndexOfPath(const std::string& keyPath) {
  static const std::string prefix = "network.layers[";
  if (keyPath.rfind(prefix, 0) != 0) return -1;
  const std::size_t close = keyPath.find(']', prefix.size());
  if (close == std::string::npos) return -1;
  return std::stoi(keyPath.substr(prefix.size(), close - prefix.size()));
}

void addError(ShapeCheck& check, const QString& message, int index) {
  if (index >= 0) check.layerErrors.insert(index, message);
  else check.generalError = message;
}

}  // namespace

QString ShapeCheck::allErrors() const {
  QStringList parts;
  if (!generalError.isEmpty()) parts << generalError;
  for (auto it = layerErrors.begin(); it != layerErrors.end(); ++it) parts << it.value();
  return parts.join(QLatin1Char('\n'));
}

ShapeCheck checkExperiment(const nlohmann::json& experimentJson) {
  ShapeCheck check;
  Experiment experiment;
  try {
    experiment = parseExperiment(experimentJson);
  } catch (const ExperimentError& e) {
    check.errorKeyPath = e.keyPath();
    check.keyError = QString::fromUtf8(e.what());
    addError(check, QString::fromUtf8(e.what()), layerIndexOfPath(e.keyPath()));
    return check;
  } catch (const std::exception& e) {
    check.generalError = QString::fromUtf8(e.what());
    return check;
  }
  const DatasetShape& dataset = cachedDatasetShape(experiment.dataset);
  if (!dataset.error.isEmpty()) {
    check.generalError = dataset.error;
    return check;
  }
  check.sampleShape = dataset.data.sampleShape;
  check.numClasses = dataset.data.numClasses;
  try {
    check.layers = inferShapesForDataset(experiment.network, dataset.data);
    check.ok = true;
  } catch (const ShapeError& e) {
    addError(check, QString::fromUtf8(e.what()), e.layerIndex);
    // Shapes up to the failing layer still help the diagram.
    NetworkSpec prefix = experiment.network;
    if (e.layerIndex >= 0 && std::size_t(e.layerIndex) <= prefix.layers.size()) {
      prefix.layers.resize(std::size_t(e.layerIndex));
      try {
        check.layers = inferShapes(prefix, dataset.data.sampleShape);
      } catch (const std::exception&) {
      }
    }
  } catch (const std::exception& e) {
    check.generalError = QString::fromUtf8(e.what());
  }
  return check;
}

QString formatBytes(double bytes) {
  // Short binary units: the diagram has little room.
  if (bytes < 1024) return QStringLiteral("%1 B").arg(qint64(bytes));
  if (bytes < 1024.0 * 1024) return QStringLiteral("%1 KiB").arg(bytes / 1024, 0, 'f', 1);
  if (bytes < 1024.0 * 1024 * 1024) return QStringLiteral("%1 MiB").arg(bytes / (1024.0 * 1024), 0, 'f', 1);
  return QStringLiteral("%1 GiB").arg(bytes / (1024.0 * 1024 * 1024), 0, 'f', 2);
}

QString formatShape(const Shape& shape) {
  QStringList dims;
  for (auto d : shape.dims) dims << QString::number(d);
  return QLatin1Char('[') + dims.join(QStringLiteral(", ")) + QLatin1Char(']');
}

}  // namespace plab::ui
