/*
 * lle/stats.h - statistics (spec 2.1, 14), resize history and listeners.
 *
 * Every number here is counted by the allocator as it works; none is an
 * estimate or a constant.  Definitions (per pool, and summed for the total):
 *
 *   requested_bytes   sum of the sizes asked for by every allocation so far
 *   granted_bytes     sum of the block sizes handed out for them
 *   in_use_bytes      bytes of the blocks live now (block sizes)
 *   live_blocks       blocks live now
 *   slab_bytes        bytes of slabs the pool holds from the host
 *   large_bytes       bytes of large blocks held from the host (headers
 *                     included), live ones and those kept for reuse
 *   large_cached_bytes the part of large_bytes kept for reuse (freed blocks
 *                     of the large-block cache, see config large_cache)
 *   reserved_bytes    slab_bytes + large_bytes
 *   peak_reserved     the largest reserved_bytes seen
 *   utilization       in_use_bytes / reserved_bytes (0 when nothing reserved)
 *   internal_fragmentation  1 - requested_bytes / granted_bytes: the share of
 *                     handed-out bytes lost to size-class rounding
 *   external_fragmentation  free bytes inside slabs that are assigned to a
 *                     size class / bytes of those slabs: memory that cannot
 *                     serve other sizes
 *
 * The total also counts the secure pool's mappings (lle/secure.h), which
 * belong to no pool's row: its mapped bytes (guard pages included) in
 * reserved_bytes and peak_reserved, its live blocks (their sizes) in
 * in_use_bytes and live_blocks, its allocations and frees, its mappings in
 * slabs.  lle_secure_get_stats has the detail; the JSON has it as "secure".
 *
 * Totals add the manager's own bookkeeping:
 *   metadata_bytes    slab headers and bitmaps, per-thread heaps, the page
 *                     map's leaves, the manager itself, large-block headers
 *   host_bytes        everything held from the host (pools + metadata +
 *                     emergency reserve)
 *   map_root_bytes    the page map's root: a mapping of the manager's own,
 *                     not host memory, 32 MiB of address space of which
 *                     only the 4 KiB pages written take memory; this
 *                     counts those pages
 *   metadata_overhead (metadata_bytes + map_root_bytes) /
 *                     (host_bytes + map_root_bytes)
 */
#ifndef LLE_STATS_H
#define LLE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "lle/config.h"
#include "lle/manager.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lle_pool_stats {
    uint64_t alloc_count;        /* allocations served by this pool */
    uint64_t free_count;
    uint64_t requested_bytes;
    uint64_t granted_bytes;
    size_t   in_use_bytes;
    size_t   live_blocks;
    size_t   slab_bytes;
    size_t   large_bytes;
    size_t   large_cached_bytes;
    size_t   reserved_bytes;
    size_t   peak_reserved;
    size_t   max_size;           /* configured limit */
    size_t   slabs;              /* slabs held (assigned + empty) */
    size_t   empty_slabs;        /* held but holding no block */
    uint64_t grow_count;         /* resize events, see the history */
    uint64_t shrink_count;
    uint64_t limit_hits;         /* times the pool was full and passed on */
    /* Debug blocks (lle/guard.h), also counted in the fields above. */
    size_t   debug_blocks;       /* live debug blocks */
    size_t   debug_slab_bytes;   /* bytes of debug slabs (in reserved_bytes) */
    size_t   quarantined_blocks; /* freed, waiting in the quarantine */
    size_t   quarantined_bytes;  /* their slot bytes */
    size_t   kept_blocks;        /* withheld for good by a recovery strategy */
    size_t   guarded_blocks;     /* live blocks on guard pages (also in debug_blocks) */
    double   utilization;
    double   internal_fragmentation;
    double   external_fragmentation;
} lle_pool_stats_t;

