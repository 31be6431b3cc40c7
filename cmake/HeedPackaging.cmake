# Debian packages through CPack (scripts/package drives it):
#   heed      the shared libraries (component Runtime)
#   heed-dev  headers, static libraries, the .so links, CMake package files, heed.pc (Development)
# scripts/package builds heed twice (shared and static) and packs both build trees at once by
# setting CPACK_INSTALL_CMAKE_PROJECTS.
set(CPACK_PACKAGE_NAME heed)
set(CPACK_PACKAGE_VENDOR "heed")
set(CPACK_PACKAGE_CONTACT "heed maintainers <heed@invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "deep-learning framework in C++20 focused on attention")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL Runtime Development)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME heed)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS
    "libopenblas0, libfmt9, zlib1g, libgomp1, libopenmpi3, libstdc++6 (>= 12), libc6 (>= 2.34)")
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "heed: tensors, autograd, nn layers and optimizers (shared libraries)")

set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME heed-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS
    "heed (= ${PROJECT_VERSION}), libopenblas-dev, libfmt-dev, zlib1g-dev, libedf-dev, libopenmpi-dev, pkg-config")
set(CPACK_COMPONENT_DEVELOPMENT_DESCRIPTION
    "heed: headers, static libraries, CMake package (find_package(heed)) and pkg-config file")

include(CPack)
