/*
 * lle/objpool.h - reuse of expensive objects: object pools, lazily computed
 * values, and caches of weak references.
 *
 * Object pool.  An object that is costly to set up (a compiled pattern
 * set, a completion matcher with its tables) is made once by a factory
 * callback and then handed out again and again: a release gives it back to
 * the pool, which resets it and keeps it idle for the next acquire, up to
 * max_idle idle objects; beyond that it is destroyed.  The pool counts
 * what it creates, reuses, drops, and how often an acquire was served
 * without the factory (efficiency).  Every object carries a small header
 * naming its pool and its state, so giving back an object the pool did not
 * hand out, or giving one back twice, is refused with an error code rather
 * than corrupting the pool.
 *
 * Lazy value.  A value computed on first use, exactly once even when many
 * threads ask for it at the same moment: one of them computes, the others
 * wait for that computation and share its outcome.  Once computed, a get
 * is one atomic load.
 *
 * Weak cache.  A map from strings to reference-counted objects (lle/ref.h)
 * that does not keep them alive: an entry names its object through a weak
 * reference and disappears once the object dies, so a cache of, say,
 * highlighted lines holds them only while something else uses them.
 *
 * Errors are returned as lle_result_t codes and, when the object concerned
 * belongs to a manager, also reported to the manager's error callback.
 * Every call here may be made from any thread (the exceptions, creation
 * and destruction, are stated at each call).
 */
#ifndef LLE_OBJPOOL_H
#define LLE_OBJPOOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lle/config.h"
#include "lle/manager.h"
#include "lle/result.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- object pool -------------------------------------------------------- */

typedef struct lle_objpool lle_objpool_t;

typedef struct lle_objpool_config {
    /* For reports and statistics; copied at creation (NULL: "objpool"). */
    const char *name;
    /* Bytes of one object, 1 .. LLE_OBJPOOL_MAX_OBJECT.  Objects are aligned
     * to 16 bytes and are zeroed before the factory sees them. */
    size_t object_size;
    /* Pool of the manager the objects and the pool itself come from
     * (default LLE_POOL_CUSTOM). */
    lle_memory_pool_type_t pool;
    /* Sets up a fresh, zeroed object.  Anything but LLE_SUCCESS makes the
     * acquire that called it fail with that code; the object's memory goes
     * back to the manager and destroy is not called.  NULL: objects start
     * zeroed and need nothing more. */
    lle_result_t (*factory)(void *user, void *obj);
    /* Called on every object given back by lle_objpool_release, before the
     * pool decides to keep it for reuse or drop it.  NULL: nothing. */
    void (*reset)(void *user, void *obj);
    /* Called once on every object the pool drops: at a release when the
     * pool already holds max_idle idle objects, and at lle_objpool_destroy
     * for the objects it still holds.  It frees what the object owns (not
     * the object's memory).  NULL: nothing. */
    void (*destroy)(void *user, void *obj);
    /* Passed to the callbacks. */
    void *user;
    /* Idle objects kept for reuse at most; 0 keeps none (every release
     * drops its object). */
    size_t max_idle;
    /* Objects made by the factory at creation and kept idle, at most
     * max_idle (default 0). */
    size_t prefill;
} lle_objpool_config_t;

/* The largest object_size accepted (with the header it must still be a
 * request the manager's pools accept). */
#define LLE_OBJPOOL_MAX_OBJECT (((size_t)1 << 40) - 64)

/* Defaults: name NULL, object_size 0 (must be set), pool LLE_POOL_CUSTOM,
 * no callbacks, max_idle 16, prefill 0. */
void lle_objpool_config_default(lle_objpool_config_t *cfg);

/*
 * Create an object pool of manager m.  With cfg->prefill > 0 the factory
 * runs that many times before this returns; if one fails, the objects made
 * so far are destroyed and its code is returned.  Errors:
 * LLE_ERROR_NULL_PARAMETER (m, cfg or out), LLE_ERROR_INVALID_ARGUMENT
 * (object_size 0 or too large, pool out of range, prefill > max_idle),
 * LLE_ERROR_OUT_OF_MEMORY, or the factory's code.  *out is NULL on error.
 */
lle_result_t lle_objpool_create(lle_memory_manager_t *m, const lle_objpool_config_t *cfg,
                                lle_objpool_t **out);

/*
 * An object for the caller: an idle one when the pool has one (counted as
 * reused), else a new one made by the factory (counted as created).  The
 * factory runs without the pool's lock held: it may use the pool.  Errors:
 * LLE_ERROR_NULL_PARAMETER (p or out), LLE_ERROR_OUT_OF_MEMORY, or the
 * factory's code; *out is then NULL and nothing is counted but the failure.
 */
lle_result_t lle_objpool_acquire(lle_objpool_t *p, void **out);

