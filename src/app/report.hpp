// What rank 0 tells the user on stderr while a run goes: the resolved parameters at the start,
// progress while it runs, a summary at the end. Progress is a live line on a terminal, and one
// plain line every ~10 % otherwise (Slurm logs). Silent with --quiet and on other ranks.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/stopwatch.hpp"
#include "core/text.hpp"

namespace slab::app {

// Wall time of a run's phases on this rank, in seconds.
struct PhaseTimes {
  double compute = 0;        // the solver's arithmetic
  double communication = 0;  // waiting for other ranks inside the solver
  double io = 0;             // writing files
  double solve = 0;          // the whole solver call (compute, communication and the observers)
  double total = 0;          // command line parsed to file committed
};

using slab::seconds_since;

class Reporter {
 public:
  Reporter(bool enabled, std::string unit);
  // A line of text (parameters, summary), printed as is.
  void line(const std::string& text) const;
  // done of total units, and the simulated time when there is one (negative: none).
  void progress(std::int64_t done, std::int64_t total, double simulated_time = -1);
  void finish_progress();
  [[nodiscard]] double elapsed() const;

 private:
  bool enabled_;
  bool terminal_;
  std::string unit_;
  std::chrono::steady_clock::time_point start_;
  int last_decile_ = -1;
  std::int64_t first_done_ = -1;  // units done at the first progress report, and when
  double first_seconds_ = 0;
  bool live_line_open_ = false;
};

}  // namespace slab::app
