// rwkv-bench: in one run, the machine's ceilings (triad, in-place update, read and copy bandwidth,
// the best sgemm through the library's GEMM path), every kernel at RWKV-4 sizes and the end-to-end
// paths, each rate as a fraction of the ceiling that bounds it: bandwidth-bound kernels against
// the stream ceiling (the better of triad and update),
// GEMMs, the training step and prefill against the sgemm rate, decode against the read bandwidth.
//   rwkv-bench [--quick | --smoke] [--filter NAME] [--json FILE] [--threads N]
// Prints an aligned table; --json writes the same as JSON (scripts/plot-bench.py compares files).
// --filter runs only the measurements whose name contains NAME, and only the ceilings they need.
// Rates come from the best of the repetitions, as the ceilings do (each the best of a measurement
// before and one after the rest); median, min and max are kept.
//
// FLOPs and bytes are counted per call from the kernels' code: bytes are the compulsory traffic
// (each array read or written once; an accumulated output read and written), FLOPs are the
// arithmetic operations, exp/log/sqrt/div/max counted as one each. The formulas sit by each call.
#include "bench_cli.hpp"
#include "report.hpp"

#include <rwkv/generate.hpp>
#include <rwkv/kernels/adamw.hpp>
#include <rwkv/kernels/cross_entropy.hpp>
#include <rwkv/kernels/gemm.hpp>
#include <rwkv/kernels/layer_norm.hpp>
#include <rwkv/kernels/sampling.hpp>
#include <rwkv/kernels/time_mix.hpp>
#include <rwkv/kernels/wkv.hpp>
#include <rwkv/kernels/wkv7.hpp>
#include <rwkv/arch.hpp>
#include <rwkv/optimizer.hpp>

#include <algorithm>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
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

// Every measurement, in the order of the report, with the ceiling that judges it.
struct Measurement {
  const char* name;
  Judge judge;
};
constexpr Measurement measurements[] = {
    {"wkv_forward", Judge::stream},           {"wkv_backward", Judge::stream},
    {"wkv7_forward", Judge::sgemm},           {"wkv7_backward", Judge::sgemm},
    {"time_mix_forward", Judge::stream},      {"time_mix_backward", Judge::stream},
    {"layer_norm_forward", Judge::stream},    {"layer_norm_backward", Judge::stream},
    {"gemm_y=xW^T", Judge::sgemm},            {"gemm_dx+=dyW", Judge::sgemm},
    {"gemm_dW+=dy^Tx", Judge::sgemm},         {"gemm_y=xW^T_openblas", Judge::sgemm},
    {"gemm_dx+=dyW_openblas", Judge::sgemm},  {"gemm_dW+=dy^Tx_openblas", Judge::sgemm},
    {"gemm_y=xW^T_onednn", Judge::sgemm},     {"gemm_dx+=dyW_onednn", Judge::sgemm},
    {"gemm_dW+=dy^Tx_onednn", Judge::sgemm},  {"cross_entropy_forward", Judge::stream},
    {"cross_entropy_backward", Judge::stream}, {"adamw_step", Judge::stream},
    {"train_step", Judge::sgemm},             {"train_step_bf16", Judge::sgemm},
    {"prefill_float32", Judge::sgemm},
    {"decode_float32", Judge::read},          {"decode_float32_multi", Judge::read},
    {"decode_int8", Judge::read},             {"decode_int8_multi", Judge::read},
    {"decode_bfloat16", Judge::read},         {"decode_bfloat16_multi", Judge::read},
    {"generate_float32", Judge::step},        {"sample_greedy", Judge::step_share},
    {"sample_all_options", Judge::step_share},
};

Judge judge_of(std::string_view name) {
  for (const Measurement& m : measurements)
    if (name == m.name) return m.judge;
  throw std::logic_error("rwkv-bench: no measurement named " + std::string(name));
}

