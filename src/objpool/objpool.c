/*
 * objpool.c - pools of objects made by a factory and handed out again.
 *
 * Every object is one block of the manager: a 48-byte header (objhdr_t)
 * and the object after it, 16-aligned.  The header names the owning pool,
 * holds a check word (a constant mixed with the header's and the pool's
 * addresses: a random block matches it by chance only) and a state word:
 * IN_USE while the caller holds the object, RETURNING while a release
 * runs the reset callback, IDLE on the pool's idle stack.
 *
 * A release proves ownership before touching anything: the header must be
 * a live block of the manager at least as large as the pool's blocks
 * (lle_pool_usable_size: a page-map lookup that reads no caller memory),
 * its pool and check words must match, and a compare-and-swap takes the
 * state from IN_USE to RETURNING, so of two threads releasing the same
 * object only one gets through.  Any failure goes to release_refused (out
 * of line), which tells a double release (our header in a state other than
 * IN_USE, or an address the pool dropped lately) from a foreign pointer.
 *
 * The lock guards the idle stack, the in-use list (kept so that destroy
 * can find and count what the caller never gave back) and the counters.
 * Acquire and release each take it once; callbacks run without it, so a
 * callback may use the pool.  The idle decision is made under the lock, so
 * max_idle is never exceeded, even by a moment.
 *
 * Under AddressSanitizer the body of an idle object is poisoned.
 */
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "lle/objpool.h"
#include "lle/pool.h"
#include "sanitizer.h"

#define HDR_SIZE    ((size_t)48)
#define CHECK_KEY   ((uintptr_t)0x6f626a706f6f6c31ull)   /* "objpool1" */
#define RING        16                                   /* dropped addresses remembered */

enum {
    ST_DEAD      = 0,
    ST_IN_USE    = 0x55534544,   /* "USED" */
    ST_RETURNING = 0x52455455,   /* "RETU" */
    ST_IDLE      = 0x49444c45,   /* "IDLE" */
};

typedef struct objhdr {
    lle_objpool_t   *pool;
    uintptr_t        check;
    struct objhdr   *prev, *next;  /* in-use list; idle stack through next */
    _Atomic uint32_t state;
    uint32_t         pad_;
    uint64_t         pad2_;
} objhdr_t;
_Static_assert(sizeof(objhdr_t) == HDR_SIZE, "the object must follow the header 16-aligned");

struct lle_objpool {
    pthread_mutex_t       lock;
    lle_memory_manager_t *m;
    objhdr_t             *idle;      /* stack, newest first */
    objhdr_t             *in_use;    /* doubly linked */
    size_t                nidle, nin_use;
    uint64_t              created, reused, acquired, released, dropped;
    uint64_t              factory_failures, bad_releases;
    uintptr_t             ring[RING];/* headers of the objects dropped last */
    unsigned              ring_next;
    size_t                object_size, block_size;
    size_t                max_idle;
    lle_result_t        (*factory)(void *, void *);
    void                (*reset)(void *, void *);
    void                (*destroy)(void *, void *);
    void                 *user;
    int                   pool;
    char                  name[];
};

/* Whether n bytes at p may be read without AddressSanitizer objecting
 * (poisoned bytes in a live block: an arena's free space, an idle object). */
#ifdef LLE__ASAN
#define readable(p, n) (__asan_region_is_poisoned((void *)(p), (n)) == NULL)
#else
#define readable(p, n) ((void)(p), (void)(n), true)
#endif

static inline void *body(objhdr_t *h) { return (char *)h + HDR_SIZE; }
static inline uintptr_t check_of(const lle_objpool_t *p, const objhdr_t *h)
{
    return CHECK_KEY ^ (uintptr_t)h ^ ((uintptr_t)p << 1);
}

void lle_objpool_config_default(lle_objpool_config_t *cfg)
{
    if (!cfg) return;
    memset(cfg, 0, sizeof *cfg);
    cfg->pool = LLE_POOL_CUSTOM;
    cfg->max_idle = 16;
}

/* ---- lists (lock held) -------------------------------------------------- */

static void link_in_use(lle_objpool_t *p, objhdr_t *h)
{
    h->prev = NULL;
    h->next = p->in_use;
    if (p->in_use) p->in_use->prev = h;
    p->in_use = h;
    p->nin_use++;
}

