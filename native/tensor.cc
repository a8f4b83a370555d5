// What the dispatcher cannot do: tensor handles and their lifetime, typed-array conversion,
// autograd entry points, grad mode, RNG state, threads and devices.
#include "gantry.h"

#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>
#if __has_include(<torch/version.h>)
#include <torch/version.h>
#endif

#include <cstring>
#include <deque>
#include <vector>
#include <mutex>

namespace gantry {

namespace {
// One table per JS thread: a handle belongs to the thread (isolate) that made it.
struct Slot {
  at::Tensor tensor;
  uint32_t index = 0;
  uint32_t generation = 0;
  int64_t accountedBytes = 0;  // reported to V8 as external memory
};
struct Table {
  // A deque: slots never move, so a reference from unwrap() stays valid while wrap() adds slots.
  std::deque<Slot> slots;
  std::vector<uint32_t> free;
  int64_t live = 0;
  // External memory is reported to V8 in steps of 1 MiB, not per tensor: it only tells the GC how
  // much the tensors owned by the safety net hold, and a call per op costs more than the op.
  int64_t unreportedBytes = 0;
};
thread_local Table table;
constexpr int64_t kReportStep = 1 << 20;

void account(Napi::Env env, Table& t, int64_t bytes) {
  t.unreportedBytes += bytes;
  if (t.unreportedBytes >= kReportStep || t.unreportedBytes <= -kReportStep) {
    Napi::MemoryManagement::AdjustExternalMemory(env, t.unreportedBytes);
    t.unreportedBytes = 0;
  }
}

int64_t hostBytes(const at::Tensor& t) {
  return t.device().is_cpu() ? static_cast<int64_t>(t.nbytes()) : 0;
}

// The live slot a handle names, or nullptr: not a handle, or one already disposed.
Slot* slotOf(const Napi::Value& value, bool* isHandleValue = nullptr) {
  if (isHandleValue) *isHandleValue = false;
  if (!value.IsBigInt()) return nullptr;
  bool lossless = false;
  uint64_t bits = value.As<Napi::BigInt>().Uint64Value(&lossless);
  auto index = static_cast<uint32_t>(bits & 0xffffffffu);
  Table& t = table;
  if (!lossless || index >= t.slots.size()) return nullptr;
  if (isHandleValue) *isHandleValue = true;
  Slot& slot = t.slots[index];
  return slot.generation == static_cast<uint32_t>(bits >> 32) && slot.tensor.defined() ? &slot : nullptr;
}

// Frees the slot's tensor now; the slot's next tenant gets a new generation.
void release(Napi::Env env, Slot& slot) {
  Table& t = table;
  slot.tensor = at::Tensor();
  slot.generation++;
  t.live--;
  if (slot.accountedBytes) account(env, t, -slot.accountedBytes);
  slot.accountedBytes = 0;
  t.free.push_back(slot.index);
}
}  // namespace

bool isHandle(const Napi::Value& value) {
  bool handle = false;
  slotOf(value, &handle);
  return handle;
}

Napi::Value wrap(Napi::Env env, at::Tensor tensor) {
  Table& t = table;
  uint32_t index;
  if (t.free.empty()) {
    if (t.slots.size() >= 0xffffffffu) throw ArgError("too many live tensors (2^32)");
    index = static_cast<uint32_t>(t.slots.size());
    t.slots.emplace_back().index = index;
  } else {
    index = t.free.back();
    t.free.pop_back();
  }
  Slot& slot = t.slots[index];
  slot.accountedBytes = hostBytes(tensor);
  slot.tensor = std::move(tensor);
  t.live++;
  if (slot.accountedBytes) account(env, t, slot.accountedBytes);
  return Napi::BigInt::New(env, (static_cast<uint64_t>(slot.generation) << 32) | index);
}

const at::Tensor& unwrap(const Napi::Value& value, const char* what) {
  bool handle = false;
  Slot* slot = slotOf(value, &handle);
  if (!handle) throw ArgError(std::string(what) + ": expected a tensor handle");
  if (!slot) throw ArgError(std::string(what) + ": the tensor was disposed and cannot be used again");
  return slot->tensor;
}

namespace {

#define GANTRY_FN(name) Napi::Value name(const Napi::CallbackInfo& info)
#define GUARD(body) return guarded(info.Env(), [&]() -> Napi::Value { body })

std::vector<int64_t> shapeArg(const Napi::Value& v) {
  if (!v.IsArray()) throw ArgError("shape must be an array of integers");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int64_t> shape(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsNumber() || e.As<Napi::Number>().DoubleValue() < 0) throw ArgError("shape must hold non-negative integers");
    shape[i] = e.As<Napi::Number>().Int64Value();
  }
  return shape;
}

at::ScalarType dtypeArg(const Napi::Value& v) {
  if (!v.IsNumber()) throw ArgError("dtype must be a ScalarType code");
  return static_cast<at::ScalarType>(v.As<Napi::Number>().Int32Value());
}

// fromBuffer(typedArray, shape, dtypeCode) -> handle; copies the bytes into a new CPU tensor.
GANTRY_FN(FromBuffer) {
  GUARD({
    if (!info[0].IsTypedArray()) throw ArgError("fromBuffer: data must be a typed array");
    auto data = info[0].As<Napi::TypedArray>();
    auto shape = shapeArg(info[1]);
    at::ScalarType dtype = dtypeArg(info[2]);
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (static_cast<size_t>(data.ByteLength()) != t.nbytes()) {
      throw ArgError("fromBuffer: " + std::to_string(data.ByteLength()) + " bytes given, shape and dtype need " +
                     std::to_string(t.nbytes()));
    }
    auto* bytes = static_cast<uint8_t*>(data.ArrayBuffer().Data()) + data.ByteOffset();
    std::memcpy(t.data_ptr(), bytes, t.nbytes());
    return wrap(info.Env(), t);
  });
}

// toBuffer(handle) -> ArrayBuffer holding a contiguous CPU copy of the data.
GANTRY_FN(ToBuffer) {
  GUARD({
    at::Tensor t = unwrap(info[0], "toBuffer").detach().to(at::kCPU).contiguous();
    auto buffer = Napi::ArrayBuffer::New(info.Env(), t.nbytes());
    if (t.nbytes()) std::memcpy(buffer.Data(), t.data_ptr(), t.nbytes());
    return buffer;
  });
}

// item(handle) -> the single value as a number
GANTRY_FN(Item) {
  GUARD({ return Napi::Number::New(info.Env(), unwrap(info[0], "item").item<double>()); });
}

// meta(handle) -> [shape, dtypeCode, device, requiresGrad]
GANTRY_FN(Meta) {
  GUARD({
    const at::Tensor& t = unwrap(info[0], "meta");
    Napi::Env env = info.Env();
    auto sizes = t.sizes();
    Napi::Array shape = Napi::Array::New(env, sizes.size());
    for (size_t i = 0; i < sizes.size(); i++) shape.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(sizes[i])));
    Napi::Array out = Napi::Array::New(env, 4);
    out.Set(0u, shape);
    out.Set(1u, Napi::Number::New(env, static_cast<int>(t.scalar_type())));
    out.Set(2u, Napi::String::New(env, t.device().str()));
    out.Set(3u, Napi::Boolean::New(env, t.requires_grad()));
    return out;
  });
}

