/*
 * text_model.h - a flat model of a text for the text buffer's tests: the
 * bytes in one array, grapheme boundaries and wrapped rows recomputed from
 * scratch with utf8proc, random UTF-8 pieces that exercise clusters
 * (combining marks, ZWJ emoji, flags, Hangul, CR LF, wide characters).
 */
#ifndef LLE_TEXT_MODEL_H
#define LLE_TEXT_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include <lle/memory.h>

typedef struct model {
    char  *b;
    size_t n, cap;
} model_t;

static inline void model_replace(model_t *m, size_t pos, size_t del, const char *s, size_t n)
{
    if (m->n - del + n + 1 > m->cap) {
        m->cap = (m->n - del + n + 1) * 2;
        m->b = realloc(m->b, m->cap);
    }
    memmove(m->b + pos + n, m->b + pos + del, m->n - pos - del);
    memcpy(m->b + pos, s, n);
    m->n = m->n - del + n;
}

/* The longest valid UTF-8 prefix of s[0, n), the slow way: each sequence
 * decoded to its codepoint, which must need that many bytes and be a
 * scalar value; the answer is where the first sequence that is not
 * starts (n when all are). */
static inline size_t model_utf8_prefix(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k = c < 0x80 ? 0 : c >= 0xC0 && c < 0xE0 ? 1 : c >= 0xE0 && c < 0xF0 ? 2
                 : c >= 0xF0 && c < 0xF8 ? 3 : 9;
        if (k == 9 || n - i < k + 1) return i;
        uint32_t cp = k ? c & (0x7Fu >> (k + 1)) : c;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        static const uint32_t least[] = {0, 0x80, 0x800, 0x10000};
        if (cp < least[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) return i;
        i += k + 1;
    }
    return n;
}

static inline uint64_t model_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static const char *const model_pieces[] = {
    "a", "b", "xyz", " ", "\n", "\r", "\r\n", "e\xcc\x81", "\xcc\x81", "\xcc\x88",
    "\xe4\xb8\xad", "\xe6\x96\x87",                              /* CJK */
    "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd",                          /* thumbs up, skin tone */
    "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7", /* family */
    "\xe2\x80\x8d",                                              /* ZWJ alone */
    "\xf0\x9f\x87\xab", "\xf0\x9f\x87\xb7",                      /* regional indicators */
    "\xe1\x84\x80", "\xe1\x85\xa1", "\xe1\x86\xa8",              /* Hangul L V T */
    "\xea\xb0\x80",                                              /* Hangul LV */
    "\xe2\x9d\xa4\xef\xb8\x8f",                                  /* heart + VS16 */
    "\xe0\xa4\x95\xe0\xa5\x8d\xe0\xa4\xb7",                      /* Devanagari */
    "\xef\xbc\xa1",                                              /* fullwidth A */
    "hello world ", "\t",
    "\xd8\x80", "\xe0\xb5\x8e",                                  /* Prepend: 0 and 1 column */
    "\x7f", "\x01",                                              /* DEL, a control: 0 columns */
    "printf(\"%s\\n\", argv[1]); ",                              /* a run of printable ASCII */
};
#define MODEL_NPIECES (sizeof model_pieces / sizeof model_pieces[0])

/* Random text of about `want` bytes made of pieces into buf (room for want + 32). */
static inline size_t model_random_text(uint64_t *rs, char *buf, size_t want)
{
    size_t n = 0;
    while (n < want) {
        const char *p = model_pieces[model_rand(rs) % MODEL_NPIECES];
        size_t k = strlen(p);
        memcpy(buf + n, p, k);
        n += k;
    }
    return n;
}

/* A random codepoint start in [0, n]. */
static inline size_t model_cp_pos(const model_t *m, uint64_t *rs)
{
    size_t p = (size_t)(model_rand(rs) % (m->n + 1));
    while (p < m->n && ((unsigned char)m->b[p] & 0xC0) == 0x80) p--;
    return p;
}

static inline size_t model_decode(const char *s, size_t n, size_t i, int32_t *cp)
{
    utf8proc_int32_t c;
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &c);
    *cp = c;
    return (size_t)k;
}

/* Boundary flags (bnd[i] for byte i, and bnd[n] = 1) by segmenting from the start. */
static inline void model_boundaries(const model_t *m, unsigned char *bnd)
{
    memset(bnd, 0, m->n + 1);
    int32_t prev = -1;
    utf8proc_int32_t st = 0;
    for (size_t i = 0; i < m->n;) {
        int32_t c;
        size_t k = model_decode(m->b, m->n, i, &c);
        bnd[i] = prev < 0 ? 1 : (unsigned char)utf8proc_grapheme_break_stateful(prev, c, &st);
        prev = c;
        i += k;
    }
    bnd[m->n] = 1;
}

/* Rows of the line starting at byte s up to byte stop (the whole line when
 * stop is past its end; greedy fill, as lle/text.h defines it), and the
 * column after its last cluster (*col, may be NULL). */
static inline size_t model_line_scan(const model_t *m, const unsigned char *bnd, size_t s,
                                     size_t stop, unsigned width, size_t *col_out)
{
    size_t rows = 1, col = 0, w = 0;
    bool open = false;
    for (size_t i = s; i < m->n && i < stop && m->b[i] != '\n';) {
        int32_t c;
        size_t k = model_decode(m->b, m->n, i, &c);
        if (bnd[i]) {
            if (open) {
                if (col + w > width && col > 0) rows++, col = 0;
                col += w;
            }
            w = 0;
            open = true;
        }
        int cw = utf8proc_charwidth(c);
        if (cw > (int)w) w = (size_t)cw;
        i += k;
    }
    if (open) {
        if (col + w > width && col > 0) rows++, col = 0;
        col += w;
    }
    if (col_out) *col_out = col;
    return rows;
}

/* The byte lle_text_row_col_to_byte gives for row r, column col of the
 * line starting at byte s (rows of the line from 0): the start of the first
 * cluster placed on a later row, or on row r covering col or (a cluster of
 * 0 columns) standing at col or after it; else the line's end. */
static inline size_t model_row_col_to_byte(const model_t *m, const unsigned char *bnd, size_t s,
                                           unsigned width, size_t r, size_t col)
{
    size_t row = 0, c = 0, w = 0, cs = s, i = s;
    bool open = false;
    for (;;) {
        bool end = i >= m->n || m->b[i] == '\n';
        if (end || bnd[i]) {
            if (open) {
                if (c + w > width && c > 0) row++, c = 0;
                bool hit = row != r ? row > r : w ? c + w > col : c >= col;
                if (hit) return cs;
                c += w;
            }
            if (end) return i;
            cs = i;
            w = 0;
            open = true;
        }
        int32_t cp;
        size_t k = model_decode(m->b, m->n, i, &cp);
        int cw = utf8proc_charwidth(cp);
        if (cw > (int)w) w = (size_t)cw;
        i += k;
    }
}

static inline size_t model_line_rows(const model_t *m, const unsigned char *bnd, size_t s,
                                     unsigned width)
{
    return model_line_scan(m, bnd, s, SIZE_MAX, width, NULL);
}

#endif
