/*
 * debug.c - debug blocks: guard bytes, poison, quarantine, sites, and the
 * checks of free, realloc and the whole heap.
 *
 * A pool with a debugging feature on serves every allocation here (the
 * manager's dbg_mask sends them off the fast path).  Debug blocks live in
 * slabs of kind LLE__SLAB_DEBUG, registered in the page map like any slab,
 * so a pointer finds its slab in O(1); the pool counts their bytes against
 * its limit.  A slab holds slots of one size class; a block too large for
 * a class, or aligned beyond its pool's alignment, gets a slab of its own.
 *
 * Slot layout (lead = 80 bytes rounded up to the pool's alignment):
 *
 *   slot                      hdr            block = slot + lead
 *   | (padding to alignment) | header (64) | front guard (16) | n bytes | back guard ... |
 *
 * The back guard runs to the end of the slot (at least 16 bytes).  Whether
 * a slot is in use (live, quarantined or kept) is a bit in the slab's
 * bitmap, outside the blocks: a corrupted header is detected (its check
 * word no longer matches) and reported, never followed.
 *
 * Guard bytes: byte at address a is 0x80 | (key >> 8*(a & 7)) & 0x7f with
 * key = a hash of the manager's random secret and the header's address; the
 * high bit is set so that text or zeros written past a block always differ
 * from them.  Poison: LLE_POISON_FRESH on allocation, LLE_POISON_FREED on
 * free (lle/config.h).
 *
 * Everything runs under dbg->lock; errors found under it are gathered and
 * reported after it is released (the error callback may allocate).
 */
#include <execinfo.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "debug/debug_internal.h"
#include "pool/pool_internal.h"
#include "sanitizer.h"

#define HDR_BYTES 64
#define FRONT 16
#define BACK_MIN 16
#define DMAGIC UINT64_C(0x6c6c652d64656267) /* "lle-debg" */

enum { F_CANARY = 1, F_POISON = 2, F_TRACK = 4 };

typedef struct lle__dhdr {
    uint64_t          check;     /* keyed hash of what follows, set at allocation */
    uint32_t          state;     /* lle_block_state_t */
    uint8_t           pool, feat;
    uint16_t          reserved;
    uint64_t          size;
    uint32_t          asite, fsite;
    uint64_t          thread;
    uint64_t          time_ns;
    struct lle__dhdr *qnext;     /* quarantine FIFO */
    uint64_t          free_ns;
} lle__dhdr_t;
_Static_assert(sizeof(lle__dhdr_t) == HDR_BYTES, "the header is 64 bytes");

/* ---- errors found under the lock --------------------------------------------- */

typedef struct pend {
    lle_result_t code;
    int          pool;
    size_t       size;
    const void  *addr;
    lle_site_t   as, fs;
    char         msg[480];
} pend_t;

#define MAX_PEND 4
typedef struct errs {
    pend_t   e[MAX_PEND];
    unsigned n, dropped;
} errs_t;