// dispose(handle): frees the tensor now; a second dispose is a no-op.
GANTRY_FN(Dispose) {
  GUARD({
    bool handle = false;
    Slot* slot = slotOf(info[0], &handle);
    if (!handle) throw ArgError("dispose: expected a tensor handle");
    if (slot) release(info.Env(), *slot);
    return info.Env().Undefined();
  });
}

GANTRY_FN(LiveTensors) {
  return Napi::Number::New(info.Env(), static_cast<double>(table.live));
}

// --- autograd ---------------------------------------------------------------------------

GANTRY_FN(SetRequiresGrad) {
  GUARD({
    unwrap(info[0], "requiresGrad").set_requires_grad(info[1].ToBoolean().Value());
    return info.Env().Undefined();
  });
}

GANTRY_FN(Grad) {
  GUARD({
    const at::Tensor& g = unwrap(info[0], "grad").grad();
    return g.defined() ? wrap(info.Env(), g) : info.Env().Null();
  });
}

// setGrad(handle, gradHandle | null): null frees the gradient (zero_grad with set_to_none).
GANTRY_FN(SetGrad) {
  GUARD({
    at::Tensor t = unwrap(info[0], "setGrad");
    if (info[1].IsNull() || info[1].IsUndefined()) {
      t.mutable_grad().reset();
    } else {
      t.mutable_grad() = unwrap(info[1], "setGrad");
    }
    return info.Env().Undefined();
  });
}

