# Installing heed: headers, libraries, CMake package files (heed::heed and friends), heed.pc.
#
# One build makes one variant of the libraries, static or shared, as BUILD_SHARED_LIBS says
# (static by default). Each variant installs its own export file (heedTargets-static.cmake,
# heedTargets-shared.cmake) under the same target names; heedConfig.cmake loads one of them, so
# installing both builds into one prefix (scripts/package does) gives consumers both.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

if(BUILD_SHARED_LIBS)
  set(HEED_LIBRARY_KIND shared)
else()
  set(HEED_LIBRARY_KIND static)
endif()

# Headers live under <prefix>/include/heed, the include root for "tensor/tensor.h" style
# includes: <prefix>/include/heed/tensor/tensor.h, <prefix>/include/heed/heed/heed.h.
set(HEED_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/heed)
set(HEED_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/heed)

# heed::heed: every CPU module in one target.
add_library(heed_all INTERFACE)
target_link_libraries(heed_all INTERFACE heed_optim heed_datasets heed_distributed)
add_library(heed::heed ALIAS heed_all)

set(heed_modules tensor autograd nn optim datasets distributed)
if(TARGET heed_cuda)
  list(APPEND heed_modules cuda)
endif()

# heed-libraries builds every library that has sources (what scripts/package needs).
add_custom_target(heed-libraries)
set(heed_link_flags "")  # -l flags for heed.pc, dependents first
foreach(module IN LISTS heed_modules)
  set(target heed_${module})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${module})
  get_target_property(type ${target} TYPE)
  if(NOT type STREQUAL "INTERFACE_LIBRARY")
    set_target_properties(${target} PROPERTIES
      VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
      POSITION_INDEPENDENT_CODE ON INSTALL_RPATH "$ORIGIN")
    add_dependencies(heed-libraries ${target})
    if(NOT module STREQUAL "cuda")
      list(PREPEND heed_link_flags -l${target})
    endif()
  endif()
endforeach()
set_target_properties(heed_all PROPERTIES EXPORT_NAME heed)
# Consumers compile heed's headers as C++20 (the warnings of heed_flags stay with heed's build).
target_compile_features(heed_tensor PUBLIC cxx_std_20)

list(TRANSFORM heed_modules PREPEND heed_ OUTPUT_VARIABLE heed_targets)
install(TARGETS ${heed_targets} heed_all EXPORT heedTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT Development
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT Runtime NAMELINK_COMPONENT Development
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT Runtime
  INCLUDES DESTINATION ${HEED_INSTALL_INCLUDEDIR})
install(EXPORT heedTargets NAMESPACE heed:: FILE heedTargets-${HEED_LIBRARY_KIND}.cmake
  DESTINATION ${HEED_INSTALL_CMAKEDIR} COMPONENT Development)

# Public headers, globbed so that new ones are picked up. The internals stay out: tensor/cpu/,
# the Backend interface and raw ops with their functors, Philox and layouts, the kernels of cuda/, the op registry (tests and
# docs), the optimizers' in-place helpers. No installed header includes them.
set(heed_internal_headers tensor/backend.h tensor/ops.h tensor/functors.h tensor/philox.h tensor/layout.h
    tensor/make_layout.h autograd/registry.h optim/inplace.h distributed/nccl.h cuda/launcher.h cuda/kernels.h
    cuda/device_backend.h)  # (heed_nccl, a GPU-only library, is not installed yet)
list(TRANSFORM heed_internal_headers PREPEND ${PROJECT_SOURCE_DIR}/)
foreach(module IN LISTS heed_modules)
  file(GLOB headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${module}/*.h)
  list(REMOVE_ITEM headers ${heed_internal_headers})
  install(FILES ${headers} DESTINATION ${HEED_INSTALL_INCLUDEDIR}/${module} COMPONENT Development)
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/heed/heed.h ${PROJECT_BINARY_DIR}/include/heed/version.h
  DESTINATION ${HEED_INSTALL_INCLUDEDIR}/heed COMPONENT Development)

# heedConfig.cmake, heedConfigVersion.cmake.
set(HEED_WITH_CUDA ${HEED_CUDA_ENABLED})
set(HEED_PC_REQUIRES_PRIVATE "")
if(HEED_MPI_ENABLED)
  set(HEED_PC_REQUIRES_PRIVATE "Requires.private: mpi-c")  # OpenMPI's pkg-config name on Debian
endif()
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/heedConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/heedConfig.cmake INSTALL_DESTINATION ${HEED_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/heedConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/heedConfig.cmake ${PROJECT_BINARY_DIR}/cmake/heedConfigVersion.cmake
  DESTINATION ${HEED_INSTALL_CMAKEDIR} COMPONENT Development)

# heed.pc, relocatable: the prefix is found from the .pc file's own place.
set(HEED_PC_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH HEED_PC_TO_PREFIX /${HEED_PC_DIR} /)
string(REGEX REPLACE "/$" "" HEED_PC_TO_PREFIX "${HEED_PC_TO_PREFIX}")
list(JOIN heed_link_flags " " HEED_PC_LIBS)
configure_file(${CMAKE_CURRENT_LIST_DIR}/heed.pc.in ${PROJECT_BINARY_DIR}/heed.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/heed.pc DESTINATION ${HEED_PC_DIR} COMPONENT Development)
