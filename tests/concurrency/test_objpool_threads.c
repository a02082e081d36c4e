/*
 * test_objpool_threads.c - object pools, lazy values and weak caches used
 * by several threads at once (run under ThreadSanitizer in CI).
 *
 * Worker threads never call cmocka assertions (those longjmp on the thread
 * that runs the test); they record what they saw and the main thread
 * checks it after pthread_join().  Threads start together at a barrier, so
 * the calls really overlap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lle/memory.h>
#include <lle/objpool.h>

#define NTHREADS 8

static lle_memory_manager_t *new_manager(void)
{
    lle_memory_config_t cfg;
    lle_memory_config_default(&cfg);
    cfg.read_environment = false;
    lle_memory_manager_t *m = NULL;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    return m;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- lazy value: eight threads, one computation ------------------------- */

typedef struct lazy_shared {
    lle_lazy_t        lazy;
    pthread_barrier_t start;
    _Atomic int       runs;
    int               fail;        /* the computation fails with this code (0: succeeds) */
    bool              wait_all;    /* the computation waits until the others wait for it */
    int               value;
} lazy_shared_t;

typedef struct lazy_worker {
    lazy_shared_t *sh;
    pthread_t      tid;
    lle_result_t   rc;
    void          *got;
} lazy_worker_t;

/* Waiters of the running attempt, read under the lazy value's lock (a
 * look at its private fields: the test needs to know that all the other
 * threads are waiting for this very attempt before it ends). */
static unsigned waiting(lle_lazy_t *lz)
{
    pthread_mutex_lock(&lz->lock_);
    unsigned n = lz->waiters_;
    pthread_mutex_unlock(&lz->lock_);
    return n;
}

static lle_result_t slow_compute(void *arg, void **out)
{
    lazy_shared_t *sh = arg;
    atomic_fetch_add(&sh->runs, 1);
    if (sh->wait_all)
        while (waiting(&sh->lazy) < NTHREADS - 1) sched_yield();
    else
        sleep_ms(20);
    if (sh->fail) return (lle_result_t)sh->fail;
    *out = &sh->value;
    return LLE_SUCCESS;
}

static void *lazy_thread(void *arg)
{
    lazy_worker_t *w = arg;
    pthread_barrier_wait(&w->sh->start);
    w->rc = lle_lazy_get(&w->sh->lazy, slow_compute, w->sh, &w->got);
    return NULL;
}

static void run_lazy_threads(lazy_shared_t *sh, lazy_worker_t *w)
{
    pthread_barrier_init(&sh->start, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++) {
        w[i].sh = sh;
        w[i].rc = LLE_RESULT_COUNT_;
        w[i].got = &w[i];
        assert_int_equal(pthread_create(&w[i].tid, NULL, lazy_thread, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) pthread_join(w[i].tid, NULL);
    pthread_barrier_destroy(&sh->start);
}

static void lazy_computed_once(void **state)
{
    (void)state;
    for (int round = 0; round < 2; round++) {
        lazy_shared_t sh;
        memset(&sh, 0, sizeof sh);
        lle_lazy_init(&sh.lazy);
        sh.wait_all = round == 1;          /* timing-free: all seven surely wait */
        lazy_worker_t w[NTHREADS];
        run_lazy_threads(&sh, w);
        assert_int_equal(atomic_load(&sh.runs), 1);
        for (int i = 0; i < NTHREADS; i++) {
            assert_int_equal(w[i].rc, LLE_SUCCESS);
            assert_ptr_equal(w[i].got, &sh.value);
        }
        assert_true(lle_lazy_ready(&sh.lazy));
        assert_int_equal(lle_lazy_reset(&sh.lazy, NULL), LLE_SUCCESS);
    }
}

/* A failing attempt: every thread that waited for it gets its code, and
 * the next call tries again. */
static void lazy_failure_shared_not_cached(void **state)
{
    (void)state;
    lazy_shared_t sh;
    memset(&sh, 0, sizeof sh);
    lle_lazy_init(&sh.lazy);
    sh.wait_all = true;
    sh.fail = LLE_ERROR_OUT_OF_MEMORY;
    lazy_worker_t w[NTHREADS];
    run_lazy_threads(&sh, w);
    assert_int_equal(atomic_load(&sh.runs), 1);
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(w[i].rc, LLE_ERROR_OUT_OF_MEMORY);
        assert_null(w[i].got);
    }
    assert_false(lle_lazy_ready(&sh.lazy));
    /* Not cached: the next round computes again, and succeeds. */
    sh.fail = 0;
    run_lazy_threads(&sh, w);
    assert_int_equal(atomic_load(&sh.runs), 2);
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(w[i].rc, LLE_SUCCESS);
        assert_ptr_equal(w[i].got, &sh.value);
    }
}

