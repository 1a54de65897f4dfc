#include "editor/network_diagram.h"

#include <QHelpEvent>
#include <QLocale>
#include <QPainter>
#include <QPainterPath>
#include <QToolTip>

#include "editor/layer_summary.h"
#include "common/precision_palette.h"

namespace plab::ui {
namespace {
constexpr int kLeastBlockHeight = 46;
constexpr int kGap = 18;
constexpr int kMargin = 12;
}  // namespace

NetworkDiagram::NetworkDiagram(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("networkDiagram"));
  setBackgroundRole(QPalette::Base);
  setAutoFillBackground(true);
}

void NetworkDiagram::setNetwork(const nlohmann::json& layers, const ShapeCheck& check) {
  blocks_.clear();
  const QLocale locale;
  blocks_.append({tr("input"), check.sampleShape.dims.empty() ? tr("dataset shape unknown")
                                                              : formatShape(check.sampleShape),
                  QColor("#eceff1"), check.generalError});
  double totalWeights = 0, totalActivations = 0;
  std::int64_t totalParams = 0;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    Block b;
    const QString precision = layerPrecision(layers[i]);
    b.title = QStringLiteral("%1 · %2").arg(layerSummary(layers[i]), precision);
    b.colour = precisionColour(precision);
    b.error = check.layerErrors.value(int(i));
    if (i < check.layers.size()) {
      const LayerShapeInfo& info = check.layers[i];
      b.detail = QStringLiteral("→ %1").arg(formatShape(info.outputShape));
      if (info.parameterCount > 0) {
        b.detail += tr(" · %1 params · %2").arg(locale.toString(qlonglong(info.parameterCount)),
                                               formatBytes(double(info.weightBytes)));
      }
      b.detail += tr(" · act %1/sample").arg(formatBytes(double(info.activationBytesPerSample)));
      totalParams += info.parameterCount;
      totalWeights += double(info.weightBytes);
      totalActivations += double(info.activationBytesPerSample);
    } else if (b.error.isEmpty()) {
      b.detail = tr("(shape unknown: an earlier layer does not fit)");
    }
    blocks_.append(b);
  }
  footer_ = check.ok ? tr("%1 parameters · weights %2 · activations %3 per sample")
                           .arg(locale.toString(qlonglong(totalParams)), formatBytes(totalWeights),
                                formatBytes(totalActivations))
                     : tr("Fix the errors in red before starting a run.");
  updateGeometry();
  update();
}

// Two lines of text at the widget's font (a projector's font is twice the desktop's):
// the text is never cut by its block (docs/user-guide.md, "The window").
int NetworkDiagram::blockHeight() const {
  QFont bold = font();
  bold.setBold(true);
  return std::max(kLeastBlockHeight, QFontMetrics(bold).height() + fontMetrics().height() + 12);
}

QRectF NetworkDiagram::blockRect(int index) const {
  const double width = std::max(1, this->width() - 2 * kMargin);
  return QRectF(kMargin, kMargin + index * (blockHeight() + kGap), width, blockHeight());
}

// The footer wraps into as many lines as the width needs.
QRectF NetworkDiagram::footerRect() const {
  const double top = blockRect(int(blocks_.size())).top() - kGap + 4;
  const int width = std::max(1, this->width() - 2 * kMargin);
  const QRect needed = fontMetrics().boundingRect(QRect(0, 0, width, 100000), Qt::TextWordWrap, footer_);
  return QRectF(kMargin, top, width, std::max(24, needed.height() + 4));
}

QSize NetworkDiagram::sizeHint() const {
  return {340, int(footerRect().bottom()) + kMargin};
}

QString NetworkDiagram::toolTipAt(const QPoint& pos) const {
  for (int i = 0; i < blocks_.size(); ++i) {
    if (!blockRect(i).contains(pos)) continue;
    const Block& b = blocks_[i];
    return b.title + QLatin1Char('\n') + (b.error.isEmpty() ? b.detail : b.error);
  }
  return footerRect().contains(pos) ? footer_ : QString();
}

bool NetworkDiagram::event(QEvent* e) {
  // Elided text is read whole in the tooltip of its block.
  if (e->type() == QEvent::ToolTip) {
    auto* help = static_cast<QHelpEvent*>(e);
    const QString tip = toolTipAt(help->pos());
    if (tip.isEmpty()) QToolTip::hideText();
    else QToolTip::showText(help->globalPos(), tip, this);
    return true;
  }
  return QWidget::event(e);
}

void NetworkDiagram::paintBlock(QPainter& p, const QRectF& r, const Block& b) const {
  QPainterPath path;
  path.addRoundedRect(r, 6, 6);
  p.fillPath(path, b.colour);
  p.setPen(QPen(b.error.isEmpty() ? b.colour.darker(140) : QColor("#c62828"), b.error.isEmpty() ? 1 : 3));
  p.drawPath(path);
  const QColor text = textColourOn(b.colour);
  p.setPen(text);
  QFont bold = font();
  bold.setBold(true);
  p.setFont(bold);
  p.drawText(r.adjusted(8, 4, -8, -r.height() / 2), Qt::AlignLeft | Qt::AlignVCenter,
             p.fontMetrics().elidedText(b.title, Qt::ElideRight, int(r.width() - 16)));
  p.setFont(font());
  const QString second = b.error.isEmpty() ? b.detail : QStringLiteral("⚠ ") + b.error;
  p.drawText(r.adjusted(8, r.height() / 2 - 2, -8, -4), Qt::AlignLeft | Qt::AlignVCenter,
             p.fontMetrics().elidedText(second, Qt::ElideRight, int(r.width() - 16)));
}

void NetworkDiagram::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.setRenderHint(QPainter::Antialiasing);
  for (int i = 0; i < blocks_.size(); ++i) {
    const QRectF r = blockRect(i);
    paintBlock(p, r, blocks_[i]);
    if (i + 1 < blocks_.size()) {
      // An arrow to the next block: the tensor flows down.
      const double x = r.center().x();
      p.setPen(QPen(QColor("#90a4ae"), 2));
      p.drawLine(QPointF(x, r.bottom() + 2), QPointF(x, r.bottom() + kGap - 4));
      p.setBrush(QColor("#90a4ae"));
      p.drawPolygon(QPolygonF({QPointF(x - 5, r.bottom() + kGap - 8), QPointF(x + 5, r.bottom() + kGap - 8),
                               QPointF(x, r.bottom() + kGap - 2)}));
      p.setBrush(Qt::NoBrush);
    }
  }
  p.setPen(palette().color(QPalette::Text));
  p.setFont(font());
  p.drawText(footerRect(), Qt::AlignLeft | Qt::AlignVCenter | Qt::TextWordWrap, footer_);
}

}  // namespace plab::ui
