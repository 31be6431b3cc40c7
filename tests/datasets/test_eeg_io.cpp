// heed::eeg against MNE (tests/fixtures/eeg_files.json, written by scripts/make_eeg_fixtures.py
// from the small files in tests/fixtures/eeg/ and, when fetched, the real files of
// scripts/fetch-eeg-data), write_edf round trips, events.tsv parsing, and errors on bad files.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "datasets/eeg_io.h"
#include "tensor/error.h"

using namespace heed;
using namespace heed::eeg;
namespace fs = std::filesystem;

namespace {

const nlohmann::json& fixtures() {
  static const nlohmann::json j = [] {
    std::ifstream in(std::string(HEED_FIXTURES_DIR) + "/eeg_files.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}

fs::path temp_dir() {
  fs::path dir = fs::temp_directory_path() / fmt::format("heed-eeg-test-{}", ::getpid());
  fs::create_directories(dir);
  return dir;
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Checks one recording against MNE's values: rate, channels, units, length, two slices of
// samples per channel within `steps` digital steps, annotations.
void check_against_mne(const Recording& r, const nlohmann::json& ref, double steps) {
  const std::string file = ref["file"];
  INFO(file);
  CHECK(r.sample_rate == doctest::Approx(ref["sample_rate"].get<double>()).epsilon(1e-9));
  CHECK(r.num_samples() == ref["n_samples"].get<int64_t>());
  REQUIRE(r.channels.size() == ref["channels"].size());
  for (size_t c = 0; c < r.channels.size(); ++c) {
    const auto& ch = ref["channels"][c];
    CHECK(r.channels[c] == ch["label"].get<std::string>());
    CHECK(r.units[c] == ch["unit"].get<std::string>());
    const double tol = steps * ch["step"].get<double>();
    const auto first = ch["first"].get<std::vector<double>>(), middle = ch["middle"].get<std::vector<double>>();
    const size_t mid = static_cast<size_t>(r.num_samples() / 2);
    double worst = 0;
    for (size_t i = 0; i < first.size(); ++i) worst = std::max(worst, std::abs(r.data[c][i] - first[i]));
    for (size_t i = 0; i < middle.size(); ++i) worst = std::max(worst, std::abs(r.data[c][mid + i] - middle[i]));
    CHECK_MESSAGE(worst <= tol, fmt::format("channel {}: off by {} (tolerance {})", r.channels[c], worst, tol));
  }
  const auto& annotations = ref["annotations"];
  REQUIRE(r.annotations.size() >= annotations.size());
  for (size_t i = 0; i < annotations.size(); ++i) {
    CHECK(r.annotations[i].onset == doctest::Approx(annotations[i]["onset"].get<double>()).epsilon(1e-9));
    CHECK(r.annotations[i].duration == doctest::Approx(annotations[i]["duration"].get<double>()).epsilon(1e-9));
    CHECK(r.annotations[i].label == annotations[i]["label"].get<std::string>());
  }
}

std::string small(const std::string& name) { return std::string(HEED_FIXTURES_DIR) + "/" + name; }

const nlohmann::json& small_ref(const std::string& name) {
  for (const auto& c : fixtures()["small"])
    if (c["file"] == name) return c;
  FAIL("no fixture " << name);
  return fixtures();
}

fs::path real_data_dir() {
  if (const char* env = std::getenv("HEED_EEG_DATA")) return env;
  return fs::path(HEED_FIXTURES_DIR).parent_path().parent_path() / "data" / "eeg";
}

}  // namespace

TEST_CASE("eeg: small EDF, EDF+ and BDF files match MNE") {
  for (const auto& ref : fixtures()["small"]) {
    const Recording r = read_recording(small(ref["file"].get<std::string>()));
    // Same-rate channels hold the file's values; two_rates.edf's 96 Hz channel is compared with
    // scipy's resample_poly of its samples (rounding only).
    check_against_mne(r, ref, 1e-6);
  }
}

TEST_CASE("eeg: EDF+ annotations, EDF+D gap and channel selection") {
  const Recording ann = read_recording(small("eeg/annotations.edf"));
  CHECK_FALSE(ann.discontinuous);
  CHECK(small_ref("eeg/annotations.edf")["annotations"].size() == ann.annotations.size());

  const Recording d = read_recording(small("eeg/discontinuous.edf"));
  CHECK(d.discontinuous);
  CHECK(d.num_samples() == small_ref("eeg/discontinuous.edf")["n_samples"].get<int64_t>());
  // MNE drops the annotation after the gap (past the concatenated samples' end); heed keeps it.
  REQUIRE(d.annotations.size() == 1);
  CHECK(d.annotations[0].label == "after gap");
  CHECK(d.annotations[0].onset > d.duration_seconds());

  const Recording picked = read_recording(small("eeg/two_rates.edf"), {.channels = {"cz"}, .sample_rate = 0});
  REQUIRE(picked.channels.size() == 1);
  CHECK(picked.channels[0] == "Cz");
  CHECK(picked.sample_rate == 96.0);  // the highest rate among the kept channels
  const Recording down = read_recording(small("eeg/two_rates.edf"), {.channels = {}, .sample_rate = 64});
  CHECK(down.sample_rate == 64.0);
  CHECK(down.num_samples() == 256);
  CHECK(down.channel_index("FZ") == 0);
  CHECK_THROWS_AS(down.channel_index("Pz"), Error);
  CHECK_THROWS_WITH_AS(read_recording(small("eeg/two_rates.edf"), {.channels = {"Pz"}, .sample_rate = 0}),
                       doctest::Contains("Fz, Cz"), Error);
  CHECK_THROWS_WITH_AS(read_recording(small("eeg/two_rates.edf"), {.channels = {}, .sample_rate = 100 * std::sqrt(2.0)}),
                       doctest::Contains("128 Hz"), Error);
}

TEST_CASE("eeg: write_edf then read_recording keeps samples within one digital step and annotations") {
  const fs::path dir = temp_dir();
  for (double rate : {200.0, 0.5 * 125}) {
    Recording r;
    r.channels = {"Fp1", "ECG"};
    r.units = {"uV", "mV"};
    r.sample_rate = rate;
    r.patient = "Jane Doe";
    const int n = static_cast<int>(rate * 3);
    for (int c = 0; c < 2; ++c) {
      std::vector<double> x(n);
      for (int i = 0; i < n; ++i) x[i] = (c ? 1.7 : 80.0) * std::sin(0.05 * i * (c + 1)) + (c ? -0.3 : 12.5);
      r.data.push_back(x);
    }
    r.annotations = {{0.25, 0.5, "left"}, {1.5, 0, "right hand"}, {2.0, 1.0, "rest"}};
    const fs::path path = dir / "roundtrip.edf";
    write_edf(path, r);
    const Recording back = read_recording(path);
    INFO("rate " << rate);
    CHECK(back.channels == r.channels);
    CHECK(back.units == r.units);
    CHECK(back.patient == r.patient);
    CHECK(back.sample_rate == doctest::Approx(rate).epsilon(1e-12));
    REQUIRE(back.num_samples() >= n);
    for (int c = 0; c < 2; ++c) {
      auto [lo, hi] = std::minmax_element(r.data[c].begin(), r.data[c].end());
      const double step = (*hi - *lo) * 1.01 / 65535;
      double worst = 0;
      for (int i = 0; i < n; ++i) worst = std::max(worst, std::abs(back.data[c][i] - r.data[c][i]));
      CHECK_MESSAGE(worst <= step, fmt::format("channel {}: off by {} (one step {})", c, worst, step));
    }
    REQUIRE(back.annotations.size() == r.annotations.size());
    for (size_t i = 0; i < r.annotations.size(); ++i) {
      CHECK(back.annotations[i].onset == doctest::Approx(r.annotations[i].onset));
      CHECK(back.annotations[i].duration == doctest::Approx(r.annotations[i].duration));
      CHECK(back.annotations[i].label == r.annotations[i].label);
    }
  }
  Recording bad;
  bad.channels = {"A"};
  bad.sample_rate = 100;
  bad.data = {{1.0, NAN}};
  CHECK_THROWS_AS(write_edf(dir / "bad.edf", bad), Error);
  bad.data = {{1.0, 2.0}, {3.0}};
  CHECK_THROWS_AS(write_edf(dir / "bad.edf", bad), Error);
  fs::remove_all(dir);
}

TEST_CASE("eeg: events.tsv parses BIDS columns and round trips") {
  const auto events = parse_events_tsv(
      "\xef\xbb\xbfonset\tduration\tsample\ttrial_type\r\n1.5\t0.5\t384\tleft\r\n3\tn/a\t768\tright\r\n\r\n");
  REQUIRE(events.size() == 2);
  CHECK(events[0].onset == 1.5);
  CHECK(events[0].duration == 0.5);
  CHECK(events[0].label == "left");
  CHECK(events[1].duration == 0);
  CHECK(events[1].label == "right");
  const auto by_value = parse_events_tsv("value\tonset\tduration\n769\t2.25\t1\n");
  REQUIRE(by_value.size() == 1);
  CHECK(by_value[0].label == "769");
  CHECK(by_value[0].onset == 2.25);

  const fs::path dir = temp_dir();
  std::vector<Annotation> original{{0.1, 0.25, "left"}, {12.000001, 0, "right"}, {3.5, 1.25, ""}};
  write_events_tsv(dir / "events.tsv", original);
  const auto back = read_events_tsv(dir / "events.tsv");
  REQUIRE(back.size() == original.size());
  for (size_t i = 0; i < back.size(); ++i) {
    CHECK(back[i].onset == original[i].onset);
    CHECK(back[i].duration == original[i].duration);
    CHECK(back[i].label == original[i].label);
  }
  fs::remove_all(dir);
}

TEST_CASE("eeg: bad events.tsv inputs name the line") {
  CHECK_THROWS_WITH_AS(parse_events_tsv("onset\ttrial_type\n1\tleft\n"), doctest::Contains("line 1"), Error);
  CHECK_THROWS_WITH_AS(parse_events_tsv("onset\tduration\nabc\t1\n"), doctest::Contains("line 2"), Error);
  CHECK_THROWS_WITH_AS(parse_events_tsv("onset\tduration\n1\t1\n2\t-1\n"), doctest::Contains("line 3"), Error);
  CHECK_THROWS_WITH_AS(parse_events_tsv("onset\tduration\n1\t1\textra\n"), doctest::Contains("line 2"), Error);
  CHECK_THROWS_WITH_AS(parse_events_tsv("onset\tduration\n1\n"), doctest::Contains("fields"), Error);
  CHECK_THROWS_AS(parse_events_tsv(""), Error);
  CHECK_THROWS_AS(read_events_tsv("/nonexistent/events.tsv"), Error);
}

TEST_CASE("eeg: bad EDF inputs give errors") {
  const fs::path dir = temp_dir();
  CHECK_THROWS_WITH_AS(read_recording(dir / "missing.edf"), doctest::Contains("no such file"), Error);
  write_bytes(dir / "empty.edf", "");
  CHECK_THROWS_WITH_AS(read_recording(dir / "empty.edf"), doctest::Contains("empty"), Error);
  const std::string good = read_bytes(small("eeg/annotations.edf"));
  write_bytes(dir / "short_header.edf", good.substr(0, 300));
  CHECK_THROWS_WITH_AS(read_recording(dir / "short_header.edf"), doctest::Contains("truncated header"), Error);
  write_bytes(dir / "truncated.edf", good.substr(0, good.size() - 100));
  CHECK_THROWS_WITH_AS(read_recording(dir / "truncated.edf"), doctest::Contains("truncated"), Error);
  std::string huge = good;
  huge.replace(236, 8, "99999999");  // data records
  write_bytes(dir / "huge_records.edf", huge);
  CHECK_THROWS_WITH_AS(read_recording(dir / "huge_records.edf"), doctest::Contains("promises"), Error);
  huge = good;
  huge.replace(252, 4, "9999");  // signals
  write_bytes(dir / "huge_signals.edf", huge);
  CHECK_THROWS_WITH_AS(read_recording(dir / "huge_signals.edf"), doctest::Contains("too many signals"), Error);
  write_bytes(dir / "text.edf", std::string(400, 'x') + "\nnot an EDF file at all\n");
  CHECK_THROWS_WITH_AS(read_recording(dir / "text.edf"), doctest::Contains("not an EDF or BDF file"), Error);
  std::string broken = good;
  broken.replace(256 + 104 * 3, 8, "500     ");  // signal 0's physical minimum = its maximum: EDFlib refuses it
  write_bytes(dir / "format.edf", broken);
  CHECK_THROWS_AS(read_recording(dir / "format.edf"), Error);
  fs::remove_all(dir);
}

TEST_CASE("eeg: real recordings match MNE when fetched") {
  const fs::path root = real_data_dir();
  if (!fs::exists(root)) {
    MESSAGE("no real EEG files at " << root.string() << " (run scripts/fetch-eeg-data or set HEED_EEG_DATA); skipped");
    return;
  }
  const auto& real = fixtures()["real"];
  CHECK(real.size() == 4);
  for (const auto& ref : real) {
    const fs::path path = root / ref["file"].get<std::string>();
    REQUIRE_MESSAGE(fs::exists(path), path.string() << " is missing: rerun scripts/fetch-eeg-data");
    check_against_mne(read_recording(path), ref, 1.0);
  }
  const auto events = read_events_tsv(root / "motor-imagery" / "events.tsv");
  CHECK(events.size() == 40);
  int left = 0, right = 0;
  for (const auto& e : events) {
    left += e.label == "left";
    right += e.label == "right";
  }
  CHECK(left + right == 40);
  CHECK(left > 0);
  CHECK(right > 0);
  const Recording mi = read_recording(root / "motor-imagery" / "sample.edf");
  CHECK(events.back().onset < mi.duration_seconds());
}
