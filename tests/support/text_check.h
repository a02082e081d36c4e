/*
 * text_check.h - compare an lle_text_t with its model (text_model.h) after
 * an edit: lle_text_check (every index against a full recomputation), the
 * bytes, the counts, and conversions at random positions against the
 * model's own segmentation.  Include after test_util.h.
 */
#ifndef LLE_TEXT_CHECK_H
#define LLE_TEXT_CHECK_H

#include "text_model.h"

static inline void text_verify(lle_text_t *t, const model_t *md, uint64_t *rs, int probes)
{
    assert_int_equal(lle_text_check(t), LLE_SUCCESS);
    char *buf = malloc(md->n + 1);
    assert_int_equal(lle_text_read(t, 0, md->n, buf), LLE_SUCCESS);
    assert_memory_equal(buf, md->b, md->n);
    free(buf);
    unsigned char *bnd = malloc(md->n + 1);
    model_boundaries(md, bnd);
    size_t cps = 0, gbs = 0, nls = 0;
    for (size_t i = 0; i < md->n; i++) {
        cps += ((unsigned char)md->b[i] & 0xC0) != 0x80;
        gbs += bnd[i];
        nls += md->b[i] == '\n';
    }
    lle_text_counts_t c;
    assert_int_equal(lle_text_counts(t, &c), LLE_SUCCESS);
    assert_int_equal(c.bytes, md->n);
    assert_int_equal(c.codepoints, cps);
    assert_int_equal(c.graphemes, gbs);
    assert_int_equal(c.lines, nls + 1);
    for (int k = 0; k < probes; k++) {
        size_t p = (size_t)(model_rand(rs) % (md->n + 1)), got, back;
        size_t cpb = 0, gb = 0, ln = 0, ls = 0;
        for (size_t i = 0; i < p; i++) {
            cpb += ((unsigned char)md->b[i] & 0xC0) != 0x80;
            gb += bnd[i];
            if (md->b[i] == '\n') ln++, ls = i + 1;
        }
        bool cpstart = p == md->n || ((unsigned char)md->b[p] & 0xC0) != 0x80;
        lle_result_t r = lle_text_byte_to_codepoint(t, p, &got);
        if (!cpstart) {
            assert_int_equal(r, LLE_ERROR_INVALID_POSITION);
            continue;
        }
        assert_int_equal(r, LLE_SUCCESS);
        assert_int_equal(got, cpb);
        assert_int_equal(lle_text_codepoint_to_byte(t, cpb, &back), LLE_SUCCESS);
        assert_int_equal(back, p);
        r = lle_text_byte_to_grapheme(t, p, &got);
        if (!bnd[p]) {
            assert_int_equal(r, LLE_ERROR_INVALID_POSITION);
            continue;
        }
        assert_int_equal(r, LLE_SUCCESS);
        assert_int_equal(got, gb);
        assert_int_equal(lle_text_grapheme_to_byte(t, gb, &back), LLE_SUCCESS);
        assert_int_equal(back, p);
        /* the cursor calls: the next and the previous cluster start */
        size_t nx = p + 1, pv = p;
        while (nx < md->n && !bnd[nx]) nx++;
        while (pv > 0 && !bnd[--pv]) {
        }
        r = lle_text_next_grapheme(t, p, &got);
        if (p == md->n) {
            assert_int_equal(r, LLE_ERROR_INVALID_POSITION);
        } else {
            assert_int_equal(r, LLE_SUCCESS);
            assert_int_equal(got, nx);
        }
        r = lle_text_prev_grapheme(t, p, &got);
        if (p == 0) {
            assert_int_equal(r, LLE_ERROR_INVALID_POSITION);
        } else {
            assert_int_equal(r, LLE_SUCCESS);
            assert_int_equal(got, pv);
        }
        size_t line, col, g0 = 0;
        for (size_t i = 0; i < ls; i++) g0 += bnd[i];
        assert_int_equal(lle_text_byte_to_line_col(t, p, &line, &col), LLE_SUCCESS);
        assert_int_equal(line, ln);
        assert_int_equal(col, gb - g0);
        assert_int_equal(lle_text_line_col_to_byte(t, ln, col, &back), LLE_SUCCESS);
        assert_int_equal(back, p);
        /* the last column of the line (the last cluster start at or before
         * its newline, or the end), and one past it */
        size_t le = p, last = 0, cmax = 0;
        while (le < md->n && md->b[le] != '\n') le++;
        for (size_t i = ls; i <= le; i++)
            if (bnd[i]) last = i, cmax++;
        assert_int_equal(lle_text_line_col_to_byte(t, ln, cmax - 1, &back), LLE_SUCCESS);
        assert_int_equal(back, last);
        assert_int_equal(lle_text_line_col_to_byte(t, ln, cmax, &back), LLE_ERROR_INVALID_POSITION);
    }
    size_t back;
    assert_int_equal(lle_text_line_col_to_byte(t, nls + 1, 0, &back), LLE_ERROR_INVALID_LINE_INDEX);
    free(bnd);
}

#endif