// The measurements of this run: those whose name contains the filter (every one without a filter).
class Selection {
 public:
  explicit Selection(std::string filter) : filter_(std::move(filter)) {
    bool any = false;
    std::string names;
    for (const Measurement& m : measurements) {
      any = any || wants(m.name);
      names += (names.empty() ? "" : ", ") + std::string(m.name);
    }
    if (!any) throw bench::po::error("--filter '" + filter_ + "' matches no measurement; the measurements: " + names);
  }
  bool wants(std::string_view name) const { return name.find(filter_) != std::string_view::npos; }
  template <class... Names>
  bool any(Names... names) const {
    return (wants(names) || ...);
  }
  // Whether a measurement of this run is judged by `judge`.
  bool needs(Judge judge) const {
    for (const Measurement& m : measurements)
      if (m.judge == judge && wants(m.name)) return true;
    return false;
  }
  bool filtered() const { return !filter_.empty(); }
  const std::string& filter() const { return filter_; }

 private:
  std::string filter_;
};

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

// The sizes of `mode` for Version's model rows. RWKV-7 decodes the released 0.1B shape (L12, C768,
// V65536, LoRA ranks 64/64/32/128, heads of 64) in a full run and trains its own ranks at the
// training shape; the smaller modes keep RWKV-4's sizes in heads of 64.
template <class Version>
Sizes sizes_for(const std::string& mode) {
  Sizes s = sizes_of(mode);
  if constexpr (std::is_same_v<Version, v7>) {
    if (mode == "full") {
      s.decode.vocab_size = 65536;
      s.decode.rank_w = 64;
      s.decode.rank_a = 64;
      s.decode.rank_v = 32;
      s.decode.rank_g = 128;
    }
  }
  return s;
}

// A decode model with the weights every run gives it.
template <class Version>
std::unique_ptr<Model<Version, Space, float>> decode_model(const Sizes& s) {
  auto model = std::make_unique<Model<Version, Space, float>>(s.decode, inference_only);
  bench::fill_uniform(model->weights().flat, -0.05f, 0.05f, 19);
  return model;
}

// The time of one float32 RNN step of the decode model: the best call of `decode_tokens` steps in a
// row over their number (the decode rows' measure, so that the generate row, timed the same way,
// compares calls with calls). The reference of the rows judged against the step.
template <class Version>
double step_seconds(const Sizes& s) {
  const auto model = decode_model<Version>(s);
  const auto token = bench::tokens_of<Space>(1, s.decode.vocab_size);
  auto state = model->new_state();
  const bench::Timing t = bench::time_calls(1, s.e2e_reps, [&] {
    for (int i = 0; i < s.decode_tokens; ++i) model->infer(token, 1, state);
  });
  return t.min / s.decode_tokens;
}

// The ceilings the selected measurements are judged by (copy, which judges none, only in a run of
// every measurement); the others stay 0: not measured.
template <class Version>
bench::Ceilings measure_ceilings(const Sizes& s, const Selection& selection) {
  bench::Ceilings c;
  const int repeats = s.reps;
  if (selection.needs(Judge::stream)) {
    c.triad_gbs = bench::triad_bandwidth_gbs<Space>(s.stream_bytes, repeats);
    c.update_gbs = bench::update_bandwidth_gbs<Space>(s.stream_bytes, repeats);
  }
  if (selection.needs(Judge::read)) c.read_gbs = bench::read_bandwidth_gbs<Space>(s.stream_bytes, repeats);
  if (!selection.filtered()) c.copy_gbs = bench::copy_bandwidth_gbs<Space>(s.stream_bytes, repeats);
  if (selection.needs(Judge::sgemm))
    c.sgemm = bench::sgemm_rates<Space>(s.sgemm_n / 2, repeats).merged(bench::sgemm_rates<Space>(s.sgemm_n, repeats));
  if (selection.needs(Judge::step) || selection.needs(Judge::step_share)) c.step_seconds = step_seconds<Version>(s);
  std::fprintf(stderr, "[rwkv-bench] ceilings: %s\n", bench::ceilings_text(c).c_str());
  return c;
}

// A line on stderr as each measurement ends: a full run takes minutes.
void progress(const Row& r) {
  std::fprintf(stderr, "[rwkv-bench] %-24s %10.3f ms median\n", r.name.c_str(), 1e3 * r.time.median);
}

using SizeList = std::vector<std::pair<std::string, long>>;

SizeList model_sizes(const ModelConfig& c) { return {{"L", c.n_layer}, {"C", c.n_embd}, {"V", c.vocab_size}}; }

