// rwkv-bench: in one run, the machine's ceilings (triad, in-place update, read and copy bandwidth,
// the best sgemm through the library's GEMM path), every kernel at RWKV-4 sizes and the end-to-end
// paths, each rate as a fraction of the ceiling that bounds it: bandwidth-bound kernels against
// the stream ceiling (the better of triad and update),
// GEMMs, the training step and prefill against the sgemm rate, decode against the read bandwidth.
//   rwkv-bench [--quick | --smoke] [--json FILE] [--threads N]
// Prints an aligned table; --json writes the same as JSON (scripts/plot-bench.py compares files).
// Rates come from the best of the repetitions, as the ceilings do (each the best of a measurement
// before and one after the rest); median, min and max are kept.
//
// FLOPs and bytes are counted per call from the kernels' code: bytes are the compulsory traffic
// (each array read or written once; an accumulated output read and written), FLOPs are the
// arithmetic operations, exp/log/sqrt/div/max counted as one each. The formulas sit by each call.
#include "bench_cli.hpp"
#include "report.hpp"

#include <rwkv/kernels/adamw.hpp>
#include <rwkv/kernels/cross_entropy.hpp>
#include <rwkv/kernels/gemm.hpp>
#include <rwkv/kernels/layer_norm.hpp>
#include <rwkv/kernels/time_mix.hpp>
#include <rwkv/kernels/wkv.hpp>
#include <rwkv/v4/model.hpp>
#include <rwkv/optimizer.hpp>

#include <algorithm>
#include <fstream>
#include <stdexcept>
#include <string>
#include <type_traits>

// Written at every build by cmake/git_revision.cmake; compile-only checks go without it.
#if __has_include("git_revision.hpp")
#include "git_revision.hpp"
#else
#define RWKV_GIT_REVISION "unknown"
#endif

