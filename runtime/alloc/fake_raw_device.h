// A raw device without memory, for tests of the caching allocator and of code built on it:
// a byte budget, addresses from a fake address space, counters, and events that complete only
// when a test says so. The addresses must never be dereferenced. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>

#include "runtime/alloc/raw_device.h"

namespace detnn::alloc {

class FakeRawDevice final : public RawDevice {
 public:
  explicit FakeRawDevice(std::size_t budget_bytes);

  // nullptr (a refusal) when bytes in use would exceed the budget. Addresses are 512-aligned,
  // never overlap and are never reused, so a stale pointer cannot alias a new segment.
  void* malloc(std::size_t bytes) override;
  // Throws Error(internal) for an address it did not hand out (or already took back).
  void free(void* ptr) override;

  // Events start incomplete; ids start at 1 and are never reused.
  EventId record_event(StreamId stream) override;
  bool query_event(EventId event) override;
  void synchronize_event(EventId event) override;  // completes it, as if the wait had ended
  void release_event(EventId event) override;
  DeviceMemoryInfo memory_info() override;

  // Test controls.
  void complete_event(EventId event);
  void complete_all_events();
  void set_budget(std::size_t budget_bytes);  // below bytes_in_use only stops new mallocs

  std::size_t budget() const;
  std::size_t bytes_in_use() const;
  std::size_t live_allocation_count() const;
  std::uint64_t malloc_count() const;     // successful mallocs
  std::uint64_t free_count() const;
  std::uint64_t refused_count() const;    // mallocs answered with nullptr
  std::size_t live_event_count() const;   // recorded and not yet released
  std::size_t incomplete_event_count() const;  // live and not completed
  std::size_t live_events_on(StreamId stream) const;
  std::uint64_t synchronize_count() const;
  std::uint64_t events_recorded() const;

 private:
  struct Event {
    StreamId stream;
    bool complete;
  };
  Event& event_or_throw(EventId event);

  mutable std::mutex mutex_;
  std::size_t budget_;
  std::size_t bytes_in_use_ = 0;
  std::uintptr_t next_address_;
  std::map<std::uintptr_t, std::size_t> allocations_;  // address -> bytes
  std::map<EventId, Event> events_;
  EventId next_event_ = 1;
  std::uint64_t malloc_count_ = 0;
  std::uint64_t free_count_ = 0;
  std::uint64_t refused_count_ = 0;
  std::uint64_t synchronize_count_ = 0;
};

}  // namespace detnn::alloc
