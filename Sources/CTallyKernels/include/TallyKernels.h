//===--- TallyKernels.h ---------------------------------------------------===//
//
// Loops for wider vector units than the default build targets, chosen at
// run time on the CPU in use (one binary for every x86-64 machine; on other
// CPUs the functions report that they did nothing). Each does exactly the
// IEEE operations of the Swift loop it stands for, lane for lane, in the
// same order, without contraction into fused multiply-adds, so results are
// bit for bit the same on every machine.
//
//===----------------------------------------------------------------------===//

#ifndef TALLY_KERNELS_H
#define TALLY_KERNELS_H

#include <stdint.h>

// The kernels' threads, exported with the loops.
#include "TallyPool.h"

/// Whether this CPU runs the AVX2 loops (x86-64 with AVX2; checked once).
int tally_has_avx2(void);

/// Whether this CPU runs the AVX-512 loops (x86-64 with AVX-512 F and BW;
/// checked once).
int tally_has_avx512(void);

/// The eight double-double lanes of Σ err(t[i] − p[i]) over the blocks of
/// eight of `t` and `p` (`n` a multiple of 8), added into `hi` and `lo`
/// as RegressionKernels.swift's `flatErrorSum` does: per lane,
/// `d = (double)t − (double)p; v = d·d (kind 0) or |d| (kind 1); s = hi + v;
/// bb = s − hi; lo += (hi − (s − bb)) + (v − bb); hi = s`. Returns 0 (and
/// leaves `hi`, `lo` alone) when the CPU has no AVX2.
int tally_error_sum_avx2(const float *t, const float *p, intptr_t n, int kind, double hi[8], double lo[8]);

/// The number of i in the blocks of eight (`n` a multiple of 8) where
/// `t[i] == (p[i] > threshold ? 1 : 0)`, added to `*hits`
/// (AccuracyKernels.swift's `binaryMatchesFloat`). Returns 0 (and leaves
/// `*hits` alone) when the CPU has no AVX2.
int tally_binary_matches_avx2(const float *p, const float *t, intptr_t n, float threshold, int64_t *hits);

/// Over the blocks of eight (`n` a multiple of 8), added to `counts`: [0]
/// labels 1 scored above `threshold`, [1] scores above it, [2] labels equal
/// to 1, [3] labels equal to 0, [4] NaN scores (ConfusionKernels.swift's
/// `singleThresholdCounts`). Returns 0 (and leaves `counts` alone) when the
/// CPU has no AVX2.
int tally_threshold_counts_avx2(const float *p, const float *t, intptr_t n, float threshold, int64_t counts[5]);

/// Poisson bootstrap counters of `n` rows (CellTotals.swift's
/// `drawnTotals`): row i, of key `keys[i]`, draws `vectors` × 8 16-bit
/// uniforms (lanes 4b ..< 4b + 4 from `PoissonBootstrap.bits(key, b)`),
/// turns each into its Poisson count, negated, by the eight `thresholds`,
/// and adds them to the `vectors` × 8 lanes of counter row
/// `slots[i·metrics + m]` of `acc` for each metric m; `fill` counts each
/// counter row's rows, and at 8,191 the row goes into `out` (lane l of row
/// k into `out[k·r + l]`, for l < r) and is cleared. Returns 0 (and does
/// nothing) when the CPU has no AVX2.
int tally_poisson_rows_avx2(const uint64_t *keys, intptr_t n, const int32_t *slots, intptr_t metrics, int16_t *acc,
                            uint16_t *fill, int64_t *out, intptr_t vectors, intptr_t r, const int16_t thresholds[8]);

/// tally_poisson_rows_avx2 with 512-bit vectors: four eight-lane vectors of
/// a row at a time, whose eight wyrand outputs are computed together (the
/// same bits, counts and order of additions). Returns 0 (and does nothing)
/// when the CPU has no AVX-512 F and BW.
int tally_poisson_rows_avx512(const uint64_t *keys, intptr_t n, const int32_t *slots, intptr_t metrics,
                              int16_t *acc, uint16_t *fill, int64_t *out, intptr_t vectors, intptr_t r,
                              const int16_t thresholds[8]);

#endif