// The rows of a run: each measurement is timed, judged by the ceiling of its entry in
// `measurements`, only if the selection wants it.
struct Rows {
  const Sizes& s;
  const Selection& selection;
  std::vector<Row> rows;

  template <class Call>
  void kernel(const char* name, SizeList sizes, double flops, double bytes, Call&& call) {
    if (selection.wants(name))
      add("kernel", name, std::move(sizes), flops, bytes, 0, bench::time_calls(s.warmup, s.reps, call));
  }
  template <class Call>
  void end_to_end(const char* name, SizeList sizes, double flops, double bytes, double tokens, Call&& call) {
    if (selection.wants(name))
      add("end_to_end", name, std::move(sizes), flops, bytes, tokens, bench::time_calls(1, s.e2e_reps, call));
  }

 private:
  void add(const char* group, const char* name, SizeList sizes, double flops, double bytes, double tokens,
           const bench::Timing& time) {
    Row r;
    r.group = group;
    r.name = name;
    r.sizes = std::move(sizes);
    r.flops = flops;
    r.bytes = bytes;
    r.tokens = tokens;
    r.judge = judge_of(name);
    r.time = time;
    progress(r);
    rows.push_back(std::move(r));
  }
};

void bench_kernels(Rows& rows) {
  const Sizes& s = rows.s;
  const Selection& selection = rows.selection;
  const Space space;
  const int B = s.B, T = s.T, C = s.C, N = B * T;
  const double NC = double(N) * C;
  const SizeList btc = {{"B", B}, {"T", T}, {"C", C}};

  // WKV, training forward (saving the state before each step for the backward):
  //   bytes: read k, v; write y and the saved aa, bb, pp: 6 N C floats (per-channel w, u and the
  //   [B, C] state are not counted);
  //   FLOPs: wkv_forward_step, 23 an element (4 exp, 2 max, 1 div, 16 add/sub/mul).
  if (selection.any("wkv_forward", "wkv_backward")) {
    Mat k("k", N, C), v("v", N, C), y("y", N, C);
    Vec decay("decay", C), first("first", C);
    bench::fill_uniform(k, -1, 1, 1);
    bench::fill_uniform(v, -1, 1, 2);
    bench::fill_uniform(decay, -2, 1, 3);
    bench::fill_uniform(first, -1, 1, 4);
    WkvState<Space, float> state("state", B, C), dstate("dstate", B, C);
    WkvSaved<Space, float> saved("saved", B, T, C);
    const auto forward = [&] {
      wkv_reset_state(space, state);
      wkv_forward(space, T, y, state, saved, decay, first, k, v);
    };
    rows.kernel("wkv_forward", btc, 23 * NC, 6 * NC * F, forward);
    // Backward: read the saved aa, bb, pp, k, v, dy; read and write dk, dv: 10 N C floats;
    // FLOPs: wkv_backward_step, 42 an element (4 exp, 2 max, 2 div, 34 add/sub/mul). It reads what
    // a forward saved.
    Mat dy("dy", N, C), dk("dk", N, C), dv("dv", N, C);
    Vec ddecay("ddecay", C), dfirst("dfirst", C);
    bench::fill_uniform(dy, -1, 1, 5);
    if (!selection.wants("wkv_forward")) forward();
    rows.kernel("wkv_backward", btc, 42 * NC, 10 * NC * F, [&] {
      Kokkos::deep_copy(space, dstate.aa, 0.0f);  // the final state's gradient: zero, as after a sequence
      Kokkos::deep_copy(space, dstate.bb, 0.0f);
      Kokkos::deep_copy(space, dstate.pp, 0.0f);
      wkv_backward(space, T, ddecay, dfirst, dk, dv, dstate, dy, saved, decay, first, k, v);
    });
  }

  // WKV-7 (RWKV-7's recurrence), heads of 64 channels, on B/8 sequences (B*T = 1024 in the full
  // run). Per element of [B*T, C], with 64 state entries a channel, training forward: FLOPs 9 an
  // entry (S alpha 2, update 5, read 2); bytes: read r, z, k, v, alpha, beta, write y and sa, and a
  // 64 x 64 state every 16 steps: 12 floats an element. Backward: FLOPs 24 an entry (the seven sums
  // of the header's formulas, the backstep and G's update); bytes: read the six inputs, dy, sa and
  // the states, read and write six gradients: 24 floats. Both do 12 and more FLOPs a byte with a
  // head's state in the L1 cache, so they are judged by sgemm, not by bandwidth.
  if (selection.any("wkv7_forward", "wkv7_backward") && C % 64 == 0) {
    constexpr int head = 64;
    const int B7 = std::max(1, B / 8), N7 = B7 * T, H = C / head;
    const double NC7 = double(N7) * C;
    const SizeList sizes7 = {{"B", B7}, {"T", T}, {"C", C}, {"N", head}};
    Mat r("r", N7, C), z("z", N7, C), k("k", N7, C), v("v", N7, C), alpha("alpha", N7, C), beta("beta", N7, C),
        y("y", N7, C), dy("dy", N7, C);
    Mat dr("dr", N7, C), dz("dz", N7, C), dk("dk", N7, C), dv("dv", N7, C), dalpha("dalpha", N7, C),
        dbeta("dbeta", N7, C);
    bench::fill_uniform(r, -1, 1, 21);
    bench::fill_uniform(z, -2, 2, 22);
    bench::fill_uniform(k, -1, 1, 23);
    bench::fill_uniform(v, -1, 1, 24);
    bench::fill_uniform(alpha, -0.2f, 0.2f, 25);  // about a unit vector's entries over 64 channels
    bench::fill_uniform(beta, -0.2f, 0.2f, 26);
    bench::fill_uniform(dy, -1, 1, 27);
    Wkv7State<Space, float> state("state", B7, H, head, head), dstate("dstate", B7, H, head, head);
    Wkv7Saved<Space, float> saved("saved", B7, T, H, head);
    const Wkv7Inputs<Space, float> in{r, z, k, v, alpha, beta};
    const auto forward = [&] {
      Kokkos::deep_copy(space, state, 0.0f);
      wkv7_forward<head>(space, T, y, state, saved, in);
    };
    rows.kernel("wkv7_forward", sizes7, 9 * head * NC7, 12 * NC7 * F, forward);
    if (!selection.wants("wkv7_forward")) forward();
    rows.kernel("wkv7_backward", sizes7, 24 * head * NC7, 24 * NC7 * F, [&] {
      Kokkos::deep_copy(space, dstate, 0.0f);
      wkv7_backward<head>(space, T, Wkv7Grads<Space, float>{dr, dz, dk, dv, dalpha, dbeta}, dstate, dy, saved, in);
    });
  }

  // Time mix (token shift) forward: read x, write out: 2 N C floats (x[t-1] is x read for the row
  // before); FLOPs: x mix + s (1 - mix), 4 an element.
  if (selection.any("time_mix_forward", "time_mix_backward")) {
    Mat x("x", N, C), out("out", N, C), dout("dout", N, C), dx("dx", N, C);
    Vec mix("mix", C), dmix("dmix", C);
    const Mat no_state;
    bench::fill_uniform(x, -1, 1, 6);
    bench::fill_uniform(dout, -1, 1, 7);
    bench::fill_uniform(mix, 0, 1, 8);
    rows.kernel("time_mix_forward", btc, 4 * NC, 2 * NC * F,
                [&] { time_mix_forward(space, T, out, x, no_state, mix); });
    // Backward: read dout, x; read and write dx: 4 N C floats (dmix's sums are per column); FLOPs:
    // dx += dout mix + dout[t+1] (1 - mix) (5) and dmix += dout (x - s) (3): 8 an element.
    rows.kernel("time_mix_backward", btc, 8 * NC, 4 * NC * F,
                [&] { time_mix_backward(space, T, dx, no_state, dmix, dout, x, no_state, mix); });
  }

  // Layer norm forward: read x, write y: 2 N C floats (+ mean, rstd per row); FLOPs: mean (1),
  // variance (3), normalize and scale (4): 8 an element.
  if (selection.any("layer_norm_forward", "layer_norm_backward")) {
    Mat x("x", N, C), y("y", N, C), dy("dy", N, C), dx("dx", N, C);
    Vec weight("weight", C), bias("bias", C), mean("mean", N), rstd("rstd", N), dweight("dweight", C),
        dbias("dbias", C);
    bench::fill_uniform(x, -2, 2, 9);
    bench::fill_uniform(dy, -1, 1, 10);
    bench::fill_uniform(weight, 0.5, 1.5, 11);
    bench::fill_uniform(bias, -0.1f, 0.1f, 12);
    const auto forward = [&] { layer_norm_forward(space, y, mean, rstd, x, weight, bias); };
    rows.kernel("layer_norm_forward", {{"N", N}, {"C", C}}, 8 * NC, (2 * NC + 2 * N) * F, forward);
    // Backward: read dy, x; read and write dx: 4 N C floats; FLOPs: xhat (2), g = dy w (1), the two
    // row means (3), dx (5), dweight and dbias (3): 14 an element. It reads the forward's mean and rstd.
    if (!selection.wants("layer_norm_forward")) forward();
    rows.kernel("layer_norm_backward", {{"N", N}, {"C", C}}, 14 * NC, (4 * NC + 2 * N) * F,
                [&] { layer_norm_backward(space, dx, dweight, dbias, dy, x, weight, mean, rstd); });
  }

  // The linear layer's three products at the FFN key's shape, W [out, in], rows N: 2 N in out
  // FLOPs each; bytes: each operand once (dx and dW accumulate: read and written).
  if (selection.any("gemm_y=xW^T", "gemm_dx+=dyW", "gemm_dW+=dy^Tx", "gemm_y=xW^T_openblas", "gemm_dx+=dyW_openblas",
                    "gemm_dW+=dy^Tx_openblas", "gemm_y=xW^T_onednn", "gemm_dx+=dyW_onednn", "gemm_dW+=dy^Tx_onednn")) {
    const int in = s.gemm_in, out = s.gemm_out;
    Mat x("x", N, in), W("W", out, in), y("y", N, out), dy("dy", N, out), dx("dx", N, in), dW("dW", out, in);
    const Mat none;
    bench::fill_uniform(x, -1, 1, 13);
    bench::fill_uniform(W, -0.05f, 0.05f, 14);
    bench::fill_uniform(dy, -1, 1, 15);
    const double flops = 2.0 * N * in * double(out);
    const SizeList shape = {{"N", N}, {"in", in}, {"out", out}};
    rows.kernel("gemm_y=xW^T", shape, flops, (double(N) * in + double(out) * in + double(N) * out) * F,
                [&] { matmul_forward(space, y, x, W); });
    rows.kernel("gemm_dx+=dyW", shape, flops, (double(N) * out + double(out) * in + 2.0 * N * in) * F,
                [&] { matmul_backward(space, dx, none, dy, x, W); });
    rows.kernel("gemm_dW+=dy^Tx", shape, flops, (double(N) * out + double(N) * in + 2.0 * out * in) * F,
                [&] { matmul_backward(space, none, dW, dy, x, W); });
    // The same products on each host backend of the build, called directly (the rows above take
    // the one RWKV_HOST_GEMM chose).
    if constexpr (Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible) {
      for (const HostGemm backend : {HostGemm::openblas, HostGemm::onednn}) {
        if (!host_gemm_available(backend)) continue;
        const std::string suffix = std::string("_") + host_gemm_name(backend);
        rows.kernel(("gemm_y=xW^T" + suffix).c_str(), shape, flops,
                    (double(N) * in + double(out) * in + double(N) * out) * F, [&] {
                      host_gemm(backend, {false, true, N, out, in, in, in, out}, x.data(), W.data(), 0.0f, y.data());
                    });
        rows.kernel(("gemm_dx+=dyW" + suffix).c_str(), shape, flops,
                    (double(N) * out + double(out) * in + 2.0 * N * in) * F, [&] {
                      host_gemm(backend, {false, false, N, in, out, out, in, in}, dy.data(), W.data(), 1.0f, dx.data());
                    });
        rows.kernel(("gemm_dW+=dy^Tx" + suffix).c_str(), shape, flops,
                    (double(N) * out + double(N) * in + 2.0 * out * in) * F, [&] {
                      host_gemm(backend, {true, false, out, in, N, out, in, in}, dy.data(), x.data(), 1.0f, dW.data());
                    });
      }
    }
  }

  // Softmax cross-entropy over the vocabulary, forward: read the logits once: N V floats; FLOPs:
  // max (1), subtract, exp, add (3): 4 an element. Backward: read logits, write dlogits: 2 N V
  // floats; FLOPs: subtract, exp, scale (3) an element. It reads the forward's log-sum-exp.
  if (selection.any("cross_entropy_forward", "cross_entropy_backward")) {
    const int rows_n = s.ce_rows, V = s.vocab;
    const double NV = double(rows_n) * V;
    Mat logits("logits", rows_n, V), dlogits("dlogits", rows_n, V);
    Vec loss("loss", rows_n), lse("lse", rows_n);
    bench::fill_uniform(logits, -4, 4, 16);
    const auto targets = bench::tokens_of<Space>(rows_n, V);
    const SizeList shape = {{"N", rows_n}, {"V", V}};
    const auto forward = [&] { cross_entropy_forward(space, loss, lse, logits, targets); };
    rows.kernel("cross_entropy_forward", shape, 4 * NV, (NV + 2.0 * rows_n) * F, forward);
    if (!selection.wants("cross_entropy_forward")) forward();
    rows.kernel("cross_entropy_backward", shape, 3 * NV, (2 * NV + rows_n) * F,
                [&] { cross_entropy_backward(space, dlogits, logits, lse, targets, 1.0f / rows_n); });
  }

  // AdamW step over P parameters: read p, g, m, v; write p, m, v: 7 P floats; FLOPs: 15 a
  // parameter (scale, two moments, decay, sqrt, bias corrections, division, update).
  if (selection.any("adamw_step")) {
    const std::int64_t P = s.adamw_params;
    Vec p("p", P), g("g", P), m("m", P), v("v", P);
    bench::fill_uniform(p, -0.1f, 0.1f, 17);
    bench::fill_uniform(g, -0.01f, 0.01f, 18);
    const AdamWStep step{6e-4, 0.9, 0.99, 1e-8, 0.01, 1, 1.0};
    rows.kernel("adamw_step", {{"P", long(P)}}, 15.0 * P, 7.0 * P * F, [&] { adamw_update(space, p, g, m, v, step); });
  }
}

