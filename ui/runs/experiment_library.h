#pragma once
// The experiment library: every file in experiments/ with its title and description,
// grouped: lessons (experiments/lessons), experiments, sweeps (experiments/sweeps).
// New users start here; activating one opens it in the editor, or a lesson or sweep
// in the Sweep tab.
#include <QWidget>

class QListWidget;
class QLabel;
class QFileSystemWatcher;

namespace plab::ui {

class ExperimentLibrary : public QWidget {
  Q_OBJECT
 public:
  explicit ExperimentLibrary(const QString& folder, QWidget* parent = nullptr);
  QString folder() const { return folder_; }
  QListWidget* list() const { return list_; }
  // Re-reads the folder (also done automatically when files change).
  void refresh();
  // Full path of the file whose name is fileName ("spirals.json", "lessons/01-fp16-underflow.json"), or "".
  QString pathOf(const QString& fileName) const;

 signals:
  void experimentActivated(const QString& path);

 private:
  void addGroup(const QString& heading, const QString& subfolder, const QString& selected);
  QString folder_;
  QListWidget* list_;
  QLabel* header_;
  QFileSystemWatcher* watcher_;
};

}  // namespace plab::ui
