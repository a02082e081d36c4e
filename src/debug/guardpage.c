/*
 * guardpage.c - blocks on guard pages, and the fault handler that names
 * them.
 *
 * A guard-page block lives in a *slot* of a *region*: memory this file maps
 * itself (never the host's), registered in the page map as a slab of kind
 * LLE__SLAB_GUARD whose aux is the region.  Layout of a region:
 *
 *   | guard | slot 0 data | guard | slot 1 data | guard | ... | guard ... |
 *
 * Small regions have 64 slots of one data page (blocks that fit a page);
 * a larger block gets a region of one slot of as many pages as it needs.
 * Every page outside a live slot's data is inaccessible.  The block is
 * placed against the guard page after its data (or, with guard_start,
 * against the one before); the rest of its data pages holds guard bytes
 * (debug.c's keyed pattern), checked on free and by the heap check.
 *
 * Free: the slot's pages become inaccessible (they keep their memory) and
 * the slot joins a FIFO of freed slots.  Past GUARD_KEEP freed slots the
 * oldest is reusable (small) or unmapped (large), so a use after free
 * faults for the next 256 frees of guard-page blocks at least.  The memory
 * of small slots stays mapped until the manager goes: at most a page for
 * each of the most guard-page blocks ever live at once, plus 256.  A slot's record (size, place, sites,
 * thread, times) lives outside the mapping, in the region's descriptor.
 *
 * The fault handler finds a faulting address in a process-wide registry of
 * regions (an array of atomic pointers, read without a lock), works out
 * which block it was and how (overflow, underflow, use after free, write
 * to a read-only block), formats the message with async-signal-safe code
 * only (no stdio, no dladdr: sites are given as file:line or as an
 * address) and hands the record to the manager's error channel
 * (lle__report_fault).  Then it restores the handler it replaced and
 * returns: the access faults again and the previous handler, or the
 * default action, takes it.  A fault outside every region goes straight to
 * the previous handler.
 *
 * Locks: g->lock guards the regions and slots of one manager; it is taken
 * with no debug lock held (sites are counted, under dbg->site_lock, before
 * or after it) and before m->map_lock.  reg_lock (process-wide) guards registry insertion
 * and the installation of the handler.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "debug/debug_internal.h"
#include "pool/pool_internal.h"
#include "sanitizer.h"

#define SMALL_SLOTS 64
#define GUARD_KEEP 256                     /* freed slots kept inaccessible */
#define GUARD_MAX ((size_t)64 << 20)       /* the largest guard-page block */
#define REG_MAX 4096                       /* regions in the process */

enum { S_NEVER = 0, S_LIVE = 1, S_FREED = 2, S_KEPT = 3 };

typedef struct gslot {
    struct gregion *r;
    struct gslot   *qnext;      /* FIFO of freed slots, or the reuse list */
    uint32_t        idx;
    uint32_t        state;      /* S_* */
    uint8_t         pool, at_start, access, track;
    uint8_t         open;       /* pages accessible (live, or freed with poison) */
    uint8_t         poisoned;   /* freed with poison: verify before reuse */
    uint32_t        asid;       /* site id of the totals (0: none) */
    size_t          size;       /* bytes asked for */
    size_t          off;        /* block = slot data + off */
    lle_site_t      as, fs;
    unsigned long   thread;
    uint64_t        time_ns, free_ns;
} gslot_t;

typedef struct gregion {
    lle_memory_manager_t *m;
    lle__slab_t          *slab;
    char                 *map;        /* the whole mapping */
    size_t                map_bytes;
    char                 *data;       /* slot 0's data */
    size_t                stride;     /* slot data + one guard page */
    size_t                span;       /* slot data bytes */
    uint32_t              nslots, fresh;   /* slots; the next never used */
    int                   reg;        /* index in the registry */
    struct gregion       *next, *prev;
    gslot_t               slots[];
} gregion_t;

typedef struct gpool {
    size_t   live_blocks, live_bytes;
    uint64_t allocs, frees, requested;
} gpool_t;

struct lle__guard {
    pthread_mutex_t lock;
    gregion_t      *regions;        /* every region of the manager */
    gregion_t      *cur;            /* a small region with never-used slots */
    gslot_t        *qhead, *qtail;  /* freed slots, oldest first */
    size_t          qlen;
    gslot_t        *reuse;          /* small slots past the FIFO, inaccessible */
    size_t          mapped;         /* bytes of address space in regions */
    gpool_t         pools[LLE_POOL_COUNT];
    _Atomic unsigned char start[LLE_POOL_COUNT];   /* cfg.guard_start */
    _Atomic unsigned char fault[LLE_POOL_COUNT];   /* freed blocks fault (else poison) */
};

/* ---- the process-wide registry and the handler ---------------------------- */

static _Atomic(gregion_t *) reg[REG_MAX];
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction old_segv, old_bus;
static bool installed;
static _Atomic int reporting;   /* one report per process: the first fault */

static void on_fault(int sig, siginfo_t *si, void *uctx);

