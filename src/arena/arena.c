/*
 * arena.c - hierarchical bump arenas over the pools.
 *
 * An arena holds a list of chunks, each one pool block whose first 32 bytes
 * are a chunk_t header.  Memory is handed out by bumping `pos` towards `end`
 * in the current chunk; `end` is the chunk's end clipped to what the byte
 * limit still allows, so the fast path is one compare for both.  When the
 * current chunk is spent, the next chunk of the list is used if the request
 * fits it, else a new chunk is taken from the pool and put right after the
 * current one: chunks are always used in list order, so every chunk after
 * the current one is empty.
 *
 * A reset rewinds to the first chunk and keeps the list, so a scope that
 * does the same work each time finds its chunks waiting.  A chunk that no
 * cycle has reached for EVICT_AFTER resets goes back to the pool, which
 * bounds what a burst leaves behind.  Standard chunks double from
 * cfg.chunk_size up to CHUNK_GROWTH times it; a request larger than that
 * gets a chunk of its own size.  Chunk sizes are powers of two, each one
 * of the pools' classes, and the arena uses the whole usable block.
 *
 * Destructor records and marks live in the arena's own memory; rewinding
 * to a mark drops the destructors and children created after it, which the
 * mark finds by their position in those lists (newest first).
 *
 * Under ASan the free part of every chunk is poisoned; an allocation
 * unpoisons exactly its n bytes (so the rounding to 16 is a red zone).
 * Built with LLE_ANNOTATE, valgrind is told the same (sanitizer.h): free
 * space no-access, an allocation accessible and undefined over its n
 * bytes.  Allocations are not made blocks of their own for valgrind: they
 * would lie inside the chunk's block, which memcheck refuses (overlapping
 * blocks) unless the pools were two-level, and a reset would have to name
 * each of them.  A use after reset or rewind, or past the end of an
 * allocation, is reported as an access inside the chunk's block.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "lle/arena.h"
#include "lle/pool.h"
#include "sanitizer.h"

#define CHUNK_GROWTH 16      /* standard chunks grow to this many times the first */
#define EVICT_AFTER  8       /* resets a chunk may go unused before it is released */
#define SPILLS_TO_GROW 4     /* resets in a row past the first chunk before it grows */
#define MIN_CHUNK    ((size_t)256)
#define MAX_CHUNK    ((size_t)1 << 20)
#define ALIGN        ((size_t)16)

typedef struct chunk {
    struct chunk *next;
    size_t        size;        /* usable bytes after the header */
    uint64_t      last_epoch;  /* the arena's epoch when it last became current */
    uint64_t      pad_;
} chunk_t;                     /* 32 bytes: chunk data stays 16-aligned */
_Static_assert(sizeof(chunk_t) % 16 == 0, "chunk data must stay 16-aligned");

static inline char *chunk_data(chunk_t *c) { return (char *)(c + 1); }
static inline char *chunk_end(chunk_t *c) { return chunk_data(c) + c->size; }

typedef struct dtor {
    struct dtor *next;         /* registered before this one */
    void (*fn)(void *);
    void *arg;
} dtor_t;

struct lle_arena {
    uint64_t              link_;      /* the pool's free-list link once destroyed */
    char                 *pos, *end;  /* free space of cur; end clipped by the limit */
    chunk_t              *cur;        /* NULL before the first chunk is reached */
    uint64_t              allocs;     /* since the last reset */
    size_t                used_before;/* bytes handed out from chunks before cur */
    size_t                limit;
    chunk_t              *chunks;     /* in order of use */
    dtor_t               *dtors;      /* newest first */
    lle_memory_manager_t *m;
    lle_arena_t          *parent;
    lle_arena_t          *child;      /* newest first */
    lle_arena_t          *prev, *next;/* siblings */
    uint64_t              seq;        /* order among the parent's children */
    uint64_t              child_seq;  /* last seq given to a child */
    uint64_t              epoch;      /* resets + 1 */
    size_t                chunk_size;
    size_t                nchunks, chunk_bytes, chunk_allocs, chunk_frees;
    size_t                peak_used;
    uint64_t              total_allocs;   /* before the last reset */
    uint64_t              resets, rewinds, dtors_run, limit_failures;
    unsigned              spills;     /* resets in a row whose cycle left the first chunk */
    int                   pool;
    unsigned              depth;
    bool                  busy;       /* a reset, rewind or destroy is running */
    char                  name[];
};