static void unlink_in_use(lle_objpool_t *p, objhdr_t *h)
{
    if (h->prev) h->prev->next = h->next;
    else p->in_use = h->next;
    if (h->next) h->next->prev = h->prev;
    h->prev = h->next = NULL;
    p->nin_use--;
}

static bool ring_has(const lle_objpool_t *p, const objhdr_t *h)
{
    for (unsigned i = 0; i < RING; i++)
        if (p->ring[i] == (uintptr_t)h) return true;
    return false;
}

/* A new object at h: h is no longer a dropped address. */
static void ring_forget(lle_objpool_t *p, const objhdr_t *h)
{
    for (unsigned i = 0; i < RING; i++)
        if (p->ring[i] == (uintptr_t)h) p->ring[i] = 0;
}

static void ring_note(lle_objpool_t *p, const objhdr_t *h)
{
    p->ring[p->ring_next] = (uintptr_t)h;
    p->ring_next = (p->ring_next + 1) % RING;
}

/* ---- making and dropping objects (no lock held) -------------------------- */

/* A fresh object set up by the factory; on failure the code, with the
 * memory given back and the failure counted. */
static lle_result_t make_object(lle_objpool_t *p, objhdr_t **out)
{
    objhdr_t *h = lle_pool_alloc(p->m, (lle_memory_pool_type_t)p->pool, p->block_size);
    if (!h) {
        /* The pools reported the shortage already. */
        pthread_mutex_lock(&p->lock);
        p->factory_failures++;
        pthread_mutex_unlock(&p->lock);
        return LLE_ERROR_OUT_OF_MEMORY;
    }
    memset(h, 0, p->block_size);
    h->pool = p;
    h->check = check_of(p, h);
    if (p->factory) {
        lle_result_t rc = p->factory(p->user, body(h));
        if (rc != LLE_SUCCESS) {
            lle_pool_free(p->m, h);
            pthread_mutex_lock(&p->lock);
            p->factory_failures++;
            pthread_mutex_unlock(&p->lock);
            lle__report(p->m, rc, p->pool, p->object_size, NULL,
                        "objpool '%s': the factory failed: %s", p->name, lle_result_string(rc));
            return rc;
        }
    }
    *out = h;
    return LLE_SUCCESS;
}

/* Run destroy on the object at h and give its memory back. */
static void drop_object(lle_objpool_t *p, objhdr_t *h)
{
    lle__asan_unpoison(body(h), p->object_size);
    if (p->destroy) p->destroy(p->user, body(h));
    atomic_store_explicit(&h->state, ST_DEAD, memory_order_relaxed);
    h->check = 0;
    lle_pool_free(p->m, h);
}

/* ---- creation ------------------------------------------------------------ */

lle_result_t lle_objpool_create(lle_memory_manager_t *m, const lle_objpool_config_t *cfg,
                                lle_objpool_t **out)
{
    if (out) *out = NULL;
    if (!m || !cfg || !out) return LLE_ERROR_NULL_PARAMETER;
    const char *why = NULL;
    if (cfg->object_size == 0 || cfg->object_size > LLE_OBJPOOL_MAX_OBJECT)
        why = "object_size is 0 or above LLE_OBJPOOL_MAX_OBJECT";
    else if ((unsigned)cfg->pool >= LLE_POOL_COUNT)
        why = "pool is not a pool type";
    else if (cfg->prefill > cfg->max_idle)
        why = "prefill is above max_idle";
    if (why) {
        lle__report(m, LLE_ERROR_INVALID_ARGUMENT, -1, cfg->object_size, NULL,
                    "objpool '%s': bad configuration: %s", cfg->name ? cfg->name : "objpool", why);
        return LLE_ERROR_INVALID_ARGUMENT;
    }
    const char *name = cfg->name ? cfg->name : "objpool";
    size_t len = strlen(name);
    lle_objpool_t *p = lle_pool_alloc(m, cfg->pool, sizeof *p + len + 1);
    if (!p) return LLE_ERROR_OUT_OF_MEMORY;
    memset(p, 0, sizeof *p);
    memcpy(p->name, name, len + 1);
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        lle_pool_free(m, p);
        lle__report(m, LLE_ERROR_OUT_OF_MEMORY, cfg->pool, 0, NULL,
                    "objpool '%s': no mutex could be made", name);
        return LLE_ERROR_OUT_OF_MEMORY;
    }
    p->m = m;
    p->pool = (int)cfg->pool;
    p->object_size = cfg->object_size;
    /* Whole 16-byte units, so that a block always holds header + object. */
    p->block_size = HDR_SIZE + ((cfg->object_size + 15) & ~(size_t)15);
    p->max_idle = cfg->max_idle;
    p->factory = cfg->factory;
    p->reset = cfg->reset;
    p->destroy = cfg->destroy;
    p->user = cfg->user;
    for (size_t i = 0; i < cfg->prefill; i++) {
        objhdr_t *h;
        lle_result_t rc = make_object(p, &h);
        if (rc != LLE_SUCCESS) {
            lle_objpool_destroy(p);
            return rc;
        }
        atomic_store_explicit(&h->state, ST_IDLE, memory_order_relaxed);
        h->next = p->idle;
        p->idle = h;
        p->nidle++;
        p->created++;
        lle__asan_poison(body(h), p->object_size);
    }
    *out = p;
    return LLE_SUCCESS;
}

