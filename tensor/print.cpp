#include "tensor/print.h"

#include <cmath>
#include <vector>

#include "tensor/ops.h"

namespace heed {
namespace {

constexpr int64_t kSummariseAbove = 1000;  // elements
constexpr int64_t kEdgeItems = 3;

struct Style {
  bool integer = false;     // every value whole: print "1." like PyTorch, or plain ints
  bool scientific = false;  // range too wide for fixed point
  bool is_float = true;
  int width = 1;
};

std::string format_value(double v, const Style& s) {
  if (!s.is_float) return fmt::format("{}", static_cast<int64_t>(v));
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (s.scientific) return fmt::format("{:.4e}", v);
  if (s.integer) return fmt::format("{:.0f}.", v);
  return fmt::format("{:.4f}", v);
}

// Indices shown along a dim of size n: all, or the first and last kEdgeItems (-1 marks "...").
std::vector<int64_t> shown(int64_t n, bool summarise) {
  std::vector<int64_t> idx;
  if (!summarise || n <= 2 * kEdgeItems) {
    for (int64_t i = 0; i < n; ++i) idx.push_back(i);
  } else {
    for (int64_t i = 0; i < kEdgeItems; ++i) idx.push_back(i);
    idx.push_back(-1);
    for (int64_t i = n - kEdgeItems; i < n; ++i) idx.push_back(i);
  }
  return idx;
}

void render(std::string& out, const std::vector<double>& v, const Shape& shape, const Shape& strides, int64_t base,
            size_t dim, int indent, const Style& s, bool summarise) {
  if (dim == shape.size()) {
    std::string text = format_value(v[base], s);
    out += std::string(std::max<int>(0, s.width - static_cast<int>(text.size())), ' ') + text;
    return;
  }
  out += '[';
  auto idx = shown(shape[dim], summarise);
  for (size_t k = 0; k < idx.size(); ++k) {
    if (k > 0) {
      out += ',';
      if (dim + 1 == shape.size()) {
        out += ' ';
      } else {
        out += std::string(shape.size() - dim - 1, '\n');
        out += std::string(indent + dim + 1, ' ');
      }
    }
    if (idx[k] < 0) {
      out += "...";
      continue;
    }
    render(out, v, shape, strides, base + idx[k] * strides[dim], dim + 1, indent, s, summarise);
  }
  out += ']';
}

}  // namespace

std::string to_string(const Tensor& t) {
  if (!t.defined()) return "tensor(undefined)";
  std::vector<double> v = t.to_vector<double>();
  const Shape strides = contiguous_strides(t.shape());
  const bool summarise = t.numel() > kSummariseAbove;
  Style s;
  s.is_float = t.is_floating_point();
  double max_abs = 0, min_abs = INFINITY;
  s.integer = true;
  for (double x : v) {
    if (!std::isfinite(x)) continue;
    max_abs = std::max(max_abs, std::abs(x));
    if (x != 0) min_abs = std::min(min_abs, std::abs(x));
    if (x != std::floor(x)) s.integer = false;
  }
  s.scientific = s.is_float && (max_abs >= 1e8 || (!s.integer && min_abs < 1e-4) || (max_abs / min_abs > 1e5 && !s.integer));
  for (double x : v) s.width = std::max<int>(s.width, static_cast<int>(format_value(x, s).size()));

  std::string out = "tensor(";
  if (t.numel() == 0) {
    out += "[]";
  } else {
    render(out, v, t.shape(), strides, 0, 0, 7, s, summarise);
  }
  if (t.numel() == 0 && t.dim() != 1) out += fmt::format(", size={}", t.shape());
  if (t.dtype() != DType::Float32 && t.dtype() != DType::Int64) out += fmt::format(", dtype={}", t.dtype());
  if (!t.device().is_cpu()) out += fmt::format(", device='{}'", t.device());
  const auto* meta = t.impl_ptr()->autograd.get();
  if (meta && meta->requires_grad) out += ", requires_grad=True";
  return out + ")";
}

}  // namespace heed
