# Distributed tests: the same doctest binary as one process (local group) and, when MPI was
# found, under mpirun with 2 processes; plus the failure checks (a hung collective, a dead rank).
add_executable(test_distributed ${CMAKE_CURRENT_LIST_DIR}/test_distributed.cpp)
target_link_libraries(test_distributed PRIVATE heed_test_main heed_distributed heed_device)
add_test(NAME "distributed: 1 process" COMMAND test_distributed)
if(HEED_MPI_ENABLED)
  # As root OpenMPI needs --allow-run-as-root; --oversubscribe lets 2 ranks run on fewer cores.
  set(HEED_MPIRUN ${MPIEXEC_EXECUTABLE} --allow-run-as-root --oversubscribe --bind-to none)
  add_test(NAME "distributed: mpirun -np 2" COMMAND ${HEED_MPIRUN} ${MPIEXEC_NUMPROC_FLAG} 2 $<TARGET_FILE:test_distributed>)
  # In the sanitizer build, LeakSanitizer reports OpenMPI's own never-freed allocations (some in
  # components it has unloaded, which no suppression can name): leak checking stays on for the
  # 1-process run of the same tests, address and UB checks stay on here.
  set(HEED_MPI_TEST_ENV "OMP_NUM_THREADS=1;ASAN_OPTIONS=detect_leaks=0")
  set_tests_properties("distributed: mpirun -np 2" PROPERTIES TIMEOUT 300 ENVIRONMENT "${HEED_MPI_TEST_ENV}")
endif()
if(HEED_MPI_ENABLED)
  add_executable(dist_failures ${CMAKE_CURRENT_LIST_DIR}/dist_failures.cpp)
  target_link_libraries(dist_failures PRIVATE heed_distributed)
  set(run_two ${HEED_MPIRUN} ${MPIEXEC_NUMPROC_FLAG} 2)
  add_test(NAME "distributed: a skipped collective ends the job at the timeout"
           COMMAND ${CMAKE_COMMAND} "-DCOMMAND=${run_two};-x;HEED_DIST_TIMEOUT=3;$<TARGET_FILE:dist_failures>;skip"
                   -DLIMIT=60 "-DEXPECT=rank 0: all_reduce timed out after 3 s" -P ${CMAKE_CURRENT_LIST_DIR}/check_failure.cmake)
  # A timeout far beyond the test's limit: only mpirun noticing the dead rank can end this job.
  add_test(NAME "distributed: a rank that dies ends the job"
           COMMAND ${CMAKE_COMMAND} "-DCOMMAND=${run_two};-x;HEED_DIST_TIMEOUT=600;$<TARGET_FILE:dist_failures>;die"
                   -DLIMIT=120 "-DEXPECT=exited with non-zero status" -P ${CMAKE_CURRENT_LIST_DIR}/check_failure.cmake)
  set_tests_properties("distributed: a skipped collective ends the job at the timeout"
                       "distributed: a rank that dies ends the job" PROPERTIES ENVIRONMENT "${HEED_MPI_TEST_ENV}")
endif()
# The apps under mpirun (check_app_mpi.cmake). heed-eeg spreads its folds over the processes:
# folds.json and the final model's history are identical (on emulated GPUs, the losses to float
# rounding). heed-text's losses agree to float rounding (20
# millionths). heed-search's differ a little more (up to ~5e-3 in the first epoch): its
# category loss averages over the patches that hold an item, which differ in number between
# the parts of a batch, so weighting the parts by scene count is close but not exact.
# EMULATED_GPU <tolerance> first among the app's arguments: the same runs with --device cuda on
# the host emulator, on 1 and 2 processes, too; their losses within that many millionths.
function(heed_app_mpi_test app tolerance setup)
  set(args ${ARGN})
  set(gpu OFF)
  set(gpu_tolerance ${tolerance})
  set(name "distributed: ${app} on 2 processes follows 1 process and resumes on any count")
  if(args AND "${ARGV3}" STREQUAL "EMULATED_GPU")
    list(POP_FRONT args)
    list(POP_FRONT args gpu_tolerance)
    set(gpu ON)
    set(name "${name}, on the CPU and on emulated GPUs")
  endif()
  add_test(NAME "${name}"
           COMMAND ${CMAKE_COMMAND} -DAPP=$<TARGET_FILE:${app}> "-DARGS=${args}" -DTOLERANCE=${tolerance} "-DSETUP=${setup}"
                   -DEMULATED_GPU=${gpu} -DGPU_TOLERANCE=${gpu_tolerance}
                   "-DMPIRUN=${HEED_MPIRUN};${MPIEXEC_NUMPROC_FLAG}" -DOUT=${CMAKE_CURRENT_BINARY_DIR}/${app}_mpi_runs
                   -P ${CMAKE_CURRENT_LIST_DIR}/check_app_mpi.cmake)
  set_tests_properties("${name}" PROPERTIES TIMEOUT 300 ENVIRONMENT "${HEED_MPI_TEST_ENV}")
endfunction()
if(HEED_MPI_ENABLED AND TARGET heed-text)
  heed_app_mpi_test(heed-text 20 "" EMULATED_GPU 20 --data ${CMAKE_CURRENT_LIST_DIR}/../fixtures/text_smoke/corpus.csv
                    --epochs 3 --batch 16 --embed 32 --heads 2 --max-length 48 --vocab 2000 --threads 1 --seed 3 --dropout 0)
endif()
if(HEED_MPI_ENABLED AND TARGET heed-search)
  # Not on emulated GPUs in the sanitizer build: there the emulator's convolutions take minutes.
  set(search_gpu EMULATED_GPU 20000)
  if(HEED_SANITIZE)
    set(search_gpu "")
  endif()
  heed_app_mpi_test(heed-search 20000 "" ${search_gpu} --scenes 64 --validation-scenes 32 --test-scenes 16
                    --epochs 3 --batch 16 --width 16 --layers 1 --heads 2 --threads 1 --seed 1 --dropout 0)
endif()
if(HEED_MPI_ENABLED AND TARGET heed-eeg)
  set(eeg_mpi_data ${CMAKE_CURRENT_BINARY_DIR}/heed-eeg_mpi_runs/sim)
  heed_app_mpi_test(heed-eeg 0
                    "$<TARGET_FILE:heed-eeg>;simulate;--out;${eeg_mpi_data};--subjects;3;--minutes;1;--block;10;--seed;5"
                    EMULATED_GPU 20 --data ${eeg_mpi_data} --cv trial --folds 3 --epochs 4 --batch 16 --threads 1
                    --window 1 --stride 1)
endif()
if(TARGET heed_nccl)
  add_executable(test_nccl ${CMAKE_CURRENT_LIST_DIR}/test_nccl.cpp)
  target_link_libraries(test_nccl PRIVATE heed_nccl heed_cuda heed_nn heed_optim doctest::doctest)
  add_test(NAME "distributed: nccl" COMMAND test_nccl)
  set_tests_properties("distributed: nccl" PROPERTIES SKIP_RETURN_CODE 77)
endif()
