/*
 * test_text_check.c - lle_text_check, the text buffer's consistency check,
 * catches each kind of damage it looks for.  The test reaches into the
 * tree (src/text/text_internal.h) to inject one fault at a time into an
 * otherwise sound text, asks lle_text_check for LLE_ERROR_CORRUPTION, then
 * undoes the fault and asks for LLE_SUCCESS again: a leaf's count, an
 * inner node's column, a leaf link, a grapheme bit (with every sum made
 * to agree with it, so only the segmentation can tell), a cached row count
 * (sums agreeing), a cached column count, a cached width summary or
 * an inner node's or a leaf's table, the edit hint, and the modified-line
 * ranges.  It also looks
 * where the check cannot: the raw leaves and undo log of a secure text,
 * for bytes it should have wiped.
 */
#include "test_util.h"

#include "rec.h"
#include "text/text_internal.h"

static void expect_caught(lle_text_t *t)
{
    assert_int_equal(lle_text_check(t), LLE_ERROR_CORRUPTION);
}

static void expect_sound(lle_text_t *t)
{
    assert_int_equal(lle_text_check(t), LLE_SUCCESS);
}

/* A text of several leaves and two inner levels: lines of words. */
static lle_text_t *sound_text(lle_memory_manager_t *m)
{
    lle_text_t *t = NULL;
    assert_int_equal(lle_text_create(m, NULL, &t), LLE_SUCCESS);
    static char buf[40000];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = i % 41 == 40 ? '\n' : (char)('a' + i % 26);
    assert_int_equal(lle_text_insert(t, 0, buf, sizeof buf), LLE_SUCCESS);
    assert_true(t->depth >= 3);
    expect_sound(t);
    return t;
}

