/*
 * rope.c - the text's B-tree: leaves of gap buffers, inner nodes with
 * subtree sums, structural insertion and deletion.
 *
 * Design (see text_internal.h for the invariants):
 * - An insertion that fits its leaf goes into the leaf's gap.  One that
 *   does not cuts the leaf at the insertion point: the tail moves to a new
 *   leaf, the inserted text fills the old leaf up to TX_FILL and new leaves
 *   of TX_FILL bytes after it (cut at codepoint boundaries).  New leaves go
 *   into the parent; a parent of more than TX_FANOUT children splits in
 *   two, up to the root.
 * - A deletion removes bytes leaf by leaf (whole leaves are unlinked), then
 *   settles the two leaves where it cut: one under a quarter full is merged
 *   with a neighbour when both fit in TX_FILL, else takes bytes from it
 *   until both hold half of the two (settle).  An inner node that lost
 *   children is merged with a sibling, or shares a sibling's children, when
 *   it has fewer than TX_MIN_KIDS (inner_fix); one left empty goes, and a
 *   root with one child is replaced by it.  The depth therefore follows the
 *   leaves the text has now, not the most it ever had.
 * - An edit that stays inside one leaf (lle__tx_leaf_replace) swaps the
 *   deleted bytes for the new ones at the gap and sends one delta up, its
 *   change of clusters included (textbuf.c, edit_in_leaf); it settles the
 *   leaf only when it fell under a quarter.
 * - Leaves built from new text keep their gap in the middle, and a descent
 *   by bytes asks for every line of the leaf it reaches before it reads any
 *   (prefetch_leaf): a keystroke in a cold part of a large text waits for
 *   memory about once for the leaf instead of several times in a row.
 * - Sums change by deltas (unsigned arithmetic modulo 2^64, so a delta may
 *   be "negative") added from the leaf up to the root, to each node and to
 *   its copy in the parent's columns: O(depth).
 * - Everything an insertion allocates is reserved first
 *   (lle__tx_reserve_insert); the structural code itself cannot fail.
 */
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "text/text_internal.h"

/* ---- bit ranges (TX_WORDS has a spare word for reads past the end) ----- */

static void bits_put(uint64_t *b, size_t pos, unsigned n, uint64_t v)
{
    size_t w = pos >> 6;
    unsigned s = (unsigned)(pos & 63);
    uint64_t mask = n == 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1);
    v &= mask;
    b[w] = (b[w] & ~(mask << s)) | (v << s);
    if (s && s + n > 64) {
        unsigned hi = s + n - 64;
        uint64_t m2 = ((uint64_t)1 << hi) - 1;
        b[w + 1] = (b[w + 1] & ~m2) | (v >> (64 - s));
    }
}

/* The 64 bits from bit pos on (the spare word covers pos + 64 past the
 * last data bit). */
static inline uint64_t bits_word(const uint64_t *b, size_t pos)
{
    size_t w = pos >> 6;
    unsigned s = (unsigned)(pos & 63);
    return s ? (b[w] >> s) | (b[w + 1] << (64 - s)) : b[w];
}

/* Copy len bits from s at sp to d at dp; d and s may be the same array and
 * the ranges may overlap.  The destination is written a whole word at a
 * time between a partial first and last word; each word is read from the
 * source before any write that could reach it (from the end when the
 * bits move up within one array). */
static void bits_move(uint64_t *d, size_t dp, const uint64_t *s, size_t sp, size_t len)
{
    if (!len) return;
    if (d == s && dp > sp) {
        size_t e = len;
        unsigned tail = (unsigned)((dp + len) & 63);
        if (tail > e) tail = (unsigned)e;
        if (tail) {
            e -= tail;
            bits_put(d, dp + e, tail, bits_word(s, sp + e));
        }
        while (e >= 64) {
            e -= 64;
            d[(dp + e) >> 6] = bits_word(s, sp + e);
        }
        if (e) bits_put(d, dp, (unsigned)e, bits_word(s, sp));
    } else {
        size_t i = (64 - (dp & 63)) & 63;
        if (i > len) i = len;
        if (i) bits_put(d, dp, (unsigned)i, bits_word(s, sp));
        for (; len - i >= 64; i += 64) d[(dp + i) >> 6] = bits_word(s, sp + i);
        if (i < len) bits_put(d, dp + i, (unsigned)(len - i), bits_word(s, sp + i));
    }
}

/* Masks of a word's bits from bit b (of the array) on, and up to bit b
 * included. */
static inline uint64_t bits_from(size_t b)
{
    return ~(uint64_t)0 << (b & 63);
}
static inline uint64_t bits_upto(size_t b)
{
    return ~(uint64_t)0 >> (63 - (b & 63));
}

static void bits_clear(uint64_t *b, size_t pos, size_t len)
{
    if (!len) return;
    size_t last = pos + len - 1, w0 = pos >> 6, w1 = last >> 6;
    if (w0 == w1) {
        b[w0] &= ~(bits_from(pos) & bits_upto(last));
        return;
    }
    b[w0] &= ~bits_from(pos);
    for (size_t w = w0 + 1; w < w1; w++) b[w] = 0;
    b[w1] &= ~bits_upto(last);
}

static uint64_t bits_count(const uint64_t *b, size_t pos, size_t len)
{
    if (!len) return 0;
    size_t last = pos + len - 1, w0 = pos >> 6, w1 = last >> 6;
    if (w0 == w1) return (uint64_t)lle__tx_pop(b[w0] & bits_from(pos) & bits_upto(last));
    uint64_t n = (uint64_t)lle__tx_pop(b[w0] & bits_from(pos));
    for (size_t w = w0 + 1; w < w1; w++) n += (uint64_t)lle__tx_pop(b[w]);
    return n + (uint64_t)lle__tx_pop(b[w1] & bits_upto(last));
}

