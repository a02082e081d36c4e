/*
 * index.c - UTF-8 validation, grapheme clusters and position lookups.
 *
 * Grapheme boundaries are kept as bits in the leaves (text_internal.h).
 * After an edit that put new text at [pos, end) (its bits 0), only a
 * window is re-segmented: every rule of UAX #29 decides a break from the
 * text before it and the one codepoint after it, so the boundaries before
 * the codepoint that ends at pos cannot change; and segmenting from a known
 * cluster start with a fresh utf8proc state gives the same breaks as
 * segmenting from the start of the text (a cluster start resets the
 * regional-indicator pairing and the emoji ZWJ sequence rules).  The
 * window therefore starts at the last cluster start before pos and ends at
 * the first position at or after `end` where the new segmentation breaks
 * and the old one (the bit still there) had broken too: from there on both
 * agree.  In ordinary text that is a few codepoints.
 */
#include <string.h>
#include <utf8proc.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "text/text_internal.h"

static size_t utf8_valid_scalar(const char *str, size_t n)
{
    const unsigned char *p = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c < 0x80) {
            /* ASCII: with SSE2 16 bytes at a time, to the first byte that
             * is not */
#if defined(__SSE2__)
            if (i + 16 <= n) {
                for (; i + 16 <= n; i += 16) {
                    unsigned hi = (unsigned)_mm_movemask_epi8(
                        _mm_loadu_si128((const __m128i *)(const void *)(p + i)));
                    if (hi) {
                        i += (size_t)__builtin_ctz(hi);
                        break;
                    }
                }
                continue;
            }
#else
            if (i + 8 <= n) {
                uint64_t w;
                memcpy(&w, p + i, 8);
                if (!(w & 0x8080808080808080ull)) {
                    i += 8;
                    continue;
                }
            }
#endif
            i++;
            continue;
        }
        /* Well-formed sequences (Unicode, table 3-7): the lead byte fixes
         * the length and the range of the second byte (which rules out
         * overlong forms, surrogates and codepoints past U+10FFFF); every
         * other byte is 80..BF.  No codepoint is assembled. */
        size_t avail = n - i;
        if (c < 0xC2) return i;
        if (c < 0xE0) {
            if (avail < 2 || (p[i + 1] & 0xC0) != 0x80) return i;
            i += 2;
            continue;
        }
        unsigned b1 = avail > 1 ? p[i + 1] : 0;
        if (c < 0xF0) {
            unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
            if (avail < 3 || b1 < lo || b1 > hi || (p[i + 2] & 0xC0) != 0x80) return i;
            i += 3;
            continue;
        }
        if (c < 0xF5) {
            unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
            if (avail < 4 || b1 < lo || b1 > hi || (p[i + 2] & 0xC0) != 0x80 ||
                (p[i + 3] & 0xC0) != 0x80)
                return i;
            i += 4;
            continue;
        }
        return i;
    }
    return n;
}

#if defined(LLE__TX_CPU_SETUP)
#include <tmmintrin.h>

/* Validation 16 bytes at a time (SSSE3).  Every error of UTF-8 shows in a
 * pair of bytes (the byte before, the byte) or in the continuation bytes
 * a lead promised: three table lookups, by the high and low halves of the
 * byte before and the high half of the byte, ANDed, leave a bit for each
 * error the pair makes:
 *
 *   SHORT  a lead, then no continuation       LONG   ASCII, then a continuation
 *   OVER2  C0 or C1, then a continuation      OVER3  E0, then 80..9F
 *   SURR   ED, then A0..BF                    BIG    F4..FF, then 90..BF
 *   OVER4  F0, or F5..FF, then 80..8F         CONT2  a continuation, then one
 *
 * CONT2 is right exactly where the byte two before is a lead of 3 or 4
 * bytes or the byte three before one of 4: an XOR with that leaves it set
 * where the two disagree.  The end of the input counts as ASCII bytes
 * after it (a sequence cut short there is SHORT or a missing CONT2).  On
 * an error the scalar validator finds where the valid prefix ends, from
 * the last codepoint start at or before the first block that failed. */
#define U8_SHORT 0x01
#define U8_LONG 0x02
#define U8_OVER3 0x04
#define U8_BIG 0x08
#define U8_SURR 0x10
#define U8_OVER2 0x20
#define U8_OVER4 0x40
#define U8_CONT2 0x80
#define U8_T16(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p)                              \
    _mm_setr_epi8((char)(a), (char)(b), (char)(c), (char)(d), (char)(e), (char)(f), (char)(g), \
                  (char)(h), (char)(i), (char)(j), (char)(k), (char)(l), (char)(m), (char)(n), \
                  (char)(o), (char)(p))

