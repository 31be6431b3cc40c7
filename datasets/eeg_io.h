#pragma once
// EEG recordings: EDF, EDF+ and BDF/BDF+ files (read through EDFlib), EDF+ writing, and BIDS-style
// events.tsv files. Samples are float64 in the file's physical units, one vector per channel.

#include <filesystem>
#include <string>
#include <vector>

namespace heed::eeg {

// An event or annotation: onset and duration in seconds from the start of the recording.
struct Annotation {
  double onset = 0;
  double duration = 0;
  std::string label;
};

struct Recording {
  std::vector<std::string> channels;         // labels, as in the file (trimmed)
  std::vector<std::string> units;            // physical dimension per channel ("uV", "mV", ...)
  double sample_rate = 0;                    // Hz, the same for every channel
  std::vector<std::vector<double>> data;     // data[channel][sample], physical units
  std::vector<Annotation> annotations;       // EDF+/BDF+ annotations, sorted by onset
  std::string patient;                       // header's patient field (may be empty)
  bool discontinuous = false;                // EDF+D / BDF+D: samples are concatenated records

  int64_t num_samples() const { return data.empty() ? 0 : static_cast<int64_t>(data[0].size()); }
  double duration_seconds() const { return sample_rate > 0 ? num_samples() / sample_rate : 0; }
  // Index of the channel with this label (case-insensitive); throws naming the labels there are.
  int channel_index(const std::string& label) const;
};

struct ReadOptions {
  // Labels of the channels to keep (case-insensitive), in this order; empty keeps every signal
  // channel. Annotation channels are never data.
  std::vector<std::string> channels;
  // Rate every channel is resampled to (Hz); 0 uses the highest rate among the kept channels.
  double sample_rate = 0;
};

// Reads an EDF, EDF+ or BDF(+) file. Channels sampled at another rate are resampled (polyphase,
// as heed::signal::resample_poly) to the common rate. A missing, malformed or truncated file
// gives a heed::Error naming the file and the problem.
Recording read_recording(const std::filesystem::path& path, const ReadOptions& options = {});

// Writes an EDF+ file (continuous) with the recording's channels, units and annotations.
// Digital range -32768..32767 over each channel's physical minimum..maximum.
void write_edf(const std::filesystem::path& path, const Recording& recording);

// BIDS events.tsv: a header line with at least `onset` and `duration` columns (seconds; "n/a"
// duration reads as 0), and `trial_type` (else `value`) as the label ("n/a" reads as ""). Extra
// columns, CRLF line ends and a UTF-8 BOM are accepted. Clear errors name the source and the line.
// write_events_tsv writes onset, duration and trial_type ("n/a" for an empty label).
std::vector<Annotation> read_events_tsv(const std::filesystem::path& path);
std::vector<Annotation> parse_events_tsv(const std::string& text, const std::string& source = "events.tsv");
void write_events_tsv(const std::filesystem::path& path, const std::vector<Annotation>& events);

}  // namespace heed::eeg
