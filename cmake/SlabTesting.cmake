# Test registration helpers.
#
# MPI tests are GoogleTest executables with an MPI-aware main. Each test is registered once per
# rank count with gtest_add_tests (which reads the TEST() lines of the sources, so each test is
# registered exactly once, not once per rank as discovery under mpirun would). The executable is
# launched through mpiexec by making it the target's "emulator": one executable per rank count.
include(GoogleTest)

# Environment for every test that starts MPI, from jobs/mpi.env (the one list jobs and tests share):
# SLAB_MPI_TEST_ENV within one node (shared memory, through the ob1 layer; oversubscription allowed,
# as CI has 2 cores and runs up to 8 ranks; root allowed, as containers and CI run as root), and
# SLAB_MPI_TCP_TEST_ENV over TCP on loopback with no shared memory between ranks, as between nodes.
function(slab_mpi_env out)
  file(STRINGS "${PROJECT_SOURCE_DIR}/jobs/mpi.env" lines REGEX "^[a-z]+ ")
  set(env "")
  foreach(line IN LISTS lines)
    string(REGEX MATCH "^([a-z]+) (.*)$" _ "${line}")
    if(CMAKE_MATCH_1 IN_LIST ARGN)
      list(APPEND env "${CMAKE_MATCH_2}")
    endif()
  endforeach()
  set(${out} "${env}" PARENT_SCOPE)
endfunction()
slab_mpi_env(SLAB_MPI_TEST_ENV node root test)
slab_mpi_env(SLAB_MPI_TCP_TEST_ENV tcp root test)
list(APPEND SLAB_MPI_TCP_TEST_ENV SLAB_MPI_TRANSPORT=tcp)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/jobs/mpi.env")

function(slab_add_mpi_tests name)
  cmake_parse_arguments(ARG "" "" "SOURCES;RANKS;LIBRARIES" ${ARGN})
  add_library(${name}_objects OBJECT ${ARG_SOURCES})
  target_link_libraries(${name}_objects PUBLIC ${ARG_LIBRARIES} slab_petsc GTest::gtest slab_warnings)
  foreach(ranks IN LISTS ARG_RANKS)
    set(exe ${name}_np${ranks})
    add_executable(${exe} $<TARGET_OBJECTS:${name}_objects> "${PROJECT_SOURCE_DIR}/tests/mpi/mpi_gtest_main.cpp")
    target_link_libraries(${exe} PRIVATE ${name}_objects)
    set_target_properties(${exe} PROPERTIES CROSSCOMPILING_EMULATOR
                          "${MPIEXEC_EXECUTABLE};${MPIEXEC_NUMPROC_FLAG};${ranks}")
    gtest_add_tests(TARGET ${exe} SOURCES ${ARG_SOURCES} TEST_PREFIX "np${ranks}." TEST_LIST added)
    set_tests_properties(${added} PROPERTIES LABELS mpi ENVIRONMENT "${SLAB_MPI_TEST_ENV}" TIMEOUT 120
                                             PROCESSORS ${ranks})
    # A test that calls GTEST_SKIP is reported by CTest as skipped, not passed.
    set_tests_properties(${added} PROPERTIES SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]")
  endforeach()
endfunction()
