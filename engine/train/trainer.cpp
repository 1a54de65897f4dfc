#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <optional>
#include <thread>

#include "numerics/precision.h"

namespace plab {

struct Trainer::Pending {
  std::int64_t step = 0;
  std::int32_t epoch = 0;
  double learningRate = 0;
  std::size_t timer = 0;
};

namespace {

double nowSeconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::int64_t plannedSteps(const Experiment& e, const Dataset& data) {
  if (e.batchSize <= 0) throw std::invalid_argument("batch_size: must be positive");
  BatchIterator probe(data, e.batchSize, e.seed);
  const std::int64_t perEpoch = probe.batchesPerEpoch();
  if (perEpoch <= 0) {
    std::ostringstream msg;
    msg << "batch_size: " << e.batchSize << " is larger than the training set of " << data.name << " ("
        << data.trainCount << " examples)";
    throw std::invalid_argument(msg.str());
  }
  if (e.steps > 0) return e.steps;
  return perEpoch * std::max<std::int64_t>(e.epochs, 1);
}

Trainer::Trainer(const Experiment& experiment, const Dataset& data, Backend& backend, RunObserver& observer,
                 RunControl& control, std::string backendNote)
    : experiment_(experiment), data_(data), backend_(backend), observer_(observer), control_(control),
      backendNote_(std::move(backendNote)), scaler_(experiment.lossScaling) {
  inferShapesForDataset(experiment.network, data);  // throws ShapeError naming the layer
  totalSteps_ = plannedSteps(experiment, data);
  network_ = std::make_unique<Network>(experiment.network, data.sampleShape, backend, experiment.seed,
                                       experiment.masterWeights, experiment.fp8);
  network_->allocateOptimizerState(experiment.optimizer.kind);
  outcome_.memory = network_->memoryUse(experiment.batchSize);
  gradientOwners_ = network_->gradientLayerNamesInBackwardOrder();
  state_ = backend.createStepState(experiment.lossScaling, int(gradientOwners_.size()));
  runner_ = std::make_unique<StepRunner>(backend, stepCaptureEnabledByDefault());
  const std::int32_t batch = experiment.batchSize;
  buffers_ = makeStepBuffers(backend, data, batch);
  const std::int32_t logInterval = std::max<std::int32_t>(experiment.logInterval, 1);
  for (std::int32_t i = 0; i < logInterval; ++i) timers_.push_back(backend.createTimer());
  if (experiment.shadowStats && experiment.statsInterval > 0) {
    shadow_ = std::make_unique<ShadowPass>(experiment, data.sampleShape, backend);
    outcome_.memory.shadow = shadow_->memoryBytes(experiment.batchSize);
  }
  if (experiment.precisionPolicy.mode == PrecisionPolicyMode::adaptive)
    promoter_ = std::make_unique<PrecisionPromoter>(experiment.precisionPolicy);
}

Trainer::~Trainer() = default;

void Trainer::trainStep(std::int64_t step, std::int32_t epoch) {
  const std::int32_t k = experiment_.statsInterval;
  const bool statsStep = k > 0 && (step == 1 || step % k == 0);
  if (statsStep && shadow_) runShadow(step);  // before the step: the same weights; not timed
  if (!failure_.empty()) return;               // a step drained by runShadow failed the run
  network_->setStatsEnabled(statsStep);
  network_->setSamplesEnabled(statsStep && statsSteps_ % kSampleEveryStatsSteps == 0);
  network_->setCaptureEnabled(statsStep && shadow_);
  const OptimizerHyper hyper = experiment_.hyperAt(step, totalSteps_);
  Backend::Timer& timer = *timers_[pending_.size()];

  timer.start();
  backend_.upload(hostX_.data(), buffers_.input);
  backend_.upload(hostY_.data(), buffers_.target);
  runner_->run(*network_, *state_, buffers_, experiment_.network.loss, hyper, step);
  timer.stop();

  pending_.push_back({step, epoch, hyper.lr, pending_.size()});
  if (statsStep) reportStats(step);
}

void Trainer::runShadow(std::int64_t step) {
  // The scale this step will use: drain the steps before it so that the host knows it.
  drain(true);
  backend_.upload(hostX_.data(), buffers_.input);
  backend_.upload(hostY_.data(), buffers_.target);
  shadow_->run(*network_, buffers_, experiment_.network.loss, scaler_.scale(), step);
  shadowMs_.push_back(shadow_->lastMilliseconds());
}

void Trainer::reportStats(std::int64_t step) {
  network_->setStatsEnabled(false);
  network_->setCaptureEnabled(false);
  network_->setSamplesEnabled(false);
  auto records = network_->takeStats(step);
  ++statsSteps_;
  if (shadow_) {
    // The measuring is part of the shadow pass's cost (runShadow timed the fp32 step).
    const double start = nowSeconds();
    shadow_->attach(records, network_->takeCaptured());
    if (!shadowMs_.empty()) shadowMs_.back() += (nowSeconds() - start) * 1000.0;
  }
  if (!records.empty()) observer_.onLayerStats(records);
  if (promoter_) adaptPrecision(records);
}

// Adaptive precision (docs/architecture.md): the layers whose statistics broke the
// policy long enough train in the next format from the next step on.
void Trainer::adaptPrecision(const std::vector<LayerStatsRecord>& records) {
  const std::vector<PrecisionPromotion> promotions = promoter_->observe(records, network_->currentSpec().layers);
  for (const PrecisionPromotion& p : promotions) {
    try {
      network_->promoteLayer(std::size_t(p.layerIndex), *parsePrecision(p.to));
    } catch (const std::exception& e) {
      failedLayer_ = p.layerName;
      throw std::runtime_error("step " + std::to_string(p.step) + ": adaptive precision could not promote " +
                               p.layerName + " from " + p.from + " to " + p.to + ": " + e.what());
    }
    observer_.onPromotion(p);
    outcome_.promotions.push_back(p);
  }
  if (promotions.empty()) return;
  const std::int64_t shadowBytes = outcome_.memory.shadow;
  outcome_.memory = network_->memoryUse(experiment_.batchSize);
  outcome_.memory.shadow = shadowBytes;
}

void Trainer::drain(bool force) {
  if (pending_.empty()) return;
  if (!force && pending_.size() < timers_.size()) return;
  const std::vector<StepRecord> records = backend_.drainStepRecords(*state_);
  if (records.size() != pending_.size()) {
    std::ostringstream msg;
    msg << "trainer: the backend returned " << records.size() << " step records for " << pending_.size()
        << " steps";
    throw std::logic_error(msg.str());
  }
  std::vector<StepMetrics> rows;
  rows.reserve(records.size());
  for (std::size_t i = 0; i < records.size() && failure_.empty(); ++i) handleRecord(records[i], pending_[i], rows);
  pending_.clear();
  observer_.onSteps(rows);
  if (!rows.empty()) reportProgress(rows.back().step, false);
}

void Trainer::handleRecord(const StepRecord& r, const Pending& p, std::vector<StepMetrics>& rows) {
  StepMetrics m;
  m.step = p.step;
  m.epoch = p.epoch;
  m.loss = r.loss;
  m.lossScale = r.lossScale;
  m.overflow = r.overflow;
  m.skipped = r.skipped;
  m.gradNorm = r.gradNorm;
  m.learningRate = p.learningRate;
  m.stepMs = timers_[p.timer]->milliseconds();
  m.samplesPerSecond = m.stepMs > 0 ? experiment_.batchSize * 1000.0 / m.stepMs : 0;

  const LossScaler::Outcome events = scaler_.observe(r, gradientOwners_);
  if (events.overflow) {
    if (!events.overflow->layers.empty()) m.culprit = events.overflow->layers.front();
    observer_.onOverflow(*events.overflow);
  }
  if (events.growth) observer_.onScaleGrowth(*events.growth);
  stepMs_.push_back(m.stepMs);
  lastLoss_ = r.loss;
  rows.push_back(m);

  std::ostringstream msg;
  if (!std::isfinite(r.loss)) {
    msg << "step " << p.step << ": the loss is " << r.loss << "; " << diagnoseNonFinite(p.step);
    failure_ = msg.str();
    return;
  }
  if (r.overflow && experiment_.lossScaling.mode == LossScaleMode::none) {
    failedLayer_ = m.culprit;
    msg << "step " << p.step << ": the gradients of " << (m.culprit.empty() ? "a layer" : m.culprit)
        << " hold inf/NaN and loss scaling is off (\"none\"), so nothing can recover";
    failure_ = msg.str();
    return;
  }
  consecutiveSkips_ = r.skipped ? consecutiveSkips_ + 1 : 0;
  if (consecutiveSkips_ >= kMaxConsecutiveSkips) {
    failedLayer_ = m.culprit;
    msg << "step " << p.step << ": " << consecutiveSkips_ << " steps in a row were skipped for inf/NaN gradients"
        << " (last culprit " << m.culprit << ", loss scale " << r.nextLossScale << "); the run cannot make progress";
    failure_ = msg.str();
    return;
  }
  if (!r.skipped) {
    epochLossSum_ += r.loss;
    ++epochLossCount_;
  }
}

// When a layer's input already held values beyond the largest finite value of the
// layer's format, converting it into that format made them inf before the layer ran:
// say so, with the figures (docs/lessons.md, lesson 6).
std::string Trainer::inputBeyondRange(const LayerStatsRecord& culprit, const std::vector<LayerStatsRecord>& records) const {
  double inputMax = 0;
  if (culprit.layerIndex == 0) {
    for (float v : hostX_)
      if (std::isfinite(v)) inputMax = std::max(inputMax, double(std::fabs(v)));
  } else {
    for (const LayerStatsRecord& r : records)
      if (r.kind == StatsKind::activation && r.layerIndex + 1 == culprit.layerIndex) inputMax = r.stats.maxAbs;
  }
  const std::optional<Precision> format = parsePrecision(culprit.precision);
  if (!format || inputMax <= formatInfo(*format).maxFinite) return "";
  std::ostringstream msg;
  msg << "; its input held values up to " << inputMax << ", beyond " << culprit.precision << "'s largest "
      << formatInfo(*format).maxFinite << ", so they became inf when converted into the layer's format";
  return msg.str();
}

std::string Trainer::diagnoseNonFinite(std::int64_t step) {
  // Re-run the forward pass of the most recent batch (the weights were not updated
  // since: a non-finite loss gives non-finite gradients, so the step was skipped)
  // with statistics on, and name the first layer whose output was inf/NaN.
  network_->setStatsEnabled(true);
  network_->forward(buffers_.input, true, lastStepDone_);
  network_->setStatsEnabled(false);
  const std::vector<LayerStatsRecord> records = network_->takeStats(step);
  // A layer whose values were inf/NaN before rounding first: in fp8, which saturates,
  // values that merely passed the format's max are common and not the cause.
  const bool anyNonFinite = std::any_of(records.begin(), records.end(), [](const LayerStatsRecord& r) {
    return r.kind == StatsKind::activation && r.stats.nonFinite > 0;
  });
  for (const LayerStatsRecord& rec : records) {
    if (rec.kind != StatsKind::activation) continue;
    const TensorStats& s = rec.stats;
    if (s.nonFinite == 0 && (anyNonFinite || s.overflows == 0)) continue;
    failedLayer_ = rec.layerName;
    std::ostringstream msg;
    msg << "the first layer whose activations were not finite is " << rec.layerName << " (" << rec.precision
        << "): " << s.overflows << " of " << s.count << " values overflowed the format, " << s.nonFinite
        << " were inf/NaN before rounding (largest finite |x| " << s.maxAbs << ")";
    msg << inputBeyondRange(rec, records);
    return msg.str();
  }
  return "no layer's activations were inf/NaN on a re-run of the last batch, so the loss itself overflowed "
         "fp32";
}

Trainer::EvalTotals Trainer::evaluateOn(const std::vector<float>& x, const std::vector<float>& y,
                                        std::int64_t count) {
  EvalTotals totals;
  if (count <= 0) return totals;
  const std::int64_t batch = std::max<std::int64_t>(experiment_.batchSize, 256);
  const std::int64_t sampleSize = data_.sampleSize();
  const std::int64_t targetSize = data_.isClassification() ? 1 : data_.targetSize;
  Backend::EvalResult sum;
  for (std::int64_t first = 0; first < count; first += batch) {
    const std::int64_t n = std::min(batch, count - first);
    Tensor xt = backend_.empty(batchShape(n, data_.sampleShape), Precision::fp32);
    Tensor yt = backend_.empty(targetShape(n, data_), Precision::fp32);
    backend_.upload(x.data() + first * sampleSize, xt);
    backend_.upload(y.data() + first * targetSize, yt);
    const Tensor& out = network_->forward(xt, false, 0);
    const Backend::EvalResult r = backend_.evaluate(out, yt, data_.isClassification());
    sum.lossSum += r.lossSum;
    sum.correct += r.correct;
    sum.count += r.count;
  }
  totals.loss = sum.count ? sum.lossSum / double(sum.count) : std::numeric_limits<double>::quiet_NaN();
  if (data_.isClassification() && sum.count) totals.accuracy = double(sum.correct) / double(sum.count);
  return totals;
}

void Trainer::evaluateEpoch(std::int32_t epoch, std::int64_t step, bool includeTrain) {
  drain(true);
  if (!failure_.empty()) return;
  network_->setStatsEnabled(false);
  EpochMetrics em;
  em.epoch = epoch;
  em.step = step;
  em.trainLoss = epochLossCount_ ? epochLossSum_ / double(epochLossCount_) : std::numeric_limits<double>::quiet_NaN();
  if (includeTrain && data_.isClassification()) {
    const std::int64_t n = std::min<std::int64_t>(data_.trainCount, kTrainEvalLimit);
    em.trainAccuracy = evaluateOn(data_.trainX, data_.trainY, n).accuracy;
  }
  const EvalTotals test = evaluateOn(data_.testX, data_.testY, data_.testCount);
  em.testLoss = test.loss;
  em.testAccuracy = test.accuracy;
  outcome_.finalTrainLoss = em.trainLoss;
  outcome_.testLoss = em.testLoss;
  outcome_.testAccuracy = em.testAccuracy;
  observer_.onEpoch(em);
}

void Trainer::waitWhilePaused(std::int64_t step) {
  if (!control_.pauseRequested.load() || control_.stopRequested.load()) return;
  drain(true);
  progressClock_ = -1;
  RunProgress p;
  p.step = step;
  p.totalSteps = totalSteps_;
  p.epoch = currentEpoch_;
  p.lastLoss = lastLoss_;
  p.lossScale = scaler_.scale();
  p.paused = true;
  observer_.onProgress(p);
  while (control_.pauseRequested.load() && !control_.stopRequested.load())
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  reportProgress(step, true);
}

// A run slowed for a class (RunControl::stepsPerSecond): waits until this step's slot
// of 1/rate seconds is over, in short sleeps so that stop and pause still answer at
// once. The time waited is outside every recorded step time.
void Trainer::keepPace() {
  const std::int64_t rate = control_.stepsPerSecond.load();
  if (rate <= 0) {
    paceNext_ = -1;
    return;
  }
  const double now = nowSeconds();
  paceNext_ = paceNext_ < 0 ? now + 1.0 / double(rate) : std::max(paceNext_ + 1.0 / double(rate), now);
  if (nowSeconds() < paceNext_) drain(true);  // this step's record goes out while the class watches
  while (nowSeconds() < paceNext_ && !control_.stopRequested.load() && control_.stepsPerSecond.load() == rate) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::clamp<std::int64_t>(
        std::int64_t((paceNext_ - nowSeconds()) * 1000.0), 1, 20)));
  }
}

