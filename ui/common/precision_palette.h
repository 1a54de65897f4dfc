#pragma once
// The colour of each precision, taken from the numerics core's FormatInfo (one source
// of truth), plus the small legend widget shown wherever precisions are coloured.
#include <QColor>
#include <QString>
#include <QWidget>

#include "numerics/precision.h"

namespace plab::ui {

QColor precisionColour(Precision p);
// Colour for a precision name from an experiment file; grey for an unknown name.
QColor precisionColour(const QString& name);
QString precisionName(Precision p);
// The formats a layer can use (the scalar ones; block-scaled formats are not yet trainable).
QStringList precisionNames();
// Black or white, whichever reads better on top of background.
QColor textColourOn(const QColor& background);

// One swatch per layer format with its name: the legend for every coloured view.
class PrecisionLegend : public QWidget {
  Q_OBJECT
 public:
  explicit PrecisionLegend(QWidget* parent = nullptr);
};

}  // namespace plab::ui