/* Attempts that fail while callers keep coming: every call ends with either
 * the value or a failure code, and once the failures stop every call sees
 * the one value. */
typedef struct churn {
    lle_lazy_t        lazy;
    pthread_barrier_t start;
    _Atomic int       runs;
    int               value;
} churn_t;

static lle_result_t flaky_compute(void *arg, void **out)
{
    churn_t *c = arg;
    int n = atomic_fetch_add(&c->runs, 1) + 1;
    sched_yield();
    if (n < 50) return LLE_ERROR_HOST_FAILURE;
    *out = &c->value;
    return LLE_SUCCESS;
}

typedef struct churn_worker {
    churn_t  *c;
    pthread_t tid;
    int       ok, failed, odd;
} churn_worker_t;

static void *churn_thread(void *arg)
{
    churn_worker_t *w = arg;
    pthread_barrier_wait(&w->c->start);
    for (int i = 0; i < 200; i++) {
        void *v = NULL;
        lle_result_t rc = lle_lazy_get(&w->c->lazy, flaky_compute, w->c, &v);
        if (rc == LLE_SUCCESS && v == &w->c->value) w->ok++;
        else if (rc == LLE_ERROR_HOST_FAILURE && v == NULL) w->failed++;
        else w->odd++;
    }
    return NULL;
}

static void lazy_churn(void **state)
{
    (void)state;
    churn_t c;
    memset(&c, 0, sizeof c);
    lle_lazy_init(&c.lazy);
    pthread_barrier_init(&c.start, NULL, NTHREADS);
    churn_worker_t w[NTHREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < NTHREADS; i++) {
        w[i].c = &c;
        assert_int_equal(pthread_create(&w[i].tid, NULL, churn_thread, &w[i]), 0);
    }
    int ok = 0, failed = 0;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(w[i].tid, NULL);
        assert_int_equal(w[i].odd, 0);
        ok += w[i].ok;
        failed += w[i].failed;
    }
    pthread_barrier_destroy(&c.start);
    assert_int_equal(atomic_load(&c.runs), 50);   /* 49 failures, then one success */
    assert_int_equal(ok + failed, NTHREADS * 200);
    assert_true(failed >= 49);
}

/* ---- object pool --------------------------------------------------------- */

typedef struct slot_obj {
    _Atomic int owner;          /* 0 while idle; the acquiring thread's number + 1 */
    int         uses;
} slot_obj_t;

typedef struct pool_shared {
    lle_objpool_t    *p;
    pthread_barrier_t start;
    _Atomic int       factory, reset, destroy;
} pool_shared_t;

static lle_result_t obj_factory(void *user, void *obj)
{
    pool_shared_t *sh = user;
    atomic_fetch_add(&sh->factory, 1);
    (void)obj;
    return LLE_SUCCESS;
}

static void obj_reset(void *user, void *obj)
{
    pool_shared_t *sh = user;
    slot_obj_t *o = obj;
    atomic_fetch_add(&sh->reset, 1);
    o->uses = 0;
}

static void obj_destroy(void *user, void *obj)
{
    pool_shared_t *sh = user;
    (void)obj;
    atomic_fetch_add(&sh->destroy, 1);
}

typedef struct pool_worker {
    pool_shared_t *sh;
    pthread_t      tid;
    int            id;
    int            ops, shared_seen, errors;
} pool_worker_t;

#define POOL_OPS 4000

static void *pool_thread(void *arg)
{
    pool_worker_t *w = arg;
    void *held[3];
    pthread_barrier_wait(&w->sh->start);
    for (int i = 0; i < POOL_OPS; i++) {
        int k = 1 + (i + w->id) % 3;
        for (int j = 0; j < k; j++) {
            if (lle_objpool_acquire(w->sh->p, &held[j]) != LLE_SUCCESS) {
                w->errors++;
                return NULL;
            }
            slot_obj_t *o = held[j];
            int prev = atomic_exchange(&o->owner, w->id + 1);
            if (prev != 0) w->shared_seen++;     /* someone else holds it too */
            if (o->uses != 0) w->shared_seen++;  /* not reset */
            o->uses++;
        }
        for (int j = 0; j < k; j++) {
            slot_obj_t *o = held[j];
            atomic_store(&o->owner, 0);
            if (lle_objpool_release(w->sh->p, o) != LLE_SUCCESS) w->errors++;
        }
        w->ops += k;
    }
    return NULL;
}

