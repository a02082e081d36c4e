/*
 * debug_internal.h - the debug allocator's state, shared by the files of
 * src/debug (never installed).
 *
 * Two kinds of state (debug.c says how they are used):
 *   - per manager (lle__dbg_t): the secret, each pool's settings, the list
 *     of debug heaps, the interned call sites;
 *   - per thread (lle__dheap_t, one per lle__heap_t that ever made a debug
 *     block): the debug slabs, quarantines, counters and per-site totals of
 *     the blocks in those slabs, and a cache of call-site ids.
 */
#ifndef LLE_DEBUG_INTERNAL_H
#define LLE_DEBUG_INTERNAL_H

#include "internal.h"

#define LLE__DBG_MAX_FRAMES 32

/* An interned call site (with its backtrace, when one is recorded).  Ids
 * are 1-based; a record never moves or changes once its id is published,
 * so it is read without a lock. */
typedef struct lle__dsite {
    lle_site_t   site;
    const void **frames;    /* nframes return addresses (host memory), or NULL */
    uint32_t     nframes;
    uint64_t     hash;
} lle__dsite_t;

/* Site records live in chunks that never move: id - 1 = chunk * SIZE + k. */
#define LLE__DSITE_CHUNK 1024
#define LLE__DSITE_CHUNKS 1024   /* up to 1M sites */

/* Running totals of the debug blocks of one site, kept by one debug heap
 * for the blocks of its slabs.  A site's totals are the sums over heaps. */
typedef struct lle__dcount {
    size_t   blocks;        /* live */
    size_t   bytes;         /* live, as asked for */
    uint64_t allocs;        /* ever */
} lle__dcount_t;

/* Slot layouts (debug.c): blocks with guard bytes, and blocks without. */
#define LLE__DLAYOUTS 2

/* A slot: its slab and index. */
typedef struct lle__dslot {
    lle__slab_t *slab;
    uint32_t     i;
} lle__dslot_t;

/* The slabs of one (pool, layout, class) of debug blocks.  Every slot of
 * them that was used and is free again is on `free`, a stack: the slot
 * given back last is handed out first, while its memory is in cache.  The
 * slots never used yet are handed out in order from `carve` (from
 * carve->hint on).  `free` has room for every slot of the bin, so giving
 * one back never needs memory. */
typedef struct lle__dbin {
    lle__slab_t  *slabs;       /* all of them (s->next, s->prev) */
    lle__slab_t  *carve;       /* NULL: none has never-used slots */
    lle__dslot_t *free;        /* host memory, `room` entries */
    uint32_t      nfree, room;
    uint32_t      nslabs, slots; /* slabs, and their slots */
    uint32_t      bsize;       /* the class's slot size */
} lle__dbin_t;

/* One pool's part of a debug heap.  The quarantine is a ring of the
 * headers of its blocks, oldest first, outside the blocks (host memory,
 * grown by doubling).  `pend` is a second ring, of the slots whose blocks
 * left the quarantine with their freed poison not verified yet (debug.c:
 * "When a freed block's poison and guard bytes are verified"), oldest
 * first; an entry whose slot was reused since is stale and skipped. */
typedef struct lle__dpool {
    lle__dbin_t  bins[LLE__DLAYOUTS][LLE__NCLASSES];
    lle__slab_t *big;         /* slabs of one block (large or over-aligned) */
    char       **ring;        /* quarantine: ring[(qhead + k) & (qcap - 1)], k < qblocks */
    size_t       qcap, qhead, qblocks, qbytes;
    lle__dslot_t *pend;       /* pend[(phead + k) & (pcap - 1)], k < pblocks */
    size_t       pcap, phead, pblocks, pbytes;   /* pbytes: their slots' bytes */
    size_t       live_blocks, live_bytes, kept_blocks;
    uint64_t     allocs, frees, requested;
} lle__dpool_t;

/* A thread's recently used call sites: site (or return address) -> id. */
typedef struct lle__dcache {
    const char *file, *func;
    const void *pc;
    int         line;
    uint32_t    id;
} lle__dcache_t;
#define LLE__DCACHE 64   /* entries, a power of two */

/* A debug heap.  Everything in it, and in the slots of its slabs, belongs
 * to whoever holds it: its own thread (the one whose lle__heap_t it hangs
 * on) flags `busy`, any other thread - a free of one of its blocks from
 * elsewhere, a query, a heap check, a report - holds `lock` and flags
 * `want` (debug.c: dh_take). */
