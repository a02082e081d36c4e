/*
 * wrap.c - wrapped (virtual) rows at the text's wrap width.
 *
 * Each line's row count is cached in the tree (text_internal.h): line 0 in
 * the text, every other line with the newline before it, summed in the
 * nodes.  An edit makes the cache of the line it starts in stale (new
 * lines come in stale, deleted ones take their entries with them); a new
 * width makes every entry stale at once (rows_all_stale, O(1)).  Queries
 * first bring stale entries up to date: the stale ones only, found by
 * descending into subtrees that count some, or after a width change every
 * line in one pass.  Then a row and a line convert into each other by a
 * descent over the sums: O(log n).  Each entry also keeps its line's
 * columns, which a width does not change: after a width change a line
 * gets its rows from them, without a read of its text, when they decide
 * the count (rows_from_cols: a line whose clusters are all 0 or 1 column
 * wide, or one of less than about two rows); only the other lines, and
 * those edited since their last fill, are filled again.
 *
 * A line's rows come from a greedy fill of its clusters: a cluster's width
 * is the largest utf8proc_charwidth of its codepoints (so a wide base with
 * combining marks is 2, marks alone 0, control characters 0); a cluster
 * that does not fit the rest of a row starts the next one, unless the row
 * is empty (a cluster wider than the width has a row of its own).
 *
 * Long lines.  A fill that crosses a leaf's end does not read every
 * cluster (line_scan).  At a width W of 2 or more, count the columns of
 * the fill "padded": a cluster that does not fit adds the columns it
 * leaves empty at the end of the row.  Only a cluster 2 columns wide can
 * leave one, and only when it comes at column W - 1 (a cluster of 1 fits
 * wherever a row has room; at column W the row is exactly full).  After
 * padded columns P, the fill has used max(1, ceil(P / W)) rows and stands
 * at column P - W * (rows - 1).  A subtree whose clusters are all 0 or 1
 * column wide therefore adds its column count to P, whatever P was: the
 * fill adds the cached summaries of such subtrees (text_internal.h).  An
 * inner node or a leaf with wide clusters adds them through a table of the
 * empty columns it leaves by P modulo W (below, "tables"), made for the
 * current width the second time a fill finds it unchanged (a leaf's at
 * widths LTAB_MIN to LTAB_MAX only).  Clusters are placed one at a time
 * only in the two leaves where the range starts and ends, in the leaves an
 * edit changed since the last fill, and in leaves with a wide cluster but
 * no table (at widths outside LTAB_MIN..LTAB_MAX: every such leaf under
 * the lowest inner nodes those are in, or above WTAB_MAX every such leaf
 * of the range).  So after a keystroke in a line of megabytes, its rows
 * cost O(log n) summaries and tables and the clusters of about the leaf
 * it changed.  Width 1
 * (a wide cluster then overflows its row) and short lines use the plain
 * fill (wrap_scan), which is also the reference the checks use.
 */
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "text/text_internal.h"

typedef struct scan {
    size_t rows, col;
    size_t bytes; /* read cluster by cluster (lle_text_stats_t.wrap_scanned_bytes) */
    uint64_t cols; /* columns of the clusters placed, whatever the width */
    bool wide;     /* one of them was 2 columns wide or more */
} scan_t;

static size_t cp_width(int32_t c)
{
    return TX_PROP_WIDTH(lle__tx_prop(c));
}

static void place(scan_t *s, size_t w, size_t width)
{
    if (s->col + w > width && s->col > 0) {
        s->rows++;
        s->col = 0;
    }
    s->col += w;
    s->cols += w;
    s->wide |= w >= 2;
}

/* place() of k clusters of one column each, at once: after one that
 * overflowed its row (col > width) the next starts a row; from there a
 * fill of col + k columns has used (col + k - 1) / width rows more. */
static void place_ones(scan_t *s, size_t k, size_t width)
{
    if (!k) return;
    if (s->col >= width && s->col > 0) {
        s->rows++;
        s->col = 0;
    }
    size_t total = s->col + k, more = (total - 1) / width;
    s->rows += more;
    s->col = total - more * width;
    s->cols += k;
}

/* How many of p[0, n) are printable ASCII (0x20..0x7E: one column each),
 * 16 at a time with SSE2. */
static size_t printable_run(const unsigned char *p, size_t n)
{
    size_t i = 0;
#if defined(__SSE2__)
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        /* signed: bytes of 0x80 and up are negative */
        __m128i ok = _mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(0x7F)),
                                      _mm_cmpgt_epi8(v, _mm_set1_epi8(0x1F)));
        unsigned bad = ~(unsigned)_mm_movemask_epi8(ok) & 0xFFFFu;
        if (bad) return i + (size_t)__builtin_ctz(bad);
    }
#endif
    while (i < n && p[i] >= 0x20 && p[i] < 0x7F) i++;
    return i;
}

/* Fill the line that starts at `start` (offset o of leaf L) until its
 * '\n', the end of the text, or byte `stop` (a cluster start; SIZE_MAX:
 * none), cluster by cluster.  Result: rows used and the column after the
 * last cluster placed.  This one is the reference the checks use
 * (lle__tx_rows_check); fill_at below gives the same result faster. */
static scan_t wrap_scan_at(const lle_text_t *t, lle__tx_leaf_t *L, size_t o, size_t start,
                           size_t stop)
{
    scan_t s = {1, 0, 0, 0, false};
    size_t x = start, w = 0;
    bool open = false;
    for (;;) {
        if (L && o >= TX_LEN(L)) {
            L = L->next;
            o = 0;
            continue;
        }
        if (!L || x == stop) break;
        size_t clen;
        int32_t c = lle__tx_decode(L, o, &clen);
        if (c == '\n') break;
        if (lle__tx_bit(L, o)) {
            if (open) place(&s, w, t->width);
            w = 0;
            open = true;
        }
        size_t cw = cp_width(c);
        if (cw > w) w = cw;
        o += clen;
        x += clen;
    }
    if (open) place(&s, w, t->width);
    s.bytes = x - start;
    return s;
}

