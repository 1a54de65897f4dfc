#pragma once
// For the user guide: drives the real app through a real session (edit, two runs,
// overlay, explorer) and saves a screenshot of each view into a folder, then quits.
// Started by `precisionlab --screenshots DIR [FILE]`, under Xvfb.
#include <QString>

namespace plab::ui {

class MainWindow;
void startScreenshotScript(MainWindow& window, const QString& folder);

}  // namespace plab::ui
