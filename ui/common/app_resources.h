#pragma once
// The compiled-in icons and style sheet (resources/resources.qrc, in this static library).
class QApplication;

namespace plab::ui {
// Registers the resources; call once before creating widgets (static libraries drop
// resource initialisers that nothing references).
void initResources();
// Icons, the style sheet and a readable default font.
void applyAppStyle(QApplication& app);
}  // namespace plab::ui
