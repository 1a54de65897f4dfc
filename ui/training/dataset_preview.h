#pragma once
// A look at the data before training: point sets as a scatter coloured by class,
// regression sets as y against x, image sets as a grid of the first samples. The
// dataset is generated (or read) on a worker thread, so the GUI never waits on it.
#include <QFutureWatcher>
#include <QWidget>
#include <memory>
#include <nlohmann/json.hpp>

class QCustomPlot;
class QLabel;
class QStackedLayout;

namespace plab {
struct Dataset;
}

namespace plab::ui {

class ImageGrid;

class DatasetPreview : public QWidget {
  Q_OBJECT
 public:
  explicit DatasetPreview(QWidget* parent = nullptr);
  ~DatasetPreview() override;
  void setDatasetSpec(const nlohmann::json& spec, std::uint64_t seed);

 private:
  void show(const std::shared_ptr<const Dataset>& data);
  std::string currentKey_;
  QLabel* caption_;
  QCustomPlot* plot_;
  ImageGrid* images_;
  QStackedLayout* stack_;
  QFutureWatcher<std::shared_ptr<const Dataset>> watcher_;
  QString pendingError_;
};

}  // namespace plab::ui
