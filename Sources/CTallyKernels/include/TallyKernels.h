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

/// Over the blocks of eight (`n` a multiple of 8), `out[i] = t[i] == (p[i] >
/// threshold ? 1 : 0) ? 1 : 0` (binary accuracy's cells, CellCounting.swift).
/// Returns 0 (and writes nothing) when the CPU has no AVX2.
int tally_binary_hit_cells_avx2(const float *p, const float *t, intptr_t n, float threshold, int32_t *out);

/// Over the blocks of eight (`n` a multiple of 8), the slot `2·(b + 1) +
/// isPositive` of each row among evenly spaced thresholds, as
/// ConfusionKernels.swift's `evenSlotsFloat` computes it lane for lane
/// (`scale` the grid's last index, `floor_slot` 2·(floorBucket + 1)); sets
/// `*invalid` to 1 when a score is NaN or a label is neither 0 nor 1.
/// Returns 0 (and writes nothing) when the CPU has no AVX2.
int tally_even_slots_avx2(
    const float *p, const float *t, intptr_t n, float scale, int32_t floor_slot, int32_t *out, int *invalid);

/// `out[i] = table[keys[i] − lo]` for the leading keys with `keys[i] − lo`
/// in `0 ..< width` and an entry ≥ 0; returns how many (SliceCounter.swift's
/// `map`: the rest take its slower way, which makes slots).
intptr_t tally_table_slots_i64(const int64_t *keys, intptr_t n, int64_t lo, const int32_t *table, intptr_t width,
                               int32_t *out);
intptr_t tally_table_slots_i32(const int32_t *keys, intptr_t n, int64_t lo, const int32_t *table, intptr_t width,
                               int32_t *out);
intptr_t tally_table_slots_u8(const uint8_t *keys, intptr_t n, int64_t lo, const int32_t *table, intptr_t width,
                              int32_t *out);

/// For the leading keys with a slot in the table (as tally_table_slots_*),
/// adds one to `counters[slot·stride + cells[i]]` and, with `second` ≥ 0,
/// to `counters[slot·stride + second + cells2[i]]`; returns how many rows
/// (SliceCounter.swift's `count`: the rest take `map`, which makes slots).
intptr_t tally_count_known_i64(const int64_t *keys, intptr_t n, int64_t lo, const int32_t *table, intptr_t width,
                               uint16_t *counters, intptr_t stride, const int32_t *cells, const int32_t *cells2,
                               intptr_t second);
intptr_t tally_count_known_i32(const int32_t *keys, intptr_t n, int64_t lo, const int32_t *table, intptr_t width,
                               uint16_t *counters, intptr_t stride, const int32_t *cells, const int32_t *cells2,
                               intptr_t second);
intptr_t tally_count_known_u8(const uint8_t *keys, intptr_t n, int64_t lo, const int32_t *table, intptr_t width,
                              uint16_t *counters, intptr_t stride, const int32_t *cells, const int32_t *cells2,
                              intptr_t second);

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
