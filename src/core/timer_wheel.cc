#include "core/timer_wheel.h"

namespace rampart::core {

Timer::~Timer() {
  if (wheel_ != nullptr) wheel_->cancel(this);
}

TimerWheel::TimerWheel(int64_t now_ms)
    : slots_(kSlots + 1, nullptr), last_tick_(now_ms / kTickMs) {}

TimerWheel::~TimerWheel() {
  for (Timer* head : slots_) {
    while (head != nullptr) {
      Timer* next = head->next_;
      head->wheel_ = nullptr;
      head->prev_ = head->next_ = nullptr;
      head = next;
    }
  }
}

void TimerWheel::link(Timer* t, size_t slot) {
  t->wheel_ = this;
  t->slot_ = slot;
  t->prev_ = nullptr;
  t->next_ = slots_[slot];
  if (t->next_ != nullptr) t->next_->prev_ = t;
  slots_[slot] = t;
  ++count_;
}

void TimerWheel::unlink(Timer* t) {
  if (t->prev_ != nullptr)
    t->prev_->next_ = t->next_;
  else
    slots_[t->slot_] = t->next_;
  if (t->next_ != nullptr) t->next_->prev_ = t->prev_;
  t->prev_ = t->next_ = nullptr;
  t->wheel_ = nullptr;
  --count_;
}

void TimerWheel::schedule(Timer* t, int64_t expiry_ms) {
  if (t->wheel_ != nullptr) unlink(t);
  // Round up: the slot of tick t is visited once now >= t * kTickMs, which must be >= expiry.
  int64_t tick = (expiry_ms + kTickMs - 1) / kTickMs;
  // A timer can never land in a slot that advance() has already passed in this revolution.
  if (tick <= last_tick_) tick = last_tick_ + 1;
  t->expiry_ms_ = expiry_ms;
  link(t, static_cast<size_t>(tick) % kSlots);
}

void TimerWheel::cancel(Timer* t) {
  if (t->wheel_ == this) unlink(t);
}

void TimerWheel::advance(int64_t now_ms) {
  int64_t now_tick = now_ms / kTickMs;
  if (now_tick <= last_tick_) return;
  // Far behind: one pass over every slot covers every tick in between.
  int64_t first = now_tick - last_tick_ > int64_t{kSlots} ? now_tick - kSlots + 1 : last_tick_ + 1;
  last_tick_ = now_tick;
  for (int64_t tick = first; tick <= now_tick; ++tick) {
    size_t slot = static_cast<size_t>(tick) % kSlots;
    for (Timer* t = slots_[slot]; t != nullptr;) {
      Timer* next = t->next_;
      if (t->expiry_ms_ <= now_ms) {
        unlink(t);
        link(t, kFiring);
      }
      t = next;
    }
  }
  // Fire from a list of their own: a callback may cancel or re-arm any timer, this one included.
  while (Timer* t = slots_[kFiring]) {
    unlink(t);
    t->on_timer();
  }
}

}  // namespace rampart::core
