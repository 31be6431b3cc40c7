// EDF/BDF reading and EDF+ writing through EDFlib, and BIDS events.tsv files.
//
// heed reads the header itself first, to check every size against the file's size before EDFlib
// or heed allocates anything, and to name what is wrong. EDFlib 1.23 is stricter than the
// specification's common practice (and than MNE); three deviations found in real files are
// repaired in a memory copy of the file that EDFlib then reads:
//  - an EDF+/BDF+ header without an annotation signal (biosig's save2gdf writes those): read as
//    plain EDF/BDF;
//  - an annotation signal whose transducer, unit or prefilter field is not blank (PhysioNet's
//    BCI2000 files): the fields are blanked;
//  - EDF+D/BDF+D, which EDFlib refuses: read as plain EDF/BDF, and heed parses the annotation
//    signal's time-stamped annotation lists (TALs) itself.
#include "datasets/eeg_io.h"

#include <edflib.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <numeric>
#include <sstream>

#include "datasets/signal.h"
#include "tensor/error.h"

namespace heed::eeg {
namespace {

std::mutex edflib_mutex;  // edfopen_file_readonly / edfclose_file are not thread-safe

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Printable form of header bytes for error messages.
std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out += (c >= 32 && c < 127) ? std::string(1, static_cast<char>(c)) : fmt::format("\\x{:02x}", c);
  return out;
}

bool parse_double(std::string_view text, double& value) {
  std::string s = trim(text);
  if (!s.empty() && s[0] == '+') s.erase(0, 1);
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size() && std::isfinite(value);
}

bool is_annotation_label(const std::string& label) { return label == "EDF Annotations" || label == "BDF Annotations"; }

// The parts of the header heed checks and repairs. Field offsets are the EDF specification's.
struct Header {
  std::string bytes;  // the whole header, 256 * (signals + 1) bytes
  bool bdf = false;
  int signals = 0;
  int64_t records = 0;
  int64_t record_bytes = 0;
  std::vector<std::string> labels;

