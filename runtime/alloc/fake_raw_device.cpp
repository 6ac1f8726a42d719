#include "runtime/alloc/fake_raw_device.h"

#include "runtime/error.h"

namespace detnn::alloc {

namespace {
// Far from zero, so a fake address is never mistaken for nullptr or a small integer, and
// 2 MiB-aligned like real device segments.
constexpr std::uintptr_t kFakeAddressBase = std::uintptr_t{1} << 40;
constexpr std::size_t kFakeAlignment = 512;
}  // namespace

FakeRawDevice::FakeRawDevice(std::size_t budget_bytes)
    : budget_(budget_bytes), next_address_(kFakeAddressBase) {}

void* FakeRawDevice::malloc(std::size_t bytes) {
  DETNN_CHECK(bytes > 0, invalid_argument, "FakeRawDevice::malloc of 0 bytes");
  std::lock_guard<std::mutex> lock(mutex_);
  if (bytes > budget_ || bytes_in_use_ > budget_ - bytes) {
    ++refused_count_;
    return nullptr;
  }
  const std::uintptr_t address = next_address_;
  next_address_ += (bytes + kFakeAlignment - 1) / kFakeAlignment * kFakeAlignment;
  allocations_.emplace(address, bytes);
  bytes_in_use_ += bytes;
  ++malloc_count_;
  return reinterpret_cast<void*>(address);
}

void FakeRawDevice::free(void* ptr) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = allocations_.find(reinterpret_cast<std::uintptr_t>(ptr));
  if (it == allocations_.end()) {
    DETNN_THROW(internal, "FakeRawDevice::free of ", ptr, ", which it did not hand out");
  }
  bytes_in_use_ -= it->second;
  allocations_.erase(it);
  ++free_count_;
}

EventId FakeRawDevice::record_event(StreamId stream) {
  std::lock_guard<std::mutex> lock(mutex_);
  const EventId id = next_event_++;
  events_.emplace(id, Event{stream, false});
  return id;
}

FakeRawDevice::Event& FakeRawDevice::event_or_throw(EventId event) {
  auto it = events_.find(event);
  if (it == events_.end()) DETNN_THROW(internal, "FakeRawDevice: unknown or released event ", event);
  return it->second;
}

bool FakeRawDevice::query_event(EventId event) {
  std::lock_guard<std::mutex> lock(mutex_);
  return event_or_throw(event).complete;
}

void FakeRawDevice::synchronize_event(EventId event) {
  std::lock_guard<std::mutex> lock(mutex_);
  event_or_throw(event).complete = true;
  ++synchronize_count_;
}

void FakeRawDevice::release_event(EventId event) {
  std::lock_guard<std::mutex> lock(mutex_);
  event_or_throw(event);
  events_.erase(event);
}

DeviceMemoryInfo FakeRawDevice::memory_info() {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::size_t free_bytes = bytes_in_use_ < budget_ ? budget_ - bytes_in_use_ : 0;
  return DeviceMemoryInfo{free_bytes, budget_};
}

void FakeRawDevice::complete_event(EventId event) {
  std::lock_guard<std::mutex> lock(mutex_);
  event_or_throw(event).complete = true;
}

void FakeRawDevice::complete_all_events() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [id, event] : events_) event.complete = true;
}

void FakeRawDevice::set_budget(std::size_t budget_bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  budget_ = budget_bytes;
}

std::size_t FakeRawDevice::budget() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return budget_;
}

std::size_t FakeRawDevice::bytes_in_use() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return bytes_in_use_;
}

std::size_t FakeRawDevice::live_allocation_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return allocations_.size();
}

std::uint64_t FakeRawDevice::malloc_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return malloc_count_;
}

std::uint64_t FakeRawDevice::free_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return free_count_;
}

std::uint64_t FakeRawDevice::refused_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return refused_count_;
}

std::size_t FakeRawDevice::live_event_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_.size();
}

std::size_t FakeRawDevice::incomplete_event_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t count = 0;
  for (const auto& [id, event] : events_) count += event.complete ? 0 : 1;
  return count;
}

std::size_t FakeRawDevice::live_events_on(StreamId stream) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t count = 0;
  for (const auto& [id, event] : events_) count += event.stream == stream ? 1 : 0;
  return count;
}

std::uint64_t FakeRawDevice::synchronize_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return synchronize_count_;
}

std::uint64_t FakeRawDevice::events_recorded() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return next_event_ - 1;
}

}  // namespace detnn::alloc