/* The reference fill (lle__tx_rows_check). */
static scan_t wrap_scan(const lle_text_t *t, size_t start, size_t stop)
{
    uint64_t o;
    lle__tx_leaf_t *L = lle__tx_find(t, F_BYTES, start, &o, NULL, 0);
    return wrap_scan_at(t, L, (size_t)o, start, stop);
}

/* wrap_scan_at, faster: each side of a leaf's gap is read by physical
 * offset (no gap test a byte; a codepoint never straddles the gap), and
 * a run of printable ASCII that starts at a cluster start is placed at
 * once: each of its bytes but the last is a cluster of one column (a
 * printable ASCII byte always breaks from the one before it: UAX #29
 * joins nothing else to it); the last stays open, as a byte placed one at
 * a time would, for what may extend it. */
static scan_t fill_at(const lle_text_t *t, lle__tx_leaf_t *L, size_t o, size_t start,
                      size_t stop)
{
    scan_t s = {1, 0, 0, 0, false};
    size_t x = start, w = 0, width = t->width;
    bool open = false, done = false;
    while (!done) {
        if (L && o >= TX_LEN(L)) {
            L = L->next;
            o = 0;
            continue;
        }
        if (!L || x == stop) break;
        const unsigned char *d = (const unsigned char *)L->data;
        const uint64_t *gb = L->gb;
        size_t p = lle__tx_phys(L, o), q = p, end = o < L->h.gs ? L->h.gs : TX_CAP;
        if (stop - x < end - p) end = p + (stop - x);
        while (q < end) {
            unsigned c = d[q];
            bool cut = (gb[q >> 6] >> (q & 63)) & 1u;
            size_t clen = 1;
            if (c < 0x80) {
                if (c == '\n') {
                    done = true;
                    break;
                }
                if (cut && c - 0x20u < 0x5Fu && q + 1 < end && d[q + 1] - 0x20u < 0x5Fu) {
                    size_t r = printable_run(d + q, end - q);
                    if (open) place(&s, w, width);
                    place_ones(&s, r - 1, width);
                    w = 1;
                    open = true;
                    q += r;
                    continue;
                }
            } else {
                c = (unsigned)lle__tx_cp_at(d + q, &clen);
            }
            if (cut) {
                if (open) place(&s, w, width);
                w = 0;
                open = true;
            }
            size_t cw = cp_width((int32_t)c);
            if (cw > w) w = cw;
            q += clen;
        }
        o += q - p;
        x += q - p;
    }
    if (open) place(&s, w, width);
    s.bytes = x - start;
    return s;
}

/* ---- long lines ---------------------------------------------------------------- */

/* A run of clusters: columns, clusters 2 (or more) wide, and when `place`
 * the padded column count of a fill at width `width` (see above). */
typedef struct wrun {
    uint64_t cols, wide, pad;
    uint64_t bytes; /* read cluster by cluster */
    unsigned width;
    bool     place;
    bool     fast;    /* read as fill_at reads (not in the checks) */
    uint32_t *wpos;  /* when not NULL: the columns before each wide cluster */
    size_t   nw;
    lle_text_t *t;   /* for the tables (fold, build_table) */
    uint32_t *scr;   /* scratch of 2 * width entries, taken when first needed */
} wrun_t;

/* Tables (wtab) are kept for widths up to this: 4 bytes a column in each
 * inner node of a long line that holds wide clusters (a node of the lowest
 * inner level holds about 12 KB of text: at most about 0.17 byte of table
 * per byte of text). */
#define WTAB_MAX 512

static inline unsigned cl_width(int32_t c)
{
    if (c < 0x80) return c >= 0x20 && c < 0x7f; /* utf8proc: controls and DEL 0 */
    return (unsigned)cp_width(c);
}

/* A cluster of w columns (utf8proc_charwidth gives 0, 1 or 2): one that
 * is 2 wide leaves a column empty when it comes at column W - 1, which is
 * when the padded count is W - 1 modulo W. */
static void run_add(wrun_t *r, unsigned w)
{
    if (w >= 2) {
        if (r->wpos) r->wpos[r->nw++] = (uint32_t)r->cols;
        r->wide++;
        if (r->place && r->pad % r->width == r->width - 1u) r->pad++;
    }
    r->cols += w;
    r->pad += w;
}

/* The width of the cluster open at the end of leaf L, w so far: raised by
 * its codepoints in the leaves after L (up to the next cluster start);
 * the bytes read are added to *bytes. */
static unsigned tail_width(const lle__tx_leaf_t *L, unsigned w, uint64_t *bytes)
{
    for (const lle__tx_leaf_t *N = L->next; N; N = N->next) {
        size_t len = TX_LEN(N), o = 0;
        while (o < len && !lle__tx_bit(N, o)) {
            size_t clen;
            unsigned cw = cl_width(lle__tx_decode(N, o, &clen));
            if (cw > w) w = cw;
            o += clen;
        }
        *bytes += o;
        if (o < len) break;
    }
    return w;
}

/* The clusters that start in L's logical bytes [a, b), added to r in
 * order.  Bytes before the first cluster start in [a, b) belong to a
 * cluster added before; the last cluster, when b is L's length, runs on
 * into the next leaves up to the next cluster start.  With r->fast, read
 * as fill_at reads (each side of the gap by physical offset, runs of
 * printable ASCII at once: all but their last byte are clusters of one
 * column, which add one column each to the counts, padded or not);
 * without, one codepoint at a time: the reference the checks use. */
