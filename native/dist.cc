// Data-parallel training's communication: PyTorch's own c10d process group (gloo over TCP),
// with a TCPStore for the rendezvous. The addon only opens the group and runs its collectives
// (all-reduce of a bucket of tensors, a differentiable all-reduce sum, broadcast, barrier, and
// the synchronized batch norm); which tensors and when is TypeScript's.
//
// Built with -DUSE_C10D_GLOO when gloo's headers are found (Debian: libgloo-dev); without it,
// distInit() says what is missing.
#include "gantry.h"

#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
#include <torch/csrc/autograd/custom_function.h>
#endif

#include <algorithm>
#include <chrono>
#include <memory>

namespace gantry {
namespace {

#ifdef USE_C10D_GLOO
struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  int rank = 0;
  int size = 1;
};

Group* groupOf(const Napi::Value& value) {
  if (!value.IsExternal()) throw ArgError("expected a process group handle");
  auto* g = value.As<Napi::External<Group>>().Data();
  if (!g || !g->pg) throw ArgError("the process group was shut down");
  return g;
}

std::vector<at::Tensor> tensorsOf(const Napi::Value& value, const char* what) {
  if (!value.IsArray()) throw ArgError(std::string(what) + ": expected an array of tensors");
  auto array = value.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) out.push_back(unwrap(array.Get(i), what));
  return out;
}

int intField(const Napi::Object& o, const char* name) {
  Napi::Value v = o.Get(name);
  if (!v.IsNumber()) throw ArgError(std::string("distInit: ") + name + " must be a number");
  return v.As<Napi::Number>().Int32Value();
}

// distInit({rank, worldSize, masterAddr, masterPort, timeoutMs, iface?}): joins the group. Blocks
// until every rank has joined or timeoutMs has passed. Rank 0 serves the TCPStore.
Napi::Value Init(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsObject()) throw ArgError("distInit: expected an options object");
    auto o = info[0].As<Napi::Object>();
    const int rank = intField(o, "rank");
    const int size = intField(o, "worldSize");
    const int port = intField(o, "masterPort");
    const std::chrono::milliseconds timeout(intField(o, "timeoutMs"));
    const std::string addr = o.Get("masterAddr").ToString().Utf8Value();
    const std::string iface = o.Has("iface") && o.Get("iface").IsString() ? o.Get("iface").ToString().Utf8Value() : "";

    c10d::TCPStoreOptions storeOptions;
    storeOptions.port = static_cast<uint16_t>(port);
    storeOptions.isServer = rank == 0;
    storeOptions.numWorkers = static_cast<size_t>(size);
    storeOptions.waitWorkers = true;
    storeOptions.timeout = timeout;
    auto group = std::make_unique<Group>();
    group->store = c10::make_intrusive<c10d::TCPStore>(addr, storeOptions);
    group->store->setTimeout(timeout);

    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    if (!iface.empty()) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(iface));
    } else if (addr == "127.0.0.1" || addr == "localhost") {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    options->threads = 2;
    group->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(group->store, rank, size, options);
    group->rank = rank;
    group->size = size;
    return Napi::External<Group>::New(info.Env(), group.release(), [](Napi::Env, Group* g) { delete g; });
  });
}

// distAllreduce(group, tensors, average): sums the tensors across ranks in place, as one flat
// buffer (one collective for the whole bucket), then divides by the world size if average.
Napi::Value Allreduce(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Group* g = groupOf(info[0]);
    auto tensors = tensorsOf(info[1], "distAllreduce");
    const bool average = info[2].ToBoolean().Value();
    if (tensors.empty()) return info.Env().Undefined();
    at::NoGradGuard noGrad;
    // The collective works on contiguous buffers: a strided tensor goes through a copy.
    std::vector<at::Tensor> buffers;
    buffers.reserve(tensors.size());
    for (const auto& t : tensors) buffers.push_back(t.is_contiguous() ? t : t.contiguous());
    c10d::AllreduceCoalescedOptions opts;
    auto work = buffers.size() == 1 ? g->pg->allreduce(buffers, opts) : g->pg->allreduce_coalesced(buffers, opts);
    work->wait();
    for (size_t i = 0; i < tensors.size(); i++) {
      if (average && g->size > 1) buffers[i].div_(g->size);
      if (!buffers[i].is_same(tensors[i])) tensors[i].copy_(buffers[i]);
    }
    return info.Env().Undefined();
  });
}

