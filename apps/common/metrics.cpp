#include "apps/common/metrics.h"

#include <fmt/format.h>

#include <algorithm>

#include "tensor/error.h"

namespace heed::apps {

namespace {

double ratio(int64_t num, int64_t den) { return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den); }

double f1_of(double precision, double recall) {
  return precision + recall == 0 ? 0.0 : 2 * precision * recall / (precision + recall);
}

nlohmann::json scores_json(const ClassScores& s) {
  return {{"precision", s.precision}, {"recall", s.recall}, {"f1-score", s.f1}, {"support", s.support}};
}

}  // namespace

ClassificationReport classification_report(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred,
                                           const std::vector<std::string>& label_names) {
  HEED_CHECK(y_true.size() == y_pred.size(), "classification_report: {} true labels but {} predictions", y_true.size(),
             y_pred.size());
  HEED_CHECK(!label_names.empty(), "classification_report: no label names");
  const auto n = static_cast<int64_t>(label_names.size());
  ClassificationReport r;
  r.total = static_cast<int64_t>(y_true.size());
  r.confusion.assign(label_names.size(), std::vector<int64_t>(label_names.size(), 0));
  int64_t correct = 0;
  for (size_t i = 0; i < y_true.size(); ++i) {
    HEED_CHECK(y_true[i] >= 0 && y_true[i] < n && y_pred[i] >= 0 && y_pred[i] < n,
               "classification_report: label out of range [0, {}) at example {}: true {}, predicted {}", n, i,
               y_true[i], y_pred[i]);
    ++r.confusion[y_true[i]][y_pred[i]];
    correct += y_true[i] == y_pred[i];
  }
  r.accuracy = ratio(correct, r.total);
  r.macro_avg.name = "macro avg";
  r.weighted_avg.name = "weighted avg";
  for (int64_t c = 0; c < n; ++c) {
    int64_t tp = r.confusion[c][c], predicted = 0, support = 0;
    for (int64_t k = 0; k < n; ++k) {
      predicted += r.confusion[k][c];
      support += r.confusion[c][k];
    }
    ClassScores s{label_names[c], ratio(tp, predicted), ratio(tp, support), 0, support};
    s.f1 = f1_of(s.precision, s.recall);
    r.classes.push_back(s);
    r.macro_avg.precision += s.precision / static_cast<double>(n);
    r.macro_avg.recall += s.recall / static_cast<double>(n);
    r.macro_avg.f1 += s.f1 / static_cast<double>(n);
    double w = ratio(support, r.total);
    r.weighted_avg.precision += s.precision * w;
    r.weighted_avg.recall += s.recall * w;
    r.weighted_avg.f1 += s.f1 * w;
  }
  r.macro_avg.support = r.weighted_avg.support = r.total;
  return r;
}

std::string format_report(const ClassificationReport& report, int digits) {
  size_t width = std::string("weighted avg").size();
  for (const auto& c : report.classes) width = std::max(width, c.name.size());
  width = std::max(width, static_cast<size_t>(digits));
  auto row = [&](const ClassScores& s) {
    return fmt::format("{:>{}}  {:>9.{}f} {:>9.{}f} {:>9.{}f} {:>9}\n", s.name, width, s.precision, digits, s.recall,
                       digits, s.f1, digits, s.support);
  };
  std::string out = fmt::format("{:>{}}  {:>9} {:>9} {:>9} {:>9}\n\n", "", width, "precision", "recall", "f1-score",
                                "support");
  for (const auto& c : report.classes) out += row(c);
  out += "\n";
  out += fmt::format("{:>{}}  {:>9} {:>9} {:>9.{}f} {:>9}\n", "accuracy", width, "", "", report.accuracy, digits,
                     report.total);
  out += row(report.macro_avg);
  out += row(report.weighted_avg);
  return out;
}

std::string format_confusion_matrix(const ClassificationReport& report) {
  size_t width = std::string("true \\ predicted").size(), cell = 6;
  for (const auto& c : report.classes) {
    width = std::max(width, c.name.size());
    cell = std::max(cell, c.name.size());
  }
  for (const auto& row : report.confusion)
    for (int64_t v : row) cell = std::max(cell, fmt::format("{}", v).size());
  std::string out = fmt::format("{:>{}}", "true \\ predicted", width);
  for (const auto& c : report.classes) out += fmt::format(" {:>{}}", c.name, cell);
  out += "\n";
  for (size_t i = 0; i < report.classes.size(); ++i) {
    out += fmt::format("{:>{}}", report.classes[i].name, width);
    for (int64_t v : report.confusion[i]) out += fmt::format(" {:>{}}", v, cell);
    out += "\n";
  }
  return out;
}

nlohmann::json report_to_json(const ClassificationReport& report) {
  nlohmann::json classes = nlohmann::json::object(), labels = nlohmann::json::array();
  for (const auto& c : report.classes) {
    classes[c.name] = scores_json(c);
    labels.push_back(c.name);
  }
  return {{"classes", classes},
          {"accuracy", report.accuracy},
          {"macro avg", scores_json(report.macro_avg)},
          {"weighted avg", scores_json(report.weighted_avg)},
          {"confusion_matrix", {{"labels", labels}, {"matrix", report.confusion}}},
          {"total", report.total}};
}

}  // namespace heed::apps
