#include "sweeps/comparison_view.h"

#include "common/app_paths.h"

#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QIcon>
#include <QImage>
#include <QLabel>
#include <QPixmap>
#include <QPushButton>
#include <QScrollBar>
#include <QStyledItemDelegate>
#include <QTableWidget>
#include <QTreeWidget>
#include <QVBoxLayout>
#include <algorithm>

#include "model/memory_estimate.h"  // bytesText
#include "runs/run_data.h"

namespace plab::ui {

ClaimMark claimMark(ClaimStatus status) {
  switch (status) {
    case ClaimStatus::holds: return {QStringLiteral("✔"), QColor("#2e7d32")};
    case ClaimStatus::fails: return {QStringLiteral("✘"), QColor("#c62828")};
    case ClaimStatus::not_applicable: return {QStringLiteral("n/a"), QColor("#757575")};
    case ClaimStatus::no_data: break;
  }
  return {QStringLiteral("?"), QColor("#ef6c00")};
}

QString metricText(const RunMetrics& m, const char* key, int decimals) {
  const auto it = m.find(key);
  if (it == m.end()) return QStringLiteral("–");
  if (const double* v = std::get_if<double>(&it->second)) return QString::number(*v, 'f', decimals);
  return QStringLiteral("–");
}

QString bytesLabel(std::int64_t b) { return QString::fromStdString(bytesText(double(b))); }

QString worstUnderflow(const std::vector<LayerUnderflow>& layers) {
  if (layers.empty()) return QStringLiteral("–");
  const auto worst = std::max_element(layers.begin(), layers.end(),
                                      [](const LayerUnderflow& a, const LayerUnderflow& b) { return a.share < b.share; });
  return QStringLiteral("%1% (%2)").arg(100.0 * worst->share, 0, 'f', 1).arg(QString::fromStdString(worst->layer));
}

namespace {


QString underflowTooltip(const std::vector<LayerUnderflow>& layers) {
  QStringList lines;
  for (const LayerUnderflow& u : layers) {
    lines << (u.fromShadow ? QObject::tr("%1: %3% would underflow in %2 (fp32 shadow)")
                           : QObject::tr("%1: %3% became zero when rounded to %2"))
                 .arg(QString::fromStdString(u.layer), QString::fromStdString(u.precision))
                 .arg(100.0 * u.share, 0, 'f', 2);
  }
  return lines.join(QLatin1Char('\n'));
}

// Rows as tall as their wrapped text at the column's width: QTreeView asks a delegate
// for a row's height without the column's width, so a long claim was cut to one line.
class WrappingDelegate : public QStyledItemDelegate {
 public:
  explicit WrappingDelegate(QTreeView* view) : QStyledItemDelegate(view), view_(view) {}
  QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override {
    QSize size = QStyledItemDelegate::sizeHint(option, index);
    const int width = view_->header()->sectionSize(index.column()) - 8;  // the cell's text margins
    if (width <= 0) return size;
    const QRect text = option.fontMetrics.boundingRect(QRect(0, 0, width, 100000), Qt::TextWordWrap,
                                                       index.data(Qt::DisplayRole).toString());
    size.setHeight(std::max(size.height(), text.height() + 6));
    return size;
  }

 private:
  QTreeView* view_;
};

const QStringList kColumns = {QObject::tr("Variant"),   QObject::tr("Status"),      QObject::tr("Final train loss"),
                              QObject::tr("Test acc."), QObject::tr("Skipped"),     QObject::tr("Overflows"),
                              QObject::tr("Step ms"),   QObject::tr("Speed-up"),    QObject::tr("Memory"),
                              QObject::tr("Weights"),   QObject::tr("Activations"), QObject::tr("Worst gradient underflow")};

}  // namespace

ComparisonView::ComparisonView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  table_ = new QTableWidget(0, int(kColumns.size()));
  table_->setObjectName(QStringLiteral("sweepComparison"));
  table_->setHorizontalHeaderLabels(kColumns);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->verticalHeader()->setVisible(false);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->horizontalHeader()->setStretchLastSection(true);
  layout->addWidget(table_, 1);

