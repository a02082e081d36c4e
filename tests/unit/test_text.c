/*
 * test_text.c - the text buffer (lle/text.h): edits against a flat model
 * with every index compared to a full recomputation after each edit, the
 * Unicode grapheme break conformance cases, positions, lines and their
 * modification marks, wrapped rows, undo and the regions, compression,
 * secure wiping, statistics, and every kind of bad input, no memory
 * included.
 */
#include "test_util.h"

#include "faulty_host.h"
#include "text_check.h"

static lle_text_t *new_text(lle_memory_manager_t *m, const lle_text_config_t *cfg)
{
    lle_text_t *t = NULL;
    assert_int_equal(lle_text_create(m, cfg, &t), LLE_SUCCESS);
    assert_non_null(t);
    return t;
}

static void put(lle_text_t *t, model_t *md, size_t pos, const char *s)
{
    size_t n = strlen(s);
    assert_int_equal(lle_text_insert(t, pos, s, n), LLE_SUCCESS);
    model_replace(md, pos, 0, s, n);
}

/* ---- basics ---------------------------------------------------------------- */

static void basic_edits(void **state)
{
    (void)state;
    /* the defaults lle/text.h documents */
    lle_text_config_t cfg;
    lle_text_config_default(&cfg);
    assert_int_equal(cfg.max_size, (size_t)256 << 20);
    assert_int_equal(cfg.min_region, 4096);
    assert_true(cfg.growth_factor == 2.0);
    assert_int_equal(cfg.undo_limit, (size_t)1 << 20);
    assert_false(cfg.secure);
    assert_int_equal(cfg.compress_threshold, (size_t)64 << 10);
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_t *t = new_text(m, NULL);
    /* an insertion of nothing: no edit, no undo step, no mark */
    lle_text_stats_t st;
    assert_int_equal(lle_text_insert(t, 0, "", 0), LLE_SUCCESS);
    assert_int_equal(lle_text_delete(t, 0, 0), LLE_SUCCESS);
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    assert_int_equal(st.undo_steps, 0);
    assert_int_equal(lle_text_modification_count(t), 0);
    model_t md = {0};
    uint64_t rs = 1;
    text_verify(t, &md, &rs, 4);
    put(t, &md, 0, "hello");
    put(t, &md, 5, " world");
    put(t, &md, 0, "\xe4\xb8\xad ");
    text_verify(t, &md, &rs, 32);
    assert_int_equal(lle_text_delete(t, 0, 4), LLE_SUCCESS);
    model_replace(&md, 0, 4, "", 0);
    text_verify(t, &md, &rs, 32);
    assert_int_equal(lle_text_length(t), 11);
    /* e + combining acute is one cluster: the cursor jumps over both */
    put(t, &md, 1, "\xcc\x81");
    size_t nx;
    assert_int_equal(lle_text_next_grapheme(t, 0, &nx), LLE_SUCCESS);
    assert_int_equal(nx, 3);
    assert_int_equal(lle_text_prev_grapheme(t, 3, &nx), LLE_SUCCESS);
    assert_int_equal(nx, 0);
    assert_int_equal(lle_text_destroy(t), LLE_SUCCESS);
    free(md.b);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* One random edit of text and model: insert, delete, replace, a line call,
 * or an undo (which the model follows from its own copy of the past). */
typedef struct past {
    model_t *v;
    size_t   n, cap;
} past_t;

static void push_past(past_t *p, const model_t *md)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->v = realloc(p->v, p->cap * sizeof *p->v);
    }
    model_t c = {malloc(md->n + 1), md->n, md->n + 1};
    if (md->n) memcpy(c.b, md->b, md->n);
    p->v[p->n++] = c;
}

static void random_edit(lle_text_t *t, model_t *md, uint64_t *rs, size_t max, past_t *past)
{
    char buf[6000];
    unsigned op = (unsigned)(model_rand(rs) % 100);
    if (op < 5 && past->n) {
        assert_int_equal(lle_text_undo(t), LLE_SUCCESS);
        model_t *last = &past->v[--past->n];
        free(md->b);
        *md = *last;
        return;
    }
    push_past(past, md);
    if (op < 45 || md->n < 16) {
        size_t want = (op % 10 == 0) ? (size_t)(model_rand(rs) % 5000) : (size_t)(model_rand(rs) % 24);
        if (md->n + want > max) want = 4;
        size_t n = model_random_text(rs, buf, want);
        size_t p = model_cp_pos(md, rs);
        assert_int_equal(lle_text_insert(t, p, buf, n), LLE_SUCCESS);
        model_replace(md, p, 0, buf, n);
    } else if (op < 80) {
        size_t a = model_cp_pos(md, rs), b = model_cp_pos(md, rs);
        if (a > b) {
            size_t x = a;
            a = b;
            b = x;
        }
        if (op % 3 && b - a > 40) b = a + 40, b = b > md->n ? md->n : b;
        while (b < md->n && ((unsigned char)md->b[b] & 0xC0) == 0x80) b++;
        assert_int_equal(lle_text_delete(t, a, b - a), LLE_SUCCESS);
        model_replace(md, a, b - a, "", 0);
    } else if (op < 92) {
        size_t a = model_cp_pos(md, rs), b = a;
        for (int k = (int)(model_rand(rs) % 8); k > 0 && b < md->n; k--) {
            b++;
            while (b < md->n && ((unsigned char)md->b[b] & 0xC0) == 0x80) b++;
        }
        size_t n = model_random_text(rs, buf, (size_t)(model_rand(rs) % 12));
        assert_int_equal(lle_text_replace(t, a, b - a, buf, n), LLE_SUCCESS);
        model_replace(md, a, b - a, buf, n);
    } else {
        /* a line call on a random line */
        size_t lines = lle_text_line_count(t), line = (size_t)(model_rand(rs) % lines);
        size_t start, len;
        assert_int_equal(lle_text_line_span(t, line, &start, &len), LLE_SUCCESS);
        size_t n = model_random_text(rs, buf, (size_t)(model_rand(rs) % 10));
        for (size_t i = 0; i < n; i++)
            if (buf[i] == '\n' || buf[i] == '\r') buf[i] = '-';
        if (op < 95) {
            assert_int_equal(lle_text_replace_line(t, line, buf, n), LLE_SUCCESS);
            model_replace(md, start, len, buf, n);
        } else if (op < 98) {
            assert_int_equal(lle_insert_line(t, line, buf, n), LLE_SUCCESS);
            buf[n] = '\n';
            model_replace(md, start, 0, buf, n + 1);
        } else {
            assert_int_equal(lle_text_delete_line(t, line), LLE_SUCCESS);
            if (line + 1 < lines)
                model_replace(md, start, len + 1, "", 0);
            else if (line > 0)
                model_replace(md, start - 1, len + 1, "", 0);
            else
                model_replace(md, start, len, "", 0);
        }
    }
}