  std::string field(int64_t offset, int64_t width) const { return bytes.substr(offset, width); }
  // Offset of signal i's field that starts at `column` (in the signal header's 256-byte layout).
  int64_t signal_field(int column, int width, int i) const { return 256 + int64_t{column} * signals + int64_t{i} * width; }
  std::string reserved() const { return trim(field(192, 44)); }
};

Header read_header(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  HEED_CHECK(std::filesystem::exists(path, ec), "read_recording: {}: no such file", name);
  HEED_CHECK(std::filesystem::is_regular_file(path, ec), "read_recording: {}: not a regular file", name);
  const int64_t size = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  HEED_CHECK(!ec, "read_recording: {}: cannot read its size ({})", name, ec.message());
  HEED_CHECK(size > 0, "read_recording: {}: the file is empty", name);
  HEED_CHECK(size >= 256, "read_recording: {}: truncated header: {} bytes, an EDF/BDF header has at least 256",
             name, size);
  std::ifstream in(path, std::ios::binary);
  HEED_CHECK(in, "read_recording: {}: cannot open it", name);
  Header h;
  h.bytes.resize(256);
  in.read(h.bytes.data(), 256);
  const std::string version = h.field(0, 8);
  h.bdf = version == "\xff" "BIOSEMI";
  HEED_CHECK(h.bdf || version == "0       ",
             "read_recording: {}: not an EDF or BDF file (it starts with \"{}\", not \"0\" or \"\\xffBIOSEMI\")", name,
             printable(version));
  double number = 0;
  HEED_CHECK(parse_double(h.field(252, 4), number) && number == std::floor(number),
             "read_recording: {}: the number of signals \"{}\" is not a whole number", name, printable(h.field(252, 4)));
  HEED_CHECK(number >= 1, "read_recording: {}: the header lists no signals", name);
  HEED_CHECK(number <= EDFLIB_MAXSIGNALS, "read_recording: {}: too many signals: {} (EDFlib reads at most {})", name,
             number, EDFLIB_MAXSIGNALS);
  h.signals = static_cast<int>(number);
  const int64_t header_bytes = 256 * (int64_t{h.signals} + 1);
  HEED_CHECK(size >= header_bytes, "read_recording: {}: truncated header: {} signals need {} header bytes, the file has {}",
             name, h.signals, header_bytes, size);
  h.bytes.resize(header_bytes);
  in.read(h.bytes.data() + 256, header_bytes - 256);
  HEED_CHECK(in, "read_recording: {}: cannot read its header", name);
  HEED_CHECK(parse_double(h.field(236, 8), number) && number == std::floor(number),
             "read_recording: {}: the number of data records \"{}\" is not a whole number", name,
             printable(h.field(236, 8)));
  HEED_CHECK(number != -1, "read_recording: {}: the number of data records is -1 (a recording that was never closed)",
             name);
  HEED_CHECK(number >= 1, "read_recording: {}: the header lists {} data records", name, number);
  h.records = static_cast<int64_t>(number);
  const int bytes_per_sample = h.bdf ? 3 : 2;
  for (int i = 0; i < h.signals; ++i) {
    h.labels.push_back(trim(h.field(h.signal_field(0, 16, i), 16)));
    const std::string spr = h.field(h.signal_field(216, 8, i), 8);
    HEED_CHECK(parse_double(spr, number) && number == std::floor(number) && number >= 1 && number <= 1e8,
               "read_recording: {}: signal {} (\"{}\") has \"{}\" samples per data record", name, i,
               printable(h.labels.back()), printable(spr));
    h.record_bytes += static_cast<int64_t>(number) * bytes_per_sample;
  }
  const int64_t data_bytes = size - header_bytes;
  HEED_CHECK(h.records <= data_bytes / h.record_bytes,
             "read_recording: {}: truncated: the header promises {} data records of {} bytes, the file holds {} bytes "
             "of data ({} whole records)",
             name, h.records, h.record_bytes, data_bytes, data_bytes / h.record_bytes);
  return h;
}

// Repairs the deviations listed at the top of this file; true when the header changed.
bool repair(Header& h) {
  const std::string reserved = h.reserved();
  const bool plus = reserved.rfind(h.bdf ? "BDF+" : "EDF+", 0) == 0;
  const bool discontinuous = plus && reserved.size() >= 5 && reserved[4] == 'D';
  bool any_annotation = false, changed = false;
  auto blank = [&](int64_t offset, int64_t width) {
    if (h.bytes.compare(offset, width, std::string(width, ' ')) != 0) {
      h.bytes.replace(offset, width, std::string(width, ' '));
      changed = true;
    }
  };
  for (int i = 0; i < h.signals; ++i) {
    if (!is_annotation_label(h.labels[i])) continue;
    any_annotation = true;
    blank(h.signal_field(16, 80, i), 80);   // transducer
    blank(h.signal_field(96, 8, i), 8);     // physical dimension
    blank(h.signal_field(136, 80, i), 80);  // prefilter
  }
  if (plus && (!any_annotation || discontinuous)) blank(192, 44);
  return changed;
}

// The repaired header followed by the original data, in a memory file EDFlib can open by path.
struct MemoryCopy {
  int fd = -1;
  ~MemoryCopy() {
    if (fd >= 0) close(fd);
  }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd); }
};

void copy_with_header(const std::filesystem::path& path, const Header& h, MemoryCopy& copy) {
  const std::string name = path.string();
  copy.fd = memfd_create("heed-edf", MFD_CLOEXEC);
  HEED_CHECK(copy.fd >= 0, "read_recording: {}: cannot create a memory copy to repair its header", name);
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(h.bytes.size()));
  auto write_all = [&](const char* data, size_t n) {
    while (n > 0) {
      ssize_t w = write(copy.fd, data, n);
      HEED_CHECK(w > 0, "read_recording: {}: writing the memory copy failed", name);
      data += w;
      n -= static_cast<size_t>(w);
    }
  };
  write_all(h.bytes.data(), h.bytes.size());
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    write_all(buffer.data(), static_cast<size_t>(in.gcount()));
  }
}

