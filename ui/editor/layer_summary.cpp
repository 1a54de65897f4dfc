#include "editor/layer_summary.h"

#include <QMap>
#include <QStringList>

#include "core/activations.h"
#include "protocol/records_json.h"

namespace plab::ui {
namespace {

QString number(const nlohmann::json& v) {
  if (v.is_number_integer()) return QString::number(v.get<long long>());
  if (v.is_number()) return QString::number(v.get<double>(), 'g', 4);
  if (v.is_boolean()) return v.get<bool>() ? QStringLiteral("yes") : QStringLiteral("no");
  return QString::fromStdString(v.dump());
}

QString valueOf(const nlohmann::json& layer, const char* key, const QString& fallback) {
  const auto it = layer.find(key);
  return it == layer.end() ? fallback : number(*it);
}

}  // namespace

QString layerPrecision(const nlohmann::json& layer) {
  return QString::fromStdString(layer.value("precision", std::string("fp32")));
}

QString layerSummary(const nlohmann::json& layer) {
  if (!layer.is_object()) return QStringLiteral("?");
  const QString type = QString::fromStdString(layer.value("type", std::string("?")));
  if (type == QLatin1String("linear")) return type + QLatin1Char(' ') + valueOf(layer, "out", QStringLiteral("?"));
  if (type == QLatin1String("conv2d")) {
    return QStringLiteral("conv2d %1 k%2 s%3 p%4")
        .arg(valueOf(layer, "out_channels", QStringLiteral("?")), valueOf(layer, "kernel", QStringLiteral("3")),
             valueOf(layer, "stride", QStringLiteral("1")), valueOf(layer, "padding", QStringLiteral("0")));
  }
  if (type.endsWith(QLatin1String("pool2d"))) {
    const QString k = valueOf(layer, "kernel", QStringLiteral("2"));
    return QStringLiteral("%1 k%2 s%3").arg(type, k, valueOf(layer, "stride", k));
  }
  if (type == QLatin1String("dropout")) return QStringLiteral("dropout p=%1").arg(valueOf(layer, "p", QStringLiteral("0.5")));
  // An activation with a parameter (core/activations.h) shows it: "leaky_relu 0.01".
  if (const auto a = parseActivation(type.toStdString())) {
    const act::Param param = activationParam(*a);
    if (!param.key.empty()) {
      const std::string key(param.key);
      return type + QLatin1Char(' ') + valueOf(layer, key.c_str(), QString::number(param.defaultValue, 'g', 4));
    }
  }
  return type;
}

QString networkSummary(const nlohmann::json& layers) {
  QStringList parts;
  if (!layers.is_array()) return {};
  for (const auto& layer : layers) {
    const std::string type = layer.value("type", std::string());
    if (type == "linear") parts << QStringLiteral("fc%1").arg(valueOf(layer, "out", QStringLiteral("?")));
    else if (type == "conv2d") parts << QStringLiteral("conv%1").arg(valueOf(layer, "out_channels", QStringLiteral("?")));
    else if (type == "maxpool2d" || type == "avgpool2d") parts << QStringLiteral("pool");
  }
  return parts.join(QStringLiteral("-")) + QStringLiteral(" (%1 layers)").arg(layers.size());
}

namespace {

// Formats in order of first use (the input side first), each with its count where
// they mix: "fp16 ×6, fp32 ×1".
QString formatMix(const QStringList& layerFormats) {
  QStringList formats;
  QMap<QString, int> counts;
  for (const QString& format : layerFormats) {
    if (!counts.contains(format)) formats << format;
    ++counts[format];
  }
  if (formats.size() == 1) return formats.front();
  QStringList parts;
  for (const QString& format : formats) parts << QStringLiteral("%1 \u00d7%2").arg(format).arg(counts[format]);
  return parts.join(QStringLiteral(", "));
}

QStringList formatsAtStart(const nlohmann::json& layers) {
  QStringList formats;
  if (layers.is_array())
    for (const auto& layer : layers) formats << layerPrecision(layer);
  return formats;
}

// Each layer's last promotion: its format at the end and the step, from the summary's
// list, read as the protocol reads it (protocol/records_json.h; written in step order).
// A malformed entry is passed over: the table shows what it can read.
struct LastPromotion {
  QString to;
  qint64 step = 0;
};
QMap<int, LastPromotion> lastPromotions(const nlohmann::json& promotions, qsizetype layerCount) {
  QMap<int, LastPromotion> last;
  if (!promotions.is_array()) return last;
  for (const auto& entry : promotions) {
    PrecisionPromotion p;
    try {
      from_json(entry, p);
    } catch (const std::exception&) {
      continue;
    }
    if (p.layerIndex < 0 || p.layerIndex >= layerCount) continue;
    last[p.layerIndex] = {QString::fromStdString(p.to), qint64(p.step)};
  }
  return last;
}

}  // namespace

QString precisionSummary(const nlohmann::json& layers, const nlohmann::json& promotions) {
  const QStringList start = formatsAtStart(layers);
  const QMap<int, LastPromotion> last = lastPromotions(promotions, start.size());
  if (last.isEmpty()) return formatMix(start);
  QStringList end = start;
  for (auto it = last.begin(); it != last.end(); ++it) end[it.key()] = it->to;
  return formatMix(start) + QStringLiteral(" \u2192 ") + formatMix(end);
}

QString precisionList(const nlohmann::json& layers, const nlohmann::json& promotions) {
  if (!layers.is_array()) return {};
  const QStringList start = formatsAtStart(layers);
  const QMap<int, LastPromotion> last = lastPromotions(promotions, start.size());
  QStringList lines;
  for (qsizetype i = 0; i < start.size(); ++i) {
    QString format = start[i];
    if (const auto it = last.find(int(i)); it != last.end())
      format += QStringLiteral(" \u2192 %1 (step %2)").arg(it->to).arg(it->step);
    lines << QStringLiteral("layers[%1] %2: %3").arg(i).arg(layerSummary(layers[std::size_t(i)]), format);
  }
  return lines.join(QLatin1Char('\n'));
}

}  // namespace plab::ui
