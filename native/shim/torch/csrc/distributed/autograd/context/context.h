// Debian's libtorch-dev 1.13 ships c10d's reducer.hpp but not the distributed-autograd header it
// includes. reducer.hpp needs only two names from it, declared here exactly as PyTorch 1.13
// declares them (torch/csrc/distributed/autograd/context/context.h): a callback type it checks
// with a static_assert, and a shared_ptr it holds. This directory is searched last
// (binding.gyp), so a libtorch that ships the real header uses that one.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>

namespace torch {
namespace distributed {
namespace autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};

using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace autograd
}  // namespace distributed
}  // namespace torch
