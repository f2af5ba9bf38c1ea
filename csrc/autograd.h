#pragma once
// The Autograd kernel of every op here: none is differentiable (each returns sums, certificates
// or an attack's next iterate, not a function to differentiate through). torch's guidance for
// such ops (torch.library.opcheck, autograd_registration_check): register at the Autograd key a
// kernel that calls the op below autograd, so outputs come back without a graph instead of with
// a silently wrong one. Mutated arguments must not require grad (the update would be invisible to
// autograd); their version counters are bumped as ADInplaceOrView would.
#include <ATen/core/LegacyTypeDispatch.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/library.h>

namespace shortcutbench {

inline void below_autograd(const c10::OperatorHandle& op, c10::DispatchKeySet keys, torch::jit::Stack* stack) {
  const auto& args = op.schema().arguments();
  const size_t first = stack->size() - args.size();
  std::vector<at::Tensor> written;
  for (size_t i = 0; i < args.size(); ++i) {
    const auto* alias = args[i].alias_info();
    const c10::IValue& v = (*stack)[first + i];
    if (alias && alias->isWrite() && v.isTensor()) {
      const at::Tensor& t = v.toTensor();
      TORCH_CHECK(!t.requires_grad(), op.schema().name(), " is not differentiable and updates ", args[i].name(),
                  " in place; pass it without requires_grad (detach it)");
      written.push_back(t);
    }
  }
  {
    at::AutoDispatchBelowADInplaceOrView guard;
    op.redispatchBoxed(keys & c10::after_ADInplaceOrView_keyset, stack);
  }
  for (const at::Tensor& t : written) t.unsafeGetTensorImpl()->bump_version();
}

inline torch::CppFunction non_differentiable() { return torch::CppFunction::makeFromBoxedFunction<&below_autograd>(); }

}  // namespace shortcutbench
