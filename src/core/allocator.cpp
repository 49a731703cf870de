#include "ploutos/core/allocator.hpp"

#include <malloc.h>

namespace ploutos {

void tune_allocator_for_numeric_work() {
#ifdef M_TRIM_THRESHOLD
  mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
#endif
}

}  // namespace ploutos