static bool reg_add(gregion_t *r)
{
    bool ok = false;
    pthread_mutex_lock(&reg_lock);
    if (!installed) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_fault;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        installed = sigaction(SIGSEGV, &sa, &old_segv) == 0 &&
                    sigaction(SIGBUS, &sa, &old_bus) == 0;
    }
    for (int i = 0; i < REG_MAX && !ok; i++)
        if (!atomic_load_explicit(&reg[i], memory_order_relaxed)) {
            r->reg = i;
            atomic_store_explicit(&reg[i], r, memory_order_release);
            ok = true;
        }
    pthread_mutex_unlock(&reg_lock);
    return ok;
}

static void reg_del(gregion_t *r)
{
    atomic_store_explicit(&reg[r->reg], NULL, memory_order_release);
}

/* Async-signal-safe text. */
typedef struct sfmt {
    char  *p, *end;
} sfmt_t;

static void s_str(sfmt_t *f, const char *s)
{
    while (s && *s && f->p < f->end) *f->p++ = *s++;
}

static void s_num(sfmt_t *f, unsigned long long v, unsigned base)
{
    char t[24];
    int n = 0;
    do {
        t[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (base == 16) s_str(f, "0x");
    while (n && f->p < f->end) *f->p++ = t[--n];
}

static void s_site(sfmt_t *f, const lle_site_t *s)
{
    if (s->file) {
        s_str(f, s->file);
        s_str(f, ":");
        s_num(f, (unsigned long long)s->line, 10);
        if (s->func) {
            s_str(f, " (");
            s_str(f, s->func);
            s_str(f, ")");
        }
    } else if (s->pc) {
        s_str(f, "pc ");
        s_num(f, (uintptr_t)s->pc, 16);
    } else {
        s_str(f, "an unknown site");
    }
}

/* Whether the fault was a write, when the machine tells (x86-64). */
static int fault_write(const void *uctx)
{
#if defined(__x86_64__) && defined(REG_ERR)
    const ucontext_t *uc = uctx;
    return (uc->uc_mcontext.gregs[REG_ERR] & 2) ? 1 : 0;
#else
    (void)uctx;
    return -1;
#endif
}

static gregion_t *reg_find(const char *a)
{
    for (int i = 0; i < REG_MAX; i++) {
        gregion_t *r = atomic_load_explicit(&reg[i], memory_order_acquire);
        if (r && a >= r->map && a < r->map + r->map_bytes) return r;
    }
    return NULL;
}

static char *slot_data(const gregion_t *r, uint32_t i)
{
    return r->data + (size_t)i * r->stride;
}

/* Describe a fault at a in region r; false when no block can be named. */
static bool describe_fault(gregion_t *r, const char *a, int wr, lle_memory_error_t *e,
                           sfmt_t *f)
{
    const gslot_t *g = NULL;
    const char *how = NULL;
    if (a >= r->data) {
        size_t k = (size_t)(a - r->data) / r->stride;
        size_t within = (size_t)(a - r->data) % r->stride;
        if (k >= r->nslots) {
            k = r->nslots - 1;
            within = r->stride;   /* past the last slot: its guard page */
        }
        const gslot_t *here = &r->slots[k];
        if (within < r->span) {   /* in a slot's data pages */
            if (here->state == S_LIVE) {
                g = here;
                how = "ro";
            } else if (here->state != S_NEVER) {
                g = here;
                how = "uaf";
            }
        } else {                  /* the guard page after slot k */
            const gslot_t *next = k + 1 < r->nslots ? &r->slots[k + 1] : NULL;
            if (here->state == S_LIVE && !here->at_start) g = here, how = "over";
            else if (next && next->state == S_LIVE && next->at_start) g = next, how = "under";
            else if (here->state == S_LIVE) g = here, how = "over";
            else if (next && next->state == S_LIVE) g = next, how = "under";
            else if (here->state != S_NEVER) g = here, how = "uaf";
        }
    } else if (r->slots[0].state != S_NEVER) {   /* the region's first page */
        g = &r->slots[0];
        how = g->state == S_LIVE ? "under" : "uaf";
    }
    if (!g) return false;
    const char *user = slot_data(r, g->idx) + g->off;
    const char *verb = wr == 1 ? "write" : wr == 0 ? "read" : "access";
    e->pool = g->pool;
    e->size = g->size;
    e->address = user;
    e->alloc_site = g->as;
    if (how[0] == 'u' && how[1] == 'a') {
        e->code = LLE_ERROR_USE_AFTER_FREE;
        e->free_site = g->fs;
        s_str(f, "use after free: ");
    } else if (how[0] == 'r') {
        e->code = LLE_ERROR_ACCESS_DENIED;
        s_str(f, g->access == LLE_ACCESS_READ ? "write to a read-only block: "
                                              : "access to a no-access block: ");
    } else {
        e->code = LLE_ERROR_BOUNDS_VIOLATION;
        s_str(f, how[0] == 'o' ? "heap overflow: " : "heap underflow: ");
    }
    s_str(f, verb);
    s_str(f, " at ");
    s_num(f, (uintptr_t)a, 16);
    s_str(f, ", offset ");
    if (a < user) s_str(f, "-");
    s_num(f, a < user ? (unsigned long long)(user - a) : (unsigned long long)(a - user), 10);
    s_str(f, e->code == LLE_ERROR_USE_AFTER_FREE ? " of freed block " : " of block ");
    s_num(f, (uintptr_t)user, 16);
    s_str(f, " (");
    s_num(f, g->size, 10);
    s_str(f, " bytes, pool ");
    s_str(f, lle_pool_type_name(g->pool));
    s_str(f, ", on guard pages); allocated at ");
    s_site(f, &g->as);
    s_str(f, " by thread ");
    s_num(f, g->thread, 10);
    if (e->code == LLE_ERROR_USE_AFTER_FREE) {
        s_str(f, ", freed at ");
        s_site(f, &g->fs);
    }
    return true;
}

static void chain(int sig, siginfo_t *si, void *uctx, const struct sigaction *old)
{
    if (old->sa_flags & SA_SIGINFO) {
        if (old->sa_sigaction) old->sa_sigaction(sig, si, uctx);
        return;
    }
    if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
        return;
    }
    /* The default action: put it back; the access faults again and dies. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
}

static void on_fault(int sig, siginfo_t *si, void *uctx)
{
    int saved = errno;
    const struct sigaction *old = sig == SIGBUS ? &old_bus : &old_segv;
    gregion_t *r = reg_find(si->si_addr);
    if (r && atomic_exchange_explicit(&reporting, 1, memory_order_acq_rel) == 0) {
        char text[256];
        sfmt_t f = {text, text + sizeof text - 1};
        lle_memory_error_t e;
        memset(&e, 0, sizeof e);
        if (describe_fault(r, si->si_addr, fault_write(uctx), &e, &f)) {
            *f.p = 0;
            e.message = text;
            lle__report_fault(r->m, &e);
            /* Reported: the previous handler (or the default action) takes
             * the signal when the access faults again. */
            sigaction(sig, old, NULL);
            errno = saved;
            return;
        }
    }
    chain(sig, si, uctx, old);
    errno = saved;
}