typedef struct lle_memory_stats {
    lle_pool_stats_t pools[LLE_POOL_TABLE_SIZE];  /* 8 typed pools + secondary */
    lle_pool_stats_t total;                       /* sums (ratios recomputed) */

    /* Hierarchy (spec 4.2): where each allocation was served. */
    uint64_t primary_allocations;
    uint64_t secondary_allocations;
    uint64_t emergency_allocations;
    uint64_t failed_allocations;

    /* Emergency reserve. */
    size_t   emergency_capacity;
    size_t   emergency_in_use;
    uint64_t emergency_refills;

    /* Errors returned by free/realloc. */
    uint64_t invalid_frees;
    uint64_t double_frees;

    /* Host traffic and bookkeeping. */
    size_t   host_bytes;
    size_t   host_peak;
    size_t   metadata_bytes;
    size_t   map_root_bytes;
    uint64_t host_alloc_calls;
    uint64_t host_free_calls;
    uint64_t host_failures;
    double   metadata_overhead;

    /* Rates since creation (monotonic clock). */
    double   uptime_seconds;
    double   allocation_rate;    /* allocations per second */
    size_t   threads;            /* per-thread heaps created so far */
    int      state;              /* lle_memory_state_t */
} lle_memory_stats_t;

/* Fill *out.  Counters of other threads are read without stopping them, so
 * while they run the totals are a moment's picture, exact once they rest. */
lle_result_t lle_memory_get_stats(lle_memory_manager_t *m, lle_memory_stats_t *out);

/*
 * Write the statistics as one JSON object into buf (snprintf rules: at most
 * len bytes including the NUL).  *needed (may be NULL) gets the length the
 * whole text needs, without the NUL.  Returns LLE_ERROR_BUFFER_TOO_SMALL when
 * it did not fit (buf then holds a truncated, NUL-terminated prefix).
 */
lle_result_t lle_memory_stats_json(lle_memory_manager_t *m, char *buf, size_t len,
                                   size_t *needed);

/* Why a pool changed size. */
typedef enum lle_resize_reason {
    LLE_RESIZE_INITIAL = 0,    /* initial slabs at creation */
    LLE_RESIZE_GROW_DEMAND,    /* a size class needed a slab: one slab */
    LLE_RESIZE_GROW_FACTOR,    /* utilisation above grow_threshold: x growth_factor */
    LLE_RESIZE_SHRINK,         /* utilisation below shrink_threshold */
    LLE_RESIZE_TRIM,           /* lle_memory_trim / LOW_MEMORY / OPTIMIZING */
    LLE_RESIZE_RELEASE         /* the manager shut down */
} lle_resize_reason_t;

typedef struct lle_resize_event {
    int                 pool;      /* lle_memory_pool_type_t or LLE_POOL_SECONDARY */
    size_t              old_size;  /* slab bytes before */
    size_t              new_size;  /* slab bytes after */
    lle_resize_reason_t reason;
    uint64_t            time_ns;   /* CLOCK_MONOTONIC */
} lle_resize_event_t;

const char *lle_resize_reason_name(lle_resize_reason_t r);

/* Copy up to max of the most recent resize events of `pool` (oldest first)
 * into out; *count gets the number copied.  A pool's size here is its slab
 * bytes: large blocks are counted in the statistics, not as resizes. */
lle_result_t lle_pool_resize_history(lle_memory_manager_t *m, int pool, lle_resize_event_t *out,
                                     size_t max, size_t *count);

/* Resize listeners, called after each resize with the pool lock released.
 * Up to 8 per manager.  A listener must not free or allocate from the pool
 * whose resize it is told of. */
typedef void (*lle_resize_fn)(void *user, const lle_resize_event_t *ev);
lle_result_t lle_memory_add_resize_listener(lle_memory_manager_t *m, lle_resize_fn fn, void *user);
lle_result_t lle_memory_remove_resize_listener(lle_memory_manager_t *m, lle_resize_fn fn,
                                               void *user);

#ifdef __cplusplus
}
#endif
#endif
