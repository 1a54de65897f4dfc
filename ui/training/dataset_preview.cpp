#include "training/dataset_preview.h"

#include <QLabel>
#include <QPainter>
#include <QStackedLayout>
#include <QVBoxLayout>
#include <QtConcurrent>
#include <qcustomplot.h>

#include "data/dataset.h"

namespace plab::ui {

// The first images of an image dataset, as grey tiles with their class.
class ImageGrid : public QWidget {
 public:
  void setDataset(std::shared_ptr<const Dataset> data) {
    data_ = std::move(data);
    update();
  }

 protected:
  void paintEvent(QPaintEvent*) override {
    QPainter p(this);
    p.fillRect(rect(), Qt::white);
    if (!data_ || data_->sampleShape.rank() != 3) return;
    const int h = int(data_->sampleShape[1]), w = int(data_->sampleShape[2]);
    const int tile = 64, gap = 14, columns = std::max(1, width() / (tile + gap));
    const int count = int(std::min<std::int64_t>(data_->trainCount, columns * std::max(1, height() / (tile + gap))));
    for (int i = 0; i < count; ++i) {
      QImage image(w, h, QImage::Format_Grayscale8);
      const float* x = data_->trainX.data() + std::size_t(i) * std::size_t(data_->sampleSize());
      for (int r = 0; r < h; ++r) {
        for (int c = 0; c < w; ++c) image.scanLine(r)[c] = uchar(std::clamp(x[r * w + c], 0.0f, 1.0f) * 255);
      }
      const QRect target((i % columns) * (tile + gap), (i / columns) * (tile + gap), tile, tile);
      p.drawImage(target, image);
      const int label = int(data_->trainY[std::size_t(i)]);
      const QString name = label < int(data_->classNames.size()) ? QString::fromStdString(data_->classNames[std::size_t(label)])
                                                                 : QString::number(label);
      p.drawText(QRect(target.left(), target.bottom(), tile + gap, gap), Qt::AlignLeft, name);
    }
  }

 private:
  std::shared_ptr<const Dataset> data_;
};

namespace {

// Enough samples to see the shape of a point set; IDX sets read only the first few.
nlohmann::json previewSpec(nlohmann::json spec) {
  const std::string name = spec.value("name", std::string());
  if (name == "fashion-mnist" || name == "mnist" || name == "idx") {
    spec["limit_train"] = 32;
    spec["limit_test"] = 1;
  } else {
    spec["train_size"] = std::min(800, spec.value("train_size", 800));
    spec["test_size"] = 1;
  }
  return spec;
}

const QList<QColor>& classColours() {
  static const QList<QColor> colours = {QColor("#1f77b4"), QColor("#d62728"), QColor("#2ca02c"), QColor("#ff7f0e"),
                                        QColor("#9467bd"), QColor("#8c564b"), QColor("#e377c2"), QColor("#17becf")};
  return colours;
}

}  // namespace

DatasetPreview::DatasetPreview(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  caption_ = new QLabel;
  caption_->setWordWrap(true);
  caption_->setObjectName(QStringLiteral("datasetCaption"));
  layout->addWidget(caption_);
  stack_ = new QStackedLayout;
  plot_ = new QCustomPlot;
  plot_->setMinimumSize(240, 240);
  images_ = new ImageGrid;
  stack_->addWidget(plot_);
  stack_->addWidget(images_);
  layout->addLayout(stack_, 1);
  connect(&watcher_, &QFutureWatcher<std::shared_ptr<const Dataset>>::finished, this, [this] {
    show(watcher_.result());
  });
}

DatasetPreview::~DatasetPreview() { watcher_.waitForFinished(); }

void DatasetPreview::setDatasetSpec(const nlohmann::json& spec, std::uint64_t seed) {
  const std::string key = spec.dump() + "#" + std::to_string(seed);
  if (key == currentKey_) return;
  currentKey_ = key;
  caption_->setText(tr("Loading a preview…"));
  const nlohmann::json small = previewSpec(spec);
  watcher_.setFuture(QtConcurrent::run([small, seed]() -> std::shared_ptr<const Dataset> {
    try {
      return std::make_shared<const Dataset>(loadDataset(small, seed));
    } catch (const std::exception& e) {
      auto failed = std::make_shared<Dataset>();
      failed->name = std::string("error: ") + e.what();
      return failed;
    }
  }));
}

void DatasetPreview::show(const std::shared_ptr<const Dataset>& data) {
  if (!data || data->name.rfind("error: ", 0) == 0) {
    caption_->setText(QStringLiteral("<span style='color:#c62828'>%1</span>")
                          .arg(data ? QString::fromStdString(data->name).toHtmlEscaped() : QString()));
    plot_->clearGraphs();
    plot_->replot();
    return;
  }
  caption_->setText(tr("<b>%1</b>: one sample is %2 value(s), %3")
                        .arg(QString::fromStdString(data->name))
                        .arg(data->sampleSize())
                        .arg(data->isClassification() ? tr("%1 classes").arg(data->numClasses) : tr("regression")));
  if (data->sampleShape.rank() == 3) {
    images_->setDataset(data);
    stack_->setCurrentWidget(images_);
    return;
  }
  stack_->setCurrentWidget(plot_);
  plot_->clearGraphs();
  const std::size_t n = std::size_t(data->trainCount), d = std::size_t(data->sampleSize());
  const int series = data->isClassification() ? data->numClasses : 1;
  for (int c = 0; c < series; ++c) {
    QVector<double> xs, ys;
    for (std::size_t i = 0; i < n; ++i) {
      if (data->isClassification() && int(data->trainY[i]) != c) continue;
      xs << data->trainX[i * d];
      ys << (d >= 2 ? data->trainX[i * d + 1] : data->trainY[i]);
    }
    QCPGraph* g = plot_->addGraph();
    g->setLineStyle(QCPGraph::lsNone);
    const QColor colour = classColours()[c % classColours().size()];
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, colour, colour, 4));
    g->setData(xs, ys, false);
    g->setName(data->isClassification() ? tr("class %1").arg(c) : tr("target"));
  }
  plot_->xAxis->setLabel(tr("x₀"));
  plot_->yAxis->setLabel(d >= 2 ? tr("x₁") : tr("y"));
  plot_->rescaleAxes();
  plot_->replot();
}

}  // namespace plab::ui