void Trainer::reportProgress(std::int64_t step, bool force) {
  // At most ten reports a second: observers redraw or send on each.
  static constexpr double kMinInterval = 0.1;
  const double now = nowSeconds();
  if (progressClock_ < 0) {
    progressClock_ = now;
    progressStep_ = step;
    if (!force) return;
  }
  const double elapsed = now - progressClock_;
  if (!force && elapsed < kMinInterval) return;
  if (elapsed > 0 && step > progressStep_) stepsPerSecond_ = double(step - progressStep_) / elapsed;
  progressClock_ = now;
  progressStep_ = step;
  RunProgress p;
  p.step = step;
  p.totalSteps = totalSteps_;
  p.epoch = currentEpoch_;
  p.lastLoss = lastLoss_;
  p.lossScale = scaler_.scale();
  p.stepsPerSecond = stepsPerSecond_;
  p.etaSeconds = stepsPerSecond_ > 0 ? double(totalSteps_ - step) / stepsPerSecond_ : 0;
  observer_.onProgress(p);
}

RunOutcome Trainer::run() {
  RunStartInfo info;
  info.title = experiment_.title;
  info.config = toJson(experiment_);
  info.backend = backend_.info();
  info.backendNote = backendNote_;
  info.totalSteps = totalSteps_;
  info.epochs = experiment_.steps > 0 ? 0 : experiment_.epochs;
  info.stepsPerEpoch = BatchIterator(data_, experiment_.batchSize, experiment_.seed).batchesPerEpoch();
  info.layerNames = network_->layerNames();
  observer_.onStarted(info);

  outcome_.testLoss = std::numeric_limits<double>::quiet_NaN();
  try {
    trainAll();
  } catch (const std::exception& e) {
    if (failure_.empty()) failure_ = e.what();
  }
  outcome_.steps = lastStepDone_;
  outcome_.skippedSteps = scaler_.skippedSteps();
  outcome_.overflowEvents = scaler_.overflowCount();
  outcome_.finalLossScale = scaler_.scale();
  outcome_.medianStepMs = medianOf(stepMs_);
  outcome_.shadowPasses = std::int64_t(shadowMs_.size());
  outcome_.medianShadowMs = medianOf(shadowMs_);
  outcome_.stepCapture = runner_->summary();
  if (!failure_.empty()) {
    outcome_.status = RunStatus::failed;
    outcome_.error = failure_;
    outcome_.failedLayer = failedLayer_;
  } else {
    outcome_.status = control_.stopRequested.load() ? RunStatus::cancelled : RunStatus::completed;
  }
  if (std::isnan(outcome_.finalTrainLoss) || outcome_.finalTrainLoss == 0)
    if (epochLossCount_) outcome_.finalTrainLoss = epochLossSum_ / double(epochLossCount_);
  observer_.onFinished(outcome_);
  return outcome_;
}

void Trainer::trainAll() {
  BatchIterator batches(data_, experiment_.batchSize, experiment_.seed);
  std::int64_t step = 0;
  const std::int32_t evalInterval = experiment_.evalInterval;
  for (std::int32_t epoch = 0; step < totalSteps_; ++epoch) {
    currentEpoch_ = epoch;
    batches.startEpoch(epoch);
    epochLossSum_ = 0;
    epochLossCount_ = 0;
    while (step < totalSteps_) {
      waitWhilePaused(step);
      if (control_.stopRequested.load()) break;
      if (!batches.next(hostX_, hostY_)) break;  // the epoch is over
      ++step;
      trainStep(step, epoch);
      lastStepDone_ = step;
      keepPace();
      drain(false);
      if (!failure_.empty()) return;
      if (evalInterval > 0 && step % evalInterval == 0 && step < totalSteps_) evaluateEpoch(epoch, step, false);
      if (!failure_.empty()) return;
    }
    if (control_.stopRequested.load()) break;
    evaluateEpoch(epoch, step, true);
    if (!failure_.empty()) return;
  }
  drain(true);
  if (!failure_.empty()) return;
  reportProgress(step, true);
}

}  // namespace plab
