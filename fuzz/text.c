/*
 * fuzz/text.c - libFuzzer driver for the text buffer (lle/text.h): random
 * sequences of edits with arbitrary bytes at arbitrary positions, undo,
 * line calls, wrap widths and row queries, cursor moves and conversions,
 * compression, each checked against a model (the bytes, segmented and
 * wrapped from scratch with utf8proc: tests/support/text_model.h) and
 * followed by lle_text_check, which compares every index of the tree with
 * a recomputation (every fourth operation while the text is above 8 KB,
 * and at the end).
 *
 * The input is read as a stream of bytes; running out reads zeros and ends
 * the sequence.  Byte 0 configures the text: bit 0 the undo log on, bit 1
 * secure, bit 2 max_size 4 KiB, bit 3 compress_threshold 64 bytes.  Then
 * one operation per opcode byte, each reading its arguments:
 *
 *   insert, delete, replace   a position (2 bytes, sometimes past the end
 *                 or inside a codepoint), a length, and the new bytes: raw
 *                 input bytes (any byte, so invalid UTF-8 too) or pieces
 *                 of text rich in clusters (emoji, flags, marks, Hangul,
 *                 CJK, CR LF), sometimes up to 32 KiB of them while the
 *                 text is under 32 KiB (lines longer than a leaf,
 *                 measured through the tree's summaries and tables),
 *                 sometimes with their newlines made spaces; the
 *                 expected result is worked out from the
 *                 model: LLE_ERROR_INVALID_POSITION, then
 *                 LLE_ERROR_INVALID_ENCODING, then LLE_ERROR_SIZE_LIMIT,
 *                 else success (on any error the text must be unchanged)
 *   line calls    lle_insert_line, lle_text_delete_line,
 *                 lle_text_replace_line at a line that may be past the last
 *   undo          with the log on, the model's state before the last edit
 *                 the text still keeps (lle_text_stats_t.undo_steps)
 *   width, rows   a wrap width (0 and 70000 refused), then every line's
 *                 rows and first row, the row/column of a random position
 *                 and the byte of a random row/column of one line, against
 *                 the model's greedy fill
 *   positions     byte <-> codepoint, cluster and line/column, next and
 *                 previous cluster, at a random offset, against the model
 *   compress      lle_text_compress; the next call decompresses
 *
 * A failed check prints what differed and aborts: libFuzzer keeps the
 * input as a crash artifact.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lle/memory.h>
#include <lle/text.h>

#include "text_model.h"

typedef struct in {
    const uint8_t *p;
    size_t         n;
} in_t;

static unsigned byte(in_t *in)
{
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}

static unsigned two(in_t *in)
{
    unsigned a = byte(in);
    return a | byte(in) << 8;
}

__attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt, ...);
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "text fuzz: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

#define EXPECT(got, want)                                                                  \
    do {                                                                                   \
        long long g_ = (long long)(got), w_ = (long long)(want);                           \
        if (g_ != w_) fail("%s:%d: %s is %lld, expected %lld", __FILE__, __LINE__, #got, g_, w_); \
    } while (0)

/* ---- the model's answers ------------------------------------------------------ */

/* Strict UTF-8 (Unicode table 3-7): no overlongs, surrogates or values
 * above U+10FFFF. */
static bool utf8_ok(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i], k, lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) k = 1;
        else if (c >= 0xE0 && c <= 0xEF) k = 2, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        else if (c >= 0xF0 && c <= 0xF4) k = 3, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        else return false;
        if (n - i <= k) return false;
        if (s[i + 1] < lo || s[i + 1] > hi) return false;
        for (unsigned j = 2; j <= k; j++)
            if ((s[i + j] & 0xC0) != 0x80) return false;
        i += k + 1;
    }
    return true;
}

static bool cp_start(const model_t *md, size_t pos)
{
    return pos >= md->n || ((unsigned char)md->b[pos] & 0xC0) != 0x80;
}

static size_t lines(const model_t *md)
{
    size_t k = 1;
    for (size_t i = 0; i < md->n; i++) k += md->b[i] == '\n';
    return k;
}

