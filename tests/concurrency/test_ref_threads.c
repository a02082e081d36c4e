/*
 * test_ref_threads.c - reference counts, weak references and the collector
 * under threads (run under ThreadSanitizer in CI).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "test_util.h"

typedef struct rnode {
    _Atomic int alive;       /* 1 from creation until destroy */
    void       *next;        /* set before the object is shared; never changed */
} rnode_t;

static _Atomic int destroyed;
static _Atomic int errors;

static void rnode_destroy(void *obj)
{
    rnode_t *n = obj;
    if (atomic_exchange(&n->alive, 0) != 1) atomic_fetch_add(&errors, 1);
    atomic_fetch_add(&destroyed, 1);
    void *next = n->next;
    n->next = NULL;
    lle_ref_release(next);
}
static void rnode_traverse(void *obj, lle_visit_fn visit, void *arg)
{
    visit(((rnode_t *)obj)->next, arg);
}
static const lle_type_t rnode_type = {"rnode", sizeof(rnode_t), rnode_destroy, rnode_traverse};
static const lle_type_t rleaf_type = {"rleaf", sizeof(rnode_t), rnode_destroy, NULL};

static rnode_t *rnew(lle_memory_manager_t *m, const lle_type_t *t)
{
    rnode_t *n = lle_ref_new(m, t);
    assert_non_null(n);
    atomic_store(&n->alive, 1);
    return n;
}

/* ---- retain/release from many threads ---- */

static void *hammer(void *arg)
{
    for (int i = 0; i < 100000; i++) {
        if (!lle_ref_retain(arg)) atomic_fetch_add(&errors, 1);
        if (lle_ref_release(arg) != LLE_SUCCESS) atomic_fetch_add(&errors, 1);
    }
    return NULL;
}

static void shared_counts(void **state)
{
    (void)state;
    atomic_store(&destroyed, 0);
    atomic_store(&errors, 0);
    lle_memory_manager_t *m = test_manager(NULL);
    rnode_t *n = rnew(m, &rleaf_type);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, hammer, n);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&errors), 0);
    assert_int_equal(lle_ref_count(n), 1);
    assert_int_equal(atomic_load(&destroyed), 0);
    lle_ref_release(n);
    assert_int_equal(atomic_load(&destroyed), 1);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- a weak upgrade racing the last release ---- */

typedef struct race {
    lle_weak_t *w;
    _Atomic int go;
    int         got;
} race_t;

static void *upgrader(void *arg)
{
    race_t *r = arg;
    while (!atomic_load(&r->go)) {
    }
    for (int i = 0; i < 200; i++) {
        rnode_t *n = lle_weak_get(r->w);
        if (!n) break;
        if (atomic_load(&n->alive) != 1) atomic_fetch_add(&errors, 1);
        r->got++;
        lle_ref_release(n);
    }
    return NULL;
}

