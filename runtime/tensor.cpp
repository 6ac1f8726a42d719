#include "runtime/tensor.h"

#include <cstdlib>
#include <cstring>
#include <limits>
#include <type_traits>

#include "runtime/alloc/host_cache.h"

namespace detnn {

Shape::Shape(std::initializer_list<int64_t> dims) {
  DETNN_CHECK(dims.size() <= kMaxDims, invalid_argument, "a tensor has at most ", kMaxDims,
              " dims, got ", dims.size());
  for (int64_t d : dims) dims_[ndim_++] = d;
  validate();
}

Shape::Shape(const int64_t* dims, int ndim) {
  DETNN_CHECK(ndim >= 0 && ndim <= kMaxDims, invalid_argument, "a tensor has at most ", kMaxDims,
              " dims, got ", ndim);
  for (int i = 0; i < ndim; ++i) dims_[ndim_++] = dims[i];
  validate();
}

void Shape::validate() const {
  for (int i = 0; i < ndim_; ++i)
    DETNN_CHECK(dims_[i] >= 0, invalid_argument, "shape ", to_string(), ": dim ", i, " is negative");
  int64_t n = 1;
  for (int i = 0; i < ndim_; ++i) {
    DETNN_CHECK(dims_[i] == 0 || n <= std::numeric_limits<int64_t>::max() / dims_[i], invalid_argument,
                "shape ", to_string(), " has more elements than fit in 64 bits");
    n *= dims_[i];
  }
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < ndim_; ++i) n *= dims_[i];
  return n;
}

bool Shape::operator==(const Shape& other) const {
  if (ndim_ != other.ndim_) return false;
  for (int i = 0; i < ndim_; ++i)
    if (dims_[i] != other.dims_[i]) return false;
  return true;
}

std::string Shape::to_string() const {
  std::string s = "[";
  for (int i = 0; i < ndim_; ++i) s += (i ? ", " : "") + std::to_string(dims_[i]);
  return s + "]";
}

Storage::Storage(void* data, size_t bytes, Device device, void (*release)(void*, Device))
    : data_(data), bytes_(bytes), device_(device), release_(release) {}

Storage::~Storage() {
  if (data_ && release_) release_(data_, device_);
}

namespace {
void release_host(void* p, Device) { alloc::host_release(p); }

std::shared_ptr<Storage> allocate_storage(size_t bytes, Device device, uintptr_t stream) {
  if (device.is_cuda()) {
    void* p = bytes ? detail::cuda_storage_allocate(device.index, bytes, stream) : nullptr;
    return std::make_shared<Storage>(p, bytes, device, &detail::cuda_storage_release);
  }
  void* p = bytes ? alloc::host_allocate(bytes) : nullptr;  // large blocks are reused (host_cache.h)
  return std::make_shared<Storage>(p, bytes, device, &release_host);
}
}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device, uintptr_t stream) {
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.storage_ = allocate_storage(t.nbytes(), device, stream);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device, uintptr_t stream) {
  Tensor t = empty(shape, dtype, device, stream);
  if (t.nbytes() == 0) return t;
  if (device.is_cuda())
    detail::cuda_fill_zero(t.raw_data(), device.index, t.nbytes(), stream);
  else
    std::memset(t.raw_data(), 0, t.nbytes());
  return t;
}

Tensor Tensor::from_host(const Shape& shape, DType dtype, const void* bytes, size_t size) {
  Tensor t = empty(shape, dtype, Device::cpu());
  DETNN_CHECK(size == t.nbytes(), invalid_argument, "from_host: shape ", shape.to_string(), " of ",
              dtype_name(dtype), " needs ", t.nbytes(), " bytes, got ", size);
  if (size) std::memcpy(t.raw_data(), bytes, size);
  return t;
}

void Tensor::check_element_type(size_t size, DType dtype) const {
  DETNN_CHECK(dtype == dtype_ && size == dtype_size(dtype_), invalid_argument, "tensor of ",
              dtype_name(dtype_), " accessed as ", dtype_name(dtype));
}

Tensor Tensor::to(Device device) const {
  DETNN_CHECK(defined(), invalid_argument, "to(", device.to_string(), "): the tensor is undefined");
  Tensor t = empty(shape_, dtype_, device);
  t.copy_from(*this);
  return t;
}

void Tensor::copy_from(const Tensor& other) {
  DETNN_CHECK(defined() && other.defined(), invalid_argument, "copy_from: undefined tensor");
  DETNN_CHECK(shape_ == other.shape_ && dtype_ == other.dtype_, invalid_argument, "copy_from: ",
              dtype_name(other.dtype_), other.shape_.to_string(), " into ", dtype_name(dtype_),
              shape_.to_string());
  if (nbytes() == 0) return;
  if (!device().is_cuda() && !other.device().is_cuda())
    std::memcpy(raw_data(), other.raw_data(), nbytes());
  else
    detail::cuda_copy_bytes(raw_data(), device(), other.raw_data(), other.device(), nbytes());
}

Tensor Tensor::reshaped(const Shape& shape) const {
  DETNN_CHECK(shape.numel() == numel(), invalid_argument, "reshape ", shape_.to_string(), " (",
              numel(), " elements) to ", shape.to_string(), " (", shape.numel(), ")");
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

#ifndef DETNN_HAVE_CUDA
namespace detail {
[[noreturn]] static void no_cuda() {
  DETNN_THROW(unsupported, "this detnn was built without CUDA (configure with -DDETNN_CUDA=ON)");
}
void* cuda_storage_allocate(int, size_t, uintptr_t) { no_cuda(); }
void cuda_storage_release(void*, Device) {}
void cuda_copy_bytes(void*, Device, const void*, Device, size_t) { no_cuda(); }
void cuda_fill_zero(void*, int, size_t, uintptr_t) { no_cuda(); }
}  // namespace detail
#endif

}  // namespace detnn
