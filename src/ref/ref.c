/*
 * ref.c - reference-counted objects and weak references (lle/ref.h).
 *
 * The count word and the weak-reference protocol are described in
 * src/gc/gc_internal.h.  Here: creation, retain/release with their checks,
 * the death of an object, weak handles.
 */
#include <string.h>

#include "gc/gc_internal.h"
#include "sanitizer.h"

/* What lle_weak_new hands out: one per call, so a double lle_weak_free is
 * caught by its magic (and by the pool's state byte for the block). */
#define WEAK_MAGIC UINT64_C(0x57ea4b0b1ec75eed)
struct lle_weak {
    uint64_t       magic;
    lle__weakcb_t *cb;
};

/* Whether o is the header of a live object.  A released object's memory
 * may be a free pool block: not read then (sanitizer.h, lle__readable). */
static inline bool obj_live(const lle__obj_t *o)
{
    return lle__readable(o, LLE__OBJ_HDR) && o->magic == LLE__OBJ_LIVE && o->gc != NULL;
}

void *lle_ref_new(lle_memory_manager_t *m, const lle_type_t *type)
{
    if (!m) return NULL;
    if (!type) {
        lle__report(m, LLE_ERROR_NULL_PARAMETER, -1, 0, NULL, "lle_ref_new: type is NULL");
        return NULL;
    }
    if (type->size == 0 || type->size > LLE_REF_MAX_SIZE) {
        lle__report(m, LLE_ERROR_INVALID_ARGUMENT, -1, type->size, NULL,
                    "lle_ref_new: type '%s' has size %zu (1 to %zu allowed)",
                    type->name ? type->name : "?", type->size, (size_t)LLE_REF_MAX_SIZE);
        return NULL;
    }
    if (type->traverse && !type->destroy) {
        lle__report(m, LLE_ERROR_INVALID_ARGUMENT, -1, type->size, NULL,
                    "lle_ref_new: type '%s' has a traverse callback but no destroy callback "
                    "(the references it reports would never be released)",
                    type->name ? type->name : "?");
        return NULL;
    }
    lle__gc_t *gc = m->gc;
    int pool = atomic_load_explicit(&gc->pool, memory_order_relaxed);
    lle__obj_t *o = lle_pool_alloc(m, (lle_memory_pool_type_t)pool, LLE__OBJ_HDR + type->size);
    if (!o) return NULL;   /* reported by the pool */
    atomic_init(&o->rc, LLE__RC_ONE);
    o->type = type;
    o->gc = gc;
    o->idx = 0;
    o->gen = LLE__GEN_NONE;
    o->flags = 0;
    o->magic = LLE__OBJ_LIVE;
    o->scratch = 0;
    atomic_init(&o->weak, NULL);
    memset(lle__obj_payload(o), 0, type->size);
    atomic_fetch_add_explicit(&gc->created, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&gc->live_objects, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&gc->live_bytes, lle__obj_bytes(o), memory_order_relaxed);
    if (type->traverse) {
        if (!lle__gc_track(gc, o)) {
            o->magic = LLE__OBJ_DEAD;
            atomic_fetch_sub_explicit(&gc->live_objects, 1, memory_order_relaxed);
            atomic_fetch_sub_explicit(&gc->live_bytes, lle__obj_bytes(o), memory_order_relaxed);
            lle_pool_free(m, o);
            lle__report(m, LLE_ERROR_OUT_OF_MEMORY, pool, type->size, NULL,
                        "lle_ref_new: the collector's young generation could not grow");
            return NULL;
        }
        lle__gc_after_new(gc);
    }
    return lle__obj_payload(o);
}

void *lle_ref_retain(void *obj)
{
    if (!obj) return NULL;
    lle__obj_t *o = lle__obj_of(obj);
    if (!obj_live(o)) return NULL;
    uint64_t w = atomic_load_explicit(&o->rc, memory_order_relaxed);
    do {
        uint64_t c = LLE__RC_COUNT(w);
        if (c == 0) return NULL;   /* dying: its last release already happened */
        if (c == LLE__RC_MASK) {
            lle__report(o->gc->m, LLE_ERROR_INVALID_ARGUMENT, -1, 0, obj,
                        "lle_ref_retain: count of %p would overflow", obj);
            return NULL;
        }
    } while (!atomic_compare_exchange_weak_explicit(&o->rc, &w, w + LLE__RC_ONE + LLE__RC_CHANGE,
                                                    memory_order_relaxed, memory_order_relaxed));
    return obj;
}

