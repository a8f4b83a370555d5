// Matrix products on every thread where the BLAS runs on one.
//
// Debian's libtorch hands every CPU matrix product (a Linear layer's forward, both halves of its
// backward) to OpenBLAS. gantry keeps OpenBLAS on one thread (OPENBLAS_NUM_THREADS=1: its own
// pthread pool would fight libtorch's OpenMP pool), so an MLP's products used one core of two.
// Here aten::mm and aten::addmm get a CPU kernel that cuts the output into one block of rows (or
// columns) per libtorch thread and runs the stock kernel on each block at once. Each output element
// is the same dot product over the same K, so values match the stock kernel's to float rounding.
//
// The kernel is registered only where it helps: OpenBLAS is the BLAS and runs on one thread (a BLAS
// that threads itself, such as MKL in pip's PyTorch, is left alone), and it splits only products
// big enough to pay for waking the pool. setParallelGemm(false) (GANTRY_PARALLEL_GEMM=0) restores
// libtorch's own kernel.
#include "gantry.h"

#include <ATen/ExpandUtils.h>
#include <ATen/Parallel.h>
#include <ATen/ops/addmm_cpu_dispatch.h>
#include <ATen/ops/mm_cpu_dispatch.h>
#include <c10/util/Exception.h>
#include <torch/library.h>
#include <torch/version.h>

#include <dlfcn.h>

#include <atomic>
#include <memory>

