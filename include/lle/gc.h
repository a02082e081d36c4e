/*
 * lle/gc.h - the cycle collector (spec 5.2) and idle-time upkeep.
 *
 * Reference counting frees an object as soon as its last reference goes.
 * What it cannot free is a group of objects that point at each other and
 * that nothing else reaches any more (a history entry and its completion
 * cache pointing back at it, a parent and child with pointers both ways).
 * The collector finds those among the tracked objects (lle/ref.h) and
 * destroys them like a last release would.
 *
 * How: for a set of tracked objects it counts, for each object, the
 * references that come from other objects of the set (through the types'
 * traverse callbacks).  An object whose count is larger is referenced from
 * outside the set (a local variable, a global, an object not in the set):
 * it and everything it reaches through the set is alive.  The rest is
 * unreachable and is destroyed.  No root registration, no stack scanning,
 * no write barrier: what the counts say is exact, so the collector never
 * frees an object that is reachable, whatever set it examines.
 *
 * Generations: new tracked objects are young.  A young collection examines
 * only them (references from old objects count as outside references) and
 * makes the survivors old.  A full collection finds every unreachable group
 * of the heap: it reads the count of every tracked object, then examines
 * the objects released since a full collection last examined them and all
 * that these reach (an object can only become unreachable through a
 * release).  A heap left alone since the last full collection costs one
 * read per object; when what changed reaches more than half the heap, the
 * whole heap is examined.  With
 * the MARK_SWEEP strategy every collection is full; MARK_SWEEP_COMPACT is
 * full and then returns the slabs its frees emptied to the host (objects
 * never move: "compaction" here gives memory back, it does not relocate).
 *
 * When collections run: a young collection may run inside lle_ref_new (see
 * young_in_alloc).  Full collections run only when asked: lle_gc_collect,
 * lle_memory_idle (in steps that fit its time budget), the background
 * thread when enabled, entering the GC_RUNNING or LOW_MEMORY state.  So an
 * allocation never waits for more than a young collection.
 */
#ifndef LLE_GC_H
#define LLE_GC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lle/config.h"
#include "lle/manager.h"
#include "lle/result.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lle_gc_strategy {
    LLE_GC_GENERATIONAL = 0,    /* young and old generations (the default) */
    LLE_GC_MARK_SWEEP,          /* one generation: every collection is full */
    LLE_GC_MARK_SWEEP_COMPACT,  /* full, then emptied slabs go back to the host */
    LLE_GC_STRATEGY_COUNT
} lle_gc_strategy_t;

typedef struct lle_gc_config {
    lle_gc_strategy_t strategy;
    /* A young collection is due when this many tracked objects were created
     * since the last one (default 2000, at least 16). */
    size_t young_threshold;
    /* Run a due young collection inside lle_ref_new (default true).  When
     * false, young collections also wait for the calls listed above. */
    bool young_in_alloc;
    /* A full collection is due when the old generation has grown by this
     * percentage since the last full collection (default 25, 1..1000). */
    unsigned old_growth_percent;
    /* A full collection is due when this many bytes of objects were
     * created since the last one (default 8 MiB; 0: no such trigger). */
    size_t trigger_bytes;
    /* A full collection is due when the object pool's utilisation (bytes of
     * live blocks in its slabs / its slab bytes) is below this while it
     * holds at least 1 MiB of slabs (default 0.5; 0: no such trigger). */
    double trigger_utilization;
    /* A full collection is due when this many milliseconds have passed
     * since the last one and objects were created meanwhile (default 0:
     * no such trigger). */
    uint64_t trigger_interval_ms;
    /* Run a background thread that does idle upkeep (lle_memory_idle with
     * background_budget_us) every background_period_ms (default false,
     * 100 ms, 1000 us).  See lle/ref.h for the one rule it imposes on
     * threads that change references inside tracked objects. */
    bool background;
    uint64_t background_period_ms;
    uint64_t background_budget_us;
    /* Pool objects and weak references come from (default LLE_POOL_CUSTOM).
     * Only changeable while no object exists. */
    lle_memory_pool_type_t pool;
} lle_gc_config_t;

void lle_gc_config_default(lle_gc_config_t *cfg);

/* Apply a configuration (starting or stopping the background thread).
 * LLE_ERROR_INVALID_ARGUMENT for values out of range, or a pool change
 * while objects exist; nothing changes then. */