static void leaf_run(const lle__tx_leaf_t *L, size_t a, size_t b, wrun_t *r)
{
    bool open = false;
    unsigned w = 0;
    if (r->fast) {
        const unsigned char *d = (const unsigned char *)L->data;
        for (size_t o = a; o < b;) {
            size_t p = lle__tx_phys(L, o), q = p, end = o < L->h.gs ? L->h.gs : TX_CAP;
            if (end - p > b - o) end = p + (b - o);
            while (q < end) {
                unsigned c = d[q];
                bool cut = (L->gb[q >> 6] >> (q & 63)) & 1u;
                size_t clen = 1;
                if (c < 0x80) {
                    if (cut && c - 0x20u < 0x5Fu && q + 1 < end && d[q + 1] - 0x20u < 0x5Fu) {
                        size_t k = printable_run(d + q, end - q);
                        if (open) run_add(r, w);
                        r->cols += k - 1;
                        r->pad += k - 1;
                        open = true;
                        w = 1;
                        q += k;
                        continue;
                    }
                } else {
                    c = (unsigned)lle__tx_cp_at(d + q, &clen);
                }
                if (cut) {
                    if (open) run_add(r, w);
                    open = true;
                    w = 0;
                }
                unsigned cw = cl_width((int32_t)c);
                if (cw > w) w = cw;
                q += clen;
            }
            o += q - p;
        }
    } else {
        for (size_t o = a; o < b;) {
            size_t clen;
            int32_t c = lle__tx_decode(L, o, &clen);
            if (lle__tx_bit(L, o)) {
                if (open) run_add(r, w);
                open = true;
                w = 0;
            }
            unsigned cw = cl_width(c);
            if (cw > w) w = cw;
            o += clen;
        }
    }
    r->bytes += b - a;
    if (!open) return;
    if (b == TX_LEN(L)) w = tail_width(L, w, &r->bytes);
    run_add(r, w);
}

/* n's summary, computed where it is out of date (bytes read added to
 * *scanned).  True when n's own was (its table, if any, is then out of
 * date too). */
static bool node_summary(lle__tx_node_t *n, uint64_t *cols, uint64_t *wide, uint64_t *scanned)
{
    bool fresh = !n->wok;
    if (n->leaf) {
        lle__tx_leaf_t *L = (lle__tx_leaf_t *)n;
        if (!n->wok) {
            wrun_t r = {0};
            r.fast = true;
            leaf_run(L, 0, TX_LEN(L), &r);
            *scanned += r.bytes;
            L->wcols = (uint16_t)r.cols;
            L->wwide = (uint16_t)r.wide;
            L->ltab_w = 0;
            n->wok = 1;
        }
        *cols = L->wcols;
        *wide = L->wwide;
        return fresh;
    }
    lle__tx_inner_t *I = (lle__tx_inner_t *)n;
    if (!n->wok) {
        uint64_t c = 0, w = 0;
        for (unsigned i = 0; i < I->h.n; i++) {
            uint64_t cc, cw;
            node_summary(I->child[i], &cc, &cw, scanned);
            c += cc;
            w += cw;
        }
        I->wcols = c;
        I->wwide = w;
        I->wtab_w = 0;
        n->wok = 1;
    }
    *cols = I->wcols;
    *wide = I->wwide;
    return fresh;
}

/* ---- tables: the empty columns of a subtree by where its fill starts ----------
 *
 * At width W the empty columns a fill of a subtree adds depend only on the
 * padded column it starts at modulo W (run_add).  An inner node's table
 * (wtab) holds them for each of the W residues, so that a fill adds a whole
 * subtree with wide clusters in O(1) too.  A leaf's function comes from its
 * wide clusters, last to first: with g_k(q) the empty columns from wide
 * cluster k on when it comes at residue q, and d_k the columns before it,
 * g_k(q) = g_k+1(q + d_k+1 - d_k) for q != W - 1, and
 * g_k(W - 1) = 1 + g_k+1(d_k+1 - d_k): one array read through a moving
 * offset, with one entry written per wide cluster (leaf_table).  A node's
 * table chains its children's functions for every residue: O(W) a child.
 * A leaf keeps its function as a table too (ltab, leaf_tab), so that a
 * node an edit went through is filled through, and gets its table again,
 * reading the clusters of the leaf the edit changed only. */

/* Leaf L's function at width W: the empty columns of a fill that starts at
 * residue q are A[(q + *c0) % W]. */
static void leaf_table(const lle__tx_leaf_t *L, unsigned W, uint32_t *A, unsigned *c0,
                       uint64_t *scanned)
{
    uint32_t pos[TX_CAP];
    wrun_t r = {0};
    r.wpos = pos;
    r.fast = true;
    leaf_run(L, 0, TX_LEN(L), &r);
    *scanned += r.bytes;
    memset(A, 0, W * sizeof *A);
    unsigned off = 0;
    for (size_t k = r.nw; k-- > 0;) {
        if (k + 1 < r.nw) off = (unsigned)((off + (pos[k + 1] - pos[k])) % W);
        A[(off + W - 1) % W] = 1 + A[off];
    }
    *c0 = r.nw ? (unsigned)((pos[0] + off) % W) : 0;
}

/* Leaf tables (ltab) are kept for widths LTAB_MIN to LTAB_MAX, a byte a
 * residue: at a width of 8 or more, between two columns a leaf's fill
 * leaves empty come 7 columns or more of its clusters, 7 bytes or more, so
 * a leaf of 1 KiB leaves at most 148; up to 256 columns a table costs at
 * most a quarter of a byte per byte of the leaf's text. */
#define LTAB_MIN 8
#define LTAB_MAX 256

/* L's table for width W (L's summary up to date), made when out of date;
 * NULL when none is kept (W out of range, no memory). */
static const uint8_t *leaf_tab(lle_text_t *t, lle__tx_leaf_t *L, unsigned W, uint64_t *scanned)
{
    if (L->ltab_w == W) return L->ltab;
    if (W < LTAB_MIN || W > LTAB_MAX) return NULL;
    if (L->ltab_cap < W) {
        uint8_t *tab = L->ltab ? lle_pool_realloc(t->m, L->ltab, W)
                               : lle_pool_alloc(t->m, LLE_POOL_BUFFER, W);
        if (!tab) return NULL;
        t->wtab_bytes += W - L->ltab_cap;
        L->ltab = tab;
        L->ltab_cap = (uint16_t)W;
    }
    uint32_t A[LTAB_MAX];
    unsigned c0;
    leaf_table(L, W, A, &c0, scanned);
    L->ltab_w = 0;
    for (unsigned q = 0; q < W; q++) {
        uint32_t e = A[(q + c0) % W];
        if (e > UINT8_MAX) return NULL; /* cannot happen (above); not kept */
        L->ltab[q] = (uint8_t)e;
    }
    L->ltab_w = (uint16_t)W;
    return L->ltab;
}

