#include "common/app_resources.h"

#include <QApplication>
#include <QFile>
#include <QIcon>

static void initPlabResources() { Q_INIT_RESOURCE(resources); }

namespace plab::ui {

void initResources() { initPlabResources(); }

void applyAppStyle(QApplication& app) {
  initResources();
  app.setWindowIcon(QIcon(QStringLiteral(":/icons/app.svg")));
  QFile style(QStringLiteral(":/style/app.qss"));
  if (style.open(QIODevice::ReadOnly)) app.setStyleSheet(QString::fromUtf8(style.readAll()));
}

}  // namespace plab::ui
