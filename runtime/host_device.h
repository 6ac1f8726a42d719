// DETNN_HD marks small functions that must give the same bits on the host and the device.
#pragma once

#if defined(__CUDACC__)
#define DETNN_HD __host__ __device__ __forceinline__
#else
#define DETNN_HD inline
#endif