/* ---- regions ------------------------------------------------------------------ */

static void region_free(lle_memory_manager_t *m, lle__guard_t *g, gregion_t *r)
{
    reg_del(r);
    lle__slab_unwrap(m, r->slab, r->map);
    lle__os_release(r->map, r->map_bytes);
    g->mapped -= r->map_bytes;
    if (r->prev) r->prev->next = r->next;
    else g->regions = r->next;
    if (r->next) r->next->prev = r->prev;
    if (g->cur == r) g->cur = NULL;
    lle__host_free(m, r, sizeof *r + r->nslots * sizeof(gslot_t), true);
}

/* A region of `nslots` slots of `pages` data pages each (g->lock held). */
static gregion_t *region_new(lle_memory_manager_t *m, lle__guard_t *g, int pool, uint32_t nslots,
                             size_t pages)
{
    size_t stride = (pages + 1) * LLE__PAGE;
    size_t bytes = (LLE__PAGE + nslots * stride + LLE__GRANULE - 1) & ~(LLE__GRANULE - 1);
    if (stride > UINT32_MAX) return NULL;
    size_t dbytes = sizeof(gregion_t) + nslots * sizeof(gslot_t);
    gregion_t *r = lle__host_alloc(m, dbytes, 64, true);
    if (!r) return NULL;
    memset(r, 0, dbytes);
    r->map = lle__os_reserve(bytes, LLE__GRANULE);
    if (!r->map) goto fail;
    r->m = m;
    r->map_bytes = bytes;
    r->data = r->map + LLE__PAGE;
    r->stride = stride;
    r->span = pages * LLE__PAGE;
    r->nslots = nslots;
    for (uint32_t i = 0; i < nslots; i++) {
        r->slots[i].r = r;
        r->slots[i].idx = i;
    }
    r->slab = lle__slab_wrap(m, pool, r->map, bytes, LLE__SLAB_GUARD);
    if (!r->slab) goto fail_map;
    r->slab->start = r->data;
    r->slab->bsize = (uint32_t)stride;
    r->slab->magic = lle__slab_magic((uint32_t)stride);
    r->slab->capacity = nslots;
    r->slab->aux = r;
    if (!reg_add(r)) {
        lle__slab_unwrap(m, r->slab, r->map);
        goto fail_map;
    }
    r->next = g->regions;
    if (g->regions) g->regions->prev = r;
    g->regions = r;
    g->mapped += bytes;
    return r;
fail_map:
    lle__os_release(r->map, bytes);
fail:
    lle__host_free(m, r, dbytes, true);
    return NULL;
}

/* A slot for `pages` data pages, made accessible (g->lock held). */
static gslot_t *slot_get(lle_memory_manager_t *m, lle__guard_t *g, int pool, size_t pages)
{
    gslot_t *s = NULL;
    if (pages == 1) {
        if (g->reuse) {
            s = g->reuse;
            g->reuse = s->qnext;
        } else {
            if (!g->cur || g->cur->fresh == g->cur->nslots) {
                g->cur = NULL;
                for (gregion_t *r = g->regions; r; r = r->next)
                    if (r->span == LLE__PAGE && r->nslots > 1 && r->fresh < r->nslots) g->cur = r;
                if (!g->cur) g->cur = region_new(m, g, pool, SMALL_SLOTS, 1);
                if (!g->cur) return NULL;
            }
            s = &g->cur->slots[g->cur->fresh++];
        }
    } else {
        gregion_t *r = region_new(m, g, pool, 1, pages);
        if (!r) return NULL;
        r->fresh = 1;
        s = &r->slots[0];
    }
    if (!s->open &&
        !lle__os_protect(slot_data(s->r, s->idx), s->r->span, LLE_ACCESS_READ_WRITE)) {
        if (pages == 1) {   /* back to the reuse list: still inaccessible */
            s->qnext = g->reuse;
            g->reuse = s;
        } else {
            region_free(m, g, s->r);
        }
        return NULL;
    }
    s->qnext = NULL;
    s->open = 1;
    return s;
}

