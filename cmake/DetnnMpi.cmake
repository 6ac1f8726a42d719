# Optional MPI (OpenMPI from Debian): lets the ranks of a run launched by mpirun find rank 0's
# rendezvous without MASTER_ADDR/MASTER_PORT (runtime/comm/mpi_bootstrap.h). Nothing else in
# detnn uses MPI. DETNN_MPI: AUTO (on when MPI is found), ON (required) or OFF.
set(DETNN_MPI AUTO CACHE STRING "MPI bootstrap for mpirun launches: AUTO, ON or OFF")
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
message(STATUS "detnn MPI bootstrap for mpirun launches: ${DETNN_HAVE_MPI}")
