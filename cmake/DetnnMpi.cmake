# Optional MPI (OpenMPI from Debian): the ranks of a run launched by mpirun meet through MPI, and
# CPU ranks move their bytes with it (runtime/comm/mpi_comm.h); without it they meet at rank 0's
# TCP store (MASTER_ADDR/MASTER_PORT). DETNN_MPI: AUTO (on when MPI is found), ON (required) or OFF.
set(DETNN_MPI AUTO CACHE STRING "MPI for mpirun launches: AUTO, ON or OFF")
set_property(CACHE DETNN_MPI PROPERTY STRINGS AUTO ON OFF)
set(DETNN_HAVE_MPI OFF)
if(NOT DETNN_MPI STREQUAL "OFF")
  find_package(MPI COMPONENTS C QUIET)
  if(MPI_C_FOUND)
    set(DETNN_HAVE_MPI ON)
  elseif(DETNN_MPI STREQUAL "ON")
    message(FATAL_ERROR "DETNN_MPI=ON but no MPI was found: install libopenmpi-dev, or configure with -DDETNN_MPI=OFF")
  endif()
endif()
message(STATUS "detnn MPI for mpirun launches: ${DETNN_HAVE_MPI}")
