/*
 * gc_internal.h - reference-counted objects and their collector, shared by
 * src/ref (objects, weak references) and src/gc (collector, idle steps).
 *
 * An object is a pool block: a 48-byte header (lle__obj_t), then the
 * caller's bytes.  The count word keeps the references in its low 40 bits,
 * then the DIRTY bit, and a change counter in its high 23: every retain
 * and release adds to the counter, so a collector that saw the word once
 * can tell later whether anyone touched the object since (see gc.c, "the
 * change test").
 *
 * Tracked objects (types with a traverse callback) sit in one of two
 * generation arrays (young, old) at index idx; removal swaps the last
 * element in.  Arrays, collections and the incremental state are guarded
 * by gc->lock.  A whole collection, including the destroy callbacks of
 * what it found, is serialised by gc->collect_lock (taken first).
 *
 * Weak references: an object with weak references has a control block
 * (lle__weakcb_t) whose target is the object until it starts dying.
 * Upgrading a weak reference reads the target and increments the count,
 * refusing a count of 0, under the control block's stripe lock; dying
 * clears the target under the same lock while the count is 0 (last
 * release) or while every stripe is held (the collector).  Either way no
 * weak reference can hand out an object once its destruction has begun.
 *
 * Lock order: collect_lock, lock, weak stripes (in index order), then the
 * pool locks (through lle_pool_*).  No user callback runs with lock or a
 * stripe held; destroy callbacks of collected objects run with
 * collect_lock held (so they may release and create objects, but not
 * start a collection: lle_gc_collect returns LLE_ERROR_INVALID_STATE).
 */
#ifndef LLE_GC_INTERNAL_H
#define LLE_GC_INTERNAL_H

#include "internal.h"

#define LLE__RC_BITS 40
#define LLE__RC_MASK (((uint64_t)1 << LLE__RC_BITS) - 1)
#define LLE__RC_ONE ((uint64_t)1)
/* DIRTY: set by every release (lle_ref_release); cleared only by a full
 * collection as it starts examining the object.  A release is the only
 * way an object can become unreachable, so an object that is not dirty
 * cannot be the way into garbage that a full collection has not seen
 * (gc.c, "dirty closure").  It sits below the change counter so that the
 * counter's wrap-around never carries into it. */
#define LLE__RC_DIRTY ((uint64_t)1 << LLE__RC_BITS)
#define LLE__RC_CHANGE ((uint64_t)1 << (LLE__RC_BITS + 1))
#define LLE__RC_COUNT(w) ((w) & LLE__RC_MASK)

/* gen byte: the generation (none, young, old), plus the CAND flag while the
 * object is in the set of an incremental collection's verification. */
#define LLE__GEN_NONE 0u
#define LLE__GEN_YOUNG 1u
#define LLE__GEN_OLD 2u
#define LLE__GEN_MASK 3u
#define LLE__GEN_CAND 4u

/* flags */
#define LLE__OBJ_FINALIZED 1u  /* destroy has run (or is running): never again, never traversed */
#define LLE__OBJ_DEFERRED 2u   /* dead; memory kept until the incremental collection ends */

#define LLE__OBJ_LIVE 0x0b1eu  /* magic of a live object */
#define LLE__OBJ_DEAD 0xdeadu  /* magic once destruction began */

typedef struct lle__gc lle__gc_t;
typedef struct lle__weakcb lle__weakcb_t;

typedef struct lle__obj {
    _Atomic uint64_t  rc;      /* count | changes << 40 (first 16 bytes: pool link once freed) */
    const lle_type_t *type;
    lle__gc_t        *gc;
    uint32_t          idx;     /* index in its generation array while tracked */
    uint8_t           gen;     /* LLE__GEN_* */
    uint8_t           flags;   /* LLE__OBJ_* */
    uint16_t          magic;   /* LLE__OBJ_LIVE / LLE__OBJ_DEAD */
    uint64_t          scratch; /* collector state; the deferred list's link */
    _Atomic(lle__weakcb_t *) weak;
} lle__obj_t;

#define LLE__OBJ_HDR sizeof(lle__obj_t)
_Static_assert(sizeof(lle__obj_t) == 48, "object header is 48 bytes");
_Static_assert(sizeof(lle__obj_t) % 16 == 0, "payload stays 16-aligned");

static inline lle__obj_t *lle__obj_of(const void *payload)
{
    return (lle__obj_t *)(void *)((char *)(uintptr_t)payload - LLE__OBJ_HDR);
}
static inline void *lle__obj_payload(lle__obj_t *o) { return (char *)o + LLE__OBJ_HDR; }
static inline size_t lle__obj_bytes(const lle__obj_t *o) { return LLE__OBJ_HDR + o->type->size; }

struct lle__weakcb {
    _Atomic(lle__obj_t *) target;   /* NULL once the object started dying */
    _Atomic uint32_t      refs;     /* weak handles + 1 while the object holds it */
    uint32_t              stripe;
    lle__gc_t            *gc;
};

#define LLE__WEAK_STRIPES 16

