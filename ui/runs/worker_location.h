#pragma once
// Where the GUI's runs and sweeps train (docs/remote.md, "Use it"): this computer, or
// a worker reached over SSH (ssh://[user@]host[:port][/path/to/precisionlab-cli]). The
// choice is kept in the settings; Run > Train on… changes it, and a label in the status
// bar shows it. The worker client and the sweep runner are told of every change.
#include <QLabel>
#include <QObject>
#include <QString>
#include <functional>

class QAction;

class QWidget;

namespace plab::ui {

class WorkerLocation : public QObject {
  Q_OBJECT
 public:
  // Reads the saved choice; a saved address that no longer parses counts as "this computer".
  explicit WorkerLocation(QWidget* window);

  QString address() const { return address_; }   // "" : this computer
  // Validates and keeps the choice (saved). False, with *error naming what is wrong
  // with the URL, and the old choice kept.
  bool setAddress(const QString& url, QString* error);

  // Calls apply with the address now and after every change.
  void follow(const std::function<void(const QString&)>& apply);

  QAction* chooseAction() const { return choose_; }   // Run > Train on…
  QLabel* statusLabel() const { return label_; }

 signals:
  void addressChanged(const QString& address);

 private:
  void choose();
  void showAddress();
  QWidget* window_;
  QString address_;
  QAction* choose_;
  QLabel* label_;
};

}  // namespace plab::ui
