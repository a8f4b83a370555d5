// Keeps freed tensor memory in the process instead of handing it back to the kernel each step.
//
// glibc serves large blocks (128 KiB and up at first) with mmap and returns freed memory above
// its trim threshold to the kernel. A training step frees and allocates the same activations and
// gradients every time, so by default many of them come back as fresh pages, and every first touch
// of a page is a page fault: a perf profile of mnist-mlp's step put 9% of it in the kernel's page
// fault handler (more on a virtual machine, where faults are dear). With blocks up to 32 MiB
// served from the heap (the most glibc's own heuristic ever allows) and up to 256 MiB of free
// memory kept (glibc keeps at most 64 MiB), the steps reuse warm pages.
// MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ in the environment, or GANTRY_MALLOC=default
// (read in src/engine/native.ts), leave glibc's defaults alone.
#include "gantry.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace gantry {
namespace {

constexpr int kMmapThreshold = 32 << 20;
constexpr int kTrimThreshold = 256 << 20;

// keepFreedMemory(): sets glibc's thresholds; returns false where this is not glibc.
Napi::Value KeepFreedMemory(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
  const bool ok = mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1 && mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1;
  return Napi::Boolean::New(info.Env(), ok);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

}  // namespace

void initMalloc(Napi::Env env, Napi::Object exports) {
  exports.Set("keepFreedMemory", Napi::Function::New(env, KeepFreedMemory));
}

}  // namespace gantry