lle_result_t lle_ref_release(void *obj)
{
    if (!obj) return LLE_SUCCESS;
    lle__obj_t *o = lle__obj_of(obj);
    if (!obj_live(o)) return LLE_ERROR_DEAD_OBJECT;
    uint64_t w = atomic_load_explicit(&o->rc, memory_order_relaxed);
    do {
        if (LLE__RC_COUNT(w) == 0) {
            lle__report(o->gc->m, LLE_ERROR_DEAD_OBJECT, -1, 0, obj,
                        "lle_ref_release: %s object %p released after its last reference",
                        o->type->name ? o->type->name : "?", obj);
            return LLE_ERROR_DEAD_OBJECT;
        }
        /* Acquire-release: what every thread did to the object happens
         * before its destruction by whichever thread releases last.  (An
         * acquire fence on the last release only would do, but
         * ThreadSanitizer does not model fences.) */
    } while (!atomic_compare_exchange_weak_explicit(&o->rc, &w,
                                                    (w - LLE__RC_ONE + LLE__RC_CHANGE) |
                                                        LLE__RC_DIRTY,
                                                    memory_order_acq_rel, memory_order_relaxed));
    if (LLE__RC_COUNT(w) == 1) lle__obj_die(o);
    return LLE_SUCCESS;
}

size_t lle_ref_count(const void *obj)
{
    if (!obj) return 0;
    const lle__obj_t *o = lle__obj_of(obj);
    if (!obj_live(o)) return 0;
    return (size_t)LLE__RC_COUNT(atomic_load_explicit(&o->rc, memory_order_relaxed));
}

const lle_type_t *lle_ref_type(const void *obj)
{
    if (!obj) return NULL;
    const lle__obj_t *o = lle__obj_of(obj);
    return obj_live(o) ? o->type : NULL;
}

/* ---- death -------------------------------------------------------------- */

static void weakcb_drop(lle__gc_t *gc, lle__weakcb_t *cb)
{
    if (atomic_fetch_sub_explicit(&cb->refs, 1, memory_order_acq_rel) == 1)
        lle_pool_free(gc->m, cb);
}

void lle__weak_detach(lle__obj_t *o)
{
    if (!atomic_load_explicit(&o->weak, memory_order_relaxed)) return;
    lle__weakcb_t *cb = atomic_exchange_explicit(&o->weak, NULL, memory_order_acquire);
    if (!cb) return;
    atomic_store_explicit(&cb->target, NULL, memory_order_release);
    weakcb_drop(o->gc, cb);
}

/* The last release: count 0.  No weak reference can revive the object
 * (upgrades refuse a count of 0), so the weak references are cleared under
 * their stripe lock only to order the clearing with upgrades in progress. */
void lle__obj_die(lle__obj_t *o)
{
    lle__gc_t *gc = o->gc;
    if (o->gen != LLE__GEN_NONE) lle__gc_untrack(gc, o);
    if (!(o->flags & LLE__OBJ_FINALIZED)) {
        lle__weakcb_t *cb = atomic_load_explicit(&o->weak, memory_order_acquire);
        if (cb) {
            uint32_t stripe = cb->stripe;   /* cb may be freed by the detach */
            pthread_mutex_lock(&gc->weak_lock[stripe]);
            lle__weak_detach(o);
            pthread_mutex_unlock(&gc->weak_lock[stripe]);
        }
        o->flags |= LLE__OBJ_FINALIZED;
        if (o->type->destroy) {
            /* Hold a count while destroy runs, so that it may store a new
             * reference to the object (resurrection) with a plain retain. */
            atomic_fetch_add_explicit(&o->rc, LLE__RC_ONE + LLE__RC_CHANGE, memory_order_relaxed);
            o->type->destroy(lle__obj_payload(o));
            uint64_t w = atomic_fetch_add_explicit(&o->rc, LLE__RC_CHANGE - LLE__RC_ONE,
                                                   memory_order_acq_rel);
            if (LLE__RC_COUNT(w) != 1) {
                pthread_mutex_lock(&gc->lock);
                gc->st.resurrected++;
                pthread_mutex_unlock(&gc->lock);
                return;
            }
        }
    }
    lle__gc_free_obj(gc, o);
}

