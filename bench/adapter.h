/*
 * bench/adapter.h - the allocator a workload file is compiled against.
 *
 * Each workload file is compiled twice, with BENCH_ADAPTER_LLE or with
 * BENCH_ADAPTER_MALLOC defined.  This header then provides
 *
 *     void *ba_alloc(size_t n);   a block of n bytes, NULL on failure
 *     int   ba_free(void *p);     0 when the allocator accepted the free
 *
 * as static inline calls straight into the allocator, and WL(name), which
 * gives a workload's entry point its adapter suffix.
 */
#ifndef LLE_BENCH_ADAPTER_H
#define LLE_BENCH_ADAPTER_H

#include "bench.h"

#define BENCH_PASTE2(a, b) a##b
#define BENCH_PASTE(a, b) BENCH_PASTE2(a, b)

#if defined(BENCH_ADAPTER_LLE)
#include "adapter_lle.h"
#define WL(name) BENCH_PASTE(name, _lle)
#elif defined(BENCH_ADAPTER_MALLOC)
#include "adapter_malloc.h"
#define WL(name) BENCH_PASTE(name, _malloc)
#else
#error "compile with -DBENCH_ADAPTER_LLE or -DBENCH_ADAPTER_MALLOC"
#endif

#endif