/*
 * Give obj back.  The reset callback runs on it (without the pool's lock);
 * then the pool keeps it idle if it holds fewer than max_idle idle
 * objects, or else calls destroy on it and frees its memory (counted as
 * dropped).  Until it is acquired again, obj must not be used; under
 * AddressSanitizer an idle object's bytes are poisoned, so a use is
 * reported where it happens.
 *
 * Errors, with nothing changed and the reason reported:
 *   LLE_ERROR_NULL_PARAMETER   p or obj NULL;
 *   LLE_ERROR_INVALID_POINTER  obj was not handed out by p (another pool's
 *                              object, any other block or address, a
 *                              pointer inside an object);
 *   LLE_ERROR_DOUBLE_FREE      obj is already back in p: idle, being
 *                              released by another thread, or dropped
 *                              lately (p remembers the last 16 objects it
 *                              dropped, as long as their memory has not
 *                              been handed out again).
 * These checks read no memory that is not a live block of p's manager.
 */
lle_result_t lle_objpool_release(lle_objpool_t *p, void *obj);

/*
 * Destroy the pool: destroy (the callback) runs on every object it holds,
 * idle or still acquired, then their memory and the pool's go back to the
 * manager.  Objects still acquired are a leak of the caller's: they are
 * freed all the same (a pointer to one is dangling afterwards), their
 * number is reported to the error callback (LLE_ERROR_MEMORY_LEAK, the
 * count in the report's size field) and LLE_ERROR_MEMORY_LEAK is returned;
 * the pool is gone in either case.  NULL p: LLE_SUCCESS.  No other call on
 * p may run or follow.
 */
lle_result_t lle_objpool_destroy(lle_objpool_t *p);

typedef struct lle_objpool_stats {
    const char *name;            /* valid while the pool lives */
    size_t      object_size;
    size_t      max_idle;
    uint64_t    created;         /* objects the factory made (prefill included) */
    uint64_t    reused;          /* acquires served by an idle object */
    uint64_t    acquired;        /* successful acquires: reused + those the factory served */
    uint64_t    released;        /* successful releases */
    uint64_t    dropped;         /* objects destroyed at a release (pool full) */
    uint64_t    factory_failures;/* acquires (and prefills) the factory failed */
    uint64_t    bad_releases;    /* releases refused (foreign or double) */
    size_t      idle;            /* idle objects held now */
    size_t      in_use;          /* objects acquired and not yet released */
    /* reused / acquired (0 before the first acquire): the share of acquires
     * that did not need the factory. */
    double      efficiency;
} lle_objpool_stats_t;

/* A consistent snapshot of p's counters.  LLE_ERROR_NULL_PARAMETER for
 * NULL p or out. */
lle_result_t lle_objpool_get_stats(lle_objpool_t *p, lle_objpool_stats_t *out);

/* ---- lazy value --------------------------------------------------------- */

/* Fields are private; the type is public so that a lazy value can be a
 * static or a member of another struct.  Under C++ the state word is a
 * plain int of the same size (C++ code only hands the object to the calls
 * below). */
#ifdef __cplusplus
#define LLE__LAZY_ATOMIC_INT int
#else
#define LLE__LAZY_ATOMIC_INT _Atomic int
#endif
typedef struct lle_lazy {
    LLE__LAZY_ATOMIC_INT state_;
    unsigned             waiters_;
    lle_result_t         failed_;
    void                *value_;
    pthread_mutex_t      lock_;
    pthread_cond_t       cond_;
} lle_lazy_t;

/* A lazy value not yet computed:  static lle_lazy_t table = LLE_LAZY_INIT; */
#define LLE_LAZY_INIT \
    { 0, 0u, LLE_SUCCESS, NULL, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER }

/* The computation: stores the value in *value_out and returns LLE_SUCCESS,
 * or returns an error code (then *value_out is ignored). */
typedef lle_result_t (*lle_lazy_fn)(void *arg, void **value_out);

/* Make *lazy a lazy value not yet computed (for memory that
 * LLE_LAZY_INIT cannot initialise).  Not while another thread uses it. */
void lle_lazy_init(lle_lazy_t *lazy);

/*
 * The value of lazy in *out, computing it with compute(arg, ...) if no
 * computation has succeeded yet.  Of the threads that call at once, one
 * runs compute (without any lock held); the others wait for it:
 *   - when it succeeds, every one of them gets the same value, and so
 *     does every later call, without running compute again;
 *   - when it fails, every thread that waited for it gets its code, and
 *     nothing is kept: the next call runs compute again.
 * Errors: LLE_ERROR_NULL_PARAMETER (lazy, compute or out),
 * LLE_ERROR_INVALID_STATE when compute itself asks for the same lazy value
 * (it would wait for itself), or compute's code.  *out is NULL on error.
 * Once computed, compute and arg are not looked at: callers that pass
 * different ones get the value the first success made.
 */
