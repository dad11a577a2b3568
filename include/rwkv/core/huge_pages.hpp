// Transparent huge pages for large host buffers that are streamed in full, such as the weights an
// RNN step reads once per token. With 4 KiB pages a 0.5 GB model needs 128k TLB entries a pass
// (each miss a two-level walk in a VM) and the hardware prefetchers stop at every page boundary;
// 2 MiB pages read faster (docs/PERFORMANCE.md#huge-pages). Many Linux systems hand them out
// only on request (transparent_hugepage/enabled = madvise), and only to pages not yet touched, so
// the request comes before the first write.
#pragma once

#include <Kokkos_Core.hpp>

#include <cstddef>
#include <string>
#include <type_traits>

namespace rwkv {

namespace huge_pages_detail {
// madvise(MADV_HUGEPAGE) over the whole pages of [data, data + bytes); nothing off Linux. A refusal
// is not an error: the buffer works the same with small pages.
void advise(void* data, std::size_t bytes);
}  // namespace huge_pages_detail

// An uninitialized view; in HostSpace its pages are offered huge pages before anything touches them.
template <class ViewType, class... Extents>
ViewType allocate_with_huge_pages(const std::string& label, Extents... extents) {
  ViewType view(Kokkos::view_alloc(label, Kokkos::WithoutInitializing), extents...);
  if constexpr (std::is_same_v<typename ViewType::memory_space, Kokkos::HostSpace>)
    huge_pages_detail::advise(view.data(), view.span() * sizeof(typename ViewType::value_type));
  return view;
}

}  // namespace rwkv