/* ---- small helpers ---------------------------------------------------------- */

void lle__tx_wipe(lle_text_t *t, void *p, size_t n)
{
    if (!t->cfg.secure || !n) return;
    explicit_bzero(p, n);
    t->wiped += n;
}

/* The bytes a leaf counts and searches: newlines, or codepoint starts
 * (every byte but a continuation byte 10xxxxxx, which as a signed char
 * is -128..-65). */
static inline bool byte_is(char c, bool lead)
{
    return lead ? (signed char)c > -65 : c == '\n';
}
#if defined(__SSE2__)
/* 0xff in the bytes of v that are such bytes, 0 in the others. */
static inline __m128i bytes_are(__m128i v, bool lead)
{
    return lead ? _mm_cmpgt_epi8(v, _mm_set1_epi8(-65)) : _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'));
}
#endif

/* Newlines (lead false) or codepoint starts (lead true) in s[0, n).  Gap
 * moves count the newlines of the bytes they move (a few hundred on
 * average in a large text) and conversions the codepoints of up to a
 * leaf, so with SSE2 16 bytes at a time: each compare adds 1 to a byte
 * counter per match, summed (psadbw) every 255 blocks, before it can
 * overflow. */
static inline size_t count_bytes(const char *s, size_t n, bool lead)
{
    size_t k = 0;
#if defined(__SSE2__)
    if (n >= 16) {
        const __m128i zero = _mm_setzero_si128();
        const char *p = s;
        for (size_t full = n / 16; full;) {
            size_t b = full < 255 ? full : 255;
            full -= b;
            __m128i acc = zero;
            for (; b; b--, p += 16) {
                __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
                acc = _mm_sub_epi8(acc, bytes_are(v, lead));
            }
            acc = _mm_sad_epu8(acc, zero);
            k += (size_t)_mm_cvtsi128_si32(acc) + (size_t)_mm_cvtsi128_si32(_mm_srli_si128(acc, 8));
        }
        if (n & 15) {
            /* the last n % 16 bytes: the block that ends at s + n, its
             * first bytes (counted already) masked off */
            static const unsigned char last[32] = {
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + n - 16));
            __m128i m = _mm_loadu_si128((const __m128i *)(const void *)(last + (n & 15)));
            __m128i eq = _mm_and_si128(bytes_are(v, lead), m);
            eq = _mm_sad_epu8(_mm_sub_epi8(zero, eq), zero);
            k += (size_t)_mm_cvtsi128_si32(eq) + (size_t)_mm_cvtsi128_si32(_mm_srli_si128(eq, 8));
        }
        return k;
    }
#endif
    for (size_t i = 0; i < n; i++) k += byte_is(s[i], lead);
    return k;
}

size_t lle__tx_count_nl(const char *s, size_t n)
{
    return count_bytes(s, n, false);
}

size_t lle__tx_count_cps(const char *s, size_t n)
{
    return count_bytes(s, n, true);
}

/* The offset of the (*k + 1)-th such byte of s[0, n); n when there are
 * *k or fewer, and *k then less their number.  With SSE2 a block of 16
 * bytes at a time: the matches' bit mask (movemask), its set bits
 * counted, and only in the block that holds the one sought, its lowest
 * *k bits cleared. */
static inline size_t nth_byte(const char *s, size_t n, uint64_t *k, bool lead)
{
    size_t i = 0;
#if defined(__SSE2__)
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        unsigned m = (unsigned)_mm_movemask_epi8(bytes_are(v, lead));
        unsigned c = lle__tx_pop(m);
        if (*k < c) {
            for (uint64_t j = *k; j; j--) m &= m - 1;
            return i + (size_t)__builtin_ctz(m);
        }
        *k -= c;
    }
#endif
    for (; i < n; i++)
        if (byte_is(s[i], lead) && (*k)-- == 0) return i;
    return n;
}

size_t lle__tx_leaf_nth(const lle__tx_leaf_t *L, uint64_t k, bool lead)
{
    size_t gs = L->h.gs;
    /* the newlines before the gap are counted (nlg): a search for a later
     * one starts after the gap */
    if (!lead && k >= L->h.nlg) {
        k -= L->h.nlg;
    } else {
        size_t i = nth_byte(L->data, gs, &k, lead);
        if (i < gs) return i;
    }
    return gs + nth_byte(L->data + L->h.ge, TX_CAP - L->h.ge, &k, lead);
}

size_t lle__tx_leaf_nl_from(const lle__tx_leaf_t *L, size_t o)
{
    size_t gs = L->h.gs;
    if (o < gs) {
        const char *q = memchr(L->data + o, '\n', gs - o);
        if (q) return (size_t)(q - L->data);
        o = gs;
    }
    size_t ge = L->h.ge, po = o - gs + ge;
    const char *q = memchr(L->data + po, '\n', TX_CAP - po);
    return q ? (size_t)(q - L->data) - ge + gs : TX_LEN(L);
}

long lle__tx_leaf_nl_below(const lle__tx_leaf_t *L, size_t o)
{
    size_t gs = L->h.gs, ge = L->h.ge;
    if (o > gs) {
        const char *q = memrchr(L->data + ge, '\n', o - gs);
        if (q) return (long)((size_t)(q - L->data) - ge + gs);
        o = gs;
    }
    const char *q = memrchr(L->data, '\n', o);
    return q ? (long)(q - L->data) : -1;
}

/* The largest cut <= want of s[0, n) at a codepoint start (n when want >= n). */
static size_t cut_at(const char *s, size_t n, size_t want)
{
    if (want >= n) return n;
    size_t c = want;
    while (c > 0 && ((unsigned char)s[c] & 0xC0) == 0x80) c--;
    return c;
}

