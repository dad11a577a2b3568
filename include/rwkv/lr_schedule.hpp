// The learning-rate schedule of RWKV-LM (RWKV-v4neo src/trainer.py) and global-norm clipping.
// Host-only. `step` is the 0-based global step; total_steps is the length of the run.
//   progress = clamp((step - warmup_steps + 1) / (total_steps - warmup_steps), 0, 1)
//              (1 if total_steps <= warmup_steps); it reaches 1 on the last step, total_steps - 1
//   lr = lr_init                                              if lr_final == lr_init
//   lr = lr_init + (lr_final - lr_init) * progress            if lr_final == 0 or lr_init == 0
//   lr = lr_init * exp(log(lr_final / lr_init) * progress)    otherwise
//   while step < warmup_steps:  lr *= 0.2 + 0.8 * step / warmup_steps
#pragma once

#include <algorithm>
#include <cmath>

namespace rwkv {

struct LrSchedule {
  double lr_init, lr_final;
  long warmup_steps, total_steps;

  double operator()(long step) const {
    double lr = lr_init;
    if (lr_final != lr_init) {
      const long span = total_steps - warmup_steps;
      const double progress =
          span > 0 ? std::clamp(double(step - warmup_steps + 1) / double(span), 0.0, 1.0) : 1.0;
      if (lr_final == 0 || lr_init == 0)
        lr = lr_init + (lr_final - lr_init) * progress;
      else
        lr = lr_init * std::exp(std::log(lr_final / lr_init) * progress);
    }
    if (step < warmup_steps) lr *= 0.2 + 0.8 * double(step) / double(warmup_steps);
    return lr;
  }
};

// The factor that scales every gradient so that their global L2 norm is at most max_norm, as
// torch.nn.utils.clip_grad_norm_ computes it; max_norm <= 0 means no clipping. A NaN norm gives 1:
// the caller checks the norm is finite before it steps.
inline double clip_scale(double grad_norm, double max_norm) {
  if (max_norm <= 0) return 1.0;
  return std::min(1.0, max_norm / (grad_norm + 1e-6));
}

}  // namespace rwkv
