// heed's side of the reference workloads (../shared/WORKLOADS.md), one workload per process:
//   heed-bench <workload> [--threads N] [--iters N] [--warmup N] [--bucket-kib N (text-ddp)]
//              [--device cpu|cuda]
// prints one JSON line: the median and every timed iteration in ms, plus workload extras
// (gemm: raw cblas_sgemm in the same process, or raw cuBLAS on the GPU; memory: peak resident
// set). bench/torch/workloads.py is the same program in PyTorch; bench/run.py runs both and
// writes the table. On the GPU each iteration ends with a synchronisation, so it is timed whole.
#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "autograd/attention.h"
#include "autograd/node.h"
#include "distributed/ddp.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "tensor/random.h"
#include "tensor/threads.h"

#ifdef HEED_BENCH_CUDA
#include "cuda/runtime.h"
namespace heed::bench {
std::vector<double> cublas_sgemm_ms(int n, int warmup, int iters);  // bench/cublas_gemm.cu
}
#endif

using namespace heed;

namespace {

struct Settings {
  int iters = 10;
  int warmup = 3;
  int threads = 2;
  int64_t bucket_kib = 1024;  // text-ddp: DistributedDataParallel's bucket size
  Device device = Device::cpu();
};

// Waits for the device's queued work (a no-op on the CPU).
void sync(const Settings& s) {
#ifdef HEED_BENCH_CUDA
  if (s.device.is_cuda()) cuda::synchronize(s.device.index);
#else
  (void)s;
#endif
}

void cpu_only(const Settings& s, const char* workload) {
  HEED_CHECK(s.device.is_cpu(), "heed-bench: {} runs on the CPU only", workload);
}

// One JSON object, fields in insertion order.
class Result {
 public:
  void add(const std::string& key, int v) { fields_.emplace_back(key, std::to_string(v)); }
  void add(const std::string& key, double v) { fields_.emplace_back(key, fmt::format("{:.4f}", v)); }
  void add(const std::string& key, const std::string& v) { fields_.emplace_back(key, fmt::format("\"{}\"", v)); }
  void add(const std::string& key, const std::vector<double>& v) {
    std::vector<std::string> parts;
    for (double x : v) parts.push_back(fmt::format("{:.4f}", x));
    fields_.emplace_back(key, fmt::format("[{}]", fmt::join(parts, ", ")));
  }
  void extend(const Result& other) { fields_.insert(fields_.end(), other.fields_.begin(), other.fields_.end()); }
  std::string json() const {
    std::vector<std::string> parts;
    for (const auto& [k, v] : fields_) parts.push_back(fmt::format("\"{}\": {}", k, v));
    return fmt::format("{{{}}}", fmt::join(parts, ", "));
  }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

double elapsed_ms(const std::function<void()>& fn) {
  auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<double> time_ms(const std::function<void()>& fn, const Settings& s) {
  auto run = [&] {
    fn();
    sync(s);
  };
  for (int i = 0; i < s.warmup; ++i) run();
  std::vector<double> ms;
  for (int i = 0; i < s.iters; ++i) ms.push_back(elapsed_ms(run));
  return ms;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void add_times(Result& r, const std::vector<double>& ms) {
  r.add("median_ms", median(ms));
  r.add("times_ms", ms);
}

// A field of /proc/self/status in MiB ("VmHWM": peak resident set, "VmRSS": current).
double status_mib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == field + ":") {
      double kib = 0;
      status >> kib;
      return kib / 1024;
    }
  }
  HEED_FAIL("heed-bench: no {} in /proc/self/status", field);
}

// Forward + backward + AdamW step on (x, y), with gradients set to none first, as PyTorch's
// zero_grad(set_to_none=True).
template <typename Model>
std::function<void()> training_step(Model& model, optim::AdamW& opt, const Tensor& x, const Tensor& y) {
  return [&model, &opt, x, y] {
    opt.zero_grad();
    cross_entropy(model.forward(x), y).backward();
    opt.step();
  };
}

// ---- gemm on the GPU: C = A·B, 4096×4096, beside raw cuBLAS sgemm ----
Result gemm_cuda(const Settings& s) {
#ifdef HEED_BENCH_CUDA
  const int n = 4096;
  Tensor a = randn({n, n}, {DType::Float32, s.device}), b = randn({n, n}, {DType::Float32, s.device});
  const double tflop = 2.0 * n * n * n / 1e12;
  const std::vector<double> ours = time_ms([&] { (void)matmul(a, b); }, s);
  const std::vector<double> raw = bench::cublas_sgemm_ms(n, s.warmup, s.iters);
  Result r;
  add_times(r, ours);
  r.add("size", n);
  r.add("tflops", tflop / median(ours) * 1e3);
  r.add("cublas_median_ms", median(raw));
  r.add("cublas_tflops", tflop / median(raw) * 1e3);
  return r;
#else
  (void)s;
  HEED_FAIL("heed-bench: built without CUDA");
#endif
}

// ---- gemm: C = A·B, 1024×1024, beside raw OpenBLAS sgemm (cblas_sgemm) ----
Result gemm(const Settings& s) {
  if (s.device.is_cuda()) return gemm_cuda(s);
  const int n = 1024;
  Tensor a = randn({n, n}), b = randn({n, n});
  std::vector<float> c(static_cast<size_t>(n) * n);
  const double gflop = 2.0 * n * n * n / 1e9;
  // Raw OpenBLAS with its own threads (heed keeps OpenBLAS single-threaded and splits GEMMs
  // across its OpenMP threads itself).
  auto sgemm = [&] {
    openblas_set_num_threads(s.threads);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a.data_ptr<float>(), n, b.data_ptr<float>(),
                n, 0.f, c.data(), n);
    openblas_set_num_threads(1);
  };
  // heed's calls first, then the raw ones, not alternately: after a raw call OpenBLAS's own
  // threads keep spinning for a while and take the cores from heed's OpenMP threads (heed
  // measured at 54-64 % of sgemm in some runs that alternated, 99 % in the others).
  std::vector<double> sgemm_ms, heed_ms;
  for (int i = 0; i < s.warmup + s.iters; ++i) {
    const double ours = elapsed_ms([&] { (void)matmul(a, b); });
    if (i >= s.warmup) heed_ms.push_back(ours);
  }
  for (int i = 0; i < s.warmup + s.iters; ++i) {
    const double raw = elapsed_ms(sgemm);
    if (i >= s.warmup) sgemm_ms.push_back(raw);
  }
  Result r;
  add_times(r, heed_ms);
  r.add("gflops", gflop / median(heed_ms) * 1e3);
  r.add("sgemm_median_ms", median(sgemm_ms));
  r.add("sgemm_gflops", gflop / median(sgemm_ms) * 1e3);
  return r;
}