/* Make I's table for width r->width (I's summary up to date).  False when
 * memory is short (the fill then goes into I). */
static bool build_table(wrun_t *r, lle__tx_inner_t *I)
{
    unsigned W = r->width;
    lle_text_t *t = r->t;
    /* the children's tables first: the scratch is shared */
    for (unsigned i = 0; i < I->h.n; i++) {
        lle__tx_node_t *c = I->child[i];
        uint64_t cols, wide;
        node_summary(c, &cols, &wide, &r->bytes);
        if (wide && !c->leaf && ((lle__tx_inner_t *)c)->wtab_w != W &&
            !build_table(r, (lle__tx_inner_t *)c))
            return false;
    }
    if (!r->scr && !(r->scr = lle_pool_alloc(t->m, LLE_POOL_TEMP, 2 * (size_t)W * sizeof *r->scr)))
        return false;
    if (I->wtab_cap < W) {
        uint32_t *tab = I->wtab ? lle_pool_realloc(t->m, I->wtab, W * sizeof *tab)
                                : lle_pool_alloc(t->m, LLE_POOL_BUFFER, W * sizeof *tab);
        if (!tab) return false;
        t->wtab_bytes += (W - I->wtab_cap) * sizeof *tab;
        I->wtab = tab;
        I->wtab_cap = W;
    }
    uint32_t *tab = I->wtab, *cur = r->scr, *A = r->scr + W;
    for (unsigned q = 0; q < W; q++) {
        cur[q] = q;
        tab[q] = 0;
    }
    unsigned off = 0; /* columns still to add to every cur[] */
    for (unsigned i = 0; i < I->h.n; i++) {
        lle__tx_node_t *c = I->child[i];
        uint64_t cols, wide;
        node_summary(c, &cols, &wide, &r->bytes);
        unsigned cm = (unsigned)(cols % W);
        if (!wide) {
            off = (off + cm) % W;
            continue;
        }
        const uint32_t *f = A;
        const uint8_t *lt = NULL;
        unsigned c0 = 0;
        if (c->leaf) {
            lt = leaf_tab(t, (lle__tx_leaf_t *)c, W, &r->bytes);
            if (!lt) leaf_table((const lle__tx_leaf_t *)c, W, A, &c0, &r->bytes);
        } else {
            f = ((const lle__tx_inner_t *)c)->wtab;
        }
        for (unsigned q = 0; q < W; q++) {
            unsigned x = cur[q] + off;
            if (x >= W) x -= W;
            unsigned y = x + c0;
            if (y >= W) y -= W;
            uint32_t e = lt ? lt[y] : f[y];
            tab[q] += e;
            cur[q] = (unsigned)(((uint64_t)x + cm + e) % W);
        }
        off = 0;
    }
    I->wtab_w = W;
    return true;
}

/* Add to r the clusters that start in [lo, hi) of subtree n (which starts
 * at byte base): whole subtrees without a wide cluster by their summary,
 * whole inner nodes with a table by it, the rest cluster by cluster.  A
 * node whose summary had to be recomputed (an edit went through it) gets
 * no table now: the fill goes into it, and the table is made at the next
 * fill that finds the node unchanged. */
static void fold(lle__tx_node_t *n, uint64_t base, uint64_t lo, uint64_t hi, wrun_t *r)
{
    if (n->leaf) {
        lle__tx_leaf_t *L = (lle__tx_leaf_t *)n;
        uint64_t len = TX_LEN(L);
        leaf_run(L, lo > base ? (size_t)(lo - base) : 0,
                 hi - base < len ? (size_t)(hi - base) : (size_t)len, r);
        return;
    }
    lle__tx_inner_t *I = (lle__tx_inner_t *)n;
    for (unsigned i = 0; i < I->h.n && base < hi; i++) {
        uint64_t end = base + I->cs[F_BYTES][i];
        if (end > lo) {
            lle__tx_node_t *c = I->child[i];
            uint64_t cols, wide;
            bool whole = lo <= base && end <= hi, fresh = whole && node_summary(c, &cols, &wide, &r->bytes);
            lle__tx_inner_t *C = (lle__tx_inner_t *)c;
            const uint8_t *lt;
            if (whole && !wide) {
                r->cols += cols;
                r->pad += cols;
            } else if (whole && !c->leaf && r->width <= WTAB_MAX &&
                       (C->wtab_w == r->width || (!fresh && build_table(r, C)))) {
                uint32_t e = C->wtab[r->pad % r->width];
                r->cols += cols;
                r->wide += wide;
                r->pad += cols + e;
            } else if (whole && c->leaf && !fresh &&
                       (lt = leaf_tab(r->t, (lle__tx_leaf_t *)c, r->width, &r->bytes)) != NULL) {
                r->cols += cols;
                r->wide += wide;
                r->pad += cols + lt[r->pad % r->width];
            } else {
                fold(c, base, lo, hi, r);
            }
        }
        base = end;
    }
}

/* wrap_scan's result, the fill of a long line measured through the tree
 * when the width is 2 or more. */
static scan_t line_scan(lle_text_t *t, size_t start, size_t stop)
{
    uint64_t lo;
    lle__tx_leaf_t *L = lle__tx_find(t, F_BYTES, start, &lo, NULL, 0);
    size_t room = TX_LEN(L) - (size_t)lo, end = stop;
    bool plain = t->width < 2;
    if (!plain && stop == SIZE_MAX) {
        plain = lle__tx_leaf_nl_from(L, (size_t)lo) < TX_LEN(L) || !L->next;
        if (!plain) {
            size_t line = lle__tx_line_of(t, start);
            end = line < lle__tx_total(t, F_NLS) ? lle__tx_line_start(t, line + 1) - 1
                                                  : (size_t)lle__tx_total(t, F_BYTES);
        }
    } else if (!plain) {
        plain = stop - start <= room;
    }
    if (plain) {
        scan_t s = fill_at(t, L, (size_t)lo, start, stop);
        t->wrap_scanned += s.bytes;
        return s;
    }
    wrun_t r = {0};
    r.width = t->width;
    r.place = true;
    r.fast = true;
    r.t = t;
    fold(t->root, 0, start, end, &r);
    if (r.scr) lle_pool_free(t->m, r.scr);
    t->wrap_scanned += r.bytes;
    scan_t s = {1, 0, 0, 0, false};
    if (r.pad) {
        s.rows = (size_t)((r.pad - 1) / t->width + 1);
        s.col = (size_t)(r.pad - (uint64_t)(s.rows - 1) * t->width);
    }
    s.cols = r.cols;
    s.wide = r.wide != 0;
    return s;
}

