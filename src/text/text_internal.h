/*
 * text_internal.h - the text buffer's tree (src/text, never installed).
 *
 * A text is a B-tree.  Leaves (lle__tx_leaf_t) hold up to TX_CAP bytes in
 * a gap buffer, always whole codepoints (edits start and end at codepoint
 * boundaries and leaves are cut only there).  Inner nodes hold up to
 * TX_FANOUT children; every node carries the sums of its subtree
 * (lle__tx_sum_t), so a descent by any of the counted quantities finds a
 * position in O(depth) and the counts before it.  Leaves form a doubly
 * linked list in text order.
 *
 * Grapheme clusters: bit i of a leaf's `gb` bitmap is set when a cluster
 * starts at data[i].  The bitmap is laid out like the data, gap included
 * (physical offsets), and the bits of the gap are always 0: moving the gap
 * moves as many bits as bytes, an insertion into the gap leaves the new
 * bytes' bits 0 without moving any, and a count of the bits before a
 * physical offset is a count before the logical one.  The first byte of
 * the text is always a start.  A cluster may run over leaf borders; it is
 * counted in the leaf that holds its first byte.
 *
 * `nlg` counts the newlines before the gap, kept by every gap move from
 * the bytes it moves, so the newlines before an edit point cost no scan of
 * the leaf once the gap is there.
 *
 * Wrapped rows: newline k of the text owns the line after it (line k + 1);
 * line 0 is owned by the text (`line0`).  A leaf keeps one entry per
 * newline it holds (`lines`, lle__tx_line_t): the row count of the line
 * that newline owns at the current width, 0 when not known (stale), and
 * the line's display columns, which do not depend on the width (0 when
 * not known).  An edit of the line drops both; a width change drops only
 * the rows, and a line then gets its rows from its columns, without a
 * read of its text, when they decide them (wrap.c, rows_from_cols: always
 * when its clusters are all 0 or 1 column wide, else when it is shorter
 * than about two rows).  Nodes sum the known rows and count the stale
 * entries.
 *
 * Width summaries: every node may cache the display columns of the
 * clusters that start in its subtree and how many of them are 2 columns
 * wide (wcols, wwide; valid while h.wok), so that a line that spans many
 * leaves is measured a subtree at a time (wrap.c).  They do not depend on
 * the wrap width.  Whatever changes a leaf's bytes or grapheme bits
 * clears h.wok of the leaf and of its ancestors (lle__tx_propagate and
 * lle__tx_propagate_up on the way up, the re-segmentation walk for each
 * leaf it enters; a cached row count set alone, lle__tx_propagate_rows,
 * keeps them); an inner node whose children change clears its own
 * (put_child, recompute, drop_slot, split_inner: the nodes above it cover
 * the same bytes as before).  A cluster that runs
 * past the end of its leaf is counted, whole, in the leaf where it starts.
 * An inner node may also keep a table for the current wrap width (wtab,
 * wrap.c), and so may a leaf (ltab), valid only while its summary is not
 * recomputed.
 *
 * Every structural change that may need memory takes it from a reserve
 * filled before the text is touched (lle__tx_reserve), so an edit either
 * fails before any change or completes.
 */
#ifndef LLE_TEXT_INTERNAL_H
#define LLE_TEXT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "lle/text.h"

#define TX_FANOUT 16
#define TX_MIN_KIDS (TX_FANOUT / 4) /* fewest children of a rebalanced inner node */
#define TX_CAP 1024                  /* bytes of text a leaf holds at most */
#define TX_FILL (TX_CAP * 3 / 4)     /* bulk-built leaves are filled to this */
#define TX_WORDS (TX_CAP / 64 + 1)   /* bitmap words (one spare for 64-bit reads) */

enum { F_BYTES, F_CPS, F_NLS, F_GBS, F_ROWS, F_STALE, F_N };

typedef struct lle__tx_sum {
    uint64_t v[F_N];
} lle__tx_sum_t;

/* The header every node starts with.  Its first 64 bytes hold what an edit
 * reads of a leaf before anything else (the sums and the gap), so that the
 * first line of a leaf is the only one the edit path waits for before it
 * knows where to look next (see lle__tx_find's prefetches). */
typedef struct lle__tx_node lle__tx_node_t;
struct lle__tx_node {
    lle__tx_sum_t   sum;
    uint8_t         leaf;
    uint8_t         n;     /* children (inner nodes) */
    uint8_t         slot;  /* index in the parent's child[] */
    uint8_t         wok;   /* the width summary below is up to date (wrap.c) */
    uint16_t        gs, ge; /* leaves: the gap, data[gs, ge) */
    uint16_t        nlg;   /* leaves: newlines in data[0, gs) */
    lle__tx_node_t *parent;
};

