// Tensor (DESIGN §5): a shape of at most 5 dims (NCHW for images), an element type, a device,
// and contiguous row-major storage owned through the allocator (aligned host memory on the
// CPU, the caching allocator on CUDA). Copies of a Tensor share its storage; there is no
// autograd tape (layers own their backward).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>

#include "runtime/device.h"
#include "runtime/dtype.h"
#include "runtime/error.h"

namespace detnn {

class Shape {
 public:
  static constexpr int kMaxDims = 5;
  Shape() = default;  // 0-d: one element
  // Throws Error(invalid_argument) for more than 5 dims or a negative extent, naming the shape.
  Shape(std::initializer_list<int64_t> dims);
  Shape(const int64_t* dims, int ndim);

  int ndim() const { return ndim_; }
  int64_t operator[](int i) const { return dims_[i]; }
  int64_t numel() const;
  bool operator==(const Shape& other) const;
  std::string to_string() const;  // "[64, 3, 32, 32]"

 private:
  void validate() const;
  int ndim_ = 0;
  int64_t dims_[kMaxDims] = {0, 0, 0, 0, 0};
};

// The bytes behind a tensor. Freed through the allocator that made them.
class Storage {
 public:
  Storage(void* data, size_t bytes, Device device, void (*release)(void*, Device));
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_;
  size_t bytes_;
  Device device_;
  void (*release_)(void*, Device);
};

class Tensor {
 public:
  Tensor() = default;  // holds nothing; defined() is false

  // Uninitialized storage. On CUDA it comes from the device's caching allocator for work on
  // `stream` (a cudaStream_t as an integer; 0 is the default stream).
  static Tensor empty(const Shape& shape, DType dtype, Device device, uintptr_t stream = 0);
  static Tensor zeros(const Shape& shape, DType dtype, Device device, uintptr_t stream = 0);
  // A CPU tensor holding a copy of `bytes` (which must be shape.numel() * dtype_size bytes).
  static Tensor from_host(const Shape& shape, DType dtype, const void* bytes, size_t size);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device() : Device::cpu(); }
  int64_t numel() const { return shape_.numel(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  void* raw_data() const { return storage_ ? storage_->data() : nullptr; }

  // Typed access; throws Error(invalid_argument) when T does not match the dtype.
  template <typename T>
  T* data() const {
    check_element_type(sizeof(T), dtype_for<T>());
    return static_cast<T*>(raw_data());
  }

  // A copy on `device` (synchronous for host<->device copies).
  Tensor to(Device device) const;
  // Copies other's bytes into this tensor; shapes and dtypes must match (errors name both).
  void copy_from(const Tensor& other);
  // The same storage seen with another shape of the same element count.
  Tensor reshaped(const Shape& shape) const;

 private:
  template <typename T>
  static constexpr DType dtype_for();
  void check_element_type(size_t size, DType dtype) const;

  std::shared_ptr<Storage> storage_;
  Shape shape_;
  DType dtype_ = DType::f32;
};

template <typename T>
constexpr DType Tensor::dtype_for() {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, const float>) return DType::f32;
  else if constexpr (std::is_same_v<T, double> || std::is_same_v<T, const double>) return DType::f64;
  else if constexpr (std::is_same_v<T, int32_t> || std::is_same_v<T, const int32_t>) return DType::i32;
  else if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, const int64_t>) return DType::i64;
  else {
    static_assert(std::is_same_v<T, uint8_t> || std::is_same_v<T, const uint8_t>, "unsupported element type");
    return DType::u8;
  }
}

namespace detail {
// The CUDA side of Tensor (tensor_cuda.cpp); throw Error(unsupported) in a CPU-only build.
void* cuda_storage_allocate(int device, size_t bytes, uintptr_t stream);
void cuda_storage_release(void* ptr, Device device);
void cuda_copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);
void cuda_fill_zero(void* dst, int device, size_t bytes, uintptr_t stream);
}  // namespace detail

}  // namespace detnn