/* ---- weak references ---------------------------------------------------- */

lle_weak_t *lle_weak_new(void *obj)
{
    if (!obj) return NULL;
    lle__obj_t *o = lle__obj_of(obj);
    /* Refused once destruction began (a destroy callback asking for one, or
     * a resurrected object): its weak references were already cleared. */
    if (!obj_live(o) || (o->flags & LLE__OBJ_FINALIZED) ||
        LLE__RC_COUNT(atomic_load_explicit(&o->rc, memory_order_relaxed)) == 0)
        return NULL;
    lle__gc_t *gc = o->gc;
    lle_memory_manager_t *m = gc->m;
    int pool = atomic_load_explicit(&gc->pool, memory_order_relaxed);
    lle_weak_t *w = lle_pool_alloc(m, (lle_memory_pool_type_t)pool, sizeof *w);
    if (!w) return NULL;
    lle__weakcb_t *cb = atomic_load_explicit(&o->weak, memory_order_acquire);
    if (!cb) {
        lle__weakcb_t *fresh = lle_pool_alloc(m, (lle_memory_pool_type_t)pool, sizeof *fresh);
        if (!fresh) {
            lle_pool_free(m, w);
            return NULL;
        }
        atomic_init(&fresh->target, o);
        atomic_init(&fresh->refs, 2);   /* the object's and this handle's */
        fresh->stripe = (uint32_t)(((uintptr_t)fresh >> 6) % LLE__WEAK_STRIPES);
        fresh->gc = gc;
        if (atomic_compare_exchange_strong_explicit(&o->weak, &cb, fresh, memory_order_acq_rel,
                                                    memory_order_acquire)) {
            cb = fresh;
        } else {
            lle_pool_free(m, fresh);
            atomic_fetch_add_explicit(&cb->refs, 1, memory_order_relaxed);
        }
    } else {
        atomic_fetch_add_explicit(&cb->refs, 1, memory_order_relaxed);
    }
    w->magic = WEAK_MAGIC;
    w->cb = cb;
    return w;
}

lle_result_t lle_weak_retain(lle_weak_t *w, void **out)
{
    if (!w || !out) return LLE_ERROR_NULL_PARAMETER;
    *out = NULL;
    if (w->magic != WEAK_MAGIC) return LLE_ERROR_INVALID_POINTER;
    lle__weakcb_t *cb = w->cb;
    lle__gc_t *gc = cb->gc;
    void *got = NULL;
    pthread_mutex_lock(&gc->weak_lock[cb->stripe]);
    lle__obj_t *o = atomic_load_explicit(&cb->target, memory_order_acquire);
    if (o) {
        uint64_t v = atomic_load_explicit(&o->rc, memory_order_relaxed);
        while (LLE__RC_COUNT(v) != 0 && LLE__RC_COUNT(v) != LLE__RC_MASK) {
            if (atomic_compare_exchange_weak_explicit(&o->rc, &v,
                                                      v + LLE__RC_ONE + LLE__RC_CHANGE,
                                                      memory_order_relaxed,
                                                      memory_order_relaxed)) {
                got = lle__obj_payload(o);
                break;
            }
        }
    }
    pthread_mutex_unlock(&gc->weak_lock[cb->stripe]);
    if (!got) return LLE_ERROR_DEAD_OBJECT;
    *out = got;
    return LLE_SUCCESS;
}

void *lle_weak_get(lle_weak_t *w)
{
    void *obj = NULL;
    if (w) (void)lle_weak_retain(w, &obj);
    return obj;
}

int lle_weak_alive(const lle_weak_t *w)
{
    if (!w || w->magic != WEAK_MAGIC) return 0;
    return atomic_load_explicit(&w->cb->target, memory_order_acquire) != NULL;
}

void lle_weak_free(lle_weak_t *w)
{
    if (!w || w->magic != WEAK_MAGIC) return;
    lle__weakcb_t *cb = w->cb;
    lle__gc_t *gc = cb->gc;
    w->magic = 0;
    weakcb_drop(gc, cb);
    lle_pool_free(gc->m, w);
}
