// Simulated EEG of a two-state attention task (focused vs relaxed), for the demo and CI. These
// recordings are synthetic: they model a few textbook effects, not any real person.
//   - background: 1/f ("pink") noise, partly shared between channels;
//   - alpha (8.5-11.5 Hz, the subject's own peak), strongest over the back of the head,
//     1.4-2.2 times stronger when relaxed; theta (6 Hz, frontal) 1.1-1.5 times higher and beta
//     (20 Hz, central) 1.1-1.5 times lower when relaxed, so the theta/beta ratio rises;
//   - eye blinks on the frontal channels, line noise at 50 Hz, per-subject gains.
// Blocks of one state alternate in a random order, annotated "focused" / "relaxed".
#pragma once
#include <cstdint>
#include <filesystem>

#include "datasets/eeg_io.h"

namespace heed::eeg {

struct SimulationOptions {
  double minutes = 4;        // per subject
  double block_seconds = 20; // length of one state block
  double sample_rate = 256;
  double line_hz = 50;
  uint64_t seed = 0;
};

// One subject's recording (channels Fp1 Fp2 F3 F4 C3 C4 P3 P4 O1 O2, µV) with its blocks as
// annotations. The same (options, subject) give the same recording.
Recording simulate_recording(const SimulationOptions& options, int subject);

int simulate_command(int argc, const char* const* argv);

}  // namespace heed::eeg