std::string open_error(int code) {
  switch (code) {
    case EDFLIB_MALLOC_ERROR: return "out of memory";
    case EDFLIB_NO_SUCH_FILE_OR_DIRECTORY: return "no such file, or it cannot be opened";
    case EDFLIB_FILE_CONTAINS_FORMAT_ERRORS:
      return "the header breaks the EDF/BDF specification (EDFbrowser's header check names the field)";
    case EDFLIB_MAXFILES_REACHED: return "EDFlib has too many files open";
    case EDFLIB_FILE_READ_ERROR: return "read error (truncated file?)";
    case EDFLIB_FILE_ALREADY_OPENED: return "the file is already open in EDFlib";
    case EDFLIB_FILETYPE_ERROR: return "not an EDF or BDF file";
    case EDFLIB_FILE_WRITE_ERROR: return "write error";
    case EDFLIB_NUMBER_OF_SIGNALS_INVALID: return fmt::format("too many or no signals (EDFlib handles 1 to {})", EDFLIB_MAXSIGNALS);
    case EDFLIB_FILE_IS_DISCONTINUOUS: return "discontinuous (EDF+D/BDF+D) files are not supported";
    case EDFLIB_NO_SIGNALS: return "no signals";
    case EDFLIB_TOO_MANY_SIGNALS: return "too many signals";
    case EDFLIB_NO_SAMPLES_IN_RECORD: return "a signal has no samples per data record";
    case EDFLIB_DIGMIN_IS_DIGMAX: return "a signal's digital minimum equals its maximum";
    case EDFLIB_DIGMAX_LOWER_THAN_DIGMIN: return "a signal's digital maximum is below its minimum";
    case EDFLIB_PHYSMIN_IS_PHYSMAX: return "a signal's physical minimum equals its maximum (a constant channel?)";
    case EDFLIB_DATARECORD_SIZE_TOO_BIG: return "a data record is too big (over 10 MB for EDF, 15 MB for BDF)";
    default: return fmt::format("EDFlib error {}", code);
  }
}

struct EdfHandle {
  int handle = -1;
  ~EdfHandle() {
    if (handle >= 0) {
      std::lock_guard lock(edflib_mutex);
      edfclose_file(handle);
    }
  }
};

// Time-stamped annotation lists of one data record (EDF+ section 2.2.4): "+onset[\x15duration]\x14
// text\x14text\x14...\x00". Empty texts (the record's time stamp) are not annotations.
void parse_tals(std::string_view record, const std::string& name, std::vector<Annotation>& out) {
  while (!record.empty()) {
    const size_t end = std::min(record.find('\0'), record.size());
    std::string_view tal = record.substr(0, end);
    record.remove_prefix(std::min(end + 1, record.size()));
    if (tal.empty()) continue;
    const size_t first = tal.find('\x14');
    HEED_CHECK(first != std::string_view::npos, "read_recording: {}: annotation list \"{}\" has no onset separator",
               name, printable(tal));
    std::string_view timing = tal.substr(0, first);
    const size_t dur_at = timing.find('\x15');
    double onset = 0, duration = 0;
    HEED_CHECK(parse_double(timing.substr(0, dur_at), onset), "read_recording: {}: bad annotation onset \"{}\"", name,
               printable(timing.substr(0, dur_at)));
    if (dur_at != std::string_view::npos)
      HEED_CHECK(parse_double(timing.substr(dur_at + 1), duration) && duration >= 0,
                 "read_recording: {}: bad annotation duration \"{}\"", name, printable(timing.substr(dur_at + 1)));
    std::string_view texts = tal.substr(first + 1);
    while (!texts.empty()) {
      const size_t sep = std::min(texts.find('\x14'), texts.size());
      if (sep > 0) out.push_back({onset, duration, std::string(texts.substr(0, sep))});
      texts.remove_prefix(std::min(sep + 1, texts.size()));
    }
  }
}