void lle_arena_config_default(lle_arena_config_t *cfg)
{
    if (!cfg) return;
    cfg->pool = LLE_POOL_TEMP;
    cfg->limit = SIZE_MAX;
    cfg->chunk_size = 4096;
}

/* ---- small helpers ------------------------------------------------------ */

static size_t used_now(const lle_arena_t *a)
{
    return a->used_before + (a->cur ? (size_t)(a->pos - chunk_data(a->cur)) : 0);
}

/* Recompute end from cur, pos and the limit. */
static void set_end(lle_arena_t *a)
{
    if (!a->cur || a->busy) {
        a->end = a->pos;
        return;
    }
    size_t room = (size_t)(chunk_end(a->cur) - a->pos);
    size_t used = used_now(a);
    size_t left = a->limit > used ? a->limit - used : 0;
    a->end = a->pos + (room < left ? room : left);
}

static void note_peak(lle_arena_t *a)
{
    size_t u = used_now(a);
    if (u > a->peak_used) a->peak_used = u;
}

static void *fail(lle_arena_t *a, lle_result_t code, size_t n, const char *why)
{
    if (code == LLE_ERROR_ARENA_LIMIT) a->limit_failures++;
    lle__report(a->m, code, a->pool, n, NULL, "arena '%s': allocation of %zu bytes failed: %s",
                a->name, n, why);
    return NULL;
}

static void chunk_release(lle_arena_t *a, chunk_t *c)
{
    a->nchunks--;
    a->chunk_bytes -= c->size;
    lle__asan_poison((char *)c + LLE__ASAN_KEEP, sizeof *c - LLE__ASAN_KEEP + c->size);
    lle_pool_free(a->m, c);
}

/* Whether c is larger than the largest standard chunk. */
static inline bool oversized(const lle_arena_t *a, const chunk_t *c)
{
    return c->size + sizeof *c > a->chunk_size * CHUNK_GROWTH;
}

/* Size of the next standard chunk: as large as the standard chunks held
 * together (so they double while the arena grows, and come back down after
 * evictions), from cfg.chunk_size up to CHUNK_GROWTH times it. */
static size_t standard_size(const lle_arena_t *a)
{
    size_t held = 0, bytes = a->chunk_size;
    for (const chunk_t *c = a->chunks; c; c = c->next)
        if (!oversized(a, c)) held += c->size + sizeof *c;
    while (bytes < held && bytes < a->chunk_size * CHUNK_GROWTH) bytes *= 2;
    return bytes;
}

/* A new chunk able to hold `need` bytes at `align`, linked after cur (at
 * the head when cur is NULL).  NULL when the pool has no memory. */
static chunk_t *chunk_new(lle_arena_t *a, size_t need, size_t align)
{
    size_t want = need + (align - ALIGN) + sizeof(chunk_t);
    size_t bytes = standard_size(a);
    if (want > bytes) bytes = want;                  /* a chunk of its own */
    chunk_t *c = lle_pool_alloc(a->m, (lle_memory_pool_type_t)a->pool, bytes);
    if (!c) return NULL;
    c->size = lle_pool_usable_size(a->m, c) - sizeof *c;
    c->last_epoch = a->epoch;
    lle__mem_noaccess(chunk_data(c), c->size);
    if (a->cur) {
        c->next = a->cur->next;
        a->cur->next = c;
    } else {
        c->next = a->chunks;
        a->chunks = c;
    }
    a->nchunks++;
    a->chunk_bytes += c->size;
    a->chunk_allocs++;
    return c;
}

