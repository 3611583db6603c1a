// Linear regression y ~ X w + b by least squares, on rows split over the ranks (w and b are
// replicated). Four methods (qr, TSQR, is in tsqr.hpp with the statistics of any fit):
//   gd      full-batch gradient descent; one pass over the local rows per iteration computes the
//           residuals, the gradient and the loss together, then one small collective combines them;
//   normal  the normal equations [X 1]^T [X 1] z = [X 1]^T y, summed once, solved by Cholesky;
//   lstsq   PETSc's LSQR on the distributed [X 1], the same row ownership.
// Every sum over rows is a reproducible tree sum (src/core/tree_sum.hpp), so gd and normal give the
// same bits for any rank count.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/dist_tensor.hpp"
#include "core/names.hpp"
#include "core/row_stream.hpp"
#include "core/tree_sum.hpp"

namespace slab::regression {

enum class Method { gd, lstsq, normal, qr };
inline constexpr NameTable<Method, 4> method_names{
    {{Method::qr, "qr"}, {Method::lstsq, "lstsq"}, {Method::normal, "normal"}, {Method::gd, "gd"}}};
[[nodiscard]] inline std::string to_string(Method m) { return name_of(method_names, m); }

struct GdOptions {
  double lr = 0.1;
  std::int64_t iters = 1000;
  double tol = 1e-10;  // stop when |loss_prev - loss| <= tol * loss_prev
};

struct Fit {
  std::vector<double> w;
  double b = 0;
  std::vector<double> loss;  // mean squared error at every iteration's starting point (gd)
  std::int64_t iterations = 0;
  bool converged = false;
  double gradient_norm = 0;         // of the MSE at the returned (w, b)
  std::int64_t loss_increases = 0;  // iterations whose loss rose beyond rounding (lr too large)
  int stopped_by = 0;               // gd: 0, or why it stopped early at `iterations` (src/core/stop.hpp)
  double compute_seconds = 0;
  double communication_seconds = 0;
  // sum (X w + b - y)^2 at the returned (w, b), from the last pass that computed it (the statistics
  // of a streamed fit take it instead of reading the rows again); NaN when not computed.
  double rss = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> r;  // qr: the TSQR factor of [1 X y], (D + 2)^2 row-major (solvers/tsqr.hpp)
};

// Checks that X is (N, D) and y is (N,) with N >= 1, D >= 1. Throws InputError otherwise.
void check_shapes(const DistTensor& X, const DistTensor& y);

// `start` resumes from a previous state (its w, b, loss history and iteration count): the result
// is the same bits as an uninterrupted run. on_iteration(fit) is called on every rank after each
// iteration with the state so far. Stops early between iterations, with fit.stopped_by set, when
// every rank agrees to (a signal or a time limit, src/core/stop.hpp).
[[nodiscard]] Fit gradient_descent(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y,
                                   const GdOptions& options, const Fit* start = nullptr,
                                   const std::function<void(const Fit&)>& on_iteration = {});
[[nodiscard]] Fit normal_equations(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y);
[[nodiscard]] Fit least_squares(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y);

// The same fits over rows read in pieces (core/row_stream.hpp), for data larger than memory: the
// bits of the in-memory fit of the same rows for any rank count and piece size, because every tree
// node is evaluated over the same leaves in the same order (core/tree_nodes.hpp: NodeFolder). gd
// reads the rows once per iteration (and once more for the final gradient norm).
[[nodiscard]] Fit gradient_descent(const mpi::Comm& comm, const RowStream& rows, const GdOptions& options,
                                   const Fit* start = nullptr,
                                   const std::function<void(const Fit&)>& on_iteration = {});
[[nodiscard]] Fit normal_equations(const mpi::Comm& comm, const RowStream& rows);
void require_finite(const mpi::Comm& comm, const RowStream& rows, const Fit& fit);
[[noreturn]] void fail_not_finite(const mpi::Comm& comm, const RowStream& rows, const std::string& what);
[[nodiscard]] std::pair<double, double> loss_and_gradient_norm(const mpi::Comm& comm, const RowStream& rows,
                                                               const std::vector<double>& w, double b,
                                                               double* rss = nullptr);
// This rank's nodes of gd's tree over its rows `part`, in one streamed pass.
[[nodiscard]] PartialTree gradient_pass(const RowStream& rows, const RowPartition& part, const std::vector<double>& w,
                                        double b);
// This rank's nodes of the tree sum of f(y_i) over its rows, in one streamed pass.
[[nodiscard]] PartialTree y_pass(const RowStream& rows, const RowPartition& part,
                                 const std::function<double(double)>& f);

// Collective: fails alike on every rank (exit 1) unless the fit's coefficients, loss and gradient
// norm are finite, naming the data's scale when that is the cause (a direct method can solve for
// finite w while the squared loss of y ~ 1e200 overflows).
void require_finite(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y, const Fit& fit);
// Collective: fails alike on every rank (exit 1) with "what: " and the data's scale as the cause
// when it overflows double precision ("a value overflowed" otherwise).
[[noreturn]] void fail_not_finite(const mpi::Comm& comm, const DistTensor& X, const DistTensor& y,
                                  const std::string& what);

// The mean squared error and its gradient norm at (w, b). Collective.
[[nodiscard]] std::pair<double, double> loss_and_gradient_norm(const mpi::Comm& comm, const DistTensor& X,
                                                               const DistTensor& y, const std::vector<double>& w,
                                                               double b);

// The pass gd makes over this rank's rows every iteration: the tree-sum nodes of
// [X^T r, sum r, sum r^2] with r = X w + b - y (no communication). Every kernel gives the same
// bits; they differ only in speed. `rows` evaluates the tree one row at a time, as defined;
// `blocks` evaluates aligned 8-row blocks in registers; `blocks_avx2` is the same source compiled
// for AVX2 (no FMA, so the same IEEE operations). `automatic` picks the fastest this CPU runs.
enum class Kernel { automatic, rows, blocks, blocks_avx2 };
[[nodiscard]] bool kernel_available(Kernel kernel);
[[nodiscard]] PartialTree gradient_pass(const DistTensor& X, const DistTensor& y, const std::vector<double>& w,
                                        double b, Kernel kernel = Kernel::automatic);

// Feature standardisation with distributed mean and (population) standard deviation.
struct Scaling {
  std::vector<double> mean, scale;
};
// Scales X in place to zero mean and unit variance per column (a constant column keeps scale 1).
[[nodiscard]] Scaling standardize(const mpi::Comm& comm, DistTensor& X);
// Converts a fit on standardised features back to the original units.
void to_original_units(const Scaling& s, Fit& fit);

}  // namespace slab::regression