  // The claims stand in a panel of their own that the owner places (the Sweep tab puts
  // it beside the plot: the claims are what the class reads while the curves run).
  claimsPanel_ = new QWidget;
  claimsPanel_->setObjectName(QStringLiteral("claimsPanel"));
  auto* claimsLayout = new QVBoxLayout(claimsPanel_);
  claimsLayout->setContentsMargins(0, 0, 0, 0);
  claimsLabel_ = new QLabel;
  claimsLabel_->setWordWrap(true);
  claimsLabel_->setObjectName(QStringLiteral("claimsHeadline"));
  QFont bold = claimsLabel_->font();
  bold.setBold(true);
  claimsLabel_->setFont(bold);
  claimsLayout->addWidget(claimsLabel_);
  claims_ = new QTreeWidget;
  claims_->setObjectName(QStringLiteral("sweepClaims"));
  claims_->setColumnCount(3);
  claims_->setHeaderLabels({tr(""), tr("Claim"), tr("Measured")});
  claims_->setRootIsDecorated(false);
  claims_->setWordWrap(true);
  claims_->setTextElideMode(Qt::ElideNone);
  claims_->setItemDelegate(new WrappingDelegate(claims_));
  // A claim wraps onto as many lines as it needs: the rows are laid out again whenever
  // a column's width changes (QTreeView keeps the row heights of the first layout).
  connect(claims_->header(), &QHeaderView::sectionResized, claims_, [this] { claims_->doItemsLayout(); });
  claims_->header()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
  claims_->header()->setSectionResizeMode(1, QHeaderView::Stretch);
  claims_->header()->setSectionResizeMode(2, QHeaderView::Stretch);
  claimsLayout->addWidget(claims_, 1);

  auto* buttons = new QHBoxLayout;
  csvButton_ = new QPushButton(QIcon(QStringLiteral(":/icons/export.svg")), tr("Export &CSV…"));
  markdownButton_ = new QPushButton(QIcon(QStringLiteral(":/icons/export.svg")), tr("Export &Markdown…"));
  csvButton_->setToolTip(tr("The table as precisionlab-cli compare --format csv writes it"));
  markdownButton_->setToolTip(tr("The table, per-layer underflow and the claims, as precisionlab-cli compare writes them"));
  buttons->addStretch(1);
  buttons->addWidget(csvButton_);
  buttons->addWidget(markdownButton_);
  reportButton_ = new QPushButton(QIcon(QStringLiteral(":/icons/export.svg")), tr("&Report…"));
  reportButton_->setObjectName(QStringLiteral("sweepReport"));
  reportButton_->setToolTip(tr("A PDF (or HTML) report: this table, the claims and the variants' charts overlaid"));
  buttons->addWidget(reportButton_);
  connect(reportButton_, &QPushButton::clicked, this, &ComparisonView::reportRequested);
  layout->addLayout(buttons);
  connect(csvButton_, &QPushButton::clicked, this, [this] { exportDialog(false); });
  connect(markdownButton_, &QPushButton::clicked, this, [this] { exportDialog(true); });
  clear();
}

void ComparisonView::clear() {
  comparison_ = {};
  table_->setRowCount(0);
  claims_->clear();
  claimsLabel_->setText(tr("Run the sweep to see its comparison table and claims."));
  csvButton_->setEnabled(false);
  markdownButton_->setEnabled(false);
  reportButton_->setEnabled(false);
}

void ComparisonView::setComparison(const SweepComparison& comparison) {
  comparison_ = comparison;
  fillTable();
  fillClaims();
  csvButton_->setEnabled(true);
  markdownButton_->setEnabled(true);
  reportButton_->setEnabled(true);
}