// up / down with target_rate / rate = up / down, both reduced and at most 1000.
std::pair<int, int> resample_ratio(double target_rate, double rate, const std::string& label) {
  const double ratio = target_rate / rate;
  for (int down = 1; down <= 1000; ++down) {
    const double up = std::round(ratio * down);
    if (up >= 1 && up <= 1000 && std::abs(ratio * down - up) <= 1e-9 * ratio * down) {
      const int g = std::gcd(static_cast<int>(up), down);
      return {static_cast<int>(up) / g, down / g};
    }
  }
  HEED_FAIL("read_recording: cannot resample channel '{}' from {} Hz to {} Hz: their ratio is not a ratio of integers "
            "up to 1000",
            label, rate, target_rate);
}

std::string edf_plus_patient_name(const std::string& field) {
  // EDF+: "code sex birthdate name", '_' for spaces inside a subfield, 'X' when unknown.
  std::istringstream words(field);
  std::string part, name;
  for (int i = 0; i < 4 && (words >> part); ++i) name = part;
  if (name == "X") return "";
  std::replace(name.begin(), name.end(), '_', ' ');
  return name;
}

}  // namespace

int Recording::channel_index(const std::string& label) const {
  const std::string wanted = lower(label);
  for (size_t i = 0; i < channels.size(); ++i)
    if (lower(channels[i]) == wanted) return static_cast<int>(i);
  std::string there;
  for (const auto& c : channels) there += (there.empty() ? "" : ", ") + c;
  HEED_FAIL("Recording: no channel '{}' (channels: {})", label, there);
}

