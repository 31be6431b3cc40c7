// Loops over the op registry: every sample of every op passes gradcheck and gradgradcheck,
// with its float inputs contiguous, transposed, strided (every other element) and expanded
// (a broadcast view), so backward is proven on non-contiguous inputs too.
#include <doctest/doctest.h>

#include "autograd/registry.h"
#include "tensor/ops.h"
#include "tensor/random.h"

using namespace heed;

namespace {

enum class Layout { Contiguous, Transposed, Strided, Expanded };
const char* layout_name(Layout l) {
  switch (l) {
    case Layout::Contiguous: return "contiguous";
    case Layout::Transposed: return "transposed";
    case Layout::Strided: return "strided";
    case Layout::Expanded: return "expanded";
  }
  return "?";
}

// A leaf to differentiate, plus the view of it the op receives (same values as `x`).
struct Laid {
  Tensor leaf;
  std::function<Tensor(const Tensor&)> view;
};

std::optional<Laid> lay_out(const Tensor& x, Layout l) {
  const Tensor v = raw::contiguous(x.detach());
  switch (l) {
    case Layout::Contiguous: return Laid{v, [](const Tensor& t) { return t; }};
    case Layout::Transposed:
      if (x.dim() < 2) return std::nullopt;
      return Laid{raw::contiguous(raw::transpose(v, -1, -2)), [](const Tensor& t) { return t.transpose(-1, -2); }};
    case Layout::Strided: {  // every other element of a leaf twice as long in the last dim
      if (x.dim() < 1) return std::nullopt;
      Tensor pair = raw::cat({raw::unsqueeze(v, -1), raw::unsqueeze(v, -1)}, -1);
      Shape s = x.shape();
      s.back() *= 2;
      return Laid{raw::contiguous(raw::reshape(pair, s)), [](const Tensor& t) { return t.slice(-1, 0, t.shape().back(), 2); }};
    }
    case Layout::Expanded: {  // only for inputs that are one value repeated along dim 0
      if (x.dim() < 1) return std::nullopt;
      Tensor row = raw::contiguous(raw::slice(v, 0, 0, 1, 1));
      Shape full = x.shape();
      return Laid{row, [full](const Tensor& t) { return t.expand(full); }};
    }
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("registry: every op passes gradcheck and gradgradcheck on every layout") {
  for (const OpInfo& op : op_registry()) {
    manual_seed(1234);
    for (const OpSample& sample : op.samples()) {
      for (Layout layout : {Layout::Contiguous, Layout::Transposed, Layout::Strided, Layout::Expanded}) {
        if (layout == Layout::Expanded && op.ties_break_gradient) continue;
        // Lay out every float input that requires grad; skip the layout if none can take it.
        std::vector<Tensor> leaves = sample.inputs;
        std::vector<std::function<Tensor(const Tensor&)>> views(leaves.size(), [](const Tensor& t) { return t; });
        bool applied = layout == Layout::Contiguous;
        for (size_t i = 0; i < leaves.size(); ++i) {
          if (!leaves[i].requires_grad()) continue;
          Tensor base = sample.inputs[i];
          if (layout == Layout::Expanded) {  // make the values repeat along dim 0 first
            if (base.dim() < 1 || base.shape()[0] < 2) continue;
            base = raw::expand(raw::slice(base.detach(), 0, 0, 1, 1), base.shape());
          }
          auto laid = lay_out(base, layout);
          if (!laid) continue;
          leaves[i] = laid->leaf.requires_grad_();
          views[i] = laid->view;
          applied = true;
        }
        if (!applied) continue;
        Function fn = [&](const std::vector<Tensor>& in) {
          std::vector<Tensor> v(in.size());
          for (size_t i = 0; i < in.size(); ++i) v[i] = in[i].defined() ? views[i](in[i]) : in[i];
          return op.fn(v);
        };
        const std::string where = fmt::format("{} [{}] {}", op.name, sample.label, layout_name(layout));
        CAPTURE(where);
        GradcheckOptions opt = op.tolerance;
        opt.raise = false;
        GradcheckResult g = gradcheck(fn, leaves, opt);
        CHECK_MESSAGE(g.ok, where, "\n", g.report);
        if (op.gradgrad) {
          GradcheckResult gg = gradgradcheck(fn, leaves, opt);
          CHECK_MESSAGE(gg.ok, where, "\n", gg.report);
        }
      }
    }
  }
}

TEST_CASE("registry: docs/ops.md is generated from the registry and up to date") {
  std::string doc;
  {
    std::FILE* f = std::fopen(HEED_FIXTURES_DIR "/../../docs/ops.md", "rb");
    REQUIRE_MESSAGE(f != nullptr, "docs/ops.md is missing: run scripts/gen-docs");
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) doc.append(buf, n);
    std::fclose(f);
  }
  CHECK_MESSAGE(doc == ops_markdown(), "docs/ops.md is stale: run scripts/gen-docs");
}
