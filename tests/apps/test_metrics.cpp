// apps/common/metrics: hand-computed reports, including a class that is never predicted.
#include <doctest/doctest.h>

#include "apps/common/metrics.h"
#include "tensor/error.h"

using namespace heed;

TEST_CASE("classification report matches hand-computed precision, recall and F1") {
  // true:      0 0 0 1 1 2
  // predicted: 0 0 1 1 1 1   -> class 2 is never predicted
  auto r = apps::classification_report({0, 0, 0, 1, 1, 2}, {0, 0, 1, 1, 1, 1}, {"a", "b", "c"});
  REQUIRE(r.classes.size() == 3);
  // a: TP 2, FP 0, FN 1 -> P 1, R 2/3, F1 0.8
  CHECK(r.classes[0].precision == doctest::Approx(1.0));
  CHECK(r.classes[0].recall == doctest::Approx(2.0 / 3));
  CHECK(r.classes[0].f1 == doctest::Approx(0.8));
  CHECK(r.classes[0].support == 3);
  // b: TP 2, FP 2, FN 0 -> P 0.5, R 1, F1 2/3
  CHECK(r.classes[1].precision == doctest::Approx(0.5));
  CHECK(r.classes[1].recall == doctest::Approx(1.0));
  CHECK(r.classes[1].f1 == doctest::Approx(2.0 / 3));
  // c: never predicted -> precision 0 (zero_division=0), recall 0, F1 0
  CHECK(r.classes[2].precision == 0.0);
  CHECK(r.classes[2].recall == 0.0);
  CHECK(r.classes[2].f1 == 0.0);
  CHECK(r.classes[2].support == 1);
  CHECK(r.accuracy == doctest::Approx(4.0 / 6));
  CHECK(r.macro_avg.precision == doctest::Approx(0.5));
  CHECK(r.macro_avg.recall == doctest::Approx((2.0 / 3 + 1.0) / 3));
  CHECK(r.macro_avg.f1 == doctest::Approx((0.8 + 2.0 / 3) / 3));
  CHECK(r.weighted_avg.precision == doctest::Approx((3 * 1.0 + 2 * 0.5) / 6));
  CHECK(r.weighted_avg.recall == doctest::Approx((3 * 2.0 / 3 + 2 * 1.0) / 6));
  CHECK(r.weighted_avg.f1 == doctest::Approx((3 * 0.8 + 2 * 2.0 / 3) / 6));
  CHECK(r.weighted_avg.support == 6);
  CHECK(r.confusion == std::vector<std::vector<int64_t>>{{2, 1, 0}, {0, 2, 0}, {0, 1, 0}});
}

TEST_CASE("classification report text has scikit-learn's layout") {
  auto r = apps::classification_report({0, 1, 1, 0}, {0, 1, 0, 0}, {"ham", "spam"});
  std::string text = apps::format_report(r, 2);
  // scikit-learn 1.x: classification_report([0,1,1,0], [0,1,0,0], target_names=["ham","spam"])
  std::string expected =
      "              precision    recall  f1-score   support\n\n"
      "         ham       0.67      1.00      0.80         2\n"
      "        spam       1.00      0.50      0.67         2\n\n"
      "    accuracy                           0.75         4\n"
      "   macro avg       0.83      0.75      0.73         4\n"
      "weighted avg       0.83      0.75      0.73         4\n";
  CHECK(text == expected);
  std::string matrix = apps::format_confusion_matrix(r);
  CHECK(matrix.find("ham") != std::string::npos);
  CHECK(matrix.find("     2      0") != std::string::npos);  // ham row: 2 right, 0 wrong
}

TEST_CASE("classification report JSON holds every figure") {
  auto r = apps::classification_report({0, 1, 1}, {0, 1, 0}, {"x", "y"});
  auto j = apps::report_to_json(r);
  CHECK(j["accuracy"].get<double>() == doctest::Approx(2.0 / 3));
  CHECK(j["classes"]["x"]["precision"].get<double>() == doctest::Approx(0.5));
  CHECK(j["classes"]["y"]["recall"].get<double>() == doctest::Approx(0.5));
  CHECK(j["classes"]["y"]["support"].get<int64_t>() == 2);
  CHECK(j["macro avg"]["f1-score"].get<double>() == doctest::Approx((0.5 * 2 / 1.5 + 2 * 0.5 / 1.5) / 2));
  CHECK(j["confusion_matrix"]["matrix"][1][0].get<int64_t>() == 1);
  CHECK(j["confusion_matrix"]["labels"][1].get<std::string>() == "y");
}

TEST_CASE("classification report rejects bad input") {
  CHECK_THROWS_AS(apps::classification_report({0, 1}, {0}, {"a", "b"}), Error);
  CHECK_THROWS_AS(apps::classification_report({0, 2}, {0, 1}, {"a", "b"}), Error);
  CHECK_THROWS_AS(apps::classification_report({0}, {-1}, {"a", "b"}), Error);
  CHECK_THROWS_AS(apps::classification_report({}, {}, {}), Error);
}
