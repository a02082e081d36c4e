/*
 * test_secure_threads.c - the secure pool from several threads at once:
 * allocation, growth, sealing and unsealing of each thread's blocks, frees
 * of blocks other threads made (through a hand-off table), key rotations
 * and cold sealing running meanwhile; every block's content is checked
 * after each step.
 */
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

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_threads)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