__attribute__((target("ssse3"))) static __m128i u8_block(__m128i in, __m128i before)
{
    const __m128i lo4 = _mm_set1_epi8(0x0F);
    /* the byte before each byte, and the two and three before */
    __m128i p1 = _mm_alignr_epi8(in, before, 15);
    __m128i p2 = _mm_alignr_epi8(in, before, 14);
    __m128i p3 = _mm_alignr_epi8(in, before, 13);
    const int L = U8_LONG, S = U8_SHORT, C2 = U8_CONT2;
    /* by the byte before: high half 0-7 ASCII, 8-B continuation, C-F lead */
    const __m128i b1_hi = U8_T16(L, L, L, L, L, L, L, L, C2, C2, C2, C2, S | U8_OVER2, S,
                                 S | U8_OVER3 | U8_SURR, S | U8_BIG | U8_OVER4);
    const int all = S | L | C2;
    const __m128i b1_lo = U8_T16(all | U8_OVER2 | U8_OVER3 | U8_OVER4, all | U8_OVER2, all, all,
                                 all | U8_BIG, all | U8_BIG | U8_OVER4, all | U8_BIG | U8_OVER4,
                                 all | U8_BIG | U8_OVER4, all | U8_BIG | U8_OVER4,
                                 all | U8_BIG | U8_OVER4, all | U8_BIG | U8_OVER4,
                                 all | U8_BIG | U8_OVER4, all | U8_BIG | U8_OVER4,
                                 all | U8_BIG | U8_OVER4 | U8_SURR, all | U8_BIG | U8_OVER4,
                                 all | U8_BIG | U8_OVER4);
    /* by the byte: 8 (80..8F), 9, A-B continuations; the rest not */
    const int cont = L | U8_OVER2 | C2;
    const __m128i b2_hi = U8_T16(S, S, S, S, S, S, S, S, cont | U8_OVER3 | U8_OVER4,
                                 cont | U8_OVER3 | U8_BIG, cont | U8_SURR | U8_BIG,
                                 cont | U8_SURR | U8_BIG, S, S, S, S);
    __m128i e = _mm_and_si128(
        _mm_and_si128(_mm_shuffle_epi8(b1_hi, _mm_and_si128(_mm_srli_epi16(p1, 4), lo4)),
                      _mm_shuffle_epi8(b1_lo, _mm_and_si128(p1, lo4))),
        _mm_shuffle_epi8(b2_hi, _mm_and_si128(_mm_srli_epi16(in, 4), lo4)));
    /* 0x80 where the byte must be a second or third continuation */
    __m128i need = _mm_or_si128(_mm_subs_epu8(p2, _mm_set1_epi8((char)0xDF)),
                                _mm_subs_epu8(p3, _mm_set1_epi8((char)0xEF)));
    need = _mm_and_si128(_mm_cmpgt_epi8(need, _mm_setzero_si128()), _mm_set1_epi8((char)0x80));
    return _mm_xor_si128(e, need);
}

__attribute__((target("ssse3"))) static size_t utf8_valid_ssse3(const char *str, size_t n)
{
    const unsigned char *p = (const unsigned char *)str;
    const __m128i zero = _mm_setzero_si128();
    /* subtracted from a block, nonzero where one of its last three bytes
     * starts a sequence that goes on past it */
    const __m128i open_at = U8_T16(0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                   0xFF, 0xFF, 0xFF, 0xEF, 0xDF, 0xBF);
    bool open = false; /* the block before i ends inside a sequence */
    size_t i = 0;
    for (;;) {
        /* ASCII after a block that ended with a whole codepoint: nothing
         * can be wrong */
        if (!open)
            while (i + 16 <= n &&
                   !_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + i))))
                i += 16;
        __m128i before =
            i ? _mm_loadu_si128((const __m128i *)(const void *)(p + i - 16)) : zero, in;
        bool last = i + 16 > n;
        if (last) {
            /* the rest, 0 to 15 bytes, followed by ASCII: a sequence cut
             * short by the end fails here */
            unsigned char tail[16] = {0};
            memcpy(tail, p + i, n - i);
            in = _mm_loadu_si128((const __m128i *)(const void *)tail);
        } else {
            in = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        }
        if (_mm_movemask_epi8(_mm_cmpeq_epi8(u8_block(in, before), zero)) != 0xFFFF) break;
        if (last) return n;
        open = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_subs_epu8(in, open_at), zero)) != 0xFFFF;
        i += 16;
    }
    /* the block at i failed, every byte before it passed: a sequence that
     * starts more than 3 bytes before i ends before i, so the scalar
     * validator goes on from the first byte at or after i - 3 that is not
     * a continuation */
    size_t from = i >= 3 ? i - 3 : 0;
    while (from < i && (p[from] & 0xC0) == 0x80) from++;
    return from + utf8_valid_scalar(str + from, n - from);
}
#endif

