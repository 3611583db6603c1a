# Test registration helpers.
#
# MPI tests are GoogleTest executables with an MPI-aware main. Each test is registered once per
# rank count with gtest_add_tests (which reads the TEST() lines of the sources, so each test is
# registered exactly once, not once per rank as discovery under mpirun would). The executable is
# launched through mpiexec by making it the target's "emulator": one executable per rank count.
include(GoogleTest)

# Environment for every test that starts MPI: shared memory only, through the ob1 layer (probing
# for UCX adds 0.2 s to every launch), oversubscription allowed (CI has 2 cores and runs up to 8
# ranks), and root allowed (containers and CI run as root).
set(SLAB_MPI_TEST_ENV
    OMPI_MCA_pml=ob1
    OMPI_MCA_btl=self,vader
    OMPI_MCA_rmaps_base_oversubscribe=1
    OMPI_ALLOW_RUN_AS_ROOT=1
    OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    OMPI_MCA_btl_vader_single_copy_mechanism=none)

function(slab_add_mpi_tests name)
  cmake_parse_arguments(ARG "" "" "SOURCES;RANKS;LIBRARIES" ${ARGN})
  add_library(${name}_objects OBJECT ${ARG_SOURCES})
  target_link_libraries(${name}_objects PUBLIC ${ARG_LIBRARIES} GTest::gtest slab_warnings)
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
