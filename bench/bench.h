/*
 * bench/bench.h - shared pieces of lle-bench.
 *
 * lle-bench measures one allocator on one workload per process run and
 * prints one machine-readable line:
 *
 *     RESULT alloc=NAME workload=NAME key=value ...
 *
 * Every workload is compiled once per adapter (see CMakeLists.txt): the
 * workload files call ba_alloc()/ba_free(), which adapter_lle.h and
 * adapter_malloc.h define as static inline wrappers, so neither allocator
 * pays for an indirect call the other does not.  The symbol of a workload
 * built for adapter X gets the suffix _X (wl_churn_lle, wl_churn_malloc).
 *
 * Everything random comes from one xorshift64* generator with a fixed seed,
 * so the sequence of sizes and slots is the same for every allocator.
 */
#ifndef LLE_BENCH_H
#define LLE_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ------------------------------------------------------------------ options */

typedef struct bench_opts {
    uint64_t    ops;         /* iterations (per thread for churn2t) */
    uint64_t    warmup;      /* untimed operations before the timed ones */
    size_t      slots;       /* live slots of the churn workloads */
    uint64_t    seed;        /* PRNG seed */
    const char *lle_options; /* extra LLE_MEMORY_OPTIONS-style string, or NULL */
} bench_opts_t;

/* ------------------------------------------------------------------ results */

/* The key=value part of the RESULT line, filled by the workload. */
typedef struct bench_result {
    char   text[2048];
    size_t len;
} bench_result_t;

#if defined(__GNUC__)
#define BENCH_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define BENCH_PRINTF(f, a)
#endif

/* Append " key=value" (value formatted with fmt) to r. */
void bench_kv(bench_result_t *r, const char *key, const char *fmt, ...) BENCH_PRINTF(3, 4);

/* Print "lle-bench: <message>" to stderr. */
void bench_error(const char *fmt, ...) BENCH_PRINTF(1, 2);

/* ------------------------------------------------------------------ timing */

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of the calling thread in nanoseconds.  cpu / wall over a timed
 * region (cpu_share in the RESULT lines) shows whether the run had its CPU
 * to itself: well below 1 means it was preempted, by another process on a
 * busy machine or by its own other thread sharing the core. */
static inline uint64_t bench_thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Fine-grained ticks for timing single calls.  On x86-64 this is the TSC
 * (fenced so the measured call cannot drift across the reads); elsewhere it
 * falls back to CLOCK_MONOTONIC, one tick per nanosecond.
 */
#if defined(__x86_64__) && defined(__GNUC__)
#include <x86intrin.h>
static inline uint64_t bench_tick_begin(void)
{
    _mm_lfence();
    uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
}
static inline uint64_t bench_tick_end(void)
{
    unsigned aux;
    uint64_t t = __rdtscp(&aux);
    _mm_lfence();
    return t;
}
/* Unfenced read, for measuring the counter's step. */
static inline uint64_t bench_tick_raw(void) { return __rdtsc(); }
#define BENCH_TICK_SOURCE "tsc"
#else
static inline uint64_t bench_tick_begin(void) { return bench_now_ns(); }
static inline uint64_t bench_tick_end(void) { return bench_now_ns(); }
static inline uint64_t bench_tick_raw(void) { return bench_now_ns(); }
#define BENCH_TICK_SOURCE "clock_monotonic"
#endif

/* Ticks per nanosecond, measured against CLOCK_MONOTONIC over ~50 ms. */
double bench_ticks_per_ns(void);

/* Keep the compiler from eliding or reordering work on p. */
#define BENCH_ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

/* ------------------------------------------------------------------ random */

/* xorshift64* (Vigna): 64-bit state that must never be zero. */
static inline uint64_t bench_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static inline uint64_t bench_seed(uint64_t seed)
{
    return seed ? seed : 0x9E3779B97F4A7C15ULL;
}

/* 16 random bits r mapped onto [0, n) by multiply-shift (n <= 65536). */
static inline uint32_t bench_scale16(uint32_t r16, uint32_t n)
{
    return (uint32_t)(((uint64_t)r16 * n) >> 16);
}

/*
 * The line-editor size mix, drawn from one random word r:
 *   60%  16..64 B      (keys, short strings, events)
 *   30%  65..512 B     (lines, completion candidates)
 *    9%  513..4096 B   (long lines, history entries)
 *    1%  4097..65536 B (pastes, buffers)
 * Bits 0-15 pick the class, bits 16-31 the size inside it; bits 32-63 are
 * left for the caller (the slot index).
 */
static inline size_t bench_mix_size(uint64_t r)
{
    uint32_t cls = bench_scale16((uint32_t)(r & 0xffff), 100);
    uint32_t pos = (uint32_t)((r >> 16) & 0xffff);
    if (cls < 60)
        return 16 + bench_scale16(pos, 64 - 16 + 1);
    if (cls < 90)
        return 65 + bench_scale16(pos, 512 - 65 + 1);
    if (cls < 99)
        return 513 + bench_scale16(pos, 4096 - 513 + 1);
    return 4097 + bench_scale16(pos, 65536 - 4097 + 1);
}

/* Slot index in [0, n) from the high half of r. */
static inline size_t bench_pick_slot(uint64_t r, size_t n)
{
    return (size_t)(((r >> 32) * (uint64_t)n) >> 32);
}

/* ------------------------------------------------------------------ slots */

/*
 * A live block of the churn workloads.  Its first and last byte hold `tag`;
 * they are checked before the block is freed, so two live blocks that
 * overlap (an allocator bug) are caught with probability 255/256.
 */
typedef struct bench_slot {
    unsigned char *p;
    uint32_t       n;
    uint8_t        tag;
} bench_slot_t;

static inline void bench_slot_set(bench_slot_t *s, void *p, size_t n, uint8_t tag)
{
    s->p = (unsigned char *)p;
    s->n = (uint32_t)n;
    s->tag = tag;
    s->p[0] = tag;
    s->p[n - 1] = tag;
}

/* 1 when the tags of a live block are intact. */
static inline int bench_slot_ok(const bench_slot_t *s)
{
    return s->p[0] == s->tag && s->p[s->n - 1] == s->tag;
}

/* ------------------------------------------------------------------ workloads */

typedef int (*bench_workload_fn)(const bench_opts_t *o, bench_result_t *r);

#define BENCH_DECLARE_WORKLOADS(sfx)                                   \
    int wl_pairs48##sfx(const bench_opts_t *o, bench_result_t *r);     \
    int wl_churn##sfx(const bench_opts_t *o, bench_result_t *r);       \
    int wl_churn2t##sfx(const bench_opts_t *o, bench_result_t *r);     \
    int wl_latency##sfx(const bench_opts_t *o, bench_result_t *r);     \
    int wl_overhead##sfx(const bench_opts_t *o, bench_result_t *r);

BENCH_DECLARE_WORKLOADS(_malloc)
#ifndef LLE_BENCH_NO_LLE
BENCH_DECLARE_WORKLOADS(_lle)
#endif

/* Adapters: set up before the workload, torn down (and checked) after. */
int bench_malloc_init(const bench_opts_t *o, bench_result_t *r);
int bench_malloc_fini(bench_result_t *r, int run_failed);
#ifndef LLE_BENCH_NO_LLE
int bench_lle_init(const bench_opts_t *o, bench_result_t *r);
int bench_lle_fini(bench_result_t *r, int run_failed);
/* The overhead workload's report: the manager's statistics. */
int bench_lle_report_stats(bench_result_t *r);
#endif

#endif
