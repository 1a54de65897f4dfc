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
#include <functional>
#include <iostream>

#include "plots/benchmark_plot.h"
#include "runs/config_diff_table.h"
#include "plots/gradient_histogram_plot.h"
#include "editor/layer_summary.h"
#include "plots/loss_plot.h"
#include "plots/loss_scale_plot.h"
#include "plots/plot_widget.h"
#include "runs/run_loader.h"
#include "sweeps/comparison_view.h"

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

ReportWriter::ReportWriter(QList<PlotRun> runs, SweepComparison comparison) : ReportWriter(std::move(runs)) {
  comparison_ = std::move(comparison);
}

ReportWriter::~ReportWriter() = default;

QString ReportWriter::comparisonHtml() const {
  const SweepComparison& c = *comparison_;
  QString out;
  QTextStream s(&out);
  const auto cells = [&s](const QStringList& values, const char* tag) {
    s << "<tr>";
    for (const QString& v : values) s << "<" << tag << ">" << v << "</" << tag << ">";
    s << "</tr>";
  };
  const auto variantCell = [&c](std::size_t i) {
    return QStringLiteral("<span style='color:%1'>■</span> %2")
        .arg(runColour(int(i)).name(), QString::fromStdString(c.rows[i].variant).toHtmlEscaped());
  };
  const QString title = c.title.empty() ? QObject::tr("Sweep %1").arg(c.sweepId) : QString::fromStdString(c.title);
  s << "<h2>" << title.toHtmlEscaped() << "</h2><p>" << QObject::tr("Sweep %1").arg(c.sweepId)
    << (c.backend.empty() ? QString() : QObject::tr(", backend %1").arg(QString::fromStdString(c.backend))) << ", "
    << QObject::tr("%n variant(s)", nullptr, int(c.rows.size())) << ".</p>";
  // The claims first: for a lesson they are the point of the page.
  if (!c.claims.empty()) {
    const auto holding = std::count_if(c.claims.begin(), c.claims.end(),
                                       [](const ClaimCheck& k) { return k.result.status == ClaimStatus::holds; });
    s << "<h3>" << QObject::tr("Claims: %1 of %2 hold").arg(holding).arg(c.claims.size())
      << "</h3><table width='100%'>";
    cells({QString(), QObject::tr("Claim"), QObject::tr("Measured")}, "th");
    for (const ClaimCheck& k : c.claims) {
      const ClaimMark mark = claimMark(k.result.status);
      cells({QStringLiteral("<b><font color='%1'>%2</font></b>").arg(mark.colour.name(), mark.mark),
             QString::fromStdString(k.claim.text).toHtmlEscaped(), QString::fromStdString(k.result.measured).toHtmlEscaped()},
            "td");
    }
    s << "</table>";
  }
  if (!c.claimsNote.empty()) s << "<p>" << QString::fromStdString(c.claimsNote).toHtmlEscaped() << "</p>";

  s << "<h3>" << QObject::tr("Results") << "</h3><p>"
    << QObject::tr("Speed-up is against the first variant's median step time.") << "</p><table width='100%'>";
  cells({QObject::tr("Variant"), QObject::tr("Status"), QObject::tr("Final train loss"), QObject::tr("Test accuracy"),
         QObject::tr("Skipped steps"), QObject::tr("Overflows"), QObject::tr("Step ms"), QObject::tr("Speed-up")},
        "th");
  for (std::size_t i = 0; i < c.rows.size(); ++i) {
    const ComparisonRow& r = c.rows[i];
    cells({variantCell(i), QString::fromStdString(r.status), metricText(r.metrics, "final_train_loss", 4),
           metricText(r.metrics, "test_accuracy", 4), metricText(r.metrics, "skipped_steps", 0),
           metricText(r.metrics, "overflow_events", 0), metricText(r.metrics, "median_step_ms", 3),
           r.speedup ? QStringLiteral("%1×").arg(*r.speedup, 0, 'f', 2) : QStringLiteral("–")},
          "td");
  }
  s << "</table>";

  s << "<h3>" << QObject::tr("Memory") << "</h3><p>"
    << QObject::tr("What each run's network holds, from the engine's own allocations; the total also counts gradients.")
    << "</p><table width='100%'>";
  cells({QObject::tr("Variant"), QObject::tr("Weights"), QObject::tr("Master weights"), QObject::tr("Optimizer state"),
         QObject::tr("Activations (one step)"), QObject::tr("Total")},
        "th");
  for (std::size_t i = 0; i < c.rows.size(); ++i) {
    const std::optional<MemoryUse>& m = c.rows[i].memory;
    const auto b = [&m](std::int64_t v) { return m ? bytesLabel(v) : QStringLiteral("–"); };
    cells({variantCell(i), b(m ? m->weights : 0), b(m ? m->masterWeights : 0), b(m ? m->optimizerState : 0),
           b(m ? m->activations : 0), b(m ? m->total() : 0)},
          "td");
  }
  s << "</table>";

  // Gradient underflow as a matrix, a layer per row and a variant per column: a list
  // of every (variant, layer) pair ran over two pages for a 13-layer network.
  QStringList layers;
  for (const ComparisonRow& r : c.rows) {
    for (const LayerUnderflow& u : r.gradientUnderflow) {
      if (!layers.contains(QString::fromStdString(u.layer))) layers << QString::fromStdString(u.layer);
    }
  }
  if (!layers.isEmpty()) {
    s << "<h3>" << QObject::tr("Gradients below their format's smallest subnormal") << "</h3><p>"
      << QObject::tr("The mean share over the run's statistics steps, with the gradient's format; * marks a share "
                     "measured on the fp32 shadow (what the format would lose), the others count the values that "
                     "rounding turned to zero.")
      << "</p><table width='100%'>";
    QStringList header = {QObject::tr("Layer")};
    for (std::size_t i = 0; i < c.rows.size(); ++i) header << variantCell(i);
    cells(header, "th");
    for (const QString& layer : layers) {
      QStringList row = {layer.toHtmlEscaped()};
      for (const ComparisonRow& r : c.rows) {
        const auto u = std::find_if(r.gradientUnderflow.begin(), r.gradientUnderflow.end(),
                                    [&](const LayerUnderflow& x) { return QString::fromStdString(x.layer) == layer; });
        row << (u == r.gradientUnderflow.end()
                    ? QStringLiteral("–")
                    : QStringLiteral("%1% %2%3")
                          .arg(100.0 * u->share, 0, 'f', 2)
                          .arg(QString::fromStdString(u->precision), u->fromShadow ? QStringLiteral("*") : QString()));
      }
      cells(row, "td");
    }
    s << "</table>";
  }
  // The runs' own summary, configuration and charts follow on the next page.
  s << "<p style='page-break-after:always'></p>";
  return out;
}

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
       "th{background:#eceff1}.diff{background:#fff3c4}img{max-width:100%}"
       // A setting's key path or a figure is one token: wrapped, it read "precisio n", "0. 6945".
       ".k,.v{white-space:nowrap}</style></head><body>";
  s << "<h1>Precision Lab report</h1><p>" << QDateTime::currentDateTimeUtc().toString(Qt::ISODate) << " · "
    << runs_.size() << " run(s)</p>";
  if (comparison_) s << comparisonHtml();
  // Laid out for paper: one column per run and one row per figure, so that ten
  // figures never squeeze into ten columns of an A4 page and break mid-number; a
  // header row (in <thead>) repeats on every page a table runs onto.
  s << "<h2>Summary</h2><table width='100%'><thead><tr><th></th>";
  QList<ReportSummaryRow> rows;
  for (const PlotRun& r : runs_) {
    rows << summarize(*r.data);
    s << "<th><span style='color:" << r.colour.name() << "'>■</span> " << rows.back().run.toHtmlEscaped() << "</th>";
  }
  s << "</tr></thead>";
  const auto figure = [&](const QString& name, const std::function<QString(const ReportSummaryRow&)>& value) {
    s << "<tr><th class='k'>" << name.toHtmlEscaped() << "</th>";
    for (const ReportSummaryRow& row : rows) s << "<td class='v'>" << value(row) << "</td>";
    s << "</tr>";
  };
  figure(QObject::tr("Status"), [](const ReportSummaryRow& r) { return r.status; });
  figure(QObject::tr("Backend · device"), [](const ReportSummaryRow& r) { return r.device.toHtmlEscaped(); });
  figure(QObject::tr("Steps"), [](const ReportSummaryRow& r) { return QString::number(r.steps); });
  figure(QObject::tr("Final train loss"), [](const ReportSummaryRow& r) { return num(r.finalLoss); });
  figure(QObject::tr("Test loss"), [](const ReportSummaryRow& r) { return num(r.testLoss); });
  figure(QObject::tr("Test accuracy"), [](const ReportSummaryRow& r) {
    return r.testAccuracy >= 0 ? QString::number(r.testAccuracy * 100, 'f', 2) + QLatin1Char('%') : QStringLiteral("–");
  });
  figure(QObject::tr("Overflows"), [](const ReportSummaryRow& r) { return QString::number(r.overflows); });
  figure(QObject::tr("Skipped steps"), [](const ReportSummaryRow& r) { return QString::number(r.skipped); });
  figure(QObject::tr("Speedup vs fp32"), [](const ReportSummaryRow& r) {
    return r.speedupVsFp32 > 0 ? QStringLiteral("×") + QString::number(r.speedupVsFp32, 'f', 2) : QStringLiteral("–");
  });
  s << "</table>";
  // Adaptive precision: each run's promotions, in step order, with the reason.
  for (const PlotRun& r : runs_) {
    if (r.data->promotions.empty()) continue;
    s << "<p><b>" << r.data->label().toHtmlEscaped() << "</b>: "
      << QObject::tr("adaptive precision promoted %n layer(s)", nullptr, int(r.data->promotions.size()))
      << "</p><ul>";
    for (const PrecisionPromotion& p : r.data->promotions) {
      s << "<li>" << QObject::tr("step %1: %2 %3 → %4 (%5)")
                         .arg(p.step)
                         .arg(QString::fromStdString(p.layerName).toHtmlEscaped(), QString::fromStdString(p.from),
                              QString::fromStdString(p.to), QString::fromStdString(p.reason).toHtmlEscaped())
        << "</li>";
    }
    s << "</ul>";
  }
  for (const PlotRun& r : runs_) {
    if (!r.data->description.isEmpty()) s << "<p><b>" << r.data->label().toHtmlEscaped() << "</b>: " << r.data->description.toHtmlEscaped() << "</p>";
  }
  s << "<h2>Configuration</h2><table width='100%'><thead><tr><th>Setting</th>";
  QList<RunDataPtr> data;
  for (const PlotRun& r : runs_) {
    data << r.data;
    s << "<th>" << r.data->label().toHtmlEscaped() << "</th>";
  }
  s << "</tr></thead>";
  for (const ConfigDiffRow& row : diffConfigs(data)) {
    s << "<tr" << (row.differs ? " class='diff' bgcolor='#fff3c4'" : "") << "><td class='k'>" << row.key.toHtmlEscaped() << "</td>";
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
    QList<RunDataPtr> loaded;
    for (qint64 id : ids) loaded << loadRunData(databasePath, id);
    runs = withRunColours(loaded);  // as the app shows them
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

QList<PlotRun> loadSweepRuns(const QString& databasePath, const SweepComparison& comparison) {
  QList<PlotRun> runs;
  for (std::size_t i = 0; i < comparison.rows.size(); ++i) {
    if (comparison.rows[i].runId) runs << PlotRun{loadRunData(databasePath, *comparison.rows[i].runId), runColour(int(i))};
  }
  return runs;
}

int writeSweepReportFromStore(const QString& databasePath, qint64 sweepId, const QString& output) {
  std::optional<ReportWriter> report;
  try {
    SweepComparison comparison = compareSweep(databasePath.toStdString(), sweepId);
    QList<PlotRun> runs = loadSweepRuns(databasePath, comparison);
    if (runs.isEmpty()) {
      std::cerr << "precisionlab report: sweep " << sweepId << " has no run yet; run it first (precisionlab-cli sweep --resume "
                << sweepId << ")\n";
      return 1;
    }
    report.emplace(std::move(runs), std::move(comparison));
  } catch (const std::exception& e) {
    std::cerr << "precisionlab report: " << e.what() << "\n";
    return 1;
  }
  QString error;
  if (!report->write(output, &error)) {
    std::cerr << "precisionlab report: " << error.toStdString() << "\n";
    return 1;
  }
  std::cout << "wrote " << output.toStdString() << " (sweep " << sweepId << ")\n";
  return 0;
}

}  // namespace plab::ui