struct ReducerHolder {
  std::shared_ptr<c10d::Reducer> reducer;
};

ReducerHolder* reducerOf(const Napi::Value& value) {
  if (!value.IsExternal()) throw ArgError("expected a reducer handle");
  auto* r = value.As<Napi::External<ReducerHolder>>().Data();
  if (!r || !r->reducer) throw ArgError("the reducer was released");
  return r;
}

// distReducer(group, params, bucketBytes, firstBucketBytes): PyTorch's DistributedDataParallel
// Reducer over these parameters. It hooks each parameter's gradient accumulator: once
// distPrepareBackward has been called, each bucket's all-reduce starts as soon as its gradients
// exist, while backward goes on, and backward returns with the averaged gradients in place.
// Buckets as DDP builds them: by size, the last parameters (whose gradients come first) first.
Napi::Value MakeReducer(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Group* g = groupOf(info[0]);
    auto params = tensorsOf(info[1], "distReducer");
    const int64_t bucketBytes = info[2].As<Napi::Number>().Int64Value();
    const int64_t firstBucketBytes = info[3].As<Napi::Number>().Int64Value();
    if (params.empty()) throw ArgError("distReducer: no parameters");
    for (const auto& p : params) {
      if (!p.requires_grad()) throw ArgError("distReducer: every parameter must require grad");
    }
    auto assigned = c10d::compute_bucket_assignment_by_size(
        params, {static_cast<size_t>(firstBucketBytes), static_cast<size_t>(bucketBytes)}, std::vector<bool>(params.size(), false));
    auto indices = std::get<0>(assigned);
    auto limits = std::get<1>(assigned);
    std::reverse(indices.begin(), indices.end());
    std::reverse(limits.begin(), limits.end());
    auto holder = new ReducerHolder();
    // find_unused_parameters off (DDP's default): searching the graph for parameters without a
    // gradient cost a quarter of mnist-mlp's step here, and every gantry model uses all of its
    // parameters in each loss; the next step's prepare_for_backward names any that did not.
    holder->reducer = std::make_shared<c10d::Reducer>(
        params, indices, limits, g->pg, std::vector<bool>(params.size(), false), bucketBytes,
        /*find_unused_parameters=*/false, /*gradient_as_bucket_view=*/false, std::unordered_map<size_t, std::string>(),
        firstBucketBytes);
    return Napi::External<ReducerHolder>::New(info.Env(), holder, [](Napi::Env, ReducerHolder* r) { delete r; });
  });
}

// distPrepareBackward(reducer, outputs): the next backward from these outputs is reduced.
Napi::Value PrepareBackward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto* r = reducerOf(info[0]);
    r->reducer->prepare_for_backward(tensorsOf(info[1], "distPrepareBackward"));
    return info.Env().Undefined();
  });
}

