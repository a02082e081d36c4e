/*
 * test_state.c - the state machine of spec 2.2: the transition table, the
 * work each state does on entry, and the observer callback.
 */
#include "test_util.h"

typedef struct seen {
    int                n;
    lle_memory_state_t from[16], to[16];
} seen_t;

static void observe(void *user, lle_memory_manager_t *m, lle_memory_state_t from,
                    lle_memory_state_t to)
{
    (void)m;
    seen_t *s = user;
    if (s->n < 16) {
        s->from[s->n] = from;
        s->to[s->n] = to;
    }
    s->n++;
}

#define S(x) LLE_MEMORY_STATE_##x

static void table_matches_spec(void **state)
{
    (void)state;
    /* The documented table, written out independently of the code. */
    static const char *const allowed[] = {
        "INITIALIZING>ACTIVE", "INITIALIZING>ERROR", "INITIALIZING>SHUTDOWN",
        "ACTIVE>OPTIMIZING", "ACTIVE>GC_RUNNING", "ACTIVE>LOW_MEMORY", "ACTIVE>ERROR",
        "ACTIVE>SHUTDOWN", "OPTIMIZING>ACTIVE", "OPTIMIZING>LOW_MEMORY", "OPTIMIZING>ERROR",
        "OPTIMIZING>SHUTDOWN", "GC_RUNNING>ACTIVE", "GC_RUNNING>LOW_MEMORY", "GC_RUNNING>ERROR",
        "GC_RUNNING>SHUTDOWN", "LOW_MEMORY>ACTIVE", "LOW_MEMORY>OPTIMIZING", "LOW_MEMORY>ERROR",
        "LOW_MEMORY>SHUTDOWN", "ERROR>ACTIVE", "ERROR>SHUTDOWN",
    };
    int count = 0;
    for (int f = 0; f < LLE_MEMORY_STATE_COUNT; f++)
        for (int t = 0; t < LLE_MEMORY_STATE_COUNT; t++) {
            char name[64];
            snprintf(name, sizeof name, "%s>%s", lle_memory_state_name((lle_memory_state_t)f),
                     lle_memory_state_name((lle_memory_state_t)t));
            int want = 0;
            for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
                if (strcmp(allowed[i], name) == 0) want = 1;
            if (lle_memory_transition_allowed((lle_memory_state_t)f, (lle_memory_state_t)t) != want)
                fail_msg("transition %s: table says %d", name, !want);
            count += want;
        }
    assert_int_equal(count, 22);
    assert_int_equal(lle_memory_transition_allowed(S(COUNT), S(ACTIVE)), 0);
    assert_string_equal(lle_memory_state_name(S(COUNT)), "UNKNOWN");
}

static void invalid_transitions_change_nothing(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    seen_t seen = {0};
    lle_memory_set_state_callback(m, observe, &seen);
    assert_int_equal(lle_memory_get_state(m), S(ACTIVE));
    assert_int_equal(lle_memory_transition(m, S(INITIALIZING)), LLE_ERROR_INVALID_STATE_TRANSITION);
    assert_int_equal(lle_memory_transition(m, S(ACTIVE)), LLE_ERROR_INVALID_STATE_TRANSITION);
    assert_int_equal(lle_memory_transition(m, (lle_memory_state_t)42), LLE_ERROR_INVALID_ARGUMENT);
    assert_int_equal(lle_memory_transition(NULL, S(ACTIVE)), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_memory_get_state(m), S(ACTIVE));
    assert_int_equal(seen.n, 0);
    /* ERROR only leads back to ACTIVE or to SHUTDOWN. */
    assert_int_equal(lle_memory_transition(m, S(ERROR)), LLE_SUCCESS);
    assert_int_equal(lle_memory_transition(m, S(OPTIMIZING)), LLE_ERROR_INVALID_STATE_TRANSITION);
    assert_int_equal(lle_memory_transition(m, S(ACTIVE)), LLE_SUCCESS);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.from[0], S(ACTIVE));
    assert_int_equal(seen.to[0], S(ERROR));
    assert_int_equal(seen.from[1], S(ERROR));
    assert_int_equal(seen.to[1], S(ACTIVE));
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* A node holding one reference, for a two-object cycle. */
typedef struct pair_node { void *other; } pair_node_t;
static void pair_destroy(void *obj)
{
    pair_node_t *n = obj;
    lle_ref_release(n->other);
    n->other = NULL;
}
static void pair_traverse(void *obj, lle_visit_fn visit, void *arg)
{
    visit(((pair_node_t *)obj)->other, arg);
}
static const lle_type_t pair_type = {"pair", sizeof(pair_node_t), pair_destroy, pair_traverse};