/* ---- acquire ------------------------------------------------------------- */

static LLE__NOINLINE lle_result_t acquire_new(lle_objpool_t *p, void **out)
{
    objhdr_t *h;
    lle_result_t rc = make_object(p, &h);
    if (rc != LLE_SUCCESS) return rc;
    pthread_mutex_lock(&p->lock);
    ring_forget(p, h);
    link_in_use(p, h);
    p->created++;
    p->acquired++;
    atomic_store_explicit(&h->state, ST_IN_USE, memory_order_relaxed);
    pthread_mutex_unlock(&p->lock);
    *out = body(h);
    return LLE_SUCCESS;
}

lle_result_t lle_objpool_acquire(lle_objpool_t *p, void **out)
{
    if (lle_unlikely(!p || !out)) {
        if (out) *out = NULL;
        if (p) lle__report(p->m, LLE_ERROR_NULL_PARAMETER, p->pool, 0, NULL,
                           "objpool '%s': acquire without a place for the object", p->name);
        return LLE_ERROR_NULL_PARAMETER;
    }
    *out = NULL;
    pthread_mutex_lock(&p->lock);
    objhdr_t *h = p->idle;
    if (lle_likely(h != NULL)) {
        p->idle = h->next;
        p->nidle--;
        link_in_use(p, h);
        p->reused++;
        p->acquired++;
        atomic_store_explicit(&h->state, ST_IN_USE, memory_order_relaxed);
        pthread_mutex_unlock(&p->lock);
        lle__asan_unpoison(body(h), p->object_size);
        *out = body(h);
        return LLE_SUCCESS;
    }
    pthread_mutex_unlock(&p->lock);
    return acquire_new(p, out);
}

/* ---- release ------------------------------------------------------------- */

/* Whether h is the header of a live object block of p (it may be in any
 * state).  Reads h only once the manager vouches for it as a live block
 * large enough. */
static bool owned(const lle_objpool_t *p, const objhdr_t *h)
{
    if (lle_pool_usable_size(p->m, h) < p->block_size) return false;
    if (!readable(h, HDR_SIZE)) return false;
    return h->pool == p && h->check == check_of(p, h);
}

static LLE__NOINLINE LLE__COLD lle_result_t release_refused(lle_objpool_t *p, void *obj,
                                                            objhdr_t *h)
{
    lle_result_t code = LLE_ERROR_INVALID_POINTER;
    const char *why = "it is not an object of this pool";
    pthread_mutex_lock(&p->lock);
    p->bad_releases++;
    if (h && owned(p, h)) {
        uint32_t st = atomic_load_explicit(&h->state, memory_order_relaxed);
        code = LLE_ERROR_DOUBLE_FREE;
        why = st == ST_IDLE ? "it is already back in the pool"
              : st == ST_RETURNING ? "another release of it is running"
                                   : "it was already dropped";
    } else if (h && ring_has(p, h)) {
        code = LLE_ERROR_DOUBLE_FREE;
        why = "it was already released and dropped";
    }
    pthread_mutex_unlock(&p->lock);
    lle__report(p->m, code, p->pool, p->object_size, obj, "objpool '%s': release of %p refused: %s",
                p->name, obj, why);
    return code;
}

