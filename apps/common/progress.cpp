#include "apps/common/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <limits>

namespace heed::apps {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto s = static_cast<int64_t>(std::llround(seconds));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

ProgressBar::ProgressBar(std::string label, int64_t total_steps, std::FILE* stream, ProgressStyle style)
    : label_(std::move(label)),
      total_(std::max<int64_t>(total_steps, 0)),
      loss_(std::numeric_limits<double>::quiet_NaN()),
      stream_(stream),
      bar_(style == ProgressStyle::Bar || (style == ProgressStyle::Auto && isatty(fileno(stream)))),
      start_(Clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  if (!finished_) finish();
}

double ProgressBar::elapsed_seconds() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

void ProgressBar::advance(int64_t steps, int64_t items, double loss) {
  done_ = std::min(total_, done_ + steps);
  items_ += items;
  if (!std::isnan(loss)) loss_ = loss;
  auto now = Clock::now();
  double since_draw = std::chrono::duration<double>(now - last_draw_).count();
  if (bar_) {
    if (since_draw >= 0.1) draw(false);
  } else if (since_draw >= 30 || (total_ > 0 && (done_ - last_line_done_) * 10 >= total_)) {
    draw(false);
  }
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  if (bar_ || last_line_done_ != done_ || done_ == 0) draw(true);
}

std::string ProgressBar::line() const {
  double elapsed = elapsed_seconds();
  double rate = elapsed > 0 ? static_cast<double>(items_) / elapsed : 0;
  double left = done_ > 0 ? elapsed * static_cast<double>(total_ - done_) / static_cast<double>(done_) : NAN;
  std::string text = fmt::format("{} {}/{}", label_, done_, total_);
  if (!std::isnan(loss_)) text += fmt::format("  loss {:.4f}", loss_);
  text += fmt::format("  {:.1f} items/s  {} elapsed, {} left", rate, format_duration(elapsed), format_duration(left));
  return text;
}

void ProgressBar::draw(bool final) {
  last_draw_ = Clock::now();
  last_line_done_ = done_;
  if (bar_) {
    constexpr int kWidth = 24;
    int filled = total_ > 0 ? static_cast<int>(kWidth * done_ / total_) : kWidth;
    std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
    fmt::print(stream_, "\r\033[K[{}] {}{}", bar, line(), final ? "\n" : "");
  } else {
    fmt::print(stream_, "{}\n", line());
  }
  std::fflush(stream_);
}

}  // namespace heed::apps
