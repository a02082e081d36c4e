/*
 * test_text_typing.c - the text buffer under edits that follow a cursor, as
 * typing does: bursts of keystrokes (insertions, backspaces, deletions
 * forward) at and next to the last edit, which the text serves from the
 * leaf it edited last without a descent (the edit hint, textbuf.c), mixed
 * with what must drop or move that hint: edits before the cursor's leaf
 * (its position moves), pastes that split leaves, deletions that empty
 * and merge them, undo, wrapped-row queries, and compression.  Every
 * step is checked against the model (lle_text_check also checks that the
 * hint names a leaf of the tree and the counts before it).
 */
#include "test_util.h"

#include "text_check.h"

/* A codepoint start at or before pos (the end at most). */
static size_t cp_floor(const model_t *md, size_t pos)
{
    if (pos > md->n) pos = md->n;
    while (pos > 0 && pos < md->n && ((unsigned char)md->b[pos] & 0xC0) == 0x80) pos--;
    return pos;
}

/* The codepoint start after the one at pos (pos < md->n). */
static size_t cp_next(const model_t *md, size_t pos)
{
    pos++;
    while (pos < md->n && ((unsigned char)md->b[pos] & 0xC0) == 0x80) pos++;
    return pos;
}

static void replace_both(lle_text_t *t, model_t *md, size_t pos, size_t del, const char *s,
                         size_t n)
{
    assert_int_equal(lle_text_replace(t, pos, del, s, n), LLE_SUCCESS);
    model_replace(md, pos, del, s, n);
}

static void typing(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_config_t cfg;
    lle_text_config_default(&cfg);
    cfg.compress_threshold = 4096;
    lle_text_t *t = NULL;
    assert_int_equal(lle_text_create(m, &cfg, &t), LLE_SUCCESS);
    model_t md = {0};
    uint64_t rs = 0x5eed0f7e57ull;
    static char buf[4200];
    size_t n = model_random_text(&rs, buf, 4000);
    replace_both(t, &md, 0, 0, buf, n);
    n = model_random_text(&rs, buf, 4000);
    replace_both(t, &md, md.n, 0, buf, n);
    size_t cur = cp_floor(&md, md.n / 2);
    for (int step = 0; step < 400; step++) {
        unsigned op = (unsigned)(model_rand(&rs) % 16);
        if (op < 9) {
            /* a burst of keystrokes at the cursor */
            int keys = 1 + (int)(model_rand(&rs) % 12);
            for (int k = 0; k < keys; k++) {
                unsigned key = (unsigned)(model_rand(&rs) % 6);
                if (key < 3 || md.n < 16) {
                    const char *p = model_pieces[model_rand(&rs) % MODEL_NPIECES];
                    replace_both(t, &md, cur, 0, p, strlen(p));
                    cur += strlen(p);
                } else if (key == 3 && cur > 0) {
                    size_t a = cp_floor(&md, cur - 1);
                    replace_both(t, &md, a, cur - a, "", 0);
                    cur = a;
                } else if (key == 4 && cur < md.n) {
                    replace_both(t, &md, cur, cp_next(&md, cur) - cur, "", 0);
                } else if (cur < md.n) {
                    /* overwrite one codepoint */
                    replace_both(t, &md, cur, cp_next(&md, cur) - cur, "o", 1);
                    cur++;
                }
                assert_int_equal(lle_text_check(t), LLE_SUCCESS);
            }
        } else if (op < 11) {
            /* an edit before the cursor: the cursor's leaf starts elsewhere */
            size_t a = cp_floor(&md, (size_t)(model_rand(&rs) % (cur + 1)));
            if (model_rand(&rs) % 2 && a < cur) {
                size_t b = a;
                for (int j = 0; j < 3 && b < cur; j++) b = cp_next(&md, b);
                replace_both(t, &md, a, b - a, "", 0);
                cur -= b - a;
            } else {
                replace_both(t, &md, a, 0, "\n", 1);
                cur++;
            }
        } else if (op == 11) {
            /* a paste at the cursor (leaves split), or a large deletion
             * there (leaves go, small ones merge) */
            if (model_rand(&rs) % 2 || md.n < 3000) {
                n = model_random_text(&rs, buf, 200 + (size_t)(model_rand(&rs) % 3000));
                replace_both(t, &md, cur, 0, buf, n);
            } else {
                size_t b = cp_floor(&md, cur + (size_t)(model_rand(&rs) % 2500));
                if (b < cur) b = cur;
                replace_both(t, &md, cur, b - cur, "", 0);
            }
        } else if (op == 12) {
            /* undo the last edit: the model returns to the text before it */
            size_t a = cur;
            const char *p = model_pieces[model_rand(&rs) % MODEL_NPIECES];
            replace_both(t, &md, a, 0, p, strlen(p));
            assert_int_equal(lle_text_undo(t), LLE_SUCCESS);
            model_replace(&md, a, strlen(p), "", 0);
        } else if (op == 13) {
            /* rows at a width, then edits go on (row caches drop) */
            size_t rows;
            unsigned width = 20 + (unsigned)(model_rand(&rs) % 60);
            assert_int_equal(lle_text_set_wrap_width(t, width), LLE_SUCCESS);
            assert_int_equal(lle_text_wrap_rows(t, &rows), LLE_SUCCESS);
        } else if (op == 14) {
            /* compressed and loaded again: a new tree */
            bool kept;
            assert_int_equal(lle_text_compress(t, &kept), LLE_SUCCESS);
        } else {
            /* the cursor jumps */
            cur = cp_floor(&md, (size_t)(model_rand(&rs) % (md.n + 1)));
        }
        if (cur > md.n) cur = md.n;
        text_verify(t, &md, &rs, 1);
    }
    free(md.b);
    lle_text_destroy(t);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(typing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
