#pragma once
// CSV of a run's metrics: one row per logged step (the columns of
// `precisionlab-cli export`), with the test evaluation on the step it was made.
#include <QString>

#include "runs/run_data.h"

namespace plab::ui {

// Writes run to path; false with *error set when the file cannot be written.
bool writeRunCsv(const RunData& run, const QString& path, QString* error);

}  // namespace plab::ui
