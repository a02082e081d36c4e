/*
 * test_text_random.c - a longer random run of the text buffer against its
 * model: 2,000 edits (insertions up to 8 KiB, deletions, replacements,
 * undo) on a text that grows to about 120 KB, every index compared with a
 * full recomputation after each edit (lle_text_check) and conversions
 * probed at random positions.
 */
#include "test_util.h"

#include "text_check.h"

static void random_run(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_config_t cfg;
    lle_text_config_default(&cfg);
    cfg.undo_limit = 0; /* the model does not follow undo here */
    lle_text_t *t = NULL;
    assert_int_equal(lle_text_create(m, &cfg, &t), LLE_SUCCESS);
    model_t md = {0};
    uint64_t rs = 0xdeadbeefcafef00dull;
    static char buf[9000];
    size_t deepest = 0;
    for (int i = 0; i < 2000; i++) {
        unsigned op = (unsigned)(model_rand(&rs) % 10);
        if (op < 5 || md.n < 64) {
            size_t want = op == 0 ? (size_t)(model_rand(&rs) % 8192) : (size_t)(model_rand(&rs) % 16);
            if (md.n > 120000) want = 1;
            size_t n = model_random_text(&rs, buf, want);
            size_t p = model_cp_pos(&md, &rs);
            assert_int_equal(lle_text_insert(t, p, buf, n), LLE_SUCCESS);
            model_replace(&md, p, 0, buf, n);
        } else if (op < 8) {
            size_t a = model_cp_pos(&md, &rs);
            size_t b = a + (size_t)(model_rand(&rs) % (op == 7 ? 6000 : 12));
            if (b > md.n) b = md.n;
            while (b < md.n && ((unsigned char)md.b[b] & 0xC0) == 0x80) b++;
            assert_int_equal(lle_text_delete(t, a, b - a), LLE_SUCCESS);
            model_replace(&md, a, b - a, "", 0);
        } else {
            size_t a = model_cp_pos(&md, &rs), b = a;
            while (b < md.n && b - a < 5) b++;
            while (b < md.n && ((unsigned char)md.b[b] & 0xC0) == 0x80) b++;
            size_t n = model_random_text(&rs, buf, (size_t)(model_rand(&rs) % 8));
            assert_int_equal(lle_text_replace(t, a, b - a, buf, n), LLE_SUCCESS);
            model_replace(&md, a, b - a, buf, n);
        }
        text_verify(t, &md, &rs, 2);
        lle_text_stats_t st;
        assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
        if (st.depth > deepest) deepest = st.depth;
    }
    assert_true(deepest >= 3);
    free(md.b);
    lle_text_destroy(t);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
