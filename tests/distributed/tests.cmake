# Distributed tests: the same doctest binary as one process (local group) and, when MPI was
# found, under mpirun with 2 processes; plus the failure checks (a hung collective, a dead rank).
add_executable(test_distributed ${CMAKE_CURRENT_LIST_DIR}/test_distributed.cpp)
target_link_libraries(test_distributed PRIVATE heed_test_main heed_distributed)
add_test(NAME "distributed: 1 process" COMMAND test_distributed)
if(HEED_MPI_ENABLED)
  # As root OpenMPI needs --allow-run-as-root; --oversubscribe lets 2 ranks run on fewer cores.
  set(HEED_MPIRUN ${MPIEXEC_EXECUTABLE} --allow-run-as-root --oversubscribe --bind-to none)
  add_test(NAME "distributed: mpirun -np 2" COMMAND ${HEED_MPIRUN} ${MPIEXEC_NUMPROC_FLAG} 2 $<TARGET_FILE:test_distributed>)
  set_tests_properties("distributed: mpirun -np 2" PROPERTIES TIMEOUT 300 ENVIRONMENT "OMP_NUM_THREADS=1")
endif()