template <class Version>
void bench_training(Rows& rows) {
  const Sizes& s = rows.s;
  // One training step (zero_grad, forward, backward, AdamW), as bench_train times it: about
  // 6 x (parameters outside the embedding) FLOPs a token (2 forward, 4 backward); the embedding is
  // a gather. Bytes not counted: judged by FLOPs. train_step_bf16: the same step with the products
  // in bfloat16 (TrainingShape::precision), judged by the same float32 sgemm ceiling.
  for (const auto& [name, precision] : {std::pair{"train_step", Precision::fp32}, std::pair{"train_step_bf16", Precision::bf16}}) {
    if (!rows.selection.wants(name)) continue;
    Model<Version, Space, float> model(s.train, TrainingShape{s.train_batch, s.train_ctx, false, precision});
    model.initialize(1);
    OptimizerConfig oc;
    oc.total_steps = 1 << 20;
    AdamW<Space, float> optimizer(model.specs(), oc);
    const int N = s.train_batch * s.train_ctx;
    const auto tokens = bench::tokens_of<Space>(N, s.train.vocab_size);
    const auto targets = bench::tokens_of<Space>(N + 1, s.train.vocab_size);
    const auto shifted = Kokkos::subview(targets, Kokkos::make_pair(1, N + 1));
    typename Model<Version, Space, float>::TokenView next("targets", N);
    Kokkos::deep_copy(next, shifted);
    const double non_embedding = double(parameter_count(model.specs()) - model.specs().front().size());
    auto sizes = model_sizes(s.train);
    sizes.insert(sizes.end(), {{"B", s.train_batch}, {"T", s.train_ctx}});
    long step = 0;
    rows.end_to_end(name, sizes, 6.0 * non_embedding * N, 0, N, [&] {
      model.zero_grad();
      model.forward(tokens, next);
      model.backward(1e-4);
      optimizer.step(model.space(), model.weights().flat, model.grads().flat, step++);
    });
  }
}

