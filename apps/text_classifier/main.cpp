// heed-text: train, evaluate and query text classifiers. See docs/text_classifier.md.
#include <fmt/format.h>

#include <exception>
#include <string>

#include "apps/common/distributed.h"
#include "apps/text_classifier/text_app.h"

namespace {

constexpr const char* kUsage =
    "usage: heed-text <command> [options]\n\n"
    "commands:\n"
    "  train    train a classifier on a corpus (folder per class, .csv, .tsv, .jsonl)\n"
    "  eval     evaluate a trained run on a corpus\n"
    "  predict  classify texts and show the tokens the model attended to\n\n"
    "heed-text <command> --help shows a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command == "train") return heed::text::train_command(argc, argv);
    if (command == "eval") return heed::text::eval_command(argc, argv);
    if (command == "predict") return heed::text::predict_command(argc, argv);
    if (command == "--help" || command == "-h" || command == "help") {
      fmt::print("{}", kUsage);
      return 0;
    }
    fmt::print(stderr, "heed-text: {}\n{}", command.empty() ? "no command given" : "unknown command '" + command + "'",
               kUsage);
    return 2;
  } catch (const std::exception& e) {
    return heed::apps::report_error("heed-text", e);
  }
}