/* ---- from a row and a column to a byte -------------------------------------
 *
 * lle_text_row_col_to_byte looks, in the line of the row, for the first
 * cluster that stands on a later row, or on the row and covers the column
 * or starts after it (a cluster of 0 columns covers none: it counts when
 * it stands at the column or after it); none: the end of the line.  Along
 * a line that test turns true once and stays true, so a subtree whose
 * fill ends before the target's padded column holds no such cluster and
 * is skipped by its summary or its table, and the search reads clusters
 * only in the leaves it goes into.  It makes no tables: one would cost a
 * read of every leaf under its node, as going into the node does (the
 * fills make them, line_scan). */

typedef struct cell {
    size_t row, col; /* in the line, from 0 */
} cell_t;

/* Whether a cluster of w columns placed at row `row`, column `col` of its
 * line is the one looked for at q. */
static inline bool cell_hit(size_t row, size_t col, size_t w, const cell_t *q)
{
    if (row != q->row) return row > q->row;
    return w ? col + w > q->col : col >= q->col;
}

typedef struct seek {
    wrun_t   r;      /* the fill so far (r.pad: padded columns) */
    bool     greedy; /* width 1: placed by place() in s, no padded count */
    scan_t   s;
    cell_t   q;
    uint64_t lim;    /* q as a padded column: a fill that ends before it holds no hit */
    size_t   found;  /* the cluster's byte offset */
} seek_t;

/* The next cluster, of w columns, placed (run_add's padded count, or
 * place() at width 1), and tested: true when it is the one looked for.
 * Its padded column P is where it starts; a cluster of 0 columns at a
 * multiple of W (but 0) stands at the end of the row before. */
static bool seek_add(seek_t *k, unsigned w)
{
    wrun_t *r = &k->r;
    unsigned W = r->width;
    if (k->greedy) {
        place(&k->s, w, W);
        return cell_hit(k->s.rows - 1, k->s.col - w, w, &k->q);
    }
    if (w >= 2 && r->pad % W == W - 1u) r->pad++;
    uint64_t P = r->pad;
    size_t row = (size_t)(P / W), col = (size_t)(P % W);
    if (!w && P && !col) {
        row--;
        col = W;
    }
    r->pad += w;
    return cell_hit(row, col, w, &k->q);
}

/* leaf_run (reference reading) of L's logical [a, b), L starting at byte
 * base, stopping at the cluster looked for (k->found). */
static bool leaf_seek(const lle__tx_leaf_t *L, uint64_t base, size_t a, size_t b, seek_t *k)
{
    bool open = false;
    unsigned w = 0;
    size_t cs = 0, o = a;
    for (; o < b;) {
        size_t clen;
        int32_t c = lle__tx_decode(L, o, &clen);
        if (lle__tx_bit(L, o)) {
            if (open && seek_add(k, w)) break;
            open = true;
            w = 0;
            cs = o;
        }
        unsigned cw = cl_width(c);
        if (cw > w) w = cw;
        o += clen;
    }
    k->r.bytes += o - a;
    if (o < b) {
        k->found = (size_t)base + cs;
        return true;
    }
    if (!open) return false;
    if (b == TX_LEN(L)) w = tail_width(L, w, &k->r.bytes);
    if (!seek_add(k, w)) return false;
    k->found = (size_t)base + cs;
    return true;
}

/* fold() with the test: true when the cluster looked for is in [lo, hi)
 * of subtree n (which starts at byte base); k->found then holds it. */
static bool fold_seek(lle__tx_node_t *n, uint64_t base, uint64_t lo, uint64_t hi, seek_t *k)
{
    if (n->leaf) {
        lle__tx_leaf_t *L = (lle__tx_leaf_t *)n;
        uint64_t len = TX_LEN(L);
        return leaf_seek(L, base, lo > base ? (size_t)(lo - base) : 0,
                         hi - base < len ? (size_t)(hi - base) : (size_t)len, k);
    }
    lle__tx_inner_t *I = (lle__tx_inner_t *)n;
    wrun_t *r = &k->r;
    for (unsigned i = 0; i < I->h.n && base < hi; i++) {
        uint64_t end = base + I->cs[F_BYTES][i];
        if (end > lo) {
            lle__tx_node_t *c = I->child[i];
            if (!k->greedy && lo <= base && end <= hi) {
                uint64_t cols, wide, e = 0;
                node_summary(c, &cols, &wide, &r->bytes);
                bool known = !wide;
                lle__tx_inner_t *C = (lle__tx_inner_t *)c;
                if (wide && !c->leaf && C->wtab_w == r->width) {
                    e = C->wtab[r->pad % r->width];
                    known = true;
                } else if (wide && c->leaf && ((lle__tx_leaf_t *)c)->ltab_w == r->width) {
                    e = ((lle__tx_leaf_t *)c)->ltab[r->pad % r->width];
                    known = true;
                }
                if (known && r->pad + cols + e < k->lim) {
                    r->pad += cols + e;
                    base = end;
                    continue;
                }
            }
            if (fold_seek(c, base, lo, hi, k)) return true;
        }
        base = end;
    }
    return false;
}

/* The cluster looked for at q in the line [start, end): its byte offset,
 * or end when q is past the line's clusters.  At width 1 (a wide cluster
 * then overflows its row: no padded count) every leaf up to it is read. */
static size_t line_seek(lle_text_t *t, size_t start, size_t end, const cell_t *q)
{
    seek_t k = {0};
    k.r.width = t->width;
    k.greedy = t->width < 2;
    k.s.rows = 1;
    k.q = *q;
    k.lim = (uint64_t)q->row * t->width + (q->col < t->width ? q->col : t->width);
    bool hit = fold_seek(t->root, 0, start, end, &k);
    t->wrap_scanned += k.r.bytes;
    return hit ? k.found : end;
}

