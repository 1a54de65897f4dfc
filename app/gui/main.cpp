// precisionlab: the desktop app. Wiring only: parse the command line, then either
// open the main window or, for `precisionlab report ...`, write a report headless.
// Training runs in precisionlab-cli worker, a child process.
#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <cstring>
#include <iostream>

#include "common/app_paths.h"
#include "common/app_resources.h"
#include "common/main_window.h"
#include "report/report_writer.h"
#include "common/screenshot_script.h"

namespace {

void describeApp(QCoreApplication& app) {
  app.setApplicationName(QStringLiteral("Precision Lab"));
  app.setOrganizationName(QStringLiteral("precisionlab"));
  app.setApplicationVersion(QStringLiteral("0.1.0"));
  // Wayland and X11 docks match the window to the installed desktop entry by this
  // name (packaging/, docs/packaging.md).
  QGuiApplication::setDesktopFileName(QStringLiteral(PLAB_APP_ID));
}

// precisionlab report --db runs.sqlite --runs 3,4 -o report.pdf
// precisionlab report --db runs.sqlite --sweep 2 -o report.pdf
int reportCommand(QApplication& app) {
  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral("Writes a PDF or HTML report of stored runs, without a window"));
  parser.addHelpOption();
  QCommandLineOption db(QStringLiteral("db"), QStringLiteral("SQLite run store"), QStringLiteral("PATH"), plab::ui::defaultDatabaseFile());
  QCommandLineOption runs(QStringLiteral("runs"), QStringLiteral("Run ids, comma-separated (e.g. 3,4)"), QStringLiteral("IDS"));
  QCommandLineOption sweep(QStringLiteral("sweep"), QStringLiteral("A sweep id: its comparison, claims and variants' runs"),
                           QStringLiteral("ID"));
  QCommandLineOption output({QStringLiteral("o"), QStringLiteral("output")}, QStringLiteral("report.pdf or report.html"), QStringLiteral("FILE"));
  parser.addOptions({db, runs, sweep, output});
  parser.addPositionalArgument(QStringLiteral("report"), QStringLiteral("the subcommand"));
  parser.process(app);
  if (parser.isSet(sweep)) {
    bool ok = false;
    const qint64 id = parser.value(sweep).trimmed().toLongLong(&ok);
    if (!ok || id <= 0 || parser.isSet(runs) || !parser.isSet(output)) {
      std::cerr << "precisionlab report: --sweep: give one sweep id (not with --runs) and -o FILE (.pdf or .html)\n";
      return 2;
    }
    return plab::ui::writeSweepReportFromStore(parser.value(db), id, parser.value(output));
  }
  QList<qint64> ids;
  for (const QString& part : parser.value(runs).split(QLatin1Char(','), Qt::SkipEmptyParts)) {
    bool ok = false;
    const qint64 id = part.trimmed().toLongLong(&ok);
    if (!ok || id <= 0) {
      std::cerr << "precisionlab report: --runs: \"" << part.toStdString() << "\" is not a run id\n";
      return 2;
    }
    ids << id;
  }
  if (ids.isEmpty() || !parser.isSet(output)) {
    std::cerr << "precisionlab report: give --runs IDS (or --sweep ID) and -o FILE (.pdf or .html)\n";
    return 2;
  }
  return plab::ui::writeReportFromStore(parser.value(db), ids, parser.value(output));
}

}  // namespace

int main(int argc, char** argv) {
  const bool report = argc > 1 && std::strcmp(argv[1], "report") == 0;
  // A report needs no display: draw offscreen unless the user chose a platform.
  if (report && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  QApplication app(argc, argv);
  describeApp(app);
  plab::ui::applyAppStyle(app);
  if (report) return reportCommand(app);

  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral("Precision Lab: mixed-precision training lab.\n"
                                                  "Also: precisionlab report --db PATH --runs 3,4 -o report.pdf\n"
                                                  "      precisionlab report --db PATH --sweep ID -o report.pdf"));
  parser.addHelpOption();
  parser.addVersionOption();
  QCommandLineOption db(QStringLiteral("db"), QStringLiteral("SQLite run store"), QStringLiteral("PATH"), plab::ui::defaultDatabaseFile());
  QCommandLineOption experiments(QStringLiteral("experiments"), QStringLiteral("Experiment library folder"),
                                 QStringLiteral("DIR"), plab::ui::experimentsDir());
  QCommandLineOption screenshots(QStringLiteral("screenshots"),
                                 QStringLiteral("Documentation: run the experiment, grab every view into DIR, quit"),
                                 QStringLiteral("DIR"));
  parser.addOptions({db, experiments, screenshots});
  parser.addPositionalArgument(QStringLiteral("experiment"), QStringLiteral("Experiment file to open"), QStringLiteral("[FILE]"));
  parser.process(app);

  plab::ui::MainWindowOptions options;
  options.databasePath = parser.value(db);
  options.experimentsDir = parser.value(experiments);
  if (!parser.positionalArguments().isEmpty()) options.initialExperiment = QDir().absoluteFilePath(parser.positionalArguments().first());
  plab::ui::MainWindow window(options);
  window.show();
  if (parser.isSet(screenshots)) {
    window.setInteractive(false);
    plab::ui::startScreenshotScript(window, parser.value(screenshots));
  }
  return app.exec();
}
