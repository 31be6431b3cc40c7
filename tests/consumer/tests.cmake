# Included by tests/CMakeLists.txt.
#
# heed as an installed package: install this build tree into a scratch prefix, then build and
# run tests/consumer against it, once with find_package(heed) and once with pkg-config.
set(consumer_prefix ${CMAKE_CURRENT_BINARY_DIR}/consumer/prefix)
set(consumer_flags "")
if(HEED_SANITIZE)  # the installed libraries carry ASan/UBSan, so the consumer needs it too
  set(consumer_flags "-fsanitize=address,undefined")
endif()
set(consumer_run ${CMAKE_CURRENT_LIST_DIR}/run.cmake)
add_test(NAME "consumer: install into a scratch prefix"
         COMMAND ${CMAKE_COMMAND} -DSTEP=install -DBUILD=${PROJECT_BINARY_DIR} -DPREFIX=${consumer_prefix}
                 -P ${consumer_run})
add_test(NAME "consumer: find_package(heed) build and run"
         COMMAND ${CMAKE_COMMAND} -DSTEP=cmake -DPREFIX=${consumer_prefix} -DSOURCE=${CMAKE_CURRENT_LIST_DIR}
                 -DWORK=${CMAKE_CURRENT_BINARY_DIR}/consumer/cmake "-DFLAGS=${consumer_flags}" -P ${consumer_run})
add_test(NAME "consumer: pkg-config heed build and run"
         COMMAND ${CMAKE_COMMAND} -DSTEP=pkgconfig -DPREFIX=${consumer_prefix} -DSOURCE=${CMAKE_CURRENT_LIST_DIR}
                 -DWORK=${CMAKE_CURRENT_BINARY_DIR}/consumer/pkgconfig -DCXX=${CMAKE_CXX_COMPILER}
                 "-DFLAGS=${consumer_flags}" -P ${consumer_run})
set_tests_properties("consumer: install into a scratch prefix" PROPERTIES FIXTURES_SETUP heed_installed)
set_tests_properties("consumer: find_package(heed) build and run" "consumer: pkg-config heed build and run"
                     PROPERTIES FIXTURES_REQUIRED heed_installed TIMEOUT 120)

# The examples (examples/CMakeLists.txt builds them; tests are registered here, after
# enable_testing()). Each exits non-zero when it fails.
foreach(example mlp char-attention custom-op)
  if(TARGET example-${example})
    add_test(NAME "examples: ${example}" COMMAND example-${example})
  endif()
endforeach()