/* The padded count after a fill of subtree n's clusters at width W that
 * starts at pad, cluster by cluster. */
static uint64_t subtree_fill(const lle__tx_node_t *n, unsigned W, uint64_t pad)
{
    if (n->leaf) {
        const lle__tx_leaf_t *L = (const lle__tx_leaf_t *)n;
        wrun_t r = {0};
        r.width = W;
        r.place = true;
        r.pad = pad;
        leaf_run(L, 0, TX_LEN(L), &r);
        return r.pad;
    }
    const lle__tx_inner_t *I = (const lle__tx_inner_t *)n;
    for (unsigned i = 0; i < I->h.n; i++) pad = subtree_fill(I->child[i], W, pad);
    return pad;
}

/* An up-to-date table of node n at width W (an inner node's wt or a
 * leaf's lt) against fills cluster by cluster: from every residue when
 * that is cheap, else from five. */
static bool table_ok(const lle__tx_node_t *n, unsigned W, uint64_t cols, const uint32_t *wt,
                     const uint8_t *lt)
{
    bool all = n->sum.v[F_BYTES] * W <= ((uint64_t)1 << 16);
    unsigned some[] = {0, 1, W / 2, W - 2, W - 1};
    for (unsigned k = 0; k < (all ? W : 5u); k++) {
        unsigned q = all ? k : some[k];
        if (subtree_fill(n, W, q) - q - cols != (wt ? wt[q] : lt[q])) return false;
    }
    return true;
}

/* Every width summary and table marked up to date against a fresh
 * computation.  need: n's own counts are wanted (its parent's summary is
 * up to date), else only those below it are checked, and a subtree where
 * nothing is up to date is not read. */
static bool summaries_ok(const lle__tx_node_t *n, bool need, uint64_t *cols, uint64_t *wide)
{
    uint64_t c = 0, w = 0;
    if (n->leaf) {
        if (!need && !n->wok) return true;
        const lle__tx_leaf_t *L = (const lle__tx_leaf_t *)n;
        wrun_t r = {0};
        leaf_run(L, 0, TX_LEN(L), &r);
        c = r.cols;
        w = r.wide;
        if (n->wok && (L->wcols != c || L->wwide != w)) return false;
        if (n->wok && L->ltab_w && !table_ok(n, L->ltab_w, c, NULL, L->ltab)) return false;
    } else {
        const lle__tx_inner_t *I = (const lle__tx_inner_t *)n;
        for (unsigned i = 0; i < I->h.n; i++) {
            uint64_t cc = 0, cw = 0;
            if (!summaries_ok(I->child[i], need || n->wok, &cc, &cw)) return false;
            c += cc;
            w += cw;
        }
        if (n->wok && (I->wcols != c || I->wwide != w)) return false;
        if (n->wok && I->wtab_w && !table_ok(n, I->wtab_w, c, I->wtab, NULL)) return false;
    }
    *cols = c;
    *wide = w;
    return true;
}

static void set_entry(lle__tx_leaf_t *L, size_t i, lle__tx_line_t v)
{
    lle__tx_sum_t d = {{0}};
    uint32_t old = L->lines[i].rows;
    d.v[F_ROWS] = (uint64_t)v.rows - old;
    d.v[F_STALE] = (uint64_t)(v.rows == 0) - (old == 0);
    L->lines[i] = v;
    lle__tx_propagate_rows(&L->h, &d);
}

static uint32_t clamp_rows(size_t r)
{
    return r > UINT32_MAX ? UINT32_MAX : (uint32_t)r;
}

/* A line's entry from the fill of the whole line. */
static lle__tx_line_t line_entry(const scan_t *s)
{
    lle__tx_line_t v = {clamp_rows(s->rows), 0};
    if (s->cols <= TX_COLS_MAX) v.cols = (uint32_t)(s->cols + 1) | (s->wide ? TX_COLS_WIDE : 0);
    return v;
}

/* The rows of a line at the current width W from its entry's columns c,
 * when they alone decide it; 0 when they do not (or are not known).
 * Every row holds at most W columns, so the rows are at least
 * ceil(c / W), and exactly that without a wide cluster: each cluster of
 * one column takes a row's next column, or starts a row when the row is
 * full, and those of 0 stay where they are.  With wide clusters (W of 2
 * or more) a row ends with W - 1 columns only when a cluster of 2 does
 * not fit, and that cluster then starts the next row: c >= (r - 1)(W - 1)
 * + 2 for r rows of 2 or more, so r <= 1 + (c - 2) / (W - 1); where the
 * two bounds meet (a line of less than about two rows) that is the
 * count. */
static uint32_t rows_from_cols(const lle_text_t *t, lle__tx_line_t v)
{
    if (!v.cols) return 0;
    uint32_t c = (v.cols & ~TX_COLS_WIDE) - 1, W = t->width;
    uint32_t lo = c ? (c - 1) / W + 1 : 1;
    if (!(v.cols & TX_COLS_WIDE)) return lo;
    if (W < 2) return 0; /* a wide cluster overflows a row of its own */
    uint32_t hi = c >= 2 ? (c - 2) / (W - 1) + 1 : 1;
    return lo == hi ? lo : 0;
}

/* Line `line` (or entry k of leaf L) changed: its rows and columns are no
 * longer known.  After a width change (every row count stale, the sums
 * out of date until the refresh) only the columns need dropping. */
void lle__tx_rows_stale(lle_text_t *t, size_t line)
{
    static const lle__tx_line_t none = {0, 0};
    if (line == 0) {
        t->line0 = none;
        return;
    }
    /* with no row count cached, none of the columns is either, unless the
     * width changed */
    if (!t->rows_all_stale && lle__tx_total(t, F_STALE) == lle__tx_total(t, F_NLS)) return;
    uint64_t k;
    lle__tx_leaf_t *L = lle__tx_find(t, F_NLS, line - 1, &k, NULL, 0);
    lle__tx_rows_stale_entry(t, L, (size_t)k);
}

