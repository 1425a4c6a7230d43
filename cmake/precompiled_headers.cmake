# Precompiled third-party headers: `make test` compiles the tree three times (plain, ASan+UBSan, TSan) on
# 2 cores, and parsing GoogleTest, nlohmann/json and CLI11 again in every file was a large part of it
# (measured with -ftime-report on server/cli/serve_command.cpp: parsing 31% of its 30 CPU-seconds). A
# target's precompiled header holds only third-party headers its files already include, never one of
# ours, so the layers (cmake/layers.txt) see exactly what they saw before; each file still includes what
# it uses (tools/check_thread_safety.sh and tools/tidy.sh parse them without the header).
#
# GCC uses a precompiled header only when the flags that matter equal those it was made with; CMake passes
# -Winvalid-pch, which -Werror turns into an error, so a mismatch fails the build rather than going slow.
option(FPGASERVE_PCH "Precompile the heavy third-party headers (GoogleTest, nlohmann/json, CLI11)" ON)

#   fpgaserve_precompile(TARGET <header>...)   the target's own precompiled header of these headers
function(fpgaserve_precompile target)
  if(FPGASERVE_PCH)
    target_precompile_headers(${target} PRIVATE ${ARGN})
  endif()
endfunction()

#   fpgaserve_reuse_precompiled(TARGET FROM)   TARGET uses FROM's (same compile options; the definitions
#                                              that differ are none the precompiled headers read)
function(fpgaserve_reuse_precompiled target from)
  if(FPGASERVE_PCH)
    target_precompile_headers(${target} REUSE_FROM ${from})
  endif()
endfunction()
