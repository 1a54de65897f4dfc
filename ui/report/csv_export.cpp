#include "report/csv_export.h"

#include "store/run_export.h"

namespace plab::ui {

bool writeRunCsv(const RunData& run, const QString& path, QString* error) {
  try {
    writeRunCsvFiles(run, path.toStdString());
  } catch (const ExportError& e) {
    if (error) *error = QString::fromStdString(e.what());
    return false;
  }
  return true;
}

QString epochsCsvPathFor(const QString& path) { return QString::fromStdString(epochsCsvPath(path.toStdString())); }

}  // namespace plab::ui
