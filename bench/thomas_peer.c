/* thomas_peer N STEPS REPS: Crank-Nicolson at R = 10 with Dirichlet 0 ends (the problem of
 * slab_bench heat-cn) by the textbook serial algorithm: the Thomas factors (multipliers and
 * reciprocal pivots, two n-length arrays) computed once, then per step one forward sweep with the
 * right-hand side (I + R/2 L) u fused into it and one backward sweep, in place. The bound of a
 * sequential direct solve. Prints one JSON line like slab_bench. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void step(long n, double r, const double* l, const double* inv, double* u) {
  const double h = r / 2, diag = 1 - r;
  double before = u[0], y = 0; /* row 0: the boundary value 0 */
  u[0] = 0;
  for (long i = 1; i < n - 1; ++i) {
    const double here = u[i];
    y = (h * before + diag * here + h * u[i + 1]) - l[i] * y;
    u[i] = y;
    before = here;
  }
  u[n - 1] = 0; /* row n-1: the boundary value 0; its multiplier is 0 */
  double x = 0;
  for (long i = n - 2; i >= 1; --i) u[i] = x = (u[i] + h * x) * inv[i];
  u[0] = 0;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: thomas_peer N STEPS REPS\n");
    return 2;
  }
  const long n = atol(argv[1]), steps = atol(argv[2]);
  const int reps = atoi(argv[3]);
  const double r = 10.0, pi = 3.14159265358979323846;
  double* l = malloc(sizeof(double) * (size_t)n);
  double* inv = malloc(sizeof(double) * (size_t)n);
  double* u = malloc(sizeof(double) * (size_t)n);
  if (!l || !inv || !u || n < 3) return 1;
  /* Rows 1..n-2: -r/2, 1 + r, -r/2; rows 0 and n-1 the identity. */
  l[0] = 0, inv[0] = 1;
  for (long i = 1; i < n - 1; ++i) {
    l[i] = -r / 2 * inv[i - 1];
    inv[i] = 1 / (1 + r - l[i] * (i == 1 ? 0 : -r / 2));
  }
  l[n - 1] = 0, inv[n - 1] = 1;
  printf("{\"case\": \"heat-cn\", \"impl\": \"thomas-c\", \"ranks\": 1, \"n\": %ld, \"steps\": %ld, \"cols\": 0, "
         "\"seconds\": [", n, steps);
  double check = 0;
  for (int rep = 0; rep < reps; ++rep) {
    for (long i = 0; i < n; ++i) u[i] = __builtin_sin(pi * (double)i / (double)(n - 1));
    const double start = now();
    for (long s = 0; s < steps; ++s) step(n, r, l, inv, u);
    printf("%s%.6g", rep ? ", " : "", now() - start);
    check += u[n / 2];
  }
  printf("], \"check\": %.17g}\n", check);
  free(l), free(inv), free(u);
  return 0;
}
