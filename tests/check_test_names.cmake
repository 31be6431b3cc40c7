# Fails when a TEST_CASE name holds a ";": CMake would split it into two CTest entries that
# run no test at all and still report "Passed". Usage: cmake -DROOT=tests -P check_test_names.cmake
file(GLOB_RECURSE sources "${ROOT}/*.cpp")
foreach(source ${sources})
  file(STRINGS "${source}" bad REGEX "TEST_CASE\\(\"[^\"]*;")
  if(bad)
    message(FATAL_ERROR "${source}: test names must not contain ';'")
  endif()
endforeach()
