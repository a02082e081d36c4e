/*
 * bench/adapter_malloc.h - whatever malloc/free the process resolves.
 *
 * glibc unless another allocator is loaded with LD_PRELOAD (run.sh does so
 * for jemalloc, mimalloc and tcmalloc); adapter_malloc.c reports which
 * shared object really provides malloc.
 */
#ifndef LLE_BENCH_ADAPTER_MALLOC_H
#define LLE_BENCH_ADAPTER_MALLOC_H

#include <stdlib.h>

static inline void *ba_alloc(size_t n)
{
    return malloc(n);
}

static inline int ba_free(void *p)
{
    free(p);
    return 0;
}

#endif