void lle__tx_rows_stale_entry(lle_text_t *t, lle__tx_leaf_t *L, size_t k)
{
    static const lle__tx_line_t none = {0, 0};
    if (t->rows_all_stale) {
        L->lines[k].cols = 0;
        return;
    }
    /* when every entry of L is stale its row cache stays untouched */
    if (L->h.sum.v[F_STALE] == L->h.sum.v[F_NLS]) return;
    if (L->lines[k].rows) set_entry(L, k, none);
}

/* The entry of the line after the newline at offset nl of leaf L, the
 * line starting at byte `start`, from a fill: of L itself when the line
 * ends in the leaf that holds its start (no descent from the root, as
 * line_scan would make), else through line_scan. */
static lle__tx_line_t line_after(lle_text_t *t, lle__tx_leaf_t *L, size_t nl, size_t start)
{
    size_t o = nl + 1;
    if (o == TX_LEN(L) && L->next) {
        L = L->next;
        o = 0;
    }
    scan_t sc;
    if (t->width >= 2 && L->next && lle__tx_leaf_nl_from(L, o) >= TX_LEN(L)) {
        sc = line_scan(t, start, SIZE_MAX);
    } else {
        sc = fill_at(t, L, o, start, SIZE_MAX);
        t->wrap_scanned += sc.bytes;
    }
    return line_entry(&sc);
}

/* Line 0's entry: from its columns when they decide its rows, else from
 * a fill. */
static void refresh_line0(lle_text_t *t)
{
    if ((t->line0.rows = rows_from_cols(t, t->line0)) != 0) return;
    scan_t sc = line_scan(t, 0, SIZE_MAX);
    t->line0 = line_entry(&sc);
}

/* Bring the stale entries of the subtree n (which starts at byte `base`)
 * up to date, each from a fill: outside a width change an entry's rows are
 * stale only when an edit dropped them, and its columns with them. */
static void refresh_node(lle_text_t *t, lle__tx_node_t *n, size_t base)
{
    if (!n->sum.v[F_STALE]) return;
    if (!n->leaf) {
        lle__tx_inner_t *I = (lle__tx_inner_t *)n;
        for (unsigned i = 0; i < I->h.n; i++) {
            lle__tx_node_t *c = I->child[i];
            refresh_node(t, c, base);
            base += (size_t)c->sum.v[F_BYTES];
        }
        return;
    }
    lle__tx_leaf_t *L = (lle__tx_leaf_t *)n;
    size_t len = TX_LEN(L), k = 0;
    for (size_t o = lle__tx_leaf_nl_from(L, 0); o < len && L->h.sum.v[F_STALE];
         o = lle__tx_leaf_nl_from(L, o + 1), k++)
        if (!L->lines[k].rows) set_entry(L, k, line_after(t, L, o, base + o + 1));
}

/* After a width change: every line in one pass over the text (those whose
 * columns decide their rows without reading them), then the sums of every
 * node. */
static void refresh_all(lle_text_t *t)
{
    size_t x = 0;
    refresh_line0(t);
    for (lle__tx_leaf_t *L = t->first; L; L = L->next) {
        size_t nls = (size_t)L->h.sum.v[F_NLS], o = 0, ko = SIZE_MAX; /* o: newline ko's offset */
        uint64_t rows = 0;
        for (size_t k = 0; k < nls; k++) {
            lle__tx_line_t *v = &L->lines[k];
            if ((v->rows = rows_from_cols(t, *v)) == 0) {
                /* the newline's offset, found only for a line to fill */
                if (ko == SIZE_MAX) {
                    o = lle__tx_leaf_nl_from(L, 0);
                    ko = 0;
                }
                for (; ko < k; ko++) o = lle__tx_leaf_nl_from(L, o + 1);
                *v = line_after(t, L, o, x + o + 1);
            }
            rows += v->rows;
        }
        /* the leaf's sums; the inner nodes' follow in resum() */
        L->h.sum.v[F_ROWS] = rows;
        L->h.sum.v[F_STALE] = 0;
        x += TX_LEN(L);
    }
}

static void resum(lle__tx_node_t *n)
{
    if (n->leaf) return;
    lle__tx_inner_t *I = (lle__tx_inner_t *)n;
    n->sum.v[F_ROWS] = n->sum.v[F_STALE] = 0;
    for (unsigned i = 0; i < I->h.n; i++) {
        const lle__tx_node_t *c = I->child[i];
        resum(I->child[i]);
        I->cs[F_ROWS][i] = c->sum.v[F_ROWS];
        I->cs[F_STALE][i] = c->sum.v[F_STALE];
        n->sum.v[F_ROWS] += c->sum.v[F_ROWS];
        n->sum.v[F_STALE] += c->sum.v[F_STALE];
    }
}

static void refresh(lle_text_t *t)
{
    if (t->rows_all_stale) {
        refresh_all(t);
        resum(t->root);
        t->rows_all_stale = false;
        return;
    }
    if (!t->line0.rows) refresh_line0(t);
    refresh_node(t, t->root, 0);
}

/* A line's entry against the reference fill of the line at `start`: its
 * columns when known (whatever the width), its rows when known and the
 * width did not change since; with the rows stale, the columns too. */
static bool entry_ok(const lle_text_t *t, lle__tx_line_t v, size_t start)
{
    if (!v.rows && !v.cols) return true;
    if (!t->rows_all_stale && !v.rows) return false;
    scan_t s = wrap_scan(t, start, SIZE_MAX);
    lle__tx_line_t want = line_entry(&s);
    if (v.cols && v.cols != want.cols) return false;
    return t->rows_all_stale || v.rows == want.rows;
}