Recording read_recording(const std::filesystem::path& path, const ReadOptions& options) {
  const std::string name = path.string();
  Header h = read_header(path);
  const std::string reserved = h.reserved();
  const bool plus = reserved.rfind(h.bdf ? "BDF+" : "EDF+", 0) == 0;
  Recording rec;
  rec.discontinuous = plus && reserved.size() >= 5 && reserved[4] == 'D';
  const std::string patient = trim(h.field(8, 80));
  rec.patient = plus ? edf_plus_patient_name(patient) : patient;

  MemoryCopy copy;
  if (repair(h)) copy_with_header(path, h, copy);
  const std::string open_path = copy.fd >= 0 ? copy.path() : name;
  auto hdr = std::make_unique<edf_hdr_struct>();
  EdfHandle edf;
  {
    std::lock_guard lock(edflib_mutex);
    if (edfopen_file_readonly(open_path.c_str(), hdr.get(), EDFLIB_READ_ALL_ANNOTATIONS) != 0)
      HEED_FAIL("read_recording: {}: {}", name, open_error(hdr->filetype));
    edf.handle = hdr->handle;
  }

  // Signals EDFlib reports; in a repaired EDF+D file the annotation signal is among them.
  std::vector<int> data_signals;
  std::vector<int> annotation_signals;
  for (int i = 0; i < hdr->edfsignals; ++i)
    (is_annotation_label(trim(hdr->signalparam[i].label)) ? annotation_signals : data_signals).push_back(i);
  std::vector<int> kept;
  if (options.channels.empty()) {
    kept = data_signals;
  } else {
    for (const auto& wanted : options.channels) {
      auto it = std::find_if(data_signals.begin(), data_signals.end(),
                             [&](int s) { return lower(trim(hdr->signalparam[s].label)) == lower(wanted); });
      if (it == data_signals.end()) {
        std::string there;
        for (int s : data_signals) there += (there.empty() ? "" : ", ") + trim(hdr->signalparam[s].label);
        HEED_FAIL("read_recording: {}: no channel '{}' (channels: {})", name, wanted, there);
      }
      kept.push_back(*it);
    }
  }
  HEED_CHECK(!kept.empty(), "read_recording: {}: no data signals, only annotations", name);
  HEED_CHECK(hdr->datarecord_duration > 0, "read_recording: {}: the data record duration is not positive", name);
  const double record_seconds = static_cast<double>(hdr->datarecord_duration) / EDFLIB_TIME_DIMENSION;
  auto rate_of = [&](int s) { return hdr->signalparam[s].smp_in_datarecord / record_seconds; };

  const int top = *std::max_element(  // the signal with the most samples per record
kept.begin(), kept.end(), [&](int a, int b) {
    return hdr->signalparam[a].smp_in_datarecord < hdr->signalparam[b].smp_in_datarecord;
  });
  if (options.sample_rate != 0)
    HEED_CHECK(std::isfinite(options.sample_rate) && options.sample_rate > 0,
               "read_recording: the sample rate to resample to must be positive, got {}", options.sample_rate);
  rec.sample_rate = options.sample_rate != 0 ? options.sample_rate : rate_of(top);

  int64_t length = -1;
  for (int s : kept) {
    const edf_param_struct& p = hdr->signalparam[s];
    const std::string label = trim(p.label);
    // smp_in_file = records * samples per record, both checked against the file size above.
    std::vector<double> x(static_cast<size_t>(p.smp_in_file));
    edfrewind(edf.handle, s);
    for (int64_t at = 0; at < p.smp_in_file;) {
      const int n = static_cast<int>(std::min<int64_t>(p.smp_in_file - at, 1 << 24));
      const int got = edfread_physical_samples(edf.handle, s, n, x.data() + at);
      HEED_CHECK(got == n, "read_recording: {}: reading channel '{}' failed at sample {}", name, label, at);
      at += n;
    }
    int up = 1, down = 1;
    if (options.sample_rate == 0) {
      const int g = std::gcd(hdr->signalparam[top].smp_in_datarecord, p.smp_in_datarecord);
      up = hdr->signalparam[top].smp_in_datarecord / g;
      down = p.smp_in_datarecord / g;
    } else {
      std::tie(up, down) = resample_ratio(rec.sample_rate, rate_of(s), label);
    }
    HEED_CHECK(up <= 64 * down, "read_recording: {}: resampling channel '{}' from {} Hz to {} Hz is an upsampling by "
               "more than 64", name, label, rate_of(s), rec.sample_rate);
    if (up != down) x = signal::resample_poly(x, up, down);
    length = length < 0 ? static_cast<int64_t>(x.size()) : std::min<int64_t>(length, static_cast<int64_t>(x.size()));
    rec.channels.push_back(label);
    rec.units.push_back(trim(p.physdimension));
    rec.data.push_back(std::move(x));
  }
  for (auto& x : rec.data) x.resize(static_cast<size_t>(length));  // ceil(n * up / down) may differ by one

  for (long long i = 0; i < hdr->annotations_in_file; ++i) {
    edf_annotation_struct a{};
    HEED_CHECK(edf_get_annotation(edf.handle, static_cast<int>(i), &a) == 0,
               "read_recording: {}: cannot read annotation {}", name, i);
    const double duration = a.duration_l < 0 ? 0.0 : static_cast<double>(a.duration_l) / EDFLIB_TIME_DIMENSION;
    rec.annotations.push_back({static_cast<double>(a.onset) / EDFLIB_TIME_DIMENSION, duration, trim(a.annotation)});
  }
  const int width = h.bdf ? 3 : 2;
  for (int s : annotation_signals) {  // a repaired EDF+D file: its TALs, record by record
    const edf_param_struct& p = hdr->signalparam[s];
    std::vector<int> digital(static_cast<size_t>(p.smp_in_datarecord));
    edfrewind(edf.handle, s);
    for (int64_t r = 0; r < hdr->datarecords_in_file; ++r) {
      HEED_CHECK(edfread_digital_samples(edf.handle, s, p.smp_in_datarecord, digital.data()) == p.smp_in_datarecord,
                 "read_recording: {}: reading the annotations of data record {} failed", name, r);
      std::string bytes;
      for (int v : digital)
        for (int b = 0; b < width; ++b) bytes += static_cast<char>((static_cast<unsigned>(v) >> (8 * b)) & 0xff);
      parse_tals(bytes, name, rec.annotations);
    }
  }
  std::stable_sort(rec.annotations.begin(), rec.annotations.end(),
                   [](const Annotation& a, const Annotation& b) { return a.onset < b.onset; });
  return rec;
}