static void counts_links_and_bits(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_t *t = sound_text(m);
    lle__tx_leaf_t *L = t->first->next;

    /* a leaf's codepoint count */
    L->h.sum.v[F_CPS]++;
    expect_caught(t);
    L->h.sum.v[F_CPS]--;
    expect_sound(t);

    /* the same with every ancestor told: only a recount of the leaf sees it */
    lle__tx_sum_t one = {{0}};
    one.v[F_CPS] = 1;
    lle__tx_propagate(&L->h, &one);
    expect_caught(t);
    one.v[F_CPS] = (uint64_t)0 - 1;
    lle__tx_propagate(&L->h, &one);
    expect_sound(t);

    /* the root's own sum */
    t->root->sum.v[F_NLS]++;
    expect_caught(t);
    t->root->sum.v[F_NLS]--;
    expect_sound(t);

    /* a leaf's parent link */
    lle__tx_node_t *up = L->h.parent;
    L->h.parent = up == t->root ? NULL : t->root;
    expect_caught(t);
    L->h.parent = up;
    expect_sound(t);

    /* an inner node's copy of a child's newline count */
    lle__tx_inner_t *I = (lle__tx_inner_t *)L->h.parent;
    I->cs[F_NLS][L->h.slot]++;
    expect_caught(t);
    I->cs[F_NLS][L->h.slot]--;
    expect_sound(t);

    /* a back link of the leaf list */
    lle__tx_leaf_t *P = L->next->prev;
    L->next->prev = t->first;
    expect_caught(t);
    L->next->prev = P;
    expect_sound(t);

    /* a cluster start taken away from a byte in the middle of L, its leaf
     * and every ancestor told: the sums agree, the segmentation does not */
    size_t p = lle__tx_phys(L, TX_LEN(L) / 2);
    assert_true(lle__tx_bit(L, TX_LEN(L) / 2));
    L->gb[p >> 6] ^= (uint64_t)1 << (p & 63);
    lle__tx_sum_t d = {{0}};
    d.v[F_GBS] = (uint64_t)0 - 1;
    lle__tx_propagate(&L->h, &d);
    expect_caught(t);
    L->gb[p >> 6] ^= (uint64_t)1 << (p & 63);
    d.v[F_GBS] = 1;
    lle__tx_propagate(&L->h, &d);
    expect_sound(t);

    lle_text_destroy(t);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void rows_hint_and_marks(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_t *t = sound_text(m);

    /* a cached row count, wrong by one, with the sums that hold it */
    assert_int_equal(lle_text_set_wrap_width(t, 16), LLE_SUCCESS);
    size_t rows;
    assert_int_equal(lle_text_wrap_rows(t, &rows), LLE_SUCCESS);
    expect_sound(t);
    lle__tx_leaf_t *L = t->first->next;
    assert_true(L->h.sum.v[F_NLS] > 0 && L->lines[0].rows > 0);
    lle__tx_sum_t d = {{0}};
    L->lines[0].rows++;
    d.v[F_ROWS] = 1;
    lle__tx_propagate(&L->h, &d);
    expect_caught(t);
    L->lines[0].rows--;
    d.v[F_ROWS] = (uint64_t)0 - 1;
    lle__tx_propagate(&L->h, &d);
    expect_sound(t);

    /* a cached column count (it outlives a width change) wrong by one, and
     * without its wide flag: caught before and after the width changes */
    assert_true(L->lines[0].cols > 1);
    for (int w = 0; w < 2; w++) {
        if (w) assert_int_equal(lle_text_set_wrap_width(t, 17), LLE_SUCCESS);
        L->lines[0].cols++;
        expect_caught(t);
        L->lines[0].cols--;
        expect_sound(t);
    }
    assert_int_equal(lle_text_insert(t, 41 + 3, "\xe4\xb8\xad", 3), LLE_SUCCESS); /* line 1 */
    assert_int_equal(lle_text_wrap_rows(t, &rows), LLE_SUCCESS);
    expect_sound(t);
    lle__tx_line_t *wl = NULL;
    for (lle__tx_leaf_t *X = t->first; X && !wl; X = X->next)
        for (size_t i = 0; i < X->h.sum.v[F_NLS] && !wl; i++)
            if (X->lines[i].cols & TX_COLS_WIDE) wl = &X->lines[i];
    assert_non_null(wl);
    wl->cols &= ~TX_COLS_WIDE;
    expect_caught(t);
    wl->cols |= TX_COLS_WIDE;
    expect_sound(t);
    assert_int_equal(lle_text_delete(t, 41 + 3, 3), LLE_SUCCESS);

    /* a width summary (a line longer than a leaf was measured through
     * them): a leaf's columns, an inner node's count of wide clusters */
    for (size_t k = 601; k-- > 0;) /* lines 0 to 601 join into one of 24 KiB */
        assert_int_equal(lle_text_delete(t, 40 + 41 * k, 1), LLE_SUCCESS);
    L = t->first->next;
    size_t row, col;
    assert_int_equal(lle_text_byte_to_row_col(t, 24000, &row, &col), LLE_SUCCESS);
    assert_true(L->h.wok);
    expect_sound(t);
    L->wcols++;
    expect_caught(t);
    L->wcols--;
    lle__tx_inner_t *I = (lle__tx_inner_t *)L->h.parent;
    assert_true(I->h.wok);
    I->wwide++;
    expect_caught(t);
    I->wwide--;
    expect_sound(t);

    /* the edit hint: a keystroke in the middle sets it */
    assert_int_equal(lle_text_insert(t, 20000, "x", 1), LLE_SUCCESS);
    assert_non_null(t->hint);
    expect_sound(t);
    t->hint_nls++;
    expect_caught(t);
    t->hint_nls--;
    t->hint_bytes++;
    expect_caught(t);
    t->hint_bytes--;
    lle__tx_leaf_t *H = t->hint;
    t->hint = H->next;
    expect_caught(t);
    t->hint = H;
    expect_sound(t);

    /* the modified-line ranges: a second one that overlaps the first, and
     * one past the last line */
    assert_int_equal(lle_text_insert(t, 30000, "y", 1), LLE_SUCCESS);
    assert_true(t->nmod >= 2);
    size_t first = t->mod[1].first;
    t->mod[1].first = t->mod[0].first;
    expect_caught(t);
    t->mod[1].first = first;
    size_t count = t->mod[t->nmod - 1].count;
    t->mod[t->nmod - 1].count = (size_t)lle__tx_total(t, F_NLS) + 2;
    expect_caught(t);
    t->mod[t->nmod - 1].count = count;
    expect_sound(t);

    lle_text_destroy(t);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* A width table (wrap.c) wrong at one residue: a line of 30,000 CJK
 * characters measured twice at width 80, so that its nodes have tables. */
static void width_table(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_t *t = NULL;
    assert_int_equal(lle_text_create(m, NULL, &t), LLE_SUCCESS);
    static char buf[90000];
    for (size_t i = 0; i < sizeof buf; i += 3) memcpy(buf + i, "\xe4\xb8\xad", 3);
    assert_int_equal(lle_text_insert(t, 0, buf, sizeof buf), LLE_SUCCESS);
    assert_int_equal(lle_text_set_wrap_width(t, 80), LLE_SUCCESS);
    size_t rows, row, col;
    assert_int_equal(lle_text_wrap_rows(t, &rows), LLE_SUCCESS);
    assert_int_equal(lle_text_byte_to_row_col(t, sizeof buf - 3, &row, &col), LLE_SUCCESS);
    assert_int_equal(rows, 30000 * 2 / 80); /* 40 characters a row, no column left empty */
    assert_false(t->root->leaf);
    lle__tx_inner_t *I = (lle__tx_inner_t *)((lle__tx_inner_t *)t->root)->child[0];
    assert_false(I->h.leaf);
    assert_int_equal(I->wtab_w, 80);
    expect_sound(t);
    I->wtab[79]++;
    expect_caught(t);
    I->wtab[79]--;
    I->wtab[0]++;
    expect_caught(t);
    I->wtab[0]--;
    expect_sound(t);
    /* a leaf's table (made with its parent's) */
    lle__tx_leaf_t *L = t->first->next;
    assert_int_equal(L->ltab_w, 80);
    L->ltab[79]++;
    expect_caught(t);
    L->ltab[79]--;
    expect_sound(t);
    lle_text_destroy(t);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- secure texts: what the check cannot see ----------------------------------------- */

static const char secret[] = "hunter2";

/* Copies of the secret in the n bytes at p, raw storage: bytes never
 * written are read too (valgrind is told not to report them, and that the
 * count is known). */
static int copies_at(const void *p, size_t n)
{
    const char *c = p;
    int k = 0;
    REC_VG_QUIET();
    for (size_t i = 0; i + 7 <= n; i++)
        if (!memcmp(c + i, secret, 7)) k++;
#ifdef VALGRIND_MAKE_MEM_DEFINED
    (void)VALGRIND_MAKE_MEM_DEFINED(&k, sizeof k);
#endif
    REC_VG_LOUD();
    return k;
}

/* Copies of the secret in the raw storage of every leaf (gaps included)
 * beyond those in the text itself: what a secure text failed to wipe. */
static int stray_copies(lle_text_t *t)
{
    int raw = 0, live = 0;
    for (lle__tx_leaf_t *L = t->first; L; L = L->next) raw += copies_at(L->data, TX_CAP);
    size_t n = lle_text_length(t);
    char *b = malloc(n + 1);
    assert_int_equal(lle_text_read(t, 0, n, b), LLE_SUCCESS);
    for (size_t i = 0; i + 7 <= n; i++) live += !memcmp(b + i, secret, 7);
    free(b);
    return raw - live;
}

/* A secure text leaves no copy of deleted or moved bytes in its leaves'
 * gaps or in its undo log: after a deletion inside a leaf, gap moves both
 * ways across the secret, a deletion across leaves, and a deletion too
 * large for the undo log (which then drops its records). */
static void secure_leaves_and_log(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_config_t cfg;
    lle_text_config_default(&cfg);
    cfg.secure = true;
    lle_text_t *t = NULL;
    assert_int_equal(lle_text_create(m, &cfg, &t), LLE_SUCCESS);
    assert_int_equal(lle_text_insert(t, 0, "user password: hunter2", 22), LLE_SUCCESS);
    assert_int_equal(lle_text_delete(t, 15, 7), LLE_SUCCESS);
    assert_int_equal(stray_copies(t), 0);
    /* the gap moves left of the secret, then right across it */
    assert_int_equal(lle_text_insert(t, 0, secret, 7), LLE_SUCCESS);
    assert_int_equal(lle_text_insert(t, 0, "q", 1), LLE_SUCCESS);
    assert_int_equal(stray_copies(t), 0);
    assert_int_equal(lle_text_insert(t, lle_text_length(t), "z", 1), LLE_SUCCESS);
    assert_int_equal(stray_copies(t), 0);
    assert_int_equal(lle_text_delete(t, 1, 7), LLE_SUCCESS);
    assert_int_equal(stray_copies(t), 0);
    lle_text_destroy(t);

    /* across leaves */
    assert_int_equal(lle_text_create(m, &cfg, &t), LLE_SUCCESS);
    static char big[8000];
    memset(big, 'x', sizeof big);
    for (size_t k = 1000; k + 7 <= 3500; k += 97) memcpy(big + k, secret, 7);
    assert_int_equal(lle_text_insert(t, 0, big, sizeof big), LLE_SUCCESS);
    assert_int_equal(lle_text_delete(t, 1000, 2500), LLE_SUCCESS);
    assert_int_equal(stray_copies(t), 0);
    lle_text_destroy(t);

    /* the undo log: it keeps the deleted secret while it may be undone,
     * and wipes it when a deletion too large for it drops every record */
    cfg.min_region = 64;
    cfg.undo_limit = 128;
    assert_int_equal(lle_text_create(m, &cfg, &t), LLE_SUCCESS);
    assert_int_equal(lle_text_insert(t, 0, "a", 1), LLE_SUCCESS);
    lle_text_stats_t s0, s1;
    assert_int_equal(lle_text_get_stats(t, &s0), LLE_SUCCESS);
    assert_int_equal(lle_text_insert(t, 1, "b", 1), LLE_SUCCESS);
    assert_int_equal(lle_text_get_stats(t, &s1), LLE_SUCCESS);
    assert_int_equal(s1.undo_bytes, 128);
    assert_int_equal(s1.wiped_bytes - s0.wiped_bytes, 64); /* the old region, when it grew */
    assert_int_equal(lle_text_insert(t, 2, secret, 7), LLE_SUCCESS);
    assert_int_equal(lle_text_delete(t, 2, 7), LLE_SUCCESS);
    int in_log = copies_at(t->undo, t->undo_cap);
    assert_true(in_log > 0);
    /* and the deletion too large for the log */
    assert_int_equal(lle_text_insert(t, 0, secret, 7), LLE_SUCCESS);
    assert_int_equal(lle_text_delete(t, 0, 7), LLE_SUCCESS);
    assert_int_equal(lle_text_insert(t, lle_text_length(t), big, 200), LLE_SUCCESS);
    assert_int_equal(lle_text_delete(t, 0, lle_text_length(t)), LLE_SUCCESS);
    in_log = t->undo ? copies_at(t->undo, t->undo_cap) : 0;
    assert_int_equal(in_log, 0);
    lle_text_destroy(t);

    /* the oldest record dropped to make room: a deletion whose last bytes
     * are the secret, then one-byte insertions until its record goes (the
     * records moved down over it are shorter than it: without the wipe
     * its end would stay behind them) */
    assert_int_equal(lle_text_create(m, &cfg, &t), LLE_SUCCESS);
    char block[64];
    memset(block, 'y', sizeof block);
    memcpy(block + sizeof block - 7, secret, 7);
    assert_int_equal(lle_text_insert(t, 0, block, sizeof block), LLE_SUCCESS);
    assert_int_equal(lle_text_delete(t, 0, sizeof block), LLE_SUCCESS);
    for (size_t i = 1; i < 20; i++) {
        assert_int_equal(lle_text_insert(t, 0, "c", 1), LLE_SUCCESS);
        assert_int_equal(lle_text_get_stats(t, &s1), LLE_SUCCESS);
        if (s1.undo_steps > i) continue; /* the deletion's record is still there */
        in_log = copies_at(t->undo, t->undo_cap);
        assert_int_equal(in_log, 0);
        break;
    }
    assert_int_equal(lle_text_get_stats(t, &s1), LLE_SUCCESS);
    assert_true(s1.undo_steps < 20);
    lle_text_destroy(t);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_links_and_bits),
        cmocka_unit_test(rows_hint_and_marks),
        cmocka_unit_test(width_table),
        cmocka_unit_test(secure_leaves_and_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
