// A progress bar on stderr for long loops: done/total, the latest loss, items per second,
// elapsed time and time left. On a terminal it redraws one line (at most 10 times a second);
// otherwise (a log file, CI) it prints a plain line about every 10% or every 30 s.
//
//   apps::ProgressBar bar("epoch 1/8", loader.num_batches());
//   for (auto& batch : loader) { ...; bar.advance(1, batch_size, loss); }
//   bar.finish();
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace heed::apps {

enum class ProgressStyle { Auto, Bar, Lines };  // Auto: Bar when the stream is a terminal

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total_steps, std::FILE* stream = stderr,
              ProgressStyle style = ProgressStyle::Auto);
  // steps done since the last call, items (examples) they covered, the latest loss (NaN: none).
  void advance(int64_t steps, int64_t items, double loss);
  // Draws the final state and ends the line (also done by the destructor if not called).
  void finish();
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  std::string line() const;  // the current status text, without control characters
  double elapsed_seconds() const;

 private:
  using Clock = std::chrono::steady_clock;
  void draw(bool final);

  std::string label_;
  int64_t total_, done_ = 0, items_ = 0;
  double loss_;
  std::FILE* stream_;
  bool bar_;
  bool finished_ = false;
  Clock::time_point start_, last_draw_;
  int64_t last_line_done_ = 0;
};

// "1:05", "12:03", "1:02:03".
std::string format_duration(double seconds);

}  // namespace heed::apps