namespace {

// The physical extreme v rounded outward to a number that EDF's 8-character field holds exactly.
double edf_physical_limit(double v, bool upward) {
  for (int decimals = 7; decimals >= 0; --decimals) {
    const double scale = std::pow(10.0, decimals);
    const double rounded = (upward ? std::ceil(v * scale) : std::floor(v * scale)) / scale;
    const std::string text = fmt::format("{:.{}f}", rounded, decimals);
    if (text.size() <= 8) return std::stod(text);
  }
  HEED_FAIL("write_edf: the value {} does not fit EDF's 8-character physical minimum/maximum", v);
}

// A data record duration (units of 10 us, 0.001 to 60 s) holding a whole number of samples:
// whole seconds when one of 1 to 60 s does, else the shortest.
int record_duration_10us(double rate) {
  auto whole = [&](int d) {
    const double n = rate * d * 1e-5;
    return n >= 1 && std::abs(n - std::round(n)) <= 1e-9 * n;
  };
  for (int seconds = 1; seconds <= 60; ++seconds)
    if (whole(seconds * 100000)) return seconds * 100000;
  for (int d = 100; d <= 6000000; ++d)
    if (whole(d)) return d;
  HEED_FAIL("write_edf: no data record of 0.001 to 60 s holds a whole number of samples at {} Hz", rate);
}

}  // namespace

