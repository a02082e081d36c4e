/*
 * test_debug_threads.c - debug blocks used from several threads at once:
 * allocations, frees of each other's blocks (with guard bytes, poison and
 * quarantine, with guard bytes only, tracked only), heap checks, reports
 * and snapshots, and debugging switched on and off while other threads
 * allocate from the pool.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "test_util.h"

#define THREADS 4
#define ROUNDS 3000

static lle_memory_manager_t *M;
static _Atomic(void *) handoff[THREADS][64];
static _Atomic int stop;

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint64_t x = 0x9E3779B97F4A7C15ull * (uint64_t)(id + 1);
    for (int r = 0; r < ROUNDS; r++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        static const int pools[3] = {LLE_POOL_STRING, LLE_POOL_EVENT, LLE_POOL_HISTORY};
        int pool = pools[(x >> 8) % 3];
        size_t n = 1 + (x >> 16) % 300;
        unsigned char *p = LLE_ALLOC(M, (lle_memory_pool_type_t)pool, n);
        assert_non_null(p);
        memset(p, id, n);
        /* Hand it to the next thread, free what the previous one left. */
        void *old = atomic_exchange(&handoff[(id + 1) % THREADS][(x >> 24) & 63], p);
        if (old) assert_int_equal(LLE_FREE(M, old), LLE_SUCCESS);
    }
    return NULL;
}

static void *inspector(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        size_t n;
        assert_int_equal(lle_detect_memory_errors(M, &n), LLE_SUCCESS);
        lle_snapshot_t *s;
        assert_int_equal(lle_snapshot_take(M, &s), LLE_SUCCESS);
        lle_snapshot_free(s);
        lle_site_usage_t u[8];
        lle_track_usage(M, u, 8, &n);
        lle_memory_stats_t st;
        assert_int_equal(lle_memory_get_stats(M, &st), LLE_SUCCESS);
        lle_debug_config_t on = {.track = true, .canary = true}, off = {0};
        lle_memory_set_debug(M, LLE_POOL_EVENT, &off);
        lle_memory_set_debug(M, LLE_POOL_EVENT, &on);
    }
    return NULL;
}

static void threads_share_debug_pools(void **state)
{
    (void)state;
    err_log_t log;
    lle_memory_config_t cfg;
    test_config(&cfg, &log);
    cfg.audit_entries = 128;
    assert_int_equal(lle_memory_config_apply_options(&cfg, "pool.string.debug=full,"
                                                           "pool.event.debug=track+canary,"
                                                           "pool.history.debug=track",
                                                     NULL, 0),
                     LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_create(&cfg, &M), LLE_SUCCESS);
    pthread_t t[THREADS], insp;
    assert_int_equal(pthread_create(&insp, NULL, inspector, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    atomic_store(&stop, 1);
    pthread_join(insp, NULL);
    for (int i = 0; i < THREADS; i++)
        for (int k = 0; k < 64; k++) {
            void *p = atomic_exchange(&handoff[i][k], NULL);
            if (p) assert_int_equal(LLE_FREE(M, p), LLE_SUCCESS);
        }
    assert_int_equal(log.count, 0);
    lle_memory_stats_t st;
    lle_memory_get_stats(M, &st);
    assert_int_equal(st.total.live_blocks, 0);
    assert_int_equal(lle_memory_manager_destroy(M), LLE_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(threads_share_debug_pools),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