static inline char *align_up(char *p, size_t align)
{
    return (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
}

/* ---- allocation --------------------------------------------------------- */

/* Everything the fast path does not do: alignment above 16, moving to the
 * next or a new chunk, the limit, errors. */
static LLE__NOINLINE void *alloc_slow(lle_arena_t *a, size_t n, size_t align)
{
    if (!a) return NULL;
    if (a->busy) return fail(a, LLE_ERROR_INVALID_STATE, n, "the arena is being reset or destroyed");
    if (n > LLE_POOL_MAX_REQUEST) return fail(a, LLE_ERROR_INVALID_ARGUMENT, n, "too large");
    size_t need = (n + ALIGN - 1) & ~(ALIGN - 1);
    if (need == 0) need = ALIGN;
    size_t used = used_now(a);
    char *p;

    /* The current chunk, at a larger alignment. */
    if (a->cur) {
        p = align_up(a->pos, align);
        if (p <= chunk_end(a->cur) && need <= (size_t)(chunk_end(a->cur) - p)) {
            size_t take = (size_t)(p - a->pos) + need;
            if (take > a->limit - used)
                return fail(a, LLE_ERROR_ARENA_LIMIT, n, "over the arena's limit");
            a->pos = p + need;
            goto done;
        }
    }
    size_t before = used;                             /* used_before once cur is left */
    chunk_t **link = a->cur ? &a->cur->next : &a->chunks, *c;
    bool big = need + (align - ALIGN) + sizeof(chunk_t) > standard_size(a);
    /* The first later chunk that fits, moved up to follow cur.  A chunk
     * made for one large request serves only requests that need it: left
     * unused otherwise, it goes back after EVICT_AFTER resets. */
    for (c = *link; c; link = &c->next, c = c->next) {
        p = align_up(chunk_data(c), align);
        if (p <= chunk_end(c) && need <= (size_t)(chunk_end(c) - p) && (big || !oversized(a, c)))
            break;
    }
    if (c && link != (a->cur ? &a->cur->next : &a->chunks)) {
        *link = c->next;                              /* move c right after cur */
        chunk_t **head = a->cur ? &a->cur->next : &a->chunks;
        c->next = *head;
        *head = c;
    }
    if (!c) {
        if (need > a->limit - before)                 /* no new chunk for a failure */
            return fail(a, LLE_ERROR_ARENA_LIMIT, n, "over the arena's limit");
        c = chunk_new(a, need, align);
        if (!c) return fail(a, LLE_ERROR_OUT_OF_MEMORY, n, "the pool has no memory for a chunk");
        p = align_up(chunk_data(c), align);
    }
    if ((size_t)(p - chunk_data(c)) + need > a->limit - before)
        return fail(a, LLE_ERROR_ARENA_LIMIT, n, "over the arena's limit");
    a->used_before = before;
    a->cur = c;
    c->last_epoch = a->epoch;
    a->pos = p + need;
done:
    set_end(a);
    a->allocs++;
    lle__mem_fresh(p, n ? n : 1);
    return p;
}

/* One compare for room, limit and bad sizes: n == 0 and n within 15 of
 * SIZE_MAX round to need == 0, which fails it. */
static inline void *alloc16(lle_arena_t *a, size_t n)
{
    size_t need = (n + ALIGN - 1) & ~(ALIGN - 1);
    if (lle_likely(a != NULL && need - 1 < (size_t)(a->end - a->pos))) {
        char *p = a->pos;
        a->pos = p + need;
        a->allocs++;
        lle__mem_fresh(p, n);
        return p;
    }
    return alloc_slow(a, n, ALIGN);
}

void *lle_arena_alloc(lle_arena_t *a, size_t n)
{
    return alloc16(a, n);
}

void *lle_arena_calloc(lle_arena_t *a, size_t k, size_t n)
{
    size_t bytes;
    if (__builtin_mul_overflow(k, n, &bytes)) {
        if (a) fail(a, LLE_ERROR_INVALID_ARGUMENT, SIZE_MAX, "calloc size overflows");
        return NULL;
    }
    void *p = alloc16(a, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

void *lle_arena_alloc_aligned(lle_arena_t *a, size_t n, size_t align)
{
    if (!a) return NULL;
    if (align == 0 || (align & (align - 1)) || align > LLE_ARENA_MAX_ALIGN)
        return fail(a, LLE_ERROR_INVALID_ARGUMENT, n,
                    "alignment is not a power of two up to LLE_ARENA_MAX_ALIGN");
    if (align <= ALIGN) return alloc16(a, n);
    return alloc_slow(a, n, align);
}

char *lle_arena_strndup(lle_arena_t *a, const char *s, size_t n)
{
    if (!s) return NULL;
    size_t len = strnlen(s, n);
    char *p = alloc16(a, len + 1);
    if (!p) return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *lle_arena_strdup(lle_arena_t *a, const char *s)
{
    return lle_arena_strndup(a, s, SIZE_MAX);
}

char *lle_arena_vprintf(lle_arena_t *a, const char *fmt, va_list ap)
{
    if (!a || !fmt) return NULL;
    va_list ap2;
    va_copy(ap2, ap);
    int len = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (len < 0) return fail(a, LLE_ERROR_INVALID_ARGUMENT, 0, "format error");
    char *p = alloc16(a, (size_t)len + 1);
    if (p) vsnprintf(p, (size_t)len + 1, fmt, ap);
    return p;
}

char *lle_arena_printf(lle_arena_t *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = lle_arena_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

lle_result_t lle_arena_defer(lle_arena_t *a, void (*fn)(void *arg), void *arg)
{
    if (!a || !fn) return LLE_ERROR_NULL_PARAMETER;
    if (a->busy) return LLE_ERROR_INVALID_STATE;
    size_t used = used_now(a);
    dtor_t *d = alloc16(a, sizeof *d);
    if (!d) return used + ((sizeof *d + ALIGN - 1) & ~(ALIGN - 1)) > a->limit
                       ? LLE_ERROR_ARENA_LIMIT : LLE_ERROR_OUT_OF_MEMORY;
    d->fn = fn;
    d->arg = arg;
    d->next = a->dtors;
    a->dtors = d;
    return LLE_SUCCESS;
}

/* ---- the tree ----------------------------------------------------------- */

lle_result_t lle_arena_create(lle_memory_manager_t *m, lle_arena_t *parent, const char *name,
                              const lle_arena_config_t *cfg, lle_arena_t **out)
{
    if (out) *out = NULL;
    if (!m || !out) return LLE_ERROR_NULL_PARAMETER;
    if (parent && parent->m != m) return LLE_ERROR_INVALID_ARGUMENT;
    if (parent && parent->busy) return LLE_ERROR_INVALID_STATE;
    lle_arena_config_t c;
    if (cfg) c = *cfg;
    else {
        lle_arena_config_default(&c);
        if (parent) {
            c.pool = (lle_memory_pool_type_t)parent->pool;
            c.chunk_size = parent->chunk_size;
        }
    }
    if ((unsigned)c.pool >= LLE_POOL_COUNT || c.limit == 0 || c.chunk_size < MIN_CHUNK ||
        c.chunk_size > MAX_CHUNK)
        return LLE_ERROR_INVALID_ARGUMENT;
    if (!name) name = "arena";
    size_t len = strlen(name);
    lle_arena_t *a = lle_pool_alloc(m, c.pool, sizeof *a + len + 1);
    if (!a) return LLE_ERROR_OUT_OF_MEMORY;
    memset(a, 0, sizeof *a);
    memcpy(a->name, name, len + 1);
    a->m = m;
    a->pool = (int)c.pool;
    a->limit = c.limit;
    /* Standard chunks are powers of two: each is one of the pools' classes. */
    size_t cs = MIN_CHUNK;
    while (cs < c.chunk_size) cs *= 2;
    a->chunk_size = cs;
    a->epoch = 1;
    if (parent) {
        a->parent = parent;
        a->depth = parent->depth + 1;
        a->seq = ++parent->child_seq;
        a->next = parent->child;
        if (parent->child) parent->child->prev = a;
        parent->child = a;
    }
    *out = a;
    return LLE_SUCCESS;
}

static void destroy_tree(lle_arena_t *a);

/* Destroy the children newer than seq (all of them for 0). */
static void drop_children(lle_arena_t *a, uint64_t seq)
{
    while (a->child && a->child->seq > seq) destroy_tree(a->child);
}

/* Run the destructors newer than `keep` (all of them for NULL). */
static void run_dtors(lle_arena_t *a, dtor_t *keep)
{
    while (a->dtors && a->dtors != keep) {
        dtor_t *d = a->dtors;
        a->dtors = d->next;
        a->dtors_run++;
        d->fn(d->arg);
    }
}

static void destroy_tree(lle_arena_t *a)
{
    a->busy = true;
    set_end(a);
    drop_children(a, 0);
    run_dtors(a, NULL);
    if (a->parent) {
        if (a->prev) a->prev->next = a->next;
        else a->parent->child = a->next;
        if (a->next) a->next->prev = a->prev;
    }
    while (a->chunks) {
        chunk_t *c = a->chunks;
        a->chunks = c->next;
        chunk_release(a, c);
    }
    lle_memory_manager_t *m = a->m;
    lle__asan_poison((char *)a + LLE__ASAN_KEEP, sizeof *a - LLE__ASAN_KEEP);
    lle_pool_free(m, a);
}

/* Whether a or one of its ancestors is resetting, rewinding or being
 * destroyed (a call from one of their destructors). */
static bool tree_busy(const lle_arena_t *a)
{
    for (; a; a = a->parent)
        if (a->busy) return true;
    return false;
}

lle_result_t lle_arena_destroy(lle_arena_t *a)
{
    if (!a) return LLE_SUCCESS;
    if (tree_busy(a)) return LLE_ERROR_INVALID_STATE;
    destroy_tree(a);
    return LLE_SUCCESS;
}

lle_result_t lle_arena_reset(lle_arena_t *a)
{
    if (!a) return LLE_ERROR_NULL_PARAMETER;
    if (tree_busy(a)) return LLE_ERROR_INVALID_STATE;
    note_peak(a);
    a->busy = true;
    set_end(a);
    drop_children(a, 0);
    run_dtors(a, NULL);
    /* Every chunk up to cur was used; those after it are empty and poisoned. */
    for (chunk_t *c = a->chunks; a->cur && c; c = c->next) {
        lle__mem_noaccess(chunk_data(c), c->size);
        if (c == a->cur) break;
    }
    a->epoch++;
    /* A scope that keeps spilling out of its first chunk gets a first chunk
     * as large as its standard chunks together; the ones it replaces go
     * with the eviction below once unused. */
    a->spills = a->cur && a->cur != a->chunks ? a->spills + 1 : 0;
    if (a->spills >= SPILLS_TO_GROW && !oversized(a, a->chunks) &&
        standard_size(a) > a->chunks->size + sizeof(chunk_t)) {
        a->cur = NULL;                                /* chunk_new links at the head */
        chunk_t *c = chunk_new(a, standard_size(a) - sizeof(chunk_t), ALIGN);
        if (c) c->last_epoch = a->epoch;
        a->spills = 0;
    }
    /* Release chunks no cycle reached lately (never the first). */
    if (a->chunks) {
        chunk_t *prev = a->chunks;
        while (prev->next) {
            chunk_t *c = prev->next;
            if (a->epoch - c->last_epoch > EVICT_AFTER) {
                prev->next = c->next;
                chunk_release(a, c);
                a->chunk_frees++;
            } else {
                prev = c;
            }
        }
        a->chunks->last_epoch = a->epoch;
    }
    a->cur = a->chunks;
    a->pos = a->cur ? chunk_data(a->cur) : NULL;
    a->used_before = 0;
    a->total_allocs += a->allocs;
    a->allocs = 0;
    a->resets++;
    a->busy = false;
    set_end(a);
    return LLE_SUCCESS;
}

lle_arena_mark_t lle_arena_mark(const lle_arena_t *a)
{
    lle_arena_mark_t mk;
    memset(&mk, 0, sizeof mk);
    if (!a) return mk;
    mk.arena_ = a;
    mk.chunk_ = a->cur;
    mk.pos_ = a->pos;
    mk.dtors_ = a->dtors;
    mk.used_ = used_now(a);
    mk.epoch_ = a->epoch;
    mk.child_seq_ = a->child_seq;
    return mk;
}

/* Whether mk is a position a still has. */
static bool mark_valid(const lle_arena_t *a, const lle_arena_mark_t *mk)
{
    if (mk->arena_ != a || mk->epoch_ != a->epoch || mk->used_ > used_now(a)) return false;
    const chunk_t *mc = mk->chunk_;
    if (mc == NULL) {
        if (mk->used_ != 0) return false;
    } else {
        const chunk_t *c = a->chunks;
        while (c && c != mc && c != a->cur) c = c->next;
        if (c != mc) return false;                    /* not at or before cur */
        const char *pos = mk->pos_;
        if (pos < chunk_data((chunk_t *)mc) || pos > chunk_end((chunk_t *)mc)) return false;
        if (mc == a->cur && pos > a->pos) return false;
        if ((size_t)(pos - chunk_data((chunk_t *)mc)) > mk->used_) return false;
    }
    const dtor_t *d = a->dtors;
    while (d && d != mk->dtors_) d = d->next;
    return d == mk->dtors_;
}

lle_result_t lle_arena_rewind(lle_arena_t *a, const lle_arena_mark_t *mk)
{
    if (!a || !mk) return LLE_ERROR_NULL_PARAMETER;
    if (tree_busy(a)) return LLE_ERROR_INVALID_STATE;
    if (!mark_valid(a, mk)) return LLE_ERROR_INVALID_ARGUMENT;
    note_peak(a);
    a->busy = true;
    set_end(a);
    drop_children(a, mk->child_seq_);
    run_dtors(a, mk->dtors_);
    chunk_t *mc = mk->chunk_;
    if (a->cur) {
        /* Poison what was handed out since the mark. */
        char *from = mc ? (char *)mk->pos_ : NULL;
        for (chunk_t *c = mc ? mc : a->chunks; c; c = c->next) {
            char *start = c == mc ? from : chunk_data(c);
            lle__mem_noaccess(start, (size_t)(chunk_end(c) - start));
            if (c == a->cur) break;
        }
    }
    a->cur = mc;
    a->pos = mk->pos_;
    a->used_before = mc ? mk->used_ - (size_t)((char *)mk->pos_ - chunk_data(mc)) : 0;
    a->rewinds++;
    a->busy = false;
    set_end(a);
    return LLE_SUCCESS;
}

lle_result_t lle_arena_set_limit(lle_arena_t *a, size_t limit)
{
    if (!a) return LLE_ERROR_NULL_PARAMETER;
    if (limit == 0 || limit < used_now(a)) return LLE_ERROR_INVALID_ARGUMENT;
    a->limit = limit;
    set_end(a);
    return LLE_SUCCESS;
}

lle_arena_t *lle_arena_parent(const lle_arena_t *a)
{
    return a ? a->parent : NULL;
}

lle_memory_manager_t *lle_arena_manager(const lle_arena_t *a)
{
    return a ? a->m : NULL;
}

lle_result_t lle_arena_get_stats(const lle_arena_t *a, lle_arena_stats_t *out)
{
    if (!a || !out) return LLE_ERROR_NULL_PARAMETER;
    memset(out, 0, sizeof *out);
    out->name = a->name;
    out->pool = a->pool;
    out->depth = a->depth;
    for (const lle_arena_t *c = a->child; c; c = c->next) out->children++;
    out->used = used_now(a);
    out->peak_used = a->peak_used > out->used ? a->peak_used : out->used;
    out->limit = a->limit;
    out->chunks = a->nchunks;
    out->chunk_bytes = a->chunk_bytes;
    out->chunk_allocs = a->chunk_allocs;
    out->chunk_frees = a->chunk_frees;
    out->allocs = a->allocs;
    out->total_allocs = a->total_allocs + a->allocs;
    out->resets = a->resets;
    out->rewinds = a->rewinds;
    out->destructors_run = a->dtors_run;
    out->limit_failures = a->limit_failures;
    return LLE_SUCCESS;
}

/* ---- the printable tree ------------------------------------------------- */

static void tree_line(lle__text_t *t, const lle_arena_t *a, unsigned indent)
{
    lle_arena_stats_t st;
    lle_arena_get_stats(a, &st);
    lle__text_add(t, "%*s%s: %zu/%zu B used in %zu chunk%s, %llu alloc%s, %zu child%s", (int)indent * 2,
             "", st.name, st.used, st.chunk_bytes, st.chunks, st.chunks == 1 ? "" : "s",
             (unsigned long long)st.allocs, st.allocs == 1 ? "" : "s", st.children,
             st.children == 1 ? "" : "ren");
    if (st.limit != SIZE_MAX) lle__text_add(t, ", limit %zu B", st.limit);
    lle__text_add(t, "\n");
    /* Oldest child first. */
    const lle_arena_t *c = a->child;
    while (c && c->next) c = c->next;
    for (; c; c = c->prev) tree_line(t, c, indent + 1);
}

lle_result_t lle_arena_format_tree(const lle_arena_t *a, char *buf, size_t cap, size_t *needed)
{
    if (!a || (!buf && cap)) return LLE_ERROR_NULL_PARAMETER;
    lle__text_t t = {buf, cap, 0};
    if (cap) buf[0] = '\0';
    tree_line(&t, a, 0);
    return lle__text_done(&t, needed);
}
