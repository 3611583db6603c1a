# Provenance baked into the binary: slab's version and, when built from a git checkout, the commit.
find_package(Git QUIET)
set(SLAB_GIT_COMMIT "unknown")
if(GIT_FOUND AND EXISTS "${PROJECT_SOURCE_DIR}/.git")
  execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --short=12 HEAD WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
                  OUTPUT_VARIABLE SLAB_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  execute_process(COMMAND "${GIT_EXECUTABLE}" diff --quiet HEAD WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
                  RESULT_VARIABLE SLAB_GIT_DIRTY ERROR_QUIET)
  if(SLAB_GIT_DIRTY)
    string(APPEND SLAB_GIT_COMMIT "-dirty")
  endif()
endif()
configure_file("${PROJECT_SOURCE_DIR}/src/core/version.hpp.in" "${PROJECT_BINARY_DIR}/generated/core/version.hpp" @ONLY)
