#include "runs/worker_location.h"

#include <QAction>
#include <QInputDialog>
#include <QLineEdit>
#include <QLabel>
#include <QMessageBox>
#include <QSettings>

#include "protocol/worker_address.h"

namespace plab::ui {
namespace {
const QString kSettingsKey = QStringLiteral("worker/address");
}

WorkerLocation::WorkerLocation(QWidget* window)
    : QObject(window), window_(window), choose_(new QAction(tr("Train &on…"), this)), label_(new QLabel) {
  choose_->setObjectName(QStringLiteral("trainOnAction"));
  choose_->setToolTip(tr("Train on this computer or on a GPU server over SSH (docs/remote.md)"));
  label_->setObjectName(QStringLiteral("workerLocationLabel"));
  connect(choose_, &QAction::triggered, this, &WorkerLocation::choose);
  const QString saved = QSettings().value(kSettingsKey).toString();
  QString ignored;
  if (!saved.isEmpty()) setAddress(saved, &ignored);
  showAddress();
}

bool WorkerLocation::setAddress(const QString& url, QString* error) {
  const QString trimmed = url.trimmed();
  if (!trimmed.isEmpty()) {
    try {
      protocol::parseWorkerAddress(trimmed.toStdString());
    } catch (const protocol::WorkerAddressError& e) {
      *error = QString::fromStdString(e.what());
      return false;
    }
  }
  address_ = trimmed;
  QSettings().setValue(kSettingsKey, address_);
  showAddress();
  emit addressChanged(address_);
  return true;
}

void WorkerLocation::follow(const std::function<void(const QString&)>& apply) {
  apply(address_);
  connect(this, &WorkerLocation::addressChanged, this, apply);
}

void WorkerLocation::showAddress() {
  label_->setText(address_.isEmpty() ? tr("Training on this computer") : tr("Training on %1").arg(address_));
}

void WorkerLocation::choose() {
  bool ok = false;
  const QString url = QInputDialog::getText(
      window_, tr("Train on"),
      tr("Leave empty to train on this computer, or give a machine that has precisionlab-cli,\n"
         "reached with your SSH keys: ssh://user@gpu-server/opt/precisionlab/bin/precisionlab-cli"),
      QLineEdit::Normal, address_, &ok);
  if (!ok) return;
  QString error;
  if (!setAddress(url, &error)) QMessageBox::warning(window_, tr("Not a worker address"), error);
}

}  // namespace plab::ui
