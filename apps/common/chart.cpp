#include "apps/common/chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "apps/common/files.h"
#include "tensor/error.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <stb/stb_easy_font.h>
#pragma GCC diagnostic pop
#include <stb/stb_image_write.h>

namespace heed::apps {

namespace {

using Colour = std::array<uint8_t, 3>;
constexpr Colour kBlack{0, 0, 0}, kGrid{225, 225, 225}, kText{40, 40, 40};
constexpr std::array<Colour, 6> kPalette{
    {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}, {148, 103, 189}, {140, 86, 75}}};

struct Canvas {
  Image& image;
  void fill(int x0, int y0, int x1, int y1, Colour c) {  // [x0, x1) x [y0, y1), clipped
    x0 = std::max(x0, 0), y0 = std::max(y0, 0);
    x1 = std::min(x1, image.width), y1 = std::min(y1, image.height);
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) std::copy(c.begin(), c.end(), &image.rgb[(size_t(y) * image.width + x) * 3]);
  }
  void line(double x0, double y0, double x1, double y1, Colour c, int thickness) {
    double length = std::hypot(x1 - x0, y1 - y0);
    int steps = std::max(1, static_cast<int>(std::ceil(length * 2)));
    int lo = -(thickness - 1) / 2, hi = lo + thickness;
    for (int i = 0; i <= steps; ++i) {
      double t = static_cast<double>(i) / steps;
      int x = static_cast<int>(std::lround(x0 + t * (x1 - x0))), y = static_cast<int>(std::lround(y0 + t * (y1 - y0)));
      fill(x + lo, y + lo, x + hi, y + hi, c);
    }
  }
  // stb_easy_font text at (x, y) (top left), scaled; vertical: rotated 90° anticlockwise,
  // (x, y) then being the bottom left of the rotated text.
  void text(const std::string& s, int x, int y, Colour c, int scale = 1, bool vertical = false) {
    std::vector<char> chars(s.begin(), s.end());
    chars.push_back('\0');
    std::vector<char> buffer(chars.size() * 300 + 64);
    unsigned char rgba[4] = {c[0], c[1], c[2], 255};
    int quads = stb_easy_font_print(0, 0, chars.data(), rgba, buffer.data(), static_cast<int>(buffer.size()));
    const auto* v = reinterpret_cast<const float*>(buffer.data());  // 4 vertices of (x, y, z, colour) per quad
    for (int q = 0; q < quads; ++q) {
      const float* quad = v + q * 16;
      int qx0 = static_cast<int>(quad[0]) * scale, qy0 = static_cast<int>(quad[1]) * scale;
      int qx1 = static_cast<int>(quad[8]) * scale, qy1 = static_cast<int>(quad[9]) * scale;
      if (vertical)
        fill(x + qy0, y - qx1, x + qy1, y - qx0, c);
      else
        fill(x + qx0, y + qy0, x + qx1, y + qy1, c);
    }
  }
};


// About `target` round steps (1, 2, 2.5 or 5 times a power of ten) covering [lo, hi].
double nice_step(double lo, double hi, int target) {
  double raw = (hi - lo) / target, magnitude = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * magnitude >= raw) return m * magnitude;
  return 10 * magnitude;
}

std::string tick_label(double value, double step) {
  int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  if (std::fmod(step * std::pow(10, decimals), 1.0) > 1e-6) ++decimals;  // 2.5-type steps
  if (std::abs(value) < step * 1e-6) value = 0;
  return fmt::format("{:.{}f}", value, decimals);
}