// ---- mha: self-attention forward + backward of sum(output) ----
Result mha(const Settings& s) {
  nn::MultiHeadAttention attn(256, 8, 0.0, true, std::nullopt, std::nullopt, /*batch_first=*/true);
  attn.to(s.device);
  Tensor x = randn({16, 128, 256}).to(s.device);
  Result r;
  add_times(r, time_ms(
                   [&] {
                     attn.zero_grad();
                     sum(attn.forward(x, x, x, {}, /*need_weights=*/false).output).backward();
                   },
                   s));
  return r;
}

// ---- attention (GPU): scaled_dot_product_attention alone, the shape ----
// batch 8, 16 heads, 1024 queries and keys, head size 64, float32; forward and forward +
// backward of sum(output), without and with the causal mask. bench/torch/attention_gpu.py is
// PyTorch's side (scripts/gpu-check runs both).
Result attention(const Settings& s) {
  HEED_CHECK(s.device.is_cuda(), "heed-bench: attention runs on the GPU only (--device cuda)");
  const int64_t B = 8, H = 16, T = 1024, D = 64;
  Result r;
  r.add("shape", fmt::format("{}x{}x{}x{}", B, H, T, D));
  for (bool causal : {false, true}) {
    const Options o{DType::Float32, s.device, true};
    Tensor q = randn({B, H, T, D}, o), k = randn({B, H, T, D}, o), v = randn({B, H, T, D}, o);
    const AttentionOptions opts{.causal = causal};
    const auto forward = time_ms(
        [&] {
          autograd::NoGradGuard no_grad;
          (void)scaled_dot_product_attention(q, k, v, opts);
        },
        s);
    const auto both = time_ms(
        [&] {
          for (Tensor* t : {&q, &k, &v}) t->zero_grad();
          sum(scaled_dot_product_attention(q, k, v, opts).output).backward();
        },
        s);
    const std::string tag = causal ? "causal_" : "";
    r.add(tag + "forward_ms", median(forward));
    r.add(tag + "forward_backward_ms", median(both));
    if (!causal) add_times(r, both);
  }
  return r;
}

