// Shared pieces of the gantry addon: the tensor handle and error translation.
// The addon knows nothing of GANs: it holds libtorch tensors and calls ATen operators.
#pragma once

#include <napi.h>
#include <ATen/ATen.h>

#include <string>

namespace gantry {

// Tensors reach JS as handles: a BigInt naming a slot of a per-thread table, (generation << 32) |
// index. Creating and freeing one costs a table entry, not a V8 object with a finalizer (node's
// finalizers cost more than the op itself on small tensors). dispose() frees the slot and bumps its
// generation, so a stale handle is refused with a clear error instead of reaching freed memory.
// JS frees handles deterministically (scopes, dispose); a FinalizationRegistry in tensor.ts is the
// safety net for the tensors that no scope owns.

// Wraps a defined tensor in a new JS handle.
Napi::Value wrap(Napi::Env env, at::Tensor tensor);
// The tensor behind a JS handle; throws a JS-visible error naming `what` if it is not one.
const at::Tensor& unwrap(const Napi::Value& value, const char* what);
bool isHandle(const Napi::Value& value);
// Thrown for bad arguments from JS; carries no libtorch backtrace.
struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Runs `body`, turning libtorch and argument errors into JS exceptions. libtorch's message is kept
// without its C++ backtrace; `kind` tells the TypeScript side which error class to raise.
template <typename F>
Napi::Value guarded(Napi::Env env, F&& body) {
  const char* kind = "torch";
  std::string message;
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::IndexError& e) {
    kind = "index";
    message = e.what_without_backtrace();
  } catch (const c10::ValueError& e) {
    kind = "value";
    message = e.what_without_backtrace();
  } catch (const c10::TypeError& e) {
    kind = "type";
    message = e.what_without_backtrace();
  } catch (const c10::NotImplementedError& e) {
    kind = "notImplemented";
    message = e.what_without_backtrace();
  } catch (const c10::OutOfMemoryError& e) {
    kind = "outOfMemory";
    message = e.what_without_backtrace();
  } catch (const c10::LinAlgError& e) {
    kind = "linalg";
    message = e.what_without_backtrace();
  } catch (const c10::Error& e) {
    message = e.what_without_backtrace();
  } catch (const ArgError& e) {
    kind = "argument";
    message = e.what();
  } catch (const std::bad_alloc&) {
    kind = "outOfMemory";
    message = "out of memory (std::bad_alloc)";
  } catch (const std::exception& e) {
    message = e.what();
  }
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("gantryKind", Napi::String::New(env, kind));
  throw error;
}

void initOps(Napi::Env env, Napi::Object exports);
void initTensor(Napi::Env env, Napi::Object exports);
void initDist(Napi::Env env, Napi::Object exports);
void initGemm(Napi::Env env, Napi::Object exports);
void initMalloc(Napi::Env env, Napi::Object exports);

}  // namespace gantry
