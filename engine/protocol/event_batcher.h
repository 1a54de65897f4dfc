#pragma once
// Keeps the worker's stdout at about 30 lines a second whatever the step rate
// (docs/architecture.md, "Process model": at most ~30 messages a second).
//
// Records of one type are merged into one message (all pending steps in one "steps"
// line, all pending overflows in one "overflow" line, ...); nothing is dropped except
// superseded progress (only the latest counts). A token bucket spends one token per
// line; types take turns so that a flood of steps cannot starve the overflows.
// hello, run_started, error and run_finished are never held back: before one of them
// goes out, everything pending goes out first, so a run's last line is run_finished.
//
// Time is passed in (not read from a clock), so tests drive it without sleeping.
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "protocol/messages.h"

namespace plab::protocol {

class EventBatcher {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    double linesPerSecond = 30;   // sustained rate of batched lines
    double burst = 3;             // lines that may go out at once after a quiet spell
  };

  explicit EventBatcher(Options options);
  EventBatcher() : EventBatcher(Options{}) {}

  // Queues an event; batch types merge with what is pending of the same type.
  void add(Event event, Clock::time_point now);
  // The lines that may go out at `now`, in the order to write them.
  std::vector<Event> take(Clock::time_point now);
  // Everything pending, whatever the budget (end of run, before exiting).
  std::vector<Event> takeAll();

  bool hasPending() const;
  // When take() will next have something to give (a worker sleeps until then).
  std::optional<Clock::time_point> nextDue(Clock::time_point now) const;

 private:
  // One slot per batch type, indexed by the Event variant's index.
  static constexpr std::size_t kSlots = std::variant_size_v<Event>;
  void refill(Clock::time_point now);
  static bool isControl(const Event& e);
  static void merge(Event& into, Event&& more);

  Options options_;
  double tokens_;
  std::optional<Clock::time_point> lastRefill_;
  std::vector<std::optional<Event>> pending_;   // kSlots entries
  std::vector<Event> ready_;                    // control messages and what must precede them
  std::size_t nextSlot_ = 0;                    // round robin over the slots
};

}  // namespace plab::protocol