static void pool_many_threads(void **state)
{
    (void)state;
    lle_memory_manager_t *m = new_manager();
    pool_shared_t sh;
    memset(&sh, 0, sizeof sh);
    lle_objpool_config_t cfg;
    lle_objpool_config_default(&cfg);
    cfg.object_size = sizeof(slot_obj_t);
    cfg.factory = obj_factory;
    cfg.reset = obj_reset;
    cfg.destroy = obj_destroy;
    cfg.user = &sh;
    cfg.max_idle = 6;
    assert_int_equal(lle_objpool_create(m, &cfg, &sh.p), LLE_SUCCESS);
    pthread_barrier_init(&sh.start, NULL, NTHREADS);
    pool_worker_t w[NTHREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < NTHREADS; i++) {
        w[i].sh = &sh;
        w[i].id = i;
        assert_int_equal(pthread_create(&w[i].tid, NULL, pool_thread, &w[i]), 0);
    }
    uint64_t ops = 0;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(w[i].tid, NULL);
        assert_int_equal(w[i].errors, 0);
        assert_int_equal(w[i].shared_seen, 0);
        ops += (uint64_t)w[i].ops;
    }
    pthread_barrier_destroy(&sh.start);
    lle_objpool_stats_t st;
    assert_int_equal(lle_objpool_get_stats(sh.p, &st), LLE_SUCCESS);
    assert_int_equal(st.acquired, ops);
    assert_int_equal(st.released, ops);
    assert_int_equal(st.in_use, 0);
    assert_true(st.idle <= 6);
    assert_int_equal(st.acquired, st.created + st.reused);
    assert_int_equal(st.created, st.dropped + st.idle);
    assert_int_equal(st.created, (uint64_t)atomic_load(&sh.factory));
    assert_int_equal(st.released, (uint64_t)atomic_load(&sh.reset));
    assert_int_equal(st.dropped, (uint64_t)atomic_load(&sh.destroy));
    assert_true(st.efficiency == (double)st.reused / (double)st.acquired);
    assert_int_equal(lle_objpool_destroy(sh.p), LLE_SUCCESS);
    assert_int_equal(atomic_load(&sh.destroy), atomic_load(&sh.factory));
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* Two threads release the same object at the same moment: exactly one
 * release succeeds, the other is refused as a double release. */
typedef struct race {
    lle_objpool_t    *p;
    pthread_barrier_t go;
    void *volatile    obj;
    lle_result_t      rc[2];
} race_t;

typedef struct racer {
    race_t   *r;
    int       side;
    pthread_t tid;
} racer_t;

#define RACES 300

static void *racer_thread(void *arg)
{
    racer_t *me = arg;
    for (int i = 0; i < RACES; i++) {
        pthread_barrier_wait(&me->r->go);        /* obj is set */
        me->r->rc[me->side] = lle_objpool_release(me->r->p, me->r->obj);
        pthread_barrier_wait(&me->r->go);        /* both done */
    }
    return NULL;
}