/* Add d to n's sums and its ancestors', and to their copies in the
 * parents' columns.  Their width summaries are out of date: everything that
 * changes a node's bytes sends a delta up (lle__tx_leaf_replace leaves it to
 * its caller). */
/* delta up n's ancestors; `widths`: what changed may change the columns
 * of clusters, so the width summaries on the way are dropped (a change of
 * cached row counts alone keeps them) */
static inline void propagate_from(lle__tx_node_t *n, const lle__tx_sum_t *delta, bool widths)
{
    lle__tx_inner_t *P = (lle__tx_inner_t *)n->parent;
    if (!P) return;
    const lle__tx_sum_t d = *delta; /* in registers: the stores below cannot change it */
    do {
        unsigned i = n->slot;
        for (int f = 0; f < F_N; f++)
            if (d.v[f]) P->cs[f][i] += d.v[f]; /* a column's line only when it changes */
        for (int f = 0; f < F_N; f++) P->h.sum.v[f] += d.v[f];
        if (widths) P->h.wok = 0;
        n = &P->h;
    } while ((P = (lle__tx_inner_t *)n->parent) != NULL);
}

void lle__tx_propagate(lle__tx_node_t *n, const lle__tx_sum_t *d)
{
    n->wok = 0;
    for (int f = 0; f < F_N; f++) n->sum.v[f] += d->v[f];
    propagate_from(n, d, true);
}

void lle__tx_propagate_up(lle__tx_node_t *n, const lle__tx_sum_t *delta)
{
    propagate_from(n, delta, true);
}

void lle__tx_propagate_rows(lle__tx_node_t *n, const lle__tx_sum_t *d)
{
    n->sum.v[F_ROWS] += d->v[F_ROWS];
    n->sum.v[F_STALE] += d->v[F_STALE];
    propagate_from(n, d, false);
}

static void sum_neg(lle__tx_sum_t *d, const lle__tx_sum_t *s)
{
    for (int f = 0; f < F_N; f++) d->v[f] = (uint64_t)0 - s->v[f];
}

/* Newlines in L's logical bytes [0, o): from the count before the gap and
 * the bytes between the gap and o. */
size_t lle__tx_leaf_nl_before(const lle__tx_leaf_t *L, size_t o)
{
    if (o <= L->h.gs) return L->h.nlg - lle__tx_count_nl(L->data + o, L->h.gs - o);
    return L->h.nlg + lle__tx_count_nl(L->data + L->h.ge, o - L->h.gs);
}

/* ---- allocation -------------------------------------------------------------- */

static lle__tx_leaf_t *leaf_alloc(lle_text_t *t, size_t rows)
{
    lle__tx_leaf_t *L = lle_pool_alloc(t->m, LLE_POOL_BUFFER, sizeof *L);
    if (!L) return NULL;
    memset(L, 0, offsetof(lle__tx_leaf_t, data));
    L->h.leaf = 1;
    L->h.ge = TX_CAP;
    if (rows) {
        L->lines = lle_pool_alloc(t->m, LLE_POOL_BUFFER, rows * sizeof *L->lines);
        if (!L->lines) {
            lle_pool_free(t->m, L);
            return NULL;
        }
        L->lines_cap = (uint32_t)rows;
    }
    return L;
}

static void leaf_release(lle_text_t *t, lle__tx_leaf_t *L)
{
    if (L->lines) {
        lle_pool_free(t->m, L->lines);
        t->lines_cap_total -= L->lines_cap;
    }
    if (L->ltab) {
        lle_pool_free(t->m, L->ltab);
        t->wtab_bytes -= L->ltab_cap;
    }
    lle__tx_wipe(t, L->data, TX_CAP);
    lle_pool_free(t->m, L);
    t->leaves--;
}

bool lle__tx_rows_reserve(lle_text_t *t, lle__tx_leaf_t *L, size_t need)
{
    if (need <= L->lines_cap) return true;
    size_t cap = L->lines_cap + L->lines_cap / 2;
    if (cap < need) cap = need;
    if (cap < 8) cap = 8;
    /* lle_pool_realloc of NULL would take it from the CUSTOM pool */
    lle__tx_line_t *r = L->lines ? lle_pool_realloc(t->m, L->lines, cap * sizeof *r)
                          : lle_pool_alloc(t->m, LLE_POOL_BUFFER, cap * sizeof *r);
    if (!r) return false;
    t->lines_cap_total += cap - L->lines_cap;
    L->lines = r;
    L->lines_cap = (uint32_t)cap;
    return true;
}

void lle__tx_inner_free(lle_text_t *t, lle__tx_inner_t *I)
{
    if (I->wtab) {
        lle_pool_free(t->m, I->wtab);
        t->wtab_bytes -= I->wtab_cap * sizeof *I->wtab;
    }
    lle_pool_free(t->m, I);
}

static lle__tx_leaf_t *take_leaf(lle_text_t *t)
{
    lle__tx_leaf_t *L = t->spare_leaves;
    t->spare_leaves = L->next;
    t->n_spare_leaves--;
    L->next = NULL;
    t->leaves++;
    t->lines_cap_total += L->lines_cap;
    return L;
}

static lle__tx_inner_t *take_inner(lle_text_t *t)
{
    lle__tx_inner_t *I = t->spare_inners;
    t->spare_inners = (lle__tx_inner_t *)I->child[0];
    t->n_spare_inners--;
    memset(I, 0, sizeof *I);
    t->inners++;
    return I;
}

void lle__tx_release_reserve(lle_text_t *t)
{
    while (t->spare_leaves) {
        lle__tx_leaf_t *L = t->spare_leaves;
        t->spare_leaves = L->next;
        if (L->lines) lle_pool_free(t->m, L->lines);
        lle_pool_free(t->m, L);
    }
    while (t->spare_inners) {
        lle__tx_inner_t *I = t->spare_inners;
        t->spare_inners = (lle__tx_inner_t *)I->child[0];
        lle_pool_free(t->m, I);
    }
    t->n_spare_leaves = t->n_spare_inners = 0;
}

