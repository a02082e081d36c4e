/*
 * test_secure_seal.c - sealing (lle_seal / lle_unseal): the block holds
 * ciphertext while sealed and its content again after; a fresh nonce each
 * seal; tampering, a moved ciphertext, a key rotated away, blocks that are
 * not secure or not this manager's are refused with nothing left behind;
 * rotation re-seals every block; the policy decides what seal_cold seals;
 * statistics count what happened.
 */
#include "rec.h"
#include "test_util.h"

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(0xa0 + (i * 7 + seed) % 32);
}

static bool holds(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(0xa0 + (i * 7 + seed) % 32)) return false;
    return true;
}

/* Bytes of [p, p+n) equal to the plaintext at the same place. */
static size_t same_bytes(const unsigned char *p, size_t n, unsigned seed)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += p[i] == (unsigned char)(0xa0 + (i * 7 + seed) % 32);
    return k;
}

static void test_seal_roundtrip(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = rec_manager(&r);
    const size_t sizes[] = {1, 64, 4096, 65536};
    for (size_t k = 0; k < 4; k++) {
        size_t n = sizes[k];
        unsigned char *p = lle_secure_alloc(m, n);
        fill(p, n, (unsigned)k);
        assert_int_equal(lle_seal(m, p), LLE_SUCCESS);
        assert_true(lle_is_sealed(m, p));
        /* ciphertext: about 1 byte in 256 matches by chance */
        if (n >= 64) assert_true(same_bytes(p, n, (unsigned)k) < n / 16);
        unsigned char *first = malloc(n);
        memcpy(first, p, n);
        assert_int_equal(lle_unseal(m, p), LLE_SUCCESS);
        assert_false(lle_is_sealed(m, p));
        assert_true(holds(p, n, (unsigned)k));
        /* a fresh nonce: the same plaintext seals differently */
        assert_int_equal(lle_seal(m, p), LLE_SUCCESS);
        if (n >= 64) assert_memory_not_equal(first, p, n);
        assert_int_equal(lle_unseal(m, p), LLE_SUCCESS);
        assert_true(holds(p, n, (unsigned)k));
        free(first);
        assert_int_equal(lle_secure_free(m, p), LLE_SUCCESS);
    }
    lle_secure_stats_t st;
    assert_int_equal(lle_secure_get_stats(m, &st), LLE_SUCCESS);
    assert_int_equal(st.seals, 8);
    assert_int_equal(st.unseals, 8);
    assert_int_equal(st.sealed_blocks, 0);
    assert_int_equal(st.key_generation, 1);
    assert_int_equal(st.seal_ns_avg, st.seal_ns_total / 8);
    assert_int_equal(st.unseal_ns_avg, st.unseal_ns_total / 8);
    assert_int_equal(st.seal_failures + st.unseal_failures, 0);
    assert_int_equal(st.live_blocks, 0);   /* the key block is not the user's */
    assert_int_equal(r.n, 0);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void test_sealed_counts_and_free(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = rec_manager(&r);
    unsigned char *a = lle_secure_alloc(m, 100), *b = lle_secure_alloc(m, 300);
    assert_int_equal(lle_seal(m, a), LLE_SUCCESS);
    assert_int_equal(lle_seal(m, b), LLE_SUCCESS);
    lle_secure_stats_t st;
    lle_secure_get_stats(m, &st);
    assert_int_equal(st.sealed_blocks, 2);
    assert_int_equal(st.sealed_bytes, 400);
    /* a sealed block may be freed (wiped) */
    assert_int_equal(lle_secure_free(m, b), LLE_SUCCESS);
    lle_secure_get_stats(m, &st);
    assert_int_equal(st.sealed_blocks, 1);
    assert_int_equal(st.sealed_bytes, 100);
    /* a sealed block is not resized */
    void *q = a;
    assert_int_equal(lle_secure_realloc(m, &q, 1000), LLE_ERROR_INVALID_STATE);
    assert_ptr_equal(q, a);
    assert_int_equal(lle_seal(m, a), LLE_ERROR_INVALID_STATE);
    lle_secure_free(m, a);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void test_tampering(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = rec_manager(&r);
    unsigned char *p = lle_secure_alloc(m, 64);
    fill(p, 64, 1);
    assert_int_equal(lle_seal(m, p), LLE_SUCCESS);
    p[10] ^= 1;
    assert_int_equal(lle_unseal(m, p), LLE_ERROR_CORRUPTION);
    assert_true(mem_all_zero(p, 64));                /* no plaintext written, the block wiped */
    assert_true(lle_is_sealed(m, p));
    assert_int_equal(lle_unseal(m, p), LLE_ERROR_CORRUPTION);
    assert_int_equal(r.e[0].code, LLE_ERROR_CORRUPTION);
    assert_ptr_equal(r.e[0].address, p);
    /* a ciphertext copied into another block does not open there */
    unsigned char *a = lle_secure_alloc(m, 64), *b = lle_secure_alloc(m, 64);
    fill(a, 64, 2);
    fill(b, 64, 3);
    assert_int_equal(lle_seal(m, a), LLE_SUCCESS);
    assert_int_equal(lle_seal(m, b), LLE_SUCCESS);
    memcpy(b, a, 64);
    assert_int_equal(lle_unseal(m, b), LLE_ERROR_CORRUPTION);
    assert_int_equal(same_bytes(b, 64, 2), 0);
    assert_int_equal(lle_unseal(m, a), LLE_SUCCESS);
    assert_true(holds(a, 64, 2));
    lle_secure_stats_t st;
    lle_secure_get_stats(m, &st);
    assert_int_equal(st.tamper_detected, 3);
    assert_int_equal(st.unseal_failures, 3);
    lle_secure_free(m, p);
    lle_secure_free(m, a);
    lle_secure_free(m, b);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void test_bad_blocks(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = rec_manager(&r);
    lle_memory_manager_t *other = rec_manager(&(rec_t){0});
    unsigned char *p = lle_secure_alloc(m, 64);
    fill(p, 64, 4);
    assert_int_equal(lle_unseal(m, p), LLE_ERROR_NOT_SEALED);
    assert_true(holds(p, 64, 4));
    /* an ordinary block of another pool, another manager's, an interior pointer */
    unsigned char *plain = lle_pool_alloc(m, LLE_POOL_HISTORY, 64);
    fill(plain, 64, 5);
    assert_int_equal(lle_seal(m, plain), LLE_ERROR_INVALID_POINTER);
    assert_true(holds(plain, 64, 5));
    unsigned char *theirs = lle_secure_alloc(other, 64);
    fill(theirs, 64, 6);
    assert_int_equal(lle_seal(m, theirs), LLE_ERROR_INVALID_POINTER);
    assert_int_equal(lle_unseal(m, theirs), LLE_ERROR_INVALID_POINTER);
    assert_true(holds(theirs, 64, 6));
    assert_int_equal(lle_seal(m, p + 16), LLE_ERROR_INVALID_POINTER);
    assert_true(holds(p, 64, 4));
    assert_int_equal(lle_seal(NULL, p), LLE_ERROR_NULL_PARAMETER);
    /* a freed block */
    unsigned char *gone = lle_secure_alloc(m, 64);
    lle_secure_free(m, gone);
    assert_int_equal(lle_seal(m, gone), LLE_ERROR_DOUBLE_FREE);
    lle_secure_stats_t st;
    lle_secure_get_stats(m, &st);
    assert_int_equal(st.seal_failures, 4);
    assert_int_equal(st.unseal_failures, 2);
    assert_int_equal(st.sealed_blocks, 0);
    lle_pool_free(m, plain);
    lle_secure_free(m, p);
    lle_secure_free(other, theirs);
    assert_int_equal(lle_memory_manager_destroy(other), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void test_rotation(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = rec_manager(&r);
    enum { N = 50 };
    unsigned char *p[N], before[N][96];
    for (unsigned i = 0; i < N; i++) {
        p[i] = lle_secure_alloc_ex(m, (lle_memory_pool_type_t)(i % LLE_POOL_COUNT), 96,
                                   LLE_SENSITIVITY_HIGH);
        fill(p[i], 96, i);
        assert_int_equal(lle_seal(m, p[i]), LLE_SUCCESS);
        memcpy(before[i], p[i], 96);
    }
    size_t n = 0;
    assert_int_equal(lle_seal_rotate_keys(m, &n), LLE_SUCCESS);
    assert_int_equal(n, N);
    for (unsigned i = 0; i < N; i++) {
        assert_true(lle_is_sealed(m, p[i]));
        assert_memory_not_equal(before[i], p[i], 96);
    }
    /* the old ciphertext does not open under the new keys */
    unsigned char *q = p[7];
    memcpy(q, before[7], 96);
    assert_int_equal(lle_unseal(m, q), LLE_ERROR_CORRUPTION);
    /* one tampered block: reported, the others re-sealed */
    p[3][0] ^= 0x80;
    assert_int_equal(lle_seal_rotate_keys(m, &n), LLE_ERROR_CORRUPTION);
    assert_int_equal(n, N - 2);   /* p[7] failed before; p[3] fails now */
    assert_int_equal(lle_unseal(m, p[3]), LLE_ERROR_KEY_ROTATED);
    assert_true(mem_all_zero(p[3], 96));
    for (unsigned i = 0; i < N; i++) {
        if (i == 3 || i == 7) continue;
        assert_int_equal(lle_unseal(m, p[i]), LLE_SUCCESS);
        assert_true(holds(p[i], 96, i));
    }
    lle_secure_stats_t st;
    lle_secure_get_stats(m, &st);
    assert_int_equal(st.key_rotations, 2);
    assert_int_equal(st.key_generation, 3);
    assert_int_equal(st.resealed_blocks, 2 * N - 2);
    for (unsigned i = 0; i < N; i++) lle_secure_free(m, p[i]);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void test_policy(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = rec_manager(&r);
    unsigned char *low = lle_secure_alloc_ex(m, LLE_POOL_HISTORY, 64, LLE_SENSITIVITY_LOW);
    unsigned char *med = lle_secure_alloc_ex(m, LLE_POOL_HISTORY, 64, LLE_SENSITIVITY_MEDIUM);
    unsigned char *crit = lle_secure_alloc_ex(m, LLE_POOL_HISTORY, 64, LLE_SENSITIVITY_CRITICAL);
    lle_secure_config_t c;
    lle_secure_config_default(&c);
    assert_true(c.encrypt_sensitive_data);
    assert_false(c.encrypt_all_allocations);
    assert_false(lle_secure_policy_seals(m, LLE_SENSITIVITY_LOW));
    assert_true(lle_secure_policy_seals(m, LLE_SENSITIVITY_MEDIUM));
    size_t n = 9;
    /* nothing is cold for an hour */
    assert_int_equal(lle_secure_seal_cold(m, 3600ull * 1000000000ull, &n), LLE_SUCCESS);
    assert_int_equal(n, 0);
    assert_int_equal(lle_secure_seal_cold(m, 0, &n), LLE_SUCCESS);
    assert_int_equal(n, 2);
    assert_false(lle_is_sealed(m, low));
    assert_true(lle_is_sealed(m, med));
    assert_true(lle_is_sealed(m, crit));
    c.encrypt_all_allocations = true;
    assert_int_equal(lle_secure_configure(m, &c), LLE_SUCCESS);
    assert_int_equal(lle_secure_seal_cold(m, 0, &n), LLE_SUCCESS);
    assert_int_equal(n, 1);
    assert_true(lle_is_sealed(m, low));
    c.encrypt_all_allocations = false;
    c.encrypt_sensitive_data = false;
    lle_secure_configure(m, &c);
    assert_false(lle_secure_policy_seals(m, LLE_SENSITIVITY_CRITICAL));
    assert_int_equal(lle_unseal(m, crit), LLE_SUCCESS);
    assert_int_equal(lle_secure_seal_cold(m, 0, &n), LLE_SUCCESS);
    assert_int_equal(n, 0);
    c.encrypt_sensitive_data = true;
    c.sensitive_level = LLE_SENSITIVITY_CRITICAL;
    lle_secure_configure(m, &c);
    assert_false(lle_secure_policy_seals(m, LLE_SENSITIVITY_HIGH));
    assert_true(lle_secure_policy_seals(m, LLE_SENSITIVITY_CRITICAL));
    assert_int_equal(lle_secure_touch(m, crit), LLE_SUCCESS);
    assert_int_equal(lle_secure_touch(m, crit + 1), LLE_ERROR_INVALID_POINTER);
    lle_secure_free(m, low);
    lle_secure_free(m, med);
    lle_secure_free(m, crit);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_roundtrip),
        cmocka_unit_test(test_sealed_counts_and_free),
        cmocka_unit_test(test_tampering),
        cmocka_unit_test(test_bad_blocks),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