/* Start of line `line` (< lines) and its end (its '\n' or the text's end). */
static size_t line_start(const model_t *md, size_t line, size_t *end)
{
    size_t s = 0;
    for (size_t l = 0; l < line; l++) s = (size_t)((const char *)memchr(md->b + s, '\n', md->n - s) - md->b) + 1;
    const char *nl = memchr(md->b + s, '\n', md->n - s);
    *end = nl ? (size_t)(nl - md->b) : md->n;
    return s;
}

/* ---- the driver ------------------------------------------------------------------ */

typedef struct fz {
    lle_text_t *t;
    model_t     md;
    bool        undo;
    size_t      max;
    model_t    *past; /* the model before each edit the text may still undo */
    size_t      npast;
} fz_t;

/* New text for an edit: up to 63 raw input bytes, or pieces of text (a
 * sequence of up to 16 read from the input, repeated) up to 63 bytes or,
 * with `big`, up to 32 KiB (lines longer than a leaf, leaves split and
 * merged, from a few input bytes). */
static size_t new_text(in_t *in, char *buf, size_t cap, bool big)
{
    unsigned how = byte(in), n = byte(in) % 64;
    size_t want = big && (how & 4) ? (size_t)(n + 1) * 512 : n, k = 0;
    if (how & 1) {
        for (; k < n && k < cap; k++) buf[k] = (char)byte(in);
        return k;
    }
    unsigned seq[16], np = 1 + byte(in) % 16;
    for (unsigned i = 0; i < np; i++) seq[i] = byte(in) % MODEL_NPIECES;
    for (unsigned i = 0; k < want && k + 32 < cap; i++) {
        const char *p = model_pieces[seq[i % np]];
        size_t l = strlen(p);
        memcpy(buf + k, p, l);
        k += l;
    }
    if (how & 2) /* the same pieces, in a line of their own */
        for (size_t i = 0; i < k; i++)
            if (buf[i] == '\n') buf[i] = ' ';
    return k;
}

/* The text against the model after every operation; lle_text_check
 * (O(n), utf8proc on every codepoint) after every one while the text is
 * small, every fourth above 8 KB (damage stays until it is seen). */
static void read_back(fz_t *z, unsigned k)
{
    EXPECT(lle_text_length(z->t), z->md.n);
    char *b = malloc(z->md.n + 1);
    EXPECT(lle_text_read(z->t, 0, z->md.n, b), LLE_SUCCESS);
    if (z->md.n && memcmp(b, z->md.b, z->md.n)) fail("the text differs from the model");
    free(b);
    if (z->md.n < 8192 || k % 4 == 0) EXPECT(lle_text_check(z->t), LLE_SUCCESS);
}

/* An edit made through the library returned r; the model's answer is
 * worked out here and applied on success. */
static void edit(fz_t *z, size_t pos, size_t del, const char *s, size_t n, lle_result_t r,
                 lle_result_t want)
{
    EXPECT(r, want);
    if (r != LLE_SUCCESS || (!del && !n)) return;
    if (z->undo) {
        z->past = realloc(z->past, (z->npast + 1) * sizeof *z->past);
        model_t *c = &z->past[z->npast++];
        c->n = c->cap = z->md.n;
        c->b = malloc(c->n + 1);
        if (c->n) memcpy(c->b, z->md.b, c->n);
    }
    model_replace(&z->md, pos, del, s, n);
    if (z->undo) {
        /* the log keeps the newest steps that fit undo_limit */
        lle_text_stats_t st;
        EXPECT(lle_text_get_stats(z->t, &st), LLE_SUCCESS);
        if (st.undo_steps > z->npast) fail("%zu undo steps, %zu edits", st.undo_steps, z->npast);
        size_t drop = z->npast - st.undo_steps;
        for (size_t i = 0; i < drop; i++) free(z->past[i].b);
        memmove(z->past, z->past + drop, st.undo_steps * sizeof *z->past);
        z->npast = st.undo_steps;
    }
}

