/*
 * fuzz/ops.c - libFuzzer driver: random sequences of operations on one
 * memory manager, replayed against a model, every invariant checked after
 * every operation.
 *
 * Each input makes a manager (and a second, "foreign" one), runs the
 * operations the input's bytes spell, frees everything and destroys both.
 * The input is read as a stream of bytes; running out of bytes reads zeros
 * and ends the sequence.  The first bytes configure the manager:
 *
 *   byte 0   bit 0: pools start with their default initial slabs (else none)
 *            bit 1: an emergency reserve of 16 KiB (else none)
 *            bits 2-3: large-block cache 0 / 64 KiB / 8 MiB / 8 MiB
 *            bits 4-5: error history 0 / 3 / 64 / 64 entries
 *            bit 6: an audit trail of 16 entries
 *            bit 7: with byte 3 bit 7, end in "leak mode": the blocks and
 *            arenas left live at destroy (byte 3 bit 6: after a shutdown)
 *   byte 1   tight limits: bit p gives typed pool p a small maximum size
 *            (allocations then fall to the secondary pool)
 *   byte 2-3 one pool's block size and alignment
 *   byte 4-5 one pool's debugging features at creation (byte 4 bits 0-2
 *            the pool, bit 7 on; bit 6: the guard layout below)
 *
 * With byte 4 bit 6 (no input had it before), guard pages:
 *
 *   byte 6   bits 0-2 a pool, bit 3 all typed pools instead; bits 4-6
 *            guard pages off / for every allocation / one in 2..7; bit 7
 *            placed at the start of the page (guard_side=start); bits 4-7
 *            all clear: nothing set
 *   byte 7   the same for a second pool (bits 0-2; bits 4-6; bit 3 start);
 *            bit 7: both set through lle_memory_config_apply_options
 *            (pool.NAME.guard=..,guard_side=..,guard_freed=poison), else
 *            in the configuration
 *
 * and the operations come from a second opcode table that adds
 * lle_pool_alloc_guarded (three ways) and lle_memory_protect; set-debug
 * then reads one more byte, the pool's guard pages.  Freed guard-page
 * blocks are always poisoned (guard_freed=poison: the driver checks the
 * poison right after a free, and never touches an inaccessible page); a
 * block made read-only is only read, a no-access one not touched.
 *
 * then one operation per opcode byte (op_* below), each reading its own
 * arguments.  The model keeps every live block (size, usable size, pool,
 * owner, the pattern written into it, whether it is a debug block or on
 * guard pages - predicted, or learned from lle_block_query when sampled -
 * its protection, and the call site it was recorded at), every arena (its allocations, marks,
 * destructors, children, bytes used, counters), the snapshots taken, and
 * the errors each operation must report, code by code.  After every
 * operation check_all() compares the manager's statistics, error counts,
 * error history and arena statistics with the model; contents are checked
 * before every free and realloc and periodically.
 *
 * The checks are the documented contracts, none relaxed: an input that
 * once showed a library bug is a seed in fuzz/corpus/ops/ (known-*).
 *
 * A failed check prints what failed and the last operations, then aborts:
 * libFuzzer keeps the input as a crash artifact.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lle/memory.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* ---- limits of the model ------------------------------------------------- */

#define MAX_OPS 512 /* operations per input */
#define MAXB    160 /* live blocks of the manager */
#define MAXB2   8   /* live blocks of the foreign manager */
#define NSTALE  32  /* freed pointers kept for bad frees */
#define MAXA    8   /* live arenas */
#define MAXAA   48  /* recorded allocations per arena */
#define MAXMK   4   /* marks per arena */
#define MAXDT   12  /* destructors per arena */
#define NSNAP   3   /* snapshots */
#define TRACE   24  /* operations shown when a check fails */
#define MAXROWS 96  /* rows read from track usage and diffs */

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)

/* ---- failing ------------------------------------------------------------- */

static const char *trace[TRACE];
static unsigned nops;
static bool verbose; /* LLE_FUZZ_VERBOSE=1: each operation on stderr */

