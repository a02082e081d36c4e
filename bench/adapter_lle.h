/*
 * bench/adapter_lle.h - lle-memory's typed pools.
 *
 * Every block comes from LLE_POOL_STRING of one manager, created by
 * bench_lle_init() (adapter_lle.c) with pool limits high enough that the
 * benchmark never reaches them.  A free that the manager refuses counts as
 * an error of the run.
 */
#ifndef LLE_BENCH_ADAPTER_LLE_H
#define LLE_BENCH_ADAPTER_LLE_H

#include <lle/memory.h>

extern lle_memory_manager_t *bench_lle_manager;

static inline void *ba_alloc(size_t n)
{
    return lle_pool_alloc(bench_lle_manager, LLE_POOL_STRING, n);
}

static inline int ba_free(void *p)
{
    return lle_pool_free(bench_lle_manager, p) == LLE_SUCCESS ? 0 : -1;
}

#endif