/* An inner node keeps a copy of its children's sums, one column per field
 * (cs[f][i] == child[i]->sum.v[f]): a descent by one field reads one short
 * array of the node it is in instead of the header of every child it
 * passes, each on a line of its own. */
typedef struct lle__tx_inner {
    lle__tx_node_t  h;
    uint64_t        cs[F_N][TX_FANOUT + 1];
    lle__tx_node_t *child[TX_FANOUT + 1]; /* +1: room while a split is pending */
    uint64_t        wcols, wwide; /* width summary (wrap.c), valid while h.wok */
    /* wrap.c: the empty columns a fill of the subtree at width wtab_w adds,
     * by the padded column it starts at modulo the width; wtab_w 0 when
     * out of date (reset whenever the summary is recomputed) */
    uint32_t       *wtab;
    uint32_t        wtab_w, wtab_cap;
} lle__tx_inner_t;

/* A line's cached counts (see above).  cols: 0 when not known, else 1 +
 * the columns of its clusters (TX_COLS_MAX and more: not kept), with
 * TX_COLS_WIDE set when one of them is 2 wide or more. */
typedef struct lle__tx_line {
    uint32_t rows, cols;
} lle__tx_line_t;
#define TX_COLS_WIDE 0x80000000u
#define TX_COLS_MAX 0x7FFFFFFEu

typedef struct lle__tx_leaf lle__tx_leaf_t;
struct lle__tx_leaf {
    lle__tx_node_t  h;
    lle__tx_leaf_t *prev, *next;
    lle__tx_line_t *lines;       /* one per newline held (see above) */
    uint32_t        lines_cap;
    uint16_t        wcols, wwide; /* width summary (wrap.c), valid while h.wok */
    /* wrap.c: the empty columns a fill of the leaf at width ltab_w adds, by
     * the padded column it starts at modulo the width, one byte each;
     * ltab_w 0 when out of date (reset whenever the summary is recomputed) */
    uint8_t        *ltab;
    uint16_t        ltab_w, ltab_cap;
    uint64_t        gb[TX_WORDS];
    char            data[TX_CAP];
};

#define TX_LEN(L) ((size_t)(L)->h.sum.v[F_BYTES])

struct lle_text {
    lle_memory_manager_t *m;
    lle_text_config_t     cfg;
    lle__tx_node_t       *root;
    lle__tx_leaf_t       *first;
    size_t                leaves, inners, depth, lines_cap_total;
    /* the leaf of the last edit that stayed inside one leaf, with the bytes
     * and newlines before it: the next edit inside it needs no descent
     * (textbuf.c, edit).  Valid while only edits inside it change the
     * text: lle__tx_insert_raw, lle__tx_delete_raw, lle__tx_settle_at and
     * the tree's creation and release drop it. */
    lle__tx_leaf_t       *hint;
    uint64_t              hint_bytes, hint_nls;
    /* reserve for the current edit (see lle__tx_reserve) */
    lle__tx_leaf_t       *spare_leaves;   /* linked through next */
    lle__tx_inner_t      *spare_inners;   /* linked through child[0] */
    size_t                n_spare_leaves, n_spare_inners;
    /* wrapped rows */
    unsigned              width;
    bool                  rows_all_stale; /* the width changed: every cache is stale */
    lle__tx_line_t        line0;
    /* modified lines: sorted, disjoint ranges */
    lle_text_line_range_t *mod;
    size_t                nmod, capmod;
    uint64_t              mod_count;
    /* the secondary region: the undo log */
    unsigned char        *undo;
    size_t                undo_cap, undo_used, undo_steps;
    /* the scratch region */
    char                 *scratch;
    size_t                scratch_cap;
    /* compression */
    void                 *z;
    size_t                zlen;
    lle__tx_sum_t         zsum;    /* the counts of the compressed text */
    size_t                compressions, compressions_kept, decompressions, zsaved;
    double                zratio;
    /* counters */
    size_t                region_grows, region_shrinks, wiped;
    size_t                wrap_scanned;   /* bytes row queries read cluster by cluster */
    size_t                wtab_bytes;     /* of the inner nodes' wtab */
};