/* ---- allocation and free ----------------------------------------------------- */

static uint64_t slot_key(const lle__dbg_t *d, const gslot_t *s)
{
    return lle__dbg_key(d, slot_data(s->r, s->idx));
}

/* First changed guard byte around the block of slot s, or NULL. */
static const char *slack_bad(const lle__dbg_t *d, const gslot_t *s)
{
    char *data = slot_data(s->r, s->idx), *user = data + s->off;
    uint64_t key = slot_key(d, s);
    const char *bad = lle__gbytes_find(key, data, user);
    return bad ? bad : lle__gbytes_find(key, user + s->size, data + s->r->span);
}

/* A freed slot left open with poison: the first byte changed since its
 * free (poison over the block, guard bytes around it), or NULL. */
static const char *freed_bad(const lle__dbg_t *d, const gslot_t *s, lle_result_t *code)
{
    const char *user = slot_data(s->r, s->idx) + s->off;
    for (size_t i = 0; i < s->size; i++)
        if ((unsigned char)user[i] != LLE_POISON_FREED) {
            *code = LLE_ERROR_USE_AFTER_FREE;
            return user + i;
        }
    *code = LLE_ERROR_CORRUPTION;
    return slack_bad(d, s);
}

/* What a reused slot's check found, reported once g->lock is released. */
typedef struct stale {
    lle_result_t code;
    const char  *user;
    long         off;
    size_t       size;
    int          pool;
    lle_site_t   as, fs;
} stale_t;

static void stale_report(lle_memory_manager_t *m, const stale_t *x, const char *when)
{
    char as[160], fs[160];
    lle__site_describe(&x->as, as, sizeof as);
    lle__site_describe(&x->fs, fs, sizeof fs);
    lle__report_sites(m, x->code, x->pool, x->size, x->user, &x->as, &x->fs,
                      "%s: %s of freed guard-page block %p (%zu bytes, pool %s): byte %ld "
                      "changed after it was freed; allocated at %s, freed at %s",
                      when, x->code == LLE_ERROR_USE_AFTER_FREE ? "write after free"
                                                                 : "guard bytes overwritten",
                      (const void *)x->user, x->size, lle_pool_type_name(x->pool), x->off, as,
                      fs);
}

/* Check freed slot s (open with poison) into *x; false when intact. */
static bool stale_check(const lle__dbg_t *d, const gslot_t *s, stale_t *x)
{
    lle_result_t code;
    const char *bad = freed_bad(d, s, &code);
    if (!bad) return false;
    x->code = code;
    x->user = slot_data(s->r, s->idx) + s->off;
    x->off = (long)(bad - x->user);
    x->size = s->size;
    x->pool = s->pool;
    x->as = s->as;
    x->fs = s->fs;
    return true;
}

void *lle__guard_alloc(lle_memory_manager_t *m, int pool, size_t n, size_t align,
                       const lle_site_t *site, const void *pc)
{
    lle__dbg_t *d = m->dbg;
    lle__guard_t *g = d->guard;
    if (pool < 0 || pool >= LLE_POOL_COUNT || n > GUARD_MAX || align > LLE__PAGE) return NULL;
    if (n == 0) n = 1;
    if (align < m->pools[pool].cfg.alignment) align = m->pools[pool].cfg.alignment;
    if (align < LLE__MIN_ALIGN) align = LLE__MIN_ALIGN;
    size_t need = (n + align - 1) & ~(align - 1);
    size_t pages = (need + LLE__PAGE - 1) / LLE__PAGE;
    if (!lle__pool_debug_reserve(m, pool, pages * LLE__PAGE)) return NULL;
    bool track = lle__dbg_tracks(m, pool);
    uint32_t asid = lle__dbg_site_add(m, site, pc, n);
    pthread_mutex_lock(&g->lock);
    gslot_t *s = slot_get(m, g, pool, pages);
    if (!s) {
        pthread_mutex_unlock(&g->lock);
        lle__dbg_site_sub(m, asid, n);
        lle__pool_debug_release(m, pool, pages * LLE__PAGE);
        return NULL;
    }
    stale_t stale;
    bool was_bad = s->poisoned && stale_check(d, s, &stale);
    s->poisoned = 0;
    bool at_start = atomic_load_explicit(&g->start[pool], memory_order_relaxed);
    s->state = S_LIVE;
    s->pool = (uint8_t)pool;
    s->at_start = at_start;
    s->access = LLE_ACCESS_READ_WRITE;
    s->track = track;
    s->asid = asid;
    s->size = n;
    s->off = at_start ? 0 : s->r->span - need;
    memset(&s->as, 0, sizeof s->as);
    memset(&s->fs, 0, sizeof s->fs);
    if (site) s->as = *site;
    else s->as.pc = pc;
    s->thread = lle__thread_id();
    s->time_ns = lle__now_coarse_ns();
    s->free_ns = 0;
    char *data = slot_data(s->r, s->idx), *user = data + s->off;
    lle__asan_unpoison(data, s->r->span);   /* a slot reused after an arena poisoned it */
    uint64_t key = slot_key(d, s);
    lle__gbytes_fill(key, data, user);
    lle__gbytes_fill(key, user + n, data + s->r->span);
    if (lle__dbg_poisons(m, pool)) memset(user, LLE_POISON_FRESH, n);
    gpool_t *gp = &g->pools[pool];
    gp->live_blocks++;
    gp->live_bytes += n;
    gp->allocs++;
    gp->requested += n;
    lle_site_t here = s->as;
    pthread_mutex_unlock(&g->lock);
    if (was_bad) stale_report(m, &stale, "slot reused");
    if (track) lle__audit(m, LLE_AUDIT_ALLOC, LLE_SUCCESS, user, n, pool, &here);
    return user;
}

