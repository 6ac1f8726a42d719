# `cmake --install`: libdetnn.a, the public headers (include/detnn/*.h, *.hpp), a CMake package
# (find_package(detnn CONFIG) -> detnn::detnn) and a pkg-config file (detnn.pc). Both are
# relocatable: the prefix can be chosen at install time (cmake --install build --prefix DIR).
# The static library needs its private dependencies at the user's link: OpenSSL's libcrypto, zlib,
# threads, the C++ runtime, in a CUDA build cudart, cuBLAS(Lt), cuDNN and NCCL, and MPI's C library
# when it was built with MPI. nlohmann-json
# is header-only and private to the library: users do not need it.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(DETNN_CMAKE_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/detnn")

install(TARGETS detnn detnn_fp EXPORT detnnTargets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(DIRECTORY "${CMAKE_SOURCE_DIR}/include/detnn" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
  FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp" PATTERN "detnn_onnx.h" EXCLUDE)  # export/: built in the tree only
install(EXPORT detnnTargets NAMESPACE detnn:: DESTINATION "${DETNN_CMAKE_INSTALL_DIR}")

configure_package_config_file("${CMAKE_SOURCE_DIR}/cmake/detnnConfig.cmake.in"
  "${CMAKE_BINARY_DIR}/package/detnnConfig.cmake" INSTALL_DESTINATION "${DETNN_CMAKE_INSTALL_DIR}")
write_basic_package_version_file("${CMAKE_BINARY_DIR}/package/detnnConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}" COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_BINARY_DIR}/package/detnnConfig.cmake" "${CMAKE_BINARY_DIR}/package/detnnConfigVersion.cmake"
  DESTINATION "${DETNN_CMAKE_INSTALL_DIR}")

# pkg-config: the prefix is found relative to the .pc file (${pcfiledir}), so it relocates.
file(RELATIVE_PATH DETNN_PC_PREFIX_FROM_PCDIR "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
string(REGEX REPLACE "/$" "" DETNN_PC_PREFIX_FROM_PCDIR "${DETNN_PC_PREFIX_FROM_PCDIR}")
set(DETNN_PC_CUDA_LIBS "")
if(DETNN_HAVE_CUDA)
  set(_dirs "${CUDAToolkit_LIBRARY_DIR}")
  get_filename_component(_d "${CUDNN_LIBRARY}" DIRECTORY)
  list(APPEND _dirs "${_d}")
  get_filename_component(_d "${NCCL_LIBRARY}" DIRECTORY)
  list(APPEND _dirs "${_d}")
  list(REMOVE_DUPLICATES _dirs)
  foreach(_d ${_dirs})
    string(APPEND DETNN_PC_CUDA_LIBS "-L${_d} -Wl,-rpath,${_d} ")
  endforeach()
  string(APPEND DETNN_PC_CUDA_LIBS "-lcudnn -lnccl -lcublasLt -lcublas -lcudart")
endif()
set(DETNN_PC_MPI_LIBS "")
if(DETNN_HAVE_MPI)
  foreach(_l ${MPI_C_LIBRARIES})
    string(APPEND DETNN_PC_MPI_LIBS "${_l} ")
  endforeach()
endif()
configure_file("${CMAKE_SOURCE_DIR}/cmake/detnn.pc.in" "${CMAKE_BINARY_DIR}/package/detnn.pc" @ONLY)
install(FILES "${CMAKE_BINARY_DIR}/package/detnn.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
