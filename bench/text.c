/*
 * text.c - lle-bench-text: the text buffer (lle/text.h) against a flat
 * buffer that moves its tail with memmove on every edit (how GNU readline
 * and linenoise keep a line) and against GNU readline itself
 * (rl_insert_text / rl_delete_text at rl_point; no terminal needed).
 *
 *   lle-bench-text IMPL SIZE [-e EDITS] [-s SEED]
 *     IMPL  rope | flat | readline
 *     SIZE  bytes of text edited (e.g. 100, 100000, 10000000)
 *
 * One run measures, on deterministic mixed text (ASCII words, CJK, emoji
 * with skin-tone modifiers and ZWJ sequences, combining marks, newlines):
 *   paste1     1 MiB inserted in one call into an empty buffer (ms)
 *   paste4k    the same 1 MiB appended in 4 KiB pieces (ms)
 *   paste_log  1 MiB of ASCII log lines inserted in one call (ms)
 *   paste_script  1 MiB of Cyrillic, Greek and Han words in one call (ms)
 *   edit       EDITS single-character edits at random positions in the
 *              middle half of a SIZE-byte text: pairs of an insertion (of
 *              'x', U+00E9 or a combining U+0301, in turn) and the deletion
 *              of what it inserted; each edit timed alone (median, p99 ns);
 *              the rope's modified-line marks are cleared after each pair,
 *              untimed, as a redraw would
 *   convert    after the edits, at the position of each pair in turn:
 *              byte offset to codepoint index and back
 *              (lle_text_byte_to_codepoint and lle_text_codepoint_to_byte;
 *              the flat buffer counts the codepoint starts before the
 *              offset, then walks them from the start; readline keeps no
 *              such index: 0), timed together (median ns)
 *   linecol    the rope, at the same positions in a pass of its own: byte
 *              offset to (line, column) and back (lle_text_byte_to_line_col
 *              and lle_text_line_col_to_byte, timed together; positions
 *              inside a cluster, refused, are left out; median ns; the
 *              peers: 0)
 *   cursor     10,000 moves by one grapheme cluster forward from the middle
 *              (ns per move; readline has no cluster motion here: 0)
 *   redraw     a line of SIZE bytes without a newline, of ASCII log text
 *              (redraw_ascii) or of the mixed text (redraw_mixed), wrapped
 *              at 80 columns: after a keystroke at a random point of its
 *              middle half (an 'x' before an ASCII character, untimed, taken
 *              out again after), what a redraw asks: the line's rows and
 *              the row and column of the cursor, timed together (median of
 *              7 keystrokes, us).  The rope: lle_text_line_rows and
 *              lle_text_byte_to_row_col.  The flat buffer: one fill of the
 *              line from its start, cluster by cluster with utf8proc (its
 *              own code, as a flat buffer keeps no rows).  readline: 0
 *   up         after each of those redraws, the cursor moved one row up
 *              (down from the first row; in a line of one row, to the
 *              same row): the byte at the cursor's column
 *              of that row (up_ascii, up_mixed; median of the 7, us).  The
 *              rope: lle_text_row_col_to_byte.  The flat buffer: a fill of
 *              the line from its start up to that cell.  readline: 0
 *   resize     the rows of a whole text of SIZE bytes after a width change
 *              (a terminal resized): the mixed text (resize_mixed) and
 *              ASCII log lines (resize_log), with their newlines; widths
 *              81 to 85 in turn after 80, median of the 5 (ms).  The rope:
 *              lle_text_set_wrap_width, then lle_text_wrap_rows.  The flat
 *              buffer: every line filled cluster by cluster with utf8proc,
 *              as a buffer without rows must.  readline: 0
 *   index      bytes of index per byte of text (rope only)
 *   read       the latency of one read at a random place of a SIZE-byte
 *              array (a chase of dependent reads, ns a read): what any
 *              buffer pays at least once to touch a place of the text not
 *              touched lately, the floor under an edit at a new point
 * and prints one line: RESULT impl=... size=... key=value...
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <readline/readline.h>
#include <utf8proc.h>

#include <lle/memory.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Mixed text of exactly n bytes (cut at a codepoint boundary, padded with
 * spaces). */
