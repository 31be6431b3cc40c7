# Drives the installed-package tests (registered in tests.cmake). cmake -P with:
#   STEP=install   BUILD=<heed's build tree> PREFIX=<scratch prefix>
#   STEP=cmake     PREFIX SOURCE=<tests/consumer> WORK=<scratch dir> [FLAGS=<extra compile/link flags>]
#   STEP=pkgconfig PREFIX SOURCE WORK CXX=<compiler> [FLAGS]
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " command)
    message(FATAL_ERROR "failed (${rc}): ${command}")
  endif()
endfunction()

if(STEP STREQUAL "install")
  file(REMOVE_RECURSE ${PREFIX})
  run(${CMAKE_COMMAND} --install ${BUILD} --prefix ${PREFIX})
elseif(STEP STREQUAL "cmake")
  file(REMOVE_RECURSE ${WORK})
  run(${CMAKE_COMMAND} -S ${SOURCE} -B ${WORK} -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${PREFIX}
      "-DCMAKE_CXX_FLAGS=${FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${FLAGS}")
  run(${CMAKE_COMMAND} --build ${WORK})
  run(${WORK}/heed-consumer)
elseif(STEP STREQUAL "pkgconfig")
  file(REMOVE_RECURSE ${WORK})
  file(MAKE_DIRECTORY ${WORK})
  file(GLOB pc_dirs ${PREFIX}/lib*/pkgconfig ${PREFIX}/lib/*/pkgconfig)
  set(ENV{PKG_CONFIG_PATH} "${pc_dirs}")
  execute_process(COMMAND pkg-config --cflags --libs heed OUTPUT_VARIABLE pc_flags
                  RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config --cflags --libs heed failed (PKG_CONFIG_PATH=${pc_dirs})")
  endif()
  message(STATUS "pkg-config --cflags --libs heed: ${pc_flags}")
  separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
  separate_arguments(extra UNIX_COMMAND "${FLAGS}")
  run(${CXX} -O1 ${extra} ${SOURCE}/main.cpp -o ${WORK}/heed-consumer ${pc_flags})
  run(${WORK}/heed-consumer)
else()
  message(FATAL_ERROR "run.cmake: unknown STEP '${STEP}'")
endif()