size_t lle__tx_utf8_valid(const char *str, size_t n)
{
#if defined(LLE__TX_CPU_SETUP)
    if (n >= 16 && lle__tx_have_ssse3) return utf8_valid_ssse3(str, n);
#endif
    return utf8_valid_scalar(str, n);
}

/* The logical offset of the highest cluster start of L at or below logical
 * offset i; -1 when none.  (The gap's bits are 0: a search through it
 * finds the bits before it.) */
static long last_bit_at_or_below(const lle__tx_leaf_t *L, size_t i)
{
    size_t p = lle__tx_phys(L, i);
    long w = (long)(p >> 6);
    uint64_t word = L->gb[w];
    unsigned s = (unsigned)(p & 63);
    if (s != 63) word &= ((uint64_t)1 << (s + 1)) - 1;
    for (;;) {
        if (word) return (long)lle__tx_logical(L, (size_t)(w * 64 + 63 - __builtin_clzll(word)));
        if (--w < 0) return -1;
        word = L->gb[w];
    }
}

/* The cluster starts of s[0, 64) when all 64 bytes are ASCII, *pc being
 * the codepoint before s[0] (then set to s[63]): a bit for every byte but
 * a LF after a CR.  False, nothing set, when a byte is not ASCII.  With
 * SSE2 the whole word is four compares of 16 bytes, instead of a test and
 * a bit per byte. */
static inline bool ascii_word(const unsigned char *s, int32_t *pc, uint64_t *bits)
{
#if defined(__SSE2__)
    uint64_t hi = 0, lf = 0, cr = 0;
    for (unsigned j = 0; j < 4; j++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + 16 * j));
        hi |= (uint64_t)(unsigned)_mm_movemask_epi8(v) << (16 * j);
        lf |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')))
              << (16 * j);
        cr |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')))
              << (16 * j);
    }
    if (hi) return false;
    *bits = ~(lf & ((cr << 1) | (uint64_t)(*pc == '\r')));
    *pc = s[63];
    return true;
#else
    (void)s;
    (void)pc;
    (void)bits;
    return false;
#endif
}

/* "Plain" codepoints: ASCII, and those whose Grapheme_Cluster_Break is
 * Other (Extended_Pictographic is a class of its own in utf8proc) and,
 * where utf8proc knows the property (2.9 on), whose Indic_Conjunct_Break
 * is None: most letters of most scripts, CJK ideographs.  Before a plain
 * codepoint there is always a break, unless the codepoint before is a
 * Prepend (GB9b) or it is CR LF (GB3): every other rule that keeps two
 * codepoints together asks for a class the second one does not have
 * (Extend, ZWJ, SpacingMark, a Hangul jamo or syllable, a regional
 * indicator, Extended_Pictographic, an Indic consonant, a control), and
 * GB999 breaks.  And utf8proc's state after a plain codepoint says what a
 * fresh state says (its class, no emoji sequence, regional indicator pair
 * or conjunct pending).  So the walk below decides the breaks before
 * plain codepoints itself and calls utf8proc_grapheme_break_stateful for
 * the others; lle__tx_check_graphemes, which tests every bit, calls it
 * for all. */
#if UTF8PROC_VERSION_MAJOR > 2 || (UTF8PROC_VERSION_MAJOR == 2 && UTF8PROC_VERSION_MINOR >= 9)
#define TX_ICB_NONE(pr) ((pr)->indic_conjunct_break == UTF8PROC_INDIC_CONJUNCT_BREAK_NONE)
#else
#define TX_ICB_NONE(pr) 1
#endif
_Atomic unsigned char lle__tx_prop_tab[TX_PROP_TAB];

static unsigned prop_of(int32_t c)
{
    const utf8proc_property_t *pr = utf8proc_get_property(c);
    unsigned v = TX_PROP_SET;
    if (c < 0x80 || (pr->boundclass == UTF8PROC_BOUNDCLASS_OTHER && TX_ICB_NONE(pr)))
        v |= TX_PROP_PLAIN;
    if (c >= 0x80 && pr->boundclass == UTF8PROC_BOUNDCLASS_PREPEND) v |= TX_PROP_PREPEND;
    int w = utf8proc_charwidth(c);
    v |= (unsigned)(w < 0 ? 0 : w > 7 ? 7 : w) << 1;
    return v;
}

