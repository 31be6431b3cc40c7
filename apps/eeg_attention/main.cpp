// heed-eeg: EEG classification with attention over time. See docs/eeg.md.
#include <fmt/format.h>

#include <exception>
#include <string>

#include "apps/common/distributed.h"
#include "apps/eeg_attention/run_model.h"
#include "apps/eeg_attention/simulate.h"

namespace {

constexpr const char* kUsage =
    "usage: heed-eeg <command> [options]\n\n"
    "commands:\n"
    "  simulate  write SIMULATED EDF+ recordings of a focused/relaxed attention task\n"
    "  train     cross-validate the model and a band-power baseline, then train the final model\n"
    "  eval      evaluate a trained run on labelled recordings\n"
    "  predict   classify every window of a recording; draw the model's attention over time\n"
    "  stream    replay a recording as if live, with a state and an attention gauge each second\n\n"
    "heed-eeg <command> --help shows a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command == "simulate") return heed::eeg::simulate_command(argc, argv);
    if (command == "train") return heed::eeg::train_command(argc, argv);
    if (command == "eval") return heed::eeg::eval_command(argc, argv);
    if (command == "predict") return heed::eeg::predict_command(argc, argv);
    if (command == "stream") return heed::eeg::stream_command(argc, argv);
    if (command == "--help" || command == "-h" || command == "help") {
      fmt::print("{}", kUsage);
      return 0;
    }
    fmt::print(stderr, "heed-eeg: {}\n{}", command.empty() ? "no command given" : "unknown command '" + command + "'",
               kUsage);
    return 2;
  } catch (const std::exception& e) {
    return heed::apps::report_error("heed-eeg", e);
  }
}