/* Slot of p in region slab sl, or NULL (p before the first slot or past
 * the last). */
static gslot_t *slot_at(lle__slab_t *sl, const void *p)
{
    gregion_t *r = sl->aux;
    if ((const char *)p < r->data) return NULL;
    size_t k = (size_t)((const char *)p - r->data) / r->stride;
    return k < r->nslots ? &r->slots[k] : NULL;
}

/* Into the FIFO of freed slots; the oldest past GUARD_KEEP become reusable
 * or are unmapped (g->lock held). */
static void slot_retire(lle_memory_manager_t *m, lle__guard_t *g, gslot_t *s)
{
    s->qnext = NULL;
    if (g->qtail) g->qtail->qnext = s;
    else g->qhead = s;
    g->qtail = s;
    g->qlen++;
    while (g->qlen > GUARD_KEEP) {
        gslot_t *o = g->qhead;
        g->qhead = o->qnext;
        if (!g->qhead) g->qtail = NULL;
        g->qlen--;
        if (o->r->nslots == 1) {
            region_free(m, g, o->r);
        } else {
            o->qnext = g->reuse;
            g->reuse = o;
        }
    }
}

/* A free or realloc (`op`) of p that is not a live guard-page block's
 * start: reported with the sites known (g->lock held on entry, released). */
static lle_result_t bad_pointer(lle_memory_manager_t *m, lle__guard_t *g, lle__slab_t *sl,
                                gslot_t *s, const void *p, const lle_site_t *here, const char *op)
{
    char hs[160], as[160], fs[160];
    lle__site_describe(here, hs, sizeof hs);
    if (s && p == slot_data(s->r, s->idx) + s->off && (s->state == S_FREED || s->state == S_KEPT)) {
        lle_site_t a = s->as, f = s->fs;
        size_t size = s->size;
        int pool = s->pool;
        pthread_mutex_unlock(&g->lock);
        lle__site_describe(&a, as, sizeof as);
        lle__site_describe(&f, fs, sizeof fs);
        bool is_free = op[0] == 'f';
        atomic_fetch_add_explicit(is_free ? &m->double_frees : &m->invalid_frees, 1,
                                  memory_order_relaxed);
        lle__report_sites(m, is_free ? LLE_ERROR_DOUBLE_FREE : LLE_ERROR_USE_AFTER_FREE, pool,
                          size, p, &a, &f,
                          "%s of %p (%zu bytes, pool %s, on guard pages) at %s: the block was "
                          "already freed; allocated at %s, freed at %s; nothing changed",
                          op, p, size, lle_pool_type_name(pool), hs, as, fs);
        return is_free ? LLE_ERROR_DOUBLE_FREE : LLE_ERROR_USE_AFTER_FREE;
    }
    atomic_fetch_add_explicit(&m->invalid_frees, 1, memory_order_relaxed);
    if (s && s->state == S_LIVE) {
        lle_site_t a = s->as;
        const void *user = slot_data(s->r, s->idx) + s->off;
        size_t size = s->size;
        pthread_mutex_unlock(&g->lock);
        lle__site_describe(&a, as, sizeof as);
        lle__report_sites(m, LLE_ERROR_INVALID_POINTER, sl->pool, size, p, &a, here,
                          "%s of %p at %s: not the start of guard-page block %p (%zu bytes) "
                          "allocated at %s; nothing changed",
                          op, p, hs, user, size, as);
    } else {
        pthread_mutex_unlock(&g->lock);
        lle__report_sites(m, LLE_ERROR_INVALID_POINTER, sl->pool, 0, p, NULL, here,
                          "%s of %p at %s: not a block of this manager (a guard-page region); "
                          "nothing changed",
                          op, p, hs);
    }
    return LLE_ERROR_INVALID_POINTER;
}

