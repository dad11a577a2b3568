#include <rwkv/optimizer.hpp>

#include <rwkv/core/huge_pages.hpp>
#include <rwkv/kernels/adamw.hpp>
#include <rwkv/lr_schedule.hpp>

#include <cmath>

namespace rwkv {

template <class ExecSpace, class Scalar>
AdamW<ExecSpace, Scalar>::AdamW(const std::vector<TensorSpec>& specs, const OptimizerConfig& config)
    : specs_(specs), config_(config),
      m_(allocate_with_huge_pages<Vector<ExecSpace, Scalar>>("adam_m", parameter_count(specs))),
      v_(allocate_with_huge_pages<Vector<ExecSpace, Scalar>>("adam_v", parameter_count(specs))) {
  Kokkos::deep_copy(m_, Scalar(0));
  Kokkos::deep_copy(v_, Scalar(0));
}

template <class ExecSpace, class Scalar>
StepReport AdamW<ExecSpace, Scalar>::step(const ExecSpace& space, const Vector<ExecSpace, Scalar>& params,
                                          const Vector<ExecSpace, Scalar>& grads, long step) {
  StepReport report;
  report.grad_norm = std::sqrt(sum_of_squares(space, grads));
  if (!std::isfinite(report.grad_norm)) return report;  // the caller stops; the weights stay as they were
  report.lr = LrSchedule{config_.lr_init, config_.lr_final, config_.warmup_steps, config_.total_steps}(step);
  AdamWStep hyper{report.lr, config_.beta1, config_.beta2, config_.eps, 0.0, step + 1,
                  clip_scale(report.grad_norm, config_.grad_clip)};
  for (const TensorSpec& s : specs_) {
    hyper.lr = report.lr * (config_.layerwise_lr ? s.lr_scale : 1.0);
    hyper.weight_decay = s.weight_decay ? config_.weight_decay : 0.0;
    auto part = [&](const Vector<ExecSpace, Scalar>& flat) {
      return Vector<ExecSpace, Scalar>(flat.data() + s.offset, s.size());
    };
    adamw_update(space, part(params), part(grads), part(m_), part(v_), hyper);
  }
  return report;
}

#define RWKV_ADAMW_DEFINE(SPACE, SCALAR) template class AdamW<SPACE, SCALAR>;
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_ADAMW_DEFINE)

}  // namespace rwkv