lle_result_t lle_objpool_release(lle_objpool_t *p, void *obj)
{
    if (!p) return LLE_ERROR_NULL_PARAMETER;
    if (!obj) {
        lle__report(p->m, LLE_ERROR_NULL_PARAMETER, p->pool, 0, NULL,
                    "objpool '%s': release of NULL", p->name);
        return LLE_ERROR_NULL_PARAMETER;
    }
    uintptr_t a = (uintptr_t)obj;
    if (lle_unlikely(a < HDR_SIZE || (a & 15))) return release_refused(p, obj, NULL);
    objhdr_t *h = (objhdr_t *)(a - HDR_SIZE);
    uint32_t expect = ST_IN_USE;
    if (lle_unlikely(!owned(p, h) ||
                     !atomic_compare_exchange_strong_explicit(&h->state, &expect, ST_RETURNING,
                                                              memory_order_acq_rel,
                                                              memory_order_relaxed)))
        return release_refused(p, obj, h);

    if (p->reset) p->reset(p->user, obj);
    /* Poisoned before it can be seen on the idle stack; drop_object
     * unpoisons it again. */
    lle__asan_poison(obj, p->object_size);

    pthread_mutex_lock(&p->lock);
    unlink_in_use(p, h);
    p->released++;
    bool keep = p->nidle < p->max_idle;
    if (keep) {
        atomic_store_explicit(&h->state, ST_IDLE, memory_order_relaxed);
        h->next = p->idle;
        p->idle = h;
        p->nidle++;
    } else {
        p->dropped++;
        ring_note(p, h);
    }
    pthread_mutex_unlock(&p->lock);
    if (!keep) drop_object(p, h);
    return LLE_SUCCESS;
}

/* ---- destruction and statistics ------------------------------------------ */

lle_result_t lle_objpool_destroy(lle_objpool_t *p)
{
    if (!p) return LLE_SUCCESS;
    lle_memory_manager_t *m = p->m;
    pthread_mutex_lock(&p->lock);
    objhdr_t *idle = p->idle, *used = p->in_use;
    size_t leaked = p->nin_use;
    p->idle = p->in_use = NULL;
    p->nidle = p->nin_use = 0;
    pthread_mutex_unlock(&p->lock);

    while (idle) {
        objhdr_t *h = idle;
        idle = h->next;
        drop_object(p, h);
    }
    while (used) {
        objhdr_t *h = used;
        used = h->next;
        drop_object(p, h);
    }
    lle_result_t rc = LLE_SUCCESS;
    if (leaked) {
        lle__report(m, LLE_ERROR_MEMORY_LEAK, p->pool, leaked, NULL,
                    "objpool '%s': %zu object%s still acquired at destroy (destroyed and freed)",
                    p->name, leaked, leaked == 1 ? " was" : "s were");
        rc = LLE_ERROR_MEMORY_LEAK;
    }
    pthread_mutex_destroy(&p->lock);
    lle_pool_free(m, p);
    return rc;
}

lle_result_t lle_objpool_get_stats(lle_objpool_t *p, lle_objpool_stats_t *out)
{
    if (!p || !out) return LLE_ERROR_NULL_PARAMETER;
    memset(out, 0, sizeof *out);
    out->name = p->name;
    out->object_size = p->object_size;
    out->max_idle = p->max_idle;
    pthread_mutex_lock(&p->lock);
    out->created = p->created;
    out->reused = p->reused;
    out->acquired = p->acquired;
    out->released = p->released;
    out->dropped = p->dropped;
    out->factory_failures = p->factory_failures;
    out->bad_releases = p->bad_releases;
    out->idle = p->nidle;
    out->in_use = p->nin_use;
    pthread_mutex_unlock(&p->lock);
    out->efficiency = out->acquired ? (double)out->reused / (double)out->acquired : 0.0;
    return LLE_SUCCESS;
}