static char *mixed_text(size_t n, uint64_t seed)
{
    static const char *const words[] = {
        "the ", "quick ", "brown ", "fox ", "ls -la ", "grep -R ", "echo $PATH ",
        "\xe4\xb8\xad\xe6\x96\x87 ", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e ", /* CJK */
        "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd ",                                 /* thumbs up + tone */
        "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 ", /* family */
        "\xf0\x9f\x87\xab\xf0\x9f\x87\xb7 ",                                 /* flag */
        "cafe\xcc\x81 ", "n\xcc\x83o ", "\xea\xb0\x80\xea\xb0\x81 ",        /* combining, Hangul */
        "\n",
    };
    char *b = malloc(n + 64);
    size_t k = 0;
    while (k < n) {
        const char *w = words[rnd(&seed) % (sizeof words / sizeof words[0])];
        size_t l = strlen(w);
        memcpy(b + k, w, l);
        k += l;
    }
    k = n;
    while (k > 0 && ((unsigned char)b[k] & 0xC0) == 0x80) k--;
    memset(b + k, ' ', n - k);
    b[n] = 0;
    return b;
}

/* n bytes of ASCII log lines ("2026-11-21 12:00:07 INFO worker 17: ..."),
 * each ended by a newline: what a pasted log mostly is. */
static char *log_text(size_t n, uint64_t seed)
{
    static const char *const msgs[] = {
        "connection accepted from 10.0.3.17:52114", "request GET /api/v1/items?page=3 200 12ms",
        "cache miss for key user:4711:profile", "retrying upload (attempt 2 of 5)",
        "worker pool resized to 8 threads", "checkpoint written: 1048576 bytes in 3.2 ms",
    };
    static const char *const lv[] = {"INFO", "WARN", "DEBUG", "ERROR"};
    char *b = malloc(n + 256);
    size_t k = 0;
    while (k < n) {
        unsigned r = (unsigned)rnd(&seed);
        k += (size_t)sprintf(b + k, "2026-11-21 12:%02u:%02u %s worker %u: %s\n", r % 60, r / 60 % 60,
                             lv[r / 3600 % 4], r / 14400 % 32, msgs[r / 460800 % 6]);
    }
    memset(b + n, 0, 1);
    return b;
}

/* n bytes of words in Cyrillic, Greek and Han (letters of 2 or 3 bytes
 * whose clusters are single codepoints), separated by spaces, commas and
 * newlines: a paste of prose in scripts other than Latin. */
static char *script_text(size_t n, uint64_t seed)
{
    static const struct {
        uint32_t lo, count;
    } scripts[] = {{0x0430, 32}, {0x03B1, 25}, {0x4E00, 20902}};
    char *b = malloc(n + 64);
    size_t k = 0;
    while (k < n) {
        uint64_t r = rnd(&seed);
        unsigned sc = (unsigned)(r % 3), len = 2 + (unsigned)(r / 3 % 7);
        for (unsigned i = 0; i < len; i++) {
            uint32_t c = scripts[sc].lo + (uint32_t)(rnd(&seed) % scripts[sc].count);
            if (c < 0x800) {
                b[k++] = (char)(0xC0 | (c >> 6));
            } else {
                b[k++] = (char)(0xE0 | (c >> 12));
                b[k++] = (char)(0x80 | ((c >> 6) & 0x3F));
            }
            b[k++] = (char)(0x80 | (c & 0x3F));
        }
        b[k++] = r / 21 % 9 == 0 ? '\n' : r / 21 % 9 == 1 ? ',' : ' ';
    }
    k = n;
    while (k > 0 && ((unsigned char)b[k] & 0xC0) == 0x80) k--;
    memset(b + k, ' ', n - k);
    b[n] = 0;
    return b;
}

/* ---- the three buffers behind one interface ------------------------------ */

typedef struct flat {
    char  *b;
    size_t n, cap;
} flat_t;

static void flat_insert(flat_t *f, size_t pos, const char *s, size_t k)
{
    if (f->n + k > f->cap) {
        f->cap = (f->n + k) * 2;
        f->b = realloc(f->b, f->cap);
    }
    memmove(f->b + pos + k, f->b + pos, f->n - pos);
    memcpy(f->b + pos, s, k);
    f->n += k;
}