static lle_result_t expect_edit(const fz_t *z, size_t pos, size_t del, const char *s, size_t n)
{
    if (pos > z->md.n || del > z->md.n - pos || !cp_start(&z->md, pos) || !cp_start(&z->md, pos + del))
        return LLE_ERROR_INVALID_POSITION;
    if (!utf8_ok((const uint8_t *)s, n)) return LLE_ERROR_INVALID_ENCODING;
    if (n > z->max || z->md.n - del > z->max - n) return LLE_ERROR_SIZE_LIMIT;
    return LLE_SUCCESS;
}

static void op_edit(fz_t *z, in_t *in, unsigned kind)
{
    static char buf[1 << 16];
    size_t pos = (size_t)two(in) * (z->md.n / 65536 + 1) % (z->md.n + 3), del = 0, n = 0;
    if (kind != 0) del = (size_t)(byte(in) % 4 == 0 ? two(in) : byte(in) % 16);
    if (kind != 1) n = new_text(in, buf, sizeof buf, z->md.n < 32768);
    lle_result_t want = expect_edit(z, pos, del, buf, n), r;
    if (kind == 0) r = lle_text_insert(z->t, pos, buf, n);
    else if (kind == 1) r = lle_text_delete(z->t, pos, del);
    else r = lle_text_replace(z->t, pos, del, buf, n);
    edit(z, pos, del, buf, n, r, want);
}

static void op_line(fz_t *z, in_t *in)
{
    static char buf[4096];
    unsigned kind = byte(in) % 3;
    size_t nl = lines(&z->md), line = byte(in) % (nl + 2), n = new_text(in, buf, sizeof buf, false);
    for (size_t i = 0; i < n; i++)
        if (buf[i] == '\n') buf[i] = ' ';
    if (!utf8_ok((const uint8_t *)buf, n)) n = 0; /* the edits above try bad bytes */
    size_t end, start = line < nl ? line_start(&z->md, line, &end) : 0;
    size_t pos = 0, del = 0, k = 0;
    char *s = buf;
    static char ins[4100];
    lle_result_t r, want;
    if (kind == 0) {
        if (line > nl) {
            EXPECT(lle_insert_line(z->t, line, buf, n), LLE_ERROR_INVALID_LINE_INDEX);
            return;
        }
        if (line < nl) { /* "s\n" at the line's start */
            pos = start;
            memcpy(ins, buf, n);
            ins[n] = '\n';
        } else { /* "\ns" after the last line */
            pos = z->md.n;
            ins[0] = '\n';
            memcpy(ins + 1, buf, n);
        }
        s = ins;
        k = n + 1;
        want = expect_edit(z, pos, 0, s, k);
        r = lle_insert_line(z->t, line, buf, n);
    } else if (kind == 1) {
        if (line >= nl) {
            EXPECT(lle_text_delete_line(z->t, line), LLE_ERROR_INVALID_LINE_INDEX);
            return;
        }
        if (line + 1 < nl) pos = start, del = end + 1 - start;
        else if (line > 0) pos = start - 1, del = end - start + 1;
        else pos = start, del = end - start;
        want = expect_edit(z, pos, del, NULL, 0);
        r = lle_text_delete_line(z->t, line);
    } else {
        if (line >= nl) {
            EXPECT(lle_text_replace_line(z->t, line, buf, n), LLE_ERROR_INVALID_LINE_INDEX);
            return;
        }
        pos = start;
        del = end - start;
        k = n;
        want = expect_edit(z, pos, del, s, k);
        r = lle_text_replace_line(z->t, line, buf, n);
    }
    edit(z, pos, del, s, k, r, want);
}

static void op_undo(fz_t *z)
{
    lle_result_t r = lle_text_undo(z->t);
    if (!z->npast) {
        EXPECT(r, LLE_ERROR_INVALID_STATE);
        return;
    }
    EXPECT(r, LLE_SUCCESS);
    free(z->md.b);
    z->md = z->past[--z->npast];
}

