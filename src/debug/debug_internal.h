/*
 * debug_internal.h - the debug allocator's state, shared by the files of
 * src/debug (never installed).
 */
#ifndef LLE_DEBUG_INTERNAL_H
#define LLE_DEBUG_INTERNAL_H

#include "internal.h"

#define LLE__DBG_MAX_FRAMES 32

/* An interned call site (with its backtrace, when one is recorded) and the
 * running totals of the debug blocks allocated there.  Ids are 1-based
 * indexes into dbg->sites and never change. */
typedef struct lle__dsite {
    lle_site_t site;
    uint32_t   frame0;      /* first frame in dbg->frames */
    uint32_t   nframes;
    uint64_t   hash;
    size_t     blocks;      /* live */
    size_t     bytes;       /* live, as asked for */
    uint64_t   allocs;      /* ever */
} lle__dsite_t;

/* The slabs of one (pool, class) of debug blocks. */
typedef struct lle__dbin {
    lle__slab_t *avail;     /* with a free slot */
    lle__slab_t *full;
} lle__dbin_t;

typedef struct lle__dpool {
    lle_debug_config_t cfg;
    _Atomic unsigned   backtrace;   /* cfg.backtrace, read before the lock */
    _Atomic unsigned   guard;       /* cfg.guard, read before the lock */
    _Atomic bool       blocks;      /* a debug-block feature is on (read before the lock) */
    size_t             lead;        /* slot start -> block start (the pool's alignment) */
    lle__dbin_t        bins[LLE__NCLASSES];
    lle__slab_t       *big;         /* slabs of one block (large or over-aligned) */
    struct lle__dhdr  *qhead, *qtail;  /* quarantine, oldest first */
    size_t             qbytes, qblocks;
    size_t             live_blocks, live_bytes, kept_blocks;
    uint64_t           allocs, frees, requested;
} lle__dpool_t;

typedef struct lle__dbg {
    pthread_mutex_t lock;          /* everything below */
    uint64_t        secret;        /* keys guard bytes and header checks */
    lle__dpool_t    pools[LLE_POOL_COUNT];
    lle__dsite_t   *sites;
    size_t          nsites, sites_cap;
    uint32_t       *index;         /* open addressing: site id, 0 empty */
    size_t          index_cap;
    const void    **frames;
    size_t          nframes, frames_cap;
    struct lle__guard *guard;      /* guard-page blocks (guardpage.c; own lock) */
    /* The leak report of lle_memory_manager_destroy. */
    lle_format_t    leak_format;
    lle_text_fn     leak_fn;
    void           *leak_user;
} lle__dbg_t;

/* Sites (site.c), dbg->lock held.  0 when the table cannot grow. */
LLE__HIDDEN uint32_t lle__dsite_intern(lle_memory_manager_t *m, const lle_site_t *site,
                                       const void *pc, const void *const *frames, unsigned nf);
LLE__HIDDEN void lle__dsite_free_all(lle_memory_manager_t *m);
/* The site of id (zero site for 0). */
LLE__HIDDEN lle_site_t lle__dsite_site(const lle__dbg_t *d, uint32_t id);
/* Text for a site: "file:line (func)" or "pc (symbol+off)". */
LLE__HIDDEN void lle__dsite_describe(const lle_site_t *s, char *buf, size_t len);

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
 * the table cannot grow) / count it gone.  Take dbg->lock. */
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
/* After shutdown: the site table and the state itself. */
LLE__HIDDEN void lle__dbg_fini(lle_memory_manager_t *m);
/* Live blocks counted by the site table (for the leak report at destroy). */
LLE__HIDDEN size_t lle__dbg_tracked_live(lle_memory_manager_t *m);
LLE__HIDDEN void lle__dbg_destroy_report(lle_memory_manager_t *m);

#endif