static void flat_delete(flat_t *f, size_t pos, size_t k)
{
    memmove(f->b + pos, f->b + pos + k, f->n - pos - k);
    f->n -= k;
}

/* The next cluster boundary after pos (a boundary) in a flat buffer:
 * segment forward from pos with a fresh state; *width (may be NULL): the
 * cluster's columns, the largest utf8proc_charwidth of its codepoints. */
static size_t flat_next_grapheme(const flat_t *f, size_t pos, size_t *width)
{
    utf8proc_int32_t prev, c, st = 0;
    utf8proc_ssize_t k = utf8proc_iterate((const uint8_t *)f->b + pos, (utf8proc_ssize_t)(f->n - pos), &prev);
    int w = width ? utf8proc_charwidth(prev) : 0;
    pos += (size_t)k;
    while (pos < f->n) {
        k = utf8proc_iterate((const uint8_t *)f->b + pos, (utf8proc_ssize_t)(f->n - pos), &c);
        if (utf8proc_grapheme_break_stateful(prev, c, &st)) break;
        if (width && utf8proc_charwidth(c) > w) w = utf8proc_charwidth(c);
        prev = c;
        pos += (size_t)k;
    }
    if (width) *width = w > 0 ? (size_t)w : 0;
    return pos;
}

enum impl { ROPE, FLAT, READLINE };

typedef struct buf {
    enum impl             impl;
    lle_memory_manager_t *m;
    lle_text_t           *t;
    flat_t                f;
} buf_t;

static void buf_open(buf_t *b)
{
    if (b->impl == ROPE) {
        lle_text_config_t cfg;
        lle_text_config_default(&cfg);
        cfg.undo_limit = 0; /* the peers keep no undo either (readline's list is freed) */
        if (lle_text_create(b->m, &cfg, &b->t) != LLE_SUCCESS) abort();
    } else if (b->impl == FLAT) {
        memset(&b->f, 0, sizeof b->f);
    } else {
        rl_delete_text(0, rl_end);
        rl_point = 0;
        rl_free_undo_list();
    }
}

static void buf_close(buf_t *b)
{
    if (b->impl == ROPE) lle_text_destroy(b->t);
    else if (b->impl == FLAT) free(b->f.b);
    else {
        rl_delete_text(0, rl_end);
        rl_free_undo_list();
    }
}

static size_t buf_len(buf_t *b)
{
    return b->impl == ROPE ? lle_text_length(b->t) : b->impl == FLAT ? b->f.n : (size_t)rl_end;
}

/* s must be NUL-terminated at s[k] for readline. */
static void buf_insert(buf_t *b, size_t pos, const char *s, size_t k)
{
    if (b->impl == ROPE) {
        if (lle_text_insert(b->t, pos, s, k) != LLE_SUCCESS) abort();
    } else if (b->impl == FLAT) {
        flat_insert(&b->f, pos, s, k);
    } else {
        rl_point = (int)pos;
        if (rl_insert_text(s) != (int)k) abort();
    }
}

static void buf_delete(buf_t *b, size_t pos, size_t k)
{
    if (b->impl == ROPE) {
        if (lle_text_delete(b->t, pos, k) != LLE_SUCCESS) abort();
    } else if (b->impl == FLAT) {
        flat_delete(&b->f, pos, k);
    } else {
        rl_delete_text((int)pos, (int)(pos + k));
    }
}

/* The flat buffer's line [0, n) at width w, filled cluster by cluster
 * (utf8proc segmentation and widths, the rule of lle/text.h): its rows,
 * and in *row, *col the row and column of the cluster that starts at cur. */
static size_t flat_rows(const flat_t *f, size_t cur, unsigned w, size_t *row, size_t *col)
{
    size_t rows = 1, c = 0, pos = 0, cw = 0;
    utf8proc_int32_t prev = -1, cp, st = 0;
    while (pos <= f->n) {
        bool brk = pos == f->n;
        utf8proc_ssize_t k = 0;
        if (!brk) {
            k = utf8proc_iterate((const uint8_t *)f->b + pos, (utf8proc_ssize_t)(f->n - pos), &cp);
            brk = prev < 0 || utf8proc_grapheme_break_stateful(prev, cp, &st);
        }
        if (brk && prev >= 0) {
            if (c + cw > w && c > 0) rows++, c = 0;
            c += cw;
            cw = 0;
        }
        if (brk && pos == cur) *row = rows - 1, *col = c;
        if (pos == f->n) break;
        int x = utf8proc_charwidth(cp);
        if (x > (int)cw) cw = (size_t)x;
        prev = cp;
        pos += (size_t)k;
    }
    return rows;
}

