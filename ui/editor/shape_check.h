#pragma once
// Checks the edited experiment before launch: parses it with the engine's strict
// reader, then infers every layer's shape on the dataset's sample shape. Errors are
// attributed to the layer and field they are about (by the ExperimentError's key
// path, or the ShapeError's layer), so the editor can show them inline.
#include <QHash>
#include <QString>
#include <nlohmann/json.hpp>
#include <vector>

#include "model/network.h"

namespace plab::ui {

struct ShapeCheck {
  bool ok = false;
  std::vector<LayerShapeInfo> layers;   // per layer, as far as inference got
  QHash<int, QString> layerErrors;      // layer index -> message
  QString generalError;                 // not tied to one layer (dataset, optimizer, ...)
  // The field the parser rejected ("network.layers[2].precision", "optimizer.lr");
  // empty when the file parsed (shape errors name their layer in layerErrors).
  std::string errorKeyPath;
  QString keyError;                     // the parser's message about errorKeyPath
  Shape sampleShape;                    // the dataset's one-sample shape
  int numClasses = 0;
  QString allErrors() const;
};

// Cached by dataset spec: the dataset is built once (small sizes) to learn its shape.
ShapeCheck checkExperiment(const nlohmann::json& experiment);

// "8.0 KiB", "1.2 MiB".
QString formatBytes(double bytes);
// "[64]", "[16, 14, 14]".
QString formatShape(const Shape& shape);

}  // namespace plab::ui