// backward(handle, gradHandle | null, retainGraph, createGraph)
GANTRY_FN(Backward) {
  GUARD({
    const at::Tensor& t = unwrap(info[0], "backward");
    at::Tensor gradient = info[1].IsNull() || info[1].IsUndefined() ? at::Tensor() : unwrap(info[1], "backward gradient");
    bool createGraph = info[3].ToBoolean().Value();
    c10::optional<bool> retainGraph;
    if (info[2].IsBoolean()) retainGraph = info[2].As<Napi::Boolean>().Value();
    t.backward(gradient, retainGraph, createGraph);
    return info.Env().Undefined();
  });
}

std::vector<at::Tensor> tensorList(const Napi::Value& v, const char* what, bool allowNull) {
  if (!v.IsArray()) throw ArgError(std::string(what) + ": expected an array of tensors");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    out.push_back(allowNull && (e.IsNull() || e.IsUndefined()) ? at::Tensor() : unwrap(e, what));
  }
  return out;
}

// autogradGrad(outputs, inputs, gradOutputs | null, retainGraph | null, createGraph, allowUnused)
//   -> one handle (or null, for an unused input) per input
GANTRY_FN(AutogradGrad) {
  GUARD({
    auto outputs = tensorList(info[0], "grad outputs", false);
    auto inputs = tensorList(info[1], "grad inputs", false);
    std::vector<at::Tensor> gradOutputs;
    if (info[2].IsArray()) gradOutputs = tensorList(info[2], "grad gradOutputs", true);
    c10::optional<bool> retainGraph;
    if (info[3].IsBoolean()) retainGraph = info[3].As<Napi::Boolean>().Value();
    bool createGraph = info[4].ToBoolean().Value();
    bool allowUnused = info[5].ToBoolean().Value();
    auto grads = torch::autograd::grad(outputs, inputs, gradOutputs, retainGraph, createGraph, allowUnused);
    Napi::Array out = Napi::Array::New(info.Env(), grads.size());
    for (size_t i = 0; i < grads.size(); i++) {
      out.Set(static_cast<uint32_t>(i), grads[i].defined() ? wrap(info.Env(), grads[i]) : info.Env().Null());
    }
    return out;
  });
}

GANTRY_FN(IsGradEnabled) { return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled()); }

GANTRY_FN(SetGradEnabled) {
  c10::GradMode::set_enabled(info[0].ToBoolean().Value());
  return info.Env().Undefined();
}

// --- RNG, threads, devices --------------------------------------------------------------

c10::Device deviceArg(const Napi::Value& v) {
  if (!v.IsString()) throw ArgError("device must be a string such as 'cpu' or 'cuda:0'");
  return c10::Device(v.As<Napi::String>().Utf8Value());
}

at::Generator generatorFor(const c10::Device& device) {
  if (device.is_cuda() && !at::hasCUDA()) throw ArgError("CUDA is not available in the libtorch gantry was built against");
  return at::globalContext().defaultGenerator(device);
}