/* The byte of the flat buffer's line [0, n) at row r, column c at width w
 * (the rule of lle_text_row_col_to_byte), filled from its start cluster by
 * cluster. */
static size_t flat_cell(const flat_t *f, unsigned w, size_t r, size_t c)
{
    size_t row = 0, col = 0, cw;
    for (size_t pos = 0, next; pos < f->n; pos = next) {
        next = flat_next_grapheme(f, pos, &cw);
        if (col + cw > w && col > 0) row++, col = 0;
        if (row > r || (row == r && (cw ? col + cw > c : col >= c))) return pos;
        col += cw;
    }
    return f->n;
}

/* The flat buffer's rows at width w, every line filled as flat_rows fills
 * one. */
static size_t flat_all_rows(const flat_t *f, unsigned w)
{
    size_t total = 0, rows = 1, c = 0, cw = 0, pos = 0;
    utf8proc_int32_t prev = -1, cp, st = 0;
    bool open = false;
    while (pos < f->n) {
        utf8proc_ssize_t k = utf8proc_iterate((const uint8_t *)f->b + pos, (utf8proc_ssize_t)(f->n - pos), &cp);
        bool brk = prev < 0 || utf8proc_grapheme_break_stateful(prev, cp, &st);
        if (brk && open) {
            if (c + cw > w && c > 0) rows++, c = 0;
            c += cw;
            cw = 0;
        }
        prev = cp;
        pos += (size_t)k;
        if (cp == '\n') { /* the line ends: the next one starts at row 1 */
            total += rows;
            rows = 1, c = 0, cw = 0, open = false;
            continue;
        }
        open = open || brk;
        int x = utf8proc_charwidth(cp);
        if (x > (int)cw) cw = (size_t)x;
    }
    if (open && c + cw > w && c > 0) rows++;
    return total + rows;
}

/* A codepoint start at or before pos, found outside the timed region. */
static size_t cp_start(buf_t *b, const char *model, size_t pos)
{
    (void)b;
    while (pos > 0 && ((unsigned char)model[pos] & 0xC0) == 0x80) pos--;
    return pos;
}

/* ns per read of a chase through the 64-byte lines of a `bytes`-byte
 * array in a random cyclic order (Sattolo's shuffle), each read's address
 * taken from the one before, after one untimed lap: the latency of a read
 * at a place of a buffer of that size when the places follow no pattern
 * (the hardware prefetchers cannot guess them). */
static double read_latency_ns(size_t bytes, uint64_t seed)
{
    size_t n = bytes / 64 < 2 ? 2 : bytes / 64;
    size_t *a = aligned_alloc(64, n * 64);
    size_t *perm = malloc(n * sizeof *perm);
    if (!a || !perm) abort();
    for (size_t i = 0; i < n; i++) perm[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(rnd(&seed) % i), x = perm[i];
        perm[i] = perm[j];
        perm[j] = x;
    }
    for (size_t i = 0; i < n; i++) a[perm[i] * 8] = perm[(i + 1) % n] * 8;
    volatile size_t sink;
    size_t x = 0;
    for (size_t i = 0; i < n; i++) x = a[x];
    const size_t reads = 200000;
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < reads; i++) x = a[x];
    double ns = (double)(now_ns() - t0) / (double)reads;
    sink = x;
    (void)sink;
    free(perm);
    free(a);
    return ns;
}

