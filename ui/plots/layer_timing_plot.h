#pragma once
// Per-layer forward and backward time of one benchmark configuration, as stacked bars.
// Overlaid runs stand side by side at each layer, each in its own colour (forward
// lighter, backward full), so the runs compare layer by layer.
#include "plots/run_plot.h"

class QComboBox;
class QCPBars;
class QCPBarsGroup;

namespace plab::ui {

class LayerTimingPlot : public RunPlot {
  Q_OBJECT
 public:
  explicit LayerTimingPlot(QWidget* parent = nullptr);
  void setConfiguration(const QString& config);
  QStringList configurations() const;
  // The bars of each run that has the shown configuration (tests).
  struct RunBars {
    const RunData* run = nullptr;
    QCPBars* forward = nullptr;
    QCPBars* backward = nullptr;
  };
  const QList<RunBars>& bars() const { return bars_; }

 protected:
  void updateSeries() override;
  void clearSeries() override;

 private:
  void syncConfigurations();
  std::uint64_t fingerprint() const;
  QComboBox* config_;
  QCPBarsGroup* group_;
  std::uint64_t seen_ = ~0ull;
  QList<RunBars> bars_;
};

}  // namespace plab::ui
