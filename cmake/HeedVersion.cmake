# heed/version.h from project(VERSION), written into the build tree (and installed beside
# heed/heed.h). heed's own targets find it through heed_flags.
configure_file(${PROJECT_SOURCE_DIR}/heed/version.h.in ${PROJECT_BINARY_DIR}/include/heed/version.h @ONLY)
target_include_directories(heed_flags INTERFACE ${PROJECT_BINARY_DIR}/include)
