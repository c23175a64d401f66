//===--- TallyPool.h ------------------------------------------------------===//
//
// The threads of the kernels' fork-join rounds (Parallel.swift's
// `parallelMap`): one per core besides the caller's, started once, that
// spin for a short while after a round before they sleep, so that the next
// round of a run of batches starts without waking them (as OpenMP's
// threads do). Waking a sleeping thread took about 0.1 ms a round here,
// as long as the whole round of a 1 M-row batch.
//
//===----------------------------------------------------------------------===//

#ifndef TALLY_POOL_H
#define TALLY_POOL_H

#include <stdint.h>

/// One part of a round: `part` in [0, parts).
typedef void (*tally_pool_part)(void *context, intptr_t part);

/// Runs `run(context, k)` for every k in [0, parts), spread over the
/// caller's thread and the pool's `threads` − 1 threads (started on the
/// first call; `threads` is fixed then), and returns once all have
/// finished. Returns 0 without running anything when another round holds
/// the pool (the caller then runs its parts another way) or the threads
/// could not be started.
int tally_pool_run(tally_pool_part run, void *context, intptr_t parts, intptr_t threads);

/// Starts the pool's `threads` − 1 threads now if they have not started
/// (the first round starts them otherwise); whether they run. A thread
/// started just before a round can take milliseconds to get a core of its
/// own, while the caller runs the round's other parts.
int tally_pool_start(intptr_t threads);

#endif