static void weak_vs_release(void **state)
{
    (void)state;
    atomic_store(&destroyed, 0);
    atomic_store(&errors, 0);
    lle_memory_manager_t *m = test_manager(NULL);
    for (int round = 0; round < 300; round++) {
        rnode_t *n = rnew(m, &rleaf_type);
        race_t r = {.w = lle_weak_new(n)};
        pthread_t t;
        pthread_create(&t, NULL, upgrader, &r);
        atomic_store(&r.go, 1);
        lle_ref_release(n);
        pthread_join(t, NULL);
        assert_null(lle_weak_get(r.w));
        lle_weak_free(r.w);
    }
    assert_int_equal(atomic_load(&errors), 0);
    assert_int_equal(atomic_load(&destroyed), 300);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- walkers on a ring while other threads collect ----
 *
 * A ring of nodes whose only outside references are the walkers'.  Each
 * walker holds one node, retains the next through its (never changing)
 * field and releases the one it held: the references move around the ring
 * while collections run.  The ring must survive every collection (a
 * walker's node is reachable) and go with the first one after the walkers
 * stop. */

#define RING 500

typedef struct walker {
    lle_memory_manager_t *m;
    rnode_t              *at;
    _Atomic int          *stop;
    long                  steps;
} walker_t;

static void *walk(void *arg)
{
    walker_t *w = arg;
    while (!atomic_load(w->stop) || w->steps < 1000) {
        rnode_t *next = lle_ref_retain(w->at->next);
        if (!next || atomic_load(&next->alive) != 1) {
            atomic_fetch_add(&errors, 1);
            break;
        }
        lle_ref_release(w->at);
        w->at = next;
        w->steps++;
    }
    return NULL;
}

static void *collector(void *arg)
{
    walker_t *w = arg;
    while (!atomic_load(w->stop)) {
        lle_gc_collect(w->m, LLE_GC_FULL, NULL);
        lle_memory_idle(w->m, 50000, NULL);
    }
    return NULL;
}

static void walkers_and_collectors(void **state)
{
    (void)state;
    atomic_store(&destroyed, 0);
    atomic_store(&errors, 0);
    lle_memory_manager_t *m = test_manager(NULL);
    rnode_t *ring[RING];
    for (int i = 0; i < RING; i++) ring[i] = rnew(m, &rnode_type);
    for (int i = 0; i < RING; i++) ring[i]->next = lle_ref_retain(ring[(i + 1) % RING]);
    _Atomic int stop = 0;
    walker_t w[3];
    pthread_t tw[3], tc[2];
    for (int i = 0; i < 3; i++) {
        w[i] = (walker_t){m, lle_ref_retain(ring[i * 100]), &stop, 0};
        pthread_create(&tw[i], NULL, walk, &w[i]);
    }
    for (int i = 0; i < RING; i++) lle_ref_release(ring[i]);   /* walkers hold the ring */
    for (int i = 0; i < 2; i++) pthread_create(&tc[i], NULL, collector, &w[0]);
    struct timespec ts = {0, 300 * 1000000};
    nanosleep(&ts, NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++) pthread_join(tw[i], NULL);
    for (int i = 0; i < 2; i++) pthread_join(tc[i], NULL);
    assert_int_equal(atomic_load(&errors), 0);
    assert_int_equal(atomic_load(&destroyed), 0);
    for (int i = 0; i < 3; i++) lle_ref_release(w[i].at);
    size_t freed = 0;
    assert_int_equal(lle_gc_collect(m, LLE_GC_FULL, &freed), LLE_SUCCESS);
    assert_int_equal(freed, RING);
    assert_int_equal(atomic_load(&destroyed), RING);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- the background thread ---- */

typedef struct maker {
    lle_memory_manager_t *m;
    int                   made;
} maker_t;

/* Makes two-node cycles and drops them; links under lle_gc_lock, as the
 * background collector requires. */
static void *make_cycles(void *arg)
{
    maker_t *mk = arg;
    for (int i = 0; i < 3000; i++) {
        rnode_t *a = rnew(mk->m, &rnode_type), *b = rnew(mk->m, &rnode_type);
        lle_gc_lock(mk->m);
        a->next = lle_ref_retain(b);
        b->next = lle_ref_retain(a);
        lle_gc_unlock(mk->m);
        lle_ref_release(a);
        lle_ref_release(b);
        mk->made += 2;
    }
    return NULL;
}

static void background_thread(void **state)
{
    (void)state;
    atomic_store(&destroyed, 0);
    atomic_store(&errors, 0);
    lle_memory_manager_t *m = test_manager(NULL);
    lle_gc_config_t c;
    lle_gc_config_default(&c);
    c.background = true;
    c.background_period_ms = 1;
    c.background_budget_us = 500;
    c.young_in_alloc = false;
    assert_int_equal(lle_gc_configure(m, &c), LLE_SUCCESS);
    maker_t mk[2] = {{m, 0}, {m, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, make_cycles, &mk[i]);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    /* The background thread collects what is due; wait for it (bounded). */
    lle_gc_stats_t st;
    for (int i = 0; i < 2000; i++) {
        lle_gc_get_stats(m, &st);
        if (st.objects_freed > 0) break;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_true(st.objects_freed > 0);
    c.background = false;
    assert_int_equal(lle_gc_configure(m, &c), LLE_SUCCESS);
    size_t freed = 0;
    assert_int_equal(lle_gc_collect(m, LLE_GC_FULL, &freed), LLE_SUCCESS);
    lle_gc_get_stats(m, &st);
    assert_int_equal(st.live_objects, 0);
    assert_int_equal(atomic_load(&destroyed), mk[0].made + mk[1].made);
    assert_int_equal(atomic_load(&errors), 0);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* The background thread stops with the manager. */
static void background_stops_at_destroy(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_gc_config_t c;
    lle_gc_config_default(&c);
    c.background = true;
    c.background_period_ms = 1;
    assert_int_equal(lle_gc_configure(m, &c), LLE_SUCCESS);
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shared_counts),
        cmocka_unit_test(weak_vs_release),
        cmocka_unit_test(walkers_and_collectors),
        cmocka_unit_test(background_thread),
        cmocka_unit_test(background_stops_at_destroy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