typedef struct lle__gen {
    lle__obj_t **objs;
    size_t       n, cap;
} lle__gen_t;

/* Phases of an incremental full collection (see gc.c). */
enum { LLE__INC_NONE = 0, LLE__INC_SCAN, LLE__INC_MARK, LLE__INC_GATHER, LLE__INC_VERIFY };

struct lle__gc {
    lle_memory_manager_t *m;
    pthread_mutex_t       collect_lock;
    pthread_mutex_t       mut_lock;        /* lle_gc_lock: held by collections */
    pthread_mutex_t       lock;
    lle_gc_config_t       cfg;
    _Atomic int           pool;            /* cfg.pool, read without the lock */
    _Atomic bool          young_in_alloc;  /* cfg.young_in_alloc, likewise */
    _Atomic bool          young_due;       /* the young generation reached its threshold */
    lle__gen_t            gen[2];          /* [0] young, [1] old */

    /* Triggers (under lock). */
    size_t                old_at_full;     /* old objects after the last full collection */
    uint64_t              bytes_since_full;
    uint64_t              created_since_full;
    uint64_t              last_full_ns;

    /* Work arrays (under lock): the mark stack and the list of objects
     * found unreachable or, in an incremental collection, the candidates. */
    lle__obj_t          **stack;
    size_t                stack_n, stack_cap;
    lle__obj_t          **list;
    size_t                list_n, list_cap;
    /* Incremental candidates: object | 1 at the first of each group. */
    uintptr_t            *cand;
    size_t                cand_n, cand_cap;
    lle__obj_t          **chunk;           /* the candidates one step verifies; a full
                                            * collection's dirty closure */
    size_t                chunk_cap;

    /* Incremental full collection (under lock). */
    int                   inc_phase;
    uint32_t              inc_epoch;
    unsigned              inc_gen;         /* cursor: generation, index */
    size_t                inc_idx;
    size_t                inc_verify;      /* next candidate to verify */
    lle__obj_t           *deferred;        /* objects dead during it, linked through scratch */
    size_t                deferred_bytes;
    uint64_t              inc_started_ns;

    /* Measured costs (ns per object, under lock): an atomic collection,
     * and one object of an incremental phase. */
    double                ns_per_obj;

    /* The thread running a collection's destroy callbacks (under lock). */
    pthread_t             destroyer;
    bool                  destroying;

    /* Statistics: counters under lock unless atomic. */
    lle_gc_stats_t        st;
    _Atomic uint64_t      created;
    _Atomic size_t        live_objects, live_bytes;
    _Atomic uint64_t      invalid_refs;

    pthread_mutex_t       weak_lock[LLE__WEAK_STRIPES];

};

/* gc.c */
LLE__HIDDEN lle_result_t lle__gc_init(lle_memory_manager_t *m);
/* Forget every object (at shutdown: their memory goes with the pools, as
 * leaks of the caller) and free the collector's arrays. */
LLE__HIDDEN void lle__gc_release(lle_memory_manager_t *m);
/* lle__gc_release, then free the collector itself. */
LLE__HIDDEN void lle__gc_fini(lle_memory_manager_t *m);
/* Validate and apply the collector's part of a configuration. */
LLE__HIDDEN lle_result_t lle__gc_set_config(lle__gc_t *gc, const lle_gc_config_t *cfg);
/* Add a new tracked object to the young generation; false when the array
 * could not grow. */
LLE__HIDDEN bool lle__gc_track(lle__gc_t *gc, lle__obj_t *o);
/* After a tracked object was created: run a due young collection when the
 * configuration asks for it in allocation. */
LLE__HIDDEN void lle__gc_after_new(lle__gc_t *gc);
/* Take a dying tracked object out of its generation. */
LLE__HIDDEN void lle__gc_untrack(lle__gc_t *gc, lle__obj_t *o);
/* Return a dead object's memory (deferred while an incremental collection
 * may still hold pointers to it). */
LLE__HIDDEN void lle__gc_free_obj(lle__gc_t *gc, lle__obj_t *o);
/* Whether p is a live object of gc; reads nothing outside the manager's
 * memory. */
LLE__HIDDEN bool lle__gc_valid_obj(lle__gc_t *gc, const void *p);
/* One round of idle work on the collector, until deadline_ns (lle__now_ns
 * clock).  Adds to the report. */
LLE__HIDDEN void lle__gc_idle(lle__gc_t *gc, uint64_t deadline_ns, lle_idle_report_t *r);
/* A full collection (GC_RUNNING, LOW_MEMORY); *freed objects. */
LLE__HIDDEN lle_result_t lle__gc_collect_full(lle_memory_manager_t *m, size_t *freed);

/* ref.c */
/* Destroy o, whose count just went to 0: leave its generation, clear its
 * weak references, run destroy once (holding a count meanwhile), free it
 * unless destroy resurrected it. */
LLE__HIDDEN void lle__obj_die(lle__obj_t *o);
/* Clear o's weak references (the caller holds their stripe lock, or all). */
LLE__HIDDEN void lle__weak_detach(lle__obj_t *o);

#endif