unsigned lle__tx_prop_slow(int32_t c)
{
    if (c < 0 || c >= TX_PROP_TAB) return prop_of(c);
    int32_t b = c & ~0xFF;
    for (int32_t i = 0; i < 0x100; i++)
        atomic_store_explicit(&lle__tx_prop_tab[b + i], (unsigned char)prop_of(b + i),
                              memory_order_relaxed);
    return prop_of(c);
}

static inline unsigned cp_prop(int32_t c)
{
    return c < 0x80 ? TX_PROP_PLAIN : lle__tx_prop(c);
}

static void flip_bit(lle__tx_leaf_t *L, size_t i)
{
    size_t p = lle__tx_phys(L, i);
    L->gb[p >> 6] ^= (uint64_t)1 << (p & 63);
}

/* L's cluster count by *dg: sent up, or when L is the leaf `pl` whose
 * ancestors wait for a change of its counts, added to that (*up). */
static void flush(lle__tx_leaf_t *L, int64_t *dg, const lle__tx_leaf_t *pl, lle__tx_sum_t *up)
{
    if (L && *dg) {
        lle__tx_sum_t d = {{0}};
        d.v[F_GBS] = (uint64_t)*dg;
        if (L == pl) {
            L->h.sum.v[F_GBS] += d.v[F_GBS];
            up->v[F_GBS] += d.v[F_GBS];
        } else {
            lle__tx_propagate(&L->h, &d);
        }
    }
    *dg = 0;
}

/* Re-segment from the last cluster start before offset o of leaf C (which
 * starts at byte base; o may be 0 or C's length). */
