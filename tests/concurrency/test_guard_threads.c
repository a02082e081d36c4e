/*
 * test_guard_threads.c - guard pages used from several threads at once:
 * sampled and every-allocation pools, frees of each other's blocks (guard
 * page blocks and ordinary ones), heap checks, statistics, protection
 * changes, and the sampling rate switched while the threads allocate.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "test_util.h"

#define THREADS 4
#define ROUNDS 4000

static lle_memory_manager_t *M;
static _Atomic(void *) handoff[THREADS][64];
static _Atomic int stop;
static _Atomic long guarded_seen;

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint64_t x = 0x9E3779B97F4A7C15ull * (uint64_t)(id + 1);
    for (int r = 0; r < ROUNDS; r++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* string: one in 20 sampled; history: every block guarded. */
        int pool = (x >> 8) % 8 == 0 ? LLE_POOL_HISTORY : LLE_POOL_STRING;
        size_t n = 1 + (x >> 16) % 300;
        unsigned char *p = LLE_ALLOC(M, (lle_memory_pool_type_t)pool, n);
        assert_non_null(p);
        memset(p, id, n);
        lle_block_info_t bi;
        assert_int_equal(lle_block_query(M, p, &bi), LLE_SUCCESS);
        if (bi.guarded) {
            atomic_fetch_add(&guarded_seen, 1);
            if ((x >> 40) % 4 == 0) {   /* read-only for a while, then back */
                assert_int_equal(lle_memory_protect(M, p, LLE_ACCESS_READ), LLE_SUCCESS);
                assert_int_equal(p[0], id);
                assert_int_equal(lle_memory_protect(M, p, LLE_ACCESS_READ_WRITE), LLE_SUCCESS);
                p[0] = (unsigned char)id;
            }
        }
        void *old = atomic_exchange(&handoff[(id + 1) % THREADS][(x >> 24) & 63], p);
        if (old) assert_int_equal(LLE_FREE(M, old), LLE_SUCCESS);
    }
    return NULL;
}

static void *inspector(void *arg)
{
    (void)arg;
    unsigned k = 0;
    while (!atomic_load(&stop)) {
        size_t n;
        assert_int_equal(lle_detect_memory_errors(M, &n), LLE_SUCCESS);
        lle_memory_stats_t st;
        assert_int_equal(lle_memory_get_stats(M, &st), LLE_SUCCESS);
        lle_debug_config_t dc = {0};
        dc.guard = ++k % 2 ? 5 : 40;
        assert_int_equal(lle_memory_set_debug(M, LLE_POOL_STRING, &dc), LLE_SUCCESS);
    }
    return NULL;
}

static void threads_share_guard_pages(void **state)
{
    (void)state;
    err_log_t log;
    lle_memory_config_t cfg;
    test_config(&cfg, &log);
    assert_int_equal(lle_memory_config_apply_options(
                         &cfg, "pool.string.guard=20,pool.history.guard=all", NULL, 0),
                     LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_create(&cfg, &M), LLE_SUCCESS);
    pthread_t t[THREADS], ins;
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i), 0);
    assert_int_equal(pthread_create(&ins, NULL, inspector, NULL), 0);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    atomic_store(&stop, 1);
    pthread_join(ins, NULL);
    for (int i = 0; i < THREADS; i++)
        for (int j = 0; j < 64; j++) {
            void *p = atomic_exchange(&handoff[i][j], NULL);
            if (p) assert_int_equal(LLE_FREE(M, p), LLE_SUCCESS);
        }
    assert_true(atomic_load(&guarded_seen) > THREADS * ROUNDS / 8 / 2);
    lle_memory_stats_t st;
    assert_int_equal(lle_memory_get_stats(M, &st), LLE_SUCCESS);
    assert_int_equal(st.total.guarded_blocks, 0);
    assert_int_equal(st.pools[LLE_POOL_STRING].live_blocks, 0);
    assert_int_equal(st.pools[LLE_POOL_HISTORY].live_blocks, 0);
    assert_int_equal(st.pools[LLE_POOL_STRING].alloc_count, st.pools[LLE_POOL_STRING].free_count);
    assert_int_equal(log.count, 0);
    assert_int_equal(lle_memory_manager_destroy(M), LLE_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(threads_share_guard_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