lle_result_t lle__guard_free(lle_memory_manager_t *m, lle__slab_t *sl, void *p,
                             const lle_site_t *site, const void *pc)
{
    lle__dbg_t *d = m->dbg;
    lle__guard_t *g = d->guard;
    lle_site_t here = {0};
    if (site) here = *site;
    else here.pc = pc;
    pthread_mutex_lock(&g->lock);
    gslot_t *s = slot_at(sl, p);
    const char *user = s ? slot_data(s->r, s->idx) + s->off : NULL;
    if (!s || s->state != S_LIVE || p != user)
        return bad_pointer(m, g, sl, s, p, &here, "free");
    /* Live: the guard bytes around it (readable even when protected). */
    if (s->access == LLE_ACCESS_NONE)
        lle__os_protect(slot_data(s->r, s->idx), s->r->span, LLE_ACCESS_READ);
    const char *bad = slack_bad(d, s);
    long off = bad ? (bad < user ? (long)(user - bad) : (long)(bad - (user + s->size)) + 1) : 0;
    bool under = bad && bad < user;
    int pool = s->pool;
    size_t size = s->size;
    uint32_t asid = s->asid;
    lle_site_t a = s->as;
    bool track = s->track;
    s->fs = here;
    s->free_ns = lle__now_coarse_ns();
    gpool_t *gp = &g->pools[pool];
    gp->live_blocks--;
    gp->live_bytes -= size;
    gp->frees++;
    size_t span = s->r->span;
    bool keep = bad && lle__dbg_strategy(m, LLE_ERROR_CORRUPTION) == LLE_RECOVER_QUARANTINE;
    if (atomic_load_explicit(&g->fault[pool], memory_order_relaxed)) {
        /* Inaccessible until reused.  The pages keep their memory: giving
         * it back and faulting it in again on reuse would cost two more
         * system calls a block, and a small slot is reused within 256
         * frees anyway. */
        lle__os_protect(slot_data(s->r, s->idx), s->r->span, LLE_ACCESS_NONE);
        s->open = 0;
    } else {
        /* Poison, verified when the slot is reused. */
        if (s->access != LLE_ACCESS_READ_WRITE)
            lle__os_protect(slot_data(s->r, s->idx), s->r->span, LLE_ACCESS_READ_WRITE);
        char *data = slot_data(s->r, s->idx);
        lle__asan_unpoison(data, s->r->span);   /* an arena may have poisoned it */
        memset(data + s->off, LLE_POISON_FREED, size);
        if (bad) {   /* whole again: the overwrite is reported below, once */
            lle__gbytes_fill(slot_key(d, s), data, data + s->off);
            lle__gbytes_fill(slot_key(d, s), data + s->off + size, data + s->r->span);
        }
        s->poisoned = 1;
    }
    s->access = LLE_ACCESS_READ_WRITE;
    if (keep) {
        s->state = S_KEPT;
    } else {
        s->state = S_FREED;
        slot_retire(m, g, s);
    }
    pthread_mutex_unlock(&g->lock);
    lle__pool_debug_release(m, pool, span);
    lle__dbg_site_sub(m, asid, size);
    lle_result_t r = LLE_SUCCESS;
    if (bad) {
        char hs[160], as[160];
        lle__site_describe(&here, hs, sizeof hs);
        lle__site_describe(&a, as, sizeof as);
        lle__report_sites(m, LLE_ERROR_CORRUPTION, pool, size, p, &a, &here,
                          "heap %s of guard-page block %p (%zu bytes, pool %s): the guard byte "
                          "%ld %s was overwritten; allocated at %s, freed at %s",
                          under ? "underflow" : "overflow", p, size, lle_pool_type_name(pool),
                          off, under ? "before the block" : "past its end", as, hs);
        r = LLE_ERROR_CORRUPTION;
    }
    if (track) lle__audit(m, LLE_AUDIT_FREE, r, p, size, pool, &here);
    return r;
}

lle_result_t lle__guard_query(lle_memory_manager_t *m, lle__slab_t *sl, const void *p,
                              lle_block_info_t *out)
{
    lle__guard_t *g = m->dbg->guard;
    lle_result_t r = LLE_ERROR_INVALID_POINTER;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&g->lock);
    gslot_t *s = slot_at(sl, p);
    if (s && (s->state == S_LIVE || s->state == S_FREED || s->state == S_KEPT)) {
        const char *user = slot_data(s->r, s->idx) + s->off;
        if ((const char *)p >= user && (const char *)p < user + (s->size ? s->size : 1)) {
            out->start = user;
            out->size = s->size;
            out->pool = s->pool;
            out->state = s->state == S_LIVE ? LLE_BLOCK_LIVE
                         : s->state == S_KEPT ? LLE_BLOCK_KEPT
                                              : LLE_BLOCK_FREED;
            out->debug = 1;
            out->guarded = 1;
            out->alloc_site = s->as;
            out->free_site = s->fs;
            out->thread = s->thread;
            out->time_ns = s->time_ns;
            r = s->state == S_LIVE ? LLE_SUCCESS : LLE_ERROR_DOUBLE_FREE;
        }
    }
    pthread_mutex_unlock(&g->lock);
    return r;
}