namespace {

using namespace rwkv;
using bench::Judge;
using bench::Row;
using Space = Kokkos::DefaultExecutionSpace;
using Mat = Matrix<Space, float>;
using Vec = Vector<Space, float>;
constexpr double F = sizeof(float);

struct Sizes {
  const char* mode;
  int warmup, reps, e2e_reps;
  std::int64_t stream_bytes;  // over all arrays of a bandwidth ceiling: past the last-level cache
  int sgemm_n;                // the largest square sgemm of the ceiling (n/2 is timed too)
  int B, T, C;                // activations [B*T, C]
  int gemm_in, gemm_out;      // the FFN key's weight [out, in], rows B*T
  int ce_rows, vocab;
  std::int64_t adamw_params;
  ModelConfig train;
  int train_batch, train_ctx;
  ModelConfig decode;  // the model of prefill and decode
  int prompt, decode_tokens, slots;
};

// full: RWKV-4 169M shapes (C = 768, V = 50277), B*T = 8192 (25 MB an activation) so that a
// kernel's arrays pass a 32 MB last-level cache as the ceilings' do; quick: the same widths, fewer rows and a smaller model
// (under 2 minutes on 2 cores); smoke: tiny, seconds (the ctest).
Sizes sizes_of(const std::string& mode) {
  if (mode == "smoke")
    return {"smoke", 1, 2, 2, std::int64_t(12) << 20, 128, 2, 16, 64, 64, 256, 16, 512, 1 << 16,
            ModelConfig{1, 64, 0, 256}, 2, 16, ModelConfig{1, 64, 0, 256}, 8, 2, 2};
  if (mode == "quick")
    return {"quick", 1, 5, 3, std::int64_t(192) << 20, 1024, 4, 256, 768, 768, 3072, 256, 50277, std::int64_t(4) << 20,
            ModelConfig{2, 256, 0, 256}, 4, 128, ModelConfig{6, 512, 0, 50277}, 128, 4, 4};
  return {"full", 2, 7, 3, std::int64_t(768) << 20, 2048, 32, 256, 768, 768, 3072, 1024, 50277, std::int64_t(16) << 20,
          ModelConfig{6, 512, 0, 256}, 8, 256, ModelConfig{12, 768, 0, 50277}, 512, 16, 8};
}

bench::Ceilings measure_ceilings(const Sizes& s) {
  bench::Ceilings c;
  const int repeats = s.reps;
  c.triad_gbs = bench::triad_bandwidth_gbs<Space>(s.stream_bytes, repeats);
  c.update_gbs = bench::update_bandwidth_gbs<Space>(s.stream_bytes, repeats);
  c.read_gbs = bench::read_bandwidth_gbs<Space>(s.stream_bytes, repeats);
  c.copy_gbs = bench::copy_bandwidth_gbs<Space>(s.stream_bytes, repeats);
  c.sgemm_gflops = std::max(bench::sgemm_ceiling_gflops<Space>(s.sgemm_n / 2, repeats),
                            bench::sgemm_ceiling_gflops<Space>(s.sgemm_n, repeats));
  std::fprintf(stderr,
               "[rwkv-bench] ceilings: triad %.1f GB/s, update %.1f GB/s, read %.1f GB/s, copy %.1f GB/s, sgemm %.1f "
               "GFLOP/s\n",
               c.triad_gbs, c.update_gbs, c.read_gbs, c.copy_gbs, c.sgemm_gflops);
  return c;
}

// A line on stderr as each measurement ends: a full run takes minutes.
void progress(const Row& r) {
  std::fprintf(stderr, "[rwkv-bench] %-22s %10.3f ms median\n", r.name.c_str(), 1e3 * r.time.median);
}

template <class Call>
Row kernel_row(const Sizes& s, std::string name, std::vector<std::pair<std::string, long>> sizes, double flops,
               double bytes, Judge judge, Call&& call) {
  Row r;
  r.group = "kernel";
  r.name = std::move(name);
  r.sizes = std::move(sizes);
  r.flops = flops;
  r.bytes = bytes;
  r.judge = judge;
  r.time = bench::time_calls(s.warmup, s.reps, call);
  progress(r);
  return r;
}

void bench_kernels(const Sizes& s, std::vector<Row>& rows) {
  const Space space;
  const int B = s.B, T = s.T, C = s.C, N = B * T;
  const double NC = double(N) * C;
  const std::vector<std::pair<std::string, long>> btc = {{"B", B}, {"T", T}, {"C", C}};

  // WKV, training forward (saving the state before each step for the backward):
  //   bytes: read k, v; write y and the saved aa, bb, pp: 6 N C floats (per-channel w, u and the
  //   [B, C] state are not counted);
  //   FLOPs: wkv_forward_step, 23 an element (4 exp, 2 max, 1 div, 16 add/sub/mul).
  {
    Mat k("k", N, C), v("v", N, C), y("y", N, C);
    Vec decay("decay", C), first("first", C);
    bench::fill_uniform(k, -1, 1, 1);
    bench::fill_uniform(v, -1, 1, 2);
    bench::fill_uniform(decay, -2, 1, 3);
    bench::fill_uniform(first, -1, 1, 4);
    WkvState<Space, float> state("state", B, C), dstate("dstate", B, C);
    WkvSaved<Space, float> saved("saved", B, T, C);
    wkv_reset_state(space, state);
    rows.push_back(kernel_row(s, "wkv_forward", btc, 23 * NC, 6 * NC * F, Judge::stream, [&] {
      wkv_reset_state(space, state);
      wkv_forward(space, T, y, state, saved, decay, first, k, v);
    }));
    // Backward: read the saved aa, bb, pp, k, v, dy; read and write dk, dv: 10 N C floats;
    // FLOPs: wkv_backward_step, 42 an element (4 exp, 2 max, 2 div, 34 add/sub/mul).
    Mat dy("dy", N, C), dk("dk", N, C), dv("dv", N, C);
    Vec ddecay("ddecay", C), dfirst("dfirst", C);
    bench::fill_uniform(dy, -1, 1, 5);
    rows.push_back(kernel_row(s, "wkv_backward", btc, 42 * NC, 10 * NC * F, Judge::stream, [&] {
      Kokkos::deep_copy(space, dstate.aa, 0.0f);  // the final state's gradient: zero, as after a sequence
      Kokkos::deep_copy(space, dstate.bb, 0.0f);
      Kokkos::deep_copy(space, dstate.pp, 0.0f);
      wkv_backward(space, T, ddecay, dfirst, dk, dv, dstate, dy, saved, decay, first, k, v);
    }));
  }

  // Time mix (token shift) forward: read x, write out: 2 N C floats (x[t-1] is x read for the row
  // before); FLOPs: x mix + s (1 - mix), 4 an element.
  {
    Mat x("x", N, C), out("out", N, C), dout("dout", N, C), dx("dx", N, C);
    Vec mix("mix", C), dmix("dmix", C);
    const Mat no_state;
    bench::fill_uniform(x, -1, 1, 6);
    bench::fill_uniform(dout, -1, 1, 7);
    bench::fill_uniform(mix, 0, 1, 8);
    rows.push_back(kernel_row(s, "time_mix_forward", btc, 4 * NC, 2 * NC * F, Judge::stream,
                              [&] { time_mix_forward(space, T, out, x, no_state, mix); }));
    // Backward: read dout, x; read and write dx: 4 N C floats (dmix's sums are per column); FLOPs:
    // dx += dout mix + dout[t+1] (1 - mix) (5) and dmix += dout (x - s) (3): 8 an element.
    rows.push_back(kernel_row(s, "time_mix_backward", btc, 8 * NC, 4 * NC * F, Judge::stream,
                              [&] { time_mix_backward(space, T, dx, no_state, dmix, dout, x, no_state, mix); }));
  }

  // Layer norm forward: read x, write y: 2 N C floats (+ mean, rstd per row); FLOPs: mean (1),
  // variance (3), normalize and scale (4): 8 an element.
  {
    Mat x("x", N, C), y("y", N, C), dy("dy", N, C), dx("dx", N, C);
    Vec weight("weight", C), bias("bias", C), mean("mean", N), rstd("rstd", N), dweight("dweight", C),
        dbias("dbias", C);
    bench::fill_uniform(x, -2, 2, 9);
    bench::fill_uniform(dy, -1, 1, 10);
    bench::fill_uniform(weight, 0.5, 1.5, 11);
    bench::fill_uniform(bias, -0.1f, 0.1f, 12);
    rows.push_back(kernel_row(s, "layer_norm_forward", {{"N", N}, {"C", C}}, 8 * NC, (2 * NC + 2 * N) * F,
                              Judge::stream, [&] { layer_norm_forward(space, y, mean, rstd, x, weight, bias); }));
    // Backward: read dy, x; read and write dx: 4 N C floats; FLOPs: xhat (2), g = dy w (1), the two
    // row means (3), dx (5), dweight and dbias (3): 14 an element.
    rows.push_back(kernel_row(s, "layer_norm_backward", {{"N", N}, {"C", C}}, 14 * NC, (4 * NC + 2 * N) * F,
                              Judge::stream,
                              [&] { layer_norm_backward(space, dx, dweight, dbias, dy, x, weight, mean, rstd); }));
  }

  // The linear layer's three products at the FFN key's shape, W [out, in], rows N: 2 N in out
  // FLOPs each; bytes: each operand once (dx and dW accumulate: read and written).
  {
    const int in = s.gemm_in, out = s.gemm_out;
    Mat x("x", N, in), W("W", out, in), y("y", N, out), dy("dy", N, out), dx("dx", N, in), dW("dW", out, in);
    const Mat none;
    bench::fill_uniform(x, -1, 1, 13);
    bench::fill_uniform(W, -0.05f, 0.05f, 14);
    bench::fill_uniform(dy, -1, 1, 15);
    const double flops = 2.0 * N * in * double(out);
    const std::vector<std::pair<std::string, long>> shape = {{"N", N}, {"in", in}, {"out", out}};
    rows.push_back(kernel_row(s, "gemm_y=xW^T", shape, flops, (double(N) * in + double(out) * in + double(N) * out) * F,
                              Judge::sgemm, [&] { matmul_forward(space, y, x, W); }));
    rows.push_back(kernel_row(s, "gemm_dx+=dyW", shape, flops,
                              (double(N) * out + double(out) * in + 2.0 * N * in) * F, Judge::sgemm,
                              [&] { matmul_backward(space, dx, none, dy, x, W); }));
    rows.push_back(kernel_row(s, "gemm_dW+=dy^Tx", shape, flops,
                              (double(N) * out + double(N) * in + 2.0 * out * in) * F, Judge::sgemm,
                              [&] { matmul_backward(space, none, dW, dy, x, W); }));
  }

  // Softmax cross-entropy over the vocabulary, forward: read the logits once: N V floats; FLOPs:
  // max (1), subtract, exp, add (3): 4 an element. Backward: read logits, write dlogits: 2 N V
  // floats; FLOPs: subtract, exp, scale (3) an element.
  {
    const int rows_n = s.ce_rows, V = s.vocab;
    const double NV = double(rows_n) * V;
    Mat logits("logits", rows_n, V), dlogits("dlogits", rows_n, V);
    Vec loss("loss", rows_n), lse("lse", rows_n);
    bench::fill_uniform(logits, -4, 4, 16);
    const auto targets = bench::tokens_of<Space>(rows_n, V);
    const std::vector<std::pair<std::string, long>> shape = {{"N", rows_n}, {"V", V}};
    rows.push_back(kernel_row(s, "cross_entropy_forward", shape, 4 * NV, (NV + 2.0 * rows_n) * F, Judge::stream,
                              [&] { cross_entropy_forward(space, loss, lse, logits, targets); }));
    rows.push_back(kernel_row(s, "cross_entropy_backward", shape, 3 * NV, (2 * NV + rows_n) * F, Judge::stream,
                              [&] { cross_entropy_backward(space, dlogits, logits, lse, targets, 1.0f / rows_n); }));
  }

  // AdamW step over P parameters: read p, g, m, v; write p, m, v: 7 P floats; FLOPs: 15 a
  // parameter (scale, two moments, decay, sqrt, bias corrections, division, update).
  {
    const std::int64_t P = s.adamw_params;
    Vec p("p", P), g("g", P), m("m", P), v("v", P);
    bench::fill_uniform(p, -0.1f, 0.1f, 17);
    bench::fill_uniform(g, -0.01f, 0.01f, 18);
    const AdamWStep step{6e-4, 0.9, 0.99, 1e-8, 0.01, 1, 1.0};
    rows.push_back(kernel_row(s, "adamw_step", {{"P", long(P)}}, 15.0 * P, 7.0 * P * F, Judge::stream,
                              [&] { adamw_update(space, p, g, m, v, step); }));
  }
}

template <class Call>
Row e2e_row(const Sizes& s, std::string name, std::vector<std::pair<std::string, long>> sizes, double flops,
            double bytes, double tokens, Judge judge, Call&& call) {
  Row r;
  r.group = "end_to_end";
  r.name = std::move(name);
  r.sizes = std::move(sizes);
  r.flops = flops;
  r.bytes = bytes;
  r.tokens = tokens;
  r.judge = judge;
  r.time = bench::time_calls(1, s.e2e_reps, call);
  progress(r);
  return r;
}

std::vector<std::pair<std::string, long>> model_sizes(const ModelConfig& c) {
  return {{"L", c.n_layer}, {"C", c.n_embd}, {"V", c.vocab_size}};
}

void bench_training(const Sizes& s, std::vector<Row>& rows) {
  // One training step (zero_grad, forward, backward, AdamW), as bench_train times it: about
  // 6 x (parameters outside the embedding) FLOPs a token (2 forward, 4 backward); the embedding is
  // a gather. Bytes not counted: judged by FLOPs.
  Model<v4, Space, float> model(s.train, TrainingShape{s.train_batch, s.train_ctx, false});
  model.initialize(1);
  OptimizerConfig oc;
  oc.total_steps = 1 << 20;
  AdamW<Space, float> optimizer(model.specs(), oc);
  const int N = s.train_batch * s.train_ctx;
  const auto tokens = bench::tokens_of<Space>(N, s.train.vocab_size);
  const auto targets = bench::tokens_of<Space>(N + 1, s.train.vocab_size);
  const auto shifted = Kokkos::subview(targets, Kokkos::make_pair(1, N + 1));
  Model<v4, Space, float>::TokenView next("targets", N);
  Kokkos::deep_copy(next, shifted);
  const double non_embedding = double(parameter_count(model.specs()) - model.specs().front().size());
  auto sizes = model_sizes(s.train);
  sizes.insert(sizes.end(), {{"B", s.train_batch}, {"T", s.train_ctx}});
  long step = 0;
  rows.push_back(e2e_row(s, "train_step", sizes, 6.0 * non_embedding * N, 0, N, Judge::sgemm, [&] {
    model.zero_grad();
    model.forward(tokens, next);
    model.backward(1e-4);
    optimizer.step(model.space(), model.weights().flat, model.grads().flat, step++);
  }));
}

void bench_inference(const Sizes& s, std::vector<Row>& rows) {
  Model<v4, Space, float> model(s.decode, inference_only);
  bench::fill_uniform(model.weights().flat, -0.05f, 0.05f, 19);
  std::size_t layer_params = 0, head_params = 0;
  for (const TensorSpec& spec : model.specs()) {
    if (spec.name == "head.weight") head_params = spec.size();
    else if (spec.name != "emb.weight") layer_params += spec.size();
  }
  const auto sizes = model_sizes(s.decode);
  const int V = s.decode.vocab_size;

  // Prefill of T prompt tokens in one pass: 2 x layer parameters FLOPs a token, the head once (the
  // last position's logits). Judged by FLOPs.
  const auto prompt = bench::tokens_of<Space>(s.prompt, V);
  auto prefill_sizes = sizes;
  prefill_sizes.push_back({"T", s.prompt});
  rows.push_back(e2e_row(s, "prefill_float32", prefill_sizes, 2.0 * double(layer_params) * s.prompt + 2.0 * double(head_params),
                         0, s.prompt, Judge::sgemm, [&] {
                           auto fresh = model.new_state();
                           model.infer(prompt, s.prompt, fresh);
                         }));

  // Decode: a step reads every weight once (step_weight_bytes; the state is small): bytes = that
  // a step, FLOPs = 2 x (layer + head parameters) a token; S sequences share one read of the
  // weights a step. `decode_tokens` steps a call.
  const auto decode = [&](const char* name, int slots) {
    const auto tokens = bench::tokens_of<Space>(slots, V);
    auto state = model.new_state(slots);
    auto decode_sizes = sizes;
    decode_sizes.insert(decode_sizes.end(), {{"S", slots}, {"steps", s.decode_tokens}});
    const double bytes = double(model.step_weight_bytes()) * s.decode_tokens;
    const double flops = 2.0 * double(layer_params + head_params) * slots * s.decode_tokens;
    rows.push_back(e2e_row(s, name, decode_sizes, flops, bytes, double(slots) * s.decode_tokens, Judge::read, [&] {
      for (int i = 0; i < s.decode_tokens; ++i) model.infer(tokens, 1, state);
    }));
  };
  decode("decode_float32", 1);
  decode("decode_float32_multi", s.slots);
  model.quantize_int8();
  decode("decode_int8", 1);
  decode("decode_int8_multi", s.slots);
}

std::string device_name() {
#if defined(KOKKOS_ENABLE_CUDA)
  if constexpr (std::is_same_v<Space, Kokkos::Cuda>) {
    int device = 0;
    cudaDeviceProp prop;
    if (cudaGetDevice(&device) == cudaSuccess && cudaGetDeviceProperties(&prop, device) == cudaSuccess) return prop.name;
  }
#elif defined(KOKKOS_ENABLE_HIP)
  {
    int device = 0;
    hipDeviceProp_t prop;
    if (hipGetDevice(&device) == hipSuccess && hipGetDeviceProperties(&prop, device) == hipSuccess) return prop.name;
  }
#endif
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "unknown host CPU";
}

std::string compiler_name() {
#if defined(__NVCC__)
  return "nvcc " + std::to_string(__CUDACC_VER_MAJOR__) + "." + std::to_string(__CUDACC_VER_MINOR__) +
         " (host " __VERSION__ ")";
#elif defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "unknown";
#endif
}

int run(const std::string& mode, const std::string& json_path) {
  const Sizes s = sizes_of(mode);
  if (!json_path.empty()) bench::check_writable(json_path);
  bench::RunInfo info;
  info.mode = s.mode;
  info.device = device_name();
  info.backend = Space::name();
  info.concurrency = Space().concurrency();
  info.compiler = compiler_name();
  info.kokkos_version_number = KOKKOS_VERSION;
  info.kokkos_version = std::to_string(KOKKOS_VERSION / 10000) + "." + std::to_string(KOKKOS_VERSION / 100 % 100) +
                        "." + std::to_string(KOKKOS_VERSION % 100);
  info.git_revision = RWKV_GIT_REVISION;
  std::fprintf(stderr, "[rwkv-bench] %s mode on %s (%s, concurrency %d)\n", s.mode, info.device.c_str(), Space::name(),
               info.concurrency);

  // The ceilings are measured before and after the rest and the best kept: the load of a shared
  // machine drifts, and a ceiling set low by it would flatter every fraction.
  const bench::Ceilings before = measure_ceilings(s);
  std::vector<Row> rows;
  bench_kernels(s, rows);
  bench_training(s, rows);
  bench_inference(s, rows);
  const bench::Ceilings after = measure_ceilings(s);
  const bench::Ceilings ceilings{std::max(before.triad_gbs, after.triad_gbs), std::max(before.update_gbs, after.update_gbs),
                                 std::max(before.read_gbs, after.read_gbs),
                                 std::max(before.copy_gbs, after.copy_gbs),
                                 std::max(before.sgemm_gflops, after.sgemm_gflops)};

  bench::print_table(stdout, info, ceilings, rows);
  if (!json_path.empty()) {
    bench::write_file_atomically(json_path, bench::json_report(info, ceilings, rows));
    std::fprintf(stderr, "[rwkv-bench] wrote %s\n", json_path.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return bench::guarded_main("rwkv-bench", [&] {
    bool quick = false, smoke = false;
    int threads = 0;
    std::string json;
    namespace po = bench::po;
    po::options_description d("options");
    d.add_options()
        ("quick", po::bool_switch(&quick), "smaller sizes and fewer repetitions (under 2 minutes on 2 cores)")
        ("smoke", po::bool_switch(&smoke), "tiny sizes, seconds: checks that everything runs")
        ("json", po::value(&json), "also write the results as JSON to this file")
        ("threads", po::value(&threads)->default_value(0), "host threads (0: Kokkos' default)");
    const auto vm = bench::parse(argc, argv, d, "usage: rwkv-bench [--quick | --smoke] [--json FILE] [--threads N]");
    if (!vm) return 0;
    if (quick && smoke) throw po::error("--quick and --smoke exclude each other");
    if (threads < 0) throw po::error("--threads must be 0 or more, not " + std::to_string(threads));
    KokkosRuntime runtime(threads);
    return run(smoke ? "smoke" : quick ? "quick" : "full", json);
  });
}