void lle__tx_resegment_at(lle_text_t *t, lle__tx_leaf_t *C, size_t o, size_t base, size_t end,
                          lle__tx_sum_t *up)
{
    /* the root does not count yet the bytes C's ancestors wait for (unless
     * C is the root) */
    uint64_t total = lle__tx_total(t, F_BYTES) + (up && C->h.parent ? up->v[F_BYTES] : 0);
    const lle__tx_leaf_t *pl = up ? C : NULL;
    if (!total) return;
    lle__tx_leaf_t *L = t->first;
    size_t x = 0;
    long b = -1;
    if (base + o > 0) {
        if (o > 0) b = last_bit_at_or_below(C, o - 1);
        while (b < 0 && C->prev) {
            C = C->prev;
            base -= TX_LEN(C);
            if (TX_LEN(C)) b = last_bit_at_or_below(C, TX_LEN(C) - 1);
        }
    }
    if (b >= 0) {
        L = C;
        o = (size_t)b;
        x = base + o;
    } else {
        o = 0;
    }
    while (TX_LEN(L) == 0) L = L->next; /* only an empty first leaf when text follows */
    /* the width of the clusters of each leaf the walk enters may change
     * (pl's summaries are dropped by the caller's edit) */
    if (L != pl) lle__tx_wdirty(&L->h);
    int64_t dg = 0;
    if (!lle__tx_bit(L, o)) {
        flip_bit(L, o);
        dg++;
    }
    size_t clen;
    int32_t prev = lle__tx_decode(L, o, &clen);
    bool prev_pre = (cp_prop(prev) & TX_PROP_PREPEND) != 0;
    x += clen;
    /* the walk goes by physical offset p (a codepoint never straddles the
     * gap: the gap only ever sits at codepoint boundaries) */
    size_t p = lle__tx_phys(L, o) + clen;
    const unsigned char *d = (const unsigned char *)L->data;
    utf8proc_int32_t state = 0;
    while (x < total) {
        if (p == L->h.gs) p = L->h.ge;
        if (p >= TX_CAP) {
            flush(L, &dg, pl, up);
            do L = L->next; while (TX_LEN(L) == 0);
            if (L != pl) lle__tx_wdirty(&L->h);
            d = (const unsigned char *)L->data;
            p = L->h.gs ? 0 : L->h.ge;
        }
        int32_t c = d[p];
        bool brk;
        if (x < end) {
            /* new text (up to `end` no break test can stop the walk): its
             * codepoints up to the gap or the leaf's end, without the
             * checks of the walk below, their bits gathered a word at a
             * time; 64 bytes of ASCII after a codepoint other than a
             * Prepend take four SSE2 compares.  The rules are the ones
             * below. */
            size_t lim = p + (end - x), seg = p < L->h.gs ? L->h.gs : TX_CAP;
            if (lim > seg) lim = seg;
            size_t q = p;
            while (q < lim) {
                size_t wi = q >> 6, wend = (wi + 1) << 6;
                if (wend > lim) wend = lim;
                uint64_t nb = 0, mask = 0;
                if (!(q & 63) && wend == q + 64 && !prev_pre && ascii_word(d + q, &prev, &nb)) {
                    mask = ~(uint64_t)0;
                    q = wend;
                    state = 0;
                }
                /* a codepoint that starts before wend may end past it: it
                 * still ends at or before lim (new text is whole
                 * codepoints, and none straddles the gap) */
                while (q < wend) {
#if defined(__SSE2__)
                    if (q + 16 <= wend && d[q] < 0x80 && d[q + 1] < 0x80 && !prev_pre) {
                        /* the ASCII bytes that start the next 16 (words
                         * between letters of other scripts; a single one,
                         * a space between two, goes below): each starts
                         * a cluster but a LF after a CR */
                        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(d + q));
                        unsigned hi = (unsigned)_mm_movemask_epi8(v);
                        unsigned run = hi ? (unsigned)__builtin_ctz(hi) : 16;
                        if (run) {
                            unsigned lf = (unsigned)_mm_movemask_epi8(
                                         _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))),
                                     cr = (unsigned)_mm_movemask_epi8(
                                         _mm_cmpeq_epi8(v, _mm_set1_epi8('\r')));
                            unsigned rm = (1u << run) - 1u; /* run <= 16 */
                            unsigned starts = rm & ~(lf & ((cr << 1) | (unsigned)(prev == '\r')));
                            mask |= (uint64_t)rm << (q & 63);
                            nb |= (uint64_t)starts << (q & 63);
                            prev = d[q + run - 1];
                            state = 0;
                            q += run;
                            continue;
                        }
                    }
#endif
                    int32_t ch = d[q];
                    size_t len = 1;
                    unsigned pr = TX_PROP_PLAIN;
                    if (ch >= 0x80) {
                        ch = lle__tx_cp_at(d + q, &len);
                        pr = lle__tx_prop(ch);
                    }
                    bool cut;
                    if ((pr & TX_PROP_PLAIN) && !prev_pre) {
                        cut = !(prev == '\r' && ch == '\n');
                        state = 0;
                    } else {
                        cut = utf8proc_grapheme_break_stateful(prev, ch, &state);
                    }
                    uint64_t bit = (uint64_t)1 << (q & 63);
                    mask |= bit;
                    nb |= cut ? bit : 0;
                    prev = ch;
                    prev_pre = (pr & TX_PROP_PREPEND) != 0;
                    q += len;
                }
                uint64_t ob = L->gb[wi] & mask;
                dg += (int64_t)lle__tx_pop(nb) - (int64_t)lle__tx_pop(ob);
                L->gb[wi] = (L->gb[wi] & ~mask) | nb;
            }
            x += q - p;
            p = q;
            continue;
        }
        if (c < 0x80 && prev < 0x80) {
            /* two ASCII codepoints: a boundary unless CR LF (GB3-GB5,
             * GB999; no other rule applies to ASCII).  The state after an
             * ASCII codepoint says no more than a fresh one: every rule
             * that looks further back (GB9c, GB11, GB12/13) needs a
             * non-ASCII codepoint right before the break it decides. */
            clen = 1;
            brk = !(prev == '\r' && c == '\n');
            prev_pre = false;
            state = 0;
        } else {
            c = lle__tx_cp_at(d + p, &clen);
            unsigned pr = cp_prop(c);
            if ((pr & TX_PROP_PLAIN) && !prev_pre) {
                brk = true; /* not both ASCII: not CR LF */
                state = 0;
            } else {
                brk = utf8proc_grapheme_break_stateful(prev, c, &state);
            }
            prev_pre = (pr & TX_PROP_PREPEND) != 0;
        }
        uint64_t *w = &L->gb[p >> 6], m = (uint64_t)1 << (p & 63);
        bool old = (*w & m) != 0;
        if (x >= end && old && brk) break;
        if (old != brk) {
            *w ^= m;
            dg += brk ? 1 : -1;
        }
        prev = c;
        p += clen;
        x += clen;
    }
    flush(L, &dg, pl, up);
}

void lle__tx_resegment(lle_text_t *t, size_t pos, size_t end)
{
    if (!lle__tx_total(t, F_BYTES)) return;
    uint64_t o;
    lle__tx_sum_t before;
    lle__tx_leaf_t *L = lle__tx_find(t, F_BYTES, pos, &o, &before, TX_NEED(F_BYTES));
    lle__tx_resegment_at(t, L, (size_t)o, (size_t)before.v[F_BYTES], end, NULL);
}

