#include <rwkv/lr_schedule.hpp>

#include <catch2/catch.hpp>

#include <cmath>

using rwkv::clip_scale;
using rwkv::LrSchedule;

TEST_CASE("LrSchedule warms up linearly from 0.2 lr, then decays exponentially to lr_final", "[lr_schedule]") {
  const LrSchedule s{6e-4, 1e-5, 10, 110};
  CHECK(s(0) == Approx(0.2 * 6e-4).epsilon(1e-14));
  CHECK(s(5) == Approx(0.6 * 6e-4).epsilon(1e-14));
  CHECK(s(9) == Approx((0.2 + 0.8 * 0.9) * 6e-4).epsilon(1e-14));  // progress is still 0
  // After warmup, each step multiplies lr by (lr_final / lr_init)^(1/100).
  const double ratio = std::pow(1e-5 / 6e-4, 1.0 / 100);
  CHECK(s(10) == Approx(6e-4 * ratio).epsilon(1e-14));
  for (long step = 10; step < 109; ++step) CHECK(s(step + 1) / s(step) == Approx(ratio).epsilon(1e-12));
  CHECK(s(109) == Approx(1e-5).epsilon(1e-14));  // the last step of the run reaches lr_final
  CHECK(s(500) == Approx(1e-5).epsilon(1e-14));  // and stays there
}

TEST_CASE("LrSchedule falls back to constant and linear as RWKV-LM does", "[lr_schedule]") {
  const LrSchedule constant{1e-3, 1e-3, 4, 100};
  CHECK(constant(0) == Approx(0.2e-3).epsilon(1e-14));
  CHECK(constant(2) == Approx(0.6e-3).epsilon(1e-14));
  for (long step : {4L, 50L, 99L, 1000L}) CHECK(constant(step) == 1e-3);

  const LrSchedule linear{1e-3, 0.0, 0, 100};  // no warmup; progress = (step + 1) / 100
  CHECK(linear(0) == Approx(0.99e-3).epsilon(1e-14));
  CHECK(linear(49) == Approx(0.5e-3).epsilon(1e-14));
  CHECK(linear(99) == 0.0);

  const LrSchedule degenerate{1e-3, 1e-4, 10, 10};  // the whole run is warmup
  CHECK(degenerate(0) == Approx(0.2e-4).epsilon(1e-14));
  CHECK(degenerate(20) == Approx(1e-4).epsilon(1e-14));
}

TEST_CASE("clip_scale scales the global norm down to max_norm", "[lr_schedule]") {
  CHECK(clip_scale(0.5, 1.0) == 1.0);
  CHECK(clip_scale(4.0, 1.0) == Approx(1.0 / (4.0 + 1e-6)).epsilon(1e-15));
  CHECK(clip_scale(4.0, 1.0) * 4.0 < 1.0);
  CHECK(clip_scale(1e9, 0.0) == 1.0);   // max_norm 0: no clipping
  CHECK(clip_scale(1e9, -1.0) == 1.0);  // negative: no clipping
  CHECK(clip_scale(0.0, 1.0) == 1.0);
}