lle_result_t lle_gc_configure(lle_memory_manager_t *m, const lle_gc_config_t *cfg);
lle_result_t lle_gc_get_config(lle_memory_manager_t *m, lle_gc_config_t *out);

typedef enum lle_gc_scope {
    LLE_GC_YOUNG = 0,   /* the young generation (full under MARK_SWEEP strategies) */
    LLE_GC_FULL         /* the whole heap (what changed is traversed, see above) */
} lle_gc_scope_t;

/*
 * Collect now, whatever is due.  *freed (may be NULL) gets the objects
 * destroyed.  An incremental collection in progress (from lle_memory_idle)
 * is abandoned first.  LLE_ERROR_INVALID_POINTER when a traverse callback
 * reported a pointer that is not a live object of this manager: the
 * collection is abandoned and frees nothing (the report names the object
 * and the pointer).  LLE_ERROR_OUT_OF_MEMORY when the collector's work
 * arrays could not grow (nothing freed).  LLE_ERROR_INVALID_STATE when
 * called from a destroy callback during a collection.
 */
lle_result_t lle_gc_collect(lle_memory_manager_t *m, lle_gc_scope_t scope, size_t *freed);

/* What is due now: 0 nothing, 1 a young collection, 2 a full one. */
int lle_gc_due(lle_memory_manager_t *m);

/* Held by threads that change the references stored inside tracked objects
 * while a collection may run in another thread (see lle/ref.h).  Not
 * recursive; never call lle_gc_collect or lle_memory_idle while holding it. */
void lle_gc_lock(lle_memory_manager_t *m);
void lle_gc_unlock(lle_memory_manager_t *m);

typedef struct lle_gc_stats {
    uint64_t collections;        /* young + full, incremental ones counted once */
    uint64_t young_collections;
    uint64_t full_collections;
    uint64_t incremental_steps;  /* steps of incremental full collections */
    uint64_t objects_freed;      /* destroyed by the collector */
    uint64_t bytes_freed;        /* their bytes, headers included */
    uint64_t resurrected;        /* destroyed but kept alive by their destroy callback */
    uint64_t abandoned;          /* collections stopped by a bad traverse or no memory */
    uint64_t invalid_references; /* pointers from traverse callbacks that were not objects */
    uint64_t compacted_bytes;    /* slab bytes returned to the host by compaction */
    uint64_t full_examined;      /* objects traversed by full collections (lle_gc_collect) */
    size_t   young_objects;      /* tracked objects in each generation now */
    size_t   old_objects;
    size_t   live_objects;       /* every live object, tracked or not */
    size_t   live_bytes;         /* their bytes, headers included */
    uint64_t objects_created;
    uint64_t last_pause_ns;      /* pauses: one collection (or one incremental step) */
    uint64_t fastest_pause_ns;
    uint64_t slowest_pause_ns;
    uint64_t average_pause_ns;
    uint64_t total_pause_ns;
} lle_gc_stats_t;

lle_result_t lle_gc_get_stats(lle_memory_manager_t *m, lle_gc_stats_t *out);

/* ---- idle-time upkeep ---------------------------------------------------- */

typedef struct lle_idle_report {
    uint64_t elapsed_ns;         /* time the call took */
    uint64_t gc_steps;           /* collection steps run */
    size_t   objects_freed;      /* by those steps */
    size_t   bytes_trimmed;      /* empty slabs returned to the host */
    bool     reserve_refilled;   /* the emergency reserve was refilled */
    bool     work_left;          /* something due did not fit in the budget */
} lle_idle_report_t;

/*
 * Upkeep while the editor waits for a key: steps of whatever collection is
 * due (a full collection of many objects is split into steps that each fit
 * the time left), then empty slabs beyond what the pools' utilisation
 * needs go back to the host, then a used emergency reserve is refilled.
 * It starts no step it does not expect to finish within budget_ns (the
 * cost of each kind of step is measured as the collector runs), and
 * returns early when nothing is left to do.  report may be NULL.
 * LLE_ERROR_INVALID_STATE after shutdown.
 * After the collection steps come the secure pool's key rotation and cold
 * sealing, when configured (lle/secure.h, secure.rotate, secure.cold_seal).
 */
lle_result_t lle_memory_idle(lle_memory_manager_t *m, uint64_t budget_ns,
                             lle_idle_report_t *report);

#ifdef __cplusplus
}
#endif
#endif
