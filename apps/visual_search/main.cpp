// heed-search: visual search with attention maps. See docs/visual_search.md.
#include <fmt/format.h>

#include <exception>
#include <string>

#include "apps/common/distributed.h"
#include "apps/visual_search/search_app.h"

namespace {

constexpr const char* kUsage =
    "usage: heed-search <command> [options]\n\n"
    "commands:\n"
    "  generate  write scenes as PNG with their labels as JSON, to look at what the model sees\n"
    "  train     train the model on generated scenes (Fashion-MNIST items, or --items DIR)\n"
    "  eval      evaluate a trained run on test scenes (optionally of another item folder)\n"
    "  predict   find a cue's target in a scene image and show where the model looked\n\n"
    "heed-search <command> --help shows a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command == "generate") return heed::search::generate_command(argc, argv);
    if (command == "train") return heed::search::train_command(argc, argv);
    if (command == "eval") return heed::search::eval_command(argc, argv);
    if (command == "predict") return heed::search::predict_command(argc, argv);
    if (command == "--help" || command == "-h" || command == "help") {
      fmt::print("{}", kUsage);
      return 0;
    }
    fmt::print(stderr, "heed-search: {}\n{}", command.empty() ? "no command given" : "unknown command '" + command + "'",
               kUsage);
    return 2;
  } catch (const std::exception& e) {
    return heed::apps::report_error("heed-search", e);
  }
}