// manualSeed(seed): seeds the CPU generator and every CUDA generator, as torch.manual_seed does.
GANTRY_FN(ManualSeed) {
  GUARD({
    if (!info[0].IsNumber()) throw ArgError("manualSeed: seed must be a non-negative integer");
    auto seed = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
    std::vector<c10::Device> devices{c10::Device(c10::kCPU)};
    for (size_t i = 0; at::hasCUDA() && i < at::getNumGPUs(); i++) devices.emplace_back(c10::kCUDA, static_cast<c10::DeviceIndex>(i));
    for (const auto& device : devices) {
      auto gen = at::globalContext().defaultGenerator(device);
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_current_seed(seed);
    }
    return info.Env().Undefined();
  });
}

// getRngState(device) -> Uint8Array
GANTRY_FN(GetRngState) {
  GUARD({
    auto gen = generatorFor(deviceArg(info[0]));
    at::Tensor state;
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      state = gen.get_state();
    }
    auto out = Napi::Uint8Array::New(info.Env(), state.numel());
    std::memcpy(out.Data(), state.data_ptr(), state.numel());
    return out;
  });
}

// setRngState(device, Uint8Array)
GANTRY_FN(SetRngState) {
  GUARD({
    auto gen = generatorFor(deviceArg(info[0]));
    if (!info[1].IsTypedArray()) throw ArgError("setRngState: state must be a Uint8Array");
    auto bytes = info[1].As<Napi::Uint8Array>();
    at::Tensor state = at::empty({static_cast<int64_t>(bytes.ElementLength())}, at::kByte);
    std::memcpy(state.data_ptr(), bytes.Data(), bytes.ElementLength());
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
    return info.Env().Undefined();
  });
}

GANTRY_FN(SetNumThreads) {
  GUARD({
    int n = info[0].As<Napi::Number>().Int32Value();
    if (n < 1) throw ArgError("setNumThreads: expected a positive integer");
    at::set_num_threads(n);
    return info.Env().Undefined();
  });
}

GANTRY_FN(GetNumThreads) { return Napi::Number::New(info.Env(), at::get_num_threads()); }

GANTRY_FN(CudaDeviceCount) {
  return Napi::Number::New(info.Env(), at::hasCUDA() ? static_cast<double>(at::getNumGPUs()) : 0);
}

GANTRY_FN(Version) {
#ifdef TORCH_VERSION
  return Napi::String::New(info.Env(), TORCH_VERSION);
#else
  return Napi::String::New(info.Env(), "unknown");
#endif
}

}  // namespace

void initTensor(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Napi::Function::Callback> fns[] = {
      {"fromBuffer", FromBuffer},     {"toBuffer", ToBuffer},       {"item", Item},
      {"meta", Meta},                 {"dispose", Dispose},         {"liveTensors", LiveTensors},
      {"setRequiresGrad", SetRequiresGrad}, {"grad", Grad},         {"setGrad", SetGrad},
      {"backward", Backward},         {"autogradGrad", AutogradGrad},
      {"isGradEnabled", IsGradEnabled}, {"setGradEnabled", SetGradEnabled},
      {"manualSeed", ManualSeed},     {"getRngState", GetRngState}, {"setRngState", SetRngState},
      {"setNumThreads", SetNumThreads}, {"getNumThreads", GetNumThreads},
      {"cudaDeviceCount", CudaDeviceCount}, {"version", Version},
  };
  for (const auto& [name, fn] : fns) exports.Set(name, Napi::Function::New(env, fn, name));
}

}  // namespace gantry

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  gantry::initTensor(env, exports);
  gantry::initOps(env, exports);
  gantry::initDist(env, exports);
  gantry::initGemm(env, exports);
  gantry::initMalloc(env, exports);
  return exports;
}

NODE_API_MODULE(gantry, Init)