// Synchronized batch normalization (as PyTorch's SyncBatchNorm): the batch statistics of every
// rank's slice together, so that N ranks normalize as one process does at the global batch.
// Forward all-reduces each channel's sum, sum of squares and count; backward all-reduces the sums
// of dy and dy * (x - mean) that the input's gradient needs. The weight's and bias's gradients stay
// local: DDP's Reducer averages them with the rest. Not twice differentiable (no gradient penalty
// through it): its all-reduce is not part of the graph.
struct SyncBatchNormFn : public torch::autograd::Function<SyncBatchNormFn> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, at::Tensor x, at::Tensor weight, at::Tensor bias,
                            at::Tensor runningMean, at::Tensor runningVar, double momentum, double eps, int64_t groupAddress) {
    auto* g = reinterpret_cast<Group*>(groupAddress);
    const int64_t channels = x.size(1);
    std::vector<int64_t> dims{0};
    for (int64_t d = 2; d < x.dim(); d++) dims.push_back(d);
    const double localCount = static_cast<double>(x.numel() / channels);
    auto x64 = x.to(at::kDouble);
    std::vector<at::Tensor> buffer{at::cat({x64.sum(dims), x64.square().sum(dims), at::full({1}, localCount, x64.options())})};
    g->pg->allreduce(buffer)->wait();
    const double count = buffer[0][2 * channels].item<double>();
    auto mean = buffer[0].narrow(0, 0, channels) / count;
    auto var = (buffer[0].narrow(0, channels, channels) / count - mean.square()).clamp_min(0);
    auto invstd = (var + eps).rsqrt();
    if (runningMean.defined()) {
      at::NoGradGuard noGrad;
      runningMean.mul_(1 - momentum).add_(mean.to(runningMean.scalar_type()), momentum);
      runningVar.mul_(1 - momentum).add_((var * (count / std::max(count - 1, 1.0))).to(runningVar.scalar_type()), momentum);
    }
    std::vector<int64_t> shape(x.dim(), 1);
    shape[1] = channels;
    auto meanF = mean.to(x.scalar_type()).view(shape);
    auto invstdF = invstd.to(x.scalar_type()).view(shape);
    auto xhat = (x - meanF) * invstdF;
    auto y = weight.defined() ? xhat * weight.view(shape) + bias.view(shape) : xhat;
    ctx->save_for_backward({x, weight, meanF, invstdF});
    ctx->saved_data["count"] = count;
    ctx->saved_data["group"] = groupAddress;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto x = saved[0], weight = saved[1], mean = saved[2], invstd = saved[3];
    const double count = ctx->saved_data["count"].toDouble();
    auto* g = reinterpret_cast<Group*>(ctx->saved_data["group"].toInt());
    auto dy = grads[0];
    const int64_t channels = x.size(1);
    std::vector<int64_t> dims{0};
    for (int64_t d = 2; d < x.dim(); d++) dims.push_back(d);
    auto xmu = x - mean;
    auto sumDy = dy.sum(dims);
    auto sumDyXmu = (dy * xmu).sum(dims);
    at::Tensor gradWeight, gradBias;
    if (weight.defined()) {
      gradWeight = sumDyXmu * invstd.flatten();
      gradBias = sumDy;
    }
    std::vector<at::Tensor> buffer{at::cat({sumDy, sumDyXmu}).to(at::kDouble)};
    g->pg->allreduce(buffer)->wait();
    auto shape = mean.sizes();
    auto meanDy = (buffer[0].narrow(0, 0, channels) / count).to(x.scalar_type()).view(shape);
    auto meanDyXmu = (buffer[0].narrow(0, channels, channels) / count).to(x.scalar_type()).view(shape);
    auto w = weight.defined() ? weight.view(shape) : at::ones_like(mean);
    auto gradX = (dy - meanDy - xmu * invstd.square() * meanDyXmu) * invstd * w;
    return {gradX, gradWeight, gradBias, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// distSyncBatchNorm(group, x, weight|null, bias|null, runningMean|null, runningVar|null, momentum, eps)
Napi::Value SyncBatchNorm(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Group* g = groupOf(info[0]);
    auto optional = [&](int i, const char* what) { return info[i].IsNull() || info[i].IsUndefined() ? at::Tensor() : unwrap(info[i], what); };
    const at::Tensor& x = unwrap(info[1], "distSyncBatchNorm: input");
    if (x.dim() < 2) throw ArgError("distSyncBatchNorm: the input needs a channel dimension (B, C, ...)");
    auto y = SyncBatchNormFn::apply(x, optional(2, "weight"), optional(3, "bias"), optional(4, "runningMean"), optional(5, "runningVar"),
                                    info[6].As<Napi::Number>().DoubleValue(), info[7].As<Napi::Number>().DoubleValue(),
                                    reinterpret_cast<int64_t>(g));
    return wrap(info.Env(), y);
  });
}

