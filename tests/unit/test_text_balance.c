/*
 * test_text_balance.c - the text buffer's tree after large deletions: its
 * depth follows the leaves the text has now (not the most it ever had),
 * and its leaves are not left nearly empty.  Every step is also checked
 * against the model (lle_text_check recomputes every index).
 *
 * The bounds come from the tree's rules (src/text/rope.c): every inner
 * node but the root that has a sibling keeps a quarter of the fanout after
 * a deletion, and a leaf under a quarter full is merged with or filled
 * from a neighbour.  With at least 4 children to every inner node on the
 * leftmost path below the root and 2 at the root, a tree of depth d has at
 * least 2 * 4^(d - 2) leaves; the test allows d <= 2 + ceil(log4(leaves)).
 */
#include "test_util.h"

#include "text_check.h"

static lle_text_t *new_text(lle_memory_manager_t *m)
{
    lle_text_t *t = NULL;
    assert_int_equal(lle_text_create(m, NULL, &t), LLE_SUCCESS);
    return t;
}

/* The deepest tree the rules allow for `leaves` leaves (see above). */
static size_t depth_bound(size_t leaves)
{
    size_t d = 2, cap = 1;
    while (cap < leaves) {
        cap *= 4;
        d++;
    }
    return d;
}

/* Depth within the bound, and a quarter of the leaves' room used at least
 * (a text of one leaf may hold anything). */
static void assert_balanced(lle_text_t *t)
{
    lle_text_stats_t st;
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    assert_true(st.depth <= depth_bound(st.leaves));
    if (st.leaves > 1) {
        size_t cap = st.primary_bytes / st.leaves;
        assert_true(st.bytes * 4 >= st.leaves * cap);
    }
}

static size_t build(lle_text_t *t, model_t *md, uint64_t *rs, size_t want)
{
    char *buf = malloc(want + 64);
    size_t n = model_random_text(rs, buf, want);
    assert_int_equal(lle_text_insert(t, 0, buf, n), LLE_SUCCESS);
    model_replace(md, 0, 0, buf, n);
    free(buf);
    return n;
}

/* A codepoint start at or after pos. */
static size_t cp_at(const model_t *md, size_t pos)
{
    while (pos < md->n && ((unsigned char)md->b[pos] & 0xC0) == 0x80) pos++;
    return pos;
}

/* Most of a large text deleted in one call: a tree of a few leaves is left,
 * as low as one built for them. */
static void mass_delete_one_call(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_t *t = new_text(m);
    model_t md = {0};
    uint64_t rs = 5;
    build(t, &md, &rs, (size_t)512 << 10);
    lle_text_stats_t st;
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    size_t deep = st.depth;
    assert_true(deep >= 4);
    size_t a = cp_at(&md, 2000), b = cp_at(&md, md.n - 2000);
    assert_int_equal(lle_text_delete(t, a, b - a), LLE_SUCCESS);
    model_replace(&md, a, b - a, "", 0);
    text_verify(t, &md, &rs, 32);
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    assert_true(st.leaves <= 8);
    assert_true(st.depth <= 2);
    assert_balanced(t);
    /* and the text still grows and shrinks as before */
    build(t, &md, &rs, (size_t)64 << 10);
    text_verify(t, &md, &rs, 8);
    assert_balanced(t);
    free(md.b);
    lle_text_destroy(t);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* Random ranges deleted until a few percent of the text is left, checked
 * on the way: the depth shrinks with the leaves and no leaf stays nearly
 * empty. */
static void scattered_deletions(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_t *t = new_text(m);
    model_t md = {0};
    uint64_t rs = 11;
    size_t start = build(t, &md, &rs, (size_t)512 << 10);
    lle_text_stats_t st;
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    size_t deep = st.depth;
    for (int i = 0; md.n > start / 40; i++) {
        size_t a = model_cp_pos(&md, &rs);
        size_t len = 1 + (size_t)(model_rand(&rs) % (i % 3 ? 64 : 6000));
        size_t b = cp_at(&md, a + len > md.n ? md.n : a + len);
        assert_int_equal(lle_text_delete(t, a, b - a), LLE_SUCCESS);
        model_replace(&md, a, b - a, "", 0);
        if (i % 199 == 0) assert_int_equal(lle_text_check(t), LLE_SUCCESS);
        if (i % 16 == 0) assert_balanced(t);
    }
    text_verify(t, &md, &rs, 32);
    assert_balanced(t);
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    assert_true(st.depth < deep);
    /* then everything but a few bytes, in small steps from the front */
    while (md.n > 100) {
        size_t b = cp_at(&md, md.n - 100 < 700 ? md.n - 100 : 700);
        assert_int_equal(lle_text_delete(t, 0, b), LLE_SUCCESS);
        model_replace(&md, 0, b, "", 0);
        assert_balanced(t);
    }
    text_verify(t, &md, &rs, 16);
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    assert_int_equal(st.leaves, 1);
    assert_int_equal(st.depth, 1);
    free(md.b);
    lle_text_destroy(t);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* Keystroke deletions (one codepoint at a time, inside one leaf, the path
 * that does not descend again) over a whole region: the leaves there are
 * merged or refilled as they empty. */
static void keystroke_deletions(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_t *t = new_text(m);
    model_t md = {0};
    uint64_t rs = 23;
    build(t, &md, &rs, (size_t)200 << 10);
    size_t at = cp_at(&md, md.n / 3);
    for (int i = 0; md.n > at + 1000 && i < 20000; i++) {
        size_t b = cp_at(&md, at + 1);
        assert_int_equal(lle_text_delete(t, at, b - at), LLE_SUCCESS);
        model_replace(&md, at, b - at, "", 0);
        if (i % 5000 == 0) assert_int_equal(lle_text_check(t), LLE_SUCCESS);
        if (i % 512 == 0) assert_balanced(t);
    }
    text_verify(t, &md, &rs, 16);
    assert_balanced(t);
    free(md.b);
    lle_text_destroy(t);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mass_delete_one_call),
        cmocka_unit_test(scattered_deletions),
        cmocka_unit_test(keystroke_deletions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
