// The whole model against an independent implementation (llm.c style): the plain-PyTorch RWKV-4
// of benchmarks/pytorch wrote tests/data/rwkv4_reference_tiny.h5 (float64, every weight random)
// with its logits, loss, every gradient and three AdamW steps. Regenerate with
//   /usr/bin/python3 benchmarks/pytorch/rwkv4_reference.py dump --out tests/data/rwkv4_reference_tiny.h5
#include "test_support.hpp"

#include <rwkv/checkpoint.hpp>
#include <rwkv/v4/model.hpp>
#include <rwkv/optimizer.hpp>

#include <catch2/catch.hpp>

#include <hdf5.h>

#include <string>
#include <vector>

namespace {

using namespace rwkv;

const std::string reference_file = std::string(RWKV_TEST_DATA_DIR) + "/rwkv4_reference_tiny.h5";

template <class T>
std::vector<T> read_dataset(hid_t file, const std::string& name) {
  hid_t set = H5Dopen2(file, name.c_str(), H5P_DEFAULT);
  REQUIRE(set >= 0);
  hid_t space = H5Dget_space(set);
  std::vector<T> out(std::size_t(H5Sget_simple_extent_npoints(space)));
  const hid_t type = std::is_same_v<T, double> ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT;
  const herr_t status = H5Dread(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data());
  H5Sclose(space);
  H5Dclose(set);
  REQUIRE(status >= 0);
  return out;
}

template <class Space>
Kokkos::View<int*, typename Space::memory_space> device_tokens(const std::vector<int>& host) {
  Kokkos::View<int*, typename Space::memory_space> d(std::string("tokens"), host.size());
  Kokkos::deep_copy(d, Kokkos::View<const int*, Kokkos::HostSpace>(host.data(), host.size()));
  return d;
}

// Counts entries of `got` (a host view over the flat layout, at spec s) off the reference.
template <class HostView>
int mismatches(const HostView& got, const TensorSpec& s, const std::vector<double>& want, double rtol, double atol) {
  int bad = 0;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!test::close(got(s.offset + i), want[i], rtol, atol)) {
      if (++bad <= 3) UNSCOPED_INFO(s.name << "[" << i << "]: " << got(s.offset + i) << " vs reference " << want[i]);
    }
  return bad;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("logits, loss, every gradient and three AdamW steps match the PyTorch reference",
                        "[model][reference]", test::Spaces) {
  using Space = TestType;
  hid_t file = H5Fopen(reference_file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const ModelConfig config = read_config(reference_file);
  const auto tokens = read_dataset<int>(file, "tokens");
  const auto targets = read_dataset<int>(file, "targets");
  const int T = 7, B = int(tokens.size()) / T;
  REQUIRE(B * T == int(tokens.size()));
  Model<v4, Space, double> model(config, TrainingShape{B, T, false});
  load_model(reference_file, model);
  const auto tok = device_tokens<Space>(tokens);
  const auto tgt = device_tokens<Space>(targets);

  model.zero_grad();
  const double loss = model.forward(tok, tgt);
  CHECK(loss == Approx(read_dataset<double>(file, "loss")[0]).epsilon(1e-12));
  const auto logits = test::to_host(model.logits());
  const auto want_logits = read_dataset<double>(file, "logits");
  int bad = 0;
  for (std::size_t i = 0; i < want_logits.size(); ++i)
    bad += !test::close(logits.data()[i], want_logits[i], 1e-10, 1e-12);
  CHECK(bad == 0);

  model.backward();
  const auto grads = test::to_host(model.grads().flat);
  bad = 0;
  for (const TensorSpec& s : model.specs()) bad += mismatches(grads, s, read_dataset<double>(file, "grad/" + s.name), 1e-9, 1e-12);
  CHECK(bad == 0);

  // torch.optim.AdamW(lr 1e-3, betas (0.9, 0.99), eps 1e-8, weight decay 0.01 on matrices), no
  // clipping, no schedule, no layer-wise rates; adamw_losses[k] is the loss before step k.
  OptimizerConfig oc;
  oc.lr_init = oc.lr_final = 1e-3;
  oc.beta1 = 0.9;
  oc.beta2 = 0.99;
  oc.eps = 1e-8;
  oc.weight_decay = 0.01;
  oc.grad_clip = 0;
  oc.layerwise_lr = false;
  oc.total_steps = 3;
  AdamW<Space, double> optimizer(model.specs(), oc);
  const auto want_losses = read_dataset<double>(file, "adamw_losses");
  for (int step = 0; step < 3; ++step) {
    model.zero_grad();
    CHECK(model.forward(tok, tgt) == Approx(want_losses[step]).epsilon(1e-11));
    model.backward();
    optimizer.step(model.space(), model.weights().flat, model.grads().flat, step);
  }
  const auto weights = test::to_host(model.weights().flat);
  bad = 0;
  for (const TensorSpec& s : model.specs())
    bad += mismatches(weights, s, read_dataset<double>(file, "after_adamw/" + s.name), 1e-9, 1e-12);
  CHECK(bad == 0);
  H5Fclose(file);
}
