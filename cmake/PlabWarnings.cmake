# Warnings that are errors in every target of the project (engine, app, ui, bench,
# tests), set in this one place: included by the top CMakeLists.txt before any target.
#
# -Wswitch-enum as an error: a switch on an enum lists every enumerator, `default:` or
# not. A new Precision (a block-scaled format, docs/architecture.md "Numerics") or any
# other new enumerator then fails the build at each switch that must handle it, instead
# of falling into a branch meant for another value.
# CUDA sources: nvcc hands the flags to the host compiler, which checks the host code of
# the .cu files; device code is compiled by nvcc's own front end, which has no such
# warning (the device switches on Precision end in trapUnknownPrecision,
# engine/backend/cuda/formats.cuh).
set(PLAB_STRICT_SWITCH_FLAGS -Wswitch-enum -Werror=switch-enum)
add_compile_options(
  "$<$<COMPILE_LANGUAGE:CXX>:${PLAB_STRICT_SWITCH_FLAGS}>"
  "$<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wswitch-enum,-Werror=switch-enum>")
