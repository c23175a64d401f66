/* The floor of issue 12's sliced pass on this machine: the plainest C that does the work of
   `tally evaluate --metric binary_accuracy --metric auc` on W1's files, without and with
   `--slice-by` 1,000 keys, reading the files as tally does (each of 2 threads its own rows,
   pread into buffers it reuses).

   Per row, unsliced: binary accuracy's hit and AUC's cell (label and bucket of 200 thresholds)
   counted in a histogram, twice: row by row (each increment waits on the last one to the same
   bucket), and in blocks of 1,024 rows (the cells of a block first, in loops the compiler
   vectorises, then four histograms in turn), as tally's plain pass does; the blocks are the
   floor to compare with. Sliced: the same two cells counted per slice (a table from key to slot,
   16-bit counters slot by slot: the 4 cells of binary accuracy, then AUC's 402), which is what
   makes slices cost: the key file (8 bytes a row, as large as both inputs together) and one
   scattered increment per row and cell into 1,000 x 812 bytes of counters, more than a core's L1
   holds (a third unsliced pass reads the key file too, unused: what reading it costs). Sliced
   three ways: row by row; in blocks as tally's SliceCounter does (the cells of the block, then
   its slots, then the increments); and in blocks with each row's slot looked up in the
   increment loop (no array of slots), the fastest here.

   Build and run:  gcc -O3 -march=native -fopenmp -o /tmp/slices-floor Benchmarks/slices-floor.c
                   /tmp/slices-floor .bench-data/w1_y_true.npy .bench-data/w1_y_pred.npy \
                     .bench-data/w1_slices1000.npy
   Prints the best of 15 runs of each pass (milliseconds, after the files are in the page cache)
   and the ratios to the unsliced pass in blocks; the counts are checked to agree.             */
#include <fcntl.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }

typedef struct { int fd; long offset; long rows; int size; } npy;

/* A little-endian, C-order .npy file of one column (the header's length, no parsing). */
static npy open_npy(const char *path, int size) {
  npy f = { open(path, O_RDONLY), 0, 0, size };
  unsigned char h[12];
  if (f.fd < 0 || pread(f.fd, h, 12, 0) != 12) { perror(path); exit(1); }
  f.offset = h[6] == 1 ? 10 + (h[8] | h[9] << 8) : 12 + (h[8] | h[9] << 8 | h[10] << 16 | (long)h[11] << 24);
  f.rows = (lseek(f.fd, 0, SEEK_END) - f.offset) / size;
  return f;
}

static void read_rows(npy f, long first, long n, void *into) {
  if (pread(f.fd, into, n * f.size, f.offset + first * f.size) != n * f.size) { perror("pread"); exit(1); }
}

/* AUC's bucket of a score: thresholds (i / 199 for i in 1...198, with -eps and 1 + eps ends);
   the bucket is the number of thresholds below the score. */
static inline int bucket(float p) {
  int b = (int)(p * 199.0f);
  b = b < 0 ? 0 : b > 199 ? 199 : b;
  return b + (p > 0.0f);
}

