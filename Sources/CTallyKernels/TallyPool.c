//===--- TallyPool.c ------------------------------------------------------===//
//
// See TallyPool.h. A round is a generation number and a ticket: the
// ticket's high 32 bits are the round's generation, its low 32 bits the
// next part to take, so that a thread that wakes late cannot take a part of
// a later round as one of its own. The caller takes parts too, then waits
// for `finished` to reach `parts`; a round's fields are written only while
// no part of the previous round is running.
//
//===----------------------------------------------------------------------===//

#include "TallyPool.h"

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#include <time.h>

/// How long a thread spins for the next round before it sleeps.
#define SPIN_NANOSECONDS 200000LL

static struct {
  pthread_mutex_t lock;
  pthread_cond_t wake;
  int started;        // atomic, written under `lock`: 1 started, -1 failed
  int busy;           // atomic: a round holds the pool
  uint64_t ticket;    // atomic: generation << 32 | next part
  uint32_t generation;  // atomic
  int sleepers;       // atomic
  intptr_t finished;  // atomic: parts of the round done
  tally_pool_part run;
  void *context;
  intptr_t parts;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0, 0, 0, 0, 0};

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static long long nanoseconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/// Takes and runs parts of round `generation` until none is left.
static void take_parts(uint32_t generation) {
  uint64_t ticket = __atomic_load_n(&pool.ticket, __ATOMIC_ACQUIRE);
  for (;;) {
    if ((uint32_t)(ticket >> 32) != generation) return;
    const intptr_t part = (intptr_t)(uint32_t)ticket;
    // (A later round may have set `parts` already; the exchange then fails.)
    if (part >= __atomic_load_n(&pool.parts, __ATOMIC_RELAXED)) return;
    if (__atomic_compare_exchange_n(&pool.ticket, &ticket, ticket + 1, 1, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      pool.run(pool.context, part);
      __atomic_fetch_add(&pool.finished, 1, __ATOMIC_RELEASE);
      ticket = __atomic_load_n(&pool.ticket, __ATOMIC_ACQUIRE);
    }
  }
}

static void *worker(void *unused) {
  (void)unused;
  uint32_t seen = __atomic_load_n(&pool.generation, __ATOMIC_ACQUIRE);
  for (;;) {
    // Spin for the next round, checking the clock every 64 pauses.
    long long deadline = nanoseconds() + SPIN_NANOSECONDS;
    uint32_t now = seen;
    for (int k = 1;; k++) {
      now = __atomic_load_n(&pool.generation, __ATOMIC_ACQUIRE);
      if (now != seen) break;
      relax();
      if (k % 64 == 0 && nanoseconds() > deadline) break;
    }
    if (now == seen) {
      pthread_mutex_lock(&pool.lock);
      __atomic_fetch_add(&pool.sleepers, 1, __ATOMIC_SEQ_CST);
      while ((now = __atomic_load_n(&pool.generation, __ATOMIC_SEQ_CST)) == seen)
        pthread_cond_wait(&pool.wake, &pool.lock);
      __atomic_fetch_sub(&pool.sleepers, 1, __ATOMIC_SEQ_CST);
      pthread_mutex_unlock(&pool.lock);
    }
    seen = now;
    take_parts(seen);
  }
  return 0;
}

/// Starts the threads once; whether they run.
static int start(intptr_t threads) {
  pthread_mutex_lock(&pool.lock);
  if (pool.started == 0) {
    int started = 1;
    for (intptr_t k = 1; k < threads; k++) {
      pthread_t t;
      pthread_attr_t attributes;
      pthread_attr_init(&attributes);
      pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
      const int failed = pthread_create(&t, &attributes, worker, 0) != 0;
      pthread_attr_destroy(&attributes);
      // Without a thread the pool is no use; with fewer, the rounds still run.
      if (failed) {
        started = k == 1 ? -1 : 1;
        break;
      }
    }
    __atomic_store_n(&pool.started, started, __ATOMIC_RELEASE);
  }
  const int ok = pool.started > 0;
  pthread_mutex_unlock(&pool.lock);
  return ok;
}

int tally_pool_start(intptr_t threads) {
  if (threads < 2) return 0;
  return __atomic_load_n(&pool.started, __ATOMIC_ACQUIRE) > 0 || start(threads);
}

int tally_pool_run(tally_pool_part run, void *context, intptr_t parts, intptr_t threads) {
  if (parts <= 0) return 1;
  if (parts > 0x7fffffff || threads < 2) return 0;
  if (__atomic_exchange_n(&pool.busy, 1, __ATOMIC_ACQUIRE)) return 0;
  if (!__atomic_load_n(&pool.started, __ATOMIC_ACQUIRE) && !start(threads)) {
    __atomic_store_n(&pool.busy, 0, __ATOMIC_RELEASE);
    return 0;
  }
  pool.run = run;
  pool.context = context;
  __atomic_store_n(&pool.parts, parts, __ATOMIC_RELAXED);
  __atomic_store_n(&pool.finished, 0, __ATOMIC_RELAXED);
  const uint32_t generation = __atomic_load_n(&pool.generation, __ATOMIC_RELAXED) + 1;
  __atomic_store_n(&pool.ticket, (uint64_t)generation << 32, __ATOMIC_RELEASE);
  __atomic_store_n(&pool.generation, generation, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&pool.sleepers, __ATOMIC_SEQ_CST) > 0) {
    pthread_mutex_lock(&pool.lock);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
  }
  take_parts(generation);
  // The others' last parts are running: wait for them spinning, then, once
  // the wait is long, in naps of 20 µs (at most a tenth of the wait so far)
  // that leave the core to others.
  long long deadline = nanoseconds() + SPIN_NANOSECONDS;
  const struct timespec nap = {0, 20000};
  for (int k = 1; __atomic_load_n(&pool.finished, __ATOMIC_ACQUIRE) < parts; k++) {
    relax();
    if (k % 64 == 0 && nanoseconds() > deadline) nanosleep(&nap, 0);
  }
  __atomic_store_n(&pool.busy, 0, __ATOMIC_RELEASE);
  return 1;
}

#else

int tally_pool_start(intptr_t threads) {
  (void)threads;
  return 0;
}

int tally_pool_run(tally_pool_part run, void *context, intptr_t parts, intptr_t threads) {
  (void)run;
  (void)context;
  (void)parts;
  (void)threads;
  return 0;
}

#endif
