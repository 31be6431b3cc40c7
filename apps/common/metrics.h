// Classification metrics in the layout of scikit-learn's classification_report: per-class
// precision, recall, F1 and support; accuracy; macro and weighted averages; the confusion
// matrix. As scikit-learn (zero_division=0): a class never predicted has precision 0, a class
// with no true examples has recall 0, and F1 is 0 when precision + recall is 0.
//   precision_c = TP_c / (TP_c + FP_c),  recall_c = TP_c / (TP_c + FN_c),
//   F1_c = 2·precision·recall / (precision + recall)
//   macro avg = unweighted mean over classes, weighted avg = mean weighted by support
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace heed::apps {

struct ClassScores {
  std::string name;
  double precision = 0, recall = 0, f1 = 0;
  int64_t support = 0;
};

struct ClassificationReport {
  std::vector<ClassScores> classes;            // one per label name, in label order
  double accuracy = 0;
  ClassScores macro_avg, weighted_avg;         // names "macro avg" and "weighted avg"
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted] counts
  int64_t total = 0;                           // number of examples
};

// Labels are indices into label_names; throws heed::Error on a label out of range, on sizes
// that differ, or on fewer than one class.
ClassificationReport classification_report(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred,
                                           const std::vector<std::string>& label_names);

// The text table of sklearn.metrics.classification_report(digits=digits).
std::string format_report(const ClassificationReport& report, int digits = 4);
// Rows: true label, columns: predicted label, with a header row of label names.
std::string format_confusion_matrix(const ClassificationReport& report);
// {"classes": {name: {precision, recall, f1-score, support}}, "accuracy", "macro avg",
//  "weighted avg", "confusion_matrix": {"labels": [...], "matrix": [[...]]}, "total"}
nlohmann::json report_to_json(const ClassificationReport& report);

}  // namespace heed::apps