/* Entering GC_RUNNING runs a full collection: an unreachable cycle goes. */
static void gc_state_collects(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    pair_node_t *a = lle_ref_new(m, &pair_type), *b = lle_ref_new(m, &pair_type);
    a->other = lle_ref_retain(b);
    b->other = lle_ref_retain(a);
    lle_ref_release(a);
    lle_ref_release(b);
    lle_gc_stats_t st;
    assert_int_equal(lle_gc_get_stats(m, &st), LLE_SUCCESS);
    assert_int_equal(st.live_objects, 2);
    assert_int_equal(lle_memory_transition(m, S(GC_RUNNING)), LLE_SUCCESS);
    assert_int_equal(lle_memory_get_state(m), S(GC_RUNNING));
    assert_int_equal(lle_gc_get_stats(m, &st), LLE_SUCCESS);
    assert_int_equal(st.live_objects, 0);
    assert_int_equal(st.objects_freed, 2);
    assert_int_equal(st.full_collections, 1);
    assert_int_equal(lle_memory_transition(m, S(ACTIVE)), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* OPTIMIZING gives back the empty slabs the calling thread still keeps
 * (one per size class it used) down to each pool's initial size. */
static void optimizing_trims_to_initial(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    for (size_t n = 16; n <= 4096; n *= 2) {
        void *p = lle_pool_alloc(m, LLE_POOL_STRING, n);
        assert_int_equal(lle_pool_free(m, p), LLE_SUCCESS);
    }
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.pools[LLE_POOL_STRING].slabs, 9); /* 16..4096: 9 classes */
    assert_int_equal(lle_memory_transition(m, S(OPTIMIZING)), LLE_SUCCESS);
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.pools[LLE_POOL_STRING].slab_bytes, 64 * 1024); /* initial size */
    lle_resize_event_t ev[64];
    size_t n;
    assert_int_equal(lle_pool_resize_history(m, LLE_POOL_STRING, ev, 64, &n), LLE_SUCCESS);
    assert_true(n >= 2);
    /* The kept slabs come back through the pool's shrink rule (utilisation
     * 0 is below the threshold) or the trim itself. */
    assert_true(ev[n - 1].reason == LLE_RESIZE_TRIM || ev[n - 1].reason == LLE_RESIZE_SHRINK);
    assert_int_equal(ev[n - 1].new_size, 64 * 1024);
    assert_int_equal(lle_memory_transition(m, S(ACTIVE)), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* LOW_MEMORY: every empty slab goes back, pools stop taking host memory,
 * the emergency reserve serves what held memory cannot; back in ACTIVE the
 * reserve is refilled. */
static void low_memory_relieves_pressure(void **state)
{
    (void)state;
    err_log_t log;
    lle_memory_manager_t *m = test_manager(&log);
    void *keep = lle_pool_alloc(m, LLE_POOL_EVENT, 48);
    lle_memory_stats_t st0, st;
    lle_memory_get_stats(m, &st0);
    assert_int_equal(lle_memory_transition(m, S(LOW_MEMORY)), LLE_SUCCESS);
    lle_memory_get_stats(m, &st);
    /* Only the EVENT slab holding `keep` is left. */
    assert_int_equal(st.total.slabs, 1);
    assert_true(st.host_bytes < st0.host_bytes);
    /* Held memory still serves its class... */
    void *same_class = lle_pool_alloc(m, LLE_POOL_EVENT, 40);
    assert_non_null(same_class);
    /* ...a new class cannot grow a pool: the reserve serves it. */
    log.count = 0;
    void *em = lle_pool_alloc(m, LLE_POOL_EVENT, 3000);
    assert_non_null(em);
    assert_int_equal(lle_pool_owner(m, em), LLE_POOL_SECONDARY);
    assert_int_equal(log.count, 1);
    assert_int_equal(log.last_code, LLE_ERROR_OUT_OF_MEMORY);
    assert_non_null(strstr(log.last_msg, "emergency"));
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.emergency_allocations, 1);
    assert_int_equal(st.emergency_in_use, 3008);
    assert_int_equal(st.total.slabs, 1);
    /* Larger than the reserve: fails cleanly. */
    assert_null(lle_pool_alloc(m, LLE_POOL_EVENT, 200000));
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.failed_allocations, 1);

    assert_int_equal(lle_memory_transition(m, S(ACTIVE)), LLE_SUCCESS);
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.emergency_refills, 1);
    assert_int_equal(st.emergency_capacity, 64 * 1024);
    assert_int_equal(st.emergency_in_use, 3008); /* the retired region until freed */
    assert_int_equal(lle_pool_free(m, em), LLE_SUCCESS);
    assert_int_equal(lle_pool_free(m, em), LLE_ERROR_INVALID_POINTER); /* region given back */
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.emergency_in_use, 0);
    /* Growth works again. */
    void *big = lle_pool_alloc(m, LLE_POOL_EVENT, 3000);
    assert_int_equal(lle_pool_owner(m, big), LLE_POOL_EVENT);
    assert_int_equal(lle_pool_free(m, big), LLE_SUCCESS);
    assert_int_equal(lle_pool_free(m, keep), LLE_SUCCESS);
    assert_int_equal(lle_pool_free(m, same_class), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void error_state_stops_growth(void **state)
{
    (void)state;
    err_log_t log;
    lle_memory_config_t cfg;
    test_config(&cfg, &log);
    cfg.emergency_reserve = 0;
    lle_memory_manager_t *m;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    assert_int_equal(lle_memory_transition(m, S(ERROR)), LLE_SUCCESS);
    assert_int_equal(log.last_code, LLE_ERROR_INVALID_STATE);
    /* The EVENT pool holds an initial slab: served.  HISTORY holds none. */
    void *a = lle_pool_alloc(m, LLE_POOL_EVENT, 100);
    assert_non_null(a);
    assert_null(lle_pool_alloc(m, LLE_POOL_HISTORY, 100));
    assert_int_equal(log.last_code, LLE_ERROR_OUT_OF_MEMORY);
    assert_int_equal(lle_pool_free(m, a), LLE_SUCCESS);
    assert_int_equal(lle_memory_transition(m, S(ACTIVE)), LLE_SUCCESS);
    void *b = lle_pool_alloc(m, LLE_POOL_HISTORY, 100);
    assert_non_null(b);
    assert_int_equal(lle_pool_free(m, b), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void shutdown_counts_leaks(void **state)
{
    (void)state;
    err_log_t log;
    lle_memory_manager_t *m = test_manager(&log);
    size_t sizes[] = {10, 100, 1000, 10000, 100000};
    size_t want_bytes = 0;
    for (size_t i = 0; i < 5; i++) {
        void *p = lle_pool_alloc(m, LLE_POOL_HISTORY, sizes[i]);
        want_bytes += lle_pool_usable_size(m, p);
        void *q = lle_pool_alloc(m, LLE_POOL_HISTORY, sizes[i]);
        assert_int_equal(lle_pool_free(m, q), LLE_SUCCESS);
    }
    /* Plus a leak in the emergency reserve. */
    assert_int_equal(lle_memory_transition(m, S(LOW_MEMORY)), LLE_SUCCESS);
    void *em = lle_pool_alloc(m, LLE_POOL_SYNTAX, 500);
    assert_int_equal(lle_pool_owner(m, em), LLE_POOL_SECONDARY);
    want_bytes += lle_pool_usable_size(m, em);

    size_t blocks = 99, bytes = 99;
    assert_int_equal(lle_memory_shutdown(m, &blocks, &bytes), LLE_SUCCESS);
    assert_int_equal(blocks, 6);
    assert_int_equal(bytes, want_bytes);
    assert_int_equal(lle_memory_get_state(m), S(SHUTDOWN));
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.total.reserved_bytes, 0);
    assert_int_equal(st.emergency_capacity, 0);
    /* After shutdown: allocation fails with INVALID_STATE, no transition;
     * also for the pool and class this thread allocated from before (its
     * heap is gone, its heap cache must not be used). */
    assert_null(lle_pool_alloc(m, LLE_POOL_HISTORY, 10));
    assert_int_equal(log.last_code, LLE_ERROR_INVALID_STATE);
    assert_null(lle_pool_alloc(m, LLE_POOL_TEMP, 10));
    assert_int_equal(log.last_code, LLE_ERROR_INVALID_STATE);
    assert_int_equal(lle_memory_transition(m, S(ACTIVE)), LLE_ERROR_INVALID_STATE_TRANSITION);
    assert_int_equal(lle_memory_trim(m, NULL), LLE_ERROR_INVALID_STATE);
    /* Destroy after an explicit shutdown: the leaks were already reported. */
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);

    /* Destroy of a manager with leaks says so. */
    m = test_manager(&log);
    void *leak = lle_pool_alloc(m, LLE_POOL_TEMP, 10);
    assert_non_null(leak);
    log.count = 0;
    assert_int_equal(lle_memory_manager_destroy(m), LLE_ERROR_MEMORY_LEAK);
    assert_int_equal(log.count, 1);
    assert_int_equal(log.last_code, LLE_ERROR_MEMORY_LEAK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_matches_spec),
        cmocka_unit_test(invalid_transitions_change_nothing),
        cmocka_unit_test(gc_state_collects),
        cmocka_unit_test(optimizing_trims_to_initial),
        cmocka_unit_test(low_memory_relieves_pressure),
        cmocka_unit_test(error_state_stops_growth),
        cmocka_unit_test(shutdown_counts_leaks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