namespace gantry {
namespace {

// Below this many multiply-adds a product runs whole: waking the pool costs more than it saves.
constexpr int64_t kMinWork = 1 << 19;
// Blocks are whole multiples of this many rows or columns (OpenBLAS's kernels work in 8s and 16s).
constexpr int64_t kAlign = 16;

std::atomic<int64_t> splits{0};  // products run in blocks so far (tests read it)

// OpenBLAS's thread count, or 0 where OpenBLAS is not the BLAS in this process.
int openblasThreads() {
  using Getter = int (*)();
  auto get = reinterpret_cast<Getter>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return get ? get() : 0;
}

// How a product of (m x k) and (k x n) is cut: along rows (dim 0) or columns (dim 1) into `parts`
// blocks; parts == 1 runs it whole.
struct Cut {
  int dim;
  int64_t parts;
};

Cut cutFor(const at::Tensor& a, const at::Tensor& b) {
  const Cut whole{0, 1};
  if (a.dim() != 2 || b.dim() != 2 || a.layout() != at::kStrided || b.layout() != at::kStrided) return whole;
  if (a.scalar_type() != b.scalar_type() || (a.scalar_type() != at::kFloat && a.scalar_type() != at::kDouble)) return whole;
  if (a.size(1) != b.size(0) || a.is_conj() || b.is_conj() || at::in_parallel_region()) return whole;  // the stock kernel reports bad shapes
  const int64_t threads = at::get_num_threads();
  const int64_t m = a.size(0), k = a.size(1), n = b.size(1);
  if (threads < 2 || m * k * n < kMinWork) return whole;
  const int dim = m >= n ? 0 : 1;
  const int64_t parts = std::min(threads, (dim == 0 ? m : n) / kAlign);
  return {dim, std::max<int64_t>(parts, 1)};
}

// Runs block(begin, length) for each block of `extent` rows or columns, on the pool.
template <typename F>
void eachBlock(int64_t extent, int64_t parts, F&& block) {
  splits.fetch_add(1, std::memory_order_relaxed);
  const int64_t step = (extent / parts + kAlign - 1) / kAlign * kAlign;
  at::parallel_for(0, parts, 1, [&](int64_t first, int64_t last) {
    for (int64_t p = first; p < last; ++p) {
      const int64_t begin = p * step;
      const int64_t length = std::min(step, extent - begin);
      if (length > 0) block(begin, length);
    }
  });
}

at::Tensor mm(const at::Tensor& a, const at::Tensor& b) {
  const Cut cut = cutFor(a, b);
  if (cut.parts < 2) return at::cpu::mm(a, b);
  at::Tensor out = at::empty({a.size(0), b.size(1)}, a.options());
  eachBlock(out.size(cut.dim), cut.parts, [&](int64_t begin, int64_t length) {
    at::Tensor part = out.narrow(cut.dim, begin, length);
    if (cut.dim == 0) {
      at::cpu::mm_out(part, a.narrow(0, begin, length), b);
    } else {
      at::cpu::mm_out(part, a, b.narrow(1, begin, length));
    }
  });
  return out;
}

at::Tensor addmm(const at::Tensor& self, const at::Tensor& a, const at::Tensor& b, const at::Scalar& beta, const at::Scalar& alpha) {
  const Cut cut = cutFor(a, b);
  if (cut.parts < 2) return at::cpu::addmm(self, a, b, beta, alpha);
  const int64_t m = a.size(0), n = b.size(1);
  // Anything unusual about self (another dtype, a shape that does not broadcast) is the stock
  // kernel's to handle, and to report.
  if (self.scalar_type() != a.scalar_type() || !at::is_expandable_to(self.sizes(), {m, n})) {
    return at::cpu::addmm(self, a, b, beta, alpha);
  }
  const at::Tensor added = self.expand({m, n});
  at::Tensor out = at::empty({m, n}, a.options());
  eachBlock(cut.dim == 0 ? m : n, cut.parts, [&](int64_t begin, int64_t length) {
    at::Tensor part = out.narrow(cut.dim, begin, length);
    if (cut.dim == 0) {
      at::cpu::addmm_out(part, added.narrow(0, begin, length), a.narrow(0, begin, length), b, beta, alpha);
    } else {
      at::cpu::addmm_out(part, added.narrow(1, begin, length), a, b.narrow(1, begin, length), beta, alpha);
    }
  });
  return out;
}

// Registering a kernel over libtorch's own makes the dispatcher warn once on stderr; the override
// is deliberate, so that one warning is dropped.
struct Quiet : c10::WarningHandler {
#if TORCH_VERSION_MAJOR >= 2
  void process(const c10::Warning&) override {}
#else
  void process(const c10::SourceLocation&, const std::string&, const bool) override {}
#endif
};
#if TORCH_VERSION_MAJOR >= 2
using QuietGuard = c10::WarningUtils::WarningHandlerGuard;
#else
using QuietGuard = c10::Warning::WarningHandlerGuard;
#endif

std::unique_ptr<torch::Library> kernels;  // present while the split kernels are registered

void enable(bool on) {
  if (!on) {
    kernels.reset();  // the dispatcher falls back to libtorch's kernels
    return;
  }
  if (kernels) return;
  Quiet quiet;
  QuietGuard guard(&quiet);
  kernels = std::make_unique<torch::Library>(torch::Library::IMPL, "aten", c10::DispatchKey::CPU, __FILE__, __LINE__);
  kernels->impl("mm", TORCH_FN(mm));
  kernels->impl("addmm", TORCH_FN(addmm));
}

// setParallelGemm(on): registers (true) or removes (false) the split kernels where they can help;
// returns whether they are registered now. With no argument it only reports.
Napi::Value SetParallelGemm(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
#ifdef _OPENMP
    const bool canSplit = openblasThreads() == 1;
#else
    const bool canSplit = false;  // built without OpenMP (scripts/libtorch.mjs): parallel_for would run on one thread
#endif
    if (!info[0].IsUndefined()) enable(info[0].ToBoolean().Value() && canSplit);
    return Napi::Boolean::New(info.Env(), kernels != nullptr);
  });
}

// parallelGemmSplits(): how many products have run in blocks in this process.
Napi::Value ParallelGemmSplits(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(splits.load()));
}

}  // namespace

void initGemm(Napi::Env env, Napi::Object exports) {
  exports.Set("setParallelGemm", Napi::Function::New(env, SetParallelGemm));
  exports.Set("parallelGemmSplits", Napi::Function::New(env, ParallelGemmSplits));
}

}  // namespace gantry