/* ---- rope.c ---------------------------------------------------------------- */
LLE__HIDDEN lle_result_t lle__tx_init_tree(lle_text_t *t);
LLE__HIDDEN void lle__tx_free_tree(lle_text_t *t);
/* Fill the reserve with what an insertion of s[0, n) at pos needs. */
LLE__HIDDEN lle_result_t lle__tx_reserve_insert(lle_text_t *t, size_t pos, const char *s, size_t n);
LLE__HIDDEN void lle__tx_release_reserve(lle_text_t *t);
/* Free an inner node taken out of the tree, its wtab with it. */
LLE__HIDDEN void lle__tx_inner_free(lle_text_t *t, lle__tx_inner_t *I);
/* Structural edits (counts, bitmaps with new bits 0, row caches); the
 * grapheme bits are fixed afterwards by lle__tx_resegment. */
LLE__HIDDEN void lle__tx_insert_raw(lle_text_t *t, size_t pos, const char *s, size_t n);
LLE__HIDDEN void lle__tx_delete_raw(lle_text_t *t, size_t pos, size_t n);
/* The leaf that holds the k-th unit of `field` (k < its count there, or k
 * at the end of the last leaf); *local k within the leaf; *before (may be
 * NULL) the sums of everything before the leaf, of the fields in `need`
 * (bits 1 << F_...; the others 0). */
LLE__HIDDEN lle__tx_leaf_t *lle__tx_find(const lle_text_t *t, int field, uint64_t k,
                                         uint64_t *local, lle__tx_sum_t *before, unsigned need);
#define TX_NEED(f) (1u << (f))
/* Room for `need` row cache entries in L. */
LLE__HIDDEN bool lle__tx_rows_reserve(lle_text_t *t, lle__tx_leaf_t *L, size_t need);
/* The gap of L to logical offset o (the text does not change). */
LLE__HIDDEN void lle__tx_leaf_seek(lle_text_t *t, lle__tx_leaf_t *L, size_t o);
/* Replace the del bytes after L's gap by s[0, n), all inside L (the caller
 * checked room in the leaf and its row cache); new grapheme bits 0, new
 * row caches stale.  L's own sums change; the change of its ancestors'
 * is left in *up for the caller to send up (lle__tx_propagate_up), after
 * anything else that changes L's counts has added to it. */
LLE__HIDDEN void lle__tx_leaf_replace(lle_text_t *t, lle__tx_leaf_t *L, size_t del, const char *s,
                                      size_t n, lle__tx_sum_t *up);
/* Settle the leaf that holds byte pos (the last one when pos is the end)
 * and its predecessor, the two leaves that meet where an edit cut: one
 * under a quarter full is merged with a neighbour or takes bytes from one
 * (rope.c, settle).  Leaf pointers held across the call may be stale. */
LLE__HIDDEN void lle__tx_settle_at(lle_text_t *t, size_t pos);
/* Newlines, and codepoint starts (bytes that are not 10xxxxxx), in
 * s[0, n): 16 bytes at a time where SSE2 is there. */
LLE__HIDDEN size_t lle__tx_count_nl(const char *s, size_t n);
LLE__HIDDEN size_t lle__tx_count_cps(const char *s, size_t n);
/* The logical offset in L of its (k + 1)-th codepoint start (lead) or
 * newline (!lead); TX_LEN(L) when it has k or fewer. */
LLE__HIDDEN size_t lle__tx_leaf_nth(const lle__tx_leaf_t *L, uint64_t k, bool lead);
/* The logical offset of L's first newline at or after o (TX_LEN(L) when
 * none), and of its last newline before o (-1 when none). */
LLE__HIDDEN size_t lle__tx_leaf_nl_from(const lle__tx_leaf_t *L, size_t o);
LLE__HIDDEN long lle__tx_leaf_nl_below(const lle__tx_leaf_t *L, size_t o);
/* Newlines in L's bytes [0, o). */
LLE__HIDDEN size_t lle__tx_leaf_nl_before(const lle__tx_leaf_t *L, size_t o);
/* Add delta to n's sums and its ancestors' (and their columns). */
LLE__HIDDEN void lle__tx_propagate(lle__tx_node_t *n, const lle__tx_sum_t *delta);
/* The same for n's ancestors only. */
LLE__HIDDEN void lle__tx_propagate_up(lle__tx_node_t *n, const lle__tx_sum_t *delta);
/* The same for a delta of F_ROWS and F_STALE only (a line's cached row
 * count set, wrap.c): the width summaries stay. */
LLE__HIDDEN void lle__tx_propagate_rows(lle__tx_node_t *n, const lle__tx_sum_t *d);
LLE__HIDDEN void lle__tx_copy_out(const lle_text_t *t, size_t pos, size_t n, char *buf);
LLE__HIDDEN void lle__tx_wipe(lle_text_t *t, void *p, size_t n);