bool lle__tx_is_cp_start(const lle_text_t *t, size_t pos)
{
    uint64_t total = lle__tx_total(t, F_BYTES);
    if (pos > total) return false;
    if (pos == total) return true;
    uint64_t o;
    lle__tx_leaf_t *L = lle__tx_find(t, F_BYTES, pos, &o, NULL, 0);
    return (lle__tx_byte(L, (size_t)o) & 0xC0) != 0x80;
}

/* Codepoint starts in L's logical [0, o): before the gap, and after it
 * when o is past it. */
static size_t leaf_cps_before(const lle__tx_leaf_t *L, size_t o)
{
    size_t gs = L->h.gs;
    if (o <= gs) return lle__tx_count_cps(L->data, o);
    return lle__tx_count_cps(L->data, gs) + lle__tx_count_cps(L->data + L->h.ge, o - gs);
}

/* Cluster starts in L's logical [0, o): the set bits before its physical
 * offset (the gap's are 0). */
static size_t leaf_gbs_before(const lle__tx_leaf_t *L, size_t o)
{
    size_t p = o <= L->h.gs ? o : lle__tx_phys(L, o);
    size_t k = 0, w = 0;
    for (; (w + 1) * 64 <= p; w++) k += (size_t)lle__tx_pop(L->gb[w]);
    if (p & 63) k += (size_t)lle__tx_pop(L->gb[w] & (((uint64_t)1 << (p & 63)) - 1));
    return k;
}

static size_t leaf_nth_bit(const lle__tx_leaf_t *L, uint64_t k)
{
    for (size_t w = 0; w < TX_WORDS; w++) {
        uint64_t word = L->gb[w];
        uint64_t c = (uint64_t)lle__tx_pop(word);
        if (k < c) {
            while (k--) word &= word - 1;
            return lle__tx_logical(L, w * 64 + (size_t)__builtin_ctzll(word));
        }
        k -= c;
    }
    return TX_LEN(L);
}

size_t lle__tx_line_start(const lle_text_t *t, size_t line)
{
    if (line == 0) return 0;
    uint64_t k;
    lle__tx_sum_t before;
    lle__tx_leaf_t *L = lle__tx_find(t, F_NLS, line - 1, &k, &before, TX_NEED(F_BYTES));
    return (size_t)before.v[F_BYTES] + lle__tx_leaf_nth(L, k, false) + 1;
}

/* ---- public position calls (the text is loaded by the caller) ------------- */

lle_result_t lle__tx_byte_to_cp(const lle_text_t *t, size_t pos, size_t *cp)
{
    if (pos > lle__tx_total(t, F_BYTES)) return LLE_ERROR_INVALID_POSITION;
    uint64_t o;
    lle__tx_sum_t before;
    lle__tx_leaf_t *L = lle__tx_find(t, F_BYTES, pos, &o, &before, TX_NEED(F_CPS));
    /* the end of the text (o == the last leaf's length) is a start */
    if (o < TX_LEN(L) && (lle__tx_byte(L, (size_t)o) & 0xC0) == 0x80) return LLE_ERROR_INVALID_POSITION;
    *cp = (size_t)before.v[F_CPS] + leaf_cps_before(L, (size_t)o);
    return LLE_SUCCESS;
}

lle_result_t lle__tx_cp_to_byte(const lle_text_t *t, size_t cp, size_t *pos)
{
    uint64_t total = lle__tx_total(t, F_CPS);
    if (cp > total) return LLE_ERROR_INVALID_POSITION;
    if (cp == total) {
        *pos = (size_t)lle__tx_total(t, F_BYTES);
        return LLE_SUCCESS;
    }
    uint64_t k;
    lle__tx_sum_t before;
    lle__tx_leaf_t *L = lle__tx_find(t, F_CPS, cp, &k, &before, TX_NEED(F_BYTES));
    *pos = (size_t)before.v[F_BYTES] + lle__tx_leaf_nth(L, k, true);
    return LLE_SUCCESS;
}

lle_result_t lle__tx_byte_to_g(const lle_text_t *t, size_t pos, size_t *g)
{
    if (pos > lle__tx_total(t, F_BYTES)) return LLE_ERROR_INVALID_POSITION;
    uint64_t o;
    lle__tx_sum_t before;
    lle__tx_leaf_t *L = lle__tx_find(t, F_BYTES, pos, &o, &before, TX_NEED(F_GBS));
    /* the end of the text is a boundary */
    if (o < TX_LEN(L) && !lle__tx_bit(L, (size_t)o)) return LLE_ERROR_INVALID_POSITION;
    *g = (size_t)before.v[F_GBS] + leaf_gbs_before(L, (size_t)o);
    return LLE_SUCCESS;
}