static void random_edits_match_model(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_config_t cfg;
    lle_text_config_default(&cfg);
    cfg.undo_limit = (size_t)16 << 20;
    lle_text_t *t = new_text(m, &cfg);
    model_t md = {0};
    past_t past = {0};
    uint64_t rs = 0x9e3779b97f4a7c15ull;
    size_t deepest = 0;
    for (int i = 0; i < 400; i++) {
        random_edit(t, &md, &rs, 48 * 1024, &past);
        text_verify(t, &md, &rs, 3);
        lle_text_stats_t st;
        assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
        if (st.depth > deepest) deepest = st.depth;
    }
    assert_true(deepest >= 2);
    for (size_t i = 0; i < past.n; i++) free(past.v[i].b);
    free(past.v);
    free(md.b);
    lle_text_destroy(t);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* A large text built in pieces: three levels, then edits everywhere. */
static void deep_tree(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_t *t = new_text(m, NULL);
    model_t md = {0};
    uint64_t rs = 77;
    static char buf[70000];
    size_t n = model_random_text(&rs, buf, 64000);
    assert_int_equal(lle_text_insert(t, 0, buf, n), LLE_SUCCESS);
    model_replace(&md, 0, 0, buf, n);
    text_verify(t, &md, &rs, 16);
    lle_text_stats_t st;
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    assert_true(st.depth >= 3);
    assert_true(st.leaves > 16);
    for (int i = 0; i < 60; i++) {
        size_t p = model_cp_pos(&md, &rs);
        size_t k = model_random_text(&rs, buf, 3000);
        assert_int_equal(lle_text_insert(t, p, buf, k), LLE_SUCCESS);
        model_replace(&md, p, 0, buf, k);
        size_t a = model_cp_pos(&md, &rs), b = a + 2500 > md.n ? md.n : a + 2500;
        while (b < md.n && ((unsigned char)md.b[b] & 0xC0) == 0x80) b++;
        assert_int_equal(lle_text_delete(t, a, b - a), LLE_SUCCESS);
        model_replace(&md, a, b - a, "", 0);
        assert_int_equal(lle_text_check(t), LLE_SUCCESS);
    }
    text_verify(t, &md, &rs, 16);
    /* delete everything: one empty leaf remains */
    assert_int_equal(lle_text_delete(t, 0, md.n), LLE_SUCCESS);
    md.n = 0;
    text_verify(t, &md, &rs, 2);
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    assert_int_equal(st.leaves, 1);
    assert_int_equal(st.depth, 1);
    free(md.b);
    lle_text_destroy(t);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- Unicode conformance ------------------------------------------------------ */

#ifndef LLE_GRAPHEME_BREAK_TEST
#define LLE_GRAPHEME_BREAK_TEST ""
#endif

typedef struct gcase {
    int32_t cp[64];
    bool    brk[65]; /* brk[i]: a boundary before cp[i]; brk[n]: at the end */
    size_t  n;
} gcase_t;

static bool parse_case(const char *line, gcase_t *c)
{
    c->n = 0;
    const char *p = line;
    if (strncmp(p, "\xc3\xb7", 2) != 0) return false;
    for (;;) {
        while (*p == ' ') p++;
        bool b;
        if (!strncmp(p, "\xc3\xb7", 2))
            b = true;
        else if (!strncmp(p, "\xc3\x97", 2))
            b = false;
        else
            return c->n > 0;
        p += 2;
        c->brk[c->n] = b;
        while (*p == ' ') p++;
        char *end;
        long v = strtol(p, &end, 16);
        if (end == p) return c->n > 0;
        c->cp[c->n++] = (int32_t)v;
        p = end;
    }
}

/* Build the case into t after `prefix` bytes of text (ending in '\n'),
 * inserting its codepoints in the order `order`, then compare boundaries. */
static void run_case(lle_memory_manager_t *m, const gcase_t *c, const size_t *order, size_t prefix)
{
    lle_text_t *t = new_text(m, NULL);
    static char pre[4096];
    memset(pre, 'p', prefix);
    if (prefix) pre[prefix - 1] = '\n';
    assert_int_equal(lle_text_insert(t, 0, pre, prefix), LLE_SUCCESS);
    char enc[64][4];
    size_t len[64], off[65];
    for (size_t i = 0; i < c->n; i++) len[i] = (size_t)utf8proc_encode_char(c->cp[i], (uint8_t *)enc[i]);
    bool in[64] = {false};
    for (size_t k = 0; k < c->n; k++) {
        size_t i = order[k], at = prefix;
        for (size_t j = 0; j < i; j++)
            if (in[j]) at += len[j];
        assert_int_equal(lle_text_insert(t, at, enc[i], len[i]), LLE_SUCCESS);
        in[i] = true;
    }
    assert_int_equal(lle_text_check(t), LLE_SUCCESS);
    off[0] = prefix;
    for (size_t i = 0; i < c->n; i++) off[i + 1] = off[i] + len[i];
    /* walk the clusters from the case's start with the cursor calls */
    size_t pos = prefix, i = 0;
    while (pos < off[c->n]) {
        size_t nx;
        assert_int_equal(lle_text_next_grapheme(t, pos, &nx), LLE_SUCCESS);
        /* every codepoint start strictly inside (pos, nx) is a non-break */
        for (i = 0; i <= c->n && off[i] <= pos; i++) {
        }
        for (; i <= c->n && off[i] < nx; i++) assert_false(c->brk[i]);
        assert_true(i <= c->n && off[i] == nx);
        assert_true(c->brk[i] || i == c->n);
        pos = nx;
    }
    lle_text_destroy(t);
}

static void grapheme_break_conformance(void **state)
{
    (void)state;
    const char *path = getenv("LLE_GRAPHEME_BREAK_TEST");
    if (!path || !*path) path = LLE_GRAPHEME_BREAK_TEST;
    FILE *f = *path ? fopen(path, "r") : NULL;
    if (!f) {
        print_message("GraphemeBreakTest.txt not found (Debian package unicode-data): skipped\n");
        skip();
    }
    lle_memory_manager_t *m = test_manager(NULL);
    char line[4096];
    size_t cases = 0;
    uint64_t rs = 12345;
    while (fgets(line, sizeof line, f)) {
        gcase_t c;
        if (!parse_case(line, &c)) continue;
        size_t order[64];
        for (size_t i = 0; i < c.n; i++) order[i] = i;
        run_case(m, &c, order, 0);
        /* random insertion order, at a random distance from a leaf border */
        for (size_t i = c.n; i > 1; i--) {
            size_t j = (size_t)(model_rand(&rs) % i), x = order[i - 1];
            order[i - 1] = order[j];
            order[j] = x;
        }
        /* 1536: the second leaf border of a text pasted whole (1 KiB leaves
         * filled to 3/4) */
        run_case(m, &c, order, 1530 + (size_t)(model_rand(&rs) % 16));
        cases++;
    }
    fclose(f);
    print_message("%zu GraphemeBreakTest cases, each built whole and in random order\n", cases);
    assert_true(cases > 500);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- ASCII runs ------------------------------------------------------------------ */

/* Runs of ASCII are segmented a word of bits at a time (every byte a
 * boundary but LF after CR); check them where that shortcut meets its
 * edges: CR LF on a 64-bit word border, on a leaf border and split across
 * insertions, and ASCII after the non-ASCII codepoints whose rules reach
 * over it (combining mark, ZWJ, Prepend, regional indicator), in short
 * insertions and between long runs of one paste. */
static void ascii_runs(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    uint64_t rs = 4242;
    static char buf[5000];
    /* CR LF at every offset around word and leaf borders, pasted whole */
    for (size_t at = 60; at < 70; at++) {
        lle_text_t *t = new_text(m, NULL);
        model_t md = {0};
        memset(buf, 'a', sizeof buf);
        for (size_t k = at; k + 1 < sizeof buf; k += 64 + at % 3) buf[k] = '\r', buf[k + 1] = '\n';
        buf[760 + at % 9] = '\r';
        buf[761 + at % 9] = '\n';
        assert_int_equal(lle_text_insert(t, 0, buf, sizeof buf), LLE_SUCCESS);
        model_replace(&md, 0, 0, buf, sizeof buf);
        text_verify(t, &md, &rs, 8);
        lle_text_destroy(t);
        free(md.b);
    }
    /* CR and LF in separate insertions, each side of the other, inside
     * and at the ends of ASCII runs */
    static const char *const steps[][2] = {
        {"0", "abc\r"}, {"4", "\ndef"},       /* CR then LF after it */
        {"8", "\n"},    {"8", "xy\r"},        /* LF then CR before it */
        {"4", "q"},     {"4", "\r"},          /* split a CR LF, a CR before the q */
        {"0", "\r"},    {"1", "\n\r\n"},
    };
    lle_text_t *t = new_text(m, NULL);
    model_t md = {0};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        size_t at = (size_t)atoi(steps[i][0]);
        put(t, &md, at, steps[i][1]);
        text_verify(t, &md, &rs, 8);
    }
    /* "\r\n\r\nabc\r\rq\ndefxy\r\n": without the q, a CR and an LF meet */
    assert_int_equal(md.n, 18);
    assert_int_equal(md.b[9], 'q');
    assert_int_equal(lle_text_delete(t, 9, 1), LLE_SUCCESS);
    model_replace(&md, 9, 1, "", 0);
    text_verify(t, &md, &rs, 8);
    lle_text_destroy(t);
    free(md.b);
    /* ASCII next to the codepoints whose rules look past one codepoint or
     * bind the next one */
    static const char *const ctx[] = {
        "e\xcc\x81",                          /* combining acute */
        "\xf0\x9f\x91\xa8\xe2\x80\x8d",       /* man, ZWJ */
        "\xd8\x80",                           /* U+0600, Prepend */
        "\xf0\x9f\x87\xab",                   /* regional indicator */
        "\xe0\xa4\x95\xe0\xa5\x8d",           /* Devanagari KA, virama */
        "\r",
    };
    static const char *const ascii[] = {"1", "ab", "\n", "x\r\ny"};
    for (size_t i = 0; i < sizeof ctx / sizeof ctx[0]; i++) {
        for (size_t j = 0; j < sizeof ascii / sizeof ascii[0]; j++) {
            t = new_text(m, NULL);
            md = (model_t){0};
            put(t, &md, 0, "zz");
            put(t, &md, 1, ctx[i]);                       /* z CTX z */
            size_t after = 1 + strlen(ctx[i]);
            put(t, &md, after, ascii[j]);                 /* z CTX ascii z */
            text_verify(t, &md, &rs, 8);
            put(t, &md, after + strlen(ascii[j]), ctx[i]); /* z CTX ascii CTX z */
            text_verify(t, &md, &rs, 8);
            put(t, &md, 1, ascii[j]);                     /* ascii before it too */
            text_verify(t, &md, &rs, 8);
            /* take the ASCII out again: the codepoints around it meet */
            assert_int_equal(lle_text_delete(t, after + strlen(ascii[j]), strlen(ascii[j])),
                             LLE_SUCCESS);
            model_replace(&md, after + strlen(ascii[j]), strlen(ascii[j]), "", 0);
            text_verify(t, &md, &rs, 8);
            lle_text_destroy(t);
            free(md.b);
        }
    }
    /* the same codepoints between runs of ASCII longer than 16 bytes, in
     * one paste, at every alignment of a 16-byte block and with CR LF
     * split at each place across the blocks' borders (the runs are
     * segmented 16 bytes at a time after a codepoint that is not a
     * Prepend) */
    for (size_t k = 0; k < 20; k++) {
        for (size_t i = 0; i < sizeof ctx / sizeof ctx[0]; i++) {
            size_t n = 0;
            memset(buf, 'p', k);
            n = k;
            for (int rep = 0; rep < 3; rep++) {
                size_t l = strlen(ctx[i]);
                memcpy(buf + n, ctx[i], l);
                n += l;
                for (size_t r = 0; r < 37; r++) buf[n + r] = (char)('a' + r % 26);
                buf[n + (k + 12 * (size_t)rep) % 36] = '\r';
                buf[n + (k + 12 * (size_t)rep) % 36 + 1] = '\n';
                buf[n + 36] = rep == 1 ? '\r' : 'z'; /* a CR before the next codepoint */
                n += 37;
            }
            buf[n++] = '\n';
            t = new_text(m, NULL);
            md = (model_t){0};
            assert_int_equal(lle_text_insert(t, 0, buf, n), LLE_SUCCESS);
            model_replace(&md, 0, 0, buf, n);
            text_verify(t, &md, &rs, 4);
            lle_text_destroy(t);
            free(md.b);
        }
    }
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* The cursor calls and the line of a position where what they look for is
 * leaves away: a line that started six leaves before the position, and
 * a cluster (a base and 1,200 combining marks) that covers whole leaves,
 * where the leaf after a cluster start, or before the next one, holds no
 * cluster start at all. */
static void positions_across_leaves(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_t *t = new_text(m, NULL);
    model_t md = {0};
    uint64_t rs = 977;
    size_t n = 2 + 6000 + 1 + 1 + 2400 + 1;
    char *buf = malloc(n), *q = buf;
    *q++ = 'x';
    *q++ = '\n';
    for (int i = 0; i < 3000; i++) *q++ = 'a', *q++ = 'b';
    *q++ = '\n';
    size_t base = (size_t)(q - buf);
    *q++ = 'a';
    for (int i = 0; i < 1200; i++) *q++ = '\xcc', *q++ = '\x81';
    size_t after = (size_t)(q - buf);
    *q++ = 'b';
    assert_int_equal(lle_text_insert(t, 0, buf, n), LLE_SUCCESS);
    model_replace(&md, 0, 0, buf, n);
    lle_text_stats_t st;
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    assert_true(st.leaves >= 10);
    size_t line, col, row, to;
    assert_int_equal(lle_text_byte_to_line_col(t, 2 + 5000, &line, &col), LLE_SUCCESS);
    assert_int_equal(line, 1);
    assert_int_equal(col, 5000);
    /* width 80: line 0 takes a row; 5,000 columns fill 62 rows and 40 more */
    assert_int_equal(lle_text_set_wrap_width(t, 80), LLE_SUCCESS);
    assert_int_equal(lle_text_byte_to_row_col(t, 2 + 5000, &row, &col), LLE_SUCCESS);
    assert_int_equal(row, 1 + 62);
    assert_int_equal(col, 40);
    assert_int_equal(lle_text_byte_to_line_col(t, after + 1, &line, &col), LLE_SUCCESS);
    assert_int_equal(line, 2);
    assert_int_equal(col, 2);
    assert_int_equal(lle_text_next_grapheme(t, base, &to), LLE_SUCCESS);
    assert_int_equal(to, after);
    assert_int_equal(lle_text_prev_grapheme(t, after, &to), LLE_SUCCESS);
    assert_int_equal(to, base);
    assert_int_equal(lle_text_next_grapheme(t, after, &to), LLE_SUCCESS);
    assert_int_equal(to, n);
    assert_int_equal(lle_text_prev_grapheme(t, n, &to), LLE_SUCCESS);
    assert_int_equal(to, after);
    assert_int_equal(lle_text_next_grapheme(t, base + 1, &to), LLE_ERROR_INVALID_POSITION);
    assert_int_equal(lle_text_prev_grapheme(t, after - 2, &to), LLE_ERROR_INVALID_POSITION);
    text_verify(t, &md, &rs, 200);
    /* every cluster start, both ways, over every leaf border */
    unsigned char *bnd = malloc(n + 1);
    model_boundaries(&md, bnd);
    for (size_t p = 0, nx; p < n; p = nx) {
        assert_int_equal(lle_text_next_grapheme(t, p, &nx), LLE_SUCCESS);
        assert_true(nx > p && bnd[nx]);
        for (size_t i = p + 1; i < nx; i++) assert_false(bnd[i]);
        assert_int_equal(lle_text_prev_grapheme(t, nx, &to), LLE_SUCCESS);
        assert_int_equal(to, p);
    }
    free(bnd);
    free(buf);
    free(md.b);
    lle_text_destroy(t);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* Every codepoint from U+0001 to U+07FF (so every byte value but those
 * UTF-8 never uses: every continuation byte 0x80-0xBF, every 2-byte lead)
 * and a sample of 3- and 4-byte ones, inserted in pieces at random
 * points, so that leaves end and gaps sit at every kind of place; then at
 * every byte the conversions by codepoint, and every line's start, against
 * the model.  The leaf's counts and searches go 16 bytes at a time, with a
 * different path for the tail of a run: this reaches both with each byte
 * value. */
static void every_byte_value_counted(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    static char all[8192];
    size_t n = 0;
    for (uint32_t c = 1; c < 0x800; c++) {
        if (c < 0x80) {
            all[n++] = (char)c;
        } else {
            all[n++] = (char)(0xC0 | (c >> 6));
            all[n++] = (char)(0x80 | (c & 0x3F));
        }
    }
    for (uint32_t c = 0x800; c < 0x10000; c += 0x3F7) {
        if (c >= 0xD800 && c < 0xE000) continue;
        all[n++] = (char)(0xE0 | (c >> 12));
        all[n++] = (char)(0x80 | ((c >> 6) & 0x3F));
        all[n++] = (char)(0x80 | (c & 0x3F));
    }
    for (uint32_t c = 0x10000; c < 0x110000; c += 0x3FF1) {
        all[n++] = (char)(0xF0 | (c >> 18));
        all[n++] = (char)(0x80 | ((c >> 12) & 0x3F));
        all[n++] = (char)(0x80 | ((c >> 6) & 0x3F));
        all[n++] = (char)(0x80 | (c & 0x3F));
    }
    assert_true(n < sizeof all);
    lle_text_t *t = new_text(m, NULL);
    model_t md = {0};
    uint64_t rs = 77;
    for (size_t at = 0; at < n;) {
        size_t k = 1 + (size_t)(model_rand(&rs) % 60);
        if (at + k > n) k = n - at;
        while (at + k < n && ((unsigned char)all[at + k] & 0xC0) == 0x80) k++;
        size_t p = model_cp_pos(&md, &rs);
        assert_int_equal(lle_text_insert(t, p, all + at, k), LLE_SUCCESS);
        model_replace(&md, p, 0, all + at, k);
        at += k;
    }
    for (int round = 0; round < 2; round++) {
        size_t cps = 0, line = 0;
        for (size_t p = 0; p <= md.n; p++) {
            bool start = p == md.n || ((unsigned char)md.b[p] & 0xC0) != 0x80;
            size_t got;
            if (start) {
                assert_int_equal(lle_text_byte_to_codepoint(t, p, &got), LLE_SUCCESS);
                assert_int_equal(got, cps);
                assert_int_equal(lle_text_codepoint_to_byte(t, cps, &got), LLE_SUCCESS);
                assert_int_equal(got, p);
                cps++;
            } else {
                assert_int_equal(lle_text_byte_to_codepoint(t, p, &got), LLE_ERROR_INVALID_POSITION);
            }
            if (p == 0 || md.b[p - 1] == '\n') {
                size_t ls, len;
                assert_int_equal(lle_text_line_span(t, line, &ls, &len), LLE_SUCCESS);
                assert_int_equal(ls, p);
                line++;
            }
        }
        assert_int_equal(lle_text_line_count(t), line);
        /* move every gap: delete a codepoint at random points */
        for (int i = 0; i < 40; i++) {
            size_t p = model_cp_pos(&md, &rs), e = p + 1;
            if (p == md.n) continue;
            while (e < md.n && ((unsigned char)md.b[e] & 0xC0) == 0x80) e++;
            assert_int_equal(lle_text_delete(t, p, e - p), LLE_SUCCESS);
            model_replace(&md, p, e - p, "", 0);
        }
    }
    lle_text_destroy(t);
    free(md.b);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- bad input ------------------------------------------------------------------ */

/* Every sequence of one and two bytes (but two ASCII); of three and four
 * bytes, every lead byte that starts them with every second byte and the
 * bytes after at the edges of 80..BF; alone and after 17 bytes of ASCII
 * (the ASCII skip): insertion accepts exactly the UTF-8 the slow decoder
 * accepts, and refused, leaves the text empty as it was. */
static void utf8_every_sequence(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_config_t cfg;
    lle_text_config_default(&cfg);
    cfg.undo_limit = 0; /* 10,000 insertions: kept cheap under valgrind */
    lle_text_t *t = new_text(m, &cfg);
    static const unsigned char tails[] = {0x7F, 0x80, 0xBF, 0xC0};
    static const struct {
        unsigned len, lead_lo, lead_hi;
    } kinds[] = {{1, 0, 255}, {2, 0, 255}, {3, 0xE0, 0xEF}, {4, 0xF0, 0xF7}};
    unsigned char s[32];
    size_t tried = 0, valid = 0;
    for (size_t pre = 0; pre <= 17; pre += 17) {
        memset(s, 'a', pre);
        for (size_t kd = 0; kd < sizeof kinds / sizeof kinds[0]; kd++) {
            unsigned len = kinds[kd].len;
            size_t combos = len == 4 ? 16 : len == 3 ? 4 : 1;
            for (unsigned b0 = kinds[kd].lead_lo; b0 <= kinds[kd].lead_hi; b0++) {
                for (unsigned b1 = 0; b1 < (len > 1 ? 256u : 1u); b1++) {
                    if (len == 2 && b0 < 0x80 && b1 < 0x80) continue; /* ASCII pairs */
                    for (size_t x = 0; x < combos; x++) {
                        unsigned char *q = s + pre;
                        q[0] = (unsigned char)b0;
                        q[1] = (unsigned char)b1;
                        q[2] = tails[x % 4];
                        q[3] = tails[x / 4];
                        size_t n = pre + len;
                        bool want = model_utf8_prefix(s, n) == n;
                        lle_result_t r = lle_text_insert(t, 0, (const char *)s, n);
                        assert_int_equal(r, want ? LLE_SUCCESS : LLE_ERROR_INVALID_ENCODING);
                        if (want) assert_int_equal(lle_text_delete(t, 0, n), LLE_SUCCESS);
                        assert_int_equal(lle_text_length(t), 0);
                        tried++;
                        valid += want;
                    }
                }
            }
        }
    }
    assert_int_equal(tried, 2 * (256 + 65536 - 128 * 128 + 16 * 256 * 4 + 8 * 256 * 16));
    /* UTF-8 per prefix: 128 single bytes; 30 * 64 two-byte sequences; 960
     * lead and second bytes of three, with 2 of the 4 last bytes; 256 of
     * four, with 2 * 2 of the 16 */
    assert_int_equal(valid, 2 * (128 + 30 * 64 + 960 * 2 + 256 * 4));
    assert_int_equal(lle_text_destroy(t), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void bad_input(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_config_t cfg;
    lle_text_config_default(&cfg);
    cfg.max_size = 64;
    lle_text_t *t = NULL;
    lle_text_config_t bad = cfg;
    bad.growth_factor = 1.0;
    assert_int_equal(lle_text_create(m, &bad, &t), LLE_ERROR_INVALID_ARGUMENT);
    bad = cfg;
    bad.max_size = 0;
    assert_int_equal(lle_text_create(m, &bad, &t), LLE_ERROR_INVALID_ARGUMENT);
    bad = cfg;
    bad.min_region = 63;
    assert_int_equal(lle_text_create(m, &bad, &t), LLE_ERROR_INVALID_ARGUMENT);
    bad.min_region = ((size_t)1 << 30) + 1;
    assert_int_equal(lle_text_create(m, &bad, &t), LLE_ERROR_INVALID_ARGUMENT);
    assert_int_equal(lle_text_create(NULL, &cfg, &t), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_text_destroy(NULL), LLE_SUCCESS);
    t = new_text(m, &cfg);
    model_t md = {0};
    uint64_t rs = 5;
    /* "a" "e+acute" "\xe4\xb8\xad" "\n" "b" : bytes 0, 1-3, 4-6, 7, 8 */
    put(t, &md, 0, "ae\xcc\x81\xe4\xb8\xad\nb");
    lle_text_stats_t before, after;
    assert_int_equal(lle_text_get_stats(t, &before), LLE_SUCCESS);
    static const char *const invalid[] = {
        "\x80", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
        "ab\xe4\xb8", "\xff", "\xc3",
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        assert_int_equal(lle_text_insert(t, 0, invalid[i], strlen(invalid[i])),
                         LLE_ERROR_INVALID_ENCODING);
    /* the same at every offset of 40 bytes of ASCII, and after a valid
     * codepoint: validation skips ASCII 16 bytes at a time */
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        size_t k = strlen(invalid[i]);
        for (size_t at = 0; at + k <= 40; at++) {
            char s[40];
            memset(s, 'a', sizeof s);
            memcpy(s + at, invalid[i], k);
            assert_int_equal(lle_text_insert(t, 0, s, sizeof s), LLE_ERROR_INVALID_ENCODING);
            if (at >= 2) {
                memcpy(s + at - 2, "\xc3\xa9", 2);
                assert_int_equal(lle_text_insert(t, 0, s, sizeof s), LLE_ERROR_INVALID_ENCODING);
            }
        }
    }
    assert_int_equal(lle_text_insert(t, 10, "x", 1), LLE_ERROR_INVALID_POSITION);
    assert_int_equal(lle_text_insert(t, 5, "x", 1), LLE_ERROR_INVALID_POSITION); /* inside 中 */
    assert_int_equal(lle_text_delete(t, 0, 10), LLE_ERROR_INVALID_POSITION);
    assert_int_equal(lle_text_delete(t, 0, 5), LLE_ERROR_INVALID_POSITION);
    assert_int_equal(lle_text_delete(t, SIZE_MAX, 1), LLE_ERROR_INVALID_POSITION);
    assert_int_equal(lle_text_insert(t, 0, NULL, 3), LLE_ERROR_NULL_PARAMETER);
    char big[80];
    memset(big, 'x', sizeof big);
    assert_int_equal(lle_text_insert(t, 0, big, 56), LLE_ERROR_SIZE_LIMIT);
    assert_int_equal(lle_text_replace(t, 0, 1, big, 57), LLE_ERROR_SIZE_LIMIT);
    size_t out, o2;
    assert_int_equal(lle_text_byte_to_codepoint(t, 3, &out), LLE_ERROR_INVALID_POSITION); /* inside U+0301 */
    assert_int_equal(lle_text_byte_to_codepoint(t, 10, &out), LLE_ERROR_INVALID_POSITION);
    assert_int_equal(lle_text_codepoint_to_byte(t, 7, &out), LLE_ERROR_INVALID_POSITION);
    /* byte 2 (U+0301) starts a codepoint but not a cluster */
    assert_int_equal(lle_text_byte_to_codepoint(t, 2, &out), LLE_SUCCESS);
    assert_int_equal(lle_text_byte_to_grapheme(t, 2, &out), LLE_ERROR_INVALID_POSITION);
    assert_int_equal(lle_text_byte_to_grapheme(t, 3, &out), LLE_ERROR_INVALID_POSITION);
    assert_int_equal(lle_text_grapheme_to_byte(t, 6, &out), LLE_ERROR_INVALID_POSITION);
    assert_int_equal(lle_text_next_grapheme(t, 9, &out), LLE_ERROR_INVALID_POSITION);
    assert_int_equal(lle_text_prev_grapheme(t, 0, &out), LLE_ERROR_INVALID_POSITION);
    assert_int_equal(lle_text_next_grapheme(t, 2, &out), LLE_ERROR_INVALID_POSITION);
    assert_int_equal(lle_text_byte_to_line_col(t, 2, &out, &o2), LLE_ERROR_INVALID_POSITION);
    assert_int_equal(lle_text_line_col_to_byte(t, 2, 0, &out), LLE_ERROR_INVALID_LINE_INDEX);
    assert_int_equal(lle_text_line_col_to_byte(t, 0, 4, &out), LLE_ERROR_INVALID_POSITION);
    assert_int_equal(lle_text_line_span(t, 2, &out, &o2), LLE_ERROR_INVALID_LINE_INDEX);
    assert_int_equal(lle_text_delete_line(t, 2), LLE_ERROR_INVALID_LINE_INDEX);
    assert_int_equal(lle_text_replace_line(t, 2, "x", 1), LLE_ERROR_INVALID_LINE_INDEX);
    assert_int_equal(lle_insert_line(t, 3, "x", 1), LLE_ERROR_INVALID_LINE_INDEX);
    assert_int_equal(lle_insert_line(t, 0, "x\ny", 3), LLE_ERROR_INVALID_ARGUMENT);
    assert_int_equal(lle_text_replace_line(t, 0, "\xc3", 1), LLE_ERROR_INVALID_ENCODING);
    assert_int_equal(lle_text_line_rows(t, 2, &out), LLE_ERROR_INVALID_LINE_INDEX);
    assert_int_equal(lle_text_line_to_row(t, 2, &out), LLE_ERROR_INVALID_LINE_INDEX);
    assert_int_equal(lle_text_set_wrap_width(t, 0), LLE_ERROR_INVALID_ARGUMENT);
    assert_int_equal(lle_text_set_wrap_width(t, 70000), LLE_ERROR_INVALID_ARGUMENT);
    assert_int_equal(lle_text_row_to_line(t, 2, &out, &o2), LLE_ERROR_INVALID_POSITION);
    assert_int_equal(lle_text_byte_to_row_col(t, 2, &out, &o2), LLE_ERROR_INVALID_POSITION);
    assert_int_equal(lle_text_read(t, 5, 5, big), LLE_ERROR_INVALID_POSITION);
    assert_int_equal(lle_text_undo(NULL), LLE_ERROR_NULL_PARAMETER);
    /* nothing changed */
    text_verify(t, &md, &rs, 16);
    assert_int_equal(lle_text_get_stats(t, &after), LLE_SUCCESS);
    /* the row queries filled the cache, reading lines to do it */
    after.stale_rows = before.stale_rows;
    after.wrap_scanned_bytes = before.wrap_scanned_bytes;
    assert_memory_equal(&before, &after, sizeof before);
    /* a replacement that fits because of what it deletes; the length is
     * in bytes */
    assert_int_equal(lle_text_length(t), 9);
    assert_int_equal(lle_text_replace(t, 0, 1, big, 56), LLE_SUCCESS);
    assert_int_equal(lle_text_length(t), 64);
    lle_text_destroy(t);
    /* undo with nothing to undo */
    t = new_text(m, NULL);
    assert_int_equal(lle_text_undo(t), LLE_ERROR_INVALID_STATE);
    /* edits of several leaves that start or end inside a codepoint */
    static char many[3000];
    memset(many, 'x', sizeof many);
    assert_int_equal(lle_text_insert(t, 0, many, sizeof many), LLE_SUCCESS);
    assert_int_equal(lle_text_insert(t, 1500, "\xe4\xb8\xad", 3), LLE_SUCCESS);
    assert_int_equal(lle_text_insert(t, 1501, many, 2000), LLE_ERROR_INVALID_POSITION);
    assert_int_equal(lle_text_delete(t, 100, 1402), LLE_ERROR_INVALID_POSITION);
    assert_int_equal(lle_text_delete(t, 1501, 1200), LLE_ERROR_INVALID_POSITION);
    assert_int_equal(lle_text_replace(t, 1502, 1000, "y", 1), LLE_ERROR_INVALID_POSITION);
    assert_int_equal(lle_text_length(t), 3003);
    assert_int_equal(lle_text_check(t), LLE_SUCCESS);
    lle_text_destroy(t);
    free(md.b);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- lines --------------------------------------------------------------------------- */

static void lines_and_marks(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_t *t = new_text(m, NULL);
    model_t md = {0};
    uint64_t rs = 9;
    put(t, &md, 0, "zero\none\ntwo");
    lle_text_clear_modified(t);
    size_t n = 99, s, l;
    lle_text_line_range_t r[8];
    assert_int_equal(lle_text_modified_lines(t, r, 8, &n), LLE_SUCCESS);
    assert_int_equal(n, 0);
    assert_int_equal(lle_text_line_count(t), 3);
    assert_int_equal(lle_text_line_span(t, 1, &s, &l), LLE_SUCCESS);
    assert_int_equal(s, 5);
    assert_int_equal(l, 3);
    /* a line inserted before line 1: lines 1 marked; old 1 and 2 move down */
    assert_int_equal(lle_insert_line(t, 1, "new", 3), LLE_SUCCESS);
    model_replace(&md, 5, 0, "new\n", 4);
    text_verify(t, &md, &rs, 8);
    assert_int_equal(lle_text_modified_lines(t, r, 8, &n), LLE_SUCCESS);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].first, 1);
    assert_int_equal(r[0].count, 2); /* the line it starts in and the new one */
    uint64_t t1 = r[0].time_ns, when;
    assert_true(t1 > 0);
    assert_true(lle_text_line_modified(t, 1, &when));
    assert_int_equal(when, t1);
    assert_false(lle_text_line_modified(t, 0, NULL));
    assert_false(lle_text_line_modified(t, 3, NULL));
    /* an edit in the last line marks it with the time of the edit
     * (CLOCK_MONOTONIC); a deletion of line 0 shifts the marks up, each
     * with its own time */
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(lle_text_replace_line(t, 3, "TWO", 3), LLE_SUCCESS);
    clock_gettime(CLOCK_MONOTONIC, &b);
    model_replace(&md, 13, 3, "TWO", 3);
    uint64_t t3;
    assert_true(lle_text_line_modified(t, 3, &t3));
    assert_true((uint64_t)a.tv_sec * 1000000000u + (uint64_t)a.tv_nsec <= t3);
    assert_true(t3 <= (uint64_t)b.tv_sec * 1000000000u + (uint64_t)b.tv_nsec);
    assert_int_equal(lle_text_delete_line(t, 0), LLE_SUCCESS);
    model_replace(&md, 0, 5, "", 0);
    text_verify(t, &md, &rs, 8);
    assert_true(lle_text_line_modified(t, 0, NULL)); /* the line the deletion started in */
    assert_true(lle_text_line_modified(t, 1, &when)); /* was 2 */
    assert_int_equal(when, t1);
    assert_true(lle_text_line_modified(t, 2, &when)); /* was 3 */
    assert_int_equal(when, t3);
    assert_int_equal(lle_text_modified_lines(t, r, 1, &n), LLE_ERROR_BUFFER_TOO_SMALL);
    assert_true(n >= 2);
    assert_true(lle_text_modification_count(t) >= 5);
    lle_text_clear_modified(t);
    assert_int_equal(lle_text_modified_lines(t, r, 8, &n), LLE_SUCCESS);
    assert_int_equal(n, 0);
    /* append after the last line; delete the last line and the only line */
    assert_int_equal(lle_insert_line(t, lle_text_line_count(t), "end", 3), LLE_SUCCESS);
    model_replace(&md, md.n, 0, "\nend", 4);
    assert_true(lle_text_line_modified(t, 3, NULL));
    assert_int_equal(lle_text_delete_line(t, 3), LLE_SUCCESS);
    model_replace(&md, md.n - 4, 4, "", 0);
    text_verify(t, &md, &rs, 8);
    while (lle_text_line_count(t) > 1) assert_int_equal(lle_text_delete_line(t, 0), LLE_SUCCESS);
    assert_int_equal(lle_text_delete_line(t, 0), LLE_SUCCESS);
    assert_int_equal(lle_text_length(t), 0);
    assert_int_equal(lle_text_check(t), LLE_SUCCESS);
    lle_text_destroy(t);
    free(md.b);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- wrapped rows ------------------------------------------------------------------------ */

static void check_rows(lle_text_t *t, const model_t *md, unsigned width)
{
    unsigned char *bnd = malloc(md->n + 1);
    model_boundaries(md, bnd);
    size_t total = 0, line = 0, row;
    for (size_t s = 0;; line++) {
        size_t want = model_line_rows(md, bnd, s, width), got, ln, in;
        assert_int_equal(lle_text_line_rows(t, line, &got), LLE_SUCCESS);
        assert_int_equal(got, want);
        assert_int_equal(lle_text_line_to_row(t, line, &row), LLE_SUCCESS);
        assert_int_equal(row, total);
        assert_int_equal(lle_text_row_to_line(t, total + want - 1, &ln, &in), LLE_SUCCESS);
        assert_int_equal(ln, line);
        assert_int_equal(in, want - 1);
        /* the row and column of the cluster start nearest the middle */
        const char *nl = memchr(md->b + s, '\n', md->n - s);
        size_t e = nl ? (size_t)(nl - md->b) : md->n, p = s + (e - s) / 2, col, r, c;
        while (p < e && !bnd[p]) p++;
        if (bnd[p]) {
            r = model_line_scan(md, bnd, s, p, width, &col);
            assert_int_equal(lle_text_byte_to_row_col(t, p, &row, &c), LLE_SUCCESS);
            assert_int_equal(row, total + r - 1);
            assert_int_equal(c, col);
        }
        /* cells of the line's first, middle and last rows: the start of
         * the row, inside it, its last columns and past them */
        size_t in_rows[] = {0, want / 2, want - 1};
        size_t cols[] = {0, 1, width / 2, width - 1, width, width + 1, (size_t)-1};
        for (size_t i = 0; i < 3; i++)
            for (size_t j = 0; j < sizeof cols / sizeof cols[0]; j++) {
                size_t at;
                assert_int_equal(lle_text_row_col_to_byte(t, total + in_rows[i], cols[j], &at),
                                 LLE_SUCCESS);
                assert_int_equal(at, model_row_col_to_byte(md, bnd, s, width, in_rows[i], cols[j]));
            }
        total += want;
        if (!nl) break;
        s = e + 1;
    }
    size_t all, at;
    assert_int_equal(lle_text_wrap_rows(t, &all), LLE_SUCCESS);
    assert_int_equal(all, total);
    assert_int_equal(lle_text_row_col_to_byte(t, total, 0, &at), LLE_ERROR_INVALID_POSITION);
    free(bnd);
}

static void wrapped_rows(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_t *t = new_text(m, NULL);
    model_t md = {0};
    uint64_t rs = 31;
    size_t rows, row, col;
    assert_int_equal(lle_text_set_wrap_width(t, 4), LLE_SUCCESS);
    put(t, &md, 0, "abcdef\n\xe4\xb8\xad\xe6\x96\x87\xe4\xb8\xad\n" "e\xcc\x81" "e\xcc\x81" "e\xcc\x81" "e\xcc\x81" "e\xcc\x81");
    /* "abcdef": 2 rows; 中文中 (6 columns, wide never split): 2; five e+acute: 2 */
    assert_int_equal(lle_text_line_rows(t, 0, &rows), LLE_SUCCESS);
    assert_int_equal(rows, 2);
    assert_int_equal(lle_text_line_rows(t, 1, &rows), LLE_SUCCESS);
    assert_int_equal(rows, 2);
    assert_int_equal(lle_text_line_rows(t, 2, &rows), LLE_SUCCESS);
    assert_int_equal(rows, 2);
    assert_int_equal(lle_text_wrap_rows(t, &rows), LLE_SUCCESS);
    assert_int_equal(rows, 6);
    /* at width 3: 中 alone per row */
    assert_int_equal(lle_text_set_wrap_width(t, 3), LLE_SUCCESS);
    assert_int_equal(lle_text_line_rows(t, 1, &rows), LLE_SUCCESS);
    assert_int_equal(rows, 3);
    assert_int_equal(lle_text_byte_to_row_col(t, 7 + 6, &row, &col), LLE_SUCCESS);
    /* before the third 中: after 文 on the line's second row */
    assert_int_equal(row, 2 + 1);
    assert_int_equal(col, 2);
    check_rows(t, &md, 3);
    /* random edits, rows compared with the model at changing widths */
    past_t past = {0};
    for (int i = 0; i < 120; i++) {
        random_edit(t, &md, &rs, 12000, &past);
        if (i % 10 == 0) assert_int_equal(lle_text_set_wrap_width(t, 1 + (unsigned)(model_rand(&rs) % 40)), LLE_SUCCESS);
        if (i % 3 == 0) {
            size_t rows_now;
            assert_int_equal(lle_text_wrap_rows(t, &rows_now), LLE_SUCCESS);
            assert_int_equal(lle_text_check(t), LLE_SUCCESS);
        }
    }
    assert_int_equal(lle_text_set_wrap_width(t, 17), LLE_SUCCESS);
    check_rows(t, &md, 17);
    assert_int_equal(lle_text_check(t), LLE_SUCCESS);
    for (int i = 0; i < 40; i++) {
        random_edit(t, &md, &rs, 12000, &past);
        check_rows(t, &md, 17);
        assert_int_equal(lle_text_check(t), LLE_SUCCESS);
    }
    for (size_t i = 0; i < past.n; i++) free(past.v[i].b);
    free(past.v);
    lle_text_destroy(t);
    free(md.b);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* lle_text_row_col_to_byte(t, row, col) is want. */
static void cell_is(lle_text_t *t, size_t row, size_t col, size_t want)
{
    size_t got = (size_t)-1;
    assert_int_equal(lle_text_row_col_to_byte(t, row, col, &got), LLE_SUCCESS);
    assert_int_equal(got, want);
}

/* From a row and a column to a byte, as lle/text.h says: the cluster that
 * covers the column, the end of the row past its last cluster, a wide
 * character pushed to the next row, clusters of 0 columns, empty lines,
 * width 1, a compressed text, and bad input. */
static void row_col_to_byte(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_t *t = new_text(m, NULL);
    /* "ab中cd" at width 3: "ab" (中 does not fit at column 2), "中c", "d" */
    assert_int_equal(lle_text_insert(t, 0, "ab\xe4\xb8\xad" "cd", 7), LLE_SUCCESS);
    assert_int_equal(lle_text_set_wrap_width(t, 3), LLE_SUCCESS);
    cell_is(t, 0, 0, 0);
    cell_is(t, 0, 1, 1);
    cell_is(t, 0, 2, 2); /* the empty column: the end of the row, where 中 starts */
    cell_is(t, 0, 99, 2);
    cell_is(t, 1, 0, 2);
    cell_is(t, 1, 1, 2); /* inside 中 */
    cell_is(t, 1, 2, 5);
    cell_is(t, 1, 3, 6);
    cell_is(t, 2, 0, 6);
    cell_is(t, 2, 1, 7); /* the end of the text */
    size_t pos = 42, row, col;
    assert_int_equal(lle_text_row_col_to_byte(t, 3, 0, &pos), LLE_ERROR_INVALID_POSITION);
    assert_int_equal(pos, 42);
    assert_int_equal(lle_text_row_col_to_byte(NULL, 0, 0, &pos), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_text_row_col_to_byte(t, 0, 0, NULL), LLE_ERROR_NULL_PARAMETER);
    /* every boundary and its row and column: back to itself (none follows
     * a cluster of 0 columns) */
    static const size_t bounds[] = {0, 1, 2, 5, 6, 7};
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(lle_text_byte_to_row_col(t, bounds[i], &row, &col), LLE_SUCCESS);
        cell_is(t, row, col, bounds[i]);
    }
    /* width 1: 中 overflows a row of its own */
    assert_int_equal(lle_text_set_wrap_width(t, 1), LLE_SUCCESS);
    cell_is(t, 2, 0, 2);
    cell_is(t, 2, 1, 2);
    cell_is(t, 2, 2, 5);
    cell_is(t, 3, 0, 5);
    lle_text_destroy(t);

    /* clusters of 0 columns: a control after a letter stands at column 1,
     * and one after a full row stays on it, at its width */
    t = new_text(m, NULL);
    assert_int_equal(lle_text_insert(t, 0, "a\x01" "b\nab\x01" "c\n\nxyz", 13), LLE_SUCCESS);
    assert_int_equal(lle_text_set_wrap_width(t, 2), LLE_SUCCESS);
    cell_is(t, 0, 0, 0);
    cell_is(t, 0, 1, 1); /* the control, not b */
    cell_is(t, 0, 2, 3); /* past b: the line's end, its newline */
    assert_int_equal(lle_text_byte_to_row_col(t, 2, &row, &col), LLE_SUCCESS);
    assert_int_equal(row, 0);
    assert_int_equal(col, 1); /* b's start follows the control: gives 1 back */
    cell_is(t, 1, 1, 5);
    cell_is(t, 1, 2, 6); /* the control at the end of the full row */
    cell_is(t, 1, 3, 7); /* past it: the next row, c */
    cell_is(t, 2, 0, 7);
    cell_is(t, 2, 1, 8);
    cell_is(t, 3, 0, 9); /* the empty line */
    cell_is(t, 3, 5, 9);
    cell_is(t, 4, 1, 11);
    cell_is(t, 5, 0, 12);
    cell_is(t, 5, 1, 13);
    /* a compressed text is decompressed first */
    lle_text_config_t cfg;
    lle_text_config_default(&cfg);
    lle_text_destroy(t);
    cfg.compress_threshold = 64;
    t = new_text(m, &cfg);
    char big[4096];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (char)('a' + i % 4);
    assert_int_equal(lle_text_insert(t, 0, big, sizeof big), LLE_SUCCESS);
    assert_int_equal(lle_text_set_wrap_width(t, 80), LLE_SUCCESS);
    bool kept = false;
    assert_int_equal(lle_text_compress(t, &kept), LLE_SUCCESS);
    assert_true(kept);
    cell_is(t, 7, 5, 7 * 80 + 5);
    assert_false(lle_text_is_compressed(t));
    lle_text_destroy(t);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* After a width change a line's rows come from its cached columns when
 * those decide them (lle_text_stats_t.wrap_scanned_bytes does not move):
 * always for a line without wide characters, and for a line with some
 * when it is shorter than about two rows; the others are filled again.
 * Every count against the model's fill. */
static void resize_from_columns(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_t *t = new_text(m, NULL);
    model_t md = {0};
    /* 2000 lines: 70 letters; 3 CJK and 2 letters (8 columns); 30 CJK
     * (60 columns) */
    for (int i = 0; i < 2000; i++) {
        char line[128];
        size_t k = 0;
        if (i % 3 == 0) {
            for (; k < 70; k++) line[k] = (char)('a' + (i + (int)k) % 26);
        } else {
            for (int j = 0; j < (i % 3 == 1 ? 3 : 30); j++, k += 3) memcpy(line + k, "\xe4\xb8\xad", 3);
            if (i % 3 == 1) line[k++] = 'x', line[k++] = 'y';
        }
        line[k++] = '\n';
        line[k] = 0;
        put(t, &md, md.n, line);
    }
    size_t rows;
    lle_text_stats_t s0, s1;
    assert_int_equal(lle_text_set_wrap_width(t, 80), LLE_SUCCESS);
    assert_int_equal(lle_text_wrap_rows(t, &rows), LLE_SUCCESS);
    /* width 100: every line fits a row; 61: so do the 60 columns of CJK;
     * 50: those take 2 rows whatever the padding (both bounds are 2); 4:
     * the lines of 8 columns may take 2 or 3 rows (the bounds differ) */
    static const unsigned widths[] = {100, 61, 50, 4, 80};
    static const bool reads[] = {false, false, false, true, false};
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        assert_int_equal(lle_text_get_stats(t, &s0), LLE_SUCCESS);
        assert_int_equal(lle_text_set_wrap_width(t, widths[w]), LLE_SUCCESS);
        assert_int_equal(lle_text_wrap_rows(t, &rows), LLE_SUCCESS);
        assert_int_equal(lle_text_get_stats(t, &s1), LLE_SUCCESS);
        if (reads[w])
            assert_true(s1.wrap_scanned_bytes > s0.wrap_scanned_bytes);
        else
            assert_int_equal(s1.wrap_scanned_bytes, s0.wrap_scanned_bytes);
        check_rows(t, &md, widths[w]);
        assert_int_equal(lle_text_check(t), LLE_SUCCESS);
    }
    /* an edit drops the line's columns, also between a width change and
     * the next refresh: that line alone is read again */
    assert_int_equal(lle_text_set_wrap_width(t, 90), LLE_SUCCESS);
    put(t, &md, 3, "\xe4\xb8\xad");
    assert_int_equal(lle_text_get_stats(t, &s0), LLE_SUCCESS);
    assert_int_equal(lle_text_wrap_rows(t, &rows), LLE_SUCCESS);
    assert_int_equal(lle_text_get_stats(t, &s1), LLE_SUCCESS);
    assert_true(s1.wrap_scanned_bytes > s0.wrap_scanned_bytes);
    assert_true(s1.wrap_scanned_bytes - s0.wrap_scanned_bytes < 200);
    check_rows(t, &md, 90);
    lle_text_destroy(t);
    free(md.b);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* Row fills take runs of printable ASCII at once (wrap.c): every byte of
 * a run but the last is a cluster of one column.  Runs of 1 to 40 bytes
 * between what ends them or changes how they count: DEL and a control (0
 * columns), a tab, a combining mark (joins the run's last byte), a
 * Prepend of 0 and of 1 column (U+0600, U+0D4E: the next run's first
 * byte joins it), a wide character, CR LF;
 * in short lines and in lines of several leaves, at widths 1 to 12 and
 * 80, changed again and again (each change refills every line), and after
 * edits in the runs. */
static void printable_runs_in_rows(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_t *t = new_text(m, NULL);
    model_t md = {0};
    uint64_t rs = 0x7e57;
    static const char *const stops[] = {
        "\x7f", "\x01", "\t", "\xcc\x81", "\xd8\x80", "\xe0\xb5\x8e", "\xe4\xb8\xad", "\r\n",
        " ", "\n",
    };
    static char buf[24000];
    size_t n = 0;
    while (n < 20000) {
        size_t k = 1 + (size_t)(model_rand(&rs) % 40);
        for (size_t i = 0; i < k; i++) buf[n++] = (char)('!' + model_rand(&rs) % 94);
        const char *st = stops[model_rand(&rs) % (sizeof stops / sizeof stops[0])];
        /* few newlines: lines of several leaves too */
        if (st[0] == '\n' && model_rand(&rs) % 8) st = " ";
        memcpy(buf + n, st, strlen(st));
        n += strlen(st);
    }
    assert_int_equal(lle_text_insert(t, 0, buf, n), LLE_SUCCESS);
    model_replace(&md, 0, 0, buf, n);
    static const unsigned widths[] = {80, 1, 2, 3, 5, 7, 12, 80, 9};
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        assert_int_equal(lle_text_set_wrap_width(t, widths[w]), LLE_SUCCESS);
        check_rows(t, &md, widths[w]);
        assert_int_equal(lle_text_check(t), LLE_SUCCESS);
        /* an edit in a run, then the rows again */
        size_t at = model_cp_pos(&md, &rs);
        put(t, &md, at, w % 2 ? "abc" : "\xcc\x81");
        check_rows(t, &md, widths[w]);
        assert_int_equal(lle_text_check(t), LLE_SUCCESS);
    }
    lle_text_destroy(t);
    free(md.b);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- undo and the regions ---------------------------------------------------------------- */

/* Random pieces (model_pieces) without newlines: text that stays in its line. */
static size_t line_text(uint64_t *rs, char *buf, size_t want)
{
    size_t n = model_random_text(rs, buf, want);
    for (size_t i = 0; i < n; i++)
        if (buf[i] == '\n') buf[i] = 'n';
    return n;
}

/* The row and column of a few random cluster starts, against the model. */
static void check_row_cols(lle_text_t *t, const model_t *md, unsigned width, uint64_t *rs)
{
    unsigned char *bnd = malloc(md->n + 1);
    model_boundaries(md, bnd);
    for (int k = 0; k < 6; k++) {
        size_t p = (size_t)(model_rand(rs) % (md->n + 1));
        while (!bnd[p]) p--;
        size_t s = p, line = 0, first, row, col, want_col;
        while (s > 0 && md->b[s - 1] != '\n') s--;
        for (size_t i = 0; i < s; i++) line += md->b[i] == '\n';
        size_t r = model_line_scan(md, bnd, s, p, width, &want_col);
        assert_int_equal(lle_text_line_to_row(t, line, &first), LLE_SUCCESS);
        assert_int_equal(lle_text_byte_to_row_col(t, p, &row, &col), LLE_SUCCESS);
        assert_int_equal(row, first + r - 1);
        assert_int_equal(col, want_col);
        /* and back: p itself unless it follows a cluster of 0 columns */
        size_t back;
        assert_int_equal(lle_text_row_col_to_byte(t, row, col, &back), LLE_SUCCESS);
        assert_int_equal(back, model_row_col_to_byte(md, bnd, s, width, r - 1, col));
        assert_true(back <= p);
    }
    free(bnd);
}

/* Lines longer than a leaf are measured through the tree's width summaries
 * (wrap.c, line_scan): rows, first rows and row/column positions against
 * the model's greedy fill after every edit, at widths 1 to 80.  The edits
 * insert and delete anywhere in long lines (wide clusters, marks that join
 * the cluster before them, pieces of several KiB), split lines and join
 * them again; lle_text_check compares every cached summary with a fresh
 * one after each. */
static void long_line_rows(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_t *t = new_text(m, NULL);
    model_t md = {0};
    uint64_t rs = 0x5eed;
    static char buf[32768];
    /* letters, mixed pieces, letters; a short line; a long mixed line */
    size_t n = 0;
    for (; n < 5000; n++) buf[n] = (char)('a' + n % 26);
    n += line_text(&rs, buf + n, 2500);
    for (size_t k = 0; k < 3000; k++, n++) buf[n] = (char)('a' + k % 26);
    buf[n++] = '\n';
    memcpy(buf + n, "short\n", 6);
    n += 6;
    n += line_text(&rs, buf + n, 4000);
    assert_int_equal(lle_text_insert(t, 0, buf, n), LLE_SUCCESS);
    model_replace(&md, 0, 0, buf, n);
    static const unsigned widths[] = {80, 2, 3, 7, 1, 16};
    unsigned width = 0;
    for (int i = 0; i < 120; i++) {
        if (i % 20 == 0) {
            width = widths[i / 20];
            assert_int_equal(lle_text_set_wrap_width(t, width), LLE_SUCCESS);
        }
        unsigned op = (unsigned)(model_rand(&rs) % 20);
        size_t a = model_cp_pos(&md, &rs);
        if (op < 10) {
            size_t want = op == 0 ? 3000 : 1 + (size_t)(model_rand(&rs) % 24);
            size_t k = line_text(&rs, buf, want);
            assert_int_equal(lle_text_insert(t, a, buf, k), LLE_SUCCESS);
            model_replace(&md, a, 0, buf, k);
        } else if (op < 17) {
            size_t b = a + (op == 10 ? 3000 : (size_t)(model_rand(&rs) % 40));
            if (b > md.n) b = md.n;
            while (b < md.n && ((unsigned char)md.b[b] & 0xC0) == 0x80) b++;
            assert_int_equal(lle_text_delete(t, a, b - a), LLE_SUCCESS);
            model_replace(&md, a, b - a, "", 0);
        } else if (op < 18) {
            assert_int_equal(lle_text_insert(t, a, "\n", 1), LLE_SUCCESS);
            model_replace(&md, a, 0, "\n", 1);
        } else {
            const char *nl = memchr(md.b + a, '\n', md.n - a);
            if (nl) {
                size_t p = (size_t)(nl - md.b);
                assert_int_equal(lle_text_delete(t, p, 1), LLE_SUCCESS);
                model_replace(&md, p, 1, "", 0);
            }
        }
        check_rows(t, &md, width);
        check_row_cols(t, &md, width, &rs);
        assert_int_equal(lle_text_check(t), LLE_SUCCESS);
    }
    lle_text_destroy(t);
    free(md.b);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* Rows of a line of clusters of the given widths at width w, and the row
 * and column before its last cluster (greedy fill, as lle/text.h says). */
static size_t fill_rows(const unsigned char *wd, size_t n, unsigned w, size_t *row_last,
                        size_t *col_last)
{
    size_t rows = 1, col = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == n - 1) {
            *row_last = rows - 1;
            *col_last = col;
        }
        if (col + wd[i] > w && col > 0) rows++, col = 0;
        col += wd[i];
    }
    return rows;
}

/* The cluster lle_text_row_col_to_byte gives for row r, column c of that
 * line (clusters of 1 or 2 columns): its index, n past the line's end. */
static size_t fill_find(const unsigned char *wd, size_t n, unsigned w, size_t r, size_t c)
{
    size_t row = 0, col = 0;
    for (size_t i = 0; i < n; i++) {
        if (col + wd[i] > w && col > 0) row++, col = 0;
        if (row > r || (row == r && col + wd[i] > c)) return i;
        col += wd[i];
    }
    return n;
}

/* A skin-tone modifier (Grapheme_Cluster_Break Extend, 2 columns) typed
 * after a letter joins the letter's cluster and makes it 2 columns wide.
 * At every position around the first leaf borders of a line of letters it
 * goes in and comes out again, the rows and the row and column of the
 * line's last letter compared with a fill of the widths each time: where
 * the modifier starts a leaf, the cluster it widens starts in the leaf
 * before, whose width summary must be dropped too. */
static void wide_extend_across_leaves(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_t *t = new_text(m, NULL);
    enum { N = 3000 };
    static char b[N];
    static unsigned char wd[N];
    for (size_t i = 0; i < N; i++) b[i] = (char)('a' + i % 26), wd[i] = 1;
    assert_int_equal(lle_text_insert(t, 0, b, N), LLE_SUCCESS);
    assert_int_equal(lle_text_set_wrap_width(t, 7), LLE_SUCCESS);
    static const char mod[] = "\xf0\x9f\x8f\xbd";
    for (size_t p = 700; p < 1600; p++) {
        for (int in = 0; in < 2; in++) {
            size_t rows, row, col, want_row, want_col;
            size_t want = fill_rows(wd, N, 7, &want_row, &want_col);
            assert_int_equal(lle_text_wrap_rows(t, &rows), LLE_SUCCESS);
            assert_int_equal(rows, want);
            assert_int_equal(lle_text_byte_to_row_col(t, N - 1 + 4 * (size_t)wd[p - 1] - 4, &row, &col),
                             LLE_SUCCESS);
            assert_int_equal(row, want_row);
            assert_int_equal(col, want_col);
            /* and from the row and column of cells around the modifier's
             * cluster to bytes (the cluster's width comes from the leaf
             * after the one it starts in) */
            assert_int_equal(lle_text_byte_to_row_col(t, p - 1, &row, &col), LLE_SUCCESS);
            for (size_t r = row; r <= row + 1; r++)
                for (size_t c = 4; c <= 7; c++) {
                    size_t f = fill_find(wd, N, 7, r, c);
                    cell_is(t, r, c, f + (f >= p ? 4 * (size_t)in : 0));
                }
            if (!in) {
                assert_int_equal(lle_text_insert(t, p, mod, 4), LLE_SUCCESS);
                wd[p - 1] = 2;
            } else {
                assert_int_equal(lle_text_delete(t, p, 4), LLE_SUCCESS);
                wd[p - 1] = 1;
            }
        }
        if (p % 100 == 0) assert_int_equal(lle_text_check(t), LLE_SUCCESS);
    }
    lle_text_destroy(t);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* After a keystroke in a line of 300,000 letters, its rows and the row of a
 * position at its end read about a leaf cluster by cluster, not the line
 * (lle_text_stats_t.wrap_scanned_bytes); also when the keystroke put a
 * wide character there.  In a line of 300 KB of wide characters, about
 * the leaf the keystroke went into. */
static void long_line_reads_a_leaf(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_t *t = new_text(m, NULL);
    size_t n = 300000;
    char *b = malloc(2 * n + 1);
    for (size_t i = 0; i < 2 * n + 1; i++) b[i] = (char)('a' + i % 26);
    b[n] = '\n';
    assert_int_equal(lle_text_insert(t, 0, b, 2 * n + 1), LLE_SUCCESS);
    assert_int_equal(lle_text_set_wrap_width(t, 80), LLE_SUCCESS);
    size_t rows, row, col;
    lle_text_stats_t s0, s1;
    assert_int_equal(lle_text_wrap_rows(t, &rows), LLE_SUCCESS);
    assert_int_equal(rows, 2 * (n / 80));
    assert_int_equal(lle_text_get_stats(t, &s0), LLE_SUCCESS);
    assert_true(s0.wrap_scanned_bytes >= 2 * n); /* the first time, every byte */
    static const char *const keys[] = {"x", "\xe4\xb8\xad"};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(lle_text_insert(t, 150000, keys[k], strlen(keys[k])), LLE_SUCCESS);
        assert_int_equal(lle_text_wrap_rows(t, &rows), LLE_SUCCESS);
        /* line 0: 300,000 columns, then one more, then a wide one (which
         * fits: 300,001 is not at the end of a row) */
        assert_int_equal(rows, (n + 1 + 2 * (size_t)k + 79) / 80 + n / 80);
        assert_int_equal(lle_text_byte_to_row_col(t, n - 1 + 1 + 3 * (size_t)k, &row, &col), LLE_SUCCESS);
        /* before the line's last letter, n + 2k columns: a full row ends at
         * column 80, the letter goes to the next */
        assert_int_equal(row, (n + 2 * (size_t)k - 1) / 80);
        assert_int_equal(col, (n + 2 * (size_t)k - 1) % 80 + 1);
        assert_int_equal(lle_text_get_stats(t, &s1), LLE_SUCCESS);
        assert_true(s1.wrap_scanned_bytes - s0.wrap_scanned_bytes < 4 * 1024);
        s0 = s1;
    }
    assert_int_equal(lle_text_check(t), LLE_SUCCESS);
    free(b);
    lle_text_destroy(t);

    /* a line of 100,000 CJK characters (2 columns each): after a keystroke
     * the fill goes through the few nodes the keystroke changed, reading
     * only the leaf it changed, the rest by their tables (a leaf's and a
     * node's are made at the second query that finds them unchanged) */
    t = new_text(m, NULL);
    enum { K = 100000 };
    b = malloc(3 * K);
    unsigned char *wd = malloc(K + 8); /* and the 6 x typed in */
    for (size_t i = 0; i < K; i++) memcpy(b + 3 * i, "\xe4\xb8\xad", 3), wd[i] = 2;
    assert_int_equal(lle_text_insert(t, 0, b, 3 * K), LLE_SUCCESS);
    assert_int_equal(lle_text_set_wrap_width(t, 79), LLE_SUCCESS);
    assert_int_equal(lle_text_wrap_rows(t, &rows), LLE_SUCCESS);
    assert_int_equal(lle_text_byte_to_row_col(t, 3 * (K - 1), &row, &col), LLE_SUCCESS);
    size_t nw = K;
    for (int k = 0; k < 6; k++) {
        /* an 'x' in the middle; the row of the last character, twice */
        size_t at = K / 2 + (size_t)k * 1001; /* clusters before it, k of them 'x' */
        assert_int_equal(lle_text_insert(t, 3 * (at - (size_t)k) + (size_t)k, "x", 1), LLE_SUCCESS);
        memmove(wd + at + 1, wd + at, nw - at);
        wd[at] = 1;
        nw++;
        assert_int_equal(lle_text_get_stats(t, &s0), LLE_SUCCESS);
        size_t want_row = 0, want_col = 0, want = fill_rows(wd, nw, 79, &want_row, &want_col);
        for (int q = 0; q < 2; q++) {
            assert_int_equal(lle_text_wrap_rows(t, &rows), LLE_SUCCESS);
            assert_int_equal(rows, want);
            assert_int_equal(lle_text_byte_to_row_col(t, 3 * (K - 1) + (size_t)k + 1, &row, &col),
                             LLE_SUCCESS);
            assert_int_equal(row, want_row);
            assert_int_equal(col, want_col);
        }
        assert_int_equal(lle_text_get_stats(t, &s1), LLE_SUCCESS);
        assert_true(s1.wrap_scanned_bytes - s0.wrap_scanned_bytes < 4 * 1024);
        /* and back from columns of the rows around the keystroke's and of
         * the last row: each reads at most about one leaf */
        size_t key_row, key_col;
        assert_int_equal(lle_text_byte_to_row_col(t, 3 * (at - (size_t)k) + (size_t)k, &key_row,
                                                  &key_col), LLE_SUCCESS);
        size_t rs4[] = {key_row - 1, key_row, key_row + 1, want_row};
        static const size_t cs[] = {0, 1, 40, 77, 78, 79, 80};
        for (size_t i = 0; i < 4; i++)
            for (size_t j = 0; j < sizeof cs / sizeof cs[0]; j++) {
                size_t f = fill_find(wd, nw, 79, rs4[i], cs[j]), at_byte = 0;
                for (size_t x = 0; x < f; x++) at_byte += wd[x] == 2 ? 3 : 1;
                assert_int_equal(lle_text_get_stats(t, &s0), LLE_SUCCESS);
                cell_is(t, rs4[i], cs[j], at_byte);
                assert_int_equal(lle_text_get_stats(t, &s1), LLE_SUCCESS);
                assert_true(s1.wrap_scanned_bytes - s0.wrap_scanned_bytes < 2 * 1024);
            }
    }
    assert_int_equal(lle_text_check(t), LLE_SUCCESS);
    free(wd);
    free(b);
    lle_text_destroy(t);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* No memory during an edit: LLE_ERROR_OUT_OF_MEMORY before anything
 * changed (README, "Bad input").  Every other edit is made while the host
 * refuses every allocation: insertions, deletions and replacements, small
 * and of several KB (the new text without newlines half of the time: one
 * long line), with the undo log on.  Each either succeeds from memory the pools already hold or
 * fails with the text and every index as the model says; row queries made
 * while the host refuses (their tables then cannot be made) still give the
 * model's rows.  Everything is given back at the end. */
static void out_of_memory_edits(void **state)
{
    (void)state;
    faulty_host_t fh;
    faulty_host_init(&fh);
    err_log_t log;
    lle_memory_config_t cfg;
    test_config(&cfg, &log);
    cfg.host = &fh.methods;
    cfg.emergency_reserve = 0; /* no reserve, no cache of large blocks: */
    cfg.large_cache = 0;       /* what the host refuses is not there */
    lle_memory_manager_t *m = NULL;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    lle_text_config_t tc;
    lle_text_config_default(&tc);
    tc.undo_limit = (size_t)1 << 20;
    lle_text_t *t = new_text(m, &tc);
    assert_int_equal(lle_text_set_wrap_width(t, 40), LLE_SUCCESS);
    model_t md = {0};
    uint64_t rs = 0xbad0;
    static char buf[32768];
    size_t refused = 0, made = 0;
    for (int i = 0; i < 240; i++) {
        bool refuse = i % 2 != 0;
        unsigned op = (unsigned)(model_rand(&rs) % 8);
        size_t a = model_cp_pos(&md, &rs), b = a, n = 0;
        if (op >= 5 || op == 0) {
            b = a + (size_t)(model_rand(&rs) % (op == 5 ? 8000 : op == 0 ? 3000 : 40));
            if (b > md.n) b = md.n;
            while (b < md.n && ((unsigned char)md.b[b] & 0xC0) == 0x80) b++;
        }
        if (op < 3 || op == 7) {
            size_t want = op == 0 ? 6000 : 1 + (size_t)(model_rand(&rs) % 30);
            n = model_rand(&rs) % 2 ? line_text(&rs, buf, want) : model_random_text(&rs, buf, want);
        }
        fh.fail_all = refuse;
        lle_result_t r = lle_text_replace(t, a, b - a, buf, n);
        fh.fail_all = 0;
        if (r == LLE_SUCCESS) {
            model_replace(&md, a, b - a, buf, n);
            made += refuse;
        } else {
            assert_int_equal(r, LLE_ERROR_OUT_OF_MEMORY);
            assert_true(refuse);
            refused++;
        }
        /* after each refusal; damage from an edit made would last to the
         * next look */
        if (r != LLE_SUCCESS || i % 6 == 0) text_verify(t, &md, &rs, 2);
        if (i % 40 == 0) {
            fh.fail_all = 1;
            check_rows(t, &md, 40);
            fh.fail_all = 0;
        }
    }
    assert_true(refused >= 10); /* the host's refusals reached edits */
    assert_true(made >= 10);    /* and edits went on from the pools' memory */
    lle_text_destroy(t);
    free(md.b);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
    assert_int_equal(atomic_load(&fh.outstanding_blocks), 0);
}

static void undo_and_regions(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_config_t cfg;
    lle_text_config_default(&cfg);
    cfg.min_region = 256;
    cfg.undo_limit = 48 * 1024;
    lle_text_t *t = new_text(m, &cfg);
    char buf[512];
    lle_text_stats_t st;
    /* 200 insertions then 200 deletions of 100 bytes each */
    for (int i = 0; i < 200; i++) {
        memset(buf, 'a' + i % 26, 100);
        assert_int_equal(lle_text_insert(t, 0, buf, 100), LLE_SUCCESS);
    }
    for (int i = 0; i < 200; i++) assert_int_equal(lle_text_delete(t, 0, 100), LLE_SUCCESS);
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    assert_int_equal(st.undo_steps, 400);
    assert_true(st.undo_used > 200 * 100);
    assert_true(st.undo_bytes >= st.undo_used);
    assert_true(st.region_grows >= 3);
    size_t grown = st.undo_bytes;
    /* undo the deletions: the text comes back byte for byte */
    for (int i = 0; i < 200; i++) assert_int_equal(lle_text_undo(t), LLE_SUCCESS);
    assert_int_equal(lle_text_length(t), 20000);
    assert_int_equal(lle_text_read(t, 0, 100, buf), LLE_SUCCESS);
    assert_int_equal(buf[0], 'a' + 199 % 26);
    for (int i = 0; i < 200; i++) assert_int_equal(lle_text_undo(t), LLE_SUCCESS);
    assert_int_equal(lle_text_length(t), 0);
    assert_int_equal(lle_text_undo(t), LLE_ERROR_INVALID_STATE);
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    assert_true(st.region_shrinks >= 1);
    assert_true(st.undo_bytes < grown);
    assert_int_equal(lle_text_check(t), LLE_SUCCESS);
    /* the log keeps at most undo_limit bytes: old steps go */
    char *large = malloc(40000);
    memset(large, 'q', 40000);
    assert_int_equal(lle_text_insert(t, 0, large, 40000), LLE_SUCCESS);
    assert_int_equal(lle_text_delete(t, 0, 30000), LLE_SUCCESS);
    assert_int_equal(lle_text_insert(t, 0, large, 30000), LLE_SUCCESS);
    assert_int_equal(lle_text_delete(t, 0, 35000), LLE_SUCCESS);
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    assert_true(st.undo_used <= cfg.undo_limit);
    assert_true(st.undo_steps < 4);
    assert_int_equal(lle_text_undo(t), LLE_SUCCESS);
    assert_int_equal(lle_text_length(t), 40000);
    /* a deletion larger than the limit empties the log */
    assert_int_equal(lle_text_insert(t, 0, large, 40000), LLE_SUCCESS);
    assert_int_equal(lle_text_insert(t, 0, large, 40000), LLE_SUCCESS);
    assert_int_equal(lle_text_delete(t, 0, 80000), LLE_SUCCESS);
    assert_int_equal(lle_text_undo(t), LLE_ERROR_INVALID_STATE);
    free(large);
    lle_text_destroy(t);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- compression -------------------------------------------------------------------------- */

/* Compress t (kept), as every call below needs. */
static void squeeze(lle_text_t *t)
{
    bool kept = false;
    assert_int_equal(lle_text_compress(t, &kept), LLE_SUCCESS);
    assert_true(kept);
    assert_true(lle_text_is_compressed(t));
}

/* Every call that reads or edits a compressed text gives what it gives on
 * the text itself (it decompresses first); the length and the line count
 * answer without decompressing; a second compression keeps the copy; the
 * scratch region is trimmed to min_region; a text destroyed while
 * compressed gives everything back (the manager's destroy checks). */
static void compressed_calls(lle_memory_manager_t *m, const lle_text_config_t *cfg, const char *buf,
                             size_t n)
{
    lle_text_t *t = new_text(m, cfg);
    assert_int_equal(lle_text_insert(t, 0, buf, n), LLE_SUCCESS);
    assert_int_equal(lle_text_set_wrap_width(t, 16), LLE_SUCCESS);
    lle_text_counts_t c0;
    assert_int_equal(lle_text_counts(t, &c0), LLE_SUCCESS);
    size_t at = n / 2, line, col, x, y, cp, g, rows, row, in, start, len;
    while (buf[at - 1] != '\n') at--; /* a line start: a cluster boundary */
    assert_int_equal(lle_text_byte_to_codepoint(t, at, &cp), LLE_SUCCESS);
    assert_int_equal(lle_text_byte_to_grapheme(t, at, &g), LLE_SUCCESS);
    assert_int_equal(lle_text_byte_to_line_col(t, at, &line, &col), LLE_SUCCESS);
    assert_int_equal(lle_text_line_span(t, line, &start, &len), LLE_SUCCESS);
    assert_int_equal(lle_text_line_rows(t, line, &rows), LLE_SUCCESS);
    assert_int_equal(lle_text_line_to_row(t, line, &row), LLE_SUCCESS);
    size_t all;
    assert_int_equal(lle_text_wrap_rows(t, &all), LLE_SUCCESS);

    squeeze(t);
    assert_int_equal(lle_text_length(t), n);
    assert_int_equal(lle_text_line_count(t), c0.lines);
    assert_true(lle_text_is_compressed(t)); /* neither decompressed it */
    bool kept = false;
    lle_text_stats_t st;
    assert_int_equal(lle_text_compress(t, &kept), LLE_SUCCESS);
    assert_true(kept);
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    assert_int_equal(st.compressions, 1); /* already compressed: not again */
    assert_true(st.scratch_bytes > 0 && st.scratch_bytes <= cfg->min_region);

    assert_int_equal(lle_text_byte_to_codepoint(t, at, &x), LLE_SUCCESS);
    assert_int_equal(x, cp);
    squeeze(t);
    assert_int_equal(lle_text_codepoint_to_byte(t, cp, &x), LLE_SUCCESS);
    assert_int_equal(x, at);
    squeeze(t);
    assert_int_equal(lle_text_byte_to_grapheme(t, at, &x), LLE_SUCCESS);
    assert_int_equal(x, g);
    squeeze(t);
    assert_int_equal(lle_text_grapheme_to_byte(t, g, &x), LLE_SUCCESS);
    assert_int_equal(x, at);
    squeeze(t);
    assert_int_equal(lle_text_next_grapheme(t, at - 1, &x), LLE_SUCCESS);
    assert_int_equal(x, at);
    squeeze(t);
    assert_int_equal(lle_text_prev_grapheme(t, at + 1, &x), LLE_SUCCESS);
    assert_int_equal(x, at);
    squeeze(t);
    assert_int_equal(lle_text_byte_to_line_col(t, at, &x, &y), LLE_SUCCESS);
    assert_int_equal(x, line);
    assert_int_equal(y, col);
    squeeze(t);
    assert_int_equal(lle_text_line_col_to_byte(t, line, col, &x), LLE_SUCCESS);
    assert_int_equal(x, at);
    squeeze(t);
    assert_int_equal(lle_text_line_span(t, line, &x, &y), LLE_SUCCESS);
    assert_int_equal(x, start);
    assert_int_equal(y, len);
    squeeze(t);
    assert_int_equal(lle_text_wrap_rows(t, &x), LLE_SUCCESS);
    assert_int_equal(x, all);
    squeeze(t);
    assert_int_equal(lle_text_line_rows(t, line, &x), LLE_SUCCESS);
    assert_int_equal(x, rows);
    squeeze(t);
    assert_int_equal(lle_text_line_to_row(t, line, &x), LLE_SUCCESS);
    assert_int_equal(x, row);
    squeeze(t);
    assert_int_equal(lle_text_row_to_line(t, row, &x, &in), LLE_SUCCESS);
    assert_int_equal(x, line);
    assert_int_equal(in, 0);
    squeeze(t);
    assert_int_equal(lle_text_byte_to_row_col(t, at, &x, &y), LLE_SUCCESS);
    assert_int_equal(x, row);
    assert_int_equal(y, 0);
    squeeze(t);
    assert_int_equal(lle_text_row_col_to_byte(t, row, 0, &x), LLE_SUCCESS);
    assert_int_equal(x, at);
    /* edits: the line calls, then undo */
    squeeze(t);
    assert_int_equal(lle_insert_line(t, line, "new", 3), LLE_SUCCESS);
    assert_int_equal(lle_text_length(t), n + 4);
    squeeze(t);
    assert_int_equal(lle_text_replace_line(t, line, "NEW", 3), LLE_SUCCESS);
    char got[4] = {0};
    assert_int_equal(lle_text_read(t, at, 3, got), LLE_SUCCESS);
    assert_string_equal(got, "NEW");
    squeeze(t);
    assert_int_equal(lle_text_delete_line(t, line), LLE_SUCCESS);
    assert_int_equal(lle_text_length(t), n);
    squeeze(t);
    assert_int_equal(lle_text_undo(t), LLE_SUCCESS); /* the line is back */
    assert_int_equal(lle_text_length(t), n + 4);
    assert_int_equal(lle_text_check(t), LLE_SUCCESS);
    squeeze(t);
    lle_text_destroy(t); /* compressed */
}

static void compression(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_config_t cfg;
    lle_text_config_default(&cfg);
    cfg.compress_threshold = 10000;
    lle_text_t *t = new_text(m, &cfg);
    model_t md = {0};
    uint64_t rs = 3;
    bool kept = true;
    put(t, &md, 0, "short text");
    assert_int_equal(lle_text_compress(t, &kept), LLE_SUCCESS);
    assert_false(kept); /* under the threshold */
    static char buf[130000];
    size_t n = 0;
    while (n < 120000) n += (size_t)sprintf(buf + n, "line %zu of a log \xe4\xb8\xad\n", n % 977);
    put(t, &md, md.n, buf);
    lle_text_counts_t c0, c1;
    assert_int_equal(lle_text_counts(t, &c0), LLE_SUCCESS);
    assert_int_equal(lle_text_compress(t, &kept), LLE_SUCCESS);
    assert_true(kept);
    assert_true(lle_text_is_compressed(t));
    lle_text_stats_t st;
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    assert_true(st.compressed_bytes > 0 && st.compressed_bytes * 5 <= md.n * 4);
    assert_true(st.compression_ratio <= 0.8 && st.compression_ratio > 0.0);
    assert_int_equal(st.compression_saved, md.n - st.compressed_bytes);
    assert_int_equal(st.leaves, 0);
    assert_int_equal(lle_text_counts(t, &c1), LLE_SUCCESS);
    assert_memory_equal(&c0, &c1, sizeof c0);
    /* the next access decompresses */
    text_verify(t, &md, &rs, 8);
    assert_false(lle_text_is_compressed(t));
    put(t, &md, 5, "x");
    assert_int_equal(lle_text_compress(t, &kept), LLE_SUCCESS);
    assert_true(kept);
    assert_int_equal(lle_text_delete(t, 0, 1), LLE_SUCCESS); /* decompresses, then edits */
    model_replace(&md, 0, 1, "", 0);
    text_verify(t, &md, &rs, 8);
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    assert_int_equal(st.compressions, 2);
    assert_int_equal(st.decompressions, 2);
    lle_text_destroy(t);
    compressed_calls(m, &cfg, buf, n);
    /* random printable ASCII saves less than 20%: not kept */
    t = new_text(m, &cfg);
    for (size_t i = 0; i < 60000; i++) buf[i] = (char)(0x20 + model_rand(&rs) % 95);
    assert_int_equal(lle_text_insert(t, 0, buf, 60000), LLE_SUCCESS);
    assert_int_equal(lle_text_compress(t, &kept), LLE_SUCCESS);
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    assert_false(kept);
    assert_true(st.compression_ratio > 0.8);
    assert_int_equal(st.compressions, 1);
    assert_int_equal(st.compressions_kept, 0);
    assert_int_equal(st.compressed_bytes, 0);
    assert_int_equal(lle_text_check(t), LLE_SUCCESS);
    lle_text_destroy(t);
    free(md.b);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- secure texts and statistics ------------------------------------------------------------ */

static void secure_wipes(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_config_t cfg;
    lle_text_config_default(&cfg);
    lle_text_stats_t st;
    for (int secure = 0; secure <= 1; secure++) {
        cfg.secure = secure;
        lle_text_t *t = new_text(m, &cfg);
        assert_int_equal(lle_text_insert(t, 0, "user password: hunter2", 22), LLE_SUCCESS);
        assert_int_equal(lle_text_delete(t, 15, 7), LLE_SUCCESS);
        assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
        if (secure) {
            /* the deleted bytes, and their copy in the undo log when it moved */
            assert_true(st.wiped_bytes >= 7);
        } else {
            assert_int_equal(st.wiped_bytes, 0);
        }
        size_t w = st.wiped_bytes;
        assert_int_equal(lle_text_undo(t), LLE_SUCCESS); /* the log record is wiped when popped */
        assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
        if (secure) assert_true(st.wiped_bytes > w);
        lle_text_destroy(t);
    }
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* A text takes its memory from the pools the README names: leaves, row
 * caches, tables from BUFFER, the undo log from HISTORY, temporaries and
 * the scratch region from TEMP; nothing from CUSTOM.  A leaf that had no
 * newline and gets one grows its row cache from nothing (this took it
 * from CUSTOM, where lle_pool_realloc of NULL allocates). */
static void memory_from_its_pools(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_t *t = new_text(m, NULL);
    assert_int_equal(lle_text_insert(t, 0, "abc", 3), LLE_SUCCESS);
    assert_int_equal(lle_text_insert(t, 1, "\n", 1), LLE_SUCCESS);
    static char buf[20000];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (char)('a' + i % 26);
    assert_int_equal(lle_text_insert(t, 4, buf, sizeof buf), LLE_SUCCESS);
    for (size_t p = 5000; p < 20000; p += 3000) assert_int_equal(lle_text_insert(t, p, "\n", 1), LLE_SUCCESS);
    assert_int_equal(lle_text_set_wrap_width(t, 7), LLE_SUCCESS);
    size_t rows;
    assert_int_equal(lle_text_wrap_rows(t, &rows), LLE_SUCCESS);
    assert_int_equal(lle_text_undo(t), LLE_SUCCESS);
    lle_memory_stats_t ms;
    assert_int_equal(lle_memory_get_stats(m, &ms), LLE_SUCCESS);
    assert_int_equal(ms.pools[LLE_POOL_CUSTOM].alloc_count, 0);
    assert_true(ms.pools[LLE_POOL_BUFFER].alloc_count > 0);
    assert_true(ms.pools[LLE_POOL_HISTORY].alloc_count > 0);
    lle_text_destroy(t);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void stats_counted(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_t *t = new_text(m, NULL);
    lle_text_stats_t st;
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    assert_int_equal(st.bytes, 0);
    assert_int_equal(st.leaves, 1);
    assert_int_equal(st.gap_bytes, st.primary_bytes);
    static char buf[100000];
    memset(buf, 'x', sizeof buf);
    for (size_t i = 99; i < sizeof buf; i += 100) buf[i] = '\n';
    assert_int_equal(lle_text_insert(t, 0, buf, sizeof buf), LLE_SUCCESS);
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    assert_int_equal(st.bytes, sizeof buf);
    assert_int_equal(st.lines, 1001);
    assert_int_equal(st.primary_bytes - st.gap_bytes, sizeof buf);
    size_t cap = st.primary_bytes / st.leaves;         /* a leaf's capacity */
    assert_true(st.leaves * cap / 2 <= sizeof buf && st.leaves * cap >= sizeof buf);
    assert_true(st.index_bytes < st.bytes);            /* under 1x */
    assert_true(st.index_bytes > st.leaves * cap / 8); /* a bit per byte of leaf at least */
    assert_int_equal(st.stale_rows, 1001);             /* no row computed yet */
    size_t rows;
    /* inner nodes of up to 16 children over the leaves */
    assert_true(st.nodes >= (st.leaves + 15) / 16 && st.nodes < st.leaves);
    assert_int_equal(lle_text_wrap_rows(t, &rows), LLE_SUCCESS);
    assert_int_equal(rows, 1000 * 2 + 1);              /* 99 columns at width 80; the last line empty */
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    assert_int_equal(st.stale_rows, 0);
    assert_true(st.wrap_scanned_bytes >= sizeof buf - 1000); /* every line read once */
    assert_int_equal(lle_text_insert(t, 50, "y", 1), LLE_SUCCESS);
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    assert_int_equal(st.stale_rows, 1);
    /* the modified-line ranges count in the index */
    lle_text_clear_modified(t);
    for (size_t l = 0; l < 1000; l += 10) assert_int_equal(lle_text_replace_line(t, l, "y", 1), LLE_SUCCESS);
    size_t marks;
    lle_text_stats_t clear;
    assert_int_equal(lle_text_modified_lines(t, NULL, 0, &marks), LLE_ERROR_BUFFER_TOO_SMALL);
    assert_int_equal(marks, 100);
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    lle_text_clear_modified(t);
    assert_int_equal(lle_text_get_stats(t, &clear), LLE_SUCCESS);
    assert_int_equal(st.index_bytes - clear.index_bytes, marks * sizeof(lle_text_line_range_t));
    lle_text_destroy(t);
    /* codepoints and clusters counted as such: e + U+0301, 中 */
    t = new_text(m, NULL);
    assert_int_equal(lle_text_insert(t, 0, "e\xcc\x81\xe4\xb8\xad", 6), LLE_SUCCESS);
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    assert_int_equal(st.bytes, 6);
    assert_int_equal(st.codepoints, 3);
    assert_int_equal(st.graphemes, 2);
    lle_text_destroy(t);
    /* the undo region: min_region, then grown by the growth factor */
    lle_text_config_t cfg;
    lle_text_config_default(&cfg);
    cfg.min_region = 256;
    cfg.growth_factor = 4.0;
    t = new_text(m, &cfg);
    assert_int_equal(lle_text_insert(t, 0, "a", 1), LLE_SUCCESS);
    assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    assert_int_equal(st.undo_bytes, 256);
    while (st.undo_used <= 256) {
        assert_int_equal(lle_text_insert(t, 0, "a", 1), LLE_SUCCESS);
        assert_int_equal(lle_text_get_stats(t, &st), LLE_SUCCESS);
    }
    assert_int_equal(st.undo_bytes, 1024);
    lle_text_destroy(t);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(basic_edits),
        cmocka_unit_test(random_edits_match_model),
        cmocka_unit_test(deep_tree),
        cmocka_unit_test(grapheme_break_conformance),
        cmocka_unit_test(ascii_runs),
        cmocka_unit_test(every_byte_value_counted),
        cmocka_unit_test(positions_across_leaves),
        cmocka_unit_test(bad_input),
        cmocka_unit_test(utf8_every_sequence),
        cmocka_unit_test(lines_and_marks),
        cmocka_unit_test(wrapped_rows),
        cmocka_unit_test(row_col_to_byte),
        cmocka_unit_test(resize_from_columns),
        cmocka_unit_test(printable_runs_in_rows),
        cmocka_unit_test(long_line_rows),
        cmocka_unit_test(long_line_reads_a_leaf),
        cmocka_unit_test(wide_extend_across_leaves),
        cmocka_unit_test(out_of_memory_edits),
        cmocka_unit_test(undo_and_regions),
        cmocka_unit_test(compression),
        cmocka_unit_test(secure_wipes),
        cmocka_unit_test(stats_counted),
        cmocka_unit_test(memory_from_its_pools),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