// The sum of a tensor over every rank, as a differentiable op: each rank's loss depends on the
// sum, so the gradient reaching each rank's input is the sum of every rank's incoming gradient,
// the same op again. Its backward is built from itself, so it is twice differentiable (a gradient
// penalty through it works). Batch statistics other than BatchNorm's (RaGAN's means, DRAGAN's
// std, BEGAN's control) go through it so that N ranks compute what one process does.
struct AllreduceSumFn : public torch::autograd::Function<AllreduceSumFn> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, at::Tensor x, int64_t groupAddress) {
    ctx->saved_data["group"] = groupAddress;
    std::vector<at::Tensor> buffer{x.contiguous().clone()};
    reinterpret_cast<Group*>(groupAddress)->pg->allreduce(buffer)->wait();
    return buffer[0];
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    return {AllreduceSumFn::apply(grads[0], ctx->saved_data["group"].toInt()), at::Tensor()};
  }
};

// distAllreduceSum(group, x): a new tensor, x summed over every rank (differentiable).
Napi::Value AllreduceSum(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Group* g = groupOf(info[0]);
    const at::Tensor& x = unwrap(info[1], "distAllreduceSum: input");
    return wrap(info.Env(), AllreduceSumFn::apply(x, reinterpret_cast<int64_t>(g)));
  });
}

// distBroadcast(group, tensors, root): every rank's tensors become root's, in place.
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Group* g = groupOf(info[0]);
    auto tensors = tensorsOf(info[1], "distBroadcast");
    const int root = info[2].As<Napi::Number>().Int32Value();
    if (tensors.empty()) return info.Env().Undefined();
    at::NoGradGuard noGrad;
    // One collective: the tensors flattened into one buffer of their common dtype, then copied back.
    std::vector<at::Tensor> flat;
    for (const auto& t : tensors) flat.push_back(t.detach().reshape({-1}).to(at::kDouble));
    std::vector<at::Tensor> buffer{at::cat(flat)};
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    g->pg->broadcast(buffer, opts)->wait();
    int64_t offset = 0;
    for (auto& t : tensors) {
      const int64_t n = t.numel();
      t.detach().copy_(buffer[0].narrow(0, offset, n).view(t.sizes()));
      offset += n;
    }
    return info.Env().Undefined();
  });
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    groupOf(info[0])->pg->barrier()->wait();
    return info.Env().Undefined();
  });
}

// distShutdown(group): closes the connections now rather than at garbage collection.
Napi::Value Shutdown(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsExternal()) throw ArgError("distShutdown: expected a process group handle");
    auto* g = info[0].As<Napi::External<Group>>().Data();
    if (g) {
      g->pg.reset();
      g->store.reset();
    }
    return info.Env().Undefined();
  });
}
#else
Napi::Value Missing(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    throw ArgError(
        "this gantry addon was built without c10d's gloo backend, which distributed training needs: "
        "install gloo's headers (Debian and Ubuntu: apt-get install libgloo-dev) and rebuild the addon (npm rebuild)");
  });
}
#endif

}  // namespace

void initDist(Napi::Env env, Napi::Object exports) {
#ifdef USE_C10D_GLOO
  exports.Set("distAvailable", Napi::Boolean::New(env, true));
  exports.Set("distInit", Napi::Function::New(env, Init));
  exports.Set("distAllreduce", Napi::Function::New(env, Allreduce));
  exports.Set("distBroadcast", Napi::Function::New(env, Broadcast));
  exports.Set("distBarrier", Napi::Function::New(env, Barrier));
  exports.Set("distShutdown", Napi::Function::New(env, Shutdown));
  exports.Set("distReducer", Napi::Function::New(env, MakeReducer));
  exports.Set("distPrepareBackward", Napi::Function::New(env, PrepareBackward));
  exports.Set("distSyncBatchNorm", Napi::Function::New(env, SyncBatchNorm));
  exports.Set("distAllreduceSum", Napi::Function::New(env, AllreduceSum));
#else
  exports.Set("distAvailable", Napi::Boolean::New(env, false));
  for (const char* name : {"distInit", "distAllreduce", "distBroadcast", "distBarrier", "distShutdown", "distReducer", "distPrepareBackward", "distSyncBatchNorm", "distAllreduceSum"})
    exports.Set(name, Napi::Function::New(env, Missing));
#endif
}

}  // namespace gantry