static bool reserve_inners(lle_text_t *t, size_t n)
{
    while (t->n_spare_inners < n) {
        lle__tx_inner_t *I = lle_pool_alloc(t->m, LLE_POOL_BUFFER, sizeof *I);
        if (!I) return false;
        I->child[0] = (lle__tx_node_t *)t->spare_inners;
        t->spare_inners = I;
        t->n_spare_inners++;
    }
    return true;
}

/* ---- gap buffer ---------------------------------------------------------------- */

/* Move L's gap to logical offset o: the bytes between move across it with
 * their grapheme bits (the bits they leave behind are cleared: the gap's
 * bits stay 0) and the newline count before the gap follows them.  In a
 * secure text the bytes left behind in the gap are wiped. */
static void move_gap(lle_text_t *t, lle__tx_leaf_t *L, size_t o)
{
    size_t gs = L->h.gs, ge = L->h.ge;
    if (o < gs) {
        size_t d = gs - o;
        memmove(L->data + ge - d, L->data + o, d);
        L->h.nlg = (uint16_t)(L->h.nlg - lle__tx_count_nl(L->data + ge - d, d));
        bits_move(L->gb, ge - d, L->gb, o, d);
        size_t end = o + d < ge - d ? o + d : ge - d;
        bits_clear(L->gb, o, end - o);
        lle__tx_wipe(t, L->data + o, end - o);
        L->h.gs = (uint16_t)o;
        L->h.ge = (uint16_t)(ge - d);
    } else if (o > gs) {
        size_t d = o - gs;
        memmove(L->data + gs, L->data + ge, d);
        L->h.nlg = (uint16_t)(L->h.nlg + lle__tx_count_nl(L->data + gs, d));
        bits_move(L->gb, gs, L->gb, ge, d);
        size_t beg = ge > o ? ge : o;
        bits_clear(L->gb, beg, ge + d - beg);
        lle__tx_wipe(t, L->data + beg, ge + d - beg);
        L->h.gs = (uint16_t)o;
        L->h.ge = (uint16_t)(ge + d);
    }
}

/* Insert s[0, k) at o (TX_LEN(L) + k <= TX_CAP, rows capacity reserved).
 * The grapheme bits of the new bytes come from sbits at sbo (or are 0), the
 * row caches of their newlines from srows (or are stale). */
static void leaf_insert(lle_text_t *t, lle__tx_leaf_t *L, size_t o, const char *s, size_t k,
                        const uint64_t *sbits, size_t sbo, const lle__tx_line_t *srows)
{
    move_gap(t, L, o);
    size_t at = L->h.gs, nlb = L->h.nlg;
    memcpy(L->data + at, s, k);
    lle__tx_sum_t d = {{0}};
    if (sbits) {
        bits_move(L->gb, at, sbits, sbo, k);
        d.v[F_GBS] = bits_count(L->gb, at, k);
    }
    d.v[F_BYTES] = k;
    d.v[F_CPS] = lle__tx_count_cps(s, k);
    size_t knl = lle__tx_count_nl(s, k);
    d.v[F_NLS] = knl;
    L->h.gs = (uint16_t)(at + k);
    L->h.nlg = (uint16_t)(nlb + knl);
    if (knl) {
        size_t nls = (size_t)L->h.sum.v[F_NLS];
        memmove(L->lines + nlb + knl, L->lines + nlb, (nls - nlb) * sizeof *L->lines);
        if (srows) {
            memcpy(L->lines + nlb, srows, knl * sizeof *L->lines);
            for (size_t i = 0; i < knl; i++) {
                d.v[F_ROWS] += srows[i].rows;
                d.v[F_STALE] += srows[i].rows == 0;
            }
        } else {
            memset(L->lines + nlb, 0, knl * sizeof *L->lines);
            d.v[F_STALE] = knl;
        }
    }
    lle__tx_propagate(&L->h, &d);
}

/* Delete L's bytes [o, o + k). */
static void leaf_delete(lle_text_t *t, lle__tx_leaf_t *L, size_t o, size_t k)
{
    move_gap(t, L, o);
    size_t nlb = L->h.nlg, ge = L->h.ge;
    const char *del = L->data + ge;
    lle__tx_sum_t s = {{0}};
    s.v[F_BYTES] = k;
    s.v[F_CPS] = lle__tx_count_cps(del, k);
    size_t knl = lle__tx_count_nl(del, k);
    s.v[F_NLS] = knl;
    s.v[F_GBS] = bits_count(L->gb, ge, k);
    if (knl) {
        size_t nls = (size_t)L->h.sum.v[F_NLS];
        for (size_t i = nlb; i < nlb + knl; i++) {
            s.v[F_ROWS] += L->lines[i].rows;
            s.v[F_STALE] += L->lines[i].rows == 0;
        }
        memmove(L->lines + nlb, L->lines + nlb + knl, (nls - nlb - knl) * sizeof *L->lines);
    }
    bits_clear(L->gb, ge, k);
    lle__tx_wipe(t, L->data + ge, k);
    L->h.ge = (uint16_t)(ge + k);
    lle__tx_sum_t d;
    sum_neg(&d, &s);
    lle__tx_propagate(&L->h, &d);
}

void lle__tx_leaf_seek(lle_text_t *t, lle__tx_leaf_t *L, size_t o)
{
    move_gap(t, L, o);
}

/* The edit of one leaf: the gap is at the edit point (lle__tx_leaf_seek),
 * the `del` bytes after it go, s[0, n) comes in, and L's sums change by
 * one delta, which the caller sends up to the root once the new text's
 * clusters are counted in it too (textbuf.c, edit_in_leaf).  The caller
 * checked that the result fits TX_CAP and the row cache, and does not
 * leave an empty leaf in a text of several. */
