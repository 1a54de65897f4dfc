#include "report/report_writer.h"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QPageSize>
#include <QPdfWriter>
#include <QSaveFile>
#include <QTextDocument>
#include <QTextStream>
#include <cmath>
#include <iostream>

#include "plots/benchmark_plot.h"
#include "runs/config_diff_table.h"
#include "plots/gradient_histogram_plot.h"
#include "editor/layer_summary.h"
#include "plots/loss_plot.h"
#include "plots/loss_scale_plot.h"
#include "plots/plot_widget.h"
#include "runs/run_loader.h"

namespace plab::ui {
namespace {

QString num(double v, int precision = 4) {
  if (std::isnan(v)) return QStringLiteral("nan");
  if (std::isinf(v)) return v > 0 ? QStringLiteral("inf") : QStringLiteral("-inf");
  return QString::number(v, 'g', precision);
}

constexpr int kChartWidth = 1400, kChartHeight = 800;
// A slice of drawing a chart starts no further part (a series) after this long; one
// part can take tens of milliseconds (the smoothed loss of 20,000 steps, 40 ms at 2x),
// so the budget is small to keep a slice near the cost of a single part.
constexpr double kSliceBudgetMs = 5;

template <class Plot>
std::unique_ptr<PlotWidget> makePlot(const QList<PlotRun>& runs) {
  auto plot = std::make_unique<Plot>();
  plot->resize(kChartWidth, kChartHeight);
  plot->setRuns(runs);
  plot->refresh();
  plot->resetView();
  return plot;
}

}  // namespace

ReportSummaryRow summarize(const RunData& run) {
  ReportSummaryRow row;
  row.run = run.label();
  row.status = run.status;
  row.device = run.backend + QStringLiteral(" · ") + run.device;
  row.steps = run.lastStep();
  row.overflows = std::int64_t(run.overflows.size());
  for (const StepMetrics& m : run.steps) row.skipped += m.skipped ? 1 : 0;
  row.finalLoss = finalTrainLoss(run.summary).value_or(NAN);  // core/run_record.h: the one definition
  row.testLoss = run.epochs.empty() ? NAN : run.epochs.back().testLoss;
  row.testAccuracy = run.epochs.empty() ? -1 : run.epochs.back().testAccuracy;
  double fp32 = 0, custom = 0;
  for (const SpeedResult& s : run.speed) {
    if (s.config == "fp32") fp32 = s.medianStepMs;
    if (s.config == "custom") custom = s.medianStepMs;
  }
  row.speedupVsFp32 = fp32 > 0 && custom > 0 ? fp32 / custom : 0;
  return row;
}

ReportWriter::ReportWriter(QList<PlotRun> runs) : runs_(std::move(runs)) {
  const QList<PlotRun> r = runs_;
  charts_.push_back({QStringLiteral("loss"), QObject::tr("Training loss (smoothed), test loss and accuracy"),
                  [r] { return makePlot<LossPlot>(r); }, {}, {}});
  charts_.push_back({QStringLiteral("loss-scale"), QObject::tr("Loss scale (log₂) with overflow events"),
                  [r] { return makePlot<LossScalePlot>(r); }, {}, {}});
  bool anyStats = false, anySpeed = false;
  for (const PlotRun& run : runs_) {
    anyStats = anyStats || !run.data->layerStats.empty();
    anySpeed = anySpeed || !run.data->speed.empty();
  }
  if (anyStats) {
    charts_.push_back({QStringLiteral("gradients"),
                    QObject::tr("Gradient histogram of the first layer at the last statistics step, with format ranges"),
                    [r] { return makePlot<GradientHistogramPlot>(r); }, {}, {}});
  }
  if (anySpeed) {
    charts_.push_back({QStringLiteral("benchmark"), QObject::tr("Speed benchmark: median step time and speedup over fp32"),
                    [r] { return makePlot<BenchmarkPlot>(r); }, {}, {}});
  }
}

ReportWriter::~ReportWriter() = default;

bool ReportWriter::renderNextChart() {
  if (current_ >= charts_.size()) return false;
  Chart& c = charts_[current_];
  if (!c.plot) {
    // Making the plot takes in the runs' data: a slice of its own.
    c.plot = c.makePlot();
    c.plot->beginImage(kChartWidth, kChartHeight);
  } else if (!c.plot->drawImagePart(kSliceBudgetMs)) {
    c.image = c.plot->takeImage();
    c.plot.reset();
    ++current_;
  }
  return current_ < charts_.size();
}

void ReportWriter::renderAllCharts() {
  while (renderNextChart()) {
  }
}

QString ReportWriter::html(const QString& imagePrefix) const {
  QString out;
  QTextStream s(&out);
  s << "<html><head><meta charset='utf-8'><title>Precision Lab report</title>"
       "<style>body{font-family:'DejaVu Sans',sans-serif;font-size:10pt;margin:24px;color:#263238}"
       "table{border-collapse:collapse;margin:8px 0 16px 0}td,th{border:1px solid #b0bec5;padding:3px 6px;text-align:left}"
       "th{background:#eceff1}.diff{background:#fff3c4}img{max-width:100%}</style></head><body>";
  s << "<h1>Precision Lab report</h1><p>" << QDateTime::currentDateTimeUtc().toString(Qt::ISODate) << " · "
    << runs_.size() << " run(s)</p>";
  s << "<h2>Summary</h2><table><tr><th>Run</th><th>Status</th><th>Backend · device</th><th>Steps</th>"
       "<th>Final train loss</th><th>Test loss</th><th>Test accuracy</th><th>Overflows</th><th>Skipped steps</th>"
       "<th>Speedup vs fp32</th></tr>";
  for (const PlotRun& r : runs_) {
    const ReportSummaryRow row = summarize(*r.data);
    s << "<tr><td><span style='color:" << r.colour.name() << "'>■</span> " << row.run.toHtmlEscaped() << "</td><td>" << row.status
      << "</td><td>" << row.device.toHtmlEscaped() << "</td><td>" << row.steps << "</td><td>" << num(row.finalLoss)
      << "</td><td>" << num(row.testLoss) << "</td><td>"
      << (row.testAccuracy >= 0 ? QString::number(row.testAccuracy * 100, 'f', 2) + QLatin1Char('%') : QStringLiteral("–"))
      << "</td><td>" << row.overflows << "</td><td>" << row.skipped << "</td><td>"
      << (row.speedupVsFp32 > 0 ? QStringLiteral("×") + QString::number(row.speedupVsFp32, 'f', 2) : QStringLiteral("–"))
      << "</td></tr>";
  }
  s << "</table>";
  for (const PlotRun& r : runs_) {
    if (!r.data->description.isEmpty()) s << "<p><b>" << r.data->label().toHtmlEscaped() << "</b>: " << r.data->description.toHtmlEscaped() << "</p>";
  }
  s << "<h2>Configuration</h2><table><tr><th>Setting</th>";
  QList<RunDataPtr> data;
  for (const PlotRun& r : runs_) {
    data << r.data;
    s << "<th>" << r.data->label().toHtmlEscaped() << "</th>";
  }
  s << "</tr>";
  for (const ConfigDiffRow& row : diffConfigs(data)) {
    s << "<tr" << (row.differs ? " class='diff' bgcolor='#fff3c4'" : "") << "><td>" << row.key.toHtmlEscaped() << "</td>";
    for (const QString& v : row.values) s << "<td>" << v.toHtmlEscaped() << "</td>";
    s << "</tr>";
  }
  s << "</table><h2>Charts</h2>";
  for (const Chart& c : charts_) {
    s << "<p><img src='" << imagePrefix << c.name << ".png' width='640'><br><i>" << c.caption.toHtmlEscaped() << "</i></p>";
  }
  s << "</body></html>";
  return out;
}

bool ReportWriter::write(const QString& path, QString* error) {
  renderAllCharts();
  return writeRendered(path, error);
}

bool ReportWriter::writeHtml(const QString& path, QString* error) {
  renderAllCharts();
  return writeRenderedHtml(path, error);
}

bool ReportWriter::writePdf(const QString& path, QString* error) {
  renderAllCharts();
  return writeRenderedPdf(path, error);
}

bool ReportWriter::writeRendered(const QString& path, QString* error) const {
  return path.endsWith(QLatin1String(".html"), Qt::CaseInsensitive) || path.endsWith(QLatin1String(".htm"), Qt::CaseInsensitive)
             ? writeRenderedHtml(path, error)
             : writeRenderedPdf(path, error);
}

bool ReportWriter::writeRenderedHtml(const QString& path, QString* error) const {
  const QFileInfo info(path);
  const QString folderName = info.completeBaseName() + QStringLiteral("_files");
  QDir dir = info.absoluteDir();
  if (!dir.mkpath(folderName)) {
    if (error) *error = QObject::tr("%1: cannot create folder %2").arg(path, folderName);
    return false;
  }
  for (const Chart& c : charts_) {
    const QString imagePath = dir.filePath(folderName + QLatin1Char('/') + c.name + QStringLiteral(".png"));
    if (!c.image.save(imagePath, "PNG")) {
      if (error) *error = QObject::tr("%1: cannot write").arg(imagePath);
      return false;
    }
  }
  QSaveFile file(path);
  const QByteArray text = html(folderName + QLatin1Char('/')).toUtf8();
  if (!file.open(QIODevice::WriteOnly) || file.write(text) != text.size() || !file.commit()) {
    if (error) *error = QObject::tr("%1: %2").arg(path, file.errorString());
    return false;
  }
  return true;
}

bool ReportWriter::writeRenderedPdf(const QString& path, QString* error) const {
  // QTextDocument and QPdfWriter are not widgets: this half runs on a worker thread.
  QTextDocument doc;
  for (const Chart& c : charts_) doc.addResource(QTextDocument::ImageResource, QUrl(QStringLiteral("chart/") + c.name + QStringLiteral(".png")), c.image);
  doc.setHtml(html(QStringLiteral("chart/")));
  QPdfWriter writer(path);
  writer.setPageSize(QPageSize(QPageSize::A4));
  writer.setResolution(150);
  writer.setTitle(QObject::tr("Precision Lab report"));
  writer.setCreator(QStringLiteral("Precision Lab"));
  doc.print(&writer);
  if (QFileInfo(path).size() <= 0) {
    if (error) *error = QObject::tr("%1: nothing was written").arg(path);
    return false;
  }
  return true;
}

int writeReportFromStore(const QString& databasePath, const QList<qint64>& ids, const QString& output) {
  QList<PlotRun> runs;
  try {
    for (qint64 id : ids) runs << PlotRun{loadRunData(databasePath, id), runColour(int(runs.size()))};
  } catch (const std::exception& e) {
    std::cerr << "precisionlab report: " << e.what() << "\n";
    return 1;
  }
  QString error;
  if (!ReportWriter(runs).write(output, &error)) {
    std::cerr << "precisionlab report: " << error.toStdString() << "\n";
    return 1;
  }
  std::cout << "wrote " << output.toStdString() << " (" << ids.size() << " run(s))\n";
  return 0;
}

}  // namespace plab::ui
