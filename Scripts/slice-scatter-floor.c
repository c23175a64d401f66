// The floor of counting W1's rows by slice: what one scattered increment per
// row costs on this machine, into a histogram of AUC's cells for one slice
// (402 counters, in L1) and for 1,000 slices (402,000 16-bit counters,
// 0.8 MB, in L2), in plain C with the cells computed beforehand. The unsliced
// pass pays the first; every sliced pass, however written, pays the second.
// The last row is W1's sliced run as `tally evaluate` counts it: binary
// accuracy's 4 cells and AUC's 402 side by side in a slot's row, both in one
// loop, with each slot's rows counted (SliceCounter's 16-bit counters).
//
//   cc -O2 -o /tmp/slice-scatter-floor Scripts/slice-scatter-floor.c
//   /tmp/slice-scatter-floor .bench-data
//
// (`.bench-data` from `python3 ../shared/bench/peers.py write-data` and
// `Scripts/bench-evaluation.py`: w1_y_true.npy, w1_y_pred.npy float32,
// w1_slices1000.npy int64.) One thread; prints ns per row, best of 5.

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

enum { ROWS = 10000000, SLICES = 1000, CELLS = 402, BA = 4 };

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

// The data of a .npy file of `bytes` bytes of data after a 128-byte header.
static const void *load(const char *dir, const char *name, size_t bytes) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_RDONLY);
  struct stat s;
  if (fd < 0 || fstat(fd, &s) != 0 || (size_t)s.st_size != bytes + 128) {
    fprintf(stderr, "slice-scatter-floor: %s is not a .npy of %zu data bytes\n", path, bytes);
    exit(1);
  }
  const char *m = mmap(NULL, (size_t)s.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  if (m == MAP_FAILED) {
    perror("mmap");
    exit(1);
  }
  return m + 128;
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : ".bench-data";
  const float *y = load(dir, "w1_y_true.npy", ROWS * 4);
  const float *p = load(dir, "w1_y_pred.npy", ROWS * 4);
  const int64_t *key = load(dir, "w1_slices1000.npy", ROWS * 8);
  int32_t *slice = malloc(ROWS * 4), *cell = malloc(ROWS * 4), *accuracy = malloc(ROWS * 4);
  uint16_t *one = calloc(CELLS, 2), *many = calloc((size_t)SLICES * CELLS, 2);
  uint16_t *both = calloc((size_t)SLICES * (BA + CELLS), 2), *since = calloc(SLICES, 2);
  if (!slice || !cell || !accuracy || !one || !many || !both || !since) return 1;
  // AUC's cell of 200 evenly spaced thresholds: 2·(bucket + 1) + label.
  for (int i = 0; i < ROWS; i++) {
    float x = (p[i] < 0 ? 0 : p[i] > 1 ? 1 : p[i]) * 199;
    int whole = (int)x, up = whole + ((float)whole < x);
    cell[i] = 2 * (up < 1 ? 1 : up) + (y[i] == 1.0f);
    accuracy[i] = 2 * (y[i] == 1.0f) + (p[i] > 0.5f);
    slice[i] = (int32_t)key[i];
    if (key[i] < 0 || key[i] >= SLICES) return 1;
  }
  double best[3] = {1e9, 1e9, 1e9};
  unsigned most = 0;
  for (int round = 0; round < 5; round++) {
    double t0 = now();
    for (int i = 0; i < ROWS; i++) one[cell[i]]++;
    double t1 = now();
    for (int i = 0; i < ROWS; i++) many[slice[i] * CELLS + cell[i]]++;
    double t2 = now();
    for (int i = 0; i < ROWS; i++) {
      uint16_t *row = both + slice[i] * (BA + CELLS);
      row[accuracy[i]]++;
      row[BA + cell[i]]++;
      uint16_t s = ++since[slice[i]];
      most = s > most ? s : most;
    }
    double t3 = now();
    if (t1 - t0 < best[0]) best[0] = t1 - t0;
    if (t2 - t1 < best[1]) best[1] = t2 - t1;
    if (t3 - t2 < best[2]) best[2] = t3 - t2;
  }
  printf("one histogram (402 counters):               %.2f ns/row\n", best[0] / ROWS * 1e9);
  printf("by slice (1,000 x 402 16-bit counters):     %.2f ns/row\n", best[1] / ROWS * 1e9);
  printf("by slice, accuracy and AUC in one loop:     %.2f ns/row\n", best[2] / ROWS * 1e9);
  // (The counts, so the loops are not optimized away.)
  unsigned sum = 0;
  for (int i = 0; i < CELLS; i++) sum += one[i];
  for (int i = 0; i < SLICES * CELLS; i++) sum += many[i];
  for (int i = 0; i < SLICES * (BA + CELLS); i++) sum += both[i];
  sum += most;
  fprintf(stderr, "(%u increments)\n", sum);
  return 0;
}