lle_result_t lle__tx_g_to_byte(const lle_text_t *t, size_t g, size_t *pos)
{
    uint64_t total = lle__tx_total(t, F_GBS);
    if (g > total) return LLE_ERROR_INVALID_POSITION;
    if (g == total) {
        *pos = (size_t)lle__tx_total(t, F_BYTES);
        return LLE_SUCCESS;
    }
    uint64_t k;
    lle__tx_sum_t before;
    lle__tx_leaf_t *L = lle__tx_find(t, F_GBS, g, &k, &before, TX_NEED(F_BYTES));
    *pos = (size_t)before.v[F_BYTES] + leaf_nth_bit(L, k);
    return LLE_SUCCESS;
}

/* Newlines before pos (the line pos is in). */
size_t lle__tx_line_of(const lle_text_t *t, size_t pos)
{
    uint64_t o;
    lle__tx_sum_t before;
    lle__tx_leaf_t *L = lle__tx_find(t, F_BYTES, pos, &o, &before, TX_NEED(F_NLS));
    return (size_t)before.v[F_NLS] + lle__tx_leaf_nl_before(L, (size_t)o);
}

/* The lowest cluster start of L at a logical offset >= i (i <= its
 * length); TX_LEN(L) when none.  (The gap's bits are 0.) */
static size_t first_bit_from(const lle__tx_leaf_t *L, size_t i)
{
    if (i >= TX_LEN(L)) return TX_LEN(L);
    size_t p = lle__tx_phys(L, i), w = p >> 6;
    uint64_t word = L->gb[w] & (~(uint64_t)0 << (p & 63));
    for (;;) {
        if (word) return lle__tx_logical(L, w * 64 + (size_t)__builtin_ctzll(word));
        if (++w >= TX_CAP / 64) return TX_LEN(L);
        word = L->gb[w];
    }
}

/* The cluster after (dir > 0) or before (dir < 0) the one that starts at
 * pos: found in pos's leaf or the neighbour, one descent; a cluster that
 * covers the whole neighbour costs two more (by cluster index). */
lle_result_t lle__tx_step_g(const lle_text_t *t, size_t pos, int dir, size_t *to)
{
    uint64_t total = lle__tx_total(t, F_BYTES);
    if (pos > total || (dir > 0 ? pos == total : pos == 0)) return LLE_ERROR_INVALID_POSITION;
    uint64_t o64;
    const lle__tx_leaf_t *L = lle__tx_find(t, F_BYTES, pos, &o64, NULL, 0);
    size_t o = (size_t)o64, base = pos - o;
    /* the end of the text is a boundary */
    if (o < TX_LEN(L) && !lle__tx_bit(L, o)) return LLE_ERROR_INVALID_POSITION;
    if (dir > 0) {
        size_t q = first_bit_from(L, o + 1);
        if (q < TX_LEN(L)) {
            *to = base + q;
            return LLE_SUCCESS;
        }
        const lle__tx_leaf_t *N = L->next;
        if (!N) {
            *to = (size_t)total;
            return LLE_SUCCESS;
        }
        q = first_bit_from(N, 0);
        if (q < TX_LEN(N)) {
            *to = base + TX_LEN(L) + q;
            return LLE_SUCCESS;
        }
    } else {
        long b = o ? last_bit_at_or_below(L, o - 1) : -1;
        if (b >= 0) {
            *to = base + (size_t)b;
            return LLE_SUCCESS;
        }
        const lle__tx_leaf_t *P = L->prev;
        if (P && TX_LEN(P) && (b = last_bit_at_or_below(P, TX_LEN(P) - 1)) >= 0) {
            *to = base - TX_LEN(P) + (size_t)b;
            return LLE_SUCCESS;
        }
    }
    size_t g;
    lle_result_t r = lle__tx_byte_to_g(t, pos, &g);
    if (r != LLE_SUCCESS) return r;
    return lle__tx_g_to_byte(t, dir > 0 ? g + 1 : g - 1, to);
}