typedef struct lle__dheap {
    _Atomic int        busy;
    _Atomic int        want;
    pthread_mutex_t    lock;
    struct lle__dheap *next;        /* dbg->heaps; set before it is published */
    lle__dpool_t       pools[LLE_POOL_COUNT];
    lle__dcount_t     *counts;      /* by site id - 1 */
    size_t             counts_cap;
    lle__dcache_t      cache[LLE__DCACHE];
} lle__dheap_t;

/* A pool's settings.  cfg is read and written under dbg->lock; allocation
 * reads the atomics without a lock. */
typedef struct lle__dset {
    lle_debug_config_t cfg;
    _Atomic unsigned   feat;        /* features of new blocks (F_* of debug.c) */
    _Atomic unsigned   backtrace;
    _Atomic unsigned   guard;       /* cfg.guard: 1 every allocation, N one in N, 0 none */
    _Atomic bool       blocks;      /* a debug-block feature is on */
    _Atomic size_t     quarantine;
    /* Slot start -> block start at the pool's alignment, per layout. */
    size_t             lead[LLE__DLAYOUTS];
    /* The size class of the slot of a block of n <= LLE__TABLE_MAX bytes
     * at the pool's alignment, by layout and (n + 15) >> 4. */
    uint8_t            cls[LLE__DLAYOUTS][LLE__SMALL_TABLE];
} lle__dset_t;

typedef struct lle__dbg {
    pthread_mutex_t lock;          /* settings, new debug heaps, the leak report */
    uint64_t        secret;        /* keys guard bytes and header checks */
    lle__dset_t     pools[LLE_POOL_COUNT];
    _Atomic(lle__dheap_t *) heaps; /* every debug heap, newest first; never shrinks */
    /* Sites: records in chunks, published by nsites (release); the index
     * (open addressing: site id, 0 empty) is used under site_lock. */
    pthread_mutex_t site_lock;
    _Atomic(lle__dsite_t *) chunks[LLE__DSITE_CHUNKS];
    _Atomic size_t  nsites;
    uint32_t       *index;
    size_t          index_cap;
    /* Live guard-page blocks by site (index id - 1), under site_lock:
     * guardpage.c keeps no per-thread state (lle__dbg_site_add/sub). */
    lle__dcount_t  *gcounts;
    size_t          gcounts_cap;
    struct lle__guard *guard;      /* guard-page blocks (guardpage.c; own lock) */
    /* The leak report of lle_memory_manager_destroy. */
    lle_format_t    leak_format;
    lle_text_fn     leak_fn;
    void           *leak_user;
} lle__dbg_t;

/* Every debug heap of d (they live as long as the manager). */
#define LLE__EACH_DHEAP(d, dh)                                                        \
    for (lle__dheap_t *dh = atomic_load_explicit(&(d)->heaps, memory_order_acquire); dh; \
         dh = dh->next)

/* Sites (site.c).  Intern: the id of the site (taking site_lock), 0 when
 * the table cannot grow. */
LLE__HIDDEN uint32_t lle__dsite_intern(lle_memory_manager_t *m, const lle_site_t *site,
                                       const void *pc, const void *const *frames, unsigned nf);
LLE__HIDDEN void lle__dsite_free_all(lle_memory_manager_t *m);
/* Sites interned so far (ids 1..n). */
static inline size_t lle__dsite_count(const lle__dbg_t *d)
{
    return atomic_load_explicit(&d->nsites, memory_order_acquire);
}
/* The record of id, 1 <= id <= lle__dsite_count(d). */
static inline const lle__dsite_t *lle__dsite_get(const lle__dbg_t *d, uint32_t id)
{
    size_t k = (size_t)id - 1;
    return &atomic_load_explicit(&d->chunks[k / LLE__DSITE_CHUNK],
                                 memory_order_acquire)[k % LLE__DSITE_CHUNK];
}
/* The site of id (zero site for 0). */
LLE__HIDDEN lle_site_t lle__dsite_site(const lle__dbg_t *d, uint32_t id);

/* ---- what guardpage.c asks of debug.c ---- */

/* The guard-byte key of the block or slot at `where`; the pattern of key
 * written over [from, to); the first byte of [from, to) that differs from
 * it, or NULL. */
LLE__HIDDEN uint64_t lle__dbg_key(const lle__dbg_t *d, const void *where);
LLE__HIDDEN void lle__gbytes_fill(uint64_t key, char *from, char *to);
LLE__HIDDEN const char *lle__gbytes_find(uint64_t key, const char *from, const char *to);
/* Whether pool records sites in the audit trail / poisons fresh blocks. */
LLE__HIDDEN bool lle__dbg_tracks(lle_memory_manager_t *m, int pool);
LLE__HIDDEN bool lle__dbg_poisons(lle_memory_manager_t *m, int pool);
/* Count a live block of n bytes at a site (interned; id returned, 0 when
 * the table cannot grow) / count it gone.  Take site_lock. */