/* The time of one insertion of s[0, n) into a new empty buffer (ms). */
static double paste_once(buf_t *b, const char *s, size_t n)
{
    buf_open(b);
    uint64_t t0 = now_ns();
    buf_insert(b, 0, s, n);
    double ms = (double)(now_ns() - t0) / 1e6;
    buf_close(b);
    return ms;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The redraw after a keystroke in a line of `size` bytes, and then the
 * cursor moved a row up (us, medians of 7 keystrokes; see the top of the
 * file).  line: the text, its newlines made spaces here. */
static double redraw_us(buf_t *b, char *line, size_t size, uint64_t seed, double *up_us)
{
    *up_us = 0;
    if (b->impl == READLINE) return 0;
    for (size_t i = 0; i < size; i++)
        if (line[i] == '\n') line[i] = ' ';
    buf_open(b);
    buf_insert(b, 0, line, size);
    size_t rows, row = 0, col = 0;
    if (b->impl == ROPE) {
        if (lle_text_set_wrap_width(b->t, 80) != LLE_SUCCESS) abort();
        lle_text_line_rows(b->t, 0, &rows); /* the first redraw, untimed */
    }
    uint64_t lat[7], up[7];
    for (int k = 0; k < 7; k++) {
        size_t pos = size / 4 + (size_t)(rnd(&seed) % (size / 2 + 1));
        while (pos > 0 && (unsigned char)line[pos] >= 0x80) pos--;
        buf_insert(b, pos, "x", 1);
        uint64_t t0 = now_ns();
        if (b->impl == ROPE) {
            if (lle_text_line_rows(b->t, 0, &rows) != LLE_SUCCESS ||
                lle_text_byte_to_row_col(b->t, pos + 1, &row, &col) != LLE_SUCCESS)
                abort();
        } else {
            rows = flat_rows(&b->f, pos + 1, 80, &row, &col);
        }
        lat[k] = now_ns() - t0;
        if (row >= rows) abort();
        size_t to = row ? row - 1 : rows > 1 ? 1 : 0, at = SIZE_MAX;
        t0 = now_ns();
        if (b->impl == ROPE) {
            if (lle_text_row_col_to_byte(b->t, to, col, &at) != LLE_SUCCESS) abort();
        } else {
            at = flat_cell(&b->f, 80, to, col);
        }
        up[k] = now_ns() - t0;
        if (at > size + 1) abort();
        buf_delete(b, pos, 1);
    }
    buf_close(b);
    qsort(lat, 7, sizeof *lat, cmp_u64);
    qsort(up, 7, sizeof *up, cmp_u64);
    *up_us = (double)up[3] / 1e3;
    return (double)lat[3] / 1e3;
}

/* The rows of a whole text of `size` bytes after a width change (ms,
 * median of 5 widths; see the top of the file). */
static double resize_ms(buf_t *b, const char *text, size_t size)
{
    if (b->impl == READLINE) return 0;
    buf_open(b);
    buf_insert(b, 0, text, size);
    size_t rows = 0;
    if (b->impl == ROPE &&
        (lle_text_set_wrap_width(b->t, 80) != LLE_SUCCESS || lle_text_wrap_rows(b->t, &rows) != LLE_SUCCESS))
        abort();
    uint64_t lat[5];
    for (unsigned k = 0; k < 5; k++) {
        uint64_t t0 = now_ns();
        if (b->impl == ROPE) {
            if (lle_text_set_wrap_width(b->t, 81 + k) != LLE_SUCCESS ||
                lle_text_wrap_rows(b->t, &rows) != LLE_SUCCESS)
                abort();
        } else {
            rows = flat_all_rows(&b->f, 81 + k);
        }
        lat[k] = now_ns() - t0;
        if (!rows) abort();
    }
    buf_close(b);
    qsort(lat, 5, sizeof *lat, cmp_u64);
    return (double)lat[2] / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: lle-bench-text rope|flat|readline SIZE [-e EDITS] [-s SEED]\n");
        return 2;
    }
    buf_t b = {0};
    if (!strcmp(argv[1], "rope")) b.impl = ROPE;
    else if (!strcmp(argv[1], "flat")) b.impl = FLAT;
    else if (!strcmp(argv[1], "readline")) b.impl = READLINE;
    else return 2;
    size_t size = strtoull(argv[2], NULL, 10);
    size_t edits = 10000;
    uint64_t seed = 42;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-e")) edits = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "-s")) seed = strtoull(argv[i + 1], NULL, 10);
    }
    lle_memory_config_t mc;
    lle_memory_config_default(&mc);
    mc.read_environment = false;
    if (lle_memory_manager_create(&mc, &b.m) != LLE_SUCCESS) return 1;
    if (b.impl == READLINE) rl_initialize();

    /* paste 1 MiB: the mixed text, log lines and other scripts in one
     * insertion each, then the mixed text in 4 KiB pieces */
    const size_t MB = 1 << 20;
    char *mb = mixed_text(MB, seed);
    double paste1 = paste_once(&b, mb, MB);
    char *lg = log_text(MB, seed);
    double paste_log = paste_once(&b, lg, MB);
    free(lg);
    char *sc = script_text(MB, seed);
    double paste_script = paste_once(&b, sc, MB);
    free(sc);
    uint64_t t0;
    buf_open(&b);
    double paste4k = 0;
    for (size_t off = 0; off < MB;) {
        size_t k = off + 4096 > MB ? MB - off : 4096;
        while (off + k < MB && ((unsigned char)mb[off + k] & 0xC0) == 0x80) k--;
        char save = mb[off + k];
        mb[off + k] = 0;
        t0 = now_ns();
        buf_insert(&b, off, mb + off, k);
        paste4k += (double)(now_ns() - t0);
        mb[off + k] = save;
        off += k;
    }
    paste4k /= 1e6;
    if (buf_len(&b) != MB) abort();
    buf_close(&b);
    free(mb);

    /* single-character edits in the middle half of a SIZE-byte text */
    char *text = mixed_text(size, seed + 1);
    buf_open(&b);
    buf_insert(&b, 0, text, size);
    static const char *const ins[] = {"x", "\xc3\xa9", "\xcc\x81"};
    uint64_t *lat = malloc(edits * sizeof *lat);
    uint64_t *conv = malloc(edits * sizeof *conv);
    size_t *pos_of = malloc(edits * sizeof *pos_of), nconv = 0;
    uint64_t rs = seed * 2654435761u + 1;
    size_t done = 0;
    while (done + 1 < edits) {
        size_t pos = size / 4 + (size_t)(rnd(&rs) % (size / 2 + 1));
        pos = cp_start(&b, text, pos);
        const char *s = ins[done / 2 % 3];
        size_t k = strlen(s);
        t0 = now_ns();
        buf_insert(&b, pos, s, k);
        uint64_t t1 = now_ns();
        buf_delete(&b, pos, k);
        uint64_t t2 = now_ns();
        lat[done++] = t1 - t0;
        lat[done++] = t2 - t1;
        if (b.impl == READLINE && done % 512 == 0) rl_free_undo_list();
        if (b.impl != READLINE) pos_of[nconv++] = pos;
        /* a renderer redraws the marked lines after a keystroke and clears
         * the marks (untimed, like the peers' redraw) */
        if (b.impl == ROPE) lle_text_clear_modified(b.t);
    }
    /* the insertions (even entries) and deletions (odd) apart, then all */
    size_t half = done / 2;
    uint64_t *part = malloc((half ? half : 1) * sizeof *part);
    for (size_t i = 0; i < half; i++) part[i] = lat[2 * i];
    qsort(part, half, sizeof *part, cmp_u64);
    double ins_med = half ? (double)part[half / 2] : 0;
    for (size_t i = 0; i < half; i++) part[i] = lat[2 * i + 1];
    qsort(part, half, sizeof *part, cmp_u64);
    double del_med = half ? (double)part[half / 2] : 0;
    free(part);
    /* conversions at the edits' positions, in a pass of their own (a
     * flat buffer's scan would flush the caches between its edits) */
    for (size_t i = 0; i < nconv; i++) {
        size_t pos = pos_of[i], cp = 0, back = 0;
        t0 = now_ns();
        if (b.impl == ROPE) {
            if (lle_text_byte_to_codepoint(b.t, pos, &cp) != LLE_SUCCESS ||
                lle_text_codepoint_to_byte(b.t, cp, &back) != LLE_SUCCESS)
                abort();
        } else {
            for (size_t j = 0; j < pos; j++) cp += ((unsigned char)b.f.b[j] & 0xC0) != 0x80;
            for (size_t left = cp + 1; left; back++) left -= ((unsigned char)b.f.b[back] & 0xC0) != 0x80;
            back--;
        }
        conv[i] = now_ns() - t0;
        if (back != pos) abort();
    }
    qsort(conv, nconv, sizeof *conv, cmp_u64);
    double conv_med = nconv ? (double)conv[nconv / 2] : 0;
    /* the rope: byte offset -> (line, column) -> byte offset at the same
     * positions, in a pass of its own (those inside a cluster are refused
     * and left out) */
    double lc_med = 0;
    if (b.impl == ROPE) {
        size_t nlc = 0;
        for (size_t i = 0; i < nconv; i++) {
            size_t line, col, back = 0;
            t0 = now_ns();
            lle_result_t r = lle_text_byte_to_line_col(b.t, pos_of[i], &line, &col);
            if (r == LLE_SUCCESS) r = lle_text_line_col_to_byte(b.t, line, col, &back);
            uint64_t dt = now_ns() - t0;
            if (r == LLE_SUCCESS && back == pos_of[i]) conv[nlc++] = dt;
            else if (r != LLE_ERROR_INVALID_POSITION) abort();
        }
        qsort(conv, nlc, sizeof *conv, cmp_u64);
        lc_med = nlc ? (double)conv[nlc / 2] : 0;
    }
    free(conv);
    free(pos_of);
    qsort(lat, done, sizeof *lat, cmp_u64);
    double med = (double)lat[done / 2], p99 = (double)lat[done * 99 / 100];

    /* cursor moves by cluster from the middle */
    double cursor = 0, index = 0;
    if (b.impl != READLINE) {
        size_t pos, moves = 0;
        if (b.impl == ROPE) {
            lle_text_counts_t c;
            lle_text_counts(b.t, &c);
            lle_text_grapheme_to_byte(b.t, c.graphemes / 2, &pos);
            t0 = now_ns();
            for (; moves < 10000 && lle_text_next_grapheme(b.t, pos, &pos) == LLE_SUCCESS; moves++) {
            }
        } else {
            /* the same start: the middle cluster of the model */
            pos = cp_start(&b, text, size / 2);
            while (pos > 0 && text[pos - 1] != ' ' && text[pos - 1] != '\n') pos--;
            t0 = now_ns();
            for (; moves < 10000 && pos < b.f.n; moves++) pos = flat_next_grapheme(&b.f, pos, NULL);
        }
        cursor = moves ? (double)(now_ns() - t0) / (double)moves : 0;
    }
    if (b.impl == ROPE) {
        lle_text_stats_t st;
        lle_text_get_stats(b.t, &st);
        index = (double)st.index_bytes / (double)st.bytes;
    }
    buf_close(&b);
    free(lat);
    /* the whole text after a width change: mixed text, log lines */
    char *ln = log_text(size, seed + 3);
    double resize_mixed = resize_ms(&b, text, size);
    double resize_log = resize_ms(&b, ln, size);
    /* redraws after a keystroke in one long line: log text, mixed text */
    double up_ascii, up_mixed;
    double redraw_ascii = redraw_us(&b, ln, size, seed + 4, &up_ascii);
    free(ln);
    double redraw_mixed = redraw_us(&b, text, size, seed + 5, &up_mixed);
    free(text);
    double read = read_latency_ns(size, seed + 2);
    printf("RESULT impl=%s size=%zu edits=%zu paste1_ms=%.3f paste4k_ms=%.3f paste_log_ms=%.3f paste_script_ms=%.3f "
           "edit_median_ns=%.0f "
           "edit_p99_ns=%.0f insert_median_ns=%.0f delete_median_ns=%.0f convert_ns=%.0f linecol_ns=%.0f "
           "cursor_ns=%.1f index_per_byte=%.4f redraw_ascii_us=%.2f redraw_mixed_us=%.2f "
           "up_ascii_us=%.2f up_mixed_us=%.2f resize_mixed_ms=%.3f resize_log_ms=%.3f read_ns=%.1f\n",
           argv[1], size, done, paste1, paste4k, paste_log, paste_script, med, p99, ins_med, del_med, conv_med, lc_med, cursor,
           index, redraw_ascii, redraw_mixed, up_ascii, up_mixed, resize_mixed, resize_log, read);
    lle_memory_manager_destroy(b.m);
    return 0;
}
