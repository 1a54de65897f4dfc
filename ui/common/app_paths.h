#pragma once
// Where the app finds its companions: the experiments folder and the worker binary
// (precisionlab-cli, built next to the GUI). Each lookup tries, in order, an
// environment override, places relative to the running binary, then the source tree.
#include <QString>

namespace plab::ui {

// $PLAB_EXPERIMENTS_DIR, else the nearest "experiments" folder above the binary,
// else the source tree's experiments/.
QString experimentsDir();
// $PLAB_CLI, else precisionlab-cli beside the binary, in ../cli/ (the build tree),
// else on PATH. Empty when none is found.
QString workerExecutable();
// The SQLite run store used when --db is not given (the engine's default).
QString defaultDatabaseFile();
// Where a save dialog for fileName starts: the folder the last export (a plot, CSV,
// report, comparison) went to, remembered across sessions in the settings
// ("dialogs/lastExportFolder"); the working folder before the first export.
QString exportDialogStart(const QString& fileName);
// Remembers the folder of a path chosen in an export dialog (nothing for "").
void rememberExportFolder(const QString& chosenPath);

}  // namespace plab::ui