void lle__tx_leaf_replace(lle_text_t *t, lle__tx_leaf_t *L, size_t del, const char *s, size_t n,
                          lle__tx_sum_t *up)
{
    size_t gs = L->h.gs, ge = L->h.ge, nlb = L->h.nlg;
    size_t nls = (size_t)L->h.sum.v[F_NLS];
    const char *dp = L->data + ge;
    lle__tx_sum_t d = {{0}};
    size_t dnl = 0, knl = 0;
    if (del) {
        dnl = lle__tx_count_nl(dp, del);
        d.v[F_CPS] = (uint64_t)0 - lle__tx_count_cps(dp, del);
        d.v[F_GBS] = (uint64_t)0 - bits_count(L->gb, ge, del);
        for (size_t i = nlb; i < nlb + dnl; i++) {
            d.v[F_ROWS] -= L->lines[i].rows;
            d.v[F_STALE] -= L->lines[i].rows == 0;
        }
        bits_clear(L->gb, ge, del);
        lle__tx_wipe(t, L->data + ge, del);
        ge += del;
        L->h.ge = (uint16_t)ge;
    }
    if (n) {
        memcpy(L->data + gs, s, n);
        knl = lle__tx_count_nl(s, n);
        d.v[F_CPS] += lle__tx_count_cps(s, n);
        L->h.gs = (uint16_t)(gs + n);
        L->h.nlg = (uint16_t)(nlb + knl);
        d.v[F_STALE] += knl;
    }
    if (dnl != knl)
        memmove(L->lines + nlb + knl, L->lines + nlb + dnl, (nls - nlb - dnl) * sizeof *L->lines);
    if (knl) memset(L->lines + nlb, 0, knl * sizeof *L->lines);
    d.v[F_BYTES] = (uint64_t)n - del;
    d.v[F_NLS] = (uint64_t)knl - dnl;
    for (int f = 0; f < F_N; f++) L->h.sum.v[f] += d.v[f];
    L->h.wok = 0;
    *up = d;
}


/* Move L's bytes [o, len) to offset `at` of leaf T (bits and row caches
 * with them). */
static void leaf_move_tail(lle_text_t *t, lle__tx_leaf_t *L, size_t o, lle__tx_leaf_t *T,
                           size_t at)
{
    size_t n = TX_LEN(L) - o;
    if (!n) return;
    move_gap(t, L, o);
    size_t nlb = L->h.nlg;
    leaf_insert(t, T, at, L->data + L->h.ge, n, L->gb, L->h.ge, L->lines ? L->lines + nlb : NULL);
    leaf_delete(t, L, o, n);
}

/* ---- tree structure -------------------------------------------------------------- */

/* Put c at slot i of P, its sums into P's columns. */
static void put_child(lle__tx_inner_t *P, unsigned i, lle__tx_node_t *c)
{
    P->child[i] = c;
    P->h.wok = 0;
    c->parent = &P->h;
    c->slot = (uint8_t)i;
    for (int f = 0; f < F_N; f++) P->cs[f][i] = c->sum.v[f];
}

static void recompute(lle__tx_inner_t *I)
{
    I->h.wok = 0;
    for (int f = 0; f < F_N; f++) {
        uint64_t v = 0;
        for (unsigned i = 0; i < I->h.n; i++) v += I->cs[f][i];
        I->h.sum.v[f] = v;
    }
}

static void attach_after(lle_text_t *t, lle__tx_node_t *X, lle__tx_node_t *N, bool add);

/* Split P (TX_FANOUT + 1 children) in two; `last` is the child just put
 * in.  When it went in at the end (text appended, a paste built leaf by
 * leaf) P keeps TX_FANOUT children and the new node takes the one: nodes
 * built in order stay full, the tree low.  Else each takes half. */
static void split_inner(lle_text_t *t, lle__tx_inner_t *P, unsigned last)
{
    lle__tx_inner_t *Q = take_inner(t);
    unsigned half = last == P->h.n - 1u ? P->h.n - 1u : P->h.n / 2;
    Q->h.n = (uint8_t)(P->h.n - half);
    for (unsigned i = 0; i < Q->h.n; i++) put_child(Q, i, P->child[half + i]);
    P->h.n = (uint8_t)half;
    P->h.wok = 0;
    recompute(Q);
    for (int f = 0; f < F_N; f++) P->h.sum.v[f] -= Q->h.sum.v[f];
    if (P->h.parent) {
        lle__tx_inner_t *G = (lle__tx_inner_t *)P->h.parent;
        for (int f = 0; f < F_N; f++) G->cs[f][P->h.slot] = P->h.sum.v[f];
    }
    attach_after(t, &P->h, &Q->h, false);
}

/* Put N right after X under X's parent (a new root when X is the root).
 * add: N's sums are new to the tree (else they are already counted). */
static void attach_after(lle_text_t *t, lle__tx_node_t *X, lle__tx_node_t *N, bool add)
{
    if (!X->parent) {
        lle__tx_inner_t *R = take_inner(t);
        R->h.n = 2;
        put_child(R, 0, X);
        put_child(R, 1, N);
        recompute(R);
        t->root = &R->h;
        t->depth++;
        return;
    }
    lle__tx_inner_t *P = (lle__tx_inner_t *)X->parent;
    unsigned i = X->slot + 1u;
    for (unsigned j = P->h.n; j > i; j--) put_child(P, j, P->child[j - 1]);
    put_child(P, i, N);
    P->h.n++;
    if (add) lle__tx_propagate(&P->h, &N->sum);
    if (P->h.n > TX_FANOUT) split_inner(t, P, i);
}

