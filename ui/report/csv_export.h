#pragma once
// "Export CSV" of a run: the exporter of `precisionlab-cli export --format csv -o FILE`
// (engine/store/run_export.h), so both write the same bytes for the same run: the
// steps to FILE and the epoch evaluations to FILE's ".epochs.csv" sibling.
#include <QString>

#include "runs/run_data.h"

namespace plab::ui {

// Writes run's two CSV tables beside path; false with *error set (naming the file)
// when one cannot be written.
bool writeRunCsv(const RunData& run, const QString& path, QString* error);
// Where writeRunCsv puts the epoch evaluations for path.
QString epochsCsvPathFor(const QString& path);

}  // namespace plab::ui