lle_result_t lle__tx_locate(const lle_text_t *t, size_t pos, lle__tx_where_t *w)
{
    if (pos > lle__tx_total(t, F_BYTES)) return LLE_ERROR_INVALID_POSITION;
    uint64_t o64;
    lle__tx_sum_t before;
    const lle__tx_leaf_t *L =
        lle__tx_find(t, F_BYTES, pos, &o64, &before, TX_NEED(F_GBS) | TX_NEED(F_NLS));
    size_t o = (size_t)o64;
    if (o < TX_LEN(L) && !lle__tx_bit(L, o)) return LLE_ERROR_INVALID_POSITION;
    size_t nl = lle__tx_leaf_nl_before(L, o);
    w->g = (size_t)before.v[F_GBS] + leaf_gbs_before(L, o);
    w->line = (size_t)before.v[F_NLS] + nl;
    if (nl) {
        /* the line starts in L, after its last newline before o */
        size_t s = (size_t)lle__tx_leaf_nl_below(L, o) + 1;
        w->line_start = pos - o + s;
        w->line_g = (size_t)before.v[F_GBS] + leaf_gbs_before(L, s);
    } else if (w->line == 0) {
        w->line_start = 0;
        w->line_g = 0;
    } else {
        uint64_t k;
        const lle__tx_leaf_t *S =
            lle__tx_find(t, F_NLS, w->line - 1, &k, &before, TX_NEED(F_BYTES) | TX_NEED(F_GBS));
        size_t s = lle__tx_leaf_nth(S, k, false) + 1;
        w->line_start = (size_t)before.v[F_BYTES] + s;
        w->line_g = (size_t)before.v[F_GBS] + leaf_gbs_before(S, s);
    }
    return LLE_SUCCESS;
}

lle_result_t lle__tx_line_col_to_byte(const lle_text_t *t, size_t line, size_t col, size_t *pos)
{
    uint64_t nls = lle__tx_total(t, F_NLS);
    if (line > nls) return LLE_ERROR_INVALID_LINE_INDEX;
    /* S: the leaf where the line starts, at offset s */
    uint64_t k;
    lle__tx_sum_t before;
    const lle__tx_leaf_t *S;
    size_t s = 0;
    if (line == 0) {
        S = lle__tx_find(t, F_BYTES, 0, &k, &before, TX_NEED(F_GBS));
    } else {
        S = lle__tx_find(t, F_NLS, line - 1, &k, &before, TX_NEED(F_BYTES) | TX_NEED(F_GBS));
        s = lle__tx_leaf_nth(S, k, false) + 1;
    }
    size_t gs = leaf_gbs_before(S, s), g0 = (size_t)before.v[F_GBS] + gs;
    if (col > lle__tx_total(t, F_GBS) - g0) return LLE_ERROR_INVALID_POSITION;
    /* the col-th cluster start from s, and the newline that ends the line,
     * when S holds them (else TX_LEN(S)); after the last leaf, the end of
     * the text (col was checked against the clusters left) */
    size_t len = TX_LEN(S), q = leaf_nth_bit(S, gs + col), e = lle__tx_leaf_nl_from(S, s);
    if (q < len || !S->next) {
        if (q > e) return LLE_ERROR_INVALID_POSITION;
        *pos = (size_t)before.v[F_BYTES] + q;
        return LLE_SUCCESS;
    }
    if (e < len) return LLE_ERROR_INVALID_POSITION;
    /* the line goes on past S: by cluster index, and the line's end */
    size_t p;
    lle_result_t r = lle__tx_g_to_byte(t, g0 + col, &p);
    if (r != LLE_SUCCESS) return r;
    size_t end = line == nls ? (size_t)lle__tx_total(t, F_BYTES) : lle__tx_line_start(t, line + 1) - 1;
    if (p > end) return LLE_ERROR_INVALID_POSITION;
    *pos = p;
    return LLE_SUCCESS;
}

/* ---- full recomputation (lle_text_check) ------------------------------------- */

/* Compare every bit with a segmentation of the whole text from its start. */
lle_result_t lle__tx_check_graphemes(const lle_text_t *t)
{
    size_t x = 0;
    int32_t prev = -1;
    utf8proc_int32_t state = 0;
    for (const lle__tx_leaf_t *L = t->first; L; L = L->next) {
        size_t len = TX_LEN(L);
        for (size_t o = 0; o < len;) {
            size_t clen;
            int32_t c = lle__tx_decode(L, o, &clen);
            bool brk = prev < 0 ? true : utf8proc_grapheme_break_stateful(prev, c, &state);
            if (brk != lle__tx_bit(L, o)) return LLE_ERROR_CORRUPTION;
            for (size_t j = 1; j < clen; j++)
                if (lle__tx_bit(L, o + j)) return LLE_ERROR_CORRUPTION;
            prev = c;
            o += clen;
            x += clen;
        }
    }
    return x == lle__tx_total(t, F_BYTES) ? LLE_SUCCESS : LLE_ERROR_CORRUPTION;
}
