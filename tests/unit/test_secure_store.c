/*
 * test_secure_store.c - the password buffer (lle_secbuf_*: graphemes,
 * growth that leaves no copy) and the history store (lle_history_*:
 * compression only when it saves 20 %, sealing, statistics).
 */
#include "rec.h"
#include "test_util.h"

static void test_secbuf_graphemes(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = rec_manager(&r);
    lle_secbuf_t *b;
    assert_int_equal(lle_secbuf_create(m, 0, &b), LLE_SUCCESS);
    const char *e_acute = "e\xcc\x81";                       /* e + combining acute */
    const char *family = "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7";
    const char *flag = "\xf0\x9f\x87\xab\xf0\x9f\x87\xb7";   /* regional indicators F R */
    assert_int_equal(lle_secbuf_append(b, "pw", 2), LLE_SUCCESS);
    assert_int_equal(lle_secbuf_append(b, e_acute, strlen(e_acute)), LLE_SUCCESS);
    assert_int_equal(lle_secbuf_append(b, family, strlen(family)), LLE_SUCCESS);
    assert_int_equal(lle_secbuf_append(b, flag, strlen(flag)), LLE_SUCCESS);
    assert_int_equal(lle_secbuf_append(b, "\xff", 1), LLE_SUCCESS);   /* not UTF-8 */
    size_t len, k;
    const char *d = lle_secbuf_data(b, &len);
    assert_int_equal(len, 2 + strlen(e_acute) + strlen(family) + strlen(flag) + 1);
    assert_true(lle_secure_owns(m, d));
    size_t want[] = {1, strlen(flag), strlen(family), strlen(e_acute), 1, 1, 0};
    for (int i = 0; i < 7; i++) {
        size_t before = lle_secbuf_length(b);
        assert_int_equal(lle_secbuf_delete_grapheme(b, &k), LLE_SUCCESS);
        assert_int_equal(k, want[i]);
        d = lle_secbuf_data(b, &len);
        assert_int_equal(len, before - k);
        assert_true(mem_all_zero(d + len, before - len));   /* removed bytes wiped */
    }
    assert_int_equal(lle_secbuf_append(b, "hunter2", 7), LLE_SUCCESS);
    char out[8];
    assert_int_equal(lle_secbuf_read(b, out, sizeof out, &len), LLE_SUCCESS);
    assert_string_equal(out, "hunter2");
    assert_int_equal(lle_secbuf_read(b, out, 7, &len), LLE_ERROR_BUFFER_TOO_SMALL);
    assert_int_equal(len, 7);
    d = lle_secbuf_data(b, NULL);
    lle_secbuf_clear(b);
    assert_int_equal(lle_secbuf_length(b), 0);
    assert_true(mem_all_zero(d, 7));
    assert_int_equal(lle_secbuf_destroy(b), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void test_secbuf_growth_leaves_no_copy(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = rec_manager(&r);
    lle_secbuf_t *b;
    assert_int_equal(lle_secbuf_create(m, 8, &b), LLE_SUCCESS);
    const char *secret = "correct horse battery staple, and more";
    size_t n = strlen(secret);
    const char *old = lle_secbuf_data(b, NULL);
    size_t old_size = lle_pool_usable_size(m, old);
    assert_int_equal(lle_secbuf_append(b, secret, 20), LLE_SUCCESS);
    assert_ptr_equal(lle_secbuf_data(b, NULL), old);          /* still fits */
    for (size_t i = 20; i < n; i++) assert_int_equal(lle_secbuf_append(b, secret + i, 1), LLE_SUCCESS);
    const char *now = lle_secbuf_data(b, NULL);
    assert_ptr_not_equal(now, old);                           /* it moved */
    assert_true(mem_all_zero(old, old_size));                     /* and left nothing */
    assert_memory_equal(now, secret, n);
    /* everything the buffer ever held is in one block */
    lle_secure_stats_t st;
    lle_secure_get_stats(m, &st);
    assert_int_equal(st.live_blocks, 1);
    assert_int_equal(lle_secbuf_destroy(b), LLE_SUCCESS);
    assert_true(mem_all_zero(now, n));
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* Text that compresses (a shell script) and text that does not. */
static char *script(size_t n)
{
    char *s = malloc(n);
    const char *lines[] = {"for f in *.c; do gcc -O2 -c \"$f\"; done\n",
                           "git log --oneline | head -20\n", "export PATH=$HOME/bin:$PATH\n"};
    size_t k = 0;
    for (unsigned i = 0; k < n; i++) {
        const char *l = lines[i % 3];
        size_t c = strlen(l);
        if (c > n - k) c = n - k;
        memcpy(s + k, l, c);
        k += c;
    }
    return s;
}

static char *noise(size_t n)
{
    char *s = malloc(n);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s[i] = (char)x;
    }
    return s;
}

static void test_history_compression(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = rec_manager(&r);
    lle_history_store_t *h;
    assert_int_equal(lle_history_create(m, &h), LLE_SUCCESS);
    char key[32], val[64];
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "cmd-%d", i);
        snprintf(val, sizeof val, "ls -la src/dir%d", i);
        assert_int_equal(lle_history_put(h, key, val, strlen(val), LLE_SENSITIVITY_LOW), LLE_SUCCESS);
    }
    char *big = script(20000), *rnd = noise(5000), *edge = script(1024);
    assert_int_equal(lle_history_put(h, "big", big, 20000, LLE_SENSITIVITY_LOW), LLE_SUCCESS);
    assert_int_equal(lle_history_put(h, "rnd", rnd, 5000, LLE_SENSITIVITY_LOW), LLE_SUCCESS);
    assert_int_equal(lle_history_put(h, "edge", edge, 1024, LLE_SENSITIVITY_LOW), LLE_SUCCESS);
    lle_history_stats_t st;
    assert_int_equal(lle_history_get_stats(h, &st), LLE_SUCCESS);
    assert_int_equal(st.entries, 303);
    assert_int_equal(st.compressed_entries, 1);     /* big only: rnd saves < 20 %, edge is 1 KiB */
    assert_int_equal(st.compress_attempts, 2);
    assert_int_equal(st.compress_rejected, 1);
    assert_int_equal(st.secure_entries, 0);
    assert_true(st.stored_bytes < st.original_bytes);
    assert_int_equal(st.bytes_saved, st.original_bytes - st.stored_bytes);
    assert_true(st.bytes_saved > 20000 * 8 / 10);
    assert_true(st.compression_ratio > 1.0);
    char *out = malloc(20000);
    size_t len;
    assert_int_equal(lle_history_get(h, "big", out, 20000, &len), LLE_SUCCESS);
    assert_int_equal(len, 20000);
    assert_memory_equal(out, big, 20000);
    assert_int_equal(lle_history_get(h, "rnd", out, 20000, &len), LLE_SUCCESS);
    assert_memory_equal(out, rnd, 5000);
    assert_int_equal(lle_history_get(h, "cmd-123", out, 20000, &len), LLE_SUCCESS);
    assert_memory_equal(out, "ls -la src/dir123", len);
    assert_int_equal(lle_history_get(h, "big", out, 100, &len), LLE_ERROR_BUFFER_TOO_SMALL);
    assert_int_equal(len, 20000);
    assert_int_equal(lle_history_get(h, "nope", out, 100, &len), LLE_ERROR_NOT_FOUND);
    /* replace and remove */
    assert_int_equal(lle_history_put(h, "big", "x", 1, LLE_SENSITIVITY_LOW), LLE_SUCCESS);
    assert_int_equal(lle_history_remove(h, "cmd-5"), LLE_SUCCESS);
    assert_int_equal(lle_history_remove(h, "cmd-5"), LLE_ERROR_NOT_FOUND);
    assert_int_equal(lle_history_get_stats(h, &st), LLE_SUCCESS);
    assert_int_equal(st.entries, 302);
    assert_int_equal(st.compressed_entries, 0);
    assert_int_equal(st.decompressions, 1);
    assert_int_equal(st.misses, 1);
    assert_int_equal(lle_history_put(h, "", "x", 1, LLE_SENSITIVITY_LOW), LLE_ERROR_INVALID_ARGUMENT);
    free(big);
    free(rnd);
    free(edge);
    free(out);
    assert_int_equal(lle_history_destroy(h), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void test_history_sealing(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = rec_manager(&r);
    lle_history_store_t *h;
    assert_int_equal(lle_history_create(m, &h), LLE_SUCCESS);
    const char *tok = "curl -H 'Authorization: Bearer 0123456789abcdef'";
    char *big = script(8000);
    assert_int_equal(lle_history_put(h, "tok", tok, strlen(tok), LLE_SENSITIVITY_HIGH), LLE_SUCCESS);
    assert_int_equal(lle_history_put(h, "big", big, 8000, LLE_SENSITIVITY_CRITICAL), LLE_SUCCESS);
    assert_int_equal(lle_history_put(h, "ls", "ls", 2, LLE_SENSITIVITY_LOW), LLE_SUCCESS);
    lle_history_stats_t st;
    lle_history_get_stats(h, &st);
    assert_int_equal(st.secure_entries, 2);
    assert_int_equal(st.compressed_entries, 1);
    /* cold entries the policy covers are sealed: tok and big, not ls */
    size_t n;
    assert_int_equal(lle_history_seal_cold(h, 0, &n), LLE_SUCCESS);
    assert_int_equal(n, 2);
    lle_secure_stats_t ss;
    lle_secure_get_stats(m, &ss);
    assert_int_equal(ss.sealed_blocks, 2);
    /* reads open, copy out and seal again */
    char out[8000];
    size_t len;
    assert_int_equal(lle_history_get(h, "tok", out, sizeof out, &len), LLE_SUCCESS);
    assert_memory_equal(out, tok, strlen(tok));
    assert_int_equal(lle_history_get(h, "big", out, sizeof out, &len), LLE_SUCCESS);
    assert_memory_equal(out, big, 8000);
    lle_secure_get_stats(m, &ss);
    assert_int_equal(ss.sealed_blocks, 2);
    assert_int_equal(ss.seals, 4);
    /* rotation re-seals entries; they still read */
    size_t re;
    assert_int_equal(lle_seal_rotate_keys(m, &re), LLE_SUCCESS);
    assert_int_equal(re, 2);
    assert_int_equal(lle_history_get(h, "tok", out, sizeof out, &len), LLE_SUCCESS);
    assert_memory_equal(out, tok, strlen(tok));
    /* an ordinary entry sealed explicitly moves into secure memory */
    assert_int_equal(lle_history_seal(h, "ls"), LLE_SUCCESS);
    lle_history_get_stats(h, &st);
    assert_int_equal(st.sealed_entries, 3);
    assert_int_equal(st.secure_entries, 3);
    assert_int_equal(lle_history_unseal(h, "ls"), LLE_SUCCESS);
    assert_int_equal(lle_history_get(h, "ls", out, sizeof out, &len), LLE_SUCCESS);
    assert_memory_equal(out, "ls", 2);
    assert_int_equal(lle_history_seal(h, "none"), LLE_ERROR_NOT_FOUND);
    free(big);
    assert_int_equal(lle_history_destroy(h), LLE_SUCCESS);
    lle_secure_get_stats(m, &ss);
    assert_int_equal(ss.live_blocks, 0);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secbuf_graphemes),
        cmocka_unit_test(test_secbuf_growth_leaves_no_copy),
        cmocka_unit_test(test_history_compression),
        cmocka_unit_test(test_history_sealing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