enum { SLOTS = 1000, CELLS = 4 + 402, PIECE = 32768, BLOCK = 1024 };
enum { UNSLICED_ROWS, UNSLICED_BLOCKS, KEYS_READ, SLICED_ROWS, SLICED_BLOCKS, SLICED_LOOKED_UP, PASSES };
static const char *names[PASSES] = { "unsliced row by row", "unsliced in blocks",
                                     "unsliced in blocks, keys read too", "sliced row by row",
                                     "sliced in blocks", "sliced, slots looked up as counted" };

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: slices-floor y_true.npy y_pred.npy keys_int64.npy\n"); return 2; }
  npy t = open_npy(argv[1], 4), p = open_npy(argv[2], 4), k = open_npy(argv[3], 8);
  long n = t.rows;
  double best[PASSES];
  long check[PASSES][2] = { { 0 } };
  for (int v = 0; v < PASSES; v++) best[v] = 1e9;
  for (int run = 0; run < 15; run++) {
    for (int pass = 0; pass < PASSES; pass++) {
      int sliced = pass >= SLICED_ROWS;
      double start = now();
      long hits = 0, positives = 0;
      #pragma omp parallel num_threads(2) reduction(+:hits, positives)
      {
        int me = omp_get_thread_num();
        float *yt = aligned_alloc(64, PIECE * 4), *yp = aligned_alloc(64, PIECE * 4);
        int64_t *key = aligned_alloc(64, PIECE * 8);
        /* The key table (keys 0..1023; -1: no slot yet, which the loops would stop at). */
        int32_t table[1024];
        for (int s = 0; s < 1024; s++) table[s] = s < SLOTS ? s : -1;
        /* 16-bit, as tally's (which moves them into 32-bit totals before they can overflow;
           here no cell reaches 65,535: 5,000 rows per slot and thread). */
        uint16_t *counts = calloc((size_t)SLOTS * CELLS, 2);
        uint32_t hist[4][402] = { { 0 } };
        int32_t ca[BLOCK], cb[BLOCK], sl[BLOCK];
        long half = (n + 1) / 2, lo = me * half, hi = lo + half < n ? lo + half : n;
        for (long first = lo; first < hi; first += PIECE) {
          long m = hi - first < PIECE ? hi - first : PIECE;
          read_rows(t, first, m, yt);
          read_rows(p, first, m, yp);
          if (sliced || pass == KEYS_READ) read_rows(k, first, m, key);
          if (pass == UNSLICED_ROWS) {
            for (long i = 0; i < m; i++) {
              int label = yt[i] > 0.5f;
              hits += label == (yp[i] > 0.5f);
              hist[0][label * 201 + bucket(yp[i])]++;
            }
            continue;
          }
          if (pass == SLICED_ROWS) {
            for (long i = 0; i < m; i++) {
              int label = yt[i] > 0.5f, above = yp[i] > 0.5f;
              uint64_t x = (uint64_t)key[i];
              uint16_t *row = counts + (size_t)table[x < 1024 ? x : 0] * CELLS;
              row[label * 2 + above]++;
              row[4 + label * 201 + bucket(yp[i])]++;
            }
            continue;
          }
          for (long b = 0; b < m; b += BLOCK) {
            long nb = m - b < BLOCK ? m - b : BLOCK;
            const float *bt = yt + b, *bp = yp + b;
            const int64_t *bk = key + b;
            for (long i = 0; i < nb; i++) cb[i] = (bt[i] > 0.5f) * 201 + bucket(bp[i]);
            if (pass == UNSLICED_BLOCKS || pass == KEYS_READ) {
              for (long i = 0; i < nb; i++) hits += (bt[i] > 0.5f) == (bp[i] > 0.5f);
              long i = 0;
              for (; i + 4 <= nb; i += 4) {
                hist[0][cb[i]]++; hist[1][cb[i + 1]]++; hist[2][cb[i + 2]]++; hist[3][cb[i + 3]]++;
              }
              for (; i < nb; i++) hist[0][cb[i]]++;
              continue;
            }
            for (long i = 0; i < nb; i++) ca[i] = (bt[i] > 0.5f) * 2 + (bp[i] > 0.5f);
            if (pass == SLICED_BLOCKS) {
              for (long i = 0; i < nb; i++) { uint64_t x = (uint64_t)bk[i]; sl[i] = table[x < 1024 ? x : 0]; }
              for (long i = 0; i < nb; i++) {
                uint16_t *row = counts + (size_t)sl[i] * CELLS;
                row[ca[i]]++;
                row[4 + cb[i]]++;
              }
            } else {
              for (long i = 0; i < nb; i++) {
                uint64_t x = (uint64_t)bk[i];
                if (x >= 1024 || table[x] < 0) break; /* (tally would make the slot here) */
                uint16_t *row = counts + (size_t)table[x] * CELLS;
                row[ca[i]]++;
                row[4 + cb[i]]++;
              }
            }
          }
        }
        for (int s = 0; s < SLOTS; s++) {
          hits += counts[s * CELLS + 0] + counts[s * CELLS + 3];
          for (int b = 0; b < 201; b++) positives += counts[s * CELLS + 4 + 201 + b];
        }
        for (int h = 0; h < 4; h++)
          for (int b = 0; b < 201; b++) positives += hist[h][201 + b];
        free(yt); free(yp); free(key); free(counts);
      }
      double d = now() - start;
      if (d < best[pass]) best[pass] = d;
      check[pass][0] = hits; check[pass][1] = positives;
    }
  }
  for (int v = 1; v < PASSES; v++)
    if (check[0][0] != check[v][0] || check[0][1] != check[v][1]) { fprintf(stderr, "counts differ: %s\n", names[v]); return 1; }
  printf("rows %ld, hits %ld, positives %ld; best of 15, against the unsliced pass in blocks:\n", n, check[0][0], check[0][1]);
  for (int v = 0; v < PASSES; v++)
    printf("  %-36s %6.2f ms  %.2fx\n", names[v], best[v], best[v] / best[UNSLICED_BLOCKS]);
  return 0;
}
