#include <rwkv/core/huge_pages.hpp>

#include <cstdint>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace rwkv::huge_pages_detail {

void advise(void* data, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const auto page = std::uintptr_t(sysconf(_SC_PAGESIZE));
  const auto begin = (std::uintptr_t(data) + page - 1) / page * page;
  const auto end = (std::uintptr_t(data) + bytes) / page * page;
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}

}  // namespace rwkv::huge_pages_detail