/* Processor features the text uses where it finds them, found once by
 * lle_text_create (__builtin_cpu_supports) on x86-64 builds of GCC and
 * clang.  lle__tx_have_ssse3: UTF-8 validation 16 bytes at a time
 * (index.c). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LLE__TX_CPU_SETUP 1
LLE__HIDDEN extern bool lle__tx_have_ssse3;
#endif

/* Set bits of x.  Built without -mpopcnt, __builtin_popcountll is a call
 * to libgcc's __popcountdi2; on x86-64 the text counts with the POPCNT
 * instruction when the processor has it (lle__tx_have_popcnt, set with
 * the features above), else with a few shifts, masks and a multiply,
 * inline either way. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__POPCNT__)
LLE__HIDDEN extern bool lle__tx_have_popcnt;
static inline unsigned lle__tx_pop(uint64_t x)
{
    if (lle_likely(lle__tx_have_popcnt)) {
        uint64_t r;
        __asm__("popcnt %1, %0" : "=r"(r) : "rm"(x) : "cc");
        return (unsigned)r;
    }
    x -= (x >> 1) & 0x5555555555555555ull;
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (unsigned)((x * 0x0101010101010101ull) >> 56);
}
#define LLE__TX_POPCNT_SETUP 1
#else
static inline unsigned lle__tx_pop(uint64_t x)
{
    return (unsigned)__builtin_popcountll(x);
}
#endif

/* What the walks need to know of a codepoint, from utf8proc: whether it is
 * "plain" (TX_PROP_PLAIN; index.c says what that means), whether its
 * Grapheme_Cluster_Break is Prepend (TX_PROP_PREPEND), and its display
 * width, utf8proc_charwidth clamped to 0..7 (TX_PROP_WIDTH).  An entry of
 * the first two planes (most scripts, CJK, emoji) is kept in
 * lle__tx_prop_tab once its block of 256 codepoints was first asked for
 * (TX_PROP_SET marks it filled; the entries never change after; 128 KiB
 * of zeroed memory, of which only the pages of blocks in use are ever
 * touched); a codepoint above them is looked up each time.  Thread-safe:
 * each entry is a relaxed atomic byte, and two threads filling one block
 * write the same values. */
#define TX_PROP_SET 0x80u
#define TX_PROP_PLAIN 0x01u
#define TX_PROP_PREPEND 0x10u
#define TX_PROP_WIDTH(p) (((p) >> 1) & 7u)
#define TX_PROP_TAB 0x20000
LLE__HIDDEN extern _Atomic unsigned char lle__tx_prop_tab[TX_PROP_TAB];
LLE__HIDDEN unsigned lle__tx_prop_slow(int32_t c);
static inline unsigned lle__tx_prop(int32_t c)
{
    if ((uint32_t)c < TX_PROP_TAB) {
        unsigned v = atomic_load_explicit(&lle__tx_prop_tab[c], memory_order_relaxed);
        if (lle_likely(v)) return v;
    }
    return lle__tx_prop_slow(c);
}

static inline unsigned char lle__tx_byte(const lle__tx_leaf_t *L, size_t i)
{
    return (unsigned char)(i < L->h.gs ? L->data[i] : L->data[i + (size_t)(L->h.ge - L->h.gs)]);
}

/* The codepoint that starts at p (valid UTF-8) and its length in bytes:
 * the one decoder of the walks (index.c, wrap.c). */
static inline int32_t lle__tx_cp_at(const unsigned char *p, size_t *len)
{
    unsigned c = p[0];
    if (c < 0x80) {
        *len = 1;
        return (int32_t)c;
    }
    size_t k = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
    uint32_t cp = c & (0x3Fu >> k);
    for (size_t j = 1; j <= k; j++) cp = (cp << 6) | (p[j] & 0x3Fu);
    *len = k + 1;
    return (int32_t)cp;
}

/* The physical offset of logical offset i (i <= length; the length maps
 * to the end of the data when the gap is last). */
static inline size_t lle__tx_phys(const lle__tx_leaf_t *L, size_t i)
{
    return i < L->h.gs ? i : i + (size_t)(L->h.ge - L->h.gs);
}
/* The logical offset of physical offset p (p outside the gap). */
static inline size_t lle__tx_logical(const lle__tx_leaf_t *L, size_t p)
{
    return p < L->h.gs ? p : p - (size_t)(L->h.ge - L->h.gs);
}
/* The codepoint at logical offset o of L (valid UTF-8; whole codepoints
 * live in one leaf, on one side of its gap) and its length in bytes. */