void ComparisonView::fillTable() {
  table_->setRowCount(int(comparison_.rows.size()));
  for (int i = 0; i < int(comparison_.rows.size()); ++i) {
    const ComparisonRow& r = comparison_.rows[std::size_t(i)];
    const QString memory = r.memory ? bytesLabel(r.memory->total()) : QStringLiteral("–");
    const QString weights = r.memory ? bytesLabel(r.memory->weights) : QStringLiteral("–");
    const QString activations = r.memory ? bytesLabel(r.memory->activations) : QStringLiteral("–");
    const QString speedup = r.speedup ? QStringLiteral("%1×").arg(*r.speedup, 0, 'f', 2) : QStringLiteral("–");
    const QStringList cells = {QString::fromStdString(r.variant), QString::fromStdString(r.status),
                               metricText(r.metrics, "final_train_loss", 4), metricText(r.metrics, "test_accuracy", 4),
                               metricText(r.metrics, "skipped_steps", 0), metricText(r.metrics, "overflow_events", 0),
                               metricText(r.metrics, "median_step_ms", 3), speedup, memory, weights, activations,
                               worstUnderflow(r.gradientUnderflow)};
    for (int c = 0; c < cells.size(); ++c) {
      auto* item = new QTableWidgetItem(cells[c]);
      if (c > 1) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      table_->setItem(i, c, item);
    }
    table_->item(i, 0)->setIcon(QIcon(QPixmap::fromImage([&] {
      QImage swatch(12, 12, QImage::Format_RGB32);
      swatch.fill(runColour(i));
      return swatch;
    }())));
    if (r.memory) {
      table_->item(i, 8)->setToolTip(tr("weights %1 · master weights %2 · gradients %3 · optimizer state %4 · "
                                        "activations of one step %5")
                                         .arg(bytesLabel(r.memory->weights), bytesLabel(r.memory->masterWeights),
                                              bytesLabel(r.memory->gradients), bytesLabel(r.memory->optimizerState),
                                              bytesLabel(r.memory->activations)));
    }
    table_->item(i, 11)->setToolTip(underflowTooltip(r.gradientUnderflow));
  }
  // Tall enough for up to six variants without scrolling: the table is the point.
  table_->resizeRowsToContents();
  int height = table_->horizontalHeader()->height() + 2 * table_->frameWidth() +
               table_->horizontalScrollBar()->sizeHint().height();
  for (int i = 0; i < std::min(table_->rowCount(), 6); ++i) height += table_->rowHeight(i);
  table_->setMinimumHeight(height);
}

QString ComparisonView::claimsHeadline() const {
  if (comparison_.claims.empty()) return {};
  const auto holding = std::count_if(comparison_.claims.begin(), comparison_.claims.end(),
                                     [](const ClaimCheck& c) { return c.result.status == ClaimStatus::holds; });
  return tr("%1 of %2 claims hold").arg(holding).arg(comparison_.claims.size());
}

void ComparisonView::fillClaims() {
  claims_->clear();
  for (const ClaimCheck& check : comparison_.claims) {
    auto* item = new QTreeWidgetItem(claims_);
    const ClaimMark mark = claimMark(check.result.status);
    item->setText(0, mark.mark);
    item->setForeground(0, mark.colour);
    item->setToolTip(0, QString::fromUtf8(toString(check.result.status)));
    item->setText(1, QString::fromStdString(check.claim.text));
    // A metric's name is one long word ("early_gradient_shadow_underflow"): a break
    // allowed after each underscore lets it wrap in a narrow column instead of being cut.
    const QString measured = QString::fromStdString(check.result.measured);
    item->setText(2, QString(measured).replace(QLatin1Char('_'), QStringLiteral("_\u200b")));
    item->setToolTip(1, item->text(1));
    item->setToolTip(2, measured);
  }
  QString headline = claimsHeadline();
  if (!comparison_.claimsNote.empty()) headline = QString::fromStdString(comparison_.claimsNote);
  claimsLabel_->setText(headline.isEmpty() ? tr("This sweep is not a lesson: it has no claims.") : headline);
}

bool ComparisonView::exportTo(const QString& path, bool markdown, QString* error) const {
  const std::string text = markdown ? comparisonMarkdown(comparison_) : comparisonCsv(comparison_);
  QFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) || file.write(text.data(), qint64(text.size())) < 0 ||
      !file.flush()) {
    *error = tr("cannot write %1: %2").arg(path, file.errorString());
    return false;
  }
  return true;
}

void ComparisonView::exportDialog(bool markdown) {
  const QString name = QStringLiteral("sweep-%1.%2").arg(comparison_.sweepId).arg(markdown ? "md" : "csv");
  const QString path = QFileDialog::getSaveFileName(
      this, markdown ? tr("Export the comparison as Markdown") : tr("Export the comparison as CSV"),
      exportDialogStart(name), markdown ? tr("Markdown (*.md)") : tr("CSV (*.csv)"));
  if (path.isEmpty()) return;
  rememberExportFolder(path);
  QString error;
  if (exportTo(path, markdown, &error)) emit exported(path);
  else emit exportFailed(error);
}

}  // namespace plab::ui