static void pend(errs_t *x, lle_result_t code, int pool, size_t size, const void *addr,
                 lle_site_t as, lle_site_t fs, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
static void pend(errs_t *x, lle_result_t code, int pool, size_t size, const void *addr,
                 lle_site_t as, lle_site_t fs, const char *fmt, ...)
{
    if (x->n == MAX_PEND) {
        x->dropped++;
        return;
    }
    pend_t *e = &x->e[x->n++];
    e->code = code;
    e->pool = pool;
    e->size = size;
    e->addr = addr;
    e->as = as;
    e->fs = fs;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

/* Report what was gathered (no lock held). */
static void flush(lle_memory_manager_t *m, const errs_t *x)
{
    for (unsigned i = 0; i < x->n; i++) {
        const pend_t *e = &x->e[i];
        lle__report_sites(m, e->code, e->pool, e->size, e->addr, &e->as, &e->fs, "%s", e->msg);
    }
    if (x->dropped)
        lle__report(m, LLE_ERROR_CORRUPTION, -1, 0, NULL,
                    "%u more debug-block errors were found at the same time (not detailed)",
                    x->dropped);
}

static lle_recovery_t strategy(lle_memory_manager_t *m, lle_result_t code)
{
    return (lle_recovery_t)atomic_load_explicit(&m->recovery[code], memory_order_relaxed);
}

/* ---- layout ------------------------------------------------------------------ */

static inline char *slot_at(const lle__slab_t *s, uint32_t i)
{
    return s->start + (size_t)i * s->bsize;
}
static inline size_t lead_of(const lle__slab_t *s)
{
    return (size_t)(uintptr_t)s->aux;
}
static inline char *user_of(const lle__slab_t *s, uint32_t i)
{
    return slot_at(s, i) + lead_of(s);
}
static inline lle__dhdr_t *hdr_of(const lle__slab_t *s, uint32_t i)
{
    return (lle__dhdr_t *)(void *)(user_of(s, i) - FRONT - HDR_BYTES);
}
static inline char *slot_end(const lle__slab_t *s, uint32_t i)
{
    return slot_at(s, i) + s->bsize;
}

/* Bitmap of a debug slab: word 2k, slots in use (live, quarantined, kept);
 * word 2k+1, slots ever used (whose header was written once). */
static inline bool slot_used(const lle__slab_t *s, uint32_t i)
{
    return (atomic_load_explicit(&s->bits[2 * (i >> 6)], memory_order_relaxed) >> (i & 63)) & 1;
}
static inline bool slot_seen(const lle__slab_t *s, uint32_t i)
{
    return (atomic_load_explicit(&s->bits[2 * (i >> 6) + 1], memory_order_relaxed) >> (i & 63)) &
           1;
}
static inline void slot_mark(lle__slab_t *s, uint32_t i, bool used)
{
    uint64_t bit = (uint64_t)1 << (i & 63);
    _Atomic uint64_t *w = &s->bits[2 * (i >> 6)];
    uint64_t v = atomic_load_explicit(w, memory_order_relaxed);
    atomic_store_explicit(w, used ? v | bit : v & ~bit, memory_order_relaxed);
    if (used) {
        v = atomic_load_explicit(w + 1, memory_order_relaxed);
        atomic_store_explicit(w + 1, v | bit, memory_order_relaxed);
    }
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return x;
}

static uint64_t hdr_check(const lle__dbg_t *d, const lle__dhdr_t *h)
{
    uint64_t v = (d->secret ^ DMAGIC ^ (uintptr_t)h) * UINT64_C(0x9E3779B97F4A7C15);
    v ^= h->size * UINT64_C(0xc2b2ae3d27d4eb4f);
    v ^= ((uint64_t)h->asite << 32 | (uint64_t)h->feat << 8 | h->pool) *
         UINT64_C(0x165667b19e3779f9);
    v ^= (h->thread ^ (h->time_ns << 16)) * UINT64_C(0x27d4eb2f165667c5);
    return mix64(v);
}

static inline bool hdr_ok(const lle__dbg_t *d, const lle__dhdr_t *h)
{
    return h->check == hdr_check(d, h);
}

static inline uint8_t guard_byte(uint64_t key, uintptr_t a)
{
    return (uint8_t)(0x80u | ((key >> ((a & 7) * 8)) & 0x7fu));
}

/* The guard bytes of an 8-aligned word, as one little-endian word. */
static inline uint64_t guard_word(uint64_t key)
{
    return (key & UINT64_C(0x7f7f7f7f7f7f7f7f)) | UINT64_C(0x8080808080808080);
}

static inline uint64_t load64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

void lle__gbytes_fill(uint64_t key, char *from, char *to)
{
    char *c = from;
    for (; c < to && ((uintptr_t)c & 7); c++) *c = (char)guard_byte(key, (uintptr_t)c);
    uint64_t w = guard_word(key);
    for (; c + 8 <= to; c += 8) memcpy(c, &w, sizeof w);
    for (; c < to; c++) *c = (char)guard_byte(key, (uintptr_t)c);
}

/* First byte of [from, to) that is not its guard byte, or NULL.  Whole
 * aligned words are compared at once. */
const char *lle__gbytes_find(uint64_t key, const char *from, const char *to)
{
    const char *c = from;
    for (; c < to && ((uintptr_t)c & 7); c++)
        if ((uint8_t)*c != guard_byte(key, (uintptr_t)c)) return c;
    uint64_t w = guard_word(key);
    for (; c + 8 <= to; c += 8)
        if (load64(c) != w) break;
    for (; c < to; c++)
        if ((uint8_t)*c != guard_byte(key, (uintptr_t)c)) return c;
    return NULL;
}

static const char *poison_find(const char *from, size_t n)
{
    const uint64_t w = UINT64_C(0x0101010101010101) * LLE_POISON_FREED;
    const char *c = from, *end = from + n;
    for (; c < end && ((uintptr_t)c & 7); c++)
        if ((uint8_t)*c != LLE_POISON_FREED) return c;
    /* Four words a step, then the rest. */
    for (; c + 32 <= end; c += 32)
        if (((load64(c) ^ w) | (load64(c + 8) ^ w) | (load64(c + 16) ^ w) |
             (load64(c + 24) ^ w)) != 0)
            break;
    for (; c + 8 <= end; c += 8)
        if (load64(c) != w) break;
    for (; c < end; c++)
        if ((uint8_t)*c != LLE_POISON_FREED) return c;
    return NULL;
}

uint64_t lle__dbg_key(const lle__dbg_t *d, const void *where)
{
    return mix64(d->secret ^ (uintptr_t)where);
}

static uint64_t guard_key(const lle__dbg_t *d, const lle__dhdr_t *h)
{
    return lle__dbg_key(d, h);
}

/* A guard byte of block i that changed, or NULL (h checked by the caller). */
static const char *guards_bad(const lle__dbg_t *d, const lle__slab_t *s, uint32_t i,
                              const lle__dhdr_t *h)
{
    if (!(h->feat & F_CANARY)) return NULL;
    uint64_t key = guard_key(d, h);
    char *u = user_of(s, i);
    const char *bad = lle__gbytes_find(key, u - FRONT, u);
    return bad ? bad : lle__gbytes_find(key, u + h->size, slot_end(s, i));
}

/* ---- slabs ------------------------------------------------------------------- */

static lle__slab_t *dslab_new(lle_memory_manager_t *m, int pool, size_t bytes, size_t bsize,
                              size_t lead)
{
    if (!lle__pool_debug_reserve(m, pool, bytes)) return NULL;
    lle__slab_t *s = lle__slab_new(m, pool, bytes, LLE__SLAB_DEBUG);
    if (!s) {
        lle__pool_debug_release(m, pool, bytes);
        return NULL;
    }
    s->bsize = (uint32_t)bsize;
    s->magic = lle__slab_magic(s->bsize);
    s->capacity = (uint32_t)(bytes / bsize);
    s->aux = (void *)(uintptr_t)lead;
    s->used = 0;
    s->hint = 0;
    return s;
}

static void dslab_destroy(lle_memory_manager_t *m, lle__slab_t *s)
{
    int pool = s->pool;
    size_t bytes = s->bytes;
    lle__slab_destroy(m, s);
    lle__pool_debug_release(m, pool, bytes);
}

/* A free slot of s (which has one): marked used.  *seen: whether it was
 * used before (its header holds the last block's record). */
static uint32_t slot_take(lle__slab_t *s, bool *seen)
{
    size_t words = ((size_t)s->capacity + 63) / 64;
    uint64_t tail = (s->capacity & 63) ? ~(uint64_t)0 << (s->capacity & 63) : 0;
    /* From the hint to the end, then from the start: no division. */
    for (int pass = 0; pass < 2; pass++) {
        size_t from = pass ? 0 : s->hint, to = pass ? s->hint : words;
        for (size_t w = from; w < to; w++) {
            uint64_t v = atomic_load_explicit(&s->bits[2 * w], memory_order_relaxed);
            if (w == words - 1) v |= tail;
            if (v != ~(uint64_t)0) {
                uint32_t i = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(~v));
                *seen = slot_seen(s, i);
                slot_mark(s, i, true);
                s->hint = (uint32_t)w;
                s->used++;
                return i;
            }
        }
    }
    return UINT32_MAX;   /* not reached: s->used < capacity */
}

/* The bytes of the slab for class c: 8 slots or more, 16 KiB to 512 KiB. */
static size_t class_slab_bytes(unsigned c)
{
    size_t want = 8 * lle__class_size(c), bytes = LLE__MIN_SLAB;
    while (bytes < want && bytes < LLE__MAX_SLAB) bytes *= 2;
    return bytes;
}

/* A slot for a block of n bytes at alignment `align`: its slab in *sp. */
static uint32_t slot_get(lle_memory_manager_t *m, lle__dpool_t *dp, int pool, size_t n,
                         size_t align, lle__slab_t **sp, bool *seen)
{
    *seen = false;
    size_t lead = dp->lead;
    if (align > m->pools[pool].cfg.alignment) lead = (HDR_BYTES + FRONT + align - 1) & ~(align - 1);
    size_t need = lead + n + BACK_MIN;
    unsigned c = lead == dp->lead ? lle__class_for(need, align) : LLE__NCLASSES;
    if (c < LLE__NCLASSES) {
        lle__dbin_t *b = &dp->bins[c];
        lle__slab_t *s = b->avail;
        if (!s) {
            s = dslab_new(m, pool, class_slab_bytes(c), lle__class_size(c), lead);
            if (!s) return UINT32_MAX;
            s->cls = (uint8_t)c;
            lle__slab_list_push(&b->avail, s);
        }
        uint32_t i = slot_take(s, seen);
        if (s->used == s->capacity) {
            lle__slab_list_unlink(&b->avail, s);
            lle__slab_list_push(&b->full, s);
        }
        *sp = s;
        return i;
    }
    size_t bytes = (need + LLE__GRANULE - 1) & ~(LLE__GRANULE - 1);
    if (bytes > UINT32_MAX) return UINT32_MAX;
    lle__slab_t *s = dslab_new(m, pool, bytes, bytes, lead);
    if (!s) return UINT32_MAX;
    s->cls = LLE__NCLASSES;
    lle__slab_list_push(&dp->big, s);
    *sp = s;
    return slot_take(s, seen);
}

/* Give slot i of s back (the block is done with). */
static void slot_put(lle_memory_manager_t *m, lle__dpool_t *dp, lle__slab_t *s, uint32_t i)
{
    hdr_of(s, i)->state = LLE_BLOCK_FREED;
    slot_mark(s, i, false);
    bool was_full = s->used == s->capacity;
    s->used--;
    if (s->cls == LLE__NCLASSES) {
        lle__slab_list_unlink(&dp->big, s);
        dslab_destroy(m, s);
        return;
    }
    lle__dbin_t *b = &dp->bins[s->cls];
    if (was_full) {
        lle__slab_list_unlink(&b->full, s);
        lle__slab_list_push(&b->avail, s);
    }
    /* Keep one empty slab per class; the others go back. */
    if (s->used == 0 && (b->avail != s || s->next)) {
        lle__slab_list_unlink(&b->avail, s);
        dslab_destroy(m, s);
    }
}

/* The slab and slot of a debug block found by its header. */
static lle__slab_t *slab_of_hdr(lle_memory_manager_t *m, const lle__dhdr_t *h, uint32_t *i)
{
    const char *u = (const char *)h + HDR_BYTES + FRONT;
    lle__slab_t *s = lle__map_get(m, u);
    *i = lle__slab_index(s, u);
    return s;
}

/* ---- checks of one block ------------------------------------------------------ */

static void describe(const lle__dbg_t *d, uint32_t id, char *buf, size_t len)
{
    lle_site_t s = lle__dsite_site(d, id);
    lle__dsite_describe(&s, buf, len);
}

/* A freed block leaving the quarantine (or met by a check): poison and
 * guards still intact?  Gathers the error and returns its code when not. */
static lle_result_t verify_freed(lle_memory_manager_t *m, const lle__slab_t *s, uint32_t i,
                         const lle__dhdr_t *h, errs_t *x)
{
    lle__dbg_t *d = m->dbg;
    const char *u = user_of(s, i);
    const char *bad = (h->feat & F_POISON) ? poison_find(u, h->size) : NULL;
    lle_result_t code = LLE_ERROR_USE_AFTER_FREE;
    if (!bad) {
        bad = guards_bad(d, s, i, h);
        code = LLE_ERROR_CORRUPTION;
    }
    if (!bad) return LLE_SUCCESS;
    char as[160], fs[160];
    describe(d, h->asite, as, sizeof as);
    describe(d, h->fsite, fs, sizeof fs);
    long off = (long)(bad - u);
    pend(x, code, h->pool, h->size, u, lle__dsite_site(d, h->asite), lle__dsite_site(d, h->fsite),
         "%s of freed block %p (%zu bytes, pool %s): byte %ld changed after it was freed; "
         "allocated at %s, freed at %s",
         code == LLE_ERROR_USE_AFTER_FREE ? "write after free" : "guard bytes overwritten",
         (const void *)u, (size_t)h->size, lle_pool_type_name(h->pool), off, as, fs);
    return code;
}

/* Leave the quarantine (oldest first) until within budget (all: budget 0
 * and force). */
static void quarantine_trim(lle_memory_manager_t *m, lle__dpool_t *dp, size_t budget, errs_t *x)
{
    while (dp->qhead && dp->qbytes > budget) {
        lle__dhdr_t *h = dp->qhead;
        dp->qhead = h->qnext;
        if (!dp->qhead) dp->qtail = NULL;
        dp->qblocks--;
        uint32_t i;
        lle__slab_t *s = slab_of_hdr(m, h, &i);
        dp->qbytes -= s->bsize;
        lle_result_t bad = verify_freed(m, s, i, h, x);
        if (bad != LLE_SUCCESS && strategy(m, bad) == LLE_RECOVER_QUARANTINE) {
            h->state = LLE_BLOCK_KEPT;   /* withheld for good */
            dp->kept_blocks++;
            continue;
        }
        slot_put(m, dp, s, i);
    }
}

/* ---- allocation ---------------------------------------------------------------- */

static unsigned take_backtrace(unsigned want, const void *pc, const void **out)
{
    void *raw[LLE__DBG_MAX_FRAMES + 8];
    int got = backtrace(raw, (int)(want + 8));
    int from = 0;
    /* Start at the caller of the library when it is among the frames. */
    for (int k = 0; k < got; k++)
        if (raw[k] == pc) {
            from = k;
            break;
        }
    unsigned n = 0;
    for (int k = from; k < got && n < want; k++) out[n++] = raw[k];
    return n;
}

/* A debug block with the pool's current features (whatever they are). */
static void *block_alloc(lle_memory_manager_t *m, int pool, size_t n, size_t align,
                         const lle_site_t *site, const void *pc)
{
    lle__dbg_t *d = m->dbg;
    lle__dpool_t *dp = &d->pools[pool];
    if (n == 0) n = 1;
    if (align < m->pools[pool].cfg.alignment) align = m->pools[pool].cfg.alignment;
    /* Slabs are aligned to the granule: a larger alignment gets an
     * ordinary block. */
    if (align > LLE__GRANULE) return NULL;
    const void *frames[LLE__DBG_MAX_FRAMES];
    unsigned bt = atomic_load_explicit(&dp->backtrace, memory_order_relaxed);
    unsigned nf = bt ? take_backtrace(bt, pc, frames) : 0;
    uint64_t now = lle__now_coarse_ns();
    errs_t x;
    x.n = x.dropped = 0;   /* only the counts: the records are written when used */

    pthread_mutex_lock(&d->lock);
    lle__slab_t *s = NULL;
    bool seen;
    uint32_t i = slot_get(m, dp, pool, n, align, &s, &seen);
    if (i == UINT32_MAX) {
        pthread_mutex_unlock(&d->lock);
        return NULL;
    }
    lle__dhdr_t *h = hdr_of(s, i);
    char *u = user_of(s, i);
    /* The whole slot is the debug allocator's to read and write, whatever
     * its last user (an arena) left poisoned for ASan or no-access for
     * valgrind. */
    lle__asan_unpoison(slot_at(s, i), s->bsize);
    lle__vg_defined(slot_at(s, i), s->bsize);
    /* A slot freed before: its poison must still be intact. */
    if (seen && h->state == LLE_BLOCK_FREED && hdr_ok(d, h) && (h->feat & F_POISON) &&
        (char *)u + h->size <= slot_end(s, i))
        verify_freed(m, s, i, h, &x);
    unsigned feat = (dp->cfg.canary ? F_CANARY : 0) | (dp->cfg.poison ? F_POISON : 0) |
                    (dp->cfg.track ? F_TRACK : 0);
    uint32_t sid = lle__dsite_intern(m, site, pc, frames, nf);
    h->state = LLE_BLOCK_LIVE;
    h->pool = (uint8_t)pool;
    h->feat = (uint8_t)feat;
    h->reserved = 0;
    h->size = n;
    h->asite = sid;
    h->fsite = 0;
    h->thread = lle__thread_id();
    h->time_ns = now;
    h->qnext = NULL;
    h->free_ns = 0;
    h->check = hdr_check(d, h);
    if (feat & F_CANARY) {
        uint64_t key = guard_key(d, h);
        lle__gbytes_fill(key, u - FRONT, u);
        lle__gbytes_fill(key, u + n, slot_end(s, i));
    }
    if (feat & F_POISON) memset(u, LLE_POISON_FRESH, n);
    if (sid) {
        lle__dsite_t *e = &d->sites[sid - 1];
        e->blocks++;
        e->bytes += n;
        e->allocs++;
    }
    dp->live_blocks++;
    dp->live_bytes += n;
    dp->allocs++;
    dp->requested += n;
    if (feat & F_TRACK) {
        lle_site_t st = lle__dsite_site(d, sid);
        lle__audit(m, LLE_AUDIT_ALLOC, LLE_SUCCESS, u, n, pool, &st);
    }
    pthread_mutex_unlock(&d->lock);
    flush(m, &x);
    return u;
}

/* An allocation of a pool routed here: on guard pages (every allocation,
 * or one in N), else a debug block when a debug-block feature is on. */
static void *dbg_alloc(lle_memory_manager_t *m, int pool, size_t n, size_t align,
                       const lle_site_t *site, const void *pc)
{
    lle__dpool_t *dp = &m->dbg->pools[pool];
    unsigned every = atomic_load_explicit(&dp->guard, memory_order_relaxed);
    if (every == 1 || (every > 1 && lle__guard_sampled(every))) {
        void *g = lle__guard_alloc(m, pool, n, align, site, pc);
        if (g) return g;
    }
    if (!atomic_load_explicit(&dp->blocks, memory_order_relaxed)) return NULL;
    return block_alloc(m, pool, n, align, site, pc);
}

/* ---- free ------------------------------------------------------------------------ */

/* Where p lies in debug slab s: slot index, or UINT32_MAX past the last. */
static uint32_t slot_index(const lle__slab_t *s, const void *p)
{
    if ((const char *)p < s->start) return UINT32_MAX;
    uint32_t i = lle__slab_index(s, p);
    return i < s->capacity ? i : UINT32_MAX;
}

/* Free under the lock; returns the result, errors gathered in x. */
static lle_result_t free_locked(lle_memory_manager_t *m, lle__slab_t *s, void *p,
                                uint32_t fsid, errs_t *x)
{
    lle__dbg_t *d = m->dbg;
    lle_site_t fsite = lle__dsite_site(d, fsid), none = {0};
    /* Sites are put into words only for a report (dladdr is slow). */
    char here_[160], as_[160], fs_[160];
#define HERE() (lle__dsite_describe(&fsite, here_, sizeof here_), here_)
#define AS() (describe(d, h->asite, as_, sizeof as_), as_)
#define FS() (describe(d, h->fsite, fs_, sizeof fs_), fs_)
    uint32_t i = slot_index(s, p);
    if (i == UINT32_MAX) {
        pend(x, LLE_ERROR_INVALID_POINTER, s->pool, 0, p, none, fsite,
             "free of %p at %s: not a block of this manager; nothing was freed", p, HERE());
        return LLE_ERROR_INVALID_POINTER;
    }
    lle__dhdr_t *h = hdr_of(s, i);
    char *u = user_of(s, i);
    bool valid = slot_seen(s, i) && hdr_ok(d, h);
    if (!slot_used(s, i)) {
        if (valid && h->state == LLE_BLOCK_FREED && p == u) {
            pend(x, LLE_ERROR_DOUBLE_FREE, h->pool, h->size, p, lle__dsite_site(d, h->asite),
                 lle__dsite_site(d, h->fsite),
                 "double free of %p (%zu bytes, pool %s) at %s: allocated at %s, already "
                 "freed at %s",
                 p, (size_t)h->size, lle_pool_type_name(h->pool), HERE(), AS(), FS());
            return LLE_ERROR_DOUBLE_FREE;
        }
        pend(x, LLE_ERROR_INVALID_POINTER, s->pool, 0, p, none, fsite,
             "free of %p at %s: not a block of this manager (a free slot of a debug slab); "
             "nothing was freed",
             p, HERE());
        return LLE_ERROR_INVALID_POINTER;
    }
    if (!valid) {
        pend(x, LLE_ERROR_CORRUPTION, s->pool, 0, u, none, fsite,
             "free of %p at %s: the header of the block at %p was overwritten (a write "
             "before the block); the block is withheld",
             p, HERE(), (void *)u);
        if (h->state != LLE_BLOCK_KEPT) {
            h->state = LLE_BLOCK_KEPT;   /* its size is unknown: never reused */
            d->pools[s->pool].kept_blocks++;
        }
        return LLE_ERROR_CORRUPTION;
    }
    lle_site_t asite = lle__dsite_site(d, h->asite);
    if (p != u) {
        const char *where = (char *)p > u && (char *)p < u + h->size ? "inside" : "in the guard "
                                                                                 "bytes of";
        pend(x, LLE_ERROR_INVALID_POINTER, h->pool, h->size, p, asite, fsite,
             "free of %p at %s: an interior pointer, %s block %p (%zu bytes, pool %s) "
             "allocated at %s; nothing was freed",
             p, HERE(), where, (void *)u, (size_t)h->size, lle_pool_type_name(h->pool), AS());
        return LLE_ERROR_INVALID_POINTER;
    }
    if (h->state != LLE_BLOCK_LIVE) {
        pend(x, LLE_ERROR_DOUBLE_FREE, h->pool, h->size, p, asite, lle__dsite_site(d, h->fsite),
             "double free of %p (%zu bytes, pool %s) at %s: allocated at %s, already freed "
             "at %s",
             p, (size_t)h->size, lle_pool_type_name(h->pool), HERE(), AS(), FS());
        return LLE_ERROR_DOUBLE_FREE;
    }
    lle__dpool_t *dp = &d->pools[h->pool];
    lle_result_t r = LLE_SUCCESS;
    lle__asan_unpoison(slot_at(s, i), s->bsize);   /* see dbg_alloc */
    lle__vg_defined(slot_at(s, i), s->bsize);
    const char *bad = guards_bad(d, s, i, h);
    bool keep = false;
    if (bad) {
        long off = bad < u ? (long)(bad - u) : (long)(bad - (u + h->size));
        pend(x, LLE_ERROR_CORRUPTION, h->pool, h->size, p, asite, fsite,
             "heap %s of block %p (%zu bytes, pool %s): the guard byte %ld %s was "
             "overwritten; allocated at %s, freed at %s",
             bad < u ? "underflow" : "overflow", p, (size_t)h->size, lle_pool_type_name(h->pool),
             bad < u ? -off : off + 1, bad < u ? "before the block" : "past its end", AS(), HERE());
        r = LLE_ERROR_CORRUPTION;
        keep = strategy(m, LLE_ERROR_CORRUPTION) == LLE_RECOVER_QUARANTINE;
        if (!keep) {   /* reported once: the guards are whole again for later checks */
            uint64_t key = guard_key(d, h);
            lle__gbytes_fill(key, u - FRONT, u);
            lle__gbytes_fill(key, u + h->size, slot_end(s, i));
        }
    }
    h->fsite = fsid;
    h->free_ns = lle__now_coarse_ns();
    if (h->asite) {
        lle__dsite_t *e = &d->sites[h->asite - 1];
        e->blocks--;
        e->bytes -= h->size;
    }
    dp->live_blocks--;
    dp->live_bytes -= h->size;
    dp->frees++;
    if (h->feat & F_TRACK) lle__audit(m, LLE_AUDIT_FREE, r, p, h->size, h->pool, &fsite);
    if (h->feat & F_POISON) memset(u, LLE_POISON_FREED, h->size);
    if (keep) {
        h->state = LLE_BLOCK_KEPT;
        dp->kept_blocks++;
    } else if (dp->cfg.quarantine) {
        h->state = LLE_BLOCK_QUARANTINED;
        h->qnext = NULL;
        if (dp->qtail) dp->qtail->qnext = h;
        else dp->qhead = h;
        dp->qtail = h;
        dp->qblocks++;
        dp->qbytes += s->bsize;
        quarantine_trim(m, dp, dp->cfg.quarantine, x);
    } else {
        slot_put(m, dp, s, i);
    }
    return r;
#undef HERE
#undef AS
#undef FS
}

static lle_result_t dbg_free(lle_memory_manager_t *m, lle__slab_t *s, void *p,
                             const lle_site_t *site, const void *pc)
{
    if (s->kind == LLE__SLAB_GUARD) return lle__guard_free(m, s, p, site, pc);
    lle__dbg_t *d = m->dbg;
    errs_t x;
    x.n = x.dropped = 0;   /* only the counts: the records are written when used */
    pthread_mutex_lock(&d->lock);
    uint32_t fsid = lle__dsite_intern(m, site, pc, NULL, 0);
    lle_result_t r = free_locked(m, s, p, fsid, &x);
    pthread_mutex_unlock(&d->lock);
    if (r == LLE_ERROR_DOUBLE_FREE) atomic_fetch_add_explicit(&m->double_frees, 1, memory_order_relaxed);
    else if (r == LLE_ERROR_INVALID_POINTER)
        atomic_fetch_add_explicit(&m->invalid_frees, 1, memory_order_relaxed);
    flush(m, &x);
    return r;
}

/* ---- queries ------------------------------------------------------------------------- */

/* The block of slot i (lock held), for lle_block_query. */
static void fill_info(const lle__dbg_t *d, const lle__slab_t *s, uint32_t i, lle_block_info_t *out)
{
    const lle__dhdr_t *h = hdr_of(s, i);
    memset(out, 0, sizeof *out);
    out->start = user_of(s, i);
    out->size = h->size;
    out->pool = h->pool;
    out->state = (lle_block_state_t)h->state;
    out->debug = 1;
    out->alloc_site = lle__dsite_site(d, h->asite);
    out->free_site = lle__dsite_site(d, h->fsite);
    out->thread = (unsigned long)h->thread;
    out->time_ns = h->time_ns;
    if (h->asite) {
        const lle__dsite_t *e = &d->sites[h->asite - 1];
        out->frames = e->nframes;
        if (e->nframes)
            memcpy(out->backtrace, d->frames + e->frame0, e->nframes * sizeof *d->frames);
    }
}

static lle_result_t dbg_query(lle_memory_manager_t *m, lle__slab_t *s, const void *p,
                              lle_block_info_t *out)
{
    if (s->kind == LLE__SLAB_GUARD) return lle__guard_query(m, s, p, out);
    lle__dbg_t *d = m->dbg;
    lle_result_t r = LLE_ERROR_INVALID_POINTER;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&d->lock);
    uint32_t i = slot_index(s, p);
    if (i != UINT32_MAX && slot_seen(s, i)) {
        const lle__dhdr_t *h = hdr_of(s, i);
        if (hdr_ok(d, h) && (slot_used(s, i) || h->state == LLE_BLOCK_FREED)) {
            fill_info(d, s, i, out);
            r = h->state == LLE_BLOCK_LIVE && slot_used(s, i) ? LLE_SUCCESS : LLE_ERROR_DOUBLE_FREE;
        } else if (slot_used(s, i)) {
            r = LLE_ERROR_CORRUPTION;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return r;
}

/* ---- realloc ------------------------------------------------------------------------- */

static void *dbg_realloc(lle_memory_manager_t *m, lle__slab_t *s, void *p, size_t n,
                         const lle_site_t *site, const void *pc)
{
    if (s->kind == LLE__SLAB_GUARD) return lle__guard_realloc(m, s, p, n, site, pc);
    lle_block_info_t info;
    lle_result_t r = dbg_query(m, s, p, &info);
    if (r == LLE_SUCCESS && info.start != p) r = LLE_ERROR_INVALID_POINTER;
    if (r != LLE_SUCCESS) {
        lle__dbg_t *d = m->dbg;
        atomic_fetch_add_explicit(&m->invalid_frees, 1, memory_order_relaxed);
        lle_site_t here = {0};
        if (site) here = *site;
        else here.pc = pc;
        char hs[160], as[160], fs[160];
        lle__dsite_describe(&here, hs, sizeof hs);
        lle__dsite_describe(&info.alloc_site, as, sizeof as);
        lle__dsite_describe(&info.free_site, fs, sizeof fs);
        (void)d;
        if (r == LLE_ERROR_DOUBLE_FREE)
            lle__report_sites(m, LLE_ERROR_USE_AFTER_FREE, info.pool, n, p, &info.alloc_site,
                              &info.free_site,
                              "realloc of %p at %s: the block (%zu bytes) was freed; allocated "
                              "at %s, freed at %s; nothing changed",
                              p, hs, info.size, as, fs);
        else if (info.start)
            lle__report_sites(m, LLE_ERROR_INVALID_POINTER, info.pool, n, p, &info.alloc_site,
                              NULL,
                              "realloc of %p at %s: an interior pointer of block %p (%zu bytes) "
                              "allocated at %s; nothing changed",
                              p, hs, info.start, info.size, as);
        else
            lle__report_sites(m, r, s->pool, n, p, NULL, NULL,
                              "realloc of %p at %s: not a live block of this manager; nothing "
                              "changed",
                              p, hs);
        return NULL;
    }
    if (n == 0) {
        dbg_free(m, s, p, site, pc);
        return NULL;
    }
    /* Always moves, to another debug block (even if the pool's debugging
     * was switched off since): a stale pointer to the old block is caught. */
    void *q = block_alloc(m, info.pool, n, LLE__MIN_ALIGN, site, pc);
    if (!q) q = lle_pool_alloc(m, (lle_memory_pool_type_t)info.pool, n);
    if (!q) return NULL;
    memcpy(q, p, n < info.size ? n : info.size);
    dbg_free(m, s, p, site, pc);
    return q;
}

void *lle__dbg_alloc_like(lle_memory_manager_t *m, int pool, size_t n, const lle_site_t *site,
                          const void *pc)
{
    void *q = NULL;
    if (atomic_load_explicit(&m->dbg_mask, memory_order_relaxed) >> pool & 1)
        q = dbg_alloc(m, pool, n, LLE__MIN_ALIGN, site, pc);
    else if (atomic_load_explicit(&m->guard_every[pool], memory_order_relaxed) > 1 &&
             lle__guard_sampled(atomic_load_explicit(&m->guard_every[pool], memory_order_relaxed)))
        q = lle__guard_alloc(m, pool, n, LLE__MIN_ALIGN, site, pc);
    return q ? q : lle_pool_alloc(m, (lle_memory_pool_type_t)pool, n);
}

static void *dbg_sample(lle_memory_manager_t *m, int pool, size_t n, const void *pc)
{
    return lle__guard_alloc(m, pool, n, LLE__MIN_ALIGN, NULL, pc);
}

static const lle__dbg_ops_t ops = {dbg_alloc, dbg_free, dbg_realloc, dbg_query, dbg_sample};

/* ---- for guardpage.c ---------------------------------------------------------------- */

bool lle__dbg_tracks(lle_memory_manager_t *m, int pool)
{
    pthread_mutex_lock(&m->dbg->lock);
    bool on = m->dbg->pools[pool].cfg.track;
    pthread_mutex_unlock(&m->dbg->lock);
    return on;
}

bool lle__dbg_poisons(lle_memory_manager_t *m, int pool)
{
    pthread_mutex_lock(&m->dbg->lock);
    bool on = m->dbg->pools[pool].cfg.poison;
    pthread_mutex_unlock(&m->dbg->lock);
    return on;
}

uint32_t lle__dbg_site_add(lle_memory_manager_t *m, const lle_site_t *site, const void *pc,
                           size_t n)
{
    lle__dbg_t *d = m->dbg;
    pthread_mutex_lock(&d->lock);
    uint32_t id = lle__dsite_intern(m, site, pc, NULL, 0);
    if (id) {
        lle__dsite_t *e = &d->sites[id - 1];
        e->blocks++;
        e->bytes += n;
        e->allocs++;
    }
    pthread_mutex_unlock(&d->lock);
    return id;
}

void lle__dbg_site_sub(lle_memory_manager_t *m, uint32_t id, size_t n)
{
    lle__dbg_t *d = m->dbg;
    if (!id) return;
    pthread_mutex_lock(&d->lock);
    lle__dsite_t *e = &d->sites[id - 1];
    e->blocks--;
    e->bytes -= n;
    pthread_mutex_unlock(&d->lock);
}

lle_recovery_t lle__dbg_strategy(lle_memory_manager_t *m, lle_result_t code)
{
    return strategy(m, code);
}

/* ---- the whole heap ------------------------------------------------------------------- */

static void check_slab(lle_memory_manager_t *m, const lle__slab_t *s, errs_t *x, size_t *found)
{
    lle__dbg_t *d = m->dbg;
    for (uint32_t i = 0; i < s->capacity; i++) {
        if (!slot_seen(s, i)) continue;
        const lle__dhdr_t *h = hdr_of(s, i);
        if (!slot_used(s, i)) {
            /* A freed slot not yet reused: its poison must be intact. */
            if (h->state == LLE_BLOCK_FREED && hdr_ok(d, h) && (h->feat & F_POISON) &&
                user_of(s, i) + h->size <= slot_end(s, i) &&
                verify_freed(m, s, i, h, x) != LLE_SUCCESS)
                (*found)++;
            continue;
        }
        if (!hdr_ok(d, h)) {
            if (h->state == LLE_BLOCK_KEPT) continue;   /* reported when withheld */
            (*found)++;
            lle_site_t none = {0};
            pend(x, LLE_ERROR_CORRUPTION, s->pool, 0, user_of(s, i), none, none,
                 "heap check: the header of the block at %p was overwritten",
                 (void *)user_of(s, i));
            continue;
        }
        if (h->state == LLE_BLOCK_KEPT) continue;
        if (h->state == LLE_BLOCK_QUARANTINED) {
            if (verify_freed(m, s, i, h, x) != LLE_SUCCESS) (*found)++;
            continue;
        }
        const char *bad = guards_bad(d, s, i, h);
        if (bad) {
            (*found)++;
            char as[160];
            describe(d, h->asite, as, sizeof as);
            const char *u = user_of(s, i);
            pend(x, LLE_ERROR_CORRUPTION, h->pool, h->size, u, lle__dsite_site(d, h->asite),
                 lle__dsite_site(d, 0),
                 "heap check: block %p (%zu bytes, pool %s) has its guard bytes %s it "
                 "overwritten; allocated at %s",
                 (const void *)u, (size_t)h->size, lle_pool_type_name(h->pool),
                 bad < u ? "before" : "past", as);
        }
    }
}

lle_result_t lle_detect_memory_errors(lle_memory_manager_t *m, size_t *problems)
{
    if (!m) return LLE_ERROR_NULL_PARAMETER;
    if (problems) *problems = 0;
    lle__dbg_t *d = m->dbg;
    if (!d) return LLE_ERROR_INVALID_STATE;
    errs_t x;
    x.n = x.dropped = 0;   /* only the counts: the records are written when used */
    size_t found = 0;
    pthread_mutex_lock(&d->lock);
    for (int p = 0; p < LLE_POOL_COUNT; p++) {
        lle__dpool_t *dp = &d->pools[p];
        for (unsigned c = 0; c < LLE__NCLASSES; c++) {
            for (lle__slab_t *s = dp->bins[c].avail; s; s = s->next) check_slab(m, s, &x, &found);
            for (lle__slab_t *s = dp->bins[c].full; s; s = s->next) check_slab(m, s, &x, &found);
        }
        for (lle__slab_t *s = dp->big; s; s = s->next) check_slab(m, s, &x, &found);
    }
    pthread_mutex_unlock(&d->lock);
    flush(m, &x);
    lle_result_t gfirst;
    size_t guarded = lle__guard_check(m, &gfirst);
    if (problems) *problems = found + guarded;
    return x.n ? x.e[0].code : gfirst;
}

/* ---- configuration --------------------------------------------------------------------- */

static bool debug_on(const lle_debug_config_t *c)
{
    return c->track || c->canary || c->poison || c->quarantine;
}

static lle_result_t debug_check(const lle_debug_config_t *c)
{
    return c->backtrace > LLE__DBG_MAX_FRAMES ? LLE_ERROR_INVALID_ARGUMENT : LLE_SUCCESS;
}

lle_result_t lle_memory_set_debug(lle_memory_manager_t *m, int pool, const lle_debug_config_t *dbg)
{
    if (!m || !dbg) return LLE_ERROR_NULL_PARAMETER;
    if (pool < 0 || pool >= LLE_POOL_COUNT || debug_check(dbg) != LLE_SUCCESS)
        return LLE_ERROR_INVALID_ARGUMENT;
    lle__dbg_t *d = m->dbg;
    errs_t x;
    x.n = x.dropped = 0;   /* only the counts: the records are written when used */
    pthread_mutex_lock(&d->lock);
    lle__dpool_t *dp = &d->pools[pool];
    dp->cfg = *dbg;
    atomic_store_explicit(&dp->backtrace, dbg->backtrace, memory_order_relaxed);
    atomic_store_explicit(&dp->guard, dbg->guard, memory_order_relaxed);
    atomic_store_explicit(&dp->blocks, debug_on(dbg), memory_order_relaxed);
    lle__guard_config(m, pool, dbg);
    quarantine_trim(m, dp, dbg->quarantine, &x);
    /* Debug blocks or guard pages for every allocation: off the fast path.
     * Guard pages for one in N alone: the pool's bins sample. */
    bool on = debug_on(dbg) || dbg->guard == 1;
    if (on) atomic_fetch_or_explicit(&m->dbg_mask, 1u << pool, memory_order_relaxed);
    else atomic_fetch_and_explicit(&m->dbg_mask, ~(1u << pool), memory_order_relaxed);
    atomic_store_explicit(&m->guard_every[pool], !on && dbg->guard > 1 ? dbg->guard : 0,
                          memory_order_relaxed);
    lle__pool_route(m, pool, on);
    pthread_mutex_unlock(&d->lock);
    lle__heap_arm(m, pool);
    flush(m, &x);
    return LLE_SUCCESS;
}

lle_result_t lle_memory_get_debug(lle_memory_manager_t *m, int pool, lle_debug_config_t *out)
{
    if (!m || !out) return LLE_ERROR_NULL_PARAMETER;
    if (pool < 0 || pool >= LLE_POOL_COUNT) return LLE_ERROR_INVALID_ARGUMENT;
    pthread_mutex_lock(&m->dbg->lock);
    *out = m->dbg->pools[pool].cfg;
    pthread_mutex_unlock(&m->dbg->lock);
    return LLE_SUCCESS;
}

static uint64_t fresh_secret(const lle_memory_manager_t *m)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
        v = mix64(lle__now_ns() ^ (uintptr_t)m ^ (uintptr_t)&v);   /* no entropy yet: unkeyed */
    return v;
}

lle_result_t lle__dbg_init(lle_memory_manager_t *m)
{
    lle__dbg_t *d = lle__host_alloc(m, sizeof *d, 64, true);
    if (!d) return LLE_ERROR_OUT_OF_MEMORY;
    memset(d, 0, sizeof *d);
    pthread_mutex_init(&d->lock, NULL);
    d->secret = fresh_secret(m);
    m->dbg = d;
    m->dbg_ops = &ops;
    lle_result_t r = lle__guard_init(m);
    if (r != LLE_SUCCESS) return r;
    for (int p = 0; p < LLE_POOL_COUNT; p++) {
        size_t a = m->pools[p].cfg.alignment;
        d->pools[p].lead = (HDR_BYTES + FRONT + a - 1) & ~(a - 1);
        const lle_debug_config_t *c = &m->cfg.pools[p].debug;
        if (debug_on(c) || c->guard) lle_memory_set_debug(m, p, c);
    }
    return LLE_SUCCESS;
}

static void release_slab(lle_memory_manager_t *m, lle__slab_t *s, size_t *blocks, size_t *bytes)
{
    for (uint32_t i = 0; i < s->capacity; i++)
        if (slot_used(s, i) && hdr_of(s, i)->state == LLE_BLOCK_LIVE) {
            (*blocks)++;
            *bytes += hdr_of(s, i)->size;
        }
    dslab_destroy(m, s);
}

void lle__dbg_release(lle_memory_manager_t *m, size_t *blocks_out, size_t *bytes_out)
{
    lle__dbg_t *d = m->dbg;
    size_t nb = 0, nby = 0, *blocks = &nb, *bytes = &nby;
    if (!d) return;
    pthread_mutex_lock(&d->lock);
    for (int p = 0; p < LLE_POOL_COUNT; p++) {
        lle__dpool_t *dp = &d->pools[p];
        for (unsigned c = 0; c < LLE__NCLASSES; c++) {
            lle__slab_t *lists[2] = {dp->bins[c].avail, dp->bins[c].full};
            for (int k = 0; k < 2; k++)
                for (lle__slab_t *s = lists[k], *next; s; s = next) {
                    next = s->next;
                    release_slab(m, s, blocks, bytes);
                }
            dp->bins[c].avail = dp->bins[c].full = NULL;
        }
        for (lle__slab_t *s = dp->big, *next; s; s = next) {
            next = s->next;
            release_slab(m, s, blocks, bytes);
        }
        dp->big = NULL;
        dp->qhead = dp->qtail = NULL;
        dp->qbytes = dp->qblocks = 0;
    }
    pthread_mutex_unlock(&d->lock);
    lle__guard_release(m, blocks, bytes);
    if (blocks_out) *blocks_out += nb;
    if (bytes_out) *bytes_out += nby;
}

void lle__dbg_fini(lle_memory_manager_t *m)
{
    lle__dbg_t *d = m->dbg;
    if (!d) return;
    lle__guard_fini(m);
    lle__dsite_free_all(m);
    pthread_mutex_destroy(&d->lock);
    lle__host_free(m, d, sizeof *d, true);
    m->dbg = NULL;
}

size_t lle__dbg_tracked_live(lle_memory_manager_t *m)
{
    lle__dbg_t *d = m->dbg;
    size_t n = 0;
    if (!d) return 0;
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < d->nsites; i++) n += d->sites[i].blocks;
    pthread_mutex_unlock(&d->lock);
    return n;
}

void lle__dbg_pool_stats(lle_memory_manager_t *m, int pool, lle__dbg_pool_stats_t *out)
{
    memset(out, 0, sizeof *out);
    lle__dbg_t *d = m->dbg;
    if (!d || pool < 0 || pool >= LLE_POOL_COUNT) return;
    pthread_mutex_lock(&d->lock);
    const lle__dpool_t *dp = &d->pools[pool];
    out->allocs = dp->allocs;
    out->frees = dp->frees;
    out->requested = dp->requested;
    out->live_blocks = dp->live_blocks;
    out->live_bytes = dp->live_bytes;
    out->quarantined_blocks = dp->qblocks;
    out->quarantined_bytes = dp->qbytes;
    out->kept = dp->kept_blocks;
    pthread_mutex_unlock(&d->lock);
    lle__guard_pool_stats(m, pool, out);
    pthread_mutex_lock(&m->pools[pool].lock);
    out->slab_bytes = m->pools[pool].debug_bytes;
    pthread_mutex_unlock(&m->pools[pool].lock);
}