static inline int32_t lle__tx_decode(const lle__tx_leaf_t *L, size_t o, size_t *len)
{
    return lle__tx_cp_at((const unsigned char *)L->data + lle__tx_phys(L, o), len);
}
static inline bool lle__tx_bit(const lle__tx_leaf_t *L, size_t i)
{
    size_t p = lle__tx_phys(L, i);
    return (L->gb[p >> 6] >> (p & 63)) & 1u;
}
/* Mark the width summaries of n and its ancestors out of date. */
static inline void lle__tx_wdirty(lle__tx_node_t *n)
{
    for (; n; n = n->parent) n->wok = 0;
}
static inline uint64_t lle__tx_total(const lle_text_t *t, int f)
{
    return t->root->sum.v[f];
}

/* ---- index.c ---------------------------------------------------------------- */
/* Length of the longest valid UTF-8 prefix of s[0, n) (== n when valid). */
LLE__HIDDEN size_t lle__tx_utf8_valid(const char *s, size_t n);
/* Re-segment grapheme clusters after an edit that left new text in
 * [pos, end): from the last cluster start before pos until the new
 * segmentation meets an old boundary at or after end. */
LLE__HIDDEN void lle__tx_resegment(lle_text_t *t, size_t pos, size_t end);
/* The same, pos given as offset o of leaf L, which starts at byte base.
 * up (may be NULL): a change of L's counts not yet sent to its ancestors
 * (lle__tx_leaf_replace); the change of L's cluster count is added to it
 * instead of being sent up on its own. */
LLE__HIDDEN void lle__tx_resegment_at(lle_text_t *t, lle__tx_leaf_t *L, size_t o, size_t base,
                                      size_t end, lle__tx_sum_t *up);
LLE__HIDDEN bool lle__tx_is_cp_start(const lle_text_t *t, size_t pos);
/* Offset of the start of line `line` (line <= newlines). */
LLE__HIDDEN size_t lle__tx_line_start(const lle_text_t *t, size_t line);
/* The line pos is in (newlines before pos). */
LLE__HIDDEN size_t lle__tx_line_of(const lle_text_t *t, size_t pos);
/* Conversions; LLE_ERROR_INVALID_POSITION as documented in lle/text.h. */
LLE__HIDDEN lle_result_t lle__tx_byte_to_cp(const lle_text_t *t, size_t pos, size_t *cp);
LLE__HIDDEN lle_result_t lle__tx_cp_to_byte(const lle_text_t *t, size_t cp, size_t *pos);
LLE__HIDDEN lle_result_t lle__tx_byte_to_g(const lle_text_t *t, size_t pos, size_t *g);
LLE__HIDDEN lle_result_t lle__tx_g_to_byte(const lle_text_t *t, size_t g, size_t *pos);
/* The start of the cluster after (dir > 0) or before (dir < 0) the one
 * at cluster start pos; LLE_ERROR_INVALID_POSITION when pos is not a
 * cluster start or there is none that way. */
LLE__HIDDEN lle_result_t lle__tx_step_g(const lle_text_t *t, size_t pos, int dir, size_t *to);
/* Where cluster start pos is: its cluster index, its line, and the byte
 * offset and cluster index of that line's start.  One descent when the
 * line starts in pos's leaf (or is line 0), else two. */
typedef struct lle__tx_where {
    size_t g, line, line_start, line_g;
} lle__tx_where_t;
LLE__HIDDEN lle_result_t lle__tx_locate(const lle_text_t *t, size_t pos, lle__tx_where_t *w);
/* The byte offset of cluster `col` of line `line` (col may be the line's
 * cluster count: its end); one descent when the leaf where the line
 * starts holds that cluster or the line's end.  LLE_ERROR_INVALID_LINE_INDEX
 * or LLE_ERROR_INVALID_POSITION as documented in lle/text.h. */
LLE__HIDDEN lle_result_t lle__tx_line_col_to_byte(const lle_text_t *t, size_t line, size_t col,
                                                  size_t *pos);
/* Every grapheme bit against a segmentation of the whole text. */
LLE__HIDDEN lle_result_t lle__tx_check_graphemes(const lle_text_t *t);

/* ---- wrap.c ---------------------------------------------------------------- */
/* Drop the row cache of line `line`. */
LLE__HIDDEN void lle__tx_rows_stale(lle_text_t *t, size_t line);
/* The same when leaf L holds the newline that owns `line` as its k-th. */
LLE__HIDDEN void lle__tx_rows_stale_entry(lle_text_t *t, lle__tx_leaf_t *L, size_t k);
/* Every cached row count against a fresh computation. */
LLE__HIDDEN lle_result_t lle__tx_rows_check(const lle_text_t *t);

/* ---- textbuf.c ------------------------------------------------------------- */
LLE__HIDDEN lle_result_t lle__tx_load(lle_text_t *t);

#endif