// Sampling one token from logits [1, V] (V = 50277 but in a smoke run) through Sampler::sample, as
// generation does, uniform logits in [-10, 10] (a few thousand tokens hold 85% of the mass):
//   sample_greedy:      temperature 0, the presence and frequency penalties on;
//   sample_all_options: temperature 0.9, top-k 40, top-p 0.85, top-a 0.02, top-p-x 0.01 and both
//                       penalties, a seventh of the tokens seen before.
// Judged as a share of the float32 RNN step's time. FLOPs: penalties (2), max (1) an element, and
// with the filters subtract, divide, exp (3), the mass sums (2) and the draw's sums (1); bytes not
// counted.
void bench_sampling(Rows& rows) {
  if (!rows.selection.any("sample_greedy", "sample_all_options")) return;
  const Sizes& s = rows.s;
  const int V = s.vocab;
  Mat logits("logits", 1, V);
  bench::fill_uniform(logits, -10, 10, 21);
  const auto row = Kokkos::subview(logits, 0, Kokkos::ALL);
  const auto run = [&](const char* name, const SamplerConfig& config, double flops_per_token) {
    if (!rows.selection.wants(name)) return;
    Sampler<Space, float> sampler(Space(), V, config, 7);
    const auto counts = sampler.counts();
    Kokkos::parallel_for(
        "rwkv::bench::seen", Kokkos::RangePolicy<Space>(0, V), KOKKOS_LAMBDA(int t) { counts(0, t) = t % 7 == 0; });
    rows.kernel(name, {{"V", V}}, flops_per_token * V, 0, [&] { sampler.sample(row); });
  };
  SamplerConfig greedy;
  greedy.temperature = 0;
  greedy.presence_penalty = 0.2;
  greedy.frequency_penalty = 0.1;
  run("sample_greedy", greedy, 3);
  SamplerConfig all = greedy;
  all.temperature = 0.9;
  all.top_k = 40;
  all.top_p = 0.85;
  all.top_a = 0.02;
  all.top_p_x = 0.01;
  run("sample_all_options", all, 9);
}