void *lle__guard_realloc(lle_memory_manager_t *m, lle__slab_t *sl, void *p, size_t n,
                         const lle_site_t *site, const void *pc)
{
    lle__guard_t *g = m->dbg->guard;
    lle_site_t here = {0};
    if (site) here = *site;
    else here.pc = pc;
    pthread_mutex_lock(&g->lock);
    gslot_t *s = slot_at(sl, p);
    if (!s || s->state != S_LIVE || (char *)p != slot_data(s->r, s->idx) + s->off) {
        bad_pointer(m, g, sl, s, p, &here, "realloc");
        return NULL;
    }
    int pool = s->pool;
    size_t size = s->size;
    if (s->access == LLE_ACCESS_NONE &&
        lle__os_protect(slot_data(s->r, s->idx), s->r->span, LLE_ACCESS_READ))
        s->access = LLE_ACCESS_READ;   /* to copy it out */
    pthread_mutex_unlock(&g->lock);
    if (n == 0) {
        lle__guard_free(m, sl, p, site, pc);
        return NULL;
    }
    void *q = lle__dbg_alloc_like(m, pool, n, site, pc);
    if (!q) return NULL;
    memcpy(q, p, n < size ? n : size);
    lle__guard_free(m, sl, p, site, pc);
    return q;
}

/* ---- checks and statistics ------------------------------------------------------ */

size_t lle__guard_check(lle_memory_manager_t *m, lle_result_t *first)
{
    lle__dbg_t *d = m->dbg;
    lle__guard_t *g = d->guard;
    enum { MAXR = 4 };
    stale_t found[MAXR];
    size_t n = 0;
    pthread_mutex_lock(&g->lock);
    for (gregion_t *r = g->regions; r; r = r->next)
        for (uint32_t i = 0; i < r->fresh; i++) {
            gslot_t *s = &r->slots[i];
            stale_t x;
            if (s->state == S_LIVE && s->access != LLE_ACCESS_NONE) {
                const char *user = slot_data(r, i) + s->off;
                const char *bad = slack_bad(d, s);
                if (!bad) continue;
                x.code = LLE_ERROR_CORRUPTION;
                x.user = user;
                x.off = (long)(bad - user);
                x.size = s->size;
                x.pool = s->pool;
                x.as = s->as;
                memset(&x.fs, 0, sizeof x.fs);
            } else if (!(s->poisoned && stale_check(d, s, &x))) {
                continue;
            }
            if (n < MAXR) found[n] = x;
            n++;
        }
    pthread_mutex_unlock(&g->lock);
    *first = n ? found[0].code : LLE_SUCCESS;
    for (size_t k = 0; k < n && k < MAXR; k++) {
        const stale_t *x = &found[k];
        if (x->fs.file || x->fs.pc) {
            stale_report(m, x, "heap check");
            continue;
        }
        char as[160];
        lle__site_describe(&x->as, as, sizeof as);
        lle__report_sites(m, LLE_ERROR_CORRUPTION, x->pool, x->size, x->user, &x->as, NULL,
                          "heap check: guard-page block %p (%zu bytes, pool %s) has its guard "
                          "bytes %s it overwritten; allocated at %s",
                          (const void *)x->user, x->size, lle_pool_type_name(x->pool),
                          x->off < 0 ? "before" : "past", as);
    }
    return n;
}

void lle__guard_pool_stats(lle_memory_manager_t *m, int pool, lle__dbg_pool_stats_t *out)
{
    lle__guard_t *g = m->dbg->guard;
    pthread_mutex_lock(&g->lock);
    const gpool_t *gp = &g->pools[pool];
    out->allocs += gp->allocs;
    out->frees += gp->frees;
    out->requested += gp->requested;
    out->live_blocks += gp->live_blocks;
    out->live_bytes += gp->live_bytes;
    out->guarded_blocks = gp->live_blocks;
    pthread_mutex_unlock(&g->lock);
}

void lle__guard_config(lle_memory_manager_t *m, int pool, const lle_debug_config_t *c)
{
    lle__guard_t *g = m->dbg->guard;
    bool fault = c->guard_freed == LLE_GUARD_FREED_FAULT ||
                 (c->guard_freed != LLE_GUARD_FREED_POISON && c->guard <= 1);
    atomic_store_explicit(&g->start[pool], c->guard_start, memory_order_relaxed);
    atomic_store_explicit(&g->fault[pool], fault, memory_order_relaxed);
}

/* Whether this allocation of a pool sampling one in `every` is the one
 * (a countdown per thread, intervals drawn as the bins do). */
bool lle__guard_sampled(unsigned every)
{
    static _Thread_local uint64_t left, x;
    if (left == 0) {
        uint64_t v = x ? x : ((uintptr_t)&left >> 3) | 1;
        v ^= v << 13;
        v ^= v >> 7;
        v ^= v << 17;
        x = v;
        left = 1 + v % (2 * (uint64_t)every - 1);
    }
    return --left == 0;
}

/* ---- set up and tear down ---------------------------------------------------------- */

lle_result_t lle__guard_init(lle_memory_manager_t *m)
{
    lle__guard_t *g = lle__host_alloc(m, sizeof *g, 64, true);
    if (!g) return LLE_ERROR_OUT_OF_MEMORY;
    memset(g, 0, sizeof *g);
    pthread_mutex_init(&g->lock, NULL);
    /* What lle__guard_config gives a pool with guard 0 and guard_freed
     * AUTO: a pool never configured treats its blocks from
     * lle_pool_alloc_guarded as one configured with guard = 0 does. */
    for (int p = 0; p < LLE_POOL_COUNT; p++)
        atomic_store_explicit(&g->fault[p], 1, memory_order_relaxed);
    m->dbg->guard = g;
    return LLE_SUCCESS;
}