lle_result_t lle__tx_rows_check(const lle_text_t *t)
{
    uint64_t cols, wide;
    if (!summaries_ok(t->root, false, &cols, &wide)) return LLE_ERROR_CORRUPTION;
    if (!entry_ok(t, t->line0, 0)) return LLE_ERROR_CORRUPTION;
    size_t x = 0;
    for (const lle__tx_leaf_t *L = t->first; L; L = L->next) {
        size_t len = TX_LEN(L), k = 0;
        uint64_t rows = 0, stale = 0;
        for (size_t o = 0; o < len; o++) {
            if (lle__tx_byte(L, o) != '\n') continue;
            lle__tx_line_t v = L->lines[k++];
            if (!entry_ok(t, v, x + o + 1)) return LLE_ERROR_CORRUPTION;
            rows += v.rows;
            stale += v.rows == 0;
        }
        if (k != L->h.sum.v[F_NLS] ||
            (!t->rows_all_stale && (rows != L->h.sum.v[F_ROWS] || stale != L->h.sum.v[F_STALE])))
            return LLE_ERROR_CORRUPTION;
        x += len;
    }
    return LLE_SUCCESS;
}

/* ---- public calls ---------------------------------------------------------------- */

lle_result_t lle_text_set_wrap_width(lle_text_t *t, unsigned width)
{
    if (!t) return LLE_ERROR_NULL_PARAMETER;
    if (width == 0 || width > 65535) return LLE_ERROR_INVALID_ARGUMENT;
    if (width != t->width) {
        t->width = width;
        t->rows_all_stale = true;
        t->line0.rows = 0;
    }
    return LLE_SUCCESS;
}

lle_result_t lle_text_wrap_rows(lle_text_t *t, size_t *rows)
{
    if (!t || !rows) return LLE_ERROR_NULL_PARAMETER;
    lle_result_t r = lle__tx_load(t);
    if (r != LLE_SUCCESS) return r;
    refresh(t);
    *rows = t->line0.rows + (size_t)lle__tx_total(t, F_ROWS);
    return LLE_SUCCESS;
}

lle_result_t lle_text_line_rows(lle_text_t *t, size_t line, size_t *rows)
{
    if (!t || !rows) return LLE_ERROR_NULL_PARAMETER;
    lle_result_t r = lle__tx_load(t);
    if (r != LLE_SUCCESS) return r;
    if (line > lle__tx_total(t, F_NLS)) return LLE_ERROR_INVALID_LINE_INDEX;
    refresh(t);
    if (line == 0) {
        *rows = t->line0.rows;
        return LLE_SUCCESS;
    }
    uint64_t k;
    lle__tx_leaf_t *L = lle__tx_find(t, F_NLS, line - 1, &k, NULL, 0);
    *rows = L->lines[k].rows;
    return LLE_SUCCESS;
}

/* First row of `line` (refreshed, line in range). */
static size_t line_row(const lle_text_t *t, size_t line)
{
    if (line == 0) return 0;
    uint64_t k;
    lle__tx_sum_t before;
    lle__tx_leaf_t *L = lle__tx_find(t, F_NLS, line - 1, &k, &before, TX_NEED(F_ROWS));
    size_t row = t->line0.rows + (size_t)before.v[F_ROWS];
    for (size_t i = 0; i < k; i++) row += L->lines[i].rows;
    return row;
}

lle_result_t lle_text_line_to_row(lle_text_t *t, size_t line, size_t *row)
{
    if (!t || !row) return LLE_ERROR_NULL_PARAMETER;
    lle_result_t r = lle__tx_load(t);
    if (r != LLE_SUCCESS) return r;
    if (line > lle__tx_total(t, F_NLS)) return LLE_ERROR_INVALID_LINE_INDEX;
    refresh(t);
    *row = line_row(t, line);
    return LLE_SUCCESS;
}

/* The line of `row` and the row within it (refreshed, row in range). */
static void row_line(const lle_text_t *t, size_t row, size_t *line, size_t *in)
{
    if (row < t->line0.rows) {
        *line = 0;
        *in = row;
        return;
    }
    uint64_t k;
    lle__tx_sum_t before;
    lle__tx_leaf_t *L = lle__tx_find(t, F_ROWS, row - t->line0.rows, &k, &before, TX_NEED(F_NLS));
    size_t i = 0;
    while (k >= L->lines[i].rows) k -= L->lines[i++].rows;
    *line = (size_t)before.v[F_NLS] + i + 1;
    *in = (size_t)k;
}

lle_result_t lle_text_row_to_line(lle_text_t *t, size_t row, size_t *line, size_t *row_in_line)
{
    if (!t || !line) return LLE_ERROR_NULL_PARAMETER;
    lle_result_t r = lle__tx_load(t);
    if (r != LLE_SUCCESS) return r;
    refresh(t);
    if (row >= t->line0.rows + lle__tx_total(t, F_ROWS)) return LLE_ERROR_INVALID_POSITION;
    size_t in;
    row_line(t, row, line, &in);
    if (row_in_line) *row_in_line = in;
    return LLE_SUCCESS;
}

lle_result_t lle_text_byte_to_row_col(lle_text_t *t, size_t pos, size_t *row, size_t *col)
{
    if (!t || !row || !col) return LLE_ERROR_NULL_PARAMETER;
    lle_result_t r = lle__tx_load(t);
    if (r != LLE_SUCCESS) return r;
    lle__tx_where_t w;
    r = lle__tx_locate(t, pos, &w);
    if (r != LLE_SUCCESS) return r;
    refresh(t);
    scan_t s = line_scan(t, w.line_start, pos);
    *row = line_row(t, w.line) + s.rows - 1;
    *col = s.col;
    return LLE_SUCCESS;
}

lle_result_t lle_text_row_col_to_byte(lle_text_t *t, size_t row, size_t col, size_t *pos)
{
    if (!t || !pos) return LLE_ERROR_NULL_PARAMETER;
    lle_result_t r = lle__tx_load(t);
    if (r != LLE_SUCCESS) return r;
    refresh(t);
    if (row >= t->line0.rows + lle__tx_total(t, F_ROWS)) return LLE_ERROR_INVALID_POSITION;
    size_t line;
    cell_t q = {0, col};
    row_line(t, row, &line, &q.row);
    size_t start = lle__tx_line_start(t, line);
    size_t end = line < lle__tx_total(t, F_NLS) ? lle__tx_line_start(t, line + 1) - 1
                                                : (size_t)lle__tx_total(t, F_BYTES);
    *pos = line_seek(t, start, end, &q);
    return LLE_SUCCESS;
}
