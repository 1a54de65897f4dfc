# OpenBLAS from Debian's libopenblas-dev: the cblas header and the library, as one target.
find_package(PkgConfig REQUIRED)
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
add_library(plab_openblas INTERFACE)
target_link_libraries(plab_openblas INTERFACE PkgConfig::OPENBLAS)
