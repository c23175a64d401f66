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

/// Whether this CPU runs the AVX2 loops (x86-64 with AVX2; checked once).
int tally_has_avx2(void);

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

#endif
