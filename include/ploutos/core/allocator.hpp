#pragma once

namespace ploutos {

// Keeps freed memory in the process instead of handing it back to the kernel after every large
// free (glibc's default trim and mmap thresholds). Feature and environment code allocate and free
// many arrays of ~100 KB per ticker; with the defaults each round trip costs page faults and page
// clearing (about 40% of the feature engine's time on this machine). Called once by main() of the
// ploutos binary and of the benchmarks; libraries never call it.
void tune_allocator_for_numeric_work();

}  // namespace ploutos