static void pool_double_release_race(void **state)
{
    (void)state;
    lle_memory_manager_t *m = new_manager();
    lle_objpool_config_t cfg;
    lle_objpool_config_default(&cfg);
    cfg.object_size = 32;
    cfg.max_idle = 4;                             /* the object stays in the pool */
    race_t r;
    memset(&r, 0, sizeof r);
    assert_int_equal(lle_objpool_create(m, &cfg, &r.p), LLE_SUCCESS);
    pthread_barrier_init(&r.go, NULL, 3);
    racer_t a = {&r, 0, 0}, b = {&r, 1, 0};
    assert_int_equal(pthread_create(&a.tid, NULL, racer_thread, &a), 0);
    assert_int_equal(pthread_create(&b.tid, NULL, racer_thread, &b), 0);
    int ok = 0, dbl = 0;
    for (int i = 0; i < RACES; i++) {
        void *o = NULL;
        assert_int_equal(lle_objpool_acquire(r.p, &o), LLE_SUCCESS);
        r.obj = o;
        pthread_barrier_wait(&r.go);
        pthread_barrier_wait(&r.go);
        for (int s = 0; s < 2; s++) {
            if (r.rc[s] == LLE_SUCCESS) ok++;
            else if (r.rc[s] == LLE_ERROR_DOUBLE_FREE) dbl++;
        }
    }
    pthread_join(a.tid, NULL);
    pthread_join(b.tid, NULL);
    pthread_barrier_destroy(&r.go);
    assert_int_equal(ok, RACES);
    assert_int_equal(dbl, RACES);
    lle_objpool_stats_t st;
    assert_int_equal(lle_objpool_get_stats(r.p, &st), LLE_SUCCESS);
    assert_int_equal(st.released, RACES);
    assert_int_equal(st.bad_releases, RACES);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.idle, 1);
    assert_int_equal(lle_objpool_destroy(r.p), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- weak cache ------------------------------------------------------------ */

typedef struct val {
    uint32_t magic;
    int      key;
} val_t;

#define VAL 0x76616c21u
static _Atomic int vals_destroyed;

static void val_destroy(void *obj)
{
    val_t *v = obj;
    v->magic = 0;
    atomic_fetch_add(&vals_destroyed, 1);
}

static const lle_type_t val_type = {"val", sizeof(val_t), val_destroy, NULL};

typedef struct cache_shared {
    lle_memory_manager_t *m;
    lle_weak_cache_t     *c;
    pthread_barrier_t     start;
} cache_shared_t;

typedef struct cache_worker {
    cache_shared_t *sh;
    pthread_t       tid;
    int             id;
    int             hits, bad, errors, created;
} cache_worker_t;

#define KEYS 64
#define CACHE_OPS 3000

/* Each thread makes objects, publishes them under shared keys, keeps a few
 * alive for a while and drops them; every object a get returns must be
 * alive and be the one for that key. */
static void *cache_thread(void *arg)
{
    cache_worker_t *w = arg;
    cache_shared_t *sh = w->sh;
    val_t *keep[4] = {0};
    char key[16];
    unsigned r = 77u + (unsigned)w->id;
    pthread_barrier_wait(&sh->start);
    for (int i = 0; i < CACHE_OPS; i++) {
        r = r * 1103515245u + 12345u;
        int k = (int)((r >> 16) % KEYS);
        snprintf(key, sizeof key, "k%d", k);
        switch ((r >> 8) % 4) {
        case 0: {
            val_t *v = lle_ref_new(sh->m, &val_type);
            if (!v) {
                w->errors++;
                break;
            }
            v->magic = VAL;
            v->key = k;
            w->created++;
            if (lle_weak_cache_put(sh->c, key, v) != LLE_SUCCESS) w->errors++;
            int slot = (int)((r >> 4) % 4);
            if (keep[slot]) lle_ref_release(keep[slot]);
            keep[slot] = v;
            break;
        }
        case 1:
        case 2: {
            val_t *v = lle_weak_cache_get(sh->c, key);
            if (v) {
                w->hits++;
                if (v->magic != VAL || v->key != k) w->bad++;
                lle_ref_release(v);
            }
            break;
        }
        default:
            if ((r >> 4) % 8 == 0) (void)lle_weak_cache_purge(sh->c);
            else if ((r >> 4) % 8 == 1) (void)lle_weak_cache_count(sh->c);
            else if (lle_weak_cache_remove(sh->c, key, NULL) != LLE_SUCCESS) w->errors++;
            break;
        }
    }
    for (int s = 0; s < 4; s++)
        if (keep[s]) lle_ref_release(keep[s]);
    return NULL;
}

static void cache_many_threads(void **state)
{
    (void)state;
    cache_shared_t sh;
    sh.m = new_manager();
    assert_int_equal(lle_weak_cache_create(sh.m, NULL, &sh.c), LLE_SUCCESS);
    pthread_barrier_init(&sh.start, NULL, NTHREADS);
    atomic_store(&vals_destroyed, 0);
    cache_worker_t w[NTHREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < NTHREADS; i++) {
        w[i].sh = &sh;
        w[i].id = i;
        assert_int_equal(pthread_create(&w[i].tid, NULL, cache_thread, &w[i]), 0);
    }
    int created = 0, hits = 0;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(w[i].tid, NULL);
        assert_int_equal(w[i].errors, 0);
        assert_int_equal(w[i].bad, 0);
        created += w[i].created;
        hits += w[i].hits;
    }
    pthread_barrier_destroy(&sh.start);
    assert_true(hits > 0);
    /* Every object is gone, so is every entry. */
    assert_int_equal(atomic_load(&vals_destroyed), created);
    assert_int_equal(lle_weak_cache_count(sh.c), 0);
    lle_weak_cache_stats_t st;
    assert_int_equal(lle_weak_cache_get_stats(sh.c, &st), LLE_SUCCESS);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.hits, (uint64_t)hits);
    assert_int_equal(st.puts, (uint64_t)created);
    assert_int_equal(lle_weak_cache_destroy(sh.c), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(sh.m), LLE_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lazy_computed_once),
        cmocka_unit_test(lazy_failure_shared_not_cached),
        cmocka_unit_test(lazy_churn),
        cmocka_unit_test(pool_many_threads),
        cmocka_unit_test(pool_double_release_race),
        cmocka_unit_test(cache_many_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