template <class Version>
void bench_inference(Rows& rows) {
  if (!rows.selection.any("prefill_float32", "decode_float32", "decode_float32_multi", "decode_int8",
                          "decode_int8_multi", "decode_bfloat16", "decode_bfloat16_multi", "generate_float32"))
    return;
  const Sizes& s = rows.s;
  const auto decode_weights = decode_model<Version>(s);
  Model<Version, Space, float>& model = *decode_weights;
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
  const double prefill_flops = 2.0 * double(layer_params) * s.prompt + 2.0 * double(head_params);
  rows.end_to_end("prefill_float32", prefill_sizes, prefill_flops, 0, s.prompt, [&] {
    auto fresh = model.new_state();
    model.infer(prompt, s.prompt, fresh);
  });

  // Decode: a step reads every weight once (step_weight_bytes; the state is small): bytes = that
  // a step, FLOPs = 2 x (layer + head parameters) a token; S sequences share one read of the
  // weights a step. `decode_tokens` steps a call.
  const auto decode = [&](const char* name, int slots, Model<Version, Space, float>& m) {
    if (!rows.selection.wants(name)) return;
    const auto tokens = bench::tokens_of<Space>(slots, V);
    auto state = m.new_state(slots);
    auto decode_sizes = sizes;
    decode_sizes.insert(decode_sizes.end(), {{"S", slots}, {"steps", s.decode_tokens}});
    const double bytes = double(m.step_weight_bytes()) * s.decode_tokens;
    const double flops = 2.0 * double(layer_params + head_params) * slots * s.decode_tokens;
    rows.end_to_end(name, decode_sizes, flops, bytes, double(slots) * s.decode_tokens, [&] {
      for (int i = 0; i < s.decode_tokens; ++i) m.infer(tokens, 1, state);
    });
  };
  decode("decode_float32", 1, model);
  decode("decode_float32_multi", s.slots, model);

  // Generation as rwkv-generate runs it (generate_tokens at its default sampling: temperature 1,
  // top-p 0.85; nothing printed), `decode_tokens` tokens a call: a step and a sample a token.
  // Judged against the step: the fraction is generation's tokens/s over the step's.
  if (rows.selection.wants("generate_float32")) {
    SamplerConfig sampling;
    sampling.top_p = 0.85;
    Sampler<Space, float> sampler(model.space(), V, sampling, 42);
    auto state = model.new_state();
    auto logits = model.step(0, state);
    auto generate_sizes = sizes;
    generate_sizes.push_back({"steps", s.decode_tokens});
    const double bytes = double(model.step_weight_bytes()) * s.decode_tokens;
    const double flops = 2.0 * double(layer_params + head_params) * s.decode_tokens;
    rows.end_to_end("generate_float32", generate_sizes, flops, bytes, s.decode_tokens, [&] {
      generate_tokens(model, sampler, state, logits, s.decode_tokens, -1, [](int) {});
    });
  }
  model.quantize_int8();
  decode("decode_int8", 1, model);
  decode("decode_int8_multi", s.slots, model);
  if (rows.selection.any("decode_bfloat16", "decode_bfloat16_multi")) {
    const auto bf16_model = decode_model<Version>(s);
    bf16_model->use_bfloat16_weights();
    decode("decode_bfloat16", 1, *bf16_model);
    decode("decode_bfloat16_multi", s.slots, *bf16_model);
  }
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

template <class Version>
int run(const std::string& mode, const Selection& selection, const std::string& json_path) {
  const Sizes s = sizes_for<Version>(mode);
  if (!json_path.empty()) bench::check_writable(json_path);
  bench::RunInfo info;
  info.mode = s.mode;
  info.arch = Version::name;
  info.device = device_name();
  info.backend = Space::name();
  info.concurrency = Space().concurrency();
  info.compiler = compiler_name();
  info.kokkos_version_number = KOKKOS_VERSION;
  info.kokkos_version = std::to_string(KOKKOS_VERSION / 10000) + "." + std::to_string(KOKKOS_VERSION / 100 % 100) +
                        "." + std::to_string(KOKKOS_VERSION % 100);
  info.git_revision = RWKV_GIT_REVISION;
  info.filter = selection.filter();
  std::fprintf(stderr, "[rwkv-bench] %s mode on %s (%s, concurrency %d)%s%s\n", s.mode, info.device.c_str(),
               Space::name(), info.concurrency, selection.filtered() ? ", filter " : "", info.filter.c_str());

  // The ceilings are measured before and after the rest and the best kept: the load of a shared
  // machine drifts, and a ceiling set low by it would flatter every fraction.
  const bench::Ceilings before = measure_ceilings<Version>(s, selection);
  Rows rows{s, selection, {}};
  bench_kernels(rows);
  bench_training<Version>(rows);
  bench_inference<Version>(rows);
  bench_sampling(rows);
  const bench::Ceilings after = measure_ceilings<Version>(s, selection);
  const bench::Ceilings ceilings = bench::best_of(before, after);

  bench::print_table(stdout, info, ceilings, rows.rows);
  if (!json_path.empty()) {
    bench::write_file_atomically(json_path, bench::json_report(info, ceilings, rows.rows));
    std::fprintf(stderr, "[rwkv-bench] wrote %s\n", json_path.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return bench::guarded_main("rwkv-bench", [&] {
    bool quick = false, smoke = false;
    int threads = 0;
    std::string json, filter, arch;
    namespace po = bench::po;
    po::options_description d("options");
    d.add_options()
        ("arch", po::value(&arch)->default_value(default_arch), "architecture of the model rows: v4 or v7")
        ("quick", po::bool_switch(&quick), "smaller sizes and fewer repetitions (under 2 minutes on 2 cores)")
        ("smoke", po::bool_switch(&smoke), "tiny sizes, seconds: checks that everything runs")
        ("filter", po::value(&filter), "only the measurements whose name contains this text (and their ceilings)")
        ("json", po::value(&json), "also write the results as JSON to this file")
        ("threads", po::value(&threads)->default_value(0), "host threads (0: Kokkos' default)");
    const auto vm =
        bench::parse(argc, argv, d, "usage: rwkv-bench [--arch v4|v7] [--quick | --smoke] [--filter NAME] [--json FILE] [--threads N]");
    if (!vm) return 0;
    if (quick && smoke) throw po::error("--quick and --smoke exclude each other");
    if (threads < 0) throw po::error("--threads must be 0 or more, not " + std::to_string(threads));
    const Selection selection(filter);
    arch_name(arch);  // an unknown one fails before Kokkos starts
    KokkosRuntime runtime(threads);
    const std::string mode = smoke ? "smoke" : quick ? "quick" : "full";
    return with_arch(arch, [&](auto version) { return run<decltype(version)>(mode, selection, json); });
  });
}
