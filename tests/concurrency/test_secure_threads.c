/*
 * test_secure_threads.c - the secure pool from several threads at once:
 * allocation, growth, sealing and unsealing of each thread's blocks, frees
 * of blocks other threads made (through a hand-off table), key rotations
 * and cold sealing running meanwhile; every block's content is checked
 * after each step.  Then the same with lle_memory_idle doing the sealing
 * and the rotations (secure.cold_seal, secure.rotate) from its own thread
 * while workers open, check and replace blocks marked for it and another
 * thread writes and reads a history store.
 */
#include <time.h>
#include <pthread.h>
#include <stdatomic.h>

#include "test_util.h"

#define THREADS 4
#define ROUNDS 1500
#define SLOTS 16

static lle_memory_manager_t *M;
static _Atomic(void *) handoff[SLOTS];
static _Atomic int stop;

static bool holds(const unsigned char *p, size_t n, unsigned char v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v) return false;
    return true;
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint64_t x = 0x9E3779B97F4A7C15ull * (uint64_t)(id + 1);
    for (int r = 0; r < ROUNDS; r++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t n = 1 + (x >> 16) % ((x >> 8) % 16 == 0 ? 6000 : 200);
        unsigned char v = (unsigned char)(id * 16 + r % 16 + 1);
        unsigned char *p = lle_secure_alloc_ex(M, LLE_POOL_BUFFER, n, LLE_SENSITIVITY_LOW);
        assert_non_null(p);
        memset(p, v, n);
        if ((x >> 30) % 2 == 0) {
            /* a sealed block may be re-sealed by a rotation meanwhile */
            assert_int_equal(lle_seal(M, p), LLE_SUCCESS);
            assert_int_equal(lle_unseal(M, p), LLE_SUCCESS);
            assert_true(holds(p, n, v));
        }
        if ((x >> 32) % 3 == 0) {
            void *q = p;
            assert_int_equal(lle_secure_realloc(M, &q, n * 2), LLE_SUCCESS);
            p = q;
            assert_true(holds(p, n, v));
        }
        /* hand it to another thread, take one back */
        void *old = atomic_exchange(&handoff[(x >> 40) % SLOTS], p);
        if (old) assert_int_equal(lle_pool_free(M, old), LLE_SUCCESS);
    }
    return NULL;
}