void write_edf(const std::filesystem::path& path, const Recording& recording) {
  const std::string name = path.string();
  const auto& r = recording;
  const size_t nc = r.channels.size();
  HEED_CHECK(nc > 0, "write_edf: {}: the recording has no channels", name);
  HEED_CHECK(nc < EDFLIB_MAXSIGNALS, "write_edf: {}: {} channels, EDF+ files written by EDFlib hold at most {}", name,
             nc, EDFLIB_MAXSIGNALS - 1);
  HEED_CHECK(r.data.size() == nc, "write_edf: {}: {} channels but {} data vectors", name, nc, r.data.size());
  HEED_CHECK(r.units.empty() || r.units.size() == nc, "write_edf: {}: {} channels but {} units", name, nc, r.units.size());
  HEED_CHECK(std::isfinite(r.sample_rate) && r.sample_rate > 0, "write_edf: {}: the sample rate must be positive, got {}",
             name, r.sample_rate);
  const size_t n = r.data[0].size();
  HEED_CHECK(n > 0, "write_edf: {}: the channels hold no samples", name);
  for (size_t c = 0; c < nc; ++c) {
    HEED_CHECK(r.data[c].size() == n, "write_edf: {}: channel '{}' has {} samples, channel '{}' {}", name,
               r.channels[c], r.data[c].size(), r.channels[0], n);
    HEED_CHECK(r.channels[c].size() <= 16, "write_edf: {}: label '{}' is longer than EDF's 16 characters", name,
               r.channels[c]);
    HEED_CHECK(r.units.empty() || r.units[c].size() <= 8, "write_edf: {}: unit '{}' is longer than EDF's 8 characters",
               name, r.units[c]);
  }
  for (const auto& a : r.annotations)
    HEED_CHECK(std::isfinite(a.onset) && a.onset >= 0 && std::isfinite(a.duration) && a.duration >= 0,
               "write_edf: {}: annotation '{}' has onset {} and duration {}; both must be finite and non-negative",
               name, a.label, a.onset, a.duration);

  const int duration = record_duration_10us(r.sample_rate);
  const int spr = static_cast<int>(std::llround(r.sample_rate * duration * 1e-5));
  const int64_t records = (static_cast<int64_t>(n) + spr - 1) / spr;
  std::error_code ec;
  std::filesystem::remove(path, ec);  // EDFlib refuses nothing, but a stale file must not survive a failure
  EdfHandle edf;
  {
    std::lock_guard lock(edflib_mutex);
    const int handle = edfopen_file_writeonly(name.c_str(), EDFLIB_FILETYPE_EDFPLUS, static_cast<int>(nc));
    HEED_CHECK(handle >= 0, "write_edf: {}: {}", name, open_error(handle));
    edf.handle = handle;
  }
  bool ok = edf_set_datarecord_duration(edf.handle, duration) == 0;
  // One annotation signal holds a few annotations per record; add signals when there are more.
  const int64_t annotation_signals = std::clamp<int64_t>(static_cast<int64_t>(r.annotations.size()) / records + 1, 1, 64);
  ok = ok && edf_set_number_of_annotation_signals(edf.handle, static_cast<int>(annotation_signals)) == 0;
  ok = ok && edf_set_patientname(edf.handle, r.patient.c_str()) == 0;
  std::vector<std::pair<double, double>> ranges;  // physical minimum and maximum per channel
  for (size_t c = 0; c < nc && ok; ++c) {
    auto [lo, hi] = std::minmax_element(r.data[c].begin(), r.data[c].end());
    HEED_CHECK(std::all_of(r.data[c].begin(), r.data[c].end(), [](double v) { return std::isfinite(v); }),
               "write_edf: {}: channel '{}' holds a non-finite sample", name, r.channels[c]);
    const double margin = std::max((*hi - *lo) * 1e-3, std::max(std::abs(*hi), std::abs(*lo)) * 1e-6) + 1e-6;
    ranges.emplace_back(edf_physical_limit(*lo - margin, false), edf_physical_limit(*hi + margin, true));
    const int s = static_cast<int>(c);
    ok = edf_set_samplefrequency(edf.handle, s, spr) == 0 &&
         edf_set_physical_maximum(edf.handle, s, ranges.back().second) == 0 &&
         edf_set_physical_minimum(edf.handle, s, ranges.back().first) == 0 &&
         edf_set_digital_maximum(edf.handle, s, 32767) == 0 && edf_set_digital_minimum(edf.handle, s, -32768) == 0 &&
         edf_set_label(edf.handle, s, r.channels[c].c_str()) == 0 &&
         edf_set_physical_dimension(edf.handle, s, r.units.empty() ? "" : r.units[c].c_str()) == 0;
  }
  HEED_CHECK(ok, "write_edf: {}: EDFlib refused the header settings", name);
  // heed converts to digital values itself, rounding to the nearest step (EDFlib truncates).
  std::vector<short> buffer(static_cast<size_t>(spr));
  for (int64_t rec = 0; rec < records; ++rec) {
    for (size_t c = 0; c < nc; ++c) {
      const auto [pmin, pmax] = ranges[c];
      const double step = (pmax - pmin) / 65535.0;
      const size_t from = static_cast<size_t>(rec * spr);
      for (size_t i = 0; i < buffer.size(); ++i) {  // the last record is padded with the last sample
        const double digital = std::round((r.data[c][std::min(from + i, n - 1)] - pmin) / step) - 32768.0;
        buffer[i] = static_cast<short>(std::clamp(digital, -32768.0, 32767.0));
      }
      const int status = edfwrite_digital_short_samples(edf.handle, buffer.data());
      if (status != 0) {
        edfclose_file(edf.handle);
        edf.handle = -1;
        std::filesystem::remove(path, ec);
        HEED_FAIL("write_edf: {}: {}", name, open_error(status));
      }
    }
  }
  for (const auto& a : r.annotations)  // EDFlib takes onset and duration in units of 100 us
    HEED_CHECK(edfwrite_annotation_utf8(edf.handle, std::llround(a.onset * 1e4), std::llround(a.duration * 1e4),
                                        a.label.c_str()) == 0,
               "write_edf: {}: cannot write annotation '{}'", name, a.label);
  std::lock_guard lock(edflib_mutex);
  const int status = edfclose_file(edf.handle);
  edf.handle = -1;
  HEED_CHECK(status == 0, "write_edf: {}: closing the file failed", name);
}

