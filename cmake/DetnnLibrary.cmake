# libdetnn.a: every source of the library folders (DESIGN §9, docs/architecture.md). One rule for
# every folder: .cu files and host files whose name ends in _cuda.cpp are built only when CUDA is
# on, so the CPU-only build needs no toolkit; files ending in _mpi.cpp only when MPI is
# (cmake/DetnnMpi.cmake).
set(_dirs runtime runtime/alloc runtime/io runtime/comm kernels/cpu kernels/cuda kernels/vendor
          layers optim data session capi)
set(DETNN_SOURCES "")
foreach(d ${_dirs})
  file(GLOB _s CONFIGURE_DEPENDS "${CMAKE_SOURCE_DIR}/${d}/*.cpp" "${CMAKE_SOURCE_DIR}/${d}/*.cu")
  list(APPEND DETNN_SOURCES ${_s})
endforeach()
if(NOT DETNN_HAVE_CUDA)
  list(FILTER DETNN_SOURCES EXCLUDE REGEX "(_cuda\\.cpp|\\.cu)$")
endif()
if(NOT DETNN_HAVE_MPI)
  list(FILTER DETNN_SOURCES EXCLUDE REGEX "_mpi\\.cpp$")
endif()
list(REMOVE_DUPLICATES DETNN_SOURCES)
set(DETNN_CPU_X86 OFF)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64|i.86)$")
  set(DETNN_CPU_X86 ON)
else()
  list(FILTER DETNN_SOURCES EXCLUDE REGEX "dot_tile_avx[0-9]*\\.cpp$")
endif()

add_library(detnn STATIC ${DETNN_SOURCES})
# stb_image, third-party C compiled in data/stb_decoder.cpp alone, adds hostile JPEG coefficients
# in int and lets them overflow: -fwrapv makes that wrap-around defined. Debian's version (2022-09)
# also shifts by 32 and copies zero bytes from NULL on hostile files (fuzz/image_fuzzer): UBSan's
# checks are off for that one file, AddressSanitizer's stay on, and data/image_guards.h refuses
# the files that made it write or allocate out of bounds. Valid images never overflow, so their
# pixels are unchanged.
set(_stb_options -fwrapv)
if(DETNN_SANITIZE)
  list(APPEND _stb_options -fno-sanitize=undefined)
endif()
set_source_files_properties("${CMAKE_SOURCE_DIR}/data/stb_decoder.cpp" PROPERTIES COMPILE_OPTIONS "${_stb_options}"
                            SKIP_PRECOMPILE_HEADERS ON)  # the shared header set is built without them
# The C++ sources share a precompiled set of the heaviest headers they use (nlohmann-json above
# all): a build-time saving only, each file still includes what it uses.
target_precompile_headers(detnn PRIVATE
  "$<$<COMPILE_LANGUAGE:CXX>:<nlohmann/json.hpp$<ANGLE-R>>"
  "$<$<COMPILE_LANGUAGE:CXX>:<functional$<ANGLE-R>>"
  "$<$<COMPILE_LANGUAGE:CXX>:<map$<ANGLE-R>>"
  "$<$<COMPILE_LANGUAGE:CXX>:<memory$<ANGLE-R>>"
  "$<$<COMPILE_LANGUAGE:CXX>:<string$<ANGLE-R>>"
  "$<$<COMPILE_LANGUAGE:CXX>:<vector$<ANGLE-R>>")
add_dependencies(detnn detnn_git_info)
target_include_directories(detnn PUBLIC
  $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}>
  $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>
  $<BUILD_INTERFACE:${CMAKE_BINARY_DIR}/generated>
  $<INSTALL_INTERFACE:include>)
target_link_libraries(detnn PUBLIC detnn_fp Threads::Threads PRIVATE $<BUILD_INTERFACE:nlohmann_json::nlohmann_json> OpenSSL::Crypto ZLIB::ZLIB)
target_compile_options(detnn PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter>)
target_compile_definitions(detnn PRIVATE
  DETNN_VERSION_STRING="${PROJECT_VERSION}"
  DETNN_CXX_COMPILER="${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}"
  DETNN_HOST_FLAGS="${DETNN_HOST_FP_FLAGS}$<$<BOOL:${DETNN_NATIVE}>: -march=native>"
  DETNN_CUDA_FLAGS="${DETNN_CUDA_FP_FLAGS}"
  DETNN_BUILD_TYPE="${CMAKE_BUILD_TYPE}")
if(DETNN_HAVE_MPI)
  target_compile_definitions(detnn PRIVATE DETNN_HAVE_MPI=1)
  target_link_libraries(detnn PUBLIC MPI::MPI_C)
endif()
if(DETNN_HAVE_CUDA)
  target_compile_definitions(detnn PUBLIC DETNN_HAVE_CUDA=1)
  # A CMake list ("80;90") would split the definition: record it as "80 90".
  string(REPLACE ";" " " _detnn_archs "${CMAKE_CUDA_ARCHITECTURES}")
  target_compile_definitions(detnn PRIVATE DETNN_CUDA_ARCHS="${_detnn_archs}")
  target_include_directories(detnn PUBLIC ${CUDNN_INCLUDE_DIR} ${NCCL_INCLUDE_DIR})
  target_link_libraries(detnn PUBLIC CUDA::cudart CUDA::cublas CUDA::cublasLt ${CUDNN_LIBRARY} ${NCCL_LIBRARY})
  set_target_properties(detnn PROPERTIES CUDA_SEPARABLE_COMPILATION OFF)
  target_compile_options(detnn PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-lineinfo --expt-relaxed-constexpr>)
endif()
# The CPU microkernels of each instruction set (kernels/cpu/dot_tile.h) are compiled for it
# whatever DETNN_NATIVE says and picked at run time, so a portable build is as fast as a native
# one. They include only intrinsics (no shared header is compiled with those flags), and
# without the precompiled headers, which are built with the target's own flags.
if(DETNN_CPU_X86)
  set_source_files_properties("${CMAKE_SOURCE_DIR}/kernels/cpu/dot_tile_avx2.cpp" PROPERTIES
                              COMPILE_OPTIONS "-mavx2;-mfma" SKIP_PRECOMPILE_HEADERS ON)
  set_source_files_properties("${CMAKE_SOURCE_DIR}/kernels/cpu/dot_tile_avx512.cpp" PROPERTIES
                              COMPILE_OPTIONS "-mavx512f;-mfma" SKIP_PRECOMPILE_HEADERS ON)
endif()
