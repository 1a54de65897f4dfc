#include "runs/experiment_library.h"

#include <QDir>
#include <QFile>
#include <QFileSystemWatcher>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>
#include <nlohmann/json.hpp>

#include "core/json_text.h"

namespace plab::ui {
namespace {

struct Summary {
  QString title, description;
  bool ok = false;
};

Summary readSummary(const QString& path) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) return {};
  try {
    const auto j = parseJsonText(file.readAll().toStdString());  // bounded: core/json_text.h
    return {QString::fromStdString(j.value("title", std::string())),
            QString::fromStdString(j.value("description", std::string())), true};
  } catch (const std::exception& e) {
    return {QString(), QObject::tr("Not valid JSON: %1").arg(QString::fromUtf8(e.what())), false};
  }
}

}  // namespace

ExperimentLibrary::ExperimentLibrary(const QString& folder, QWidget* parent)
    : QWidget(parent), folder_(folder), watcher_(new QFileSystemWatcher(this)) {
  auto* layout = new QVBoxLayout(this);
  header_ = new QLabel;
  header_->setWordWrap(true);
  layout->addWidget(header_);
  list_ = new QListWidget;
  list_->setObjectName(QStringLiteral("experimentList"));
  list_->setWordWrap(true);
  list_->setAlternatingRowColors(true);
  list_->setSpacing(2);
  layout->addWidget(list_, 1);
  auto* open = new QPushButton(QIcon(QStringLiteral(":/icons/open.svg")), tr("Open selected"));
  layout->addWidget(open);

  auto activate = [this](QListWidgetItem* item) {
    if (item && !item->data(Qt::UserRole).toString().isEmpty()) emit experimentActivated(item->data(Qt::UserRole).toString());
  };
  connect(list_, &QListWidget::itemActivated, this, activate);
  connect(open, &QPushButton::clicked, this, [this, activate] { activate(list_->currentItem()); });
  connect(watcher_, &QFileSystemWatcher::directoryChanged, this, &ExperimentLibrary::refresh);
  if (QDir(folder_).exists()) watcher_->addPath(folder_);
  refresh();
}

void ExperimentLibrary::refresh() {
  const QString selected = list_->currentItem() ? list_->currentItem()->data(Qt::UserRole).toString() : QString();
  list_->clear();
  const QDir dir(folder_);
  // One short line that fits a narrow dock at a projector's font size (docs/user-guide.md,
  // "The window"); the folder and the rest in its tooltip.
  header_->setText(tr("Double-click one to open it."));
  header_->setToolTip(tr("Lessons, experiments and sweeps in %1. A lesson or sweep opens in the Sweep tab. "
                         "Change an experiment and save it under a new name with File ▸ Save As.")
                          .arg(dir.absolutePath()));
  // Lessons first: they are what a class opens. Each group is a folder of the library.
  addGroup(tr("Lessons"), QStringLiteral("lessons"), selected);
  addGroup(tr("Experiments"), QString(), selected);
  addGroup(tr("Sweeps"), QStringLiteral("sweeps"), selected);
}

void ExperimentLibrary::addGroup(const QString& heading, const QString& subfolder, const QString& selected) {
  const QDir dir(subfolder.isEmpty() ? folder_ : QDir(folder_).filePath(subfolder));
  const QStringList names = dir.entryList({QStringLiteral("*.json")}, QDir::Files, QDir::Name);
  if (names.isEmpty()) return;
  if (dir.exists() && !watcher_->directories().contains(dir.absolutePath())) watcher_->addPath(dir.absolutePath());
  auto* head = new QListWidgetItem(heading);
  QFont bold = head->font();
  bold.setBold(true);
  head->setFont(bold);
  head->setFlags(Qt::ItemIsEnabled);  // a heading: not selectable, not opened
  list_->addItem(head);
  for (const QString& name : names) {
    const QString path = dir.filePath(name);
    const Summary s = readSummary(path);
    const QString title = s.title.isEmpty() ? name : s.title;
    // Title and the first sentence; the whole description is the tooltip.
    QString gist = s.description.section(QStringLiteral(". "), 0, 0);
    if (gist.size() > 110) gist = gist.left(107) + QStringLiteral("…");
    auto* item = new QListWidgetItem(QStringLiteral("%1\n%2").arg(title, gist));
    item->setData(Qt::UserRole, path);
    item->setData(Qt::UserRole + 1, subfolder.isEmpty() ? name : subfolder + QLatin1Char('/') + name);
    item->setToolTip(QStringLiteral("%1\n\n%2").arg(path, s.description));
    item->setIcon(QIcon(QStringLiteral(":/icons/experiment.svg")));
    if (!s.ok) item->setForeground(QColor("#c62828"));
    list_->addItem(item);
    if (path == selected) list_->setCurrentItem(item);
  }
}

QString ExperimentLibrary::pathOf(const QString& fileName) const {
  for (int i = 0; i < list_->count(); ++i) {
    if (list_->item(i)->data(Qt::UserRole + 1).toString() == fileName) return list_->item(i)->data(Qt::UserRole).toString();
  }
  return {};
}

}  // namespace plab::ui