// ---- text: Transformer text classifier ----
struct TextClassifier : nn::Module {
  std::shared_ptr<nn::Embedding> tokens;
  std::shared_ptr<nn::LearnedPositionalEncoding> positions;
  std::shared_ptr<nn::TransformerEncoder> encoder;
  std::shared_ptr<nn::Linear> head;

  TextClassifier() : Module("TextClassifier") {
    tokens = register_module("tokens", std::make_shared<nn::Embedding>(20000, 128));
    positions = register_module("positions", std::make_shared<nn::LearnedPositionalEncoding>(256, 128, 0.0, true));
    nn::TransformerEncoderLayerOptions layer{
        .d_model = 128, .nhead = 4, .dim_feedforward = 512, .dropout = 0.1, .batch_first = true};
    encoder = register_module("encoder", std::make_shared<nn::TransformerEncoder>(layer, 2));
    head = register_module("head", std::make_shared<nn::Linear>(128, 2));
  }
  Tensor forward(const Tensor& ids) override {  // (B, T) int64 -> (B, 2)
    Tensor h = encoder->forward(positions->forward(tokens->forward(ids)));
    return head->forward(mean(h, {1}));
  }
};

struct TextData {
  Tensor ids = randint(0, 20000, {32, 256});
  Tensor labels = randint(0, 2, {32});
};

Result text(const Settings& s) {
  TextClassifier model;
  model.to(s.device);
  optim::AdamW opt(model.parameters(), {.lr = 1e-3});
  TextData data;
  Result r;
  add_times(r, time_ms(training_step(model, opt, data.ids.to(s.device), data.labels.to(s.device)), s));
  return r;
}

// ---- adamw: the optimizer step alone, on the text model's parameters ----
// Not one of WORKLOADS.md's (no PyTorch side): it times AdamW.step() with fixed gradients, to
// measure the optimizer's kernels (docs/performance.md).
Result adamw(const Settings& s) {
  TextClassifier model;
  model.to(s.device);
  for (Tensor& p : model.parameters()) p.set_grad(randn(p.shape()).to(s.device));
  optim::AdamW opt(model.parameters(), {.lr = 1e-3});
  Result r;
  add_times(r, time_ms([&] { opt.step(); }, s));
  return r;
}