/* Sums of I from its columns, and its copy in its parent's columns. */
static void resum(lle__tx_inner_t *I)
{
    recompute(I);
    if (I->h.parent) {
        lle__tx_inner_t *G = (lle__tx_inner_t *)I->h.parent;
        for (int f = 0; f < F_N; f++) G->cs[f][I->h.slot] = I->h.sum.v[f];
    }
}

/* Remove child slot i of P (the child's sums are already gone from P's, or
 * counted in another slot). */
static void drop_slot(lle__tx_inner_t *P, unsigned i)
{
    for (unsigned j = i; j + 1u < P->h.n; j++) put_child(P, j, P->child[j + 1]);
    P->h.n--;
    P->h.wok = 0;
}

/* Rebalance inner node P after it lost children: while it has fewer than
 * TX_MIN_KIDS and a sibling, it merges with the sibling when their
 * children fit one node (and the parent, which lost one, is looked at
 * next), else the two share their children evenly.  The text and the
 * parent's sums do not change, only where the children hang: every inner
 * node that is not the root and has a sibling keeps at least TX_MIN_KIDS
 * children after a deletion, so the depth stays O(log n) in the leaves
 * the text has now, not the most it ever had. */
static void inner_fix(lle_text_t *t, lle__tx_inner_t *P)
{
    while (P->h.parent && P->h.n < TX_MIN_KIDS) {
        lle__tx_inner_t *G = (lle__tx_inner_t *)P->h.parent;
        if (G->h.n < 2) return; /* no sibling: G goes when the root collapses */
        unsigned s = P->h.slot;
        lle__tx_inner_t *A = s ? (lle__tx_inner_t *)G->child[s - 1] : P;
        lle__tx_inner_t *B = s ? P : (lle__tx_inner_t *)G->child[s + 1];
        unsigned na = A->h.n, nb = B->h.n;
        if (na + nb <= TX_FANOUT) {
            for (unsigned j = 0; j < nb; j++) put_child(A, na + j, B->child[j]);
            A->h.n = (uint8_t)(na + nb);
            resum(A);
            drop_slot(G, B->h.slot);
            lle__tx_inner_free(t, B);
            t->inners--;
            P = G;
            continue;
        }
        unsigned want = (na + nb) / 2;
        if (na > want) {
            unsigned k = na - want;
            for (unsigned j = nb; j-- > 0;) put_child(B, j + k, B->child[j]);
            for (unsigned j = 0; j < k; j++) put_child(B, j, A->child[want + j]);
        } else {
            unsigned k = want - na;
            for (unsigned j = 0; j < k; j++) put_child(A, na + j, B->child[j]);
            for (unsigned j = k; j < nb; j++) put_child(B, j - k, B->child[j]);
        }
        B->h.n = (uint8_t)(na + nb - want);
        A->h.n = (uint8_t)want;
        resum(A);
        resum(B);
        return;
    }
}

/* Take node N (not the root) out of the tree with its sums; an inner node
 * left empty goes too, one left small is rebalanced (inner_fix), and a
 * root with one child is replaced by it. */
static void detach(lle_text_t *t, lle__tx_node_t *N)
{
    lle__tx_inner_t *P = (lle__tx_inner_t *)N->parent;
    lle__tx_sum_t d;
    sum_neg(&d, &N->sum);
    lle__tx_propagate(&P->h, &d);
    drop_slot(P, N->slot);
    N->parent = NULL;
    if (P->h.n == 0 && P->h.parent) {
        detach(t, &P->h);
        lle__tx_inner_free(t, P);
        t->inners--;
    } else {
        inner_fix(t, P);
    }
    while (!t->root->leaf && t->root->n == 1) {
        lle__tx_inner_t *R = (lle__tx_inner_t *)t->root;
        t->root = R->child[0];
        t->root->parent = NULL;
        lle__tx_inner_free(t, R);
        t->inners--;
        t->depth--;
    }
}

static void list_insert_after(lle__tx_leaf_t *X, lle__tx_leaf_t *N)
{
    N->prev = X;
    N->next = X->next;
    if (X->next) X->next->prev = N;
    X->next = N;
}

static void remove_leaf(lle_text_t *t, lle__tx_leaf_t *L)
{
    detach(t, &L->h);
    if (L->prev) L->prev->next = L->next;
    if (L->next) L->next->prev = L->prev;
    if (t->first == L) t->first = L->next;
    leaf_release(t, L);
}

/* Move X's successor's bytes to the end of X and drop the successor.
 * False, nothing changed, when X's row cache cannot grow. */
static bool merge_next(lle_text_t *t, lle__tx_leaf_t *X)
{
    lle__tx_leaf_t *N = X->next;
    if (!lle__tx_rows_reserve(t, X, (size_t)(X->h.sum.v[F_NLS] + N->h.sum.v[F_NLS]))) return false;
    leaf_move_tail(t, N, 0, X, TX_LEN(X));
    remove_leaf(t, N);
    return true;
}

/* A codepoint start of L at or after logical offset o (TX_LEN(L) at most). */
static size_t cp_up(const lle__tx_leaf_t *L, size_t o)
{
    size_t len = TX_LEN(L);
    while (o < len && (lle__tx_byte(L, o) & 0xC0) == 0x80) o++;
    return o;
}

/* Share the bytes of A and its successor B evenly (at a codepoint
 * boundary), when they are more than one leaf's fill together.  Skipped
 * when the receiving leaf's row cache cannot grow. */
static void balance(lle_text_t *t, lle__tx_leaf_t *A)
{
    lle__tx_leaf_t *B = A->next;
    size_t a = TX_LEN(A), b = TX_LEN(B), want = (a + b) / 2;
    if (a > want) {
        size_t o = cp_up(A, want);
        size_t nl = (size_t)A->h.sum.v[F_NLS] - lle__tx_leaf_nl_before(A, o);
        if (o < a && lle__tx_rows_reserve(t, B, (size_t)B->h.sum.v[F_NLS] + nl))
            leaf_move_tail(t, A, o, B, 0);
    } else {
        size_t k = cp_up(B, want - a);
        size_t nl = lle__tx_leaf_nl_before(B, k);
        if (k && k < b && lle__tx_rows_reserve(t, A, (size_t)A->h.sum.v[F_NLS] + nl)) {
            move_gap(t, B, k);
            leaf_insert(t, A, a, B->data, k, B->gb, 0, B->lines);
            leaf_delete(t, B, 0, k);
        }
    }
}

