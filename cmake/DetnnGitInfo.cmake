# The commit and dirty flag are taken at configure time and refreshed on every build by
# a small script, so the fingerprint names the commit the library was really built from.
set(DETNN_GIT_INFO_HEADER "${CMAKE_BINARY_DIR}/generated/detnn_git_info.h")
add_custom_target(detnn_git_info
  COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${CMAKE_SOURCE_DIR} -DOUT=${DETNN_GIT_INFO_HEADER}
          -P ${CMAKE_SOURCE_DIR}/cmake/WriteGitInfo.cmake
  BYPRODUCTS ${DETNN_GIT_INFO_HEADER}
  COMMENT "Recording the git commit")
execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${CMAKE_SOURCE_DIR} -DOUT=${DETNN_GIT_INFO_HEADER}
                -P ${CMAKE_SOURCE_DIR}/cmake/WriteGitInfo.cmake)