// ---- text-ddp: the text step data-parallel (run under mpirun; 1 process works too) ----
// The global batch of 32 is split across the ranks. Timed blocks alternate between all-reduces
// overlapped with backward and all-reduces after it; per step: the slowest rank's step time,
// backward (with the overlapped communication it drives) and the wait after backward.
Result text_ddp(const Settings& s) {
  cpu_only(s, "text-ddp");
  auto world = dist::init();
  const int64_t rank = world->rank(), size = world->size();
  TextClassifier model;
  optim::AdamW opt(model.parameters(), {.lr = 1e-3});
  TextData data;
  const int64_t begin = 32 * rank / size, end = 32 * (rank + 1) / size;
  Tensor ids = data.ids.narrow(0, begin, end - begin).contiguous(), labels = data.labels.narrow(0, begin, end - begin);
  std::map<bool, std::vector<double>> step_ms, backward_ms, wait_ms;
  int64_t buckets = 0, bytes = 0;
  for (int round = 0; round < 2; ++round)
    for (bool overlap : {true, false}) {
      dist::DistributedDataParallel ddp(model, world, {.bucket_bytes = s.bucket_kib << 10, .overlap = overlap});
      buckets = ddp.num_buckets();
      for (int i = 0; i < s.warmup + s.iters; ++i) {
        world->barrier();
        double backward = 0, total = elapsed_ms([&] {
          opt.zero_grad();
          Tensor loss = cross_entropy(model.forward(ids), labels);
          backward = elapsed_ms([&] { loss.backward(); });
          ddp.finish();
          opt.step();
        });
        Tensor slowest = world->all_gather(from_vector(std::vector<double>{total}, {1}, {DType::Float64}));
        if (i < s.warmup) continue;
        step_ms[overlap].push_back(max(slowest).item());
        backward_ms[overlap].push_back(backward);
        wait_ms[overlap].push_back(ddp.stats().finish_seconds * 1e3);
        bytes = ddp.stats().bytes;
      }
    }
  Result r;
  r.add("processes", int(size));
  add_times(r, step_ms[true]);
  r.add("median_ms_no_overlap", median(step_ms[false]));
  r.add("backward_ms", median(backward_ms[true]));
  r.add("backward_ms_no_overlap", median(backward_ms[false]));
  r.add("wait_ms", median(wait_ms[true]));
  r.add("wait_ms_no_overlap", median(wait_ms[false]));
  r.add("buckets", int(buckets));
  r.add("gradient_mib", double(bytes) / (1 << 20));
  return r;
}

// ---- memory: peak resident set of a process running 20 text steps ----
Result memory(const Settings& s) {
  cpu_only(s, "memory");  // the peak resident set of the process
  const double baseline = status_mib("VmRSS");
  TextClassifier model;
  optim::AdamW opt(model.parameters(), {.lr = 1e-3});
  TextData data;
  auto ms = time_ms(training_step(model, opt, data.ids, data.labels), {.iters = 20, .warmup = 0});
  Result r;
  add_times(r, ms);
  r.add("peak_rss_mib", status_mib("VmHWM"));
  r.add("baseline_rss_mib", baseline);
  return r;
}

// ---- cnn: small CNN on Fashion-MNIST-shaped input ----
struct SmallCnn : nn::Module {
  std::shared_ptr<nn::Conv2d> conv1, conv2;
  std::shared_ptr<nn::MaxPool2d> pool;
  std::shared_ptr<nn::Linear> fc1, fc2;

  SmallCnn() : Module("SmallCnn") {
    conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(1, 32, 3));
    conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(32, 64, 3));
    pool = register_module("pool", std::make_shared<nn::MaxPool2d>(2));
    fc1 = register_module("fc1", std::make_shared<nn::Linear>(1600, 128));
    fc2 = register_module("fc2", std::make_shared<nn::Linear>(128, 10));
  }
  Tensor forward(const Tensor& x) override {  // (B, 1, 28, 28) -> (B, 10)
    Tensor h = pool->forward(relu(conv1->forward(x)));
    h = pool->forward(relu(conv2->forward(h)));
    return fc2->forward(relu(fc1->forward(h.flatten(1))));
  }
};

Result cnn(const Settings& s) {
  SmallCnn model;
  model.to(s.device);
  optim::AdamW opt(model.parameters(), {.lr = 1e-3});
  Tensor x = randn({64, 1, 28, 28}).to(s.device), y = randint(0, 10, {64}).to(s.device);
  Result r;
  add_times(r, time_ms(training_step(model, opt, x, y), s));
  return r;
}

// ---- lstm: LSTM with linear-score attention pooling on EEG-shaped input ----
struct LstmClassifier : nn::Module {
  std::shared_ptr<nn::LSTM> lstm;
  std::shared_ptr<nn::AdditiveAttentionPooling> pool;
  std::shared_ptr<nn::Linear> head;

  LstmClassifier() : Module("LstmClassifier") {
    lstm = register_module("lstm", std::make_shared<nn::LSTM>(16, 64, 1, true, /*batch_first=*/true));
    pool = register_module("pool", std::make_shared<nn::AdditiveAttentionPooling>(64, 0));
    head = register_module("head", std::make_shared<nn::Linear>(64, 2));
  }
  Tensor forward(const Tensor& x) override {  // (B, T, 16) -> (B, 2)
    return head->forward(pool->forward(lstm->forward(x)));
  }
};