void lle__guard_release(lle_memory_manager_t *m, size_t *blocks, size_t *bytes)
{
    lle__guard_t *g = m->dbg ? m->dbg->guard : NULL;
    if (!g) return;
    pthread_mutex_lock(&g->lock);
    while (g->regions) {
        gregion_t *r = g->regions;
        for (uint32_t i = 0; i < r->fresh; i++)
            if (r->slots[i].state == S_LIVE) {
                (*blocks)++;
                *bytes += r->slots[i].size;
                lle__pool_debug_release(m, r->slots[i].pool, r->span);
            }
        region_free(m, g, r);
    }
    g->qhead = g->qtail = g->reuse = NULL;
    g->qlen = 0;
    memset(g->pools, 0, sizeof g->pools);
    pthread_mutex_unlock(&g->lock);
}

void lle__guard_fini(lle_memory_manager_t *m)
{
    lle__guard_t *g = m->dbg ? m->dbg->guard : NULL;
    if (!g) return;
    pthread_mutex_destroy(&g->lock);
    lle__host_free(m, g, sizeof *g, true);
    m->dbg->guard = NULL;
}

/* ---- public ---------------------------------------------------------------------------- */

static void *alloc_guarded(lle_memory_manager_t *m, int t, size_t n, const lle_site_t *site,
                           const void *pc)
{
    if (!m) return NULL;
    if ((unsigned)t >= LLE_POOL_COUNT || n > GUARD_MAX) {
        atomic_fetch_add_explicit(&m->failed_allocs, 1, memory_order_relaxed);
        lle__report(m, LLE_ERROR_INVALID_ARGUMENT, t, n, NULL,
                    "guarded allocation of %zu bytes from pool %d: a typed pool and at most "
                    "64 MiB",
                    n, t);
        return NULL;
    }
    void *p = lle__guard_alloc(m, t, n, LLE__MIN_ALIGN, site, pc);
    if (!p) {
        atomic_fetch_add_explicit(&m->failed_allocs, 1, memory_order_relaxed);
        lle__report(m, LLE_ERROR_OUT_OF_MEMORY, t, n, NULL,
                    "guarded allocation of %zu bytes from pool %s: no guard-page slot could "
                    "be mapped (or the pool is at its limit)",
                    n, lle_pool_type_name(t));
    }
    return p;
}

#define CALLER() __builtin_extract_return_addr(__builtin_return_address(0))

void *lle_pool_alloc_guarded(lle_memory_manager_t *m, lle_memory_pool_type_t t, size_t n)
{
    return alloc_guarded(m, (int)t, n, NULL, CALLER());
}

void *lle_pool_alloc_guarded_at(lle_memory_manager_t *m, lle_memory_pool_type_t t, size_t n,
                                const lle_site_t *site)
{
    return alloc_guarded(m, (int)t, n, site, CALLER());
}

/* A refused lle_memory_protect: reported (as a refused free is), returned. */
static LLE__NOINLINE LLE__COLD lle_result_t protect_refused(lle_memory_manager_t *m, void *p,
                                                            lle_result_t code, const char *why)
{
    lle__report(m, code, -1, 0, p, "lle_memory_protect(%p): %s", p, why);
    return code;
}

lle_result_t lle_memory_protect(lle_memory_manager_t *m, void *p, lle_access_t access)
{
    if (!m) return LLE_ERROR_NULL_PARAMETER;
    if (!p) return protect_refused(m, p, LLE_ERROR_NULL_PARAMETER, "no block");
    if (access != LLE_ACCESS_NONE && access != LLE_ACCESS_READ && access != LLE_ACCESS_READ_WRITE)
        return protect_refused(m, p, LLE_ERROR_INVALID_ARGUMENT, "not an access value");
    lle__slab_t *sl = lle__map_get(m, p);
    if (!sl || sl->kind != LLE__SLAB_GUARD) {
        lle_block_info_t info;
        return lle_block_query(m, p, &info) == LLE_SUCCESS && info.start == p
                   ? protect_refused(m, p, LLE_ERROR_INVALID_ARGUMENT,
                                     "the block shares its pages with others (only blocks on "
                                     "guard pages can be protected)")
                   : protect_refused(m, p, LLE_ERROR_INVALID_POINTER,
                                     "not the start of a live block of this manager");
    }
    lle__guard_t *g = m->dbg->guard;
    lle_result_t r = LLE_ERROR_INVALID_POINTER;
    pthread_mutex_lock(&g->lock);
    gslot_t *s = slot_at(sl, p);
    if (s && s->state == S_LIVE && (char *)p == slot_data(s->r, s->idx) + s->off) {
        r = LLE_SUCCESS;
        if (!lle__os_protect(slot_data(s->r, s->idx), s->r->span, (int)access))
            r = LLE_ERROR_HOST_FAILURE;
        else
            s->access = (uint8_t)access;
    }
    pthread_mutex_unlock(&g->lock);
    if (r == LLE_ERROR_INVALID_POINTER)
        return protect_refused(m, p, r, "not the start of a live block on guard pages");
    if (r == LLE_ERROR_HOST_FAILURE)
        return protect_refused(m, p, r, "the system refused to change the pages' protection");
    return r;
}
