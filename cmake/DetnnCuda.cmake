# CUDA detection: DETNN_CUDA=AUTO builds the CUDA code when nvcc is found, ON requires it,
# OFF never builds it. cuDNN and NCCL live under /usr/local/cuda on the build machines and
# under /usr/include + /usr/lib/x86_64-linux-gnu on the GPU machines: look in both.
set(DETNN_HAVE_CUDA OFF)
if(NOT DETNN_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(DETNN_HAVE_CUDA ON)
  elseif(DETNN_CUDA STREQUAL "ON")
    message(FATAL_ERROR "DETNN_CUDA=ON but no CUDA compiler (nvcc) was found")
  endif()
endif()

if(DETNN_HAVE_CUDA)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 80 90)
  endif()
  enable_language(CUDA)
  # CMake 3.25 does not know nvcc's C++20 flag (the CUDA20 dialect); nvcc has it since 12.0.
  if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
  endif()
  set(CMAKE_CUDA_STANDARD 20)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  find_package(CUDAToolkit REQUIRED)

  set(_detnn_cuda_roots "${CUDAToolkit_LIBRARY_ROOT}" /usr/local/cuda /usr)
  find_path(CUDNN_INCLUDE_DIR cudnn.h
    HINTS ${CUDAToolkit_INCLUDE_DIRS} PATHS ${_detnn_cuda_roots} PATH_SUFFIXES include)
  find_library(CUDNN_LIBRARY cudnn
    HINTS ${CUDAToolkit_LIBRARY_DIR} PATHS ${_detnn_cuda_roots}
    PATH_SUFFIXES lib64 lib lib/x86_64-linux-gnu)
  find_path(NCCL_INCLUDE_DIR nccl.h
    HINTS ${CUDAToolkit_INCLUDE_DIRS} PATHS ${_detnn_cuda_roots} PATH_SUFFIXES include)
  find_library(NCCL_LIBRARY nccl
    HINTS ${CUDAToolkit_LIBRARY_DIR} PATHS ${_detnn_cuda_roots}
    PATH_SUFFIXES lib64 lib lib/x86_64-linux-gnu)
  foreach(_v CUDNN_INCLUDE_DIR CUDNN_LIBRARY NCCL_INCLUDE_DIR NCCL_LIBRARY)
    if(NOT ${_v})
      message(FATAL_ERROR "CUDA build: ${_v} not found (looked under ${_detnn_cuda_roots}); "
                          "install cuDNN 9 and NCCL, or configure with -DDETNN_CUDA=OFF")
    endif()
  endforeach()
  message(STATUS "cuDNN: ${CUDNN_LIBRARY}; NCCL: ${NCCL_LIBRARY}")
endif()