/* Every line's rows and first row, the total, and the row and column of a
 * random cluster boundary, at width w, against the model's greedy fill. */
static void op_rows(fz_t *z, in_t *in)
{
    unsigned w = byte(in);
    if (w == 0 || w == 255) {
        EXPECT(lle_text_set_wrap_width(z->t, w ? 70000 : 0), LLE_ERROR_INVALID_ARGUMENT);
        return;
    }
    if (w > 120) w = 1 + w % 3; /* widths of 1 to 3 often: wide clusters overflow or waste */
    EXPECT(lle_text_set_wrap_width(z->t, w), LLE_SUCCESS);
    unsigned char *bnd = malloc(z->md.n + 1);
    model_boundaries(&z->md, bnd);
    size_t nl = lines(&z->md), total = 0, pick = two(in) % (z->md.n + 1);
    for (size_t line = 0, s = 0; line < nl; line++) {
        size_t got, first;
        const char *eol = memchr(z->md.b + s, '\n', z->md.n - s);
        size_t end = eol ? (size_t)(eol - z->md.b) : z->md.n;
        size_t want = model_line_rows(&z->md, bnd, s, w);
        EXPECT(lle_text_line_rows(z->t, line, &got), LLE_SUCCESS);
        EXPECT(got, want);
        EXPECT(lle_text_line_to_row(z->t, line, &first), LLE_SUCCESS);
        EXPECT(first, total);
        /* a cell of a row of the line, from the input */
        if (line == nl - 1 - (size_t)(pick % nl)) {
            size_t r = (size_t)(pick / 7) % want, c = (size_t)(pick / 3) % (w + 3), at;
            EXPECT(lle_text_row_col_to_byte(z->t, total + r, c, &at), LLE_SUCCESS);
            EXPECT(at, model_row_col_to_byte(&z->md, bnd, s, w, r, c));
        }
        if (pick >= s && pick <= end) {
            size_t row, col, want_col;
            lle_result_t r = lle_text_byte_to_row_col(z->t, pick, &row, &col);
            if (!bnd[pick]) {
                EXPECT(r, LLE_ERROR_INVALID_POSITION);
            } else {
                size_t rr = model_line_scan(&z->md, bnd, s, pick, w, &want_col);
                EXPECT(r, LLE_SUCCESS);
                EXPECT(row, total + rr - 1);
                EXPECT(col, want_col);
            }
        }
        total += want;
        s = end + 1;
    }
    size_t all, at;
    EXPECT(lle_text_wrap_rows(z->t, &all), LLE_SUCCESS);
    EXPECT(all, total);
    EXPECT(lle_text_row_col_to_byte(z->t, total, 0, &at), LLE_ERROR_INVALID_POSITION);
    free(bnd);
}

