// heed-text predict: label, probability and the most attended tokens of each text, in the
// terminal and as an HTML page.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "apps/common/args.h"
#include "apps/common/files.h"
#include "apps/common/highlight.h"
#include "apps/text_classifier/text_app.h"
#include "datasets/text_clean.h"
#include "tensor/error.h"

namespace heed::text {

int predict_command(int argc, const char* const* argv) {
  apps::Args args("heed-text predict",
                  "Classifies texts: the TEXT argument, the whole of --file, or else each line of stdin.");
  args.positional("RUN_DIR", "a run directory written by heed-text train");
  args.positional("TEXT", "the text to classify", false);
  args.option("file", "FILE", "", "classify the contents of FILE (one text, e.g. one email)");
  args.option("html", "FILE", "", "HTML page of the attention weights (default RUN_DIR/predict.html)");
  args.option("top", "N", "8", "how many of the most attended tokens to list");
  if (!args.parse(argc, argv, 2)) return 0;
  const fs::path run_dir = args.get("RUN_DIR");
  const int64_t top = args.get_int("top");
  HEED_CHECK(top >= 0, "predict: --top must be >= 0, got {}", top);
  HEED_CHECK(!(args.given("TEXT") && args.given("file")), "predict: give either TEXT or --file, not both");
  LoadedRun run = load_run(run_dir);

  std::vector<std::string> texts;
  if (args.given("TEXT")) {
    texts.push_back(args.get("TEXT"));
  } else if (args.given("file")) {
    texts.push_back(apps::read_file(args.get("file")));
  } else {
    for (std::string line; std::getline(std::cin, line);)
      if (!line.empty()) texts.push_back(line);
  }
  HEED_CHECK(!texts.empty(), "predict: no text given (TEXT, --file, or lines on stdin)");
  const bool email = run.config.at("email").get<bool>();

  const bool colour = apps::use_colour(stdout);
  std::vector<apps::HighlightedText> pages;
  for (const std::string& raw : texts) {
    std::string text = email && looks_like_email(raw) ? data::clean_email(raw) : data::sanitize_utf8(raw);
    data::Encoding encoding = encode_text(*run.tokenizer, text, run.model_config.max_length);
    Tensor ids = from_vector(encoding.ids, {1, int64_t(encoding.ids.size())});
    Tensor mask = zeros({1, int64_t(encoding.ids.size())}, {kBool});
    TextModel::Output output;
    {
      NoGradGuard no_grad;
      output = run.model->classify(ids, mask);
    }
    std::vector<double> probabilities = softmax(output.logits, 1).to_vector<double>();
    auto label = int64_t(std::max_element(probabilities.begin(), probabilities.end()) - probabilities.begin());
    std::vector<double> weights = output.weights.to_vector<double>();
    std::vector<apps::WeightedToken> tokens;
    for (size_t i = 0; i < encoding.pieces.size(); ++i) tokens.push_back({encoding.pieces[i], weights[i]});
    std::vector<size_t> order(tokens.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tokens[a].weight > tokens[b].weight; });
    std::string listed;
    for (size_t k = 0; k < std::min<size_t>(order.size(), size_t(top)); ++k)
      listed += fmt::format("{}{} ({:.3f})", k ? ", " : "", tokens[order[k]].text, tokens[order[k]].weight);
    std::string heading = fmt::format("{} (p = {:.4f})", run.label_names[label], probabilities[label]);
    fmt::print("{}\t{:.4f}\n  top tokens: {}\n  {}\n", run.label_names[label], probabilities[label], listed,
               apps::highlight_terminal(tokens, colour));
    pages.push_back({heading, tokens});
  }
  fs::path html = args.given("html") ? fs::path(args.get("html")) : run_dir / "predict.html";
  apps::write_file_atomic(html, apps::highlight_html(fmt::format("heed-text: token weights ({} model)", run.model_config.kind), pages));
  fmt::print(stderr, "attention weights page: {}\n", html.string());
  return 0;
}

}  // namespace heed::text
