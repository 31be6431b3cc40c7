// Training checkpoints: resuming continues bit-identically; a killed writer never corrupts
// the previous checkpoint; bad files and mismatched parts are refused without changing anything.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "autograd/node.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "tensor/io.h"
#include "tensor/random.h"

using namespace heed;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() : path(fs::temp_directory_path() / ("heed-ckpt-" + std::to_string(getpid()) + "-" + std::to_string(rand()))) {
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

// A small model with dropout, so the random generator matters for the trajectory.
std::shared_ptr<nn::Sequential> make_model() {
  auto m = std::make_shared<nn::Sequential>();
  m->push_back(std::make_shared<nn::Linear>(4, 8));
  m->push_back(std::make_shared<nn::ReLU>());
  m->push_back(std::make_shared<nn::Dropout>(0.2));
  m->push_back(std::make_shared<nn::Linear>(8, 3));
  return m;
}

struct Run {
  std::shared_ptr<nn::Sequential> model = make_model();
  optim::AdamW opt{model->parameters(), {.lr = 1e-2}};
  optim::WarmupDecayLR sched{opt, {.warmup_steps = 3, .total_steps = 20}};
  optim::CheckpointParts parts() { return {.model = model.get(), .optimizer = &opt, .scheduler = &sched}; }
  void step() {
    Tensor x = randn({16, 4});
    Tensor y = randint(0, 3, {16});
    opt.zero_grad();
    cross_entropy((*model)(x), y).backward();
    opt.step();
    sched.step();
  }
};

std::vector<std::vector<float>> weights(const nn::Module& m) {
  std::vector<std::vector<float>> out;
  for (const Tensor& p : m.parameters()) out.push_back(p.to_vector<float>());
  return out;
}

}  // namespace

TEST_CASE("checkpoint: resuming continues bit-identically to an uninterrupted run") {
  TempDir dir;
  const std::string path = (dir.path / "last.safetensors").string();
  manual_seed(11);
  Run straight;
  for (int i = 0; i < 20; ++i) straight.step();

  manual_seed(11);
  {
    Run first;
    for (int i = 0; i < 9; ++i) first.step();
    optim::save_checkpoint(path, first.parts(), {.epoch = 1, .step = 9, .extra = {{"note", "half way"}}});
  }
  manual_seed(999);  // a fresh process would start elsewhere
  Run resumed;        // different initial weights
  CHECK(weights(*resumed.model) != weights(*straight.model));
  optim::Progress p = optim::load_checkpoint(path, resumed.parts());
  CHECK(p.epoch == 1);
  CHECK(p.step == 9);
  CHECK(p.extra.at("note") == "half way");
  for (int i = 9; i < 20; ++i) resumed.step();
  CHECK(weights(*resumed.model) == weights(*straight.model));  // exact, not approximate
  CHECK(resumed.sched.get_last_lr() == straight.sched.get_last_lr());
}

TEST_CASE("checkpoint: a writer killed mid-save leaves the previous checkpoint intact") {
  TempDir dir;
  const std::string path = (dir.path / "ckpt.safetensors").string();
  // Two versions of a model big enough (8 MB) that a save takes a while; each holds one value.
  auto version = [](float value) {
    auto m = std::make_shared<nn::Linear>(1000, 2000);
    NoGradGuard no_grad;
    for (Tensor p : m->parameters()) p.copy_(full(p.shape(), value));
    return m;
  };
  auto a = version(1), b = version(2);
  optim::save_checkpoint(path, {.model = a.get()}, {.step = 1});
  for (int trial = 0; trial < 6; ++trial) {
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {  // writes alternately forever, until killed
      for (int64_t k = 0;; ++k) optim::save_checkpoint(path, {.model = (k % 2 ? a : b).get()}, {.step = k % 2 ? 1 : 2});
    }
    usleep(static_cast<useconds_t>(20000 + 37000 * trial));
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    auto check = version(0);
    optim::Progress p = optim::load_checkpoint(path, {.model = check.get()});
    const float expect = p.step == 1 ? 1.f : 2.f;
    bool uniform = true;
    for (const Tensor& t : check->parameters())
      for (float v : t.to_vector<float>()) uniform &= v == expect;
    CHECK_MESSAGE(uniform, "trial ", trial, ": the checkpoint mixes two saves");
  }
  // The kills really landed mid-save: they left temporary files behind (never the final name).
  int leftovers = 0;
  for (const auto& entry : fs::directory_iterator(dir.path)) leftovers += entry.path().string() != path;
  CHECK(leftovers > 0);
}

TEST_CASE("checkpoint: refuses bad files and mismatched parts without changing anything") {
  TempDir dir;
  const std::string path = (dir.path / "c.safetensors").string();
  manual_seed(3);
  Run run;
  run.step();
  optim::save_checkpoint(path, run.parts(), {.epoch = 0, .step = 1});

  Run other;
  auto before = weights(*other.model);
  // A model of another shape: refused, and the optimizer and model are untouched.
  auto wrong = std::make_shared<nn::Linear>(4, 5);
  optim::AdamW wrong_opt(wrong->parameters(), {});
  auto wrong_before = weights(*wrong);
  CHECK_THROWS_AS(optim::load_checkpoint(path, {.model = wrong.get(), .optimizer = &wrong_opt}), Error);
  CHECK(weights(*wrong) == wrong_before);
  // A part missing from the file, or present in the file but not given.
  optim::save_checkpoint(path, {.model = run.model.get()}, {});
  CHECK_THROWS_AS(optim::load_checkpoint(path, other.parts()), Error);
  CHECK(weights(*other.model) == before);
  optim::save_checkpoint(path, run.parts(), {});
  CHECK_THROWS_AS(optim::load_checkpoint(path, {.model = other.model.get()}), Error);
  // A plain safetensors file is not a training checkpoint.
  save_safetensors(path, {{"x", ones({2})}});
  CHECK_THROWS_WITH_AS(optim::load_checkpoint(path, other.parts()), doctest::Contains("not a heed training checkpoint"),
                       Error);
  // A truncated checkpoint.
  optim::save_checkpoint(path, run.parts(), {});
  fs::resize_file(path, fs::file_size(path) / 2);
  CHECK_THROWS_AS(optim::load_checkpoint(path, other.parts()), Error);
  CHECK(weights(*other.model) == before);
}
