// libFuzzer target for the text readers: clean_email and the other cleaners, sanitize_utf8, and
// the CSV/TSV and JSON Lines corpus parsers, and BIDS events.tsv. Any input must end in valid UTF-8 text or a
// heed::Error: never a crash, a hang, another exception, or invalid UTF-8 in the output.
// Build and run with scripts/fuzz.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "datasets/eeg_io.h"
#include "datasets/text_clean.h"
#include "datasets/text_corpus.h"
#include "tensor/error.h"

namespace {
using namespace heed::data;

// Valid UTF-8 is exactly what sanitize_utf8 leaves unchanged.
void require_utf8(const std::string& text) {
  if (sanitize_utf8(text) != text) std::abort();
}

void require_consistent(const TextCorpus& corpus) {
  const size_t n = corpus.texts.size();
  if (n == 0 || corpus.labels.size() != n || corpus.sources.size() != n) std::abort();
  for (size_t i = 0; i < n; ++i) {
    if (corpus.labels[i] < 0 || static_cast<size_t>(corpus.labels[i]) >= corpus.label_names.size()) std::abort();
    require_utf8(corpus.texts[i]);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  require_utf8(sanitize_utf8(bytes));
  require_utf8(clean_email(bytes));
  require_utf8(strip_html(sanitize_utf8(bytes)));
  require_utf8(latin1_to_utf8(bytes, size % 2 == 0));
  (void)decode_quoted_printable(bytes);
  (void)decode_base64(bytes);
  for (char delimiter : {',', '\t'}) {
    try {
      require_consistent(parse_text_csv(bytes, {}, delimiter, "fuzz.csv"));
    } catch (const heed::Error&) {
    }
  }
  try {
    require_consistent(parse_text_jsonl(bytes, {}, "fuzz.jsonl"));
  } catch (const heed::Error&) {
  }
  try {
    for (const auto& event : heed::eeg::parse_events_tsv(std::string(bytes)))
      if (!(event.duration >= 0)) std::abort();
  } catch (const heed::Error&) {
  }
  return 0;
}