static void *rotator(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        size_t k;
        assert_int_equal(lle_seal_rotate_keys(M, &k), LLE_SUCCESS);
        lle_secure_stats_t st;
        assert_int_equal(lle_secure_get_stats(M, &st), LLE_SUCCESS);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    M = test_manager(NULL);
    lle_secure_config_t c;
    lle_secure_config_default(&c);
    c.encrypt_sensitive_data = false;   /* seal_cold must not seal the workers' blocks */
    assert_int_equal(lle_secure_configure(M, &c), LLE_SUCCESS);
    pthread_t t[THREADS], rot;
    assert_int_equal(pthread_create(&rot, NULL, rotator, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    atomic_store(&stop, 1);
    pthread_join(rot, NULL);
    for (int i = 0; i < SLOTS; i++) {
        void *p = atomic_exchange(&handoff[i], NULL);
        if (p) assert_int_equal(lle_secure_free(M, p), LLE_SUCCESS);
    }
    lle_secure_stats_t st;
    assert_int_equal(lle_secure_get_stats(M, &st), LLE_SUCCESS);
    assert_int_equal(st.live_blocks, 0);
    assert_int_equal(st.sealed_blocks, 0);
    assert_int_equal(st.allocs, st.frees);
    assert_true(st.key_rotations >= 1);
    assert_int_equal(lle_memory_manager_destroy(M), LLE_SUCCESS);
}

/* ---- upkeep by lle_memory_idle ------------------------------------------------ */

#define COLD_MS 200          /* secure.cold_seal: longer than any use below */
#define IDLE_ROUNDS 600
#define KEEP 8

static void nap_ms(unsigned ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

static void *marked_worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    unsigned char *blk[KEEP] = {0};
    unsigned char val[KEEP] = {0};
    uint64_t x = 0x2545F4914F6CDD1Dull * (uint64_t)(id + 3);
    for (int r = 0; r < IDLE_ROUNDS; r++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int k = (int)(x % KEEP);
        if (blk[k]) {
            /* Sealed by idle or not: open, then it is ours for COLD_MS. */
            assert_int_equal(lle_secure_open(M, blk[k]), LLE_SUCCESS);
            assert_true(holds(blk[k], 96, val[k]));
        }
        if (!blk[k] || (x >> 20) % 4 == 0) {
            if (blk[k]) assert_int_equal(lle_secure_free(M, blk[k]), LLE_SUCCESS);
            blk[k] = lle_secure_alloc(M, 96);
            assert_non_null(blk[k]);
            val[k] = (unsigned char)(id * 32 + r % 32 + 1);
            memset(blk[k], val[k], 96);
            assert_int_equal(lle_secure_auto_seal(M, blk[k], true), LLE_SUCCESS);
        }
        if (r % 150 == 149) nap_ms(COLD_MS + 50);   /* let them go cold */
    }
    for (int k = 0; k < KEEP; k++)
        if (blk[k]) assert_int_equal(lle_secure_free(M, blk[k]), LLE_SUCCESS);
    return NULL;
}

static void *history_worker(void *arg)
{
    lle_history_store_t *h = arg;
    char key[16], buf[64], want[64];
    for (int r = 0; r < IDLE_ROUNDS; r++) {
        int k = r % 32;
        snprintf(key, sizeof key, "k%d", k);
        int n = snprintf(want, sizeof want, "export TOKEN=%d-%d", k, r);
        assert_int_equal(lle_history_put(h, key, want, (size_t)n, LLE_SENSITIVITY_MEDIUM),
                         LLE_SUCCESS);
        size_t len = 0;
        assert_int_equal(lle_history_get(h, key, buf, sizeof buf, &len), LLE_SUCCESS);
        assert_int_equal(len, (size_t)n);
        assert_memory_equal(buf, want, len);
        if (r % 150 == 149) nap_ms(COLD_MS + 50);
    }
    return NULL;
}

static void *idler(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        lle_idle_report_t rep;
        assert_int_equal(lle_memory_idle(M, 300000, &rep), LLE_SUCCESS);
        nap_ms(1);
    }
    return NULL;
}

static void test_idle_threads(void **state)
{
    (void)state;
    lle_memory_config_t cfg;
    test_config(&cfg, NULL);
    cfg.secure.cold_seal_ms = COLD_MS;
    cfg.secure.rotate_interval_ms = 20;
    assert_int_equal(lle_memory_manager_create(&cfg, &M), LLE_SUCCESS);
    atomic_store(&stop, 0);
    lle_history_store_t *h;
    assert_int_equal(lle_history_create(M, &h), LLE_SUCCESS);
    pthread_t t[THREADS], hist, idle;
    assert_int_equal(pthread_create(&idle, NULL, idler, NULL), 0);
    assert_int_equal(pthread_create(&hist, NULL, history_worker, h), 0);
    for (int i = 0; i < THREADS - 1; i++)
        assert_int_equal(pthread_create(&t[i], NULL, marked_worker, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS - 1; i++) pthread_join(t[i], NULL);
    pthread_join(hist, NULL);
    atomic_store(&stop, 1);
    pthread_join(idle, NULL);
    lle_secure_stats_t st;
    assert_int_equal(lle_secure_get_stats(M, &st), LLE_SUCCESS);
    assert_true(st.idle_sealed > 0);
    assert_true(st.idle_rotations > 0);
    assert_int_equal(st.auto_seal_blocks, 0);
    lle_history_stats_t hs;
    assert_int_equal(lle_history_get_stats(h, &hs), LLE_SUCCESS);
    assert_int_equal(hs.entries, 32);
    assert_int_equal(lle_history_destroy(h), LLE_SUCCESS);
    assert_int_equal(lle_secure_get_stats(M, &st), LLE_SUCCESS);
    assert_int_equal(st.live_blocks, 0);
    assert_int_equal(st.sealed_blocks, 0);
    assert_int_equal(lle_memory_manager_destroy(M), LLE_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_threads),
                                       cmocka_unit_test(test_idle_threads)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
