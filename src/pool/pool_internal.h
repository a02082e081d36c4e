/*
 * pool_internal.h - what the files of src/pool share among themselves.
 */
#ifndef LLE_POOL_INTERNAL_H
#define LLE_POOL_INTERNAL_H

#include "internal.h"

/* The calling thread's heap cache: one entry, keyed by the manager's unique
 * id so that a cache left over from a destroyed manager never matches. */
typedef struct lle__tls {
    uint64_t     id;
    lle__heap_t *h;
} lle__tls_t;

/* initial-exec: an fs-relative load, not a __tls_get_addr call, even in
 * the shared library. */
extern _Thread_local lle__tls_t lle__tls LLE__HIDDEN __attribute__((tls_model("initial-exec")));

/* Heap of the calling thread for m, created or adopted on first use; NULL
 * when the host cannot provide one. */
LLE__HIDDEN lle__heap_t *lle__heap_get_slow(lle_memory_manager_t *m);
static inline lle__heap_t *lle__heap_get(lle_memory_manager_t *m)
{
    if (lle_likely(lle__tls.id == m->id)) return lle__tls.h;
    return lle__heap_get_slow(m);
}
LLE__HIDDEN void lle__heap_collect_remote(lle__heap_t *h);
LLE__HIDDEN void lle__heap_release_empty(lle__heap_t *h);

/* Bitmap helpers. */
static inline uint32_t lle__slab_index(const lle__slab_t *s, const void *p)
{
    uint64_t off = (uint64_t)((const char *)p - s->start);
    return (uint32_t)((off * s->recip) >> 32);
}

/* Slabs and pools (pool.c). */
/* An empty slab of at least `bytes`: the smallest such one the pool holds
 * (its initial slabs are its largest), else a new one of exactly `bytes`;
 * NULL when the pool may not grow, is full, or the host failed. */
LLE__HIDDEN lle__slab_t *lle__pool_take_slab(lle_memory_manager_t *m, int pool, size_t bytes);
LLE__HIDDEN void lle__pool_put_slab(lle_memory_manager_t *m, lle__slab_t *s);
LLE__HIDDEN void lle__slab_destroy(lle_memory_manager_t *m, lle__slab_t *s);
LLE__HIDDEN bool lle__pool_may_grow(const lle_memory_manager_t *m);
/* Smallest class >= class_of(n) whose size is a multiple of align, or
 * LLE__NCLASSES when none is. */
LLE__HIDDEN unsigned lle__class_for(size_t n, size_t align);

/* Large blocks (large.c). */
LLE__HIDDEN void *lle__large_alloc(lle_memory_manager_t *m, int pool, size_t n, size_t align);
LLE__HIDDEN lle_result_t lle__large_free(lle_memory_manager_t *m, void *p);
/* Header of a live large block, or NULL (with *err set) when p is not one. */
LLE__HIDDEN lle__large_hdr_t *lle__large_find(lle_memory_manager_t *m, const void *p,
                                              lle_result_t *err);
LLE__HIDDEN void *lle__large_realloc(lle_memory_manager_t *m, void *p, size_t n);
LLE__HIDDEN void lle__large_release_all(lle_memory_manager_t *m, size_t *blocks, size_t *bytes);
/* Give the large-block cache of `pool` (every pool when pool < 0) back to
 * the host; returns the bytes released. */
LLE__HIDDEN size_t lle__large_cache_release(lle_memory_manager_t *m, int pool);

/* Emergency reserve (emergency.c). */
LLE__HIDDEN void *lle__emerg_alloc(lle_memory_manager_t *m, size_t n, size_t align);
LLE__HIDDEN lle_result_t lle__emerg_free(lle_memory_manager_t *m, lle__slab_t *s, void *p);
LLE__HIDDEN size_t lle__emerg_usable(lle_memory_manager_t *m, lle__slab_t *s, const void *p);
LLE__HIDDEN void lle__emerg_release_all(lle_memory_manager_t *m, size_t *blocks, size_t *bytes);

#endif