void draw_panel(Canvas& canvas, const Chart& chart, int left, int width, int height) {
  constexpr int kMarginLeft = 62, kMarginRight = 16, kMarginTop = 34, kMarginBottom = 44;
  const int x0 = left + kMarginLeft, x1 = left + width - kMarginRight, y0 = kMarginTop, y1 = height - kMarginBottom;
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin, ymin = xmin, ymax = -xmin;
  for (const auto& s : chart.series) {
    HEED_CHECK(s.x.size() == s.y.size(), "chart '{}': series '{}' has {} x values but {} y values", chart.title,
               s.name, s.x.size(), s.y.size());
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      xmin = std::min(xmin, s.x[i]), xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i]), ymax = std::max(ymax, s.y[i]);
    }
  }
  if (!std::isfinite(xmin)) xmin = 0, xmax = 1, ymin = 0, ymax = 1;  // nothing to plot: empty axes
  if (xmax - xmin < 1e-12) xmin -= 0.5, xmax += 0.5;
  if (ymax - ymin < 1e-12) {
    double pad = std::max(std::abs(ymin) * 0.1, 0.5);
    ymin -= pad, ymax += pad;
  }
  double ystep = nice_step(ymin, ymax, 5), xstep = nice_step(xmin, xmax, 6);
  ymin = std::floor(ymin / ystep) * ystep, ymax = std::ceil(ymax / ystep) * ystep;
  auto px = [&](double x) { return x0 + (x - xmin) / (xmax - xmin) * (x1 - x0); };
  auto py = [&](double y) { return y1 - (y - ymin) / (ymax - ymin) * (y1 - y0); };

  for (double y = ymin; y <= ymax + ystep * 1e-6; y += ystep) {
    int yy = static_cast<int>(std::lround(py(y)));
    canvas.line(x0, yy, x1, yy, kGrid, 1);
    std::string label = tick_label(y, ystep);
    canvas.text(label, x0 - 6 - text_width(label), yy - 4, kText);
  }
  for (double x = std::ceil(xmin / xstep) * xstep; x <= xmax + xstep * 1e-6; x += xstep) {
    int xx = static_cast<int>(std::lround(px(x)));
    canvas.line(xx, y0, xx, y1, kGrid, 1);
    canvas.line(xx, y1, xx, y1 + 4, kBlack, 1);
    std::string label = tick_label(x, xstep);
    canvas.text(label, xx - text_width(label) / 2, y1 + 8, kText);
  }
  canvas.line(x0, y0, x0, y1, kBlack, 1);
  canvas.line(x0, y1, x1, y1, kBlack, 1);
  canvas.text(chart.title, x0, 8, kBlack, 2);
  canvas.text(chart.x_label, (x0 + x1) / 2 - text_width(chart.x_label) / 2, y1 + 24, kText);
  canvas.text(chart.y_label, left + 8, (y0 + y1) / 2 + text_width(chart.y_label) / 2, kText, 1, true);

  for (size_t k = 0; k < chart.series.size(); ++k) {
    const Series& s = chart.series[k];
    Colour c = kPalette[k % kPalette.size()];
    bool has_previous = false;
    double prev_x = 0, prev_y = 0;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
        has_previous = false;
        continue;
      }
      double x = px(s.x[i]), y = py(s.y[i]);
      if (has_previous) canvas.line(prev_x, prev_y, x, y, c, 2);
      int xi = static_cast<int>(std::lround(x)), yi = static_cast<int>(std::lround(y));
      canvas.fill(xi - 2, yi - 2, xi + 3, yi + 3, c);
      prev_x = x, prev_y = y, has_previous = true;
    }
  }
  // Legend: one row in the top margin, right-aligned, so it never hides a curve.
  int lx = x1;
  for (size_t k = chart.series.size(); k-- > 0;) {
    lx -= text_width(chart.series[k].name) + 34;
    canvas.line(lx, 15, lx + 20, 15, kPalette[k % kPalette.size()], 2);
    canvas.text(chart.series[k].name, lx + 26, 12, kText);
  }
}

}  // namespace

Image render_charts(const std::vector<Chart>& charts, int panel_width, int panel_height) {
  HEED_CHECK(!charts.empty(), "render_charts: no charts");
  HEED_CHECK(panel_width >= 160 && panel_height >= 120 && panel_width <= 8192 && panel_height <= 8192,
             "render_charts: panel size {}x{} outside 160x120 .. 8192x8192", panel_width, panel_height);
  Image image{panel_width * static_cast<int>(charts.size()), panel_height, {}};
  image.rgb.assign(size_t(image.width) * image.height * 3, 255);
  Canvas canvas{image};
  for (size_t i = 0; i < charts.size(); ++i) draw_panel(canvas, charts[i], static_cast<int>(i) * panel_width, panel_width, panel_height);
  return image;
}

int text_width(const std::string& s, int scale) {
  std::vector<char> chars(s.begin(), s.end());
  chars.push_back('\0');
  return stb_easy_font_width(chars.data()) * scale;
}

void draw_text(Image& image, const std::string& text, int x, int y, std::array<uint8_t, 3> colour, int scale) {
  Canvas{image}.text(text, x, y, colour, scale);
}

void draw_rectangle(Image& image, int x0, int y0, int x1, int y1, std::array<uint8_t, 3> colour, int thickness) {
  Canvas canvas{image};
  canvas.fill(x0, y0, x1, y0 + thickness, colour);
  canvas.fill(x0, y1 - thickness, x1, y1, colour);
  canvas.fill(x0, y0, x0 + thickness, y1, colour);
  canvas.fill(x1 - thickness, y0, x1, y1, colour);
}

void write_png(const std::filesystem::path& path, const Image& image) {
  HEED_CHECK(image.width > 0 && image.height > 0 && image.rgb.size() == size_t(image.width) * image.height * 3,
             "write_png: {}x{} image with {} bytes", image.width, image.height, image.rgb.size());
  std::string bytes;
  auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
  };
  int ok = stbi_write_png_to_func(append, &bytes, image.width, image.height, 3, image.rgb.data(), image.width * 3);
  HEED_CHECK(ok != 0, "write_png: cannot encode {}", path.string());
  write_file_atomic(path, bytes);
}

void write_charts_png(const std::filesystem::path& path, const std::vector<Chart>& charts, int panel_width,
                      int panel_height) {
  write_png(path, render_charts(charts, panel_width, panel_height));
}

}  // namespace heed::apps