std::vector<Annotation> parse_events_tsv(const std::string& text, const std::string& source) {
  std::vector<std::string> lines;
  std::string_view rest(text);
  if (rest.rfind("\xef\xbb\xbf", 0) == 0) rest.remove_prefix(3);  // UTF-8 byte order mark
  while (!rest.empty()) {
    const size_t end = std::min(rest.find('\n'), rest.size());
    std::string line(rest.substr(0, end));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    rest.remove_prefix(std::min(end + 1, rest.size()));
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  HEED_CHECK(!lines.empty(), "{}: empty, expected a header line with onset and duration", source);
  auto split = [](const std::string& line) {
    std::vector<std::string> fields;
    size_t at = 0;
    while (true) {
      const size_t tab = line.find('\t', at);
      fields.push_back(line.substr(at, tab == std::string::npos ? std::string::npos : tab - at));
      if (tab == std::string::npos) return fields;
      at = tab + 1;
    }
  };
  const std::vector<std::string> header = split(lines[0]);
  auto column = [&](const std::string& wanted) {
    for (size_t i = 0; i < header.size(); ++i)
      if (trim(header[i]) == wanted) return static_cast<int>(i);
    return -1;
  };
  const int onset_col = column("onset"), duration_col = column("duration");
  const int label_col = column("trial_type") >= 0 ? column("trial_type") : column("value");
  HEED_CHECK(onset_col >= 0 && duration_col >= 0, "{} line 1: the header needs 'onset' and 'duration' columns, it has: {}",
             source, printable(lines[0]));
  std::vector<Annotation> events;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> fields = split(lines[i]);
    HEED_CHECK(fields.size() == header.size(), "{} line {}: {} fields, the header has {}", source, i + 1, fields.size(),
               header.size());
    Annotation a;
    HEED_CHECK(parse_double(fields[onset_col], a.onset), "{} line {}: onset \"{}\" is not a number", source, i + 1,
               printable(fields[onset_col]));
    const std::string duration = trim(fields[duration_col]);
    if (duration != "n/a") {
      HEED_CHECK(parse_double(duration, a.duration), "{} line {}: duration \"{}\" is not a number or n/a", source, i + 1,
                 printable(duration));
      HEED_CHECK(a.duration >= 0, "{} line {}: negative duration {}", source, i + 1, a.duration);
    }
    if (label_col >= 0 && trim(fields[label_col]) != "n/a") a.label = trim(fields[label_col]);
    events.push_back(std::move(a));
  }
  return events;
}

std::vector<Annotation> read_events_tsv(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  HEED_CHECK(in, "read_events_tsv: {}: cannot open it", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return parse_events_tsv(text.str(), path.string());
}

void write_events_tsv(const std::filesystem::path& path, const std::vector<Annotation>& events) {
  std::string text = "onset\tduration\ttrial_type\n";
  for (const auto& e : events) {
    HEED_CHECK(std::isfinite(e.onset) && std::isfinite(e.duration) && e.duration >= 0,
               "write_events_tsv: {}: event '{}' has onset {} and duration {}", path.string(), e.label, e.onset,
               e.duration);
    HEED_CHECK(e.label.find_first_of("\t\r\n") == std::string::npos,
               "write_events_tsv: {}: label '{}' holds a tab or a line break", path.string(), printable(e.label));
    text += fmt::format("{}\t{}\t{}\n", e.onset, e.duration, e.label.empty() ? "n/a" : e.label);
  }
  std::ofstream out(path, std::ios::binary);
  out << text;
  HEED_CHECK(out.flush(), "write_events_tsv: {}: cannot write it", path.string());
}

}  // namespace heed::eeg
