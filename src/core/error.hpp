// Errors slab reports to its user. Every failure becomes one of two exceptions, each carrying the
// process exit code: bad input (2) or a runtime failure such as I/O (1).
#pragma once

#include <cstdio>
#include <stdexcept>
#include <string>

namespace slab {

enum class ExitCode : int { ok = 0, runtime = 1, usage = 2 };

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& what) : std::runtime_error(what), code_(code) {}
  [[nodiscard]] ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

// Bad input: a flag, a value, an input file of the wrong shape. Exit code 2.
class InputError : public Error {
 public:
  explicit InputError(const std::string& what) : Error(ExitCode::usage, what) {}
};

// A failure while running: I/O, a library call, a solver that diverged. Exit code 1.
class RuntimeFailure : public Error {
 public:
  explicit RuntimeFailure(const std::string& what) : Error(ExitCode::runtime, what) {}
};

// For destructors, which must not throw (PISM's CHKERRCONTINUE): a failed free, close or destroy
// is printed as one line "slab: warning: <what>" on stderr and the program carries on.
inline void warn(const std::string& what) noexcept { std::fprintf(stderr, "slab: warning: %s\n", what.c_str()); }

}  // namespace slab