static void fail(int line, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
static void fail(int line, const char *what, const char *fmt, ...)
{
    fprintf(stderr, "lle-fuzz-ops: invariant failed (ops.c:%d): %s\n  ", line, what);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n  after %u operations; the last ones:", nops);
    unsigned first = nops > TRACE ? nops - TRACE : 0;
    for (unsigned i = first; i < nops; i++) fprintf(stderr, " %s", trace[i % TRACE]);
    fprintf(stderr, "\n");
    abort();
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) fail(__LINE__, #cond, __VA_ARGS__);                                           \
    } while (0)

/* ---- input --------------------------------------------------------------- */

typedef struct in {
    const uint8_t *p;
    size_t n, i;
} in_t;

static unsigned u8(in_t *in)
{
    return in->i < in->n ? in->p[in->i++] : 0;
}

static unsigned u16(in_t *in)
{
    unsigned lo = u8(in);
    return lo | u8(in) << 8;
}

/* A request size: mostly small, some up to 64 KiB, now and then above. */
static size_t pick_size(in_t *in)
{
    unsigned k = u8(in), v = u16(in);
    switch (k & 7) {
    case 0: return v % 33;
    case 1:
    case 2: return v % 257;
    case 3: return v % 2049;
    case 4: return v % 8193;
    case 5: return 4000 + v % 36000; /* around the slab / large border */
    case 6: return v % 65537;
    default: return (k & 0x30) == 0 ? 65536 + (size_t)v * 4 : v % 4097;
    }
}

/* ---- block contents ------------------------------------------------------ */

/* Blocks are filled from a fixed random reference at an offset given by
 * their tag: different blocks hold different bytes, so an overlap or a
 * stray write shows.  Only the first REF_LEN bytes of a block are used. */
#define REF_LEN  ((size_t)512 * 1024)
#define REF_SPAN 65536u
static unsigned char ref[REF_LEN + REF_SPAN];

static void ref_init(void)
{
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (size_t i = 0; i < sizeof ref; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ref[i] = (unsigned char)(x >> 29);
    }
}

static size_t clip(size_t n)
{
    return n < REF_LEN ? n : REF_LEN;
}

static void fill(void *p, size_t n, unsigned tag)
{
    memcpy(p, ref + tag % REF_SPAN, clip(n));
}

static bool intact(const void *p, size_t n, unsigned tag)
{
    return memcmp(p, ref + tag % REF_SPAN, clip(n)) == 0;
}

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

/* ---- call sites ---------------------------------------------------------- */

/* Sites named by the driver (lle_pool_*_at).  The library tells sites apart
 * by the addresses of their strings and by line. */
#define NEXPL 8
static const lle_site_t expl[NEXPL] = {
    {"editor.c", 101, "insert_char", 0}, {"editor.c", 202, "delete_word", 0},
    {"history.c", 31, "history_add", 0}, {"history.c", 77, "history_load", 0},
    {"complete.c", 12, "candidates", 0}, {"render.c", 640, "draw_prompt", 0},
    {"syntax.c", 9, "tokenize", 0},      {"keymap.c", 58, "bind_key", 0},
};

/* Sites of the LLE_ALLOC-style macros, one line each. */
enum { MAC_ALLOC, MAC_CALLOC, MAC_ALIGNED, MAC_REALLOC, MAC_GUARDED, NMAC };
static int mac_line[NMAC];

/* Calls without a site record their return address: one per call below,
 * each in its own function so it is one call instruction, never a tail
 * call (the empty asm after it). */
enum { CS_ALLOC, CS_CALLOC, CS_ALIGNED, CS_REALLOC, CS_GUARDED, NCS };
#define NOTAIL() __asm__ volatile("" ::: "memory")

/* Site keys of the model: explicit sites, then macros, then return addresses. */
#define KEY_MAC(i) (NEXPL + (i))
#define KEY_CS(i)  (NEXPL + NMAC + (i))
#define NKEYS      (NEXPL + NMAC + NCS)

typedef lle_memory_manager_t mgr_t;

static __attribute__((noinline)) void *cs_alloc(mgr_t *m, int t, size_t n)
{
    void *p = lle_pool_alloc(m, (lle_memory_pool_type_t)t, n);
    NOTAIL();
    return p;
}
static __attribute__((noinline)) void *cs_calloc(mgr_t *m, int t, size_t k, size_t n)
{
    void *p = lle_pool_calloc(m, (lle_memory_pool_type_t)t, k, n);
    NOTAIL();
    return p;
}
static __attribute__((noinline)) void *cs_aligned(mgr_t *m, int t, size_t n, size_t a)
{
    void *p = lle_pool_alloc_aligned(m, (lle_memory_pool_type_t)t, n, a);
    NOTAIL();
    return p;
}
static __attribute__((noinline)) void *cs_realloc(mgr_t *m, void *q, size_t n)
{
    void *p = lle_pool_realloc(m, q, n);
    NOTAIL();
    return p;
}
/* Each records the line of its macro call (the site the macro names). */
static __attribute__((noinline)) void *mac_alloc(mgr_t *m, int t, size_t n)
{
    void *p = (mac_line[MAC_ALLOC] = __LINE__, LLE_ALLOC(m, (lle_memory_pool_type_t)t, n));
    NOTAIL();
    return p;
}
static __attribute__((noinline)) void *mac_calloc(mgr_t *m, int t, size_t k, size_t n)
{
    void *p = (mac_line[MAC_CALLOC] = __LINE__, LLE_CALLOC(m, (lle_memory_pool_type_t)t, k, n));
    NOTAIL();
    return p;
}
static __attribute__((noinline)) void *mac_aligned(mgr_t *m, int t, size_t n, size_t a)
{
    lle_memory_pool_type_t pt = (lle_memory_pool_type_t)t;
    void *p = (mac_line[MAC_ALIGNED] = __LINE__, LLE_ALLOC_ALIGNED(m, pt, n, a));
    NOTAIL();
    return p;
}
static __attribute__((noinline)) void *mac_realloc(mgr_t *m, void *q, size_t n)
{
    void *p = (mac_line[MAC_REALLOC] = __LINE__, LLE_REALLOC(m, q, n));
    NOTAIL();
    return p;
}
static __attribute__((noinline)) void *cs_guarded(mgr_t *m, int t, size_t n)
{
    void *p = lle_pool_alloc_guarded(m, (lle_memory_pool_type_t)t, n);
    NOTAIL();
    return p;
}
static __attribute__((noinline)) void *mac_guarded(mgr_t *m, int t, size_t n)
{
    void *p = (mac_line[MAC_GUARDED] = __LINE__, LLE_ALLOC_GUARDED(m, (lle_memory_pool_type_t)t, n));
    NOTAIL();
    return p;
}
static __attribute__((noinline)) lle_result_t mac_free(mgr_t *m, void *q)
{
    lle_result_t r = LLE_FREE(m, q);
    NOTAIL();
    return r;
}

/* The return addresses of the cs_* calls, read once from the blocks of a
 * tracked manager: known before any input, so that a sampled block
 * recorded elsewhere is never taken for one of them. */
static const void *cs_pc_init[NCS];

static const char this_file[] = __FILE__;
static const char *const mac_func[NMAC] = {"mac_alloc", "mac_calloc", "mac_aligned", "mac_realloc",
                                           "mac_guarded"};

/* ---- the state of one run ------------------------------------------------ */

typedef struct blk {
    unsigned char *p; /* NULL: free slot */
    size_t size;      /* bytes asked for */
    size_t usable;    /* lle_pool_usable_size when made */
    size_t align;     /* alignment it must keep (16 unless asked) */
    int pool;         /* the pool asked for */
    int owner;        /* lle_pool_owner */
    int key;          /* site key of a debug block, -1 for others */
    unsigned tag;
    bool debug, tracked;
    bool maybe_large; /* may be a large block: known by its start only */
    bool guarded;     /* on guard pages (a debug block too) */
    bool unk_site;    /* a sampled guard-page block recorded at a site the
                       * driver cannot name (README: the sampling path's
                       * return address): counted in fz_t.unk_* */
    int prot;         /* guarded: PROT_RW, PROT_READ (read only) or PROT_NONE */
} blk_t;

/* What lle_memory_protect left a guarded block as: the driver only reads a
 * read-only block and never touches a no-access one. */
enum { PROT_RW = 0, PROT_READ, PROT_NONE };

typedef struct sitecount {
    size_t blocks, bytes; /* live debug blocks (as asked for) */
    uint64_t allocs;      /* debug blocks ever allocated there */
} sitecount_t;

/* What one manager's error callback saw, and what the model expects. */
typedef struct errs {
    uint64_t cb[LLE_RESULT_COUNT_];
    uint64_t exp_cb[LLE_RESULT_COUNT_];
    uint64_t exp_lib[LLE_RESULT_COUNT_];
    uint64_t total;         /* errors expected in the history */
    lle_result_t last_code; /* of the last one expected */
    const void *last_addr;
    bool last_addr_known;
    lle_memory_error_t seen;        /* the last one the callback saw */
    bool ignore[LLE_RESULT_COUNT_]; /* strategy IGNORE */
} errs_t;

typedef struct aalloc {
    unsigned char *p;
    size_t n;
    unsigned tag;
} aalloc_t;

typedef struct amark {
    bool set, stale;
    lle_arena_mark_t mk;
    size_t used;
    unsigned nal, ndt;
    uint64_t child_seq, epoch, time;
} amark_t;

typedef struct arena {
    lle_arena_t *a; /* NULL: free slot */
    int parent;     /* slot, -1 for a root */
    int pool;
    unsigned depth;
    size_t limit, chunk_size, used, peak;
    uint64_t seq, child_seq, epoch;
    uint64_t allocs, total_allocs, resets, rewinds, dtors_run, limit_failures;
    aalloc_t al[MAXAA];
    unsigned nal;
    unsigned dt[MAXDT];
    unsigned ndt;
    amark_t mk[MAXMK];
    const char *name;
} arena_t;

typedef struct snap {
    lle_snapshot_t *s;
    sitecount_t model[NKEYS];
    size_t obs_blocks[NKEYS], obs_bytes[NKEYS];
    size_t unk_blocks, unk_bytes; /* the model's, when taken */
    bool arena_live;
    uint64_t arenas_made;
} snap_t;

typedef struct fz {
    mgr_t *m, *m2;
    bool tight, leak_mode, shutdown_first, audit;
    bool backtraces; /* a pool recorded backtraces: a site may have several rows */
    bool ext;        /* byte 4 bit 6: guard configuration bytes and operations */
    bool tight_pool[LLE_POOL_COUNT];
    size_t err_hist_cap;
    errs_t e, e2;
    /* pools */
    bool dbg_on[LLE_POOL_COUNT];
    lle_debug_config_t dbg[LLE_POOL_COUNT];
    size_t pool_align[LLE_POOL_TABLE_SIZE], small_max[LLE_POOL_TABLE_SIZE];
    /* blocks */
    blk_t b[MAXB];
    unsigned nlive;
    blk_t b2[MAXB2];
    void *stale[NSTALE];
    unsigned nstale;
    unsigned tag;
    sitecount_t site[NKEYS];
    size_t unk_blocks, unk_bytes; /* debug blocks at sites the driver cannot name */
    const void *cs_pc[NCS]; /* return addresses of the cs_* calls, learned */
    uint64_t exp_invalid_frees, exp_double_frees, exp_failed;
    unsigned char *foreign; /* system malloc: never the manager's */
    /* arenas */
    arena_t a[MAXA];
    unsigned narenas;
    uint64_t arenas_made, mark_time, dtor_id;
    unsigned dlog[256], nlog; /* destructors as they ran */
    unsigned dexp[256], nexp; /* as the model expects them */
    snap_t snap[NSNAP];
    unsigned leak_reports;
} fz_t;

static fz_t Z;

/* ---- errors -------------------------------------------------------------- */

static void on_error(void *user, const lle_memory_error_t *e)
{
    errs_t *x = user;
    CHECK(e != NULL && e->message != NULL, "an error record without a message");
    CHECK((unsigned)e->code < LLE_RESULT_COUNT_ && e->code != LLE_SUCCESS,
          "error callback with code %d", (int)e->code);
    CHECK(strlen(e->message) < 512, "error message of %zu bytes", strlen(e->message));
    x->cb[e->code]++;
    x->seen = *e;
    x->seen.message = NULL;
}

/* The operation must report one error with `code` (about addr when known). */
static void expect_err(errs_t *x, lle_result_t code, const void *addr, bool addr_known)
{
    x->exp_lib[code]++;
    if (!x->ignore[code]) x->exp_cb[code]++;
    x->total++;
    x->last_code = code;
    x->last_addr = addr;
    x->last_addr_known = addr_known;
}

static void check_errs(mgr_t *m, errs_t *x, size_t hist_cap, const char *who)
{
    for (unsigned c = 0; c < LLE_RESULT_COUNT_; c++)
        CHECK(x->cb[c] == x->exp_cb[c],
              "%s: error callback saw %" PRIu64 " x %s, expected %" PRIu64, who, x->cb[c],
              lle_result_string((lle_result_t)c), x->exp_cb[c]);
    uint64_t counts[LLE_RESULT_COUNT_ + 2];
    CHECK(lle_memory_error_counts(m, counts, LLE_RESULT_COUNT_ + 2) == LLE_SUCCESS, "%s", who);
    for (unsigned c = 0; c < LLE_RESULT_COUNT_; c++)
        CHECK(counts[c] == x->exp_lib[c],
              "%s: lle_memory_error_counts has %" PRIu64 " x %s, expected %" PRIu64, who, counts[c],
              lle_result_string((lle_result_t)c), x->exp_lib[c]);
    CHECK(counts[LLE_RESULT_COUNT_] == 0 && counts[LLE_RESULT_COUNT_ + 1] == 0,
          "%s: counts past the last code", who);
    /* The history: min(total, cap) records, the newest the last expected. */
    static lle_error_record_t rec[64];
    size_t n = 0;
    lle_result_t r = lle_memory_get_errors(m, rec, 64, &n);
    size_t want = x->total < hist_cap ? (size_t)x->total : hist_cap;
    CHECK(n == want, "%s: error history holds %zu, expected %zu", who, n, want);
    CHECK(r == (n > 64 ? LLE_ERROR_BUFFER_TOO_SMALL : LLE_SUCCESS), "%s: get_errors %d", who, r);
    if (n && n <= 64) {
        const lle_error_record_t *last = &rec[n - 1];
        CHECK(last->error.code == x->last_code, "%s: newest error %s, expected %s", who,
              lle_result_string(last->error.code), lle_result_string(x->last_code));
        CHECK(last->error.message == last->text && strlen(last->text) < sizeof last->text,
              "%s: record text", who);
        if (x->last_addr_known)
            CHECK(last->error.address == x->last_addr, "%s: newest error about %p, expected %p",
                  who, last->error.address, x->last_addr);
    }
}

/* ---- the model's blocks -------------------------------------------------- */

static int free_slot(fz_t *z)
{
    if (z->nlive >= MAXB) return -1;
    for (int i = 0; i < MAXB; i++)
        if (!z->b[i].p) return i;
    return -1;
}

/* A live block chosen by the input, or -1. */
static int pick_live(fz_t *z, in_t *in)
{
    unsigned start = u8(in) % MAXB;
    if (!z->nlive) return -1;
    for (unsigned k = 0; k < MAXB; k++) {
        unsigned i = (start + k) % MAXB;
        if (z->b[i].p) return (int)i;
    }
    return -1;
}

/* A debug block enters (live) or leaves its site's counts.  Its bytes are
 * the size asked for (a debug block of 0 bytes is 1).  Every debug block
 * has a record, whatever its pool's features (lle/track.h). */
static void site_count(fz_t *z, const blk_t *b, bool live)
{
    size_t n = b->size ? b->size : 1;
    if (b->debug && b->unk_site) {
        z->unk_blocks += live ? 1 : (size_t)-1;
        z->unk_bytes += live ? n : (size_t)0 - n;
        return;
    }
    if (!b->debug || b->key < 0) return;
    sitecount_t *s = &z->site[b->key];
    if (live) {
        s->blocks++;
        s->bytes += n;
        s->allocs++;
    } else {
        s->blocks--;
        s->bytes -= n;
    }
}

static void stale_push(fz_t *z, void *p)
{
    z->stale[z->nstale++ % NSTALE] = p;
}

/* Which model key a library site is, -1 when none (an arena's chunks). */
static int site_key(const fz_t *z, const lle_site_t *s)
{
    if (!s->file) {
        for (int i = 0; i < NCS; i++)
            if (s->pc && s->pc == z->cs_pc[i]) return KEY_CS(i);
        return -1;
    }
    for (int i = 0; i < NEXPL; i++)
        if (s->file == expl[i].file && s->line == expl[i].line && s->func == expl[i].func) return i;
    for (int i = 0; i < NMAC; i++)
        if (strcmp(s->file, this_file) == 0 && s->line == mac_line[i] && s->func &&
            strcmp(s->func, mac_func[i]) == 0)
            return KEY_MAC(i);
    return -1;
}

/* Whether [p, p+n) meets a live block (other than self) or a recorded
 * arena allocation. */
static bool overlaps(const fz_t *z, const unsigned char *p, size_t n, const blk_t *self)
{
    if (!n) n = 1;
    for (int i = 0; i < MAXB; i++) {
        const blk_t *b = &z->b[i];
        if (b != self && b->p && p < b->p + (b->usable ? b->usable : 1) && b->p < p + n)
            return true;
    }
    for (int k = 0; k < MAXA; k++) {
        const arena_t *a = &z->a[k];
        if (!a->a) continue;
        for (unsigned j = 0; j < a->nal; j++) {
            const aalloc_t *x = &a->al[j];
            if (p < x->p + (x->n ? x->n : 1) && x->p < p + n) return true;
        }
    }
    return false;
}

static void check_content(const blk_t *b, const char *when)
{
    CHECK(intact(b->p, b->usable, b->tag), "block %p (%zu bytes, pool %d) changed %s", (void *)b->p,
          b->size, b->pool, when);
}

/*
 * A block just made: check what the library says of it, then enter it in
 * the model and fill it.  key_if_debug: the site it must be recorded at
 * when it is a debug block (KEY_CS: learned on first sight).
 */
static void new_block(fz_t *z, blk_t *b, int key_if_debug, bool zeroed, bool debug_known, int gx)
{
    CHECK(b->p != NULL, "allocation of %zu bytes from pool %d failed", b->size, b->pool);
    b->owner = lle_pool_owner(z->m, b->p);
    if (z->tight)
        CHECK(b->owner == b->pool || b->owner == LLE_POOL_SECONDARY, "block of pool %d owned by %d",
              b->pool, b->owner);
    else
        CHECK(b->owner == b->pool, "block of pool %d owned by %d", b->pool, b->owner);
    b->usable = lle_pool_usable_size(z->m, b->p);
    CHECK(b->usable >= b->size && b->usable >= 1, "usable %zu for %zu bytes", b->usable, b->size);
    lle_block_info_t info;
    lle_result_t r = lle_block_query(z->m, b->p, &info);
    CHECK(r == LLE_SUCCESS, "query of a new block: %s", lle_result_string(r));
    CHECK(info.start == b->p && info.size == b->usable && info.pool == b->owner &&
              info.state == LLE_BLOCK_LIVE,
          "query of %p: start %p size %zu pool %d state %d", (void *)b->p, info.start, info.size,
          info.pool, (int)info.state);
    /* On guard pages: as expected (gx 0 or 1), else (sampled) learned.  A
     * block on guard pages is a debug block. */
    CHECK(!info.guarded || info.debug, "block %p on guard pages is no debug block", (void *)b->p);
    if (gx >= 0)
        CHECK(info.guarded == gx, "block %p of pool %d: guarded %d, expected %d", (void *)b->p,
              b->pool, info.guarded, gx);
    b->guarded = info.guarded != 0;
    b->prot = PROT_RW;
    /* A sampled block may record the sampling path's return address
     * (README, "Later work"; e.g. the sample of the ordinary allocation a
     * realloc falls back to in a pool at its limit): it is counted at its
     * site when that is the one asked, else apart (fz_t.unk_*). */
    bool site_sure = !(gx < 0 && b->guarded);
    if (b->guarded && gx < 0) b->debug = true; /* a sampled block */
    if (debug_known)
        CHECK(info.debug == (int)b->debug, "block %p of pool %d: debug %d, expected %d",
              (void *)b->p, b->pool, info.debug, (int)b->debug);
    else
        b->debug = info.debug != 0;
    b->unk_site = false;
    if (b->debug) {
        CHECK(b->usable == (b->size ? b->size : 1), "debug block: usable %zu for %zu", b->usable,
              b->size);
        b->tracked = z->dbg[b->pool].track;
        if (!site_sure && site_key(z, &info.alloc_site) != key_if_debug) {
            b->key = -1;
            b->unk_site = true;
        } else if (key_if_debug >= KEY_CS(0)) {
            int cs = key_if_debug - KEY_CS(0);
            CHECK(info.alloc_site.file == NULL && info.alloc_site.pc != NULL,
                  "debug block without a site got file %s", info.alloc_site.file);
            if (!z->cs_pc[cs]) {
                for (int i = 0; i < NCS; i++)
                    CHECK(z->cs_pc[i] != info.alloc_site.pc, "two calls, one return address");
                z->cs_pc[cs] = info.alloc_site.pc;
            }
        }
        if (!b->unk_site) {
            int k = site_key(z, &info.alloc_site);
            CHECK(k == key_if_debug, "debug block recorded at site key %d, expected %d", k,
                  key_if_debug);
            b->key = k;
        }
    } else {
        b->key = -1;
        b->tracked = false;
    }
    /* Aligned as asked, and to its pool's alignment. */
    size_t al = b->align > 16 ? b->align : 16;
    if (b->owner == b->pool && z->pool_align[b->pool] > al) al = z->pool_align[b->pool];
    CHECK(((uintptr_t)b->p & (al - 1)) == 0, "block %p of pool %d not aligned to %zu", (void *)b->p,
          b->pool, al);
    b->maybe_large =
        !b->debug && (b->usable > z->small_max[b->owner] || b->align > z->pool_align[b->owner]);
    CHECK(!overlaps(z, b->p, b->usable, b), "new block %p (%zu usable) overlaps another",
          (void *)b->p, b->usable);
    if (zeroed) CHECK(all_zero(b->p, clip(b->size)), "calloc block not zeroed");
    b->tag = ++z->tag;
    fill(b->p, b->usable, b->tag);
    site_count(z, b, true);
    z->nlive++;
}

static void drop_block(fz_t *z, blk_t *b)
{
    site_count(z, b, false);
    z->nlive--;
    memset(b, 0, sizeof *b);
}

/* ---- statistics ---------------------------------------------------------- */

/* Pool blocks the live arenas hold: the arena itself and its chunks. */
static size_t arena_blocks(const fz_t *z, int pool, size_t *total)
{
    size_t n = 0;
    *total = 0;
    for (int k = 0; k < MAXA; k++) {
        if (!z->a[k].a) continue;
        lle_arena_stats_t st;
        CHECK(lle_arena_get_stats(z->a[k].a, &st) == LLE_SUCCESS, "arena stats");
        *total += 1 + st.chunks;
        if (z->a[k].pool == pool || (z->tight && pool == LLE_POOL_SECONDARY)) n += 1 + st.chunks;
    }
    return n;
}

static void check_stats(fz_t *z)
{
    lle_memory_stats_t st;
    CHECK(lle_memory_get_stats(z->m, &st) == LLE_SUCCESS, "get_stats");
    size_t count[LLE_POOL_TABLE_SIZE] = {0}, debug[LLE_POOL_TABLE_SIZE] = {0};
    size_t in_use[LLE_POOL_TABLE_SIZE] = {0}, guarded[LLE_POOL_TABLE_SIZE] = {0}, gtotal = 0;
    for (int i = 0; i < MAXB; i++) {
        const blk_t *b = &z->b[i];
        if (!b->p) continue;
        count[b->owner]++;
        in_use[b->owner] += b->usable;
        if (b->debug) debug[b->owner]++;
        if (b->guarded) guarded[b->owner]++, gtotal++;
    }
    size_t atotal;
    arena_blocks(z, 0, &atotal);
    CHECK(st.total.live_blocks == z->nlive + atotal, "live blocks %zu, model %u + %zu of arenas",
          st.total.live_blocks, z->nlive, atotal);
    CHECK(st.total.guarded_blocks >= gtotal && st.total.guarded_blocks <= gtotal + atotal,
          "%zu blocks on guard pages in all, model %zu (+ up to %zu)", st.total.guarded_blocks,
          gtotal, atotal);
    for (int p = 0; p < LLE_POOL_TABLE_SIZE; p++) {
        const lle_pool_stats_t *ps = &st.pools[p];
        size_t ab = arena_blocks(z, p, &atotal);
        CHECK(ps->alloc_count - ps->free_count == ps->live_blocks,
              "pool %d: %" PRIu64 " allocations - %" PRIu64 " frees != %zu live", p,
              ps->alloc_count, ps->free_count, ps->live_blocks);
        if (!z->tight)
            CHECK(ps->live_blocks == count[p] + ab, "pool %d: %zu live blocks, model %zu + %zu", p,
                  ps->live_blocks, count[p], ab);
        else
            CHECK(ps->live_blocks >= count[p] && ps->live_blocks <= count[p] + ab,
                  "pool %d: %zu live blocks, model %zu (+ up to %zu)", p, ps->live_blocks, count[p],
                  ab);
        CHECK(ps->debug_blocks >= debug[p] && ps->debug_blocks <= debug[p] + ab,
              "pool %d: %zu debug blocks, model %zu (+ up to %zu)", p, ps->debug_blocks, debug[p],
              ab);
        /* An arena's chunks may be on guard pages too. */
        CHECK(ps->guarded_blocks >= guarded[p] && ps->guarded_blocks <= guarded[p] + ab &&
                  ps->guarded_blocks <= ps->debug_blocks,
              "pool %d: %zu blocks on guard pages (%zu debug), model %zu (+ up to %zu)", p,
              ps->guarded_blocks, ps->debug_blocks, guarded[p], ab);
        if (ab == 0) {
            CHECK(ps->in_use_bytes == in_use[p], "pool %d: %zu bytes in use, model %zu", p,
                  ps->in_use_bytes, in_use[p]);
            CHECK(ps->debug_blocks == debug[p], "pool %d: %zu debug blocks, model %zu", p,
                  ps->debug_blocks, debug[p]);
            CHECK(ps->guarded_blocks == guarded[p], "pool %d: %zu blocks on guard pages, model %zu",
                  p, ps->guarded_blocks, guarded[p]);
        }
        if (p < LLE_POOL_COUNT)
            CHECK(ps->quarantined_bytes <= z->dbg[p].quarantine,
                  "pool %d: %zu bytes quarantined, budget %zu", p, ps->quarantined_bytes,
                  z->dbg[p].quarantine);
        CHECK(ps->kept_blocks == 0, "pool %d: %zu blocks withheld", p, ps->kept_blocks);
        CHECK(ps->reserved_bytes == ps->slab_bytes + ps->large_bytes + ps->debug_slab_bytes,
              "pool %d: reserved bytes", p);
        if (p != LLE_POOL_SECONDARY)
            CHECK(ps->reserved_bytes <= ps->max_size, "pool %d: %zu reserved above its limit %zu",
                  p, ps->reserved_bytes, ps->max_size);
    }
    CHECK(st.invalid_frees == z->exp_invalid_frees, "invalid_frees %" PRIu64 ", expected %" PRIu64,
          st.invalid_frees, z->exp_invalid_frees);
    CHECK(st.double_frees == z->exp_double_frees, "double_frees %" PRIu64 ", expected %" PRIu64,
          st.double_frees, z->exp_double_frees);
    CHECK(st.failed_allocations == z->exp_failed,
          "failed_allocations %" PRIu64 ", expected %" PRIu64, st.failed_allocations,
          z->exp_failed);
    CHECK(st.emergency_allocations == 0, "emergency allocations without a host failure");
    CHECK(st.state == LLE_MEMORY_STATE_ACTIVE, "state %d", st.state);
}

/* What a bad operation must not change. */
typedef struct still {
    size_t live, in_use, quarantined;
    uint64_t allocs, frees;
} still_t;

static still_t still_now(mgr_t *m)
{
    lle_memory_stats_t st;
    CHECK(lle_memory_get_stats(m, &st) == LLE_SUCCESS, "get_stats");
    return (still_t){st.total.live_blocks, st.total.in_use_bytes, st.total.quarantined_blocks,
                     st.total.alloc_count, st.total.free_count};
}

static void check_still(mgr_t *m, const still_t *before, const char *what)
{
    still_t now = still_now(m);
    CHECK(memcmp(&now, before, sizeof now) == 0,
          "%s changed the manager: live %zu -> %zu, in use %zu -> %zu, allocs %" PRIu64
          " -> %" PRIu64 ", frees %" PRIu64 " -> %" PRIu64,
          what, before->live, now.live, before->in_use, now.in_use, before->allocs, now.allocs,
          before->frees, now.frees);
}

/* ---- track usage, leak reports ------------------------------------------- */

static lle_site_usage_t rows[MAXROWS], rows2[MAXROWS];

static bool arena_live(const fz_t *z)
{
    return z->narenas > 0;
}

/* A site's live blocks as the library counts them against the model's. */
static void check_site_counts(const fz_t *z, int key, size_t blocks, size_t bytes, const char *what)
{
    const sitecount_t *s = &z->site[key];
    CHECK(blocks == s->blocks && bytes == s->bytes,
          "%s: site key %d has %zu blocks / %zu bytes, model %zu / %zu", what, key, blocks, bytes,
          s->blocks, s->bytes);
}

/* lle_track_usage against the model; per-key sums in obs_* (if not NULL). */
static void check_usage(fz_t *z, size_t *obs_blocks, size_t *obs_bytes)
{
    size_t n = 0, ob[NKEYS] = {0}, oby[NKEYS] = {0}, ub = 0, uby = 0;
    uint64_t oal[NKEYS] = {0};
    lle_result_t r = lle_track_usage(z->m, rows, MAXROWS, &n);
    CHECK(r == (n > MAXROWS ? LLE_ERROR_BUFFER_TOO_SMALL : LLE_SUCCESS), "track_usage: %s",
          lle_result_string(r));
    CHECK(n <= MAXROWS, "more than %d sites", MAXROWS);
    for (size_t i = 0; i < n; i++) {
        const lle_site_usage_t *u = &rows[i];
        CHECK(u->blocks > 0 && u->bytes >= u->blocks && u->allocations >= u->blocks,
              "usage row %zu: %zu blocks %zu bytes %" PRIu64 " allocations", i, u->blocks, u->bytes,
              u->allocations);
        if (i)
            CHECK(rows[i - 1].bytes > u->bytes ||
                      (rows[i - 1].bytes == u->bytes && rows[i - 1].blocks >= u->blocks),
                  "usage rows not sorted by bytes");
        int k = site_key(z, &u->site);
        if (k < 0) {
            CHECK(arena_live(z) || z->unk_blocks,
                  "usage row at an unknown site (file %s, pc %p) with no arena", u->site.file,
                  u->site.pc);
            ub += u->blocks;
            uby += u->bytes;
            continue;
        }
        ob[k] += u->blocks;
        oby[k] += u->bytes;
        oal[k] += u->allocations;
    }
    /* Rows at sites the driver cannot name: its sampled blocks' (and,
     * while arenas live, their chunks'). */
    if (arena_live(z))
        CHECK(ub >= z->unk_blocks && uby >= z->unk_bytes,
              "track_usage: %zu blocks / %zu bytes at unknown sites, model at least %zu / %zu", ub,
              uby, z->unk_blocks, z->unk_bytes);
    else
        CHECK(ub == z->unk_blocks && uby == z->unk_bytes,
              "track_usage: %zu blocks / %zu bytes at unknown sites, model %zu / %zu", ub, uby,
              z->unk_blocks, z->unk_bytes);
    for (int k = 0; k < NKEYS; k++) {
        check_site_counts(z, k, ob[k], oby[k], "track_usage");
        /* Without backtraces a site is one row: its allocations ever. */
        if (ob[k] && !z->backtraces)
            CHECK(oal[k] == z->site[k].allocs,
                  "track_usage: site key %d made %" PRIu64 " allocations, model %" PRIu64, k,
                  oal[k], z->site[k].allocs);
    }
    /* A short buffer: the same first rows, the whole count. */
    if (n > 1) {
        size_t n2 = 0;
        r = lle_track_usage(z->m, rows2, n / 2, &n2);
        CHECK(r == LLE_ERROR_BUFFER_TOO_SMALL && n2 == n, "short track_usage: %s, %zu of %zu",
              lle_result_string(r), n2, n);
        for (size_t i = 0; i < n / 2; i++)
            CHECK(rows2[i].blocks == rows[i].blocks && rows2[i].bytes == rows[i].bytes &&
                      rows2[i].site.pc == rows[i].site.pc &&
                      rows2[i].site.line == rows[i].site.line,
                  "short track_usage row %zu differs", i);
    }
    if (obs_blocks) {
        memcpy(obs_blocks, ob, sizeof ob);
        memcpy(obs_bytes, oby, sizeof oby);
    }
}

typedef struct text {
    char buf[16384];
    size_t len, calls;
    bool truncated;
} text_t;
static text_t txt;

static void on_text(void *user, const char *s, size_t len)
{
    text_t *t = user;
    t->calls++;
    CHECK(s != NULL && strlen(s) == len, "report text of %zu bytes, strlen %zu", len,
          s ? strlen(s) : 0);
    t->truncated = len >= sizeof t->buf;
    t->len = t->truncated ? sizeof t->buf - 1 : len;
    memcpy(t->buf, s, t->len);
    t->buf[t->len] = '\0';
}

static void on_leak_report(void *user, const char *s, size_t len)
{
    (void)s;
    (void)len;
    ((fz_t *)user)->leak_reports++;
}

/* The report's totals must be track_usage's. */
static void check_leak_report(fz_t *z, bool json)
{
    size_t n = 0, blocks = 0, bytes = 0;
    lle_track_usage(z->m, rows, MAXROWS, &n);
    for (size_t i = 0; i < n && i < MAXROWS; i++) {
        blocks += rows[i].blocks;
        bytes += rows[i].bytes;
    }
    memset(&txt, 0, sizeof txt);
    lle_result_t r = lle_leak_report(z->m, json ? LLE_FORMAT_JSON : LLE_FORMAT_TEXT, on_text, &txt);
    CHECK(r == LLE_SUCCESS && txt.calls == 1, "leak_report: %s, %zu calls", lle_result_string(r),
          txt.calls);
    if (txt.truncated) return;
    size_t a = SIZE_MAX, b = SIZE_MAX, c = SIZE_MAX;
    if (json) {
        CHECK(sscanf(txt.buf, "{\"blocks\":%zu,\"bytes\":%zu,", &a, &b) == 2 &&
                  txt.buf[txt.len - 1] == '}',
              "leak report JSON: %.80s", txt.buf);
        CHECK(a == blocks && b == bytes, "leak report JSON: %zu blocks %zu bytes, usage %zu %zu", a,
              b, blocks, bytes);
    } else {
        CHECK(txt.len && txt.buf[txt.len - 1] == '\n', "leak report text without a final newline");
        txt.buf[txt.len - 1] = '\0';
        const char *last = strrchr(txt.buf, '\n');
        last = last ? last + 1 : txt.buf;
        CHECK(sscanf(last, "%zu bytes in %zu live tracked blocks at %zu call sites", &b, &a, &c) ==
                  3,
              "leak report text: last line '%s'", last);
        CHECK(a == blocks && b == bytes && c == n, "leak report: %zu/%zu/%zu, usage %zu/%zu/%zu", a,
              b, c, blocks, bytes, n);
    }
}

/* ---- snapshots ----------------------------------------------------------- */

static void op_snapshot(fz_t *z, in_t *in)
{
    snap_t *s = &z->snap[u8(in) % NSNAP];
    lle_snapshot_free(s->s);
    s->s = NULL;
    CHECK(lle_snapshot_take(z->m, &s->s) == LLE_SUCCESS && s->s, "snapshot_take");
    memcpy(s->model, z->site, sizeof s->model);
    s->unk_blocks = z->unk_blocks;
    s->unk_bytes = z->unk_bytes;
    check_usage(z, s->obs_blocks, s->obs_bytes);
    s->arena_live = arena_live(z);
    s->arenas_made = z->arenas_made;
}

static lle_snapshot_change_t ch[MAXROWS], ch2[MAXROWS];

static void check_diff(fz_t *z, const snap_t *A, const snap_t *B)
{
    size_t n = 0;
    lle_result_t r = lle_snapshot_diff(A->s, B->s, ch, MAXROWS, &n);
    CHECK(r == LLE_SUCCESS, "snapshot_diff: %s (%zu changes)", lle_result_string(r), n);
    bool unknown_ok = A->arena_live || B->arena_live || A->arenas_made != B->arenas_made;
    long long db[NKEYS] = {0}, dby[NKEYS] = {0}, tb = 0, tby = 0, ub = 0, uby = 0;
    for (size_t i = 0; i < n; i++) {
        const lle_snapshot_change_t *c = &ch[i];
        CHECK(c->blocks_delta || c->bytes_delta, "diff row %zu without a change", i);
        long long before_b = (long long)c->blocks_after - c->blocks_delta;
        long long before_y = (long long)c->bytes_after - c->bytes_delta;
        CHECK(before_b >= 0 && before_y >= 0, "diff row %zu: negative count before", i);
        lle_diff_kind_t want = before_b == 0          ? LLE_DIFF_APPEARED
                               : c->blocks_after == 0 ? LLE_DIFF_GONE
                               : c->bytes_delta > 0 || (c->bytes_delta == 0 && c->blocks_delta > 0)
                                   ? LLE_DIFF_GREW
                                   : LLE_DIFF_SHRANK;
        CHECK(c->kind == want, "diff row %zu: kind %d, expected %d", i, (int)c->kind, (int)want);
        if (i)
            CHECK(llabs(ch[i - 1].bytes_delta) >= llabs(c->bytes_delta),
                  "diff rows not sorted by byte change");
        tb += c->blocks_delta;
        tby += c->bytes_delta;
        int k = site_key(z, &c->site);
        if (k < 0) {
            CHECK(unknown_ok || A->unk_blocks || B->unk_blocks,
                  "diff row at an unknown site with no arena in between");
            ub += c->blocks_delta;
            uby += c->bytes_delta;
            continue;
        }
        db[k] += c->blocks_delta;
        dby[k] += c->bytes_delta;
    }
    if (!unknown_ok)
        CHECK(ub == (long long)B->unk_blocks - (long long)A->unk_blocks &&
                  uby == (long long)B->unk_bytes - (long long)A->unk_bytes,
              "diff at unknown sites: %lld blocks %lld bytes, model %lld / %lld", ub, uby,
              (long long)B->unk_blocks - (long long)A->unk_blocks,
              (long long)B->unk_bytes - (long long)A->unk_bytes);
    for (int k = 0; k < NKEYS; k++) {
        /* The diff is what track_usage said at the two moments... */
        CHECK(db[k] == (long long)B->obs_blocks[k] - (long long)A->obs_blocks[k] &&
                  dby[k] == (long long)B->obs_bytes[k] - (long long)A->obs_bytes[k],
              "diff of key %d: %lld blocks %lld bytes, usage moved %lld / %lld", k, db[k], dby[k],
              (long long)B->obs_blocks[k] - (long long)A->obs_blocks[k],
              (long long)B->obs_bytes[k] - (long long)A->obs_bytes[k]);
        /* ... and the model's change. */
        const sitecount_t *a = &A->model[k], *b = &B->model[k];
        CHECK(db[k] == (long long)b->blocks - (long long)a->blocks &&
                  dby[k] == (long long)b->bytes - (long long)a->bytes,
              "diff of key %d: %lld blocks %lld bytes, model %lld / %lld", k, db[k], dby[k],
              (long long)b->blocks - (long long)a->blocks,
              (long long)b->bytes - (long long)a->bytes);
    }
    /* A short buffer: BUFFER_TOO_SMALL, the count, the same first row. */
    if (n > 1) {
        size_t n2 = 0;
        r = lle_snapshot_diff(A->s, B->s, ch2, 1, &n2);
        CHECK(r == LLE_ERROR_BUFFER_TOO_SMALL && n2 == n &&
                  ch2[0].bytes_delta == ch[0].bytes_delta && ch2[0].site.line == ch[0].site.line,
              "short snapshot_diff: %s %zu", lle_result_string(r), n2);
    }
    /* The report: its totals are the rows'. */
    bool json = tb & 1;
    memset(&txt, 0, sizeof txt);
    r = lle_snapshot_diff_report(A->s, B->s, json ? LLE_FORMAT_JSON : LLE_FORMAT_TEXT, on_text,
                                 &txt);
    CHECK(r == LLE_SUCCESS && txt.calls == 1, "diff report: %s", lle_result_string(r));
    if (txt.truncated) return;
    if (json) {
        CHECK(strncmp(txt.buf, "{\"changes\":[", 12) == 0 &&
                  strcmp(txt.buf + txt.len - 2, "]}") == 0,
              "diff report JSON: %.60s", txt.buf);
    } else {
        CHECK(txt.len && txt.buf[txt.len - 1] == '\n', "diff report without a final newline");
        txt.buf[txt.len - 1] = '\0';
        const char *last = strrchr(txt.buf, '\n');
        last = last ? last + 1 : txt.buf;
        long long xby = 0, xb = 0;
        size_t sites = 0;
        CHECK(sscanf(last, "%lld bytes, %lld blocks at %zu call sites", &xby, &xb, &sites) == 3,
              "diff report last line '%s'", last);
        CHECK(xby == tby && xb == tb && sites == n,
              "diff report totals %lld bytes %lld blocks %zu sites, rows %lld %lld %zu", xby, xb,
              sites, tby, tb, n);
    }
}

static void op_diff(fz_t *z, in_t *in)
{
    unsigned i = u8(in) % NSNAP, j = u8(in) % NSNAP;
    snap_t *A = &z->snap[i], *B = &z->snap[j];
    if (!A->s || !B->s) return;
    check_diff(z, A, B);
    size_t n = 1;
    CHECK(lle_snapshot_diff(A->s, A->s, ch, MAXROWS, &n) == LLE_SUCCESS && n == 0,
          "a snapshot differs from itself (%zu changes)", n);
}

/* ---- checks of the whole state ------------------------------------------- */

static void check_arenas(fz_t *z);

static void verify_all(fz_t *z)
{
    for (int i = 0; i < MAXB; i++)
        if (z->b[i].p && z->b[i].prot != PROT_NONE) check_content(&z->b[i], "while live");
    for (int i = 0; i < MAXB2; i++)
        if (z->b2[i].p) check_content(&z->b2[i], "while live (second manager)");
    for (int k = 0; k < MAXA; k++)
        for (unsigned j = 0; z->a[k].a && j < z->a[k].nal; j++) {
            const aalloc_t *x = &z->a[k].al[j];
            CHECK(intact(x->p, x->n, x->tag), "arena %s: allocation %u (%p, %zu bytes) changed",
                  z->a[k].name, j, (void *)x->p, x->n);
        }
}

static void check_all(fz_t *z)
{
    check_errs(z->m, &z->e, z->err_hist_cap, "manager");
    check_errs(z->m2, &z->e2, 64, "second manager");
    check_stats(z);
    check_arenas(z);
    CHECK(z->nlog == z->nexp, "%u destructors ran, expected %u", z->nlog, z->nexp);
    for (unsigned i = 0; i < z->nlog; i++)
        CHECK(z->dlog[i] == z->dexp[i], "destructor %u: ran %u, expected %u", i, z->dlog[i],
              z->dexp[i]);
    z->nlog = z->nexp = 0;
    if (nops % 32 == 31) verify_all(z);
}

/* ---- allocation ---------------------------------------------------------- */

/* The newest entry of the audit trail (16 entries kept). */
static lle_audit_entry_t newest_audit(fz_t *z)
{
    static lle_audit_entry_t all[16];
    size_t cnt = 0;
    lle_result_t r = lle_audit_get(z->m, all, 16, &cnt);
    CHECK(r == LLE_SUCCESS && cnt >= 1 && cnt <= 16, "audit trail: %s, %zu entries",
          lle_result_string(r), cnt);
    return all[cnt - 1];
}

/* Whether an allocation of `pool` with `align` must be on guard pages (1),
 * must not (0), or may be (-1: sampled, or a tight pool whose limit may
 * leave no room for guard pages).  Guard pages serve alignments up to the
 * page size. */
static int guard_expect(const fz_t *z, int pool, size_t align)
{
    unsigned g = z->dbg[pool].guard;
    if (g == 0 || align > 4 * KiB) return 0;
    if (g == 1 && !z->tight_pool[pool]) return 1;
    return -1;
}

/* An alignment: mostly small, up to 256 KiB now and then. */
static size_t pick_align(in_t *in)
{
    unsigned v = u8(in);
    unsigned shift = (v & 0x80) ? 4 + v % 15 : 4 + v % 9; /* 16..256K, 16..4096 */
    return (size_t)1 << shift;
}

static void op_alloc(fz_t *z, in_t *in)
{
    int slot = free_slot(z);
    int pool = (int)(u8(in) % LLE_POOL_COUNT);
    unsigned how = u8(in) % 9;
    size_t n = pick_size(in);
    if (slot < 0) return;
    blk_t *b = &z->b[slot];
    memset(b, 0, sizeof *b);
    b->pool = pool;
    const lle_site_t *site = &expl[u8(in) % NEXPL];
    size_t k = 1 + u8(in) % 8, each = n / k; /* calloc: k elements of `each` bytes */
    size_t align = how >= 6 ? pick_align(in) : 16;
    bool zeroed = how >= 3 && how <= 5;
    if (zeroed) n = each * k;
    /* Debug slabs are aligned to 16 KiB: an alignment above that gets an
     * ordinary block. */
    b->debug = z->dbg_on[pool] && align <= 16 * KiB;
    int gx = guard_expect(z, pool, align);
    if (gx == 1) b->debug = true;
    static const int keys[9] = {KEY_CS(CS_ALLOC),   -1, KEY_MAC(MAC_ALLOC),
                                KEY_CS(CS_CALLOC),  -1, KEY_MAC(MAC_CALLOC),
                                KEY_CS(CS_ALIGNED), -1, KEY_MAC(MAC_ALIGNED)};
    int key = keys[how] < 0 ? (int)(site - expl) : keys[how];
    lle_memory_pool_type_t t = (lle_memory_pool_type_t)pool;
    void *p;
    switch (how) {
    case 0: p = cs_alloc(z->m, pool, n); break;
    case 1: p = lle_pool_alloc_at(z->m, t, n, site); break;
    case 2: p = mac_alloc(z->m, pool, n); break;
    case 3: p = cs_calloc(z->m, pool, k, each); break;
    case 4: p = lle_pool_calloc_at(z->m, t, k, each, site); break;
    case 5: p = mac_calloc(z->m, pool, k, each); break;
    case 6: p = cs_aligned(z->m, pool, n, align); break;
    case 7: p = lle_pool_alloc_aligned_at(z->m, t, n, align, site); break;
    default: p = mac_aligned(z->m, pool, n, align); break;
    }
    b->p = p;
    b->size = n;
    b->align = align;
    /* With tight limits a debug pool may serve an ordinary block (no room
     * for a debug slab); a pool without debugging never serves a debug one. */
    bool known = !z->tight || !b->debug;
    new_block(z, b, key, zeroed, known, gx);
    if (z->audit && b->tracked) {
        lle_audit_entry_t e = newest_audit(z);
        CHECK(e.op == LLE_AUDIT_ALLOC && e.address == b->p && e.pool == pool &&
                  e.size == (n ? n : 1) && e.code == LLE_SUCCESS,
              "audit: newest entry op %d address %p size %zu, expected the allocation of %p",
              (int)e.op, e.address, e.size, (void *)b->p);
    }
}

static void free_checks(fz_t *z, const blk_t *old, const lle_site_t *site)
{
    void *p = old->p;
    CHECK(lle_pool_usable_size(z->m, p) == 0 && lle_pool_owner(z->m, p) == -1,
          "freed block %p still has a size or an owner", p);
    lle_block_info_t info;
    lle_result_t r = lle_block_query(z->m, p, &info);
    CHECK(r == LLE_ERROR_DOUBLE_FREE || r == LLE_ERROR_INVALID_POINTER,
          "query of a freed block: %s", lle_result_string(r));
    /* A freed guard-page block keeps its slot (and its record) for the next
     * 256 frees of such blocks at least. */
    if (old->guarded)
        CHECK(r == LLE_ERROR_DOUBLE_FREE, "query of freed guard-page block %p: %s", p,
              lle_result_string(r));
    if (r == LLE_ERROR_DOUBLE_FREE && old->debug) {
        CHECK(info.start == p && info.debug &&
                  (info.state == LLE_BLOCK_QUARANTINED || info.state == LLE_BLOCK_FREED),
              "query of a freed debug block: start %p state %d", info.start, (int)info.state);
        CHECK(info.guarded == (int)old->guarded, "freed block %p: guarded %d, expected %d", p,
              info.guarded, (int)old->guarded);
        if (site)
            CHECK(info.free_site.file == site->file && info.free_site.line == site->line,
                  "freed debug block: free site %s:%d", info.free_site.file, info.free_site.line);
    }
}

/* A guard-page block just freed with guard_freed=poison (the only mode
 * the driver sets): its pages stay readable, its bytes LLE_POISON_FREED
 * until its slot is reused (after 256 more frees of such blocks). */
static void freed_poison(fz_t *z, const blk_t *old)
{
    if (!old->guarded) return;
    CHECK(z->dbg[old->owner].guard_freed == LLE_GUARD_FREED_POISON,
          "a guard-page block freed in pool %d without guard_freed=poison", old->owner);
    size_t n = old->size ? old->size : 1;
    for (size_t k = 0; k < n; k++)
        CHECK(old->p[k] == LLE_POISON_FREED, "freed guard-page block %p: byte %zu is %#x", (void *)old->p,
              k, old->p[k]);
}

static void op_free(fz_t *z, in_t *in)
{
    int i = pick_live(z, in);
    unsigned how = u8(in) % 3;
    const lle_site_t *site = &expl[u8(in) % NEXPL];
    if (i < 0) return;
    blk_t old = z->b[i];
    if (old.prot != PROT_NONE) check_content(&old, "before free");
    lle_result_t r;
    if (how == 0)
        r = lle_pool_free(z->m, old.p), site = NULL;
    else if (how == 1)
        r = lle_pool_free_at(z->m, old.p, site);
    else
        r = mac_free(z->m, old.p), site = NULL;
    CHECK(r == LLE_SUCCESS, "free of a live block: %s", lle_result_string(r));
    drop_block(z, &z->b[i]);
    free_checks(z, &old, site);
    freed_poison(z, &old);
    stale_push(z, old.p);
    if (z->audit && old.tracked) {
        lle_audit_entry_t e = newest_audit(z);
        CHECK(e.op == LLE_AUDIT_FREE && e.address == old.p && e.code == LLE_SUCCESS,
              "audit: newest entry is not the free of %p", (void *)old.p);
    }
    /* A second free right away: refused, nothing changed. */
    if (u8(in) % 4 == 0) {
        still_t before = still_now(z->m);
        r = lle_pool_free(z->m, old.p);
        bool large = !old.debug && old.maybe_large && old.align <= 16 &&
                     old.usable > z->small_max[old.owner];
        if (large || old.guarded)
            CHECK(r == LLE_ERROR_DOUBLE_FREE, "second free of large block %p: %s", (void *)old.p,
                  lle_result_string(r));
        else
            CHECK(r == LLE_ERROR_DOUBLE_FREE || r == LLE_ERROR_INVALID_POINTER,
                  "second free of %p: %s", (void *)old.p, lle_result_string(r));
        if (r == LLE_ERROR_DOUBLE_FREE)
            z->exp_double_frees++;
        else
            z->exp_invalid_frees++;
        expect_err(&z->e, r, old.p, true);
        check_still(z->m, &before, "a second free");
        /* A debug block's double free is reported with its sites. */
        if (old.debug && r == LLE_ERROR_DOUBLE_FREE && !z->e.ignore[r]) {
            CHECK(site_key(z, &z->e.seen.alloc_site) == old.key,
                  "double free reported with another allocation site");
            if (site)
                CHECK(z->e.seen.free_site.file == site->file &&
                          z->e.seen.free_site.line == site->line,
                      "double free reported with another free site");
        }
    }
}

static void op_realloc(fz_t *z, in_t *in)
{
    int i = pick_live(z, in);
    unsigned how = u8(in) % 3;
    const lle_site_t *site = &expl[u8(in) % NEXPL];
    size_t n = u8(in) % 16 == 0 ? 0 : pick_size(in);
    bool from_null = u8(in) % 8 == 0;
    int key = how == 0 ? KEY_CS(CS_REALLOC) : how == 1 ? (int)(site - expl) : KEY_MAC(MAC_REALLOC);
    if (from_null || i < 0) {
        /* realloc(NULL, n): an allocation from LLE_POOL_CUSTOM. */
        int slot = free_slot(z);
        if (slot < 0) return;
        void *p = how == 0   ? cs_realloc(z->m, NULL, n)
                  : how == 1 ? lle_pool_realloc_at(z->m, NULL, n, site)
                             : mac_realloc(z->m, NULL, n);
        blk_t *b = &z->b[slot];
        memset(b, 0, sizeof *b);
        b->p = p;
        b->size = n;
        b->align = 16;
        b->pool = LLE_POOL_CUSTOM;
        b->debug = z->dbg_on[LLE_POOL_CUSTOM];
        int gx = guard_expect(z, LLE_POOL_CUSTOM, 16);
        if (gx == 1) b->debug = true;
        new_block(z, b, key, false, !z->tight || !b->debug, gx);
        return;
    }
    blk_t old = z->b[i];
    if (old.prot != PROT_NONE) check_content(&old, "before realloc");
    unsigned char *q = how == 0   ? cs_realloc(z->m, old.p, n)
                       : how == 1 ? lle_pool_realloc_at(z->m, old.p, n, site)
                                  : mac_realloc(z->m, old.p, n);
    if (n == 0) {
        CHECK(q == NULL, "realloc to 0 returned %p", (void *)q);
        drop_block(z, &z->b[i]);
        free_checks(z, &old, NULL);
        freed_poison(z, &old);
        stale_push(z, old.p);
        return;
    }
    CHECK(q != NULL, "realloc of %p to %zu bytes failed", (void *)old.p, n);
    if (old.debug)
        CHECK(q != old.p, "a debug block stayed in place on realloc");
    else if (n <= old.usable && (n > old.usable / 2 || old.usable <= 32))
        CHECK(q == old.p, "realloc of %p (%zu usable) to %zu bytes moved it", (void *)old.p,
              old.usable, n);
    size_t keep = n < old.size ? n : old.size;
    CHECK(intact(q, keep, old.tag), "realloc lost the first %zu bytes", keep);
    drop_block(z, &z->b[i]);
    if (q != old.p) stale_push(z, old.p);
    freed_poison(z, &old);
    blk_t *b = &z->b[i];
    b->p = q;
    b->size = n;
    b->pool = old.pool;
    /* Alignment above the pool's is kept only by large blocks or in place:
     * assume the least. */
    b->align = 16;
    b->debug = old.debug;
    bool known = !z->tight || !old.debug;
    /* A guard-page block moves to a block of its pool's current mode: on
     * guard pages for every allocation (guard=1), maybe when sampled, not
     * when the pool has no guard pages (a debug block still: its kind is
     * kept, as above).  Other blocks stay off guard pages in a pool
     * without them. */
    int gx = 0;
    if (old.guarded) {
        unsigned g = z->dbg[old.owner].guard;
        gx = g == 0 ? 0 : g == 1 && !z->tight_pool[old.owner] ? 1 : -1;
    } else if (old.owner < LLE_POOL_COUNT && z->dbg[old.owner].guard) {
        gx = -1; /* a move is an allocation, sampled or not */
    }
    /* The block keeps its pool (the secondary pool's blocks stay there). */
    int want_owner = old.owner;
    new_block(z, b, key, false, known, gx);
    if (!z->tight)
        CHECK(b->owner == want_owner, "realloc moved the block from pool %d to %d", want_owner,
              b->owner);
    else
        CHECK(b->owner == want_owner || b->owner == LLE_POOL_SECONDARY,
              "realloc moved the block from pool %d to %d", want_owner, b->owner);
    /* A large block keeps a large alignment, so it may stay large below
     * the slab sizes. */
    b->maybe_large = b->maybe_large || (!b->debug && old.maybe_large);
}

/* ---- bad frees, bad reallocs, bad arguments ------------------------------ */

/* A freed pointer that no live block holds now, or NULL. */
static void *pick_stale(fz_t *z, in_t *in)
{
    unsigned have = z->nstale < NSTALE ? z->nstale : NSTALE;
    if (!have) return NULL;
    void *p = z->stale[u8(in) % have];
    lle_block_info_t info;
    if (lle_block_query(z->m, p, &info) == LLE_SUCCESS) return NULL; /* handed out again */
    return p;
}

/* A pointer of the kind `kind` that is no live block of z->m; *stale set
 * when it is a freed block's (whose refusal may read either way). */
static void *bad_pointer(fz_t *z, in_t *in, unsigned kind, char *stackbuf, bool *stale)
{
    *stale = false;
    switch (kind) {
    case 0: return stackbuf + u8(in) % 48;
    case 1: return z->foreign + u8(in) % 200;
    case 2: {
        int i = pick_live(z, in);
        unsigned off = u8(in);
        if (i < 0) return NULL;
        blk_t *b = &z->b[i];
        if (off % 5 == 0) return b->p - 8;
        if (b->size < 2) return NULL;
        return b->p + 1 + off % (b->size - 1);
    }
    case 3: *stale = true; return pick_stale(z, in);
    default: {
        for (int k = 0; k < MAXB2; k++)
            if (z->b2[k].p) return z->b2[k].p + (u8(in) % 2 ? 0 : z->b2[k].size / 2);
        return NULL;
    }
    }
}

static void op_bad_free(fz_t *z, in_t *in)
{
    char stackbuf[64];
    unsigned kind = u8(in) % 6;
    bool at = u8(in) & 1, stale;
    if (kind == 5) {
        CHECK(lle_pool_free(z->m, NULL) == LLE_SUCCESS, "free(NULL)");
        CHECK(lle_pool_free(NULL, z->foreign) == LLE_ERROR_NULL_PARAMETER,
              "free without a manager");
        return;
    }
    void *p = bad_pointer(z, in, kind, stackbuf, &stale);
    if (!p) return;
    still_t before = still_now(z->m);
    lle_result_t r = at ? lle_pool_free_at(z->m, p, &expl[1]) : lle_pool_free(z->m, p);
    if (stale)
        CHECK(r == LLE_ERROR_DOUBLE_FREE || r == LLE_ERROR_INVALID_POINTER,
              "free of freed pointer %p: %s", p, lle_result_string(r));
    else
        CHECK(r == LLE_ERROR_INVALID_POINTER, "free of bad pointer %p (kind %u): %s", p, kind,
              lle_result_string(r));
    if (r == LLE_ERROR_DOUBLE_FREE)
        z->exp_double_frees++;
    else
        z->exp_invalid_frees++;
    expect_err(&z->e, r, p, true);
    check_still(z->m, &before, "a bad free");
    if (!z->e.ignore[r])
        CHECK(z->e.seen.code == r && z->e.seen.address == p, "the error reported is %s about %p",
              lle_result_string(z->e.seen.code), z->e.seen.address);
    if (z->audit) {
        lle_audit_entry_t e = newest_audit(z);
        CHECK(e.op == LLE_AUDIT_ERROR && e.code == r && e.address == p,
              "audit: newest entry is not the error of the bad free");
    }
    /* What the queries say of it. */
    CHECK(lle_pool_usable_size(z->m, p) == 0 && lle_pool_owner(z->m, p) == -1,
          "bad pointer %p has a size or an owner", p);
    /* An interior pointer is inside its block; 8 bytes before a block is
     * in the one before it, or (a debug block) in its own guard bytes. */
    lle_result_t q = lle_memory_check_bounds(z->m, p, 1, NULL);
    CHECK(q == LLE_ERROR_DOUBLE_FREE || q == LLE_ERROR_INVALID_POINTER ||
              (kind == 2 && (q == LLE_SUCCESS || q == LLE_ERROR_BOUNDS_VIOLATION)),
          "bounds check of bad pointer %p: %s", p, lle_result_string(q));
    if (q == LLE_ERROR_BOUNDS_VIOLATION) expect_err(&z->e, q, p, true);
    /* The second manager refuses the first one's blocks too. */
    if (kind == 4) {
        int i = pick_live(z, in);
        if (i >= 0) {
            still_t b2 = still_now(z->m2);
            r = lle_pool_free(z->m2, z->b[i].p);
            CHECK(r == LLE_ERROR_INVALID_POINTER, "second manager freed a block of the first: %s",
                  lle_result_string(r));
            expect_err(&z->e2, r, z->b[i].p, true);
            check_still(z->m2, &b2, "a foreign free");
        }
    }
}

static void op_bad_realloc(fz_t *z, in_t *in)
{
    char stackbuf[64];
    unsigned kind = u8(in) % 5;
    bool stale;
    size_t n = 1 + u8(in) * 3;
    void *p = bad_pointer(z, in, kind, stackbuf, &stale);
    if (!p) return;
    still_t before = still_now(z->m);
    uint64_t uaf = z->e.exp_lib[LLE_ERROR_USE_AFTER_FREE],
             inv = z->e.exp_lib[LLE_ERROR_INVALID_POINTER];
    uint64_t counts[LLE_RESULT_COUNT_];
    void *q = lle_pool_realloc(z->m, p, n);
    CHECK(q == NULL, "realloc of bad pointer %p returned %p", p, q);
    lle_memory_error_counts(z->m, counts, LLE_RESULT_COUNT_);
    lle_result_t code;
    if (counts[LLE_ERROR_USE_AFTER_FREE] == uaf + 1 && counts[LLE_ERROR_INVALID_POINTER] == inv)
        code = LLE_ERROR_USE_AFTER_FREE;
    else
        code = LLE_ERROR_INVALID_POINTER;
    CHECK(code == LLE_ERROR_INVALID_POINTER || stale,
          "realloc of a bad pointer (kind %u) reported a use after free", kind);
    expect_err(&z->e, code, p, true);
    z->exp_invalid_frees++;   /* "errors returned by free/realloc" */
    check_still(z->m, &before, "a bad realloc");
}

static void op_bad_args(fz_t *z, in_t *in)
{
    unsigned kind = u8(in) % 7;
    int pool = (int)(u8(in) % LLE_POOL_COUNT);
    still_t before = still_now(z->m);
    void *p = NULL;
    switch (kind) {
    case 0:
        p = u8(in) & 1
                ? lle_pool_alloc(z->m, (lle_memory_pool_type_t)pool, SIZE_MAX)
                : lle_pool_alloc(z->m, (lle_memory_pool_type_t)pool, LLE_POOL_MAX_REQUEST + 1);
        break;
    case 1: {
        int bad = u8(in) & 1 ? LLE_POOL_SECONDARY : 77;
        p = lle_pool_alloc(z->m, (lle_memory_pool_type_t)bad, 16);
        break;
    }
    case 2: {
        static const size_t bad_align[] = {0, 3, 24, 48, 4095, 100000};
        p = lle_pool_alloc_aligned(z->m, (lle_memory_pool_type_t)pool, 64, bad_align[u8(in) % 6]);
        break;
    }
    case 3: p = lle_pool_calloc(z->m, (lle_memory_pool_type_t)pool, SIZE_MAX / 2, 3); break;
    case 4: {
        int i = pick_live(z, in);
        if (i < 0) return;
        p = lle_pool_realloc(z->m, z->b[i].p, LLE_POOL_MAX_REQUEST + 1 + u8(in));
        CHECK(lle_pool_usable_size(z->m, z->b[i].p) == z->b[i].usable, "failed realloc resized");
        check_content(&z->b[i], "after a refused realloc");
        break;
    }
    case 5: {
        CHECK(lle_pool_alloc(NULL, (lle_memory_pool_type_t)pool, 16) == NULL,
              "alloc without manager");
        lle_debug_config_t d = {.track = true, .backtrace = 33}, got;
        CHECK(lle_memory_set_debug(z->m, pool, &d) == LLE_ERROR_INVALID_ARGUMENT, "backtrace 33");
        d.backtrace = 0;
        CHECK(lle_memory_set_debug(z->m, LLE_POOL_SECONDARY, &d) == LLE_ERROR_INVALID_ARGUMENT,
              "debugging the secondary pool");
        CHECK(lle_memory_get_debug(z->m, pool, &got) == LLE_SUCCESS &&
                  memcmp(&got, &z->dbg[pool], sizeof got) == 0,
              "a refused set_debug changed the configuration");
        return;
    }
    default: {
        /* Refused arena configurations: nothing made. */
        lle_arena_config_t c;
        lle_arena_config_default(&c);
        unsigned v = u8(in) % 4;
        if (v == 0)
            c.limit = 0;
        else if (v == 1)
            c.chunk_size = 255;
        else if (v == 2)
            c.chunk_size = 2 * MiB;
        else
            c.pool = (lle_memory_pool_type_t)LLE_POOL_COUNT;
        lle_arena_t *a = (lle_arena_t *)&c;
        CHECK(lle_arena_create(z->m, NULL, "bad", &c, &a) == LLE_ERROR_INVALID_ARGUMENT &&
                  a == NULL,
              "a bad arena configuration was accepted");
        check_still(z->m, &before, "a refused arena");
        return;
    }
    }
    CHECK(p == NULL, "a bad request (kind %u) returned %p", kind, p);
    expect_err(&z->e, LLE_ERROR_INVALID_ARGUMENT, NULL, false);
    z->exp_failed++;
    check_still(z->m, &before, "a bad request");
}

/* ---- queries ------------------------------------------------------------- */

static void op_query(fz_t *z, in_t *in)
{
    int i = pick_live(z, in);
    unsigned v = u16(in);
    if (i < 0) return;
    const blk_t *b = &z->b[i];
    CHECK(lle_pool_usable_size(z->m, b->p) == b->usable, "usable size changed");
    CHECK(lle_pool_owner(z->m, b->p) == b->owner, "owner changed");
    size_t off = b->maybe_large ? 0 : v % b->usable;
    lle_block_info_t info;
    lle_result_t r = lle_block_query(z->m, b->p + off, &info);
    CHECK(r == LLE_SUCCESS && info.start == b->p && info.size == b->usable &&
              info.pool == b->owner && info.state == LLE_BLOCK_LIVE && info.debug == (int)b->debug,
          "query of %p + %zu: %s start %p size %zu pool %d debug %d", (void *)b->p, off,
          lle_result_string(r), info.start, info.size, info.pool, info.debug);
    CHECK(info.guarded == (int)b->guarded, "query of %p: guarded %d, expected %d", (void *)b->p,
          info.guarded, (int)b->guarded);
    if (b->debug && !b->unk_site)
        CHECK(site_key(z, &info.alloc_site) == b->key, "alloc site changed");
}

static void op_bounds(fz_t *z, in_t *in)
{
    int i = pick_live(z, in);
    unsigned v = u16(in), w = u16(in), kind = u8(in) % 3;
    if (i < 0) return;
    const blk_t *b = &z->b[i];
    size_t bound = b->usable;
    lle_block_info_t info;
    lle_result_t r;
    if (kind == 0) {
        size_t off = b->maybe_large ? 0 : v % bound;
        size_t len = w % (bound - off + 1);
        r = lle_memory_check_bounds(z->m, b->p + off, len, &info);
        CHECK(r == LLE_SUCCESS && info.start == b->p && info.size == bound,
              "bounds [%zu, +%zu) of a %zu-byte block: %s", off, len, bound, lle_result_string(r));
        CHECK(info.guarded == (int)b->guarded, "bounds: guarded %d, expected %d", info.guarded,
              (int)b->guarded);
        /* Around a block on guard pages lie its guard bytes and the guard
         * pages: no block's. */
        if (b->guarded) {
            r = lle_memory_check_bounds(z->m, b->p - 1, 1, NULL);
            CHECK(r == LLE_ERROR_INVALID_POINTER, "bounds of the byte before guard-page block %p: %s",
                  (void *)b->p, lle_result_string(r));
            r = lle_memory_check_bounds(z->m, b->p + bound, 1 + w % 8, NULL);
            CHECK(r == LLE_ERROR_INVALID_POINTER, "bounds of the byte past guard-page block %p: %s",
                  (void *)b->p, lle_result_string(r));
        }
    } else if (kind == 1) {
        r = lle_memory_check_bounds(z->m, b->p, bound + 1 + w % 64, &info);
        CHECK(r == LLE_ERROR_BOUNDS_VIOLATION && info.start == b->p,
              "a range past the end of a %zu-byte block: %s", bound, lle_result_string(r));
        expect_err(&z->e, LLE_ERROR_BOUNDS_VIOLATION, b->p, true);
    } else {
        void *p = pick_stale(z, in);
        if (!p) return;
        r = lle_memory_check_bounds(z->m, p, 1, NULL);
        CHECK(r == LLE_ERROR_DOUBLE_FREE || r == LLE_ERROR_INVALID_POINTER,
              "bounds check of freed %p: %s", p, lle_result_string(r));
    }
}

static void op_detect(fz_t *z, in_t *in)
{
    (void)in;
    size_t problems = 99;
    lle_result_t r = lle_detect_memory_errors(z->m, &problems);
    CHECK(r == LLE_SUCCESS && problems == 0, "heap check: %s, %zu problems", lle_result_string(r),
          problems);
}

static void op_usage(fz_t *z, in_t *in)
{
    check_usage(z, NULL, NULL);
    check_leak_report(z, u8(in) & 1);
}

static void op_trim(fz_t *z, in_t *in)
{
    size_t got = SIZE_MAX;
    if (u8(in) % 4 == 0) {
        CHECK(lle_memory_transition(z->m, LLE_MEMORY_STATE_OPTIMIZING) == LLE_SUCCESS,
              "to OPTIMIZING");
        CHECK(lle_memory_transition(z->m, LLE_MEMORY_STATE_ACTIVE) == LLE_SUCCESS, "to ACTIVE");
        return;
    }
    CHECK(lle_memory_trim(z->m, &got) == LLE_SUCCESS && got != SIZE_MAX, "trim");
}

static void debug_from_bits(lle_debug_config_t *d, unsigned v, unsigned q);

/* Guard pages from the bits of g: bits 0-2 off / every allocation / one
 * in 2..7; bit 3 at the start of the page.  Freed blocks are poisoned
 * (never made inaccessible: the driver reads freed guard-page blocks). */
static unsigned guard_value(unsigned g)
{
    return g & 7;
}

static void guard_from_bits(lle_debug_config_t *d, unsigned g)
{
    d->guard = guard_value(g);
    d->guard_start = (g & 8) != 0;
    d->guard_freed = LLE_GUARD_FREED_POISON;
}

static void op_set_debug(fz_t *z, in_t *in)
{
    int pool = (int)(u8(in) % LLE_POOL_COUNT);
    unsigned v = u8(in), q = u8(in);
    lle_debug_config_t d = {0};
    if (v & 3) debug_from_bits(&d, v, q);
    if (z->ext) guard_from_bits(&d, u8(in));
    CHECK(lle_memory_set_debug(z->m, pool, &d) == LLE_SUCCESS, "set_debug");
    lle_debug_config_t got;
    CHECK(lle_memory_get_debug(z->m, pool, &got) == LLE_SUCCESS && memcmp(&got, &d, sizeof d) == 0,
          "get_debug differs from set_debug");
    z->dbg[pool] = d;
    z->dbg_on[pool] = d.track || d.canary || d.poison || d.quarantine;
    z->backtraces |= d.backtrace > 0;
}

static void op_recovery(fz_t *z, in_t *in)
{
    static const lle_result_t codes[] = {LLE_ERROR_DOUBLE_FREE, LLE_ERROR_INVALID_POINTER,
                                         LLE_ERROR_BOUNDS_VIOLATION, LLE_ERROR_USE_AFTER_FREE};
    lle_result_t c = codes[u8(in) % 4];
    bool ignore = u8(in) & 1;
    CHECK(lle_memory_set_recovery(z->m, c, ignore ? LLE_RECOVER_IGNORE : LLE_RECOVER_REPORT) ==
              LLE_SUCCESS,
          "set_recovery");
    z->e.ignore[c] = ignore;
    CHECK(lle_memory_set_recovery(z->m, LLE_SUCCESS, LLE_RECOVER_IGNORE) ==
              LLE_ERROR_INVALID_ARGUMENT,
          "recovery for LLE_SUCCESS accepted");
}

static void op_second(fz_t *z, in_t *in)
{
    unsigned i = u8(in) % MAXB2;
    int pool = (int)(u8(in) % LLE_POOL_COUNT);
    size_t n = pick_size(in);
    blk_t *b = &z->b2[i];
    if (b->p) {
        check_content(b, "before free (second manager)");
        CHECK(lle_pool_free(z->m2, b->p) == LLE_SUCCESS, "second manager: free");
        memset(b, 0, sizeof *b);
        return;
    }
    b->p = lle_pool_alloc(z->m2, (lle_memory_pool_type_t)pool, n);
    CHECK(b->p != NULL, "second manager: allocation of %zu", n);
    b->size = n;
    b->usable = lle_pool_usable_size(z->m2, b->p);
    CHECK(b->usable >= n, "second manager: usable %zu < %zu", b->usable, n);
    CHECK(lle_pool_owner(z->m, b->p) == -1 && lle_pool_usable_size(z->m, b->p) == 0,
          "the first manager claims a block of the second");
    b->tag = ++z->tag;
    fill(b->p, b->usable, b->tag);
}

static void op_misc(fz_t *z, in_t *in)
{
    unsigned kind = u8(in) % 4;
    if (kind == 0) {
        verify_all(z);
    } else if (kind == 1) {
        static char json[8192];
        size_t need = 0, cap = u8(in) % 2 ? sizeof json : u8(in);
        lle_result_t r = lle_memory_stats_json(z->m, json, cap, &need);
        if (need < cap)
            CHECK(r == LLE_SUCCESS && strlen(json) == need && json[0] == '{' &&
                      json[need - 1] == '}',
                  "stats JSON of %zu bytes in %zu: %s", need, cap, lle_result_string(r));
        else
            CHECK(r == LLE_ERROR_BUFFER_TOO_SMALL && (cap == 0 || strlen(json) == cap - 1),
                  "stats JSON of %zu bytes in %zu: %s", need, cap, lle_result_string(r));
    } else if (kind == 2 && z->audit) {
        static lle_audit_entry_t all[16];
        size_t cnt = 0;
        lle_result_t r = lle_audit_get(z->m, all, 16, &cnt);
        CHECK(r == LLE_SUCCESS && cnt <= 16, "audit_get: %s %zu", lle_result_string(r), cnt);
        for (size_t i = 0; i < cnt; i++)
            CHECK(all[i].op >= LLE_AUDIT_ALLOC && all[i].op <= LLE_AUDIT_ERROR, "audit op %d",
                  (int)all[i].op);
        memset(&txt, 0, sizeof txt);
        CHECK(lle_audit_dump(z->m, u8(in) & 1 ? LLE_FORMAT_JSON : LLE_FORMAT_TEXT, on_text, &txt) ==
                      LLE_SUCCESS &&
                  txt.calls == 1,
              "audit_dump");
    } else {
        lle_result_t r = lle_memory_check_bounds(z->m, z->foreign, 4, NULL);
        CHECK(r == LLE_ERROR_INVALID_POINTER, "bounds check of a foreign pointer: %s",
              lle_result_string(r));
    }
}

/* ---- guard pages ---------------------------------------------------------- */

/* lle_pool_alloc_guarded (and _at, LLE_ALLOC_GUARDED): a block on guard
 * pages whatever its pool's mode; refused requests reported. */
static void op_alloc_guarded(fz_t *z, in_t *in)
{
    int slot = free_slot(z);
    unsigned pv = u8(in), how = u8(in) % 3;
    int pool = (int)(pv % LLE_POOL_COUNT);
    size_t n = pick_size(in);
    const lle_site_t *site = &expl[u8(in) % NEXPL];
    if (pv >= 0xf8) {
        /* The secondary pool, a pool out of range, more than 64 MiB. */
        still_t before = still_now(z->m);
        void *p = pv == 0xf8   ? lle_pool_alloc_guarded(z->m, (lle_memory_pool_type_t)LLE_POOL_SECONDARY, 16)
                  : pv == 0xf9 ? lle_pool_alloc_guarded(z->m, (lle_memory_pool_type_t)77, 16)
                               : lle_pool_alloc_guarded(z->m, (lle_memory_pool_type_t)pool,
                                                        ((size_t)64 << 20) + 1 + n);
        CHECK(p == NULL, "a bad guarded request (%#x) returned %p", pv, p);
        expect_err(&z->e, LLE_ERROR_INVALID_ARGUMENT, NULL, false);
        z->exp_failed++;
        check_still(z->m, &before, "a refused guarded allocation");
        return;
    }
    if (slot < 0) return;
    /* Freed blocks poisoned, never made inaccessible (guard_freed=auto
     * means fault for a pool without sampling). */
    if (z->dbg[pool].guard_freed != LLE_GUARD_FREED_POISON) {
        lle_debug_config_t d = z->dbg[pool], got;
        d.guard_freed = LLE_GUARD_FREED_POISON;
        CHECK(lle_memory_set_debug(z->m, pool, &d) == LLE_SUCCESS, "set_debug");
        CHECK(lle_memory_get_debug(z->m, pool, &got) == LLE_SUCCESS &&
                  memcmp(&got, &d, sizeof d) == 0,
              "get_debug differs from set_debug");
        z->dbg[pool] = d;
    }
    blk_t *b = &z->b[slot];
    memset(b, 0, sizeof *b);
    b->pool = pool;
    b->size = n;
    b->align = 16;
    b->debug = true;
    int key = how == 0 ? KEY_CS(CS_GUARDED) : how == 1 ? (int)(site - expl) : KEY_MAC(MAC_GUARDED);
    void *p = how == 0   ? cs_guarded(z->m, pool, n)
              : how == 1 ? lle_pool_alloc_guarded_at(z->m, (lle_memory_pool_type_t)pool, n, site)
                         : mac_guarded(z->m, pool, n);
    if (!p) {
        /* Only a pool at its limit has no room for the pages. */
        CHECK(z->tight_pool[pool], "guarded allocation of %zu bytes from pool %d failed", n, pool);
        expect_err(&z->e, LLE_ERROR_OUT_OF_MEMORY, NULL, false);
        z->exp_failed++;
        memset(b, 0, sizeof *b);
        return;
    }
    b->p = p;
    new_block(z, b, key, false, true, 1);
    if (z->audit && b->tracked) {
        lle_audit_entry_t e = newest_audit(z);
        CHECK(e.op == LLE_AUDIT_ALLOC && e.address == b->p && e.pool == pool &&
                  e.size == (n ? n : 1) && e.code == LLE_SUCCESS,
              "audit: newest entry op %d address %p, expected the guarded allocation of %p",
              (int)e.op, e.address, (void *)b->p);
    }
}

/* lle_memory_protect: a guarded block made read-only (or no-access) and
 * back; the others refused. */
static void op_protect(fz_t *z, in_t *in)
{
    int i = pick_live(z, in);
    unsigned v = u8(in);
    if (v % 8 == 7) {
        /* Refusals, each reported: NULL, a bad access value, a freed block,
         * a foreign one. */
        CHECK(lle_memory_protect(z->m, NULL, LLE_ACCESS_READ) == LLE_ERROR_NULL_PARAMETER,
              "protect(NULL)");
        expect_err(&z->e, LLE_ERROR_NULL_PARAMETER, NULL, true);
        if (i >= 0) {
            CHECK(lle_memory_protect(z->m, z->b[i].p, (lle_access_t)(v & 8 ? 2 : 7)) ==
                      LLE_ERROR_INVALID_ARGUMENT,
                  "protect with a bad access value");
            expect_err(&z->e, LLE_ERROR_INVALID_ARGUMENT, z->b[i].p, true);
        }
        void *p = pick_stale(z, in);
        if (p) {
            CHECK(lle_memory_protect(z->m, p, LLE_ACCESS_READ) == LLE_ERROR_INVALID_POINTER,
                  "protect of freed %p", p);
            expect_err(&z->e, LLE_ERROR_INVALID_POINTER, p, true);
        }
        CHECK(lle_memory_protect(z->m, z->foreign, LLE_ACCESS_READ) == LLE_ERROR_INVALID_POINTER,
              "protect of a foreign pointer");
        expect_err(&z->e, LLE_ERROR_INVALID_POINTER, z->foreign, true);
        return;
    }
    if (i < 0) return;
    blk_t *b = &z->b[i];
    if (!b->guarded) {
        /* Shares its pages: refused; an interior pointer is no block's start. */
        CHECK(lle_memory_protect(z->m, b->p, LLE_ACCESS_READ) == LLE_ERROR_INVALID_ARGUMENT,
              "protect of a block that is not on guard pages");
        expect_err(&z->e, LLE_ERROR_INVALID_ARGUMENT, b->p, true);
        if (b->size >= 2 && !b->maybe_large) {
            unsigned char *q = b->p + 1 + v % (b->size - 1);
            CHECK(lle_memory_protect(z->m, q, LLE_ACCESS_READ) == LLE_ERROR_INVALID_POINTER,
                  "protect of an interior pointer");
            expect_err(&z->e, LLE_ERROR_INVALID_POINTER, q, true);
        }
        check_content(b, "after a refused protect");
        return;
    }
    if (b->size >= 2) {
        unsigned char *q = b->p + 1 + v % (b->size - 1);
        CHECK(lle_memory_protect(z->m, q, LLE_ACCESS_READ) == LLE_ERROR_INVALID_POINTER,
              "protect of an interior pointer of a guard-page block");
        expect_err(&z->e, LLE_ERROR_INVALID_POINTER, q, true);
    }
    lle_result_t r;
    if (b->prot == PROT_RW) {
        bool none = v % 8 == 6;
        r = lle_memory_protect(z->m, b->p, none ? LLE_ACCESS_NONE : LLE_ACCESS_READ);
        CHECK(r == LLE_SUCCESS, "protect of guard-page block %p: %s", (void *)b->p,
              lle_result_string(r));
        b->prot = none ? PROT_NONE : PROT_READ;
        if (!none) check_content(b, "made read-only"); /* reading is allowed */
    } else {
        r = lle_memory_protect(z->m, b->p, LLE_ACCESS_READ_WRITE);
        CHECK(r == LLE_SUCCESS, "protect of guard-page block %p back: %s", (void *)b->p,
              lle_result_string(r));
        b->prot = PROT_RW;
        check_content(b, "made writable again");
    }
    CHECK(lle_pool_usable_size(z->m, b->p) == b->usable, "protect changed the usable size");
}

/* ---- arenas -------------------------------------------------------------- */

static const char *const arena_names[MAXA] = {"session", "edit",   "event",  "frame",
                                              "scratch", "prompt", "syntax", "history"};

static void dtor_fn(void *arg)
{
    fz_t *z = &Z;
    CHECK(z->nlog < 256, "too many destructors at once");
    z->dlog[z->nlog++] = (unsigned)(uintptr_t)arg;
}


static int pick_arena(fz_t *z, in_t *in)
{
    unsigned start = u8(in) % MAXA;
    for (unsigned k = 0; k < MAXA; k++)
        if (z->a[(start + k) % MAXA].a) return (int)((start + k) % MAXA);
    return -1;
}

/* The child of k created last after `seq` (its seq above), or -1. */
static int newest_child(const fz_t *z, int k, uint64_t seq)
{
    int best = -1;
    for (int c = 0; c < MAXA; c++)
        if (z->a[c].a && z->a[c].parent == k && z->a[c].seq > seq &&
            (best < 0 || z->a[c].seq > z->a[best].seq))
            best = c;
    return best;
}

static void expect_dtor(fz_t *z, unsigned id)
{
    CHECK(z->nexp < 256, "too many destructors expected");
    z->dexp[z->nexp++] = id;
}

/* What destroying k does: children (newest first), then its destructors
 * (newest first). */
static void model_destroy(fz_t *z, int k)
{
    for (int c; (c = newest_child(z, k, 0)) >= 0;) model_destroy(z, c);
    arena_t *a = &z->a[k];
    while (a->ndt) expect_dtor(z, a->dt[--a->ndt]);
    memset(a, 0, sizeof *a);
    z->narenas--;
}

static void note_used(arena_t *a)
{
    if (a->used > a->peak) a->peak = a->used;
}

static void check_arenas(fz_t *z)
{
    for (int k = 0; k < MAXA; k++) {
        const arena_t *a = &z->a[k];
        if (!a->a) continue;
        lle_arena_stats_t st;
        CHECK(lle_arena_get_stats(a->a, &st) == LLE_SUCCESS, "arena stats");
        size_t children = 0;
        for (int c = 0; c < MAXA; c++) children += z->a[c].a && z->a[c].parent == k;
        CHECK(strcmp(st.name, a->name) == 0 && st.pool == a->pool && st.depth == a->depth &&
                  st.children == children && st.limit == a->limit,
              "arena %s: name %s pool %d depth %u children %zu limit %zu", a->name, st.name,
              st.pool, st.depth, st.children, st.limit);
        CHECK(st.used == a->used && st.peak_used == a->peak,
              "arena %s: used %zu peak %zu, model %zu peak %zu", a->name, st.used, st.peak_used,
              a->used, a->peak);
        CHECK(st.allocs == a->allocs && st.total_allocs == a->total_allocs + a->allocs,
              "arena %s: %" PRIu64 " allocations (%" PRIu64 " in all), model %" PRIu64 " (%" PRIu64
              ")",
              a->name, st.allocs, st.total_allocs, a->allocs, a->total_allocs + a->allocs);
        CHECK(st.resets == a->resets && st.rewinds == a->rewinds &&
                  st.destructors_run == a->dtors_run && st.limit_failures == a->limit_failures,
              "arena %s: resets %" PRIu64 " rewinds %" PRIu64 " destructors %" PRIu64
              " limit failures %" PRIu64 ", model %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64,
              a->name, st.resets, st.rewinds, st.destructors_run, st.limit_failures, a->resets,
              a->rewinds, a->dtors_run, a->limit_failures);
        CHECK(st.chunks == st.chunk_allocs - st.chunk_frees && st.chunk_bytes >= st.used,
              "arena %s: %zu chunks, %zu taken, %zu given back, %zu bytes for %zu used", a->name,
              st.chunks, st.chunk_allocs, st.chunk_frees, st.chunk_bytes, st.used);
        CHECK(lle_arena_manager(a->a) == z->m &&
                  lle_arena_parent(a->a) == (a->parent < 0 ? NULL : z->a[a->parent].a),
              "arena %s: manager or parent", a->name);
    }
}

static void op_arena_create(fz_t *z, in_t *in)
{
    unsigned par = u8(in) % (MAXA + 2), v = u8(in), w = u16(in);
    int k = -1;
    for (int i = 0; i < MAXA; i++)
        if (!z->a[i].a) {
            k = i;
            break;
        }
    if (k < 0) return;
    int parent = par < MAXA && z->a[par].a ? (int)par : -1;
    arena_t *a = &z->a[k];
    memset(a, 0, sizeof *a);
    lle_arena_config_t c, *cp = NULL;
    static const size_t chunk[] = {256, 300, 1000, 4096, 20000, 1 * MiB};
    if (v % 4) {
        lle_arena_config_default(&c);
        c.pool = (lle_memory_pool_type_t)(v % LLE_POOL_COUNT);
        c.limit = v & 0x40 ? 256 + (size_t)w * 2 : SIZE_MAX;
        c.chunk_size = chunk[(v >> 3) % 6];
        cp = &c;
        a->pool = (int)c.pool;
        a->limit = c.limit;
        a->chunk_size = c.chunk_size;
    } else if (parent >= 0) {
        a->pool = z->a[parent].pool;
        a->limit = SIZE_MAX;
        a->chunk_size = z->a[parent].chunk_size;
    } else {
        a->pool = LLE_POOL_TEMP;
        a->limit = SIZE_MAX;
        a->chunk_size = 4096;
    }
    size_t cs = 256;
    while (cs < a->chunk_size) cs *= 2;
    a->chunk_size = cs;
    a->name = v & 0x80 ? arena_names[k] : "arena";
    lle_arena_t *made = NULL;
    lle_result_t r = lle_arena_create(z->m, parent >= 0 ? z->a[parent].a : NULL,
                                      v & 0x80 ? arena_names[k] : NULL, cp, &made);
    CHECK(r == LLE_SUCCESS && made != NULL, "arena_create: %s", lle_result_string(r));
    a->a = made;
    a->parent = parent;
    a->epoch = 1;
    if (parent >= 0) {
        a->depth = z->a[parent].depth + 1;
        a->seq = ++z->a[parent].child_seq;
    }
    z->narenas++;
    z->arenas_made++;
}

/* The bytes an arena allocation of n takes, before alignment padding. */
static size_t arena_need(size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    return need ? need : 16;
}

static const char text_src[] =
    "the quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. "
    "sphinx of black quartz, judge my vow! how vexingly quick daft zebras jump. "
    "the five boxing wizards jump quickly; jackdaws love my big sphinx of quartz.";

static void op_arena_alloc(fz_t *z, in_t *in)
{
    int k = pick_arena(z, in);
    unsigned kind = u8(in) % 10, v = u16(in), x = u8(in);
    if (k < 0) return;
    arena_t *a = &z->a[k];
    size_t n = (x & 0xf0) == 0xf0 ? 8000 + (size_t)v : (x & 0x80) ? v % 4097 : v % 257;
    size_t align = 16, req = n, cnt = 1;
    char expect[64];
    const char *src = NULL;
    void *p;
    still_t before = still_now(z->m);
    switch (kind) {
    case 0:
    case 1: p = lle_arena_alloc(a->a, n); break;
    case 2:
        cnt = 1 + x % 7;
        req = (n / cnt) * cnt;
        p = lle_arena_calloc(a->a, cnt, n / cnt);
        break;
    case 3:
        align = (size_t)1 << (3 + x % 10); /* 8..4096 */
        p = lle_arena_alloc_aligned(a->a, n, align);
        if (align < 16) align = 16;
        break;
    case 4:
        req = v % (sizeof text_src) + 1;
        src = text_src + sizeof text_src - req;
        p = lle_arena_strdup(a->a, src);
        break;
    case 5:
        req = x % 40;
        src = text_src + v % 64;
        p = lle_arena_strndup(a->a, src, req);
        req += 1;
        break;
    case 6:
        snprintf(expect, sizeof expect, "%s/%u:%x", a->name, v, x);
        req = strlen(expect) + 1;
        src = expect;
        p = lle_arena_printf(a->a, "%s/%u:%x", a->name, v, x);
        break;
    default: {
        /* Refused requests: reported, the arena unchanged. */
        unsigned bad = kind - 7;
        if (bad == 0)
            p = lle_arena_alloc(a->a, SIZE_MAX - (x % 16));
        else if (bad == 1)
            p = lle_arena_calloc(a->a, SIZE_MAX / 3, 5);
        else
            p = lle_arena_alloc_aligned(a->a, 32, x & 1 ? 8192 : 48);
        CHECK(p == NULL, "a bad arena request returned %p", p);
        expect_err(&z->e, LLE_ERROR_INVALID_ARGUMENT, NULL, false);
        check_still(z->m, &before, "a refused arena request");
        return;
    }
    }
    size_t need = arena_need(req), left = a->limit - a->used;
    bool must = need + (align - 16) <= left, cannot = need > left;
    if (must)
        CHECK(p != NULL, "arena %s: %zu bytes (align %zu) with %zu left failed", a->name, req,
              align, left);
    if (cannot) CHECK(p == NULL, "arena %s: %zu bytes with %zu left succeeded", a->name, req, left);
    if (!p) {
        expect_err(&z->e, LLE_ERROR_ARENA_LIMIT, NULL, false);
        a->limit_failures++;
        return;
    }
    CHECK(((uintptr_t)p & (align - 1)) == 0, "arena allocation %p not aligned to %zu", p, align);
    lle_arena_stats_t st;
    lle_arena_get_stats(a->a, &st);
    size_t delta = st.used - a->used;
    CHECK(st.used >= a->used && delta >= need && delta <= need + (align - 16),
          "arena %s: an allocation of %zu bytes (align %zu) took %zu", a->name, req, align,
          st.used - a->used);
    a->used = st.used;
    note_used(a);
    a->allocs++;
    CHECK(!overlaps(z, p, req, NULL), "arena allocation %p (%zu bytes) overlaps another", p, req);
    if (kind == 2) CHECK(all_zero(p, req), "arena calloc not zeroed");
    if (src) {
        size_t len = req - 1;
        CHECK(memcmp(p, src, len) == 0 && ((char *)p)[len] == '\0', "arena string differs");
    }
    if (a->nal < MAXAA) {
        aalloc_t *r = &a->al[a->nal++];
        r->p = p;
        r->n = req;
        r->tag = ++z->tag;
        fill(p, req, r->tag);
    }
}

static void op_arena_defer(fz_t *z, in_t *in)
{
    int k = pick_arena(z, in);
    if (k < 0 || z->a[k].ndt == MAXDT) return;
    arena_t *a = &z->a[k];
    unsigned id = (unsigned)++z->dtor_id;
    bool fits = 32 <= a->limit - a->used;
    lle_result_t r = lle_arena_defer(a->a, dtor_fn, (void *)(uintptr_t)id);
    if (!fits) {
        CHECK(r == LLE_ERROR_ARENA_LIMIT, "defer over the limit: %s", lle_result_string(r));
        expect_err(&z->e, LLE_ERROR_ARENA_LIMIT, NULL, false);
        a->limit_failures++;
        return;
    }
    CHECK(r == LLE_SUCCESS, "defer: %s", lle_result_string(r));
    a->dt[a->ndt++] = id;
    a->used += 32;
    note_used(a);
    a->allocs++;
}

static void op_arena_reset(fz_t *z, in_t *in)
{
    int k = pick_arena(z, in);
    if (k < 0) return;
    arena_t *a = &z->a[k];
    for (int c; (c = newest_child(z, k, 0)) >= 0;) model_destroy(z, c);
    a->dtors_run += a->ndt;
    while (a->ndt) expect_dtor(z, a->dt[--a->ndt]);
    CHECK(lle_arena_reset(a->a) == LLE_SUCCESS, "reset");
    a->nal = 0;
    a->used = 0;
    a->total_allocs += a->allocs;
    a->allocs = 0;
    a->resets++;
    a->epoch++;
    CHECK(lle_arena_reset(NULL) == LLE_ERROR_NULL_PARAMETER, "reset(NULL)");
}

static void op_arena_destroy(fz_t *z, in_t *in)
{
    int k = pick_arena(z, in);
    if (k < 0) return;
    lle_arena_t *a = z->a[k].a;
    model_destroy(z, k);
    CHECK(lle_arena_destroy(a) == LLE_SUCCESS, "destroy");
    CHECK(lle_arena_destroy(NULL) == LLE_SUCCESS, "destroy(NULL)");
}

static void op_arena_mark(fz_t *z, in_t *in)
{
    int k = pick_arena(z, in);
    unsigned j = u8(in) % MAXMK;
    if (k < 0) return;
    arena_t *a = &z->a[k];
    amark_t *mk = &a->mk[j];
    mk->set = true;
    mk->stale = false;
    mk->mk = lle_arena_mark(a->a);
    mk->used = a->used;
    mk->nal = a->nal;
    mk->ndt = a->ndt;
    mk->child_seq = a->child_seq;
    mk->epoch = a->epoch;
    mk->time = ++z->mark_time;
}

static void op_arena_rewind(fz_t *z, in_t *in)
{
    int k = pick_arena(z, in);
    unsigned j = u8(in) % MAXMK, other = u8(in);
    if (k < 0) return;
    arena_t *a = &z->a[k];
    int from = other % 4 == 0 ? (int)((k + 1 + other / 4 % (MAXA - 1)) % MAXA) : k;
    if (!z->a[from].a || !z->a[from].mk[j].set) return;
    amark_t *mk = &z->a[from].mk[j];
    bool valid = from == k && mk->epoch == a->epoch && !mk->stale;
    if (from == k && mk->stale && a->used >= mk->used) {
        mk->set = false; /* a position the arena may have again: not used */
        return;
    }
    lle_result_t r = lle_arena_rewind(a->a, &mk->mk);
    if (!valid) {
        CHECK(r == LLE_ERROR_INVALID_ARGUMENT, "rewind to a mark %s: %s",
              from != k   ? "of another arena"
              : mk->stale ? "past the position"
                          : "before a reset",
              lle_result_string(r));
        return;
    }
    CHECK(r == LLE_SUCCESS, "rewind to a valid mark: %s", lle_result_string(r));
    for (int c; (c = newest_child(z, k, mk->child_seq)) >= 0;) model_destroy(z, c);
    a->dtors_run += a->ndt - mk->ndt;
    while (a->ndt > mk->ndt) expect_dtor(z, a->dt[--a->ndt]);
    if (a->nal > mk->nal) a->nal = mk->nal;
    a->used = mk->used;
    a->rewinds++;
    for (int i = 0; i < MAXMK; i++)
        if (a->mk[i].set && a->mk[i].time > mk->time) a->mk[i].stale = true;
}

static void op_arena_limit(fz_t *z, in_t *in)
{
    int k = pick_arena(z, in);
    unsigned v = u8(in), w = u16(in);
    if (k < 0) return;
    arena_t *a = &z->a[k];
    size_t lim;
    switch (v % 5) {
    case 0: lim = 0; break;
    case 1: lim = a->used ? a->used - 1 : 0; break;
    case 2: lim = a->used; break;
    case 3: lim = a->used + w; break;
    default: lim = SIZE_MAX; break;
    }
    lle_result_t r = lle_arena_set_limit(a->a, lim);
    if (lim == 0 || lim < a->used) {
        CHECK(r == LLE_ERROR_INVALID_ARGUMENT, "limit %zu below %zu used: %s", lim, a->used,
              lle_result_string(r));
        return;
    }
    CHECK(r == LLE_SUCCESS, "set_limit %zu: %s", lim, lle_result_string(r));
    a->limit = lim;
}

static size_t descendants(const fz_t *z, int k)
{
    size_t n = 0;
    for (int c = 0; c < MAXA; c++)
        if (z->a[c].a && z->a[c].parent == k) n += 1 + descendants(z, c);
    return n;
}

static void op_arena_tree(fz_t *z, in_t *in)
{
    int k = pick_arena(z, in);
    unsigned cap = u8(in);
    if (k < 0) return;
    static char buf[4096];
    size_t need = 0;
    lle_result_t r = lle_arena_format_tree(z->a[k].a, buf, cap, &need);
    CHECK(r == (need < cap ? LLE_SUCCESS : LLE_ERROR_BUFFER_TOO_SMALL), "format_tree in %u: %s",
          cap, lle_result_string(r));
    if (cap) CHECK(strlen(buf) == (need < cap ? need : cap - 1), "format_tree text length");
    CHECK(need < sizeof buf, "tree text of %zu bytes", need);
    r = lle_arena_format_tree(z->a[k].a, buf, sizeof buf, &need);
    CHECK(r == LLE_SUCCESS && strlen(buf) == need, "format_tree");
    size_t lines = 0;
    for (const char *c = buf; *c; c++) lines += *c == '\n';
    CHECK(lines == 1 + descendants(z, k), "tree of %zu lines for %zu arenas", lines,
          1 + descendants(z, k));
}

/* ---- one run ------------------------------------------------------------- */

static const struct op {
    const char *name;
    void (*fn)(fz_t *, in_t *);
    unsigned weight;  /* in the opcode table of the first layout */
    unsigned xweight; /* with the guard bytes (byte 4 bit 6) */
} ops[] = {
    {"alloc", op_alloc, 43, 37},
    {"free", op_free, 30, 30},
    {"realloc", op_realloc, 24, 20},
    {"bad-free", op_bad_free, 14, 14},
    {"bad-realloc", op_bad_realloc, 8, 8},
    {"bad-args", op_bad_args, 6, 6},
    {"set-debug", op_set_debug, 8, 8},
    {"snapshot", op_snapshot, 6, 6},
    {"diff", op_diff, 6, 6},
    {"usage", op_usage, 4, 4},
    {"bounds", op_bounds, 10, 10},
    {"query", op_query, 10, 10},
    {"detect", op_detect, 4, 4},
    {"trim", op_trim, 4, 4},
    {"recovery", op_recovery, 3, 3},
    {"second", op_second, 8, 8},
    {"misc", op_misc, 6, 6},
    {"arena-create", op_arena_create, 8, 8},
    {"arena-alloc", op_arena_alloc, 24, 16},
    {"arena-reset", op_arena_reset, 5, 5},
    {"arena-mark", op_arena_mark, 5, 5},
    {"arena-rewind", op_arena_rewind, 6, 6},
    {"arena-destroy", op_arena_destroy, 4, 4},
    {"arena-defer", op_arena_defer, 5, 5},
    {"arena-limit", op_arena_limit, 3, 3},
    {"arena-tree", op_arena_tree, 2, 2},
    {"alloc-guarded", op_alloc_guarded, 0, 10},
    {"protect", op_protect, 0, 8},
};
#define NOPS (sizeof ops / sizeof ops[0])

/* Opcode byte -> operation: each takes a run of byte values as wide as its
 * weight, in the order of the table (alloc 0-42, free 43-72, ...); xopcode
 * the same with the guard operations. */
static unsigned char opcode[256], xopcode[256];

static mgr_t *make_manager(const lle_memory_config_t *cfg)
{
    mgr_t *m = NULL;
    lle_result_t r = lle_memory_manager_create(cfg, &m);
    CHECK(r == LLE_SUCCESS && m, "manager_create: %s", lle_result_string(r));
    return m;
}

static void debug_from_bits(lle_debug_config_t *d, unsigned v, unsigned q)
{
    static const size_t quarantine[] = {0, 0, 4 * KiB, 64 * KiB, 1 * MiB, 100};
    memset(d, 0, sizeof *d);
    d->track = v & 4;
    d->canary = v & 8;
    d->poison = v & 16;
    d->quarantine = quarantine[q % 6];
    d->backtrace = (v & 0xe0) == 0xe0 ? 1 + q % 6 : 0;
}

/* Guard pages at creation (bytes 6 and 7, read when byte 4 has bit 6): for
 * one pool or all typed pools (g), and for a second pool (h), set in the
 * configuration or through lle_memory_config_apply_options (h bit 7). */
static void setup_guard(lle_memory_config_t *cfg, unsigned g, unsigned h)
{
    static const char *const name[LLE_POOL_COUNT] = {
        "buffer", "event", "string", "temp", "history", "syntax", "completion", "custom"};
    struct {
        int pool; /* -1: all typed pools */
        unsigned bits;
    } want[2] = {{g & 8 ? -1 : (int)(g & 7), (g >> 4 & 7) | (g >> 4 & 8)},
                 {(int)(h & 7), (h >> 4 & 7) | (h & 8)}};
    char opts[512] = "";
    size_t len = 0;
    lle_memory_config_t expect = *cfg;
    for (int w = 0; w < 2; w++) {
        if (!want[w].bits) continue; /* off at the end of the page: nothing set */
        lle_debug_config_t d = {0};
        guard_from_bits(&d, want[w].bits);
        for (int p = 0; p < LLE_POOL_COUNT; p++)
            if (want[w].pool < 0 || want[w].pool == p) {
                lle_debug_config_t *e = &expect.pools[p].debug;
                e->guard = d.guard;
                e->guard_start = d.guard_start;
                e->guard_freed = d.guard_freed;
            }
        const char *nm = want[w].pool < 0 ? "all" : name[want[w].pool];
        char v[16];
        if (d.guard <= 1)
            snprintf(v, sizeof v, "%s", d.guard ? "all" : "off");
        else
            snprintf(v, sizeof v, "%u", d.guard);
        len += (size_t)snprintf(opts + len, sizeof opts - len,
                                "%spool.%s.guard=%s, pool.%s.guard_side=%s,pool.%s.guard_freed=poison",
                                len ? "," : "", nm, v, nm, d.guard_start ? "start" : "end", nm);
    }
    if (h & 0x80) {
        char err[128];
        lle_result_t r = lle_memory_config_apply_options(cfg, opts, err, sizeof err);
        CHECK(r == LLE_SUCCESS, "options '%s': %s (%s)", opts, lle_result_string(r), err);
        for (int p = 0; p < LLE_POOL_TABLE_SIZE; p++)
            CHECK(memcmp(&cfg->pools[p], &expect.pools[p], sizeof cfg->pools[p]) == 0,
                  "options '%s' set pool %d otherwise", opts, p);
    } else {
        *cfg = expect;
    }
}

static void setup(fz_t *z, in_t *in)
{
    unsigned b0 = u8(in), b1 = u8(in), b2 = u8(in), b3 = u8(in), b4 = u8(in), b5 = u8(in);
    lle_memory_config_t cfg;
    lle_memory_config_default(&cfg);
    cfg.read_environment = false;
    cfg.error_fn = on_error;
    cfg.error_user = &z->e;
    if (!(b0 & 1))
        for (int p = 0; p < LLE_POOL_TABLE_SIZE; p++) cfg.pools[p].initial_size = 0;
    cfg.emergency_reserve = b0 & 2 ? 16 * KiB : 0;
    static const size_t lcache[] = {0, 64 * KiB, 8 * MiB, 8 * MiB};
    cfg.large_cache = lcache[(b0 >> 2) & 3];
    static const size_t hist[] = {0, 3, 64, 64};
    cfg.error_history = hist[(b0 >> 4) & 3];
    z->err_hist_cap = cfg.error_history;
    z->audit = b0 & 0x40;
    cfg.audit_entries = z->audit ? 16 : 0;
    z->leak_mode = (b0 & 0x80) && (b3 & 0x80);
    z->shutdown_first = b3 & 0x40;
    for (int p = 0; p < LLE_POOL_COUNT; p++)
        if (b1 >> p & 1) {
            cfg.pools[p].initial_size = 0;
            cfg.pools[p].max_size = (size_t)64 * KiB << (2 * (p % 3));
            z->tight = true;
            z->tight_pool[p] = true;
        }
    int cp = (int)(b2 % LLE_POOL_COUNT);
    static const size_t blocks[] = {64 * KiB, 128 * KiB, 256 * KiB, 512 * KiB};
    static const size_t aligns[] = {16, 16, 32, 64, 256, 4096};
    if (b2 & 0x80) {
        cfg.pools[cp].block_size = blocks[(b2 >> 3) & 3];
        cfg.pools[cp].alignment = aligns[(b3 & 0x7f) % 6];
    }
    if (b4 & 0x80) debug_from_bits(&cfg.pools[b4 % LLE_POOL_COUNT].debug, b5 | 1, b5 >> 4);
    z->ext = b4 & 0x40;
    if (z->ext) {
        unsigned g = u8(in);
        setup_guard(&cfg, g, u8(in));
    }
    for (int p = 0; p < LLE_POOL_TABLE_SIZE; p++) {
        z->pool_align[p] = cfg.pools[p].alignment;
        z->small_max[p] = cfg.pools[p].block_size / 8;
    }
    for (int p = 0; p < LLE_POOL_COUNT; p++) {
        z->dbg[p] = cfg.pools[p].debug;
        const lle_debug_config_t *d = &z->dbg[p];
        z->dbg_on[p] = d->track || d->canary || d->poison || d->quarantine;
        z->backtraces |= d->backtrace > 0;
    }
    memcpy(z->cs_pc, cs_pc_init, sizeof z->cs_pc);
    z->m = make_manager(&cfg);
    for (int p = 0; p < LLE_POOL_COUNT; p++) {
        lle_debug_config_t got;
        CHECK(lle_memory_get_debug(z->m, p, &got) == LLE_SUCCESS &&
                  memcmp(&got, &z->dbg[p], sizeof got) == 0,
              "pool %d: debugging at creation differs from the configuration", p);
    }
    if (z->leak_mode)
        lle_memory_set_leak_report(z->m, b5 & 1 ? LLE_FORMAT_JSON : LLE_FORMAT_TEXT, on_leak_report,
                                   z);

    lle_memory_config_t c2;
    lle_memory_config_default(&c2);
    c2.read_environment = false;
    for (int p = 0; p < LLE_POOL_TABLE_SIZE; p++) c2.pools[p].initial_size = 0;
    c2.emergency_reserve = 0;
    c2.error_fn = on_error;
    c2.error_user = &z->e2;
    z->m2 = make_manager(&c2);
    z->foreign = malloc(256);
    CHECK(z->foreign != NULL, "malloc");
    memset(z->foreign, 0x5a, 256);
}

static size_t model_arena_blocks(fz_t *z)
{
    size_t total;
    arena_blocks(z, 0, &total);
    return total;
}

static bool any_debug_live(const fz_t *z)
{
    if (z->unk_blocks) return true;
    for (int k = 0; k < NKEYS; k++)
        if (z->site[k].blocks) return true;
    return false;
}

static void finish(fz_t *z)
{
    for (int s = 0; s < NSNAP; s++) lle_snapshot_free(z->snap[s].s);
    verify_all(z);
    if (!z->leak_mode) {
        for (int k = 0; k < MAXA; k++)
            if (z->a[k].a && z->a[k].parent < 0) {
                lle_arena_t *a = z->a[k].a;
                model_destroy(z, k);
                CHECK(lle_arena_destroy(a) == LLE_SUCCESS, "destroy");
            }
        for (int i = 0; i < MAXB; i++) {
            blk_t *b = &z->b[i];
            if (!b->p) continue;
            if (b->prot != PROT_NONE) check_content(b, "before the final free");
            CHECK(lle_pool_free(z->m, b->p) == LLE_SUCCESS, "final free");
            drop_block(z, b);
        }
        check_all(z);
        lle_memory_stats_t st;
        lle_memory_get_stats(z->m, &st);
        CHECK(st.total.live_blocks == 0 && st.total.debug_blocks == 0,
              "%zu blocks live after every free", st.total.live_blocks);
        lle_result_t r = lle_memory_manager_destroy(z->m);
        CHECK(r == LLE_SUCCESS, "destroy with nothing live: %s", lle_result_string(r));
    } else {
        size_t live = z->nlive + model_arena_blocks(z);
        /* The leak report goes out when debug blocks (which have records)
         * are live; an arena's chunks may be some. */
        bool debug = any_debug_live(z);
        lle_result_t r;
        if (z->shutdown_first) {
            size_t blocks = SIZE_MAX, bytes = 0;
            r = lle_memory_shutdown(z->m, &blocks, &bytes);
            CHECK(r == LLE_SUCCESS && blocks == live, "shutdown: %s, %zu blocks leaked, model %zu",
                  lle_result_string(r), blocks, live);
            CHECK(lle_pool_alloc(z->m, LLE_POOL_STRING, 8) == NULL, "allocation after shutdown");
            expect_err(&z->e, LLE_ERROR_INVALID_STATE, NULL, false);
            r = lle_memory_manager_destroy(z->m);
            CHECK(r == LLE_SUCCESS, "destroy after shutdown: %s", lle_result_string(r));
        } else {
            r = lle_memory_manager_destroy(z->m);
            CHECK(r == (live ? LLE_ERROR_MEMORY_LEAK : LLE_SUCCESS),
                  "destroy with %zu blocks live: %s", live, lle_result_string(r));
            if (live) expect_err(&z->e, LLE_ERROR_MEMORY_LEAK, NULL, false);
        }
        if (debug)
            CHECK(z->leak_reports == 1, "%u leak reports with debug blocks live", z->leak_reports);
        else if (!z->narenas)
            CHECK(z->leak_reports == 0, "a leak report with no debug block live");
    }
    z->m = NULL;
    for (unsigned c = 0; c < LLE_RESULT_COUNT_; c++)
        CHECK(z->e.cb[c] == z->e.exp_cb[c],
              "at destroy: %" PRIu64 " x %s reported, expected %" PRIu64, z->e.cb[c],
              lle_result_string((lle_result_t)c), z->e.exp_cb[c]);
    for (int i = 0; i < MAXB2; i++)
        if (z->b2[i].p) {
            check_content(&z->b2[i], "before the final free (second manager)");
            CHECK(lle_pool_free(z->m2, z->b2[i].p) == LLE_SUCCESS, "second manager: final free");
        }
    check_errs(z->m2, &z->e2, 64, "second manager");
    CHECK(lle_memory_manager_destroy(z->m2) == LLE_SUCCESS, "second manager: destroy");
    free(z->foreign);
}


static mgr_t *make_manager(const lle_memory_config_t *cfg);

static void learn_call_sites(void)
{
    lle_memory_config_t cfg;
    lle_memory_config_default(&cfg);
    cfg.read_environment = false;
    cfg.pools[LLE_POOL_CUSTOM].debug.track = true;
    mgr_t *m = make_manager(&cfg);
    void *p[NCS];
    p[CS_ALLOC] = cs_alloc(m, LLE_POOL_CUSTOM, 8);
    p[CS_CALLOC] = cs_calloc(m, LLE_POOL_CUSTOM, 2, 8);
    p[CS_ALIGNED] = cs_aligned(m, LLE_POOL_CUSTOM, 8, 64);
    p[CS_REALLOC] = cs_realloc(m, NULL, 8);
    p[CS_GUARDED] = cs_guarded(m, LLE_POOL_CUSTOM, 8);
    for (int i = 0; i < NCS; i++) {
        lle_block_info_t info;
        CHECK(p[i] && lle_block_query(m, p[i], &info) == LLE_SUCCESS && info.debug &&
                  !info.alloc_site.file && info.alloc_site.pc,
              "call site %d not recorded", i);
        for (int j = 0; j < i; j++)
            CHECK(cs_pc_init[j] != info.alloc_site.pc, "two calls, one return address");
        cs_pc_init[i] = info.alloc_site.pc;
        CHECK(lle_pool_free(m, p[i]) == LLE_SUCCESS, "free");
    }
    CHECK(lle_memory_manager_destroy(m) == LLE_SUCCESS, "destroy");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ref_init();
    learn_call_sites();
    const char *s = getenv("LLE_FUZZ_VERBOSE");
    verbose = s && strcmp(s, "1") == 0;
    unsigned v = 0, x = 0;
    for (unsigned i = 0; i < NOPS; i++) {
        for (unsigned w = 0; w < ops[i].weight; w++) opcode[v++] = (unsigned char)i;
        for (unsigned w = 0; w < ops[i].xweight; w++) xopcode[x++] = (unsigned char)i;
    }
    CHECK(v == 256 && x == 256, "op weights sum to %u and %u, not 256", v, x);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_t *z = &Z;
    memset(z, 0, sizeof *z);
    nops = 0;
    in_t in = {data, size, 0};
    setup(z, &in);
    check_all(z);
    while (in.i < in.n && nops < MAX_OPS) {
        unsigned c = u8(&in);
        const struct op *op = &ops[z->ext ? xopcode[c] : opcode[c]];
        trace[nops % TRACE] = op->name;
        nops++;
        op->fn(z, &in);
        if (verbose)
            fprintf(stderr, "%3u %-13s live %u, arenas %u\n", nops, op->name, z->nlive, z->narenas);
        check_all(z);
    }
    finish(z);
    return 0;
}
