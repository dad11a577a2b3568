# The host GEMM libraries (kernels/include/rwkv/kernels/gemm_vendor.hpp):
#   OpenBLAS, always (float and double): the OpenMP build, so that it shares Kokkos' OpenMP runtime;
#   oneDNN (float), where found.
# RWKV_HOST_GEMM picks the one the library calls: auto (default) times both on training shapes at
# configure time (cmake/host_gemm_probe.cpp) and takes the faster; onednn or openblas force one.
# Sets RWKV_HOST_GEMM_CHOSEN, RWKV_HAVE_ONEDNN, RWKV_OPENBLAS_LIBRARY and RWKV_CBLAS_INCLUDE_DIR.
set(RWKV_HOST_GEMM "auto" CACHE STRING "Host GEMM library: auto (the faster here, timed at configure time), onednn or openblas")
set_property(CACHE RWKV_HOST_GEMM PROPERTY STRINGS auto onednn openblas)
if(NOT RWKV_HOST_GEMM MATCHES "^(auto|onednn|openblas)$")
  message(FATAL_ERROR "RWKV_HOST_GEMM='${RWKV_HOST_GEMM}': expected auto, onednn or openblas")
endif()

# Debian installs every OpenBLAS variant under its own directory; the default libopenblas.so
# follows the alternatives system, which may name the pthreads build.
find_library(RWKV_OPENBLAS_LIBRARY NAMES openblas
  HINTS "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp")
find_path(RWKV_CBLAS_INCLUDE_DIR cblas.h
  HINTS "/usr/include/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp" PATH_SUFFIXES openblas)
if(NOT RWKV_OPENBLAS_LIBRARY OR NOT RWKV_CBLAS_INCLUDE_DIR)
  message(FATAL_ERROR "OpenBLAS not found (Debian: apt install libopenblas-openmp-dev; or set "
                      "RWKV_OPENBLAS_LIBRARY and RWKV_CBLAS_INCLUDE_DIR)")
endif()

find_package(dnnl CONFIG QUIET)
if(RWKV_HOST_GEMM STREQUAL "onednn" AND NOT dnnl_FOUND)
  message(FATAL_ERROR "RWKV_HOST_GEMM=onednn but oneDNN was not found (Debian: apt install libdnnl-dev; "
                      "or set dnnl_DIR)")
endif()

if(NOT dnnl_FOUND)
  set(chosen openblas)
  set(reason "oneDNN not found")
elseif(NOT RWKV_HOST_GEMM STREQUAL "auto")
  set(chosen ${RWKV_HOST_GEMM})
  set(reason "RWKV_HOST_GEMM=${RWKV_HOST_GEMM}")
elseif(DEFINED CACHE{RWKV_HOST_GEMM_AUTO})
  # Timed once per build tree, so a rerun of cmake keeps the choice (delete the cache entry to retime).
  set(chosen ${RWKV_HOST_GEMM_AUTO})
  set(reason "${RWKV_HOST_GEMM_AUTO_REASON}")
else()
  find_package(OpenMP REQUIRED COMPONENTS CXX)
  try_run(probe_ran probe_built "${CMAKE_BINARY_DIR}/host_gemm_probe" "${CMAKE_CURRENT_LIST_DIR}/host_gemm_probe.cpp"
    CMAKE_FLAGS "-DINCLUDE_DIRECTORIES=${RWKV_CBLAS_INCLUDE_DIR}"
    LINK_LIBRARIES "${RWKV_OPENBLAS_LIBRARY}" DNNL::dnnl OpenMP::OpenMP_CXX
    RUN_OUTPUT_VARIABLE probe_output)
  if(probe_built AND probe_ran EQUAL 0 AND probe_output MATCHES "openblas ([0-9.]+)\nonednn ([0-9.]+)")
    set(openblas_rate ${CMAKE_MATCH_1})
    set(onednn_rate ${CMAKE_MATCH_2})
    if(onednn_rate GREATER openblas_rate)
      set(chosen onednn)
    else()
      set(chosen openblas)
    endif()
    set(reason "auto, timed at configure time: oneDNN ${onednn_rate} GFLOP/s, OpenBLAS ${openblas_rate} GFLOP/s")
  else()
    # Cross-compiling, or the probe failed: oneDNN generates its kernels for the CPU it runs on.
    set(chosen onednn)
    set(reason "auto; the timing probe did not run")
  endif()
  set(RWKV_HOST_GEMM_AUTO ${chosen} CACHE INTERNAL "RWKV_HOST_GEMM=auto's choice")
  set(RWKV_HOST_GEMM_AUTO_REASON "${reason}" CACHE INTERNAL "why")
endif()
set(RWKV_HOST_GEMM_CHOSEN ${chosen})
if(dnnl_FOUND)
  set(RWKV_HAVE_ONEDNN 1)
else()
  set(RWKV_HAVE_ONEDNN 0)
endif()
message(STATUS "rwkv: host GEMM ${chosen} (${reason}); OpenBLAS ${RWKV_OPENBLAS_LIBRARY}")
