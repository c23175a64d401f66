/* The floor of issue 12's sliced pass on this machine: the plainest C that does the work of
   `tally evaluate --metric binary_accuracy --metric auc` on W1's files, without and with
   `--slice-by` 1,000 keys, reading the files as tally does (each of 2 threads its own rows,
   pread into 512 KB of buffers it reuses).

   Per row, unsliced: binary accuracy's hit count and AUC's bucket (200 thresholds) counted in
   a histogram per label. Sliced: the same two cells counted per slice (a table from key to
   slot, 16-bit counters slot by slot: the 4 cells of binary accuracy, then AUC's 402), which
   is what makes slices cost: one scattered increment per row into 1,000 x 812 bytes of
   counters, more than a core's L1 holds. Sliced twice: row by row (cells, slot and the two
   increments per row), and in blocks of 1,024 rows as tally's SliceCounter does (the cells of
   the block, then its slots, then the increments: each loop simple enough to vectorise, and
   the increments' addresses known ahead), which is the faster here.

   Build and run:  gcc -O3 -march=native -fopenmp -o /tmp/slices-floor Benchmarks/slices-floor.c
                   /tmp/slices-floor .bench-data/w1_y_true.npy .bench-data/w1_y_pred.npy \
                     .bench-data/w1_slices1000.npy
   Prints the best of 15 runs of each pass (milliseconds, after the files are in the page cache)
   and the ratios; the counts are checked to agree between the passes.                       */
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

enum { SLOTS = 1000, CELLS = 4 + 402, PIECE = 32768 };

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: slices-floor y_true.npy y_pred.npy keys_int64.npy\n"); return 2; }
  npy t = open_npy(argv[1], 4), p = open_npy(argv[2], 4), k = open_npy(argv[3], 8);
  long n = t.rows;
  double best[3] = { 1e9, 1e9, 1e9 };
  long check[3][2] = { { 0 } };
  for (int run = 0; run < 15; run++) {
    for (int sliced = 0; sliced < 3; sliced++) {
      double start = now();
      long hits = 0, positives = 0;
      #pragma omp parallel num_threads(2) reduction(+:hits, positives)
      {
        int me = omp_get_thread_num();
        float *yt = aligned_alloc(64, PIECE * 4), *yp = aligned_alloc(64, PIECE * 4);
        int64_t *key = aligned_alloc(64, PIECE * 8);
        uint16_t *slot = calloc(SLOTS, 2);
        /* 16-bit, as tally's (which moves them into 32-bit totals before they can overflow;
           here no cell reaches 65,535: 5,000 rows per slot and thread). */
        uint16_t *counts = calloc((size_t)SLOTS * CELLS, 2);
        uint32_t hist[2][201] = { { 0 } };
        int32_t ca[1024], cb[1024], sl[1024];
        for (int s = 0; s < SLOTS; s++) slot[s] = (uint16_t)s;
        long half = (n + 1) / 2, lo = me * half, hi = lo + half < n ? lo + half : n;
        for (long first = lo; first < hi; first += PIECE) {
          long m = hi - first < PIECE ? hi - first : PIECE;
          read_rows(t, first, m, yt);
          read_rows(p, first, m, yp);
          if (sliced == 2) {
            read_rows(k, first, m, key);
            for (long b = 0; b < m; b += 1024) {
              long e = b + 1024 < m ? b + 1024 : m, nb = e - b;
              for (long i = 0; i < nb; i++) ca[i] = (yt[b + i] > 0.5f) * 2 + (yp[b + i] > 0.5f);
              for (long i = 0; i < nb; i++) cb[i] = (yt[b + i] > 0.5f) * 201 + bucket(yp[b + i]);
              for (long i = 0; i < nb; i++) { int64_t x = key[b + i]; sl[i] = slot[x < 0 || x >= SLOTS ? 0 : x]; }
              for (long i = 0; i < nb; i++) {
                uint16_t *row = counts + (size_t)sl[i] * CELLS;
                row[ca[i]]++;
                row[4 + cb[i]]++;
              }
            }
          } else if (sliced) {
            read_rows(k, first, m, key);
            for (long i = 0; i < m; i++) {
              int label = yt[i] > 0.5f, above = yp[i] > 0.5f;
              uint16_t *row = counts + (size_t)slot[key[i] < 0 || key[i] >= SLOTS ? 0 : key[i]] * CELLS;
              row[label * 2 + above]++;
              row[4 + label * 201 + bucket(yp[i])]++;
            }
          } else {
            for (long i = 0; i < m; i++) {
              int label = yt[i] > 0.5f;
              hits += label == (yp[i] > 0.5f);
              hist[label][bucket(yp[i])]++;
            }
          }
        }
        for (int s = 0; s < SLOTS; s++) {
          hits += counts[s * CELLS + 0] + counts[s * CELLS + 3];
          for (int b = 0; b < 201; b++) positives += counts[s * CELLS + 4 + 201 + b];
        }
        for (int b = 0; b < 201; b++) positives += hist[1][b];
        free(yt); free(yp); free(key); free(slot); free(counts);
      }
      double d = now() - start;
      if (d < best[sliced]) best[sliced] = d;
      check[sliced][0] = hits; check[sliced][1] = positives;
    }
  }
  for (int v = 1; v < 3; v++)
    if (check[0][0] != check[v][0] || check[0][1] != check[v][1]) { fprintf(stderr, "counts differ\n"); return 1; }
  printf("unsliced %.2f ms  sliced row by row %.2f ms (%.2fx)  sliced in blocks %.2f ms (%.2fx)  (rows %ld, hits %ld)\n",
         best[0], best[1], best[1] / best[0], best[2], best[2] / best[0], n, check[0][0]);
  return 0;
}