/* Settle leaf X of a text of several leaves when it is under a quarter
 * full: merge it with a neighbour when the two fit TX_FILL, else take
 * bytes from a neighbour until both hold about half of the two (at least
 * a quarter each, as the two are more than TX_FILL).  May free X and its
 * neighbours: the caller finds leaves again by position afterwards.
 * Leaves under a quarter full remain only when a row cache could not grow
 * (no memory). */
static void settle(lle_text_t *t, lle__tx_leaf_t *X)
{
    while (t->leaves > 1 && TX_LEN(X) < TX_CAP / 4) {
        lle__tx_leaf_t *N = X->next, *P = X->prev;
        if (N && TX_LEN(X) + TX_LEN(N) <= TX_FILL) {
            if (!merge_next(t, X)) return;
        } else if (P && TX_LEN(P) + TX_LEN(X) <= TX_FILL) {
            if (!merge_next(t, P)) return;
            X = P;
        } else {
            balance(t, N ? X : P);
            return;
        }
    }
}

void lle__tx_settle_at(lle_text_t *t, size_t pos)
{
    t->hint = NULL; /* leaves may go or move */
    uint64_t o;
    settle(t, lle__tx_find(t, F_BYTES, pos, &o, NULL, 0));
    lle__tx_leaf_t *L = lle__tx_find(t, F_BYTES, pos, &o, NULL, 0);
    if (L->prev) settle(t, L->prev);
}

/* ---- descent ----------------------------------------------------------------------- */

/* Ask for every line of leaf n (header, bitmap, bytes) before the first
 * of them arrives: an edit reads the header, then the bitmap and bytes
 * around o, and moves the gap, which reads and writes the bytes between
 * the gap and o, and the gap is not known until the header is read.  A
 * miss on a leaf then costs about one memory latency, with the lines
 * arriving together, not one after another.  Asking for only the header,
 * and the bitmap word and byte of o on either side of the gap, made cold
 * insertions into a 10 MB text about 12% slower (561 against 491 ns,
 * medians of 7 interleaved runs of lle-bench-text rope 10000000). */
static inline void prefetch_leaf(const lle__tx_node_t *n)
{
    for (size_t b = 0; b < sizeof(lle__tx_leaf_t); b += 64) __builtin_prefetch((const char *)n + b);
}

lle__tx_leaf_t *lle__tx_find(const lle_text_t *t, int field, uint64_t k, uint64_t *local,
                             lle__tx_sum_t *before, unsigned need)
{
    const lle__tx_node_t *n = t->root;
    uint64_t k0 = k;
    if (before) memset(before, 0, sizeof *before);
    else need = 0;
    /* the sum before the leaf of the field searched is what the descent
     * took off k: no column summed for it */
    bool self = (need & TX_NEED(field)) != 0;
    need &= ~TX_NEED(field);
    /* One field besides the searched one is summed in the scan itself
     * (a second loop over the same entries would leave at the same
     * unpredictable point again); any others (lle__tx_locate and the
     * line/column lookup need two) in a loop of their own.  With none, the
     * scan sums the searched column a second time, unused. */
    bool other = need != 0;
    int f2 = other ? __builtin_ctz(need) : field;
    need &= need - 1;
    uint64_t b2 = 0;
    /* every leaf is at level t->depth (the root is level 1) */
    for (size_t level = 1; level < t->depth; level++) {
        const lle__tx_inner_t *I = (const lle__tx_inner_t *)n;
        const uint64_t *c = I->cs[field], *c2 = I->cs[f2];
        unsigned i = 0, last = I->h.n - 1u;
        while (i < last && k >= c[i]) {
            k -= c[i];
            b2 += c2[i++];
        }
        for (unsigned m = need; m; m &= m - 1) {
            int f = __builtin_ctz(m);
            uint64_t v = 0;
            for (unsigned j = 0; j < i; j++) v += I->cs[f][j];
            before->v[f] += v;
        }
        n = I->child[i];
        if (level + 1 == t->depth && field == F_BYTES) prefetch_leaf(n);
    }
    if (other) before->v[f2] = b2;
    if (self) before->v[field] = k0 - k;
    *local = k;
    return (lle__tx_leaf_t *)n;
}

void lle__tx_copy_out(const lle_text_t *t, size_t pos, size_t n, char *buf)
{
    uint64_t o;
    lle__tx_leaf_t *L = lle__tx_find(t, F_BYTES, pos, &o, NULL, 0);
    while (n) {
        size_t len = TX_LEN(L);
        size_t take = len - o < n ? len - o : n;
        size_t a = 0;
        if (o < L->h.gs) {
            a = L->h.gs - o < take ? L->h.gs - o : take;
            memcpy(buf, L->data + o, a);
        }
        if (take > a) memcpy(buf + a, L->data + L->h.ge + (o + a - L->h.gs), take - a);
        buf += take;
        n -= take;
        o = 0;
        L = L->next;
    }
}

/* ---- whole tree --------------------------------------------------------------------- */

lle_result_t lle__tx_init_tree(lle_text_t *t)
{
    t->hint = NULL;
    lle__tx_leaf_t *L = leaf_alloc(t, 0);
    if (!L) return LLE_ERROR_OUT_OF_MEMORY;
    t->root = &L->h;
    t->first = L;
    t->leaves = 1;
    t->inners = 0;
    t->depth = 1;
    t->lines_cap_total = 0;
    return LLE_SUCCESS;
}