LLE__HIDDEN uint32_t lle__dbg_site_add(lle_memory_manager_t *m, const lle_site_t *site,
                                       const void *pc, size_t n);
LLE__HIDDEN void lle__dbg_site_sub(lle_memory_manager_t *m, uint32_t id, size_t n);
LLE__HIDDEN lle_recovery_t lle__dbg_strategy(lle_memory_manager_t *m, lle_result_t code);
/* A block of pool for a realloc: as a fresh allocation of the pool would
 * be served (a guard-page or debug block when the pool's mode says so). */
LLE__HIDDEN void *lle__dbg_alloc_like(lle_memory_manager_t *m, int pool, size_t n,
                                      const lle_site_t *site, const void *pc);

/* ---- guardpage.c ---- */

typedef struct lle__guard lle__guard_t;
LLE__HIDDEN lle_result_t lle__guard_init(lle_memory_manager_t *m);
/* Shutdown: count the live guard-page blocks, unmap every region. */
LLE__HIDDEN void lle__guard_release(lle_memory_manager_t *m, size_t *blocks, size_t *bytes);
LLE__HIDDEN void lle__guard_fini(lle_memory_manager_t *m);
/* A block of n bytes on guard pages, or NULL (nothing reported). */
LLE__HIDDEN void *lle__guard_alloc(lle_memory_manager_t *m, int pool, size_t n, size_t align,
                                   const lle_site_t *site, const void *pc);
/* Free, realloc, query of p, a pointer into guard region slab s. */
LLE__HIDDEN lle_result_t lle__guard_free(lle_memory_manager_t *m, lle__slab_t *s, void *p,
                                         const lle_site_t *site, const void *pc);
LLE__HIDDEN void *lle__guard_realloc(lle_memory_manager_t *m, lle__slab_t *s, void *p, size_t n,
                                     const lle_site_t *site, const void *pc);
LLE__HIDDEN lle_result_t lle__guard_query(lle_memory_manager_t *m, lle__slab_t *s, const void *p,
                                          lle_block_info_t *out);
/* The heap check of guard-page blocks: problems found (each reported),
 * the code of the first in *first. */
LLE__HIDDEN size_t lle__guard_check(lle_memory_manager_t *m, lle_result_t *first);
/* Adds the pool's guard-page blocks to out. */
LLE__HIDDEN void lle__guard_pool_stats(lle_memory_manager_t *m, int pool,
                                       lle__dbg_pool_stats_t *out);
/* The pool's configuration changed (placement). */
LLE__HIDDEN void lle__guard_config(lle_memory_manager_t *m, int pool, const lle_debug_config_t *c);
/* For a pool of debug blocks sampling one allocation in every: this one? */
LLE__HIDDEN bool lle__guard_sampled(unsigned every);

/* Set up and tear down (debug.c); called by the manager. */
LLE__HIDDEN lle_result_t lle__dbg_init(lle_memory_manager_t *m);
/* Shutdown: count the live debug blocks, give every debug slab back. */
LLE__HIDDEN void lle__dbg_release(lle_memory_manager_t *m, size_t *blocks, size_t *bytes);
/* After shutdown: the site table, the debug heaps and the state itself. */
LLE__HIDDEN void lle__dbg_fini(lle_memory_manager_t *m);
/* The per-site totals summed over every debug heap: a host array (meta)
 * of *n entries (index id - 1), or NULL with *n 0 when there are no sites
 * or no memory (*oom).  Free with lle__dbg_totals_free. */
LLE__HIDDEN lle__dcount_t *lle__dbg_totals(lle_memory_manager_t *m, size_t *n, bool *oom);
LLE__HIDDEN void lle__dbg_totals_free(lle_memory_manager_t *m, lle__dcount_t *t, size_t n);
/* Live blocks counted by the sites (for the leak report at destroy). */
LLE__HIDDEN size_t lle__dbg_tracked_live(lle_memory_manager_t *m);
LLE__HIDDEN void lle__dbg_destroy_report(lle_memory_manager_t *m);
/* The call site with the most live tracked bytes (ties: the first
 * interned), with its blocks and bytes; false when no tracked block is
 * live (or no memory for the count). */
LLE__HIDDEN bool lle__dbg_top_site(lle_memory_manager_t *m, lle_site_t *site, size_t *blocks,
                                   size_t *bytes);

#endif
