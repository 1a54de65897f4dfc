#include "report/csv_export.h"

#include <QSaveFile>
#include <QTextStream>
#include <cmath>
#include <map>

namespace plab::ui {
namespace {

QString number(double v) {
  if (std::isnan(v)) return QStringLiteral("nan");
  if (std::isinf(v)) return v > 0 ? QStringLiteral("inf") : QStringLiteral("-inf");
  return QString::number(v, 'g', 10);
}

// Layer names contain spaces and brackets, never quotes; quote to be safe with commas.
QString quoted(const std::string& s) {
  QString q = QString::fromStdString(s);
  q.replace(QLatin1Char('"'), QStringLiteral("\"\""));
  return QLatin1Char('"') + q + QLatin1Char('"');
}

}  // namespace

bool writeRunCsv(const RunData& run, const QString& path, QString* error) {
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Text)) {
    if (error) *error = QStringLiteral("%1: %2").arg(path, file.errorString());
    return false;
  }
  std::map<std::int64_t, const EpochMetrics*> evalAt;
  for (const EpochMetrics& e : run.epochs) evalAt[e.step] = &e;
  QTextStream out(&file);
  out << "step,epoch,loss,loss_scale,overflow,skipped,culprit,grad_norm,learning_rate,step_ms,samples_per_s,"
         "test_loss,test_accuracy\n";
  for (const StepMetrics& m : run.steps) {
    out << m.step << ',' << m.epoch << ',' << number(m.loss) << ',' << number(m.lossScale) << ','
        << (m.overflow ? 1 : 0) << ',' << (m.skipped ? 1 : 0) << ',' << quoted(m.culprit) << ','
        << number(m.gradNorm) << ',' << number(m.learningRate) << ',' << number(m.stepMs) << ','
        << number(m.samplesPerSecond) << ',';
    const auto e = evalAt.find(m.step);
    if (e != evalAt.end()) out << number(e->second->testLoss) << ',' << (e->second->testAccuracy >= 0 ? number(e->second->testAccuracy) : QString());
    else out << ',';
    out << '\n';
  }
  out.flush();
  if (!file.commit()) {
    if (error) *error = QStringLiteral("%1: %2").arg(path, file.errorString());
    return false;
  }
  return true;
}

}  // namespace plab::ui
