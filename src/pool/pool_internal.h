/*
 * pool_internal.h - what the files of src/pool share among themselves.
 */
#ifndef LLE_POOL_INTERNAL_H
#define LLE_POOL_INTERNAL_H

#include "internal.h"

/* The calling thread's heap cache: one entry, keyed by the manager's unique
 * id so that a cache left over from a destroyed manager never matches.
 * `root` is the manager's page-map root: the free fast path reads it from
 * here, in parallel with the id, not through the manager. */
typedef struct lle__tls {
    uint64_t           id;
    lle__heap_t       *h;
    _Atomic uintptr_t *root;
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

/* Block arithmetic by multiply (Lemire, Kaser and Kurz, "Faster remainder
 * by direct computation", 2019): with magic = UINT64_MAX / bsize + 1, the
 * high half of off * magic is off / bsize and the low half is below magic
 * exactly when bsize divides off, for every off < 2^32 (a slab's offsets
 * are below 2^19). */
__extension__ typedef unsigned __int128 lle__u128;

static inline uint64_t lle__slab_magic(uint32_t bsize)
{
    return UINT64_MAX / bsize + 1;
}

/* Index of the block of s that holds p (p inside the slab's memory). */
static inline uint32_t lle__slab_index(const lle__slab_t *s, const void *p)
{
    uint64_t off = (uint64_t)((const char *)p - s->start);
    return (uint32_t)(((lle__u128)off * s->magic) >> 64);
}

/* The state of each block of a SMALL slab, one byte a block, indexed by
 * block number (i <= capacity < tail: the byte past the last block, for a
 * pointer into the slab's tail, is always FREE).  A byte rather than bits:
 * the fast paths read and write it with one instruction, no mask, and
 * another thread's free changes it by compare-and-swap without touching
 * its neighbours.
 *   FREE    on a free list, never used, or past the last block;
 *   LIVE    handed out (the owner writes it, relaxed);
 *   REMOTE  freed by another thread (LIVE -> REMOTE by CAS), on the slab's
 *           thread_free list until the owner collects it (-> FREE).
 * A free is valid exactly when the byte is LIVE. */
enum { LLE__ST_FREE = 0, LLE__ST_LIVE = 1, LLE__ST_REMOTE = 2 };

static inline _Atomic uint8_t *lle__slab_state(lle__slab_t *s, uint32_t i)
{
    return (_Atomic uint8_t *)(void *)s->bits + i;
}

static inline unsigned lle__slab_state_get(lle__slab_t *s, uint32_t i)
{
    return atomic_load_explicit(lle__slab_state(s, i), memory_order_relaxed);
}

static inline void lle__slab_state_set(lle__slab_t *s, uint32_t i, unsigned st)
{
    atomic_store_explicit(lle__slab_state(s, i), (uint8_t)st, memory_order_relaxed);
}

/* Index of the block of s that starts at p, or UINT32_MAX when p (inside
 * the slab's memory) is not the first byte of a block.  The index may be
 * `capacity` (p in the slab's tail): its state is always FREE. */
static inline uint32_t lle__slab_block_at(const lle__slab_t *s, const void *p)
{
    uint64_t off = (uint64_t)((const char *)p - s->start);
    lle__u128 q = (lle__u128)off * s->magic;
    return lle_likely((uint64_t)q < s->magic) ? (uint32_t)(q >> 64) : UINT32_MAX;
}

/* `used` of a slab on its bin's full list carries this flag. */
#define LLE__IN_FULL 0x80000000u
static inline uint32_t lle__slab_live(const lle__slab_t *s) { return s->used & ~LLE__IN_FULL; }
static inline bool lle__slab_in_full(const lle__slab_t *s) { return (s->used & LLE__IN_FULL) != 0; }
/* A local free's count: take one from s->used and tell whether the slab
 * must now be released (empty, not current) or moved off the full list,
 * that is whether used is now 0 or at least LLE__IN_FULL: as a signed
 * number, not above 0.  On x86-64 one memory-destination subtract whose
 * flags are the answer (the owner alone writes `used`); under
 * ThreadSanitizer and elsewhere plain C. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(LLE__CTR_PORTABLE)
static inline bool lle__slab_free_count(lle__slab_t *s)
{
    bool le;
    __asm__("subl $1, %0" : "+m"(s->used), "=@ccle"(le));
    return le;
}
#else
static inline bool lle__slab_free_count(lle__slab_t *s)
{
    return (int32_t)--s->used <= 0;
}
#endif

/* Slabs and pools (pool.c). */
/* An empty slab of at least `bytes` with a state byte for each of its
 * blocks of bsize bytes: the smallest such one the pool holds (its initial
 * slabs are its largest, made for blocks of 16 bytes), else a new one of
 * exactly `bytes` made for bsize; NULL when the pool may not grow, is
 * full, or the host failed. */
LLE__HIDDEN lle__slab_t *lle__pool_take_slab(lle_memory_manager_t *m, int pool, size_t bytes,
                                             size_t bsize);
LLE__HIDDEN void lle__pool_put_slab(lle_memory_manager_t *m, lle__slab_t *s);
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
/* The live large block with a byte at p (any byte, not only its first):
 * its start, NULL when there is none. */
LLE__HIDDEN void *lle__large_find_containing(lle_memory_manager_t *m, const void *p);
LLE__HIDDEN void lle__large_release_all(lle_memory_manager_t *m, size_t *blocks, size_t *bytes);
/* Give the large-block cache of `pool` (every pool when pool < 0) back to
 * the host; returns the bytes released. */
LLE__HIDDEN size_t lle__large_cache_release(lle_memory_manager_t *m, int pool);

/* Emergency reserve (emergency.c). */
LLE__HIDDEN void *lle__emerg_alloc(lle_memory_manager_t *m, size_t n, size_t align);
LLE__HIDDEN lle_result_t lle__emerg_free(lle_memory_manager_t *m, lle__slab_t *s, void *p);
LLE__HIDDEN size_t lle__emerg_usable(lle_memory_manager_t *m, lle__slab_t *s, const void *p);
/* The live block of the reserve's slab s with a byte at p (any byte), or
 * NULL. */
LLE__HIDDEN void *lle__emerg_block_containing(lle_memory_manager_t *m, lle__slab_t *s,
                                              const void *p);
LLE__HIDDEN void lle__emerg_release_all(lle_memory_manager_t *m, size_t *blocks, size_t *bytes);

#endif