lle_result_t lle_lazy_get(lle_lazy_t *lazy, lle_lazy_fn compute, void *arg, void **out);

/* 1 when a value is held (a snapshot under threads), 0 otherwise. */
int lle_lazy_ready(lle_lazy_t *lazy);

/*
 * Forget the value: lazy is not computed any more, and destroy(value) runs
 * when a value was held (destroy may be NULL).  For teardown and tests: the
 * caller guarantees that no thread still uses the old value.  Errors:
 * LLE_ERROR_NULL_PARAMETER, LLE_ERROR_INVALID_STATE while a computation is
 * running or its failure is being handed to waiting threads (nothing is
 * changed).
 */
lle_result_t lle_lazy_reset(lle_lazy_t *lazy, void (*destroy)(void *value));

/* ---- weak cache ---------------------------------------------------------- */

typedef struct lle_weak_cache lle_weak_cache_t;

typedef struct lle_weak_cache_config {
    /* Pool of the manager the cache's table, keys and entries come from
     * (default LLE_POOL_CUSTOM). */
    lle_memory_pool_type_t pool;
    /* At least this many entries fit before the table first grows
     * (default 16; 1 .. 2^32).  The table doubles as it fills (after
     * dropping the dead entries) and halves at a purge that leaves it
     * less than 1/8 full, never below its first size. */
    size_t initial_capacity;
} lle_weak_cache_config_t;

void lle_weak_cache_config_default(lle_weak_cache_config_t *cfg);

/* A new, empty cache of manager m (cfg NULL: the defaults).  Errors:
 * LLE_ERROR_NULL_PARAMETER (m or out), LLE_ERROR_INVALID_ARGUMENT,
 * LLE_ERROR_OUT_OF_MEMORY. */
lle_result_t lle_weak_cache_create(lle_memory_manager_t *m, const lle_weak_cache_config_t *cfg,
                                   lle_weak_cache_t **out);

/*
 * Map key (copied) to obj, a live object of lle/ref.h, without taking a
 * reference to it; an entry key already had is replaced.  Errors:
 * LLE_ERROR_NULL_PARAMETER (c, key or obj), LLE_ERROR_DEAD_OBJECT (obj is
 * not a live object), LLE_ERROR_OUT_OF_MEMORY; the cache is then unchanged.
 */
lle_result_t lle_weak_cache_put(lle_weak_cache_t *c, const char *key, void *obj);

/*
 * A new strong reference to the object mapped to key (the caller releases
 * it; it keeps the object alive meanwhile), or NULL when key has no entry
 * or its object is dead (that entry is removed then).  Counts a hit or a
 * miss.  NULL c or key: NULL, reported.
 */
void *lle_weak_cache_get(lle_weak_cache_t *c, const char *key);

/* Remove key's entry.  *removed (when not NULL) tells whether a live
 * entry was removed; a dead one is removed too and counted as purged.
 * LLE_ERROR_NULL_PARAMETER for NULL c or key. */
lle_result_t lle_weak_cache_remove(lle_weak_cache_t *c, const char *key, bool *removed);

/* Remove every entry whose object is dead; returns how many (0 for NULL
 * c).  Takes time in proportion to the table. */
size_t lle_weak_cache_purge(lle_weak_cache_t *c);

/* Entries whose object is alive, after removing the dead ones (a snapshot:
 * objects may die right after).  0 for NULL c. */
size_t lle_weak_cache_count(lle_weak_cache_t *c);

/* Destroy the cache and its entries (never the objects).  NULL c:
 * LLE_SUCCESS.  No other call on c may run or follow. */
lle_result_t lle_weak_cache_destroy(lle_weak_cache_t *c);

typedef struct lle_weak_cache_stats {
    uint64_t hits;          /* gets that returned an object */
    uint64_t misses;        /* gets that returned NULL (no entry, or a dead one) */
    uint64_t puts;          /* successful puts */
    uint64_t replaced;      /* puts that replaced an entry */
    uint64_t removed;       /* live entries removed by lle_weak_cache_remove */
    uint64_t dead_purged;   /* entries removed because their object died */
    size_t   entries;       /* entries held now (those of objects that died
                               since they were last looked at included) */
    size_t   capacity;      /* slots of the table */
} lle_weak_cache_stats_t;

/* A consistent snapshot of c's counters (no entry is checked or removed).
 * LLE_ERROR_NULL_PARAMETER for NULL c or out. */
lle_result_t lle_weak_cache_get_stats(lle_weak_cache_t *c, lle_weak_cache_stats_t *out);

#ifdef __cplusplus
}
#endif
#endif
