# The CUDA backend: added to plab_backend by engine/backend/CMakeLists.txt when
# PLAB_CUDA_ENABLED. Built without fast math and without -ftz=true: the kernels must
# keep subnormals and round to nearest even, as the numerics contract says. And with
# --fmad=false: no a*b+c contracted into one rounding, so that elementwise and
# optimizer arithmetic rounds where the CPU backend's (FMA-free) loops round.
# CMake before 3.26 does not know nvcc's C++20 flag (the engine headers need C++20).
if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
  set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
  set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
endif()
file(GLOB plab_cuda_sources CONFIGURE_DEPENDS
  ${CMAKE_CURRENT_LIST_DIR}/*.cu ${CMAKE_CURRENT_LIST_DIR}/*.cpp)
target_sources(plab_backend PRIVATE ${plab_cuda_sources})
# One CUDA runtime in the process: the shared one (CUDA::cudart), also for the
# executables that link plab_backend (CMake would add the static runtime to them).
set(CMAKE_CUDA_RUNTIME_LIBRARY Shared CACHE STRING "CUDA runtime for targets with CUDA code" FORCE)
set_target_properties(plab_backend PROPERTIES CUDA_RUNTIME_LIBRARY Shared)
target_link_libraries(plab_backend PUBLIC CUDA::cudart CUDA::cublas CUDA::cublasLt plab_cudnn)
target_compile_options(plab_backend PRIVATE
  $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr --fmad=false -Xcompiler=-Wall>)
set_target_properties(plab_backend PROPERTIES CUDA_SEPARABLE_COMPILATION OFF)
