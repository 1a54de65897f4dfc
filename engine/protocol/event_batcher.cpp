#include "protocol/event_batcher.h"

#include <algorithm>
#include <cmath>

namespace plab::protocol {
namespace {

// Refills add fractions of a token; without slack, rounding could leave 0.9999999
// at the instant nextDue() promised a whole one.
constexpr double kTokenSlack = 1e-9;

template <class Batch, class Field>
void appendAll(Event& into, Event&& more, Field Batch::*field) {
  auto& target = std::get<Batch>(into).*field;
  auto& source = std::get<Batch>(more).*field;
  target.insert(target.end(), std::make_move_iterator(source.begin()), std::make_move_iterator(source.end()));
}

}  // namespace

EventBatcher::EventBatcher(Options options) : options_(options), tokens_(options.burst), pending_(kSlots) {}

bool EventBatcher::isControl(const Event& e) {
  return std::holds_alternative<Hello>(e) || std::holds_alternative<RunStarted>(e) ||
         std::holds_alternative<ErrorMessage>(e) || std::holds_alternative<RunFinished>(e);
}

void EventBatcher::merge(Event& into, Event&& more) {
  if (std::holds_alternative<StepsBatch>(more)) appendAll(into, std::move(more), &StepsBatch::steps);
  else if (std::holds_alternative<OverflowBatch>(more)) appendAll(into, std::move(more), &OverflowBatch::events);
  else if (std::holds_alternative<ScaleGrowthBatch>(more)) appendAll(into, std::move(more), &ScaleGrowthBatch::events);
  else if (std::holds_alternative<PromotionBatch>(more)) appendAll(into, std::move(more), &PromotionBatch::events);
  else if (std::holds_alternative<EpochBatch>(more)) appendAll(into, std::move(more), &EpochBatch::epochs);
  else if (std::holds_alternative<LayerStatsBatch>(more)) appendAll(into, std::move(more), &LayerStatsBatch::records);
  else if (std::holds_alternative<SpeedBatch>(more)) appendAll(into, std::move(more), &SpeedBatch::results);
  else if (std::holds_alternative<LogBatch>(more)) appendAll(into, std::move(more), &LogBatch::entries);
  else into = std::move(more);  // progress: the latest replaces the older one
}

void EventBatcher::add(Event event, Clock::time_point now) {
  refill(now);
  if (isControl(event)) {
    // Whatever was recorded before it goes out before it.
    for (auto& e : takeAll()) ready_.push_back(std::move(e));
    ready_.push_back(std::move(event));
    return;
  }
  auto& slot = pending_[event.index()];
  if (slot) merge(*slot, std::move(event));
  else slot = std::move(event);
}

void EventBatcher::refill(Clock::time_point now) {
  if (lastRefill_ && now > *lastRefill_) {
    const double seconds = std::chrono::duration<double>(now - *lastRefill_).count();
    tokens_ = std::min(options_.burst, tokens_ + seconds * options_.linesPerSecond);
  }
  if (!lastRefill_ || now > *lastRefill_) lastRefill_ = now;
}

std::vector<Event> EventBatcher::take(Clock::time_point now) {
  refill(now);
  std::vector<Event> out = std::move(ready_);
  ready_.clear();
  // Round robin from where the last call stopped, one token per line.
  for (std::size_t visited = 0; visited < kSlots && tokens_ >= 1.0 - kTokenSlack; ++visited) {
    auto& slot = pending_[nextSlot_];
    nextSlot_ = (nextSlot_ + 1) % kSlots;
    if (!slot) continue;
    out.push_back(std::move(*slot));
    slot.reset();
    tokens_ -= 1.0;
  }
  return out;
}

std::vector<Event> EventBatcher::takeAll() {
  std::vector<Event> out = std::move(ready_);
  ready_.clear();
  for (auto& slot : pending_) {
    if (!slot) continue;
    out.push_back(std::move(*slot));
    slot.reset();
  }
  return out;
}

bool EventBatcher::hasPending() const {
  return !ready_.empty() || std::any_of(pending_.begin(), pending_.end(), [](const auto& s) { return s.has_value(); });
}

std::optional<EventBatcher::Clock::time_point> EventBatcher::nextDue(Clock::time_point now) const {
  if (!ready_.empty()) return now;
  if (!hasPending()) return std::nullopt;
  double tokens = tokens_;
  if (lastRefill_ && now > *lastRefill_)
    tokens = std::min(options_.burst, tokens + std::chrono::duration<double>(now - *lastRefill_).count() * options_.linesPerSecond);
  if (tokens >= 1.0 - kTokenSlack) return now;
  const double wait = (1.0 - tokens) / options_.linesPerSecond;
  // Rounded up, so that take() at the returned time finds the token there.
  return now + std::chrono::ceil<Clock::duration>(std::chrono::duration<double>(wait));
}

}  // namespace plab::protocol
