/*
 * lle/selftest.h - the test framework of spec section 12, run on the real
 * library, and the report of the section 14 targets.
 *
 * lle_memory_run_self_tests() creates its own managers (with the given
 * configuration as a base), runs the enabled runs, and fills a result struct
 * with what it measured.  The `lle-memory selftest` command is a thin
 * printer over it.
 */
#ifndef LLE_SELFTEST_H
#define LLE_SELFTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lle/config.h"
#include "lle/result.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lle_selftest_run {
    LLE_SELFTEST_BASIC = 0,     /* every pool, sizes, alignment, bad input */
    LLE_SELFTEST_STRESS,        /* random churn against a shadow model */
    LLE_SELFTEST_LEAK,          /* injected leaks must be counted at shutdown */
    LLE_SELFTEST_PERFORMANCE,   /* timed allocation on the line-editor size mix */
    LLE_SELFTEST_CONCURRENCY,   /* threads with cross-thread frees */
    LLE_SELFTEST_RUN_COUNT
} lle_selftest_run_t;

typedef struct lle_selftest_config {
    bool     enable[LLE_SELFTEST_RUN_COUNT];
    size_t   iterations;        /* operations per stress/performance run */
    size_t   threads;           /* concurrency run threads (>= 2) */
    uint64_t seed;              /* random seed; runs are reproducible */
    const lle_memory_config_t *base;  /* NULL: defaults (environment read) */
} lle_selftest_config_t;

typedef struct lle_selftest_run_result {
    bool         ran;
    bool         passed;
    lle_result_t result;
    uint64_t     operations;
    uint64_t     failures;      /* checks that failed */
    double       seconds;
    char         detail[160];   /* first failure, or a one-line summary */
} lle_selftest_run_result_t;

/* One row of the spec 14 report. */
typedef struct lle_selftest_target {
    const char *name;           /* e.g. "allocation time p99" */
    const char *unit;           /* "ns", "%", "ms" */
    double      target;         /* the spec's bound */
    double      measured;
    bool        lower_is_better;
    bool        met;
    bool        measured_valid; /* false: not measured (see `built`) */
    /* Added fields. */
    bool        built;          /* false: the feature does not exist yet, the
                                 * row is "not built yet"; true with
                                 * measured_valid false: the run that
                                 * measures it was disabled or failed */
    const char *relation;       /* how measured must compare to target: "<", ">", ">=" */
    const char *note;           /* how it is measured (run, definition) */
} lle_selftest_target_t;

#define LLE_SELFTEST_MAX_TARGETS 16

typedef struct lle_selftest_result {
    lle_selftest_run_result_t runs[LLE_SELFTEST_RUN_COUNT];
    lle_selftest_target_t     targets[LLE_SELFTEST_MAX_TARGETS];
    size_t                    target_count;
    /* spec 12.1 statistics, all counted in this call:
     *   total/successful/failed_allocations  valid allocation requests the
     *       runs made (alloc, calloc, aligned, realloc to a new size); the
     *       deliberately invalid ones of the basic run are checks, not counted
     *   leaks_detected     blocks lle_memory_shutdown() reported in the leak run
     *   corruption_events  blocks whose contents differed from what was written
     *   *_alloc_ns, allocations_per_second  the performance run (0 when it
     *       did not measure them); peak_host_bytes the largest host_peak of
     *       any manager the runs created */
    uint64_t total_allocations;
    uint64_t successful_allocations;
    uint64_t failed_allocations;
    uint64_t leaks_detected;
    uint64_t corruption_events;
    double   fastest_alloc_ns, slowest_alloc_ns, mean_alloc_ns, p99_alloc_ns;
    double   allocations_per_second;
    size_t   peak_host_bytes;
    size_t   passed_count, failed_count;
    bool     all_passed;
    /* Added fields. */
    double   timer_overhead_ns;          /* empty timed region, subtracted from each sample */
    uint64_t timed_allocations;          /* samples behind the *_alloc_ns figures */
    uint64_t double_frees_attempted;     /* injected by the basic run */
    uint64_t double_frees_detected;      /* of them, answered LLE_ERROR_DOUBLE_FREE */
    uint64_t leaks_injected;             /* blocks the leak run left live on purpose */
} lle_selftest_result_t;

/* Every run enabled, 1,000,000 iterations, 4 threads, seed 1, base NULL. */
void lle_selftest_config_default(lle_selftest_config_t *cfg);
const char *lle_selftest_run_name(lle_selftest_run_t r);

/* Run the enabled runs.  Returns LLE_SUCCESS when every run passed,
 * LLE_ERROR_SELFTEST_FAILED when one failed (details in *out), or a
 * parameter error. */
lle_result_t lle_memory_run_self_tests(const lle_selftest_config_t *cfg,
                                       lle_selftest_result_t *out);

#ifdef __cplusplus
}
#endif
#endif
