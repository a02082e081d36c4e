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