Result lstm(const Settings& s) {
  LstmClassifier model;
  model.to(s.device);
  optim::AdamW opt(model.parameters(), {.lr = 1e-3});
  Tensor x = randn({32, 256, 16}).to(s.device), y = randint(0, 2, {32}).to(s.device);
  Result r;
  add_times(r, time_ms(training_step(model, opt, x, y), s));
  return r;
}

// ---- overhead: 1000 chained scalar additions on a 16-element tensor, then backward ----
Result overhead(const Settings& s) {
  cpu_only(s, "overhead");
  Result r;
  add_times(r, time_ms(
                   [] {
                     Tensor x = zeros({16}).requires_grad_();
                     Tensor y = x;
                     for (int i = 0; i < 1000; ++i) y = y + 1.0;
                     sum(y).backward();
                   },
                   s));
  return r;
}

const std::map<std::string, std::function<Result(const Settings&)>>& workloads() {
  static const std::map<std::string, std::function<Result(const Settings&)>> all{
      {"gemm", gemm}, {"mha", mha}, {"text", text}, {"cnn", cnn}, {"attention", attention}, {"adamw", adamw},
      {"lstm", lstm}, {"overhead", overhead}, {"memory", memory}, {"text-ddp", text_ddp}};
  return all;
}

int positive_int(const std::string& flag, const std::string& value, int minimum) {
  size_t used = 0;
  int n = 0;
  try {
    n = std::stoi(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  HEED_CHECK(used == value.size() && n >= minimum, "heed-bench: {} wants an integer >= {}, got '{}'", flag, minimum,
             value);
  return n;
}

Device parse_device(const std::string& value) {
  if (value == "cpu") return Device::cpu();
#ifdef HEED_BENCH_CUDA
  if (value == "cuda") {
    HEED_CHECK(cuda::device_count() > 0, "heed-bench: --device cuda: {}", cuda::unavailable_reason());
    return Device::cuda();
  }
  const char* choices = "cpu or cuda";
#else
  const char* choices = "cpu (heed-bench was built without CUDA)";
#endif
  HEED_FAIL("heed-bench: --device wants {}, got '{}'", choices, value);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::vector<std::string> names;
    for (const auto& [name, _] : workloads()) names.push_back(name);
    HEED_CHECK(!args.empty(),
               "usage: heed-bench <{}> [--threads N] [--iters N] [--warmup N] [--bucket-kib N] [--device cpu|cuda]",
               fmt::join(names, "|"));
    const std::string name = args[0];
    auto it = workloads().find(name);
    HEED_CHECK(it != workloads().end(), "heed-bench: unknown workload '{}' (one of {})", name, fmt::join(names, ", "));
    Settings settings;
    for (size_t i = 1; i < args.size(); i += 2) {
      HEED_CHECK(i + 1 < args.size(), "heed-bench: {} needs a value", args[i]);
      if (args[i] == "--threads") settings.threads = positive_int(args[i], args[i + 1], 1);
      else if (args[i] == "--iters") settings.iters = positive_int(args[i], args[i + 1], 1);
      else if (args[i] == "--warmup") settings.warmup = positive_int(args[i], args[i + 1], 0);
      else if (args[i] == "--bucket-kib") settings.bucket_kib = positive_int(args[i], args[i + 1], 1);
      else if (args[i] == "--device") settings.device = parse_device(args[i + 1]);
      else HEED_FAIL("heed-bench: unknown option '{}'", args[i]);
    }
    const int threads = settings.threads;
    set_num_threads(threads);
    manual_seed(0);
    Result r;
    r.add("workload", name);
    r.add("framework", "heed");
    r.add("threads", threads);
    r.add("device", fmt::format("{}", settings.device));
    r.extend(it->second(settings));
    if (dist::is_main_process()) fmt::print("{}\n", r.json());
    return 0;
  } catch (const Error& e) {
    fmt::print(stderr, "{}\n", e.what());
    return 2;
  }
}