/* Conversions and cursor moves at a random offset. */
static void op_positions(fz_t *z, in_t *in)
{
    size_t pos = two(in) % (z->md.n + 2), cps = 0, gs = 0, line = 0, col = 0, all = 0, x, y;
    unsigned char *bnd = malloc(z->md.n + 1);
    model_boundaries(&z->md, bnd);
    for (size_t i = 0; i < pos && i < z->md.n; i++) {
        cps += ((unsigned char)z->md.b[i] & 0xC0) != 0x80;
        gs += bnd[i];
        if (z->md.b[i] == '\n') line++, col = 0;
        else col += bnd[i];
    }
    for (size_t i = 0; i < z->md.n; i++) all += ((unsigned char)z->md.b[i] & 0xC0) != 0x80;
    bool past = pos > z->md.n, cp = !past && cp_start(&z->md, pos), g = !past && bnd[pos];
    lle_result_t r = lle_text_byte_to_codepoint(z->t, pos, &x);
    EXPECT(r, cp ? LLE_SUCCESS : LLE_ERROR_INVALID_POSITION);
    if (cp) {
        EXPECT(x, cps);
        EXPECT(lle_text_codepoint_to_byte(z->t, cps, &y), LLE_SUCCESS);
        EXPECT(y, pos);
    }
    r = lle_text_byte_to_grapheme(z->t, pos, &x);
    EXPECT(r, g ? LLE_SUCCESS : LLE_ERROR_INVALID_POSITION);
    if (g) {
        EXPECT(x, gs);
        EXPECT(lle_text_grapheme_to_byte(z->t, gs, &y), LLE_SUCCESS);
        EXPECT(y, pos);
        size_t l, c;
        EXPECT(lle_text_byte_to_line_col(z->t, pos, &l, &c), LLE_SUCCESS);
        EXPECT(l, line);
        EXPECT(c, col);
        EXPECT(lle_text_line_col_to_byte(z->t, l, c, &y), LLE_SUCCESS);
        EXPECT(y, pos);
        size_t next = pos + 1;
        while (next < z->md.n && !bnd[next]) next++;
        r = lle_text_next_grapheme(z->t, pos, &x);
        EXPECT(r, pos < z->md.n ? LLE_SUCCESS : LLE_ERROR_INVALID_POSITION);
        if (pos < z->md.n) EXPECT(x, next);
        size_t prev = pos;
        while (prev > 0 && !bnd[--prev]) {}
        r = lle_text_prev_grapheme(z->t, pos, &x);
        EXPECT(r, pos > 0 ? LLE_SUCCESS : LLE_ERROR_INVALID_POSITION);
        if (pos > 0) EXPECT(x, prev);
    }
    EXPECT(lle_text_codepoint_to_byte(z->t, all, &y), LLE_SUCCESS); /* the end */
    EXPECT(y, z->md.n);
    EXPECT(lle_text_codepoint_to_byte(z->t, all + 1, &y), LLE_ERROR_INVALID_POSITION);
    free(bnd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    in_t in = {data, size};
    unsigned cfgb = byte(&in);
    lle_memory_config_t mc;
    lle_memory_config_default(&mc);
    mc.read_environment = false;
    lle_memory_manager_t *m = NULL;
    if (lle_memory_manager_create(&mc, &m) != LLE_SUCCESS) fail("no manager");
    lle_text_config_t tc;
    lle_text_config_default(&tc);
    /* a small log: the model keeps a copy of the text per step it holds */
    tc.undo_limit = cfgb & 1 ? 4096 : 0;
    tc.secure = (cfgb & 2) != 0;
    if (cfgb & 4) tc.max_size = 4096;
    if (cfgb & 8) tc.compress_threshold = 64;
    fz_t z = {0};
    z.md.b = malloc(1); /* never NULL: the model's byte functions take it as an array */
    z.md.cap = 1;
    z.undo = tc.undo_limit != 0;
    z.max = tc.max_size;
    if (lle_text_create(m, &tc, &z.t) != LLE_SUCCESS) fail("no text");
    for (unsigned k = 0; in.n; k++) {
        unsigned op = byte(&in) % 10;
        switch (op) {
        case 0: case 1: op_edit(&z, &in, 0); break;
        case 2: op_edit(&z, &in, 1); break;
        case 3: op_edit(&z, &in, 2); break;
        case 4: op_line(&z, &in); break;
        case 5: if (z.undo) op_undo(&z); break;
        case 6: op_rows(&z, &in); break;
        case 7: op_positions(&z, &in); break;
        case 8: {
            bool kept = false;
            EXPECT(lle_text_compress(z.t, &kept), LLE_SUCCESS);
            EXPECT(lle_text_is_compressed(z.t), kept);
            if (kept && z.md.n < tc.compress_threshold) fail("compressed below the threshold");
            break;
        }
        default: lle_text_clear_modified(z.t); break;
        }
        read_back(&z, k);
    }
    EXPECT(lle_text_check(z.t), LLE_SUCCESS);
    EXPECT(lle_text_destroy(z.t), LLE_SUCCESS);
    for (size_t i = 0; i < z.npast; i++) free(z.past[i].b);
    free(z.past);
    free(z.md.b);
    EXPECT(lle_memory_manager_destroy(m), LLE_SUCCESS);
    return 0;
}