static void free_inners(lle_text_t *t, lle__tx_node_t *n)
{
    if (n->leaf) return;
    lle__tx_inner_t *I = (lle__tx_inner_t *)n;
    for (unsigned i = 0; i < I->h.n; i++) free_inners(t, I->child[i]);
    lle__tx_inner_free(t, I);
    t->inners--;
}

void lle__tx_free_tree(lle_text_t *t)
{
    t->hint = NULL;
    if (!t->root) return;
    free_inners(t, t->root);
    lle__tx_leaf_t *L = t->first;
    while (L) {
        lle__tx_leaf_t *nx = L->next;
        leaf_release(t, L);
        L = nx;
    }
    t->root = NULL;
    t->first = NULL;
    t->depth = 0;
}

/* ---- insertion ------------------------------------------------------------------------ */

/* The plan of an insertion that does not fit its leaf: the leaf keeps
 * [0, o) and takes s[0, a); chunks of s[a, n) of at most TX_FILL bytes
 * follow in new leaves; the old tail [o, len) goes last, in a leaf of its
 * own.  Both the reserve and the insertion walk the same plan. */
static size_t plan_first(size_t o, const char *s, size_t n)
{
    return cut_at(s, n, o < TX_FILL ? TX_FILL - o : 0);
}

lle_result_t lle__tx_reserve_insert(lle_text_t *t, size_t pos, const char *s, size_t n)
{
    uint64_t o;
    lle__tx_leaf_t *L = lle__tx_find(t, F_BYTES, pos, &o, NULL, 0);
    size_t len = TX_LEN(L), nls = (size_t)L->h.sum.v[F_NLS];
    if (len + n <= TX_CAP) {
        return lle__tx_rows_reserve(t, L, nls + lle__tx_count_nl(s, n)) ? LLE_SUCCESS : LLE_ERROR_OUT_OF_MEMORY;
    }
    size_t tail_nl = nls - lle__tx_leaf_nl_before(L, o);
    size_t a = plan_first(o, s, n);
    if (!lle__tx_rows_reserve(t, L, nls - tail_nl + lle__tx_count_nl(s, a))) return LLE_ERROR_OUT_OF_MEMORY;
    /* the leaves, in the order the insertion takes them: tail, then chunks */
    lle__tx_leaf_t **endp = &t->spare_leaves;
    size_t made = 0;
    lle_result_t r = LLE_SUCCESS;
    if (len > o) {
        lle__tx_leaf_t *T = leaf_alloc(t, tail_nl);
        if (!T) r = LLE_ERROR_OUT_OF_MEMORY;
        else {
            *endp = T;
            endp = &T->next;
            made++;
        }
    }
    for (size_t from = a; r == LLE_SUCCESS && from < n;) {
        size_t c = cut_at(s + from, n - from, TX_FILL);
        lle__tx_leaf_t *N = leaf_alloc(t, lle__tx_count_nl(s + from, c));
        if (!N) {
            r = LLE_ERROR_OUT_OF_MEMORY;
            break;
        }
        *endp = N;
        endp = &N->next;
        made++;
        from += c;
    }
    t->n_spare_leaves = made;
    if (r == LLE_SUCCESS && !reserve_inners(t, made / 4 + t->depth + 4)) r = LLE_ERROR_OUT_OF_MEMORY;
    if (r != LLE_SUCCESS) lle__tx_release_reserve(t);
    return r;
}

void lle__tx_insert_raw(lle_text_t *t, size_t pos, const char *s, size_t n)
{
    t->hint = NULL;
    uint64_t o;
    lle__tx_leaf_t *L = lle__tx_find(t, F_BYTES, pos, &o, NULL, 0);
    size_t len = TX_LEN(L);
    if (len + n <= TX_CAP) {
        leaf_insert(t, L, o, s, n, NULL, 0, NULL);
        return;
    }
    size_t a = plan_first(o, s, n);
    lle__tx_leaf_t *T = NULL;
    if (len > o) {
        T = take_leaf(t);
        leaf_move_tail(t, L, o, T, 0);
        attach_after(t, &L->h, &T->h, true);
        list_insert_after(L, T);
    }
    if (a) leaf_insert(t, L, o, s, a, NULL, 0, NULL);
    lle__tx_leaf_t *prev = L;
    for (size_t from = a; from < n;) {
        size_t c = cut_at(s + from, n - from, TX_FILL);
        lle__tx_leaf_t *N = take_leaf(t);
        leaf_insert(t, N, 0, s + from, c, NULL, 0, NULL);
        /* a new leaf keeps its gap in the middle: the first edit at an
         * unknown point of it moves a quarter of its bytes on average, not
         * half (a leaf's bytes that cross the gap are the lines an edit
         * reads into the cache) */
        move_gap(t, N, cut_at(s + from, c, c / 2));
        attach_after(t, &prev->h, &N->h, true);
        list_insert_after(prev, N);
        prev = N;
        from += c;
    }
    lle__tx_release_reserve(t);
    /* the tail and the last new leaf may be small, and so may L */
    lle__tx_settle_at(t, pos + n);
    lle__tx_settle_at(t, pos);
}

/* ---- deletion ---------------------------------------------------------------------------- */

void lle__tx_delete_raw(lle_text_t *t, size_t pos, size_t n)
{
    t->hint = NULL;
    while (n) {
        uint64_t o;
        lle__tx_leaf_t *L = lle__tx_find(t, F_BYTES, pos, &o, NULL, 0);
        size_t len = TX_LEN(L);
        size_t take = len - o < n ? len - o : n;
        if (take == len && t->leaves > 1)
            remove_leaf(t, L);
        else
            leaf_delete(t, L, o, take);
        n -= take;
    }
    lle__tx_settle_at(t, pos);
}
