/*
 * debug.c - debug blocks: guard bytes, poison, quarantine, sites, and the
 * checks of free, realloc and the whole heap.
 *
 * A pool with a debugging feature on serves every allocation here (the
 * manager's dbg_mask sends them off the fast path).  Debug blocks live in
 * slabs of kind LLE__SLAB_DEBUG, registered in the page map like any slab,
 * so a pointer finds its slab in O(1); the pool counts their bytes against
 * its limit.  A slab holds slots of one size class and layout; a block too
 * large for a class, or aligned beyond its pool's alignment, gets a slab
 * of its own.
 *
 * Debug heaps.  Each thread that allocates a debug block gets a debug heap
 * (lle__dheap_t, hung on its lle__heap_t, so it is parked and adopted with
 * it when the thread exits): the debug slabs it allocates from, one
 * quarantine per pool, the pool counters and per-site totals of the blocks
 * of its slabs, and a cache of call-site ids.  A slab belongs to one debug
 * heap for good (slab->dheap).  Everything in a heap and in the slots of
 * its slabs is touched only by whoever holds the heap (dh_take):
 *   - its own thread, allocating or freeing one of its blocks, flags that
 *     it is inside (busy) with no lock and no atomic read-modify-write;
 *   - any other thread - a free of one of its blocks from elsewhere, a
 *     query of one of its blocks, a heap check, a report, statistics, a
 *     change of settings, shutdown - takes the heap's mutex, flags that it
 *     wants the heap and waits for its own thread to be outside (about a
 *     microsecond: see "Holding a debug heap" below).
 * So a block freed by another thread is checked and freed at once, like
 * any other, into the quarantine and slabs of the heap it came from.
 * A pool's quarantine budget holds for each debug heap.
 *
 * Lock order: dbg->lock (settings, the list of heaps), a heap's mutex (or
 * its own thread's flag), dbg->site_lock, then the pool layer's locks.
 * Errors found are gathered and reported once every lock is released (the
 * error callback may allocate).
 *
 * Slot layouts, slots being multiples of 64 bytes from a 64-aligned slab
 * start (lead = the bytes before the block, rounded up to the pool's
 * alignment):
 *
 *   with guard bytes (canary):  | header (32) | front guard (16) | n bytes | back guard ... |
 *   without:                    | header (32) | n bytes | (rest of the slot) |
 *
 * At the pool alignments up to 16 the header and the first bytes of the
 * block share a cache line: the line a program touches first in a block
 * it uses, and the only one a free reads besides the back guard.  The back
 * guard runs to the end of the slot (at least 16 bytes).  Whether a slot
 * is in use (live, quarantined or kept), was ever used, and holds a block
 * freed with poison is kept in the slab's bitmap, outside the blocks: a
 * corrupted header is detected (its check word, a keyed 32-bit hash of
 * the fields that are followed, no longer matches) and reported, never
 * followed.
 *
 * Slots: each bin (pool, layout, class) keeps every slot that is free
 * again on a stack (outside the blocks), so the slot given back last is
 * handed out first, while its memory is in cache; never-used slots come in
 * order from the bin's newest slab.  The quarantine is a ring of header
 * addresses outside the blocks.  Allocation and free have an inline path
 * for the common case (a class slab, nothing to report) and a general one
 * (alloc_general, free_general) for everything else, which checks it all
 * again.
 *
 * Guard bytes: byte at address a is 0x80 | (key >> 8*(a & 7)) & 0x7f with
 * key = a hash of the manager's random secret and the header's address; the
 * high bit is set so that text or zeros written past a block always differ
 * from them.  They depend on the slot only, not on the block in it.
 * Poison: LLE_POISON_FRESH on allocation, LLE_POISON_FREED on free
 * (lle/config.h).  Regions are checked and filled by fixed sequences of
 * 16-byte accesses, not loops over their bytes, up to 64 bytes; longer ones
 * are filled by the system's memset and checked 64 bytes a step (AVX2
 * where the processor has it, else memcmp against a page of freed poison).
 *
 * When a freed block's poison and guard bytes are verified:
 *   - when its slot is handed out again, always: the check precedes the
 *     fill of the fresh poison over the same bytes, in one pass, and guard
 *     bytes found intact are not written again.  An allocation reads a
 *     slot only when its bitmap says it holds a poisoned freed block;
 *   - a poisoned block of a class slab that leaves the quarantine (after
 *     the pool's budget of other frees) has only its header checked then:
 *     it goes back to its bin with the rest still to be verified, and onto
 *     the pool's pending ring.  Most such slots are handed out again soon
 *     (the bins are stacks), and verified then, once: nothing can have
 *     happened between the two checks they would otherwise get.  The
 *     others are verified when the pending ring, oldest first, passes half
 *     the quarantine budget (and again when handed out, since the program
 *     ran in between), or when their slab goes back to the host.  So a
 *     write after free is reported, with its sites, at the latest after
 *     1.5 times the budget of frees, or at the reuse before that;
 *   - any other block (no poison: its guard bytes; a slab of one block,
 *     never reused) as it leaves the quarantine;
 *   - by a heap check.
 * A header found written over in any of these is reported and its slot
 * withheld (its size is not to be trusted).
 *
 * Times are the kernel tick's clock (CLOCK_MONOTONIC_COARSE: a few
 * milliseconds of resolution), read once per allocation.
 */
#include <execinfo.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "debug/debug_internal.h"
#include "pool/pool_internal.h"
#include "sanitizer.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_WIDE 1   /* AVX2 passes over long poison, chosen at run time */
#endif

#define HDR_BYTES 32
#define GUARD 16  /* front guard bytes, and the fewest back guard bytes */
#define LINE 64   /* slot sizes are multiples of a cache line */

/* Slot layouts: a block with guard bytes (F_CANARY) has GUARD of them
 * before it and at least GUARD after it; a block without has none, its
 * header right before it. */
enum { L_BARE = 0, L_GUARDED = 1 };
static inline size_t front_of_layout(int g)
{
    return g == L_GUARDED ? GUARD : 0;
}

enum { F_CANARY = 1, F_POISON = 2, F_TRACK = 4 };

/* 32 bytes, right before the front guard or the block (see the layouts
 * above).  The fields the check word covers come first, in three words
 * (hdr_check); state and fsite change while it stays. */
typedef struct lle__dhdr {
    uint64_t time_ns;
    uint32_t asite;
    uint32_t size;
    uint32_t thread;     /* kernel thread id */
    uint8_t  pool, feat;
    uint8_t  state;      /* lle_block_state_t (not covered) */
    uint8_t  reserved;   /* 0 */
    uint32_t fsite;      /* (not covered) */
    uint32_t check;      /* keyed hash of time, sites, size, thread, pool, features */
} lle__dhdr_t;
_Static_assert(sizeof(lle__dhdr_t) == HDR_BYTES, "the header is 32 bytes");
_Static_assert(offsetof(lle__dhdr_t, asite) == 8 && offsetof(lle__dhdr_t, size) == 12 &&
                   offsetof(lle__dhdr_t, thread) == 16 && offsetof(lle__dhdr_t, state) == 22,
               "hdr_check reads the covered fields as three words");

/* ---- errors found under a heap's flag ------------------------------------------- */

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
static LLE__NOINLINE void flush_all(lle_memory_manager_t *m, const errs_t *x)
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

static inline void flush(lle_memory_manager_t *m, const errs_t *x)
{
    if (lle_unlikely(x->n | x->dropped)) flush_all(m, x);
}

static lle_recovery_t strategy(lle_memory_manager_t *m, lle_result_t code)
{
    return (lle_recovery_t)atomic_load_explicit(&m->recovery[code], memory_order_relaxed);
}

/* ---- debug heaps ----------------------------------------------------------------- */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/*
 * Holding a debug heap.  Its own thread announces itself in `busy` and
 * then reads `want`; any other thread takes the heap's mutex, sets `want`
 * and then waits for `busy` to drop.  Each side writes its flag before it
 * reads the other's, so one of them sees the other (Dekker's
 * exclusion).  The own thread's side is the one that runs for every
 * allocation and free: where the kernel offers membarrier(2), its store
 * and load need no barrier instruction (a full barrier would also wait
 * for the program's own pending cache misses), because the other side
 * forces a barrier on every running thread of the process
 * (MEMBARRIER_CMD_PRIVATE_EXPEDITED, about a microsecond) between setting
 * `want` and reading `busy`.  Without it, both sides use sequentially
 * consistent atomics.
 */
enum { MB_UNKNOWN = 0, MB_ON, MB_OFF };
static _Atomic int mb_mode;

static void mb_setup(void)
{
    long r = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
    atomic_store_explicit(&mb_mode, r == 0 ? MB_ON : MB_OFF, memory_order_relaxed);
}

/* How the calling thread holds a debug heap. */
typedef enum { HOLD_OWN, HOLD_OWN_LOCKED, HOLD_OTHER } hold_t;

/* The own thread found another one wanting the heap: let it finish, then
 * hold the heap by its mutex. */
static LLE__NOINLINE hold_t dh_own_wait(lle__dheap_t *dh)
{
    atomic_store_explicit(&dh->busy, 0, memory_order_release);
    pthread_mutex_lock(&dh->lock);
    return HOLD_OWN_LOCKED;
}

/* dh's own thread takes it. */
static inline hold_t dh_own(lle__dheap_t *dh)
{
    if (lle_likely(atomic_load_explicit(&mb_mode, memory_order_relaxed) == MB_ON)) {
        atomic_store_explicit(&dh->busy, 1, memory_order_relaxed);
        atomic_signal_fence(memory_order_seq_cst);
        if (lle_likely(!atomic_load_explicit(&dh->want, memory_order_acquire))) return HOLD_OWN;
    } else {
        atomic_store_explicit(&dh->busy, 1, memory_order_seq_cst);
        if (lle_likely(!atomic_load_explicit(&dh->want, memory_order_seq_cst))) return HOLD_OWN;
    }
    return dh_own_wait(dh);
}

/* Any other thread takes dh. */
static LLE__NOINLINE hold_t dh_other(lle__dheap_t *dh)
{
    pthread_mutex_lock(&dh->lock);
    atomic_store_explicit(&dh->want, 1, memory_order_seq_cst);
    /* Registered, so the expedited barrier cannot fail; the global one
     * (slow, no registration) stands in if it ever did.  Without either
     * nothing would exclude the own thread: no way to go on. */
    if (atomic_load_explicit(&mb_mode, memory_order_relaxed) == MB_ON &&
        syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0 &&
        syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) != 0)
        abort();
    for (unsigned k = 0; atomic_load_explicit(&dh->busy, memory_order_seq_cst); k++) {
        if (k < 64) cpu_relax();
        else sched_yield();   /* the own thread is descheduled inside an operation */
    }
    return HOLD_OTHER;
}

/* Whether dh is the calling thread's debug heap. */
static inline bool dh_mine(const lle_memory_manager_t *m, const lle__dheap_t *dh)
{
    return lle__tls.id == m->id && lle__tls.h->dbg == dh;
}

static inline hold_t dh_take(const lle_memory_manager_t *m, lle__dheap_t *dh)
{
    return lle_likely(dh_mine(m, dh)) ? dh_own(dh) : dh_other(dh);
}

static inline void dh_drop(lle__dheap_t *dh, hold_t how)
{
    if (lle_likely(how == HOLD_OWN)) {
        atomic_store_explicit(&dh->busy, 0, memory_order_release);
    } else {
        if (how == HOLD_OTHER) atomic_store_explicit(&dh->want, 0, memory_order_release);
        pthread_mutex_unlock(&dh->lock);
    }
}

/* The calling thread's kernel id (lle__thread_id), kept where it is one
 * load away. */
static _Thread_local uint32_t dbg_tid __attribute__((tls_model("initial-exec")));

/* The debug heap of the calling thread, made on first use; NULL when the
 * manager is shut down (no heap may be made then: the hierarchy reports
 * it) or the host has no memory. */
static LLE__NOINLINE lle__dheap_t *dheap_get(lle_memory_manager_t *m)
{
    if (atomic_load_explicit(&m->state, memory_order_acquire) == LLE_MEMORY_STATE_SHUTDOWN)
        return NULL;
    lle__heap_t *hp = lle__heap_get(m);
    if (!hp) return NULL;
    if (hp->dbg) return hp->dbg;
    lle__dbg_t *d = m->dbg;
    lle__dheap_t *dh = lle__host_alloc(m, sizeof *dh, 64, true);
    if (!dh) return NULL;
    memset(dh, 0, sizeof *dh);
    for (int p = 0; p < LLE_POOL_COUNT; p++)
        for (unsigned k = 0; k < LLE__DLAYOUTS * LLE__NCLASSES; k++)
            dh->pools[p].bins[k / LLE__NCLASSES][k % LLE__NCLASSES].bsize =
                (uint32_t)lle__class_size(k % LLE__NCLASSES);
    atomic_init(&dh->busy, 0);
    atomic_init(&dh->want, 0);
    pthread_mutex_init(&dh->lock, NULL);
    pthread_mutex_lock(&d->lock);
    dh->next = atomic_load_explicit(&d->heaps, memory_order_relaxed);
    atomic_store_explicit(&d->heaps, dh, memory_order_release);
    pthread_mutex_unlock(&d->lock);
    hp->dbg = dh;
    return dh;
}

/* ---- layout ------------------------------------------------------------------ */

static inline char *slot_at(const lle__slab_t *s, uint32_t i)
{
    return s->start + (size_t)i * s->bsize;
}
/* A debug slab's aux: its lead (slot start -> block start) and, above
 * bit 32, its front guard size. */
static inline size_t lead_of(const lle__slab_t *s)
{
    return (size_t)((uintptr_t)s->aux & 0xffffffffu);
}
static inline size_t front_of(const lle__slab_t *s)
{
    return (size_t)((uint64_t)(uintptr_t)s->aux >> 32);
}
static inline char *user_of(const lle__slab_t *s, uint32_t i)
{
    return slot_at(s, i) + lead_of(s);
}
static inline lle__dhdr_t *hdr_of(const lle__slab_t *s, uint32_t i)
{
    return (lle__dhdr_t *)(void *)(user_of(s, i) - front_of(s) - HDR_BYTES);
}
static inline char *slot_end(const lle__slab_t *s, uint32_t i)
{
    return slot_at(s, i) + s->bsize;
}

/* Bitmap of a debug slab, three words per 64 slots (the slab's bitmap has
 * room: it is sized for 16-byte blocks, debug slots are 64 bytes or more;
 * a slab of one block, which may have just two words, uses two): word 3k,
 * slots in use (live, quarantined, kept); 3k+1, slots ever used (whose
 * header was written once); 3k+2 (class slabs), free slots whose last
 * block was freed with poison, to be verified when they are reused: so an
 * allocation reads nothing of a slot it need not verify (it only writes
 * it, as the program will).  Written and read by the holder of the slab's
 * heap. */
#define BW 3
static inline bool slot_used(const lle__slab_t *s, uint32_t i)
{
    return (atomic_load_explicit(&s->bits[BW * (i >> 6)], memory_order_relaxed) >> (i & 63)) & 1;
}
static inline bool slot_seen(const lle__slab_t *s, uint32_t i)
{
    return (atomic_load_explicit(&s->bits[BW * (i >> 6) + 1], memory_order_relaxed) >> (i & 63)) &
           1;
}
/* Free slot i holds a block freed with poison, to be verified when the
 * slot is handed out again. */
static inline bool slot_poisoned(const lle__slab_t *s, uint32_t i)
{
    return (atomic_load_explicit(&s->bits[BW * (i >> 6) + 2], memory_order_relaxed) >> (i & 63)) &
           1;
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

/* The check word: each of the header's first three words (time; sites
 * and size; thread, pool, features and the zero byte, without the state)
 * times its own odd constant, keyed with the secret and the header's
 * address, mixed, the high half kept.  Any change of one covered field
 * changes the mixed word; zeros or text written over the header match the
 * check by chance only (1 in 2^32). */
static inline uint32_t hdr_check(const lle__dbg_t *d, const lle__dhdr_t *h)
{
    const char *c = (const char *)h;
    uint64_t w2;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(&w2, c + 16, sizeof w2);
    w2 &= ~((uint64_t)0xff << 8 * (offsetof(lle__dhdr_t, state) - 16));
#else
    w2 = (uint64_t)h->thread | (uint64_t)h->pool << 32 | (uint64_t)h->feat << 40 |
         (uint64_t)h->reserved << 56;
#endif
    uint64_t w0, w1;
    memcpy(&w0, c, sizeof w0);
    memcpy(&w1, c + 8, sizeof w1);
    uint64_t v = d->secret ^ (uintptr_t)h;
    v ^= w0 * UINT64_C(0x27d4eb2f165667c5);
    v ^= w1 * UINT64_C(0xc2b2ae3d27d4eb4f);
    v ^= w2 * UINT64_C(0x165667b19e3779f9);
    v ^= v >> 29;
    return (uint32_t)((v * UINT64_C(0x9E3779B97F4A7C15)) >> 32);
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

/* Sixteen bytes as two words: GCC and clang make one vector register of
 * it where the target has them (SSE2 on x86-64), two words elsewhere. */
typedef uint64_t vec2_t __attribute__((vector_size(16)));

static inline vec2_t load128(const char *p)
{
    vec2_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store128(char *p, vec2_t v)
{
    memcpy(p, &v, sizeof v);
}

static inline bool nonzero(vec2_t v)
{
    return (v[0] | v[1]) != 0;
}

/* Whether the 64 bytes at c differ from the pattern w (each word w). */
static inline bool differs64(const char *c, vec2_t w)
{
    return nonzero((load128(c) ^ w) | (load128(c + 16) ^ w) | (load128(c + 32) ^ w) |
                   (load128(c + 48) ^ w));
}

/* From c (8-aligned), the first word before `end` that is not w, or where
 * fewer than 8 bytes remain.  64 bytes a step. */
static const char *word_mismatch(const char *c, const char *end, uint64_t w)
{
    const vec2_t wv = {w, w};
    for (; end - c >= 64; c += 64)
        if (differs64(c, wv)) break;
    for (; end - c >= 8; c += 8)
        if (load64(c) != w) break;
    return c;
}

/* First byte of [from, to) that is not its guard byte, or NULL. */
static const char *guard_find(uint64_t key, const char *from, const char *to)
{
    const char *c = from;
    for (; c < to && ((uintptr_t)c & 7); c++)
        if ((uint8_t)*c != guard_byte(key, (uintptr_t)c)) return c;
    c = word_mismatch(c, to, guard_word(key));
    for (; c < to; c++)
        if ((uint8_t)*c != guard_byte(key, (uintptr_t)c)) return c;
    return NULL;
}

#define FREED_WORD (UINT64_C(0x0101010101010101) * LLE_POISON_FREED)
#define FRESH_WORD (UINT64_C(0x0101010101010101) * LLE_POISON_FRESH)

static const char *poison_find(const char *from, size_t n)
{
    const char *c = from, *end = from + n;
    for (; c < end && ((uintptr_t)c & 7); c++)
        if ((uint8_t)*c != LLE_POISON_FREED) return c;
    c = word_mismatch(c, end, FREED_WORD);
    for (; c < end; c++)
        if ((uint8_t)*c != LLE_POISON_FREED) return c;
    return NULL;
}

/* The region checks and fills below (uniform_ok, uniform_put). */
static inline bool uniform_ok(const char *c, size_t n, uint64_t w);
static inline void uniform_put(char *c, size_t n, uint64_t w);

/*
 * Wider vectors for the long passes over freed poison (its check, and its
 * check and renewal at reuse) where the processor has them: AVX2, 32 bytes
 * an access, chosen once at run time (wide_setup).  Elsewhere the passes
 * use the 16-byte vectors above (SSE2 on x86-64).
 */
#ifdef HAVE_WIDE
static _Atomic bool wide;

static void wide_setup(void)
{
    __builtin_cpu_init();
    atomic_store_explicit(&wide, __builtin_cpu_supports("avx2") != 0, memory_order_relaxed);
}

static inline bool use_wide(void)
{
    return atomic_load_explicit(&wide, memory_order_relaxed);
}

/* From c, the first 64 bytes before `end` that are not all the byte of w,
 * or where fewer than 64 remain. */
__attribute__((target("avx2"))) static const char *uniform_skip_wide(const char *c,
                                                                     const char *end, uint64_t w)
{
    const __m256i v = _mm256_set1_epi64x((long long)w);
    for (; end - c >= 64; c += 64) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)c);
        __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(c + 32));
        __m256i x = _mm256_or_si256(_mm256_xor_si256(a, v), _mm256_xor_si256(b, v));
        if (!_mm256_testz_si256(x, x)) break;
    }
    return c;
}

/* poison_renew's loop: from c, 64 bytes a step while they hold the freed
 * poison, each step overwritten with the fresh one; returns where it
 * stopped (a step that differs, or fewer than 64 bytes left). */
__attribute__((target("avx2"))) static char *renew_wide(char *c, const char *end)
{
    const __m256i f = _mm256_set1_epi64x((long long)FREED_WORD);
    const __m256i n = _mm256_set1_epi64x((long long)FRESH_WORD);
    for (; end - c >= 64; c += 64) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(void *)c);
        __m256i b = _mm256_loadu_si256((const __m256i *)(void *)(c + 32));
        __m256i x = _mm256_or_si256(_mm256_xor_si256(a, f), _mm256_xor_si256(b, f));
        if (!_mm256_testz_si256(x, x)) break;
        _mm256_storeu_si256((__m256i *)(void *)c, n);
        _mm256_storeu_si256((__m256i *)(void *)(c + 32), n);
    }
    return c;
}
#else
static void wide_setup(void) {}
#endif

/* A slot being reused: the first `both` bytes at u must still hold the
 * freed poison and get the fresh poison, in one pass.  Returns the first
 * byte that did not hold it (those before it are already fresh, those
 * from it on untouched), or NULL. */
static const char *poison_renew(char *u, size_t both)
{
    const vec2_t freed = {FREED_WORD, FREED_WORD}, fresh = {FRESH_WORD, FRESH_WORD};
    char *c = u, *end = u + both;
#ifdef HAVE_WIDE
    if (use_wide()) c = renew_wide(c, end);
#endif
    for (; end - c >= 64; c += 64) {
        if (differs64(c, freed)) break;
        store128(c, fresh);
        store128(c + 16, fresh);
        store128(c + 32, fresh);
        store128(c + 48, fresh);
    }
    if (c == end) return NULL;
    size_t rest = (size_t)(end - c);
    if (lle_unlikely(!uniform_ok(c, rest, FREED_WORD))) return poison_find(c, rest);
    uniform_put(c, rest, FRESH_WORD);
    return NULL;
}

uint64_t lle__dbg_key(const lle__dbg_t *d, const void *where)
{
    return mix64(d->secret ^ (uintptr_t)where);
}

static inline uint64_t guard_key(const lle__dbg_t *d, const lle__dhdr_t *h)
{
    return lle__dbg_key(d, h);
}

/* For guardpage.c: the guard bytes of key over any [from, to), and the
 * first of them that changed. */
void lle__gbytes_fill(uint64_t key, char *from, char *to)
{
    char *c = from;
    for (; c < to && ((uintptr_t)c & 7); c++) *c = (char)guard_byte(key, (uintptr_t)c);
    uint64_t w = guard_word(key);
    for (; to - c >= 8; c += 8) memcpy(c, &w, 8);
    for (; c < to; c++) *c = (char)guard_byte(key, (uintptr_t)c);
}

const char *lle__gbytes_find(uint64_t key, const char *from, const char *to)
{
    return guard_find(key, from, to);
}

/*
 * Checks and fills of the regions of a slot (guard bytes, poison) with few
 * branches: the sizes are the program's, so a loop whose trip count
 * depends on them ends with a mispredicted branch each time.  From 16 to
 * 64 bytes they are done with four 16-byte accesses at 0, 16, 32 and
 * len - 16, the middle ones moved back to len - 16 when the region is
 * shorter (they overlap), so the only branch is whether the region is
 * longer than that; from 8 to 15 bytes with two 8-byte accesses.  Guard
 * bytes (their pattern depends on the address) are done from the first
 * 8-aligned byte of the region to its end, which is 8-aligned, so every
 * access is at a multiple of 8 from there; only the bytes before it need
 * a rotated word.  These say whether a region is intact; where it is not,
 * the byte for the report is found by the byte-wise functions above.
 */

/* The word an 8-byte access at x reads where each 8-aligned word is w. */
static inline uint64_t word_at(uint64_t w, const char *x)
{
    unsigned r = (unsigned)((uintptr_t)x & 7) * 8;
    return (w >> r) | (w << ((64 - r) & 63));
}

/* The offsets of the middle two of the four 16-byte accesses over
 * 16 <= len <= 64 bytes (the others are at 0 and len - 16). */
#define MID1(len) ((len) - 16 < 16 ? (len) - 16 : 16)
#define MID2(len) ((len) - 16 < 32 ? (len) - 16 : 32)

/* OR of the differences from w of the 16 <= len <= 64 bytes at c: a
 * pattern of one byte, or one of period 8 with c 8-aligned and len a
 * multiple of 8. */
static inline vec2_t diff_le64(const char *c, size_t len, vec2_t w)
{
    return (load128(c) ^ w) | (load128(c + MID1(len)) ^ w) | (load128(c + MID2(len)) ^ w) |
           (load128(c + len - 16) ^ w);
}

static inline void put_le64(char *c, size_t len, vec2_t w)
{
    store128(c + len - 16, w);
    store128(c + MID2(len), w);
    store128(c + MID1(len), w);
    store128(c, w);
}

/* A page of freed poison, for the system's memcmp (the widest vectors the
 * machine has) to compare long regions with. */
static const unsigned char freed_page[4096] = {[0 ... 4095] = LLE_POISON_FREED};

/* Whether the n bytes at c all hold the byte of w (w: FREED_WORD when
 * n > 64). */
static inline bool uniform_ok(const char *c, size_t n, uint64_t w)
{
    if (lle_likely(n - 16 <= 64 - 16)) return !nonzero(diff_le64(c, n, (vec2_t){w, w}));
    if (n < 16) {
        if (lle_unlikely(n < 8)) {
            for (size_t k = 0; k < n; k++)
                if ((uint8_t)c[k] != (uint8_t)w) return false;
            return true;
        }
        return ((load64(c) ^ w) | (load64(c + n - 8) ^ w)) == 0;
    }
#ifdef HAVE_WIDE
    if (use_wide()) {   /* (n > 64: the last 64 bytes overlap the steps before) */
        const char *end = c + n;
        return end - uniform_skip_wide(c, end, w) < 64 && uniform_skip_wide(end - 64, end, w) == end;
    }
#endif
    for (; n > sizeof freed_page; c += sizeof freed_page, n -= sizeof freed_page)
        if (memcmp(c, freed_page, sizeof freed_page) != 0) return false;
    return memcmp(c, freed_page, n) == 0;
}

/* Fill the n bytes at c with the byte of w. */
static inline void uniform_put(char *c, size_t n, uint64_t w)
{
    if (lle_likely(n - 16 <= 64 - 16)) {
        put_le64(c, n, (vec2_t){w, w});
    } else if (n < 16) {
        if (lle_unlikely(n < 8)) {
            for (size_t k = 0; k < n; k++) c[k] = (char)w;
        } else {
            memcpy(c, &w, 8);
            memcpy(c + n - 8, &w, 8);
        }
    } else {
        memset(c, (int)(w & 0xff), n);
    }
}

/* Whether [c, end) holds the guard bytes whose 8-aligned word is w: end
 * 8-aligned, end - c >= 16. */
static inline bool guard_range_ok(const char *c, const char *end, uint64_t w)
{
    uint64_t acc = load64(c) ^ word_at(w, c);
    const char *a = (const char *)(((uintptr_t)c + 7) & ~(uintptr_t)7);
    size_t len = (size_t)(end - a);   /* >= 16, a multiple of 8 */
    const vec2_t wv = {w, w};
    if (lle_likely(len <= 64)) return (acc | (uint64_t)nonzero(diff_le64(a, len, wv))) == 0;
    for (; end - a > 64; a += 64)
        if (differs64(a, wv)) return false;
    return (acc | (uint64_t)nonzero(diff_le64(end - 64, 64, wv))) == 0;
}

static inline void guard_range_put(char *c, char *end, uint64_t w)
{
    uint64_t h = word_at(w, c);
    memcpy(c, &h, 8);
    char *a = (char *)(((uintptr_t)c + 7) & ~(uintptr_t)7);
    size_t len = (size_t)(end - a);   /* >= 16, a multiple of 8 */
    const vec2_t wv = {w, w};
    if (lle_likely(len <= 64)) {
        put_le64(a, len, wv);
    } else {
        for (; end - a > 64; a += 64) {
            store128(a, wv);
            store128(a + 16, wv);
            store128(a + 32, wv);
            store128(a + 48, wv);
        }
        put_le64(end - 64, 64, wv);
    }
}

/* Guard bytes over [u - GUARD, u) and [back, end): u 16-aligned, end
 * 8-aligned, end - back >= 16. */
static void guard_fill_block(uint64_t key, char *u, char *back, char *end)
{
    uint64_t w = guard_word(key);
    memcpy(u - 16, &w, 8);
    memcpy(u - 8, &w, 8);
    guard_range_put(back, end, w);
}

/* Whether the guard bytes of the block at u (header h, slot end `end`) are
 * intact. */
static inline bool guards_ok(const lle__dbg_t *d, const lle__dhdr_t *h, const char *u,
                             const char *end)
{
    uint64_t w = guard_word(guard_key(d, h));
    return ((load64(u - 16) ^ w) | (load64(u - 8) ^ w)) == 0 && guard_range_ok(u + h->size, end, w);
}

/* A guard byte of block i that changed, or NULL (h checked by the caller). */
static const char *guards_bad(const lle__dbg_t *d, const lle__slab_t *s, uint32_t i,
                              const lle__dhdr_t *h)
{
    if (!(h->feat & F_CANARY)) return NULL;
    uint64_t key = guard_key(d, h), w = guard_word(key);
    char *u = user_of(s, i), *end = slot_end(s, i);
    if (lle_likely(((load64(u - 16) ^ w) | (load64(u - 8) ^ w)) == 0 &&
                   guard_range_ok(u + h->size, end, w)))
        return NULL;
    const char *bad = guard_find(key, u - GUARD, u);   /* which byte, for the report */
    return bad ? bad : guard_find(key, u + h->size, end);
}

/* ---- slabs ------------------------------------------------------------------- */

static lle__slab_t *dslab_new(lle_memory_manager_t *m, lle__dheap_t *dh, int pool, size_t bytes,
                              size_t bsize, size_t lead, size_t front)
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
    s->aux = (void *)(uintptr_t)((uint64_t)front << 32 | lead);
    s->dlayout = front ? L_GUARDED : L_BARE;
    s->dheap = dh;
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

/* The slab and slot of a byte u of a debug slot (the block or its header). */
static inline lle__slab_t *slab_of_block(lle_memory_manager_t *m, const char *u, uint32_t *i)
{
    lle__slab_t *s = lle__map_get(m, u);
    *i = lle__slab_index(s, u);
    return s;
}

/* Slot i of s, free, now used.  Returns whether its last block's poison is
 * to be verified. */
static inline bool slot_claim(lle__slab_t *s, uint32_t i)
{
    _Atomic uint64_t *w = &s->bits[BW * (i >> 6)];
    uint64_t bit = (uint64_t)1 << (i & 63);
    atomic_store_explicit(w, atomic_load_explicit(w, memory_order_relaxed) | bit,
                          memory_order_relaxed);
    atomic_store_explicit(w + 1, atomic_load_explicit(w + 1, memory_order_relaxed) | bit,
                          memory_order_relaxed);
    s->used++;
    if (s->cls == LLE__NCLASSES) return false;   /* a slab of one block is never reused */
    uint64_t pv = atomic_load_explicit(w + 2, memory_order_relaxed);
    if (lle_likely(!(pv & bit))) return false;
    atomic_store_explicit(w + 2, pv & ~bit, memory_order_relaxed);
    return true;
}

/* The bytes of the next slab of class c when its bin holds k: 8 slots or
 * more, from 16 KiB, twice as many for each slab the bin already holds, up
 * to 512 KiB (as the pools do: a class used a little costs little, a busy
 * one lives in a few slabs). */
static size_t class_slab_bytes(unsigned c, uint32_t k)
{
    size_t want = 8 * lle__class_size(c), bytes = LLE__MIN_SLAB;
    while (bytes < want && bytes < LLE__MAX_SLAB) bytes *= 2;
    for (; k && bytes < LLE__MAX_SLAB; k--) bytes *= 2;
    return bytes;
}

/* Room on b's free stack for `more` slots more than its slabs have; false
 * when the host has no memory. */
static bool free_room(lle_memory_manager_t *m, lle__dbin_t *b, uint32_t more)
{
    size_t need = (size_t)b->slots + more, room = b->room ? b->room : 64;
    if (need <= b->room) return true;
    while (room < need) room *= 2;
    if (room > UINT32_MAX) return false;
    lle__dslot_t *f = lle__host_alloc(m, room * sizeof *f, 16, true);
    if (!f) return false;
    if (b->nfree) memcpy(f, b->free, b->nfree * sizeof *f);
    if (b->free) lle__host_free(m, b->free, b->room * sizeof *f, true);
    b->free = f;
    b->room = (uint32_t)room;
    return true;
}

/* A never-used slot of bin b (pool `pool`, layout g, class c): from its
 * carve slab, else from a new one.  {NULL} when the pool or the host has
 * no room. */
static LLE__NOINLINE lle__dslot_t slot_carve(lle_memory_manager_t *m, lle__dheap_t *dh,
                                             lle__dbin_t *b, int pool, int g, unsigned c)
{
    lle__slab_t *s = b->carve;
    if (!s || s->hint >= s->capacity) {
        size_t lead = m->dbg->pools[pool].lead[g], front = front_of_layout(g);
        s = dslab_new(m, dh, pool, class_slab_bytes(c, b->nslabs), b->bsize, lead, front);
        if (!s && b->nslabs)   /* near the pool's limit */
            s = dslab_new(m, dh, pool, class_slab_bytes(c, 0), b->bsize, lead, front);
        if (!s) return (lle__dslot_t){NULL, 0};
        if (!free_room(m, b, s->capacity)) {
            dslab_destroy(m, s);
            return (lle__dslot_t){NULL, 0};
        }
        s->cls = (uint8_t)c;
        lle__slab_list_push(&b->slabs, s);
        b->nslabs++;
        b->slots += s->capacity;
        b->carve = s;
    }
    lle__dslot_t e = {s, s->hint++};
    if (s->hint == s->capacity) b->carve = NULL;
    return e;
}

/* Prefetches reach at most PF_LINES lines of a slot. */
#define PF_LINES 32

/* The slot a bin hands out next (the top of its free stack) is fetched
 * when the one above it is taken: its header is read and written when the
 * bin is next asked, and, with poison, all of it (the poison checked, the
 * fresh one written).  It was last touched when it left the quarantine,
 * maybe long ago.  whole: fetch the whole slot (at most PF_LINES lines),
 * else the lines of its header. */
#define BIN_PREFETCH_NEXT(b, whole)                                                      \
    do {                                                                                 \
        if ((b)->nfree) {                                                                \
            const lle__dslot_t *t_ = &(b)->free[(b)->nfree - 1];                         \
            const char *a_ = t_->slab->start + (size_t)t_->i * (b)->bsize;               \
            size_t span_ = (whole) ? (b)->bsize : 2 * LINE;                              \
            if (span_ > PF_LINES * LINE) span_ = PF_LINES * LINE;                        \
            for (size_t off_ = 0; off_ < span_; off_ += LINE)                            \
                __builtin_prefetch(a_ + off_, 1);                                        \
        }                                                                                \
    } while (0)

/* A slot for a block of n bytes at alignment `align` in layout g, claimed
 * (*verify as slot_claim).  {NULL} when none can be had. */
static lle__dslot_t slot_get(lle_memory_manager_t *m, lle__dheap_t *dh, int pool, size_t n,
                             size_t align, int g, bool *verify)
{
    lle__dpool_t *dp = &dh->pools[pool];
    const lle__dset_t *set = &m->dbg->pools[pool];
    size_t lead = set->lead[g], front = front_of_layout(g), back = front;
    unsigned c = LLE__NCLASSES;
    *verify = false;
    if (align > m->pools[pool].cfg.alignment) lead = (HDR_BYTES + front + align - 1) & ~(align - 1);
    else if (lle_likely(n <= LLE__TABLE_MAX)) c = set->cls[g][(n + 15) >> 4];
    else c = lle__class_for(lead + n + back, align > LINE ? align : LINE);
    lle__dslot_t e;
    if (c < LLE__NCLASSES) {
        lle__dbin_t *b = &dp->bins[g][c];
        if (lle_likely(b->nfree)) {
            e = b->free[--b->nfree];
            BIN_PREFETCH_NEXT(b, true);
        } else if (!(e = slot_carve(m, dh, b, pool, g, c)).slab) {
            return e;
        }
        *verify = slot_claim(e.slab, e.i);
        return e;
    }
    size_t bytes = (lead + n + back + LLE__GRANULE - 1) & ~(LLE__GRANULE - 1);
    e.slab = bytes > UINT32_MAX ? NULL : dslab_new(m, dh, pool, bytes, bytes, lead, front);
    e.i = 0;
    if (e.slab) {
        e.slab->cls = LLE__NCLASSES;
        lle__slab_list_push(&dp->big, e.slab);
        slot_claim(e.slab, 0);
    }
    return e;
}

static bool pend_purge(lle_memory_manager_t *m, lle__dheap_t *dh, lle__dpool_t *dp,
                       lle__slab_t *s, errs_t *x);

/* Give slot i of s back (the block is done with); s belongs to dh.  The
 * slot is the next one its bin hands out.  A class slab left empty goes
 * back to the host (one per bin is kept), once its slots on the pending
 * ring are verified (pend_purge: unless one of them is withheld, which
 * keeps the slab, and may be slot i itself). */
static void slot_put(lle_memory_manager_t *m, lle__dheap_t *dh, lle__slab_t *s, uint32_t i,
                     errs_t *x)
{
    lle__dhdr_t *h = hdr_of(s, i);
    h->state = LLE_BLOCK_FREED;
    _Atomic uint64_t *w = &s->bits[BW * (i >> 6)];
    uint64_t bit = (uint64_t)1 << (i & 63);
    atomic_store_explicit(w, atomic_load_explicit(w, memory_order_relaxed) & ~bit,
                          memory_order_relaxed);
    s->used--;
    lle__dpool_t *dp = &dh->pools[s->pool];
    if (lle_unlikely(s->cls == LLE__NCLASSES)) {
        lle__slab_list_unlink(&dp->big, s);
        dslab_destroy(m, s);
        return;
    }
    if (h->feat & F_POISON)
        atomic_store_explicit(w + 2, atomic_load_explicit(w + 2, memory_order_relaxed) | bit,
                              memory_order_relaxed);
    lle__dbin_t *b = &dp->bins[s->dlayout][s->cls];
    if (lle_unlikely(s->used == 0) && s != b->carve && b->nslabs > 1) {
        if (pend_purge(m, dh, dp, s, x)) {
            /* Keep one slab per class; an empty other one goes back, and
             * its slots (all on the stack) with it. */
            uint32_t k = 0;
            for (uint32_t j = 0; j < b->nfree; j++)
                if (b->free[j].slab != s) b->free[k++] = b->free[j];
            b->nfree = k;
            lle__slab_list_unlink(&b->slabs, s);
            b->nslabs--;
            b->slots -= s->capacity;
            dslab_destroy(m, s);
            return;
        }
        if (slot_used(s, i)) return;   /* withheld by the purge */
    }
    b->free[b->nfree++] = (lle__dslot_t){s, i};
}

/* ---- checks of one block ------------------------------------------------------ */

static void describe(const lle__dbg_t *d, uint32_t id, char *buf, size_t len)
{
    lle_site_t s = lle__dsite_site(d, id);
    lle__site_describe(&s, buf, len);
}

/* Report a freed block whose byte `bad` changed: the poison (a write after
 * free) or a guard byte (code LLE_ERROR_CORRUPTION). */
static LLE__NOINLINE LLE__COLD lle_result_t freed_bad(lle_memory_manager_t *m, const char *u,
                                                      const lle__dhdr_t *h, const char *bad,
                                                      lle_result_t code, errs_t *x)
{
    lle__dbg_t *d = m->dbg;
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

/* A freed block leaving the quarantine (or met by a check): poison and
 * guards still intact?  Gathers the error and returns its code when not. */
static lle_result_t verify_freed(lle_memory_manager_t *m, const lle__slab_t *s, uint32_t i,
                                 const lle__dhdr_t *h, errs_t *x)
{
    const char *u = user_of(s, i);
    if ((h->feat & F_POISON) && lle_unlikely(!uniform_ok(u, h->size, FREED_WORD)))
        return freed_bad(m, u, h, poison_find(u, h->size), LLE_ERROR_USE_AFTER_FREE, x);
    if (!(h->feat & F_CANARY) || lle_likely(guards_ok(m->dbg, h, u, slot_end(s, i))))
        return LLE_SUCCESS;
    const char *bad = guards_bad(m->dbg, s, i, h);
    return bad ? freed_bad(m, u, h, bad, LLE_ERROR_CORRUPTION, x) : LLE_SUCCESS;
}

/* Double a ring of elements of `size` bytes, *cap of them (a power of two,
 * or 0) with n in use from *head, into a new array in order from index 0;
 * false, ring unchanged, when the host has no memory for it. */
static bool ring_grow(lle_memory_manager_t *m, void **ring, size_t size, size_t *cap,
                      size_t *head, size_t n)
{
    size_t ncap = *cap ? *cap * 2 : 256;
    char *r = lle__host_alloc(m, ncap * size, 16, true);
    if (!r) return false;
    /* The n elements from *head, wrapping once past the end. */
    size_t first = n < *cap - *head ? n : *cap - *head;
    if (n) {
        memcpy(r, (char *)*ring + *head * size, first * size);
        memcpy(r + first * size, *ring, (n - first) * size);
    }
    if (*ring) lle__host_free(m, *ring, *cap * size, true);
    *ring = r;
    *cap = ncap;
    *head = 0;
    return true;
}

/* Room for one more block in dp's quarantine ring; false when the ring is
 * full and the host has no memory to grow it. */
static bool ring_room(lle_memory_manager_t *m, lle__dpool_t *dp)
{
    if (lle_likely(dp->qblocks < dp->qcap)) return true;
    void *r = dp->ring;
    bool ok = ring_grow(m, &r, sizeof *dp->ring, &dp->qcap, &dp->qhead, dp->qblocks);
    dp->ring = r;
    return ok;
}

/* Room for one more slot on dp's pending ring (as ring_room). */
static bool pend_room(lle_memory_manager_t *m, lle__dpool_t *dp)
{
    if (lle_likely(dp->pblocks < dp->pcap)) return true;
    void *r = dp->pend;
    bool ok = ring_grow(m, &r, sizeof *dp->pend, &dp->pcap, &dp->phead, dp->pblocks);
    dp->pend = r;
    return ok;
}

/* Slot i of class slab s, free (on its bin's stack, or being given back
 * by slot_put), withheld for good: off the stack, in use again, KEPT. */
static void slot_withhold(lle__dheap_t *dh, lle__slab_t *s, uint32_t i)
{
    lle__dpool_t *dp = &dh->pools[s->pool];
    lle__dbin_t *b = &dp->bins[s->dlayout][s->cls];
    for (uint32_t j = 0; j < b->nfree; j++)
        if (b->free[j].slab == s && b->free[j].i == i) {
            memmove(&b->free[j], &b->free[j + 1], (b->nfree - j - 1) * sizeof *b->free);
            b->nfree--;
            break;
        }
    _Atomic uint64_t *w = &s->bits[BW * (i >> 6)];
    uint64_t bit = (uint64_t)1 << (i & 63);
    atomic_store_explicit(w, atomic_load_explicit(w, memory_order_relaxed) | bit,
                          memory_order_relaxed);
    atomic_store_explicit(w + 2, atomic_load_explicit(w + 2, memory_order_relaxed) & ~bit,
                          memory_order_relaxed);
    s->used++;
    hdr_of(s, i)->state = LLE_BLOCK_KEPT;
    dp->kept_blocks++;
}

/* Slot i of s came off the pending ring: unless it was handed out since
 * (or its block was not poisoned), verify the freed block in it now.  The
 * slot stays poisoned (slot_poisoned), so it is verified again when it is
 * handed out: the program runs in between.  Returns false when the slot
 * was withheld (its header was written over, or its damage calls for
 * LLE_RECOVER_QUARANTINE). */
static bool pend_verify(lle_memory_manager_t *m, lle__dheap_t *dh, lle__slab_t *s, uint32_t i,
                        errs_t *x)
{
    if (slot_used(s, i) || !slot_poisoned(s, i)) return true;
    lle__dhdr_t *h = hdr_of(s, i);
    if (lle_unlikely(!hdr_ok(m->dbg, h) || h->state != LLE_BLOCK_FREED || !(h->feat & F_POISON) ||
                     user_of(s, i) + h->size > slot_end(s, i))) {
        lle_site_t none = {0};
        pend(x, LLE_ERROR_CORRUPTION, s->pool, 0, user_of(s, i), none, none,
             "the header of freed block %p was overwritten after it was freed (a write after "
             "free before the block); the block is withheld",
             (void *)user_of(s, i));
        slot_withhold(dh, s, i);
        return false;
    }
    lle_result_t bad = verify_freed(m, s, i, h, x);
    if (bad != LLE_SUCCESS && strategy(m, bad) == LLE_RECOVER_QUARANTINE) {
        slot_withhold(dh, s, i);
        return false;
    }
    return true;
}

/* Slots stay on the pending ring while their bytes add up to no more than
 * the quarantine budget >> PEND_SHIFT. */
#define PEND_SHIFT 1

/* Verify the oldest slots of dp's pending ring until it is within budget
 * (all of them: budget 0). */
static void pend_trim(lle_memory_manager_t *m, lle__dheap_t *dh, lle__dpool_t *dp, size_t budget,
                      errs_t *x)
{
    while (dp->pblocks && dp->pbytes > budget) {
        lle__dslot_t e = dp->pend[dp->phead];
        dp->phead = (dp->phead + 1) & (dp->pcap - 1);
        dp->pblocks--;
        dp->pbytes -= e.slab->bsize;
        pend_verify(m, dh, e.slab, e.i, x);
    }
}

/* Class slab s (of dp), every slot free, is about to go back: its slots
 * on the pending ring are verified now and leave the ring.  Returns false
 * when one of them was withheld: the slab is in use again, and stays. */
static bool pend_purge(lle_memory_manager_t *m, lle__dheap_t *dh, lle__dpool_t *dp,
                       lle__slab_t *s, errs_t *x)
{
    bool all = true;
    size_t k = 0, mask = dp->pcap - 1;
    for (size_t j = 0; j < dp->pblocks; j++) {
        lle__dslot_t e = dp->pend[(dp->phead + j) & mask];
        if (e.slab != s) {
            dp->pend[(dp->phead + k++) & mask] = e;
            continue;
        }
        dp->pbytes -= s->bsize;
        all &= pend_verify(m, dh, s, e.i, x);
    }
    dp->pblocks = k;
    return all;
}

/* The next blocks to leave the quarantine were freed long ago: their
 * memory is cold.  The header of the one Q_AHEAD places from the exit is
 * fetched ahead (it is read and written as it leaves); the lines of a
 * block are read there only when its poison is verified on the way out,
 * which is not the common case (see "When a freed block's poison and guard
 * bytes are verified" above).  A header written over in the quarantine
 * only makes the hint wrong: prefetches never fault, and the header is
 * checked before it is trusted.  (A macro: GCC takes a function that only
 * prefetches for one without effects and drops its calls.) */
#define Q_AHEAD 6
#define QUARANTINE_PREFETCH(dp)                                                            \
    do {                                                                                   \
        if ((dp)->qblocks > Q_AHEAD)                                                       \
            __builtin_prefetch((dp)->ring[((dp)->qhead + Q_AHEAD) & ((dp)->qcap - 1)], 1); \
    } while (0)

/* A block leaving the quarantine unverified (header h, read by now) goes
 * to the top of its bin's free stack: the slot its bin hands out next,
 * soon for a busy bin.  Its lines are fetched now (at most PF_LINES), so
 * that the check at reuse finds them in cache. */
#define EXIT_PREFETCH(h)                                                                   \
    do {                                                                                   \
        const char *h_ = (const char *)(h);                                                \
        size_t span_ = HDR_BYTES + 2 * GUARD + (h)->size;                                  \
        if (span_ > PF_LINES * LINE) span_ = PF_LINES * LINE;                              \
        for (size_t off_ = LINE; off_ < span_; off_ += LINE) __builtin_prefetch(h_ + off_, 1); \
    } while (0)

/* Leave pool `pool`'s quarantine of dh (oldest first) until within budget
 * (all: budget 0).  A poisoned block of a class slab goes to its bin's
 * free stack with its poison and guard bytes to be verified when the slot
 * is handed out, and onto the pending ring, which verifies it if that has
 * not happened before the ring is past budget >> PEND_SHIFT; any other
 * block is verified as it leaves. */
static void quarantine_trim(lle_memory_manager_t *m, lle__dheap_t *dh, int pool, size_t budget,
                            errs_t *x)
{
    lle__dpool_t *dp = &dh->pools[pool];
    size_t pbudget = budget >> PEND_SHIFT;
    while (dp->qblocks && dp->qbytes > budget) {
        QUARANTINE_PREFETCH(dp);
        lle__dhdr_t *h = (lle__dhdr_t *)(void *)dp->ring[dp->qhead];
        dp->qhead = (dp->qhead + 1) & (dp->qcap - 1);
        dp->qblocks--;
        uint32_t i;
        lle__slab_t *s = slab_of_block(m, (const char *)h, &i);   /* the header is in its slot */
        dp->qbytes -= s->bsize;
        if (lle_unlikely(!hdr_ok(m->dbg, h))) {
            /* Written over while quarantined: its size is not to be
             * trusted, so neither is its slot. */
            lle_site_t none = {0};
            pend(x, LLE_ERROR_CORRUPTION, s->pool, 0, user_of(s, i), none, none,
                 "the header of freed block %p was overwritten in the quarantine (a write "
                 "after free before the block); the block is withheld",
                 (void *)user_of(s, i));
            h->state = LLE_BLOCK_KEPT;
            dp->kept_blocks++;
            continue;
        }
        if ((h->feat & F_POISON) && s->cls != LLE__NCLASSES && pbudget &&
            lle_likely(pend_room(m, dp))) {
            dp->pend[(dp->phead + dp->pblocks++) & (dp->pcap - 1)] = (lle__dslot_t){s, i};
            dp->pbytes += s->bsize;
            EXIT_PREFETCH(h);
            slot_put(m, dh, s, i, x);   /* (may verify it at once: pend_purge) */
            continue;
        }
        lle_result_t bad = verify_freed(m, s, i, h, x);
        if (bad != LLE_SUCCESS && strategy(m, bad) == LLE_RECOVER_QUARANTINE) {
            h->state = LLE_BLOCK_KEPT;   /* withheld for good */
            dp->kept_blocks++;
            continue;
        }
        slot_put(m, dh, s, i, x);
    }
    pend_trim(m, dh, dp, pbudget, x);
}

/* ---- sites ----------------------------------------------------------------------- */

/* The cache entry of a site (or return address). */
static inline lle__dcache_t *cache_of(lle__dheap_t *dh, const char *file, const char *func,
                                      int line, const void *key)
{
    uint64_t hv = ((uintptr_t)file ^ ((uintptr_t)func << 7) ^ (uintptr_t)key ^
                   (uint64_t)(unsigned)line * UINT64_C(0x9E3779B97F4A7C15)) *
                  UINT64_C(0xff51afd7ed558ccd);
    return &dh->cache[hv >> 58 & (LLE__DCACHE - 1)];
}

static LLE__NOINLINE uint32_t site_id_slow(lle_memory_manager_t *m, lle__dheap_t *dh,
                                           const lle_site_t *site, const void *pc,
                                           const void *const *frames, unsigned nf)
{
    uint32_t id = lle__dsite_intern(m, site, pc, frames, nf);
    if (id && !nf) {
        lle__dcache_t *c = site ? cache_of(dh, site->file, site->func, site->line, site->pc)
                                : cache_of(dh, NULL, NULL, 0, pc);
        if (site) *c = (lle__dcache_t){site->file, site->func, site->pc, site->line, id};
        else *c = (lle__dcache_t){NULL, NULL, pc, 0, id};
    }
    return id;
}

/* The id of a site for dh's holder: from the heap's cache, else interned
 * (and cached).  Backtraces are not cached: the same call may come from
 * anywhere. */
static inline uint32_t site_id(lle_memory_manager_t *m, lle__dheap_t *dh, const lle_site_t *site,
                               const void *pc, const void *const *frames, unsigned nf)
{
    if (lle_likely(!nf)) {
        const lle__dcache_t *c;
        if (site) {
            c = cache_of(dh, site->file, site->func, site->line, site->pc);
            if (lle_likely(c->id && c->pc == site->pc && c->file == site->file &&
                           c->line == site->line && c->func == site->func))
                return c->id;
        } else {
            c = cache_of(dh, NULL, NULL, 0, pc);
            if (lle_likely(c->id && c->pc == pc && !c->file && !c->func && !c->line))
                return c->id;
        }
    }
    return site_id_slow(m, dh, site, pc, frames, nf);
}

/* dh's totals of site id, grown to hold it (NULL: no memory). */
static lle__dcount_t *count_of(lle_memory_manager_t *m, lle__dheap_t *dh, uint32_t id)
{
    if (lle_unlikely(id > dh->counts_cap)) {
        size_t old = dh->counts_cap;
        if (!lle__array_grow(m, (void **)&dh->counts, &dh->counts_cap, id, sizeof *dh->counts, 64))
            return NULL;
        memset(dh->counts + old, 0, (dh->counts_cap - old) * sizeof *dh->counts);
    }
    return &dh->counts[id - 1];
}

/* ---- allocation ---------------------------------------------------------------- */

/* A slot becoming live block u of n bytes (slot end `end`): its header
 * written with its check word, its guard bytes put (those past u + intact
 * are in place already when intact > 0).  Both allocation paths. */
static inline __attribute__((always_inline)) void block_stamp(const lle__dbg_t *d, lle__dhdr_t *h, char *u, char *end, size_t n,
                               int pool, unsigned feat, uint32_t sid, uint64_t time_ns,
                               uint32_t tid, size_t intact)
{
    h->time_ns = time_ns;
    h->thread = tid;
    h->fsite = 0;
    h->asite = sid;
    h->size = (uint32_t)n;
    h->state = LLE_BLOCK_LIVE;
    h->pool = (uint8_t)pool;
    h->feat = (uint8_t)feat;
    h->reserved = 0;
    h->check = hdr_check(d, h);
    if (feat & F_CANARY) {
        uint64_t key = guard_key(d, h);
        if (!intact) guard_fill_block(key, u, u + n, end);
        else if (n < intact) guard_range_put(u + n, end, guard_word(key));
    }
}

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

/* Slot i of s, freed with poison, is being reused for a block of n bytes
 * that gets `fresh` bytes of fresh poison (0 or n): verify the old block's
 * poison, then its guard bytes, and report what changed.  The fresh poison
 * is written over the first min(old size, fresh) bytes on the way; returns
 * how many bytes of it, at the end of the n, are still to be written.
 * *intact: the old size when its guard bytes were all found intact. */
static size_t reuse_check(lle_memory_manager_t *m, const lle__slab_t *s, uint32_t i,
                          const lle__dhdr_t *h, size_t fresh, size_t *intact, errs_t *x)
{
    char *u = user_of(s, i);
    size_t old = h->size, both = 0;
    const char *bad = NULL;
    if (lle_unlikely(old > 64 && fresh > 64)) {   /* big: check and fill in one pass */
        both = fresh < old ? fresh : old;
        bad = poison_renew(u, both);
        if (!bad && old > both && !uniform_ok(u + both, old - both, FREED_WORD))
            bad = poison_find(u + both, old - both);
    } else if (lle_unlikely(!uniform_ok(u, old, FREED_WORD))) {
        bad = poison_find(u, old);
    }
    if (lle_unlikely(bad != NULL)) {
        freed_bad(m, u, h, bad, LLE_ERROR_USE_AFTER_FREE, x);
        return fresh;   /* all of it, over whatever is there */
    }
    bad = guards_bad(m->dbg, s, i, h);
    if (lle_unlikely(bad != NULL)) freed_bad(m, u, h, bad, LLE_ERROR_CORRUPTION, x);
    else if (h->feat & F_CANARY) *intact = old;
    return fresh - both;
}

/* The end of both allocation paths: block u of n bytes, stamped, is
 * counted at its site (cnt, may be NULL) and in its pool, the debug heap
 * is let go, and a tracked allocation enters the audit trail. */
static inline void alloc_counted(lle_memory_manager_t *m, lle__dheap_t *dh, lle__dcount_t *cnt,
                                 char *u, size_t n, int pool, unsigned feat, uint32_t sid,
                                 hold_t how)
{
    if (lle_likely(cnt != NULL)) {
        cnt->blocks++;
        cnt->bytes += n;
        cnt->allocs++;
    }
    lle__dpool_t *dp = &dh->pools[pool];
    dp->live_blocks++;
    dp->live_bytes += n;
    dp->allocs++;
    dp->requested += n;
    dh_drop(dh, how);
    if ((feat & F_TRACK) && m->audit_cap) {
        lle_site_t st = lle__dsite_site(m->dbg, sid);
        lle__audit(m, LLE_AUDIT_ALLOC, LLE_SUCCESS, u, n, pool, &st);
    }
}

/* Any allocation of a debug block: the common case is dbg_alloc's. */
static LLE__NOINLINE void *alloc_general(lle_memory_manager_t *m, int pool, size_t n, size_t align,
                                         const lle_site_t *site, const void *pc)
{
    lle__dbg_t *d = m->dbg;
    lle__dset_t *set = &d->pools[pool];
    if (n == 0) n = 1;
    if (align < m->pools[pool].cfg.alignment) align = m->pools[pool].cfg.alignment;
    /* Slabs are aligned to the granule: a larger alignment gets an
     * ordinary block. */
    if (align > LLE__GRANULE || n > UINT32_MAX / 2) return NULL;   /* (sizes are 32-bit) */
    lle__dheap_t *dh;
    if (lle_unlikely(lle__tls.id != m->id || !(dh = lle__tls.h->dbg)) && !(dh = dheap_get(m)))
        return NULL;
    unsigned feat = atomic_load_explicit(&set->feat, memory_order_relaxed);
    const void *frames[LLE__DBG_MAX_FRAMES];
    unsigned bt = atomic_load_explicit(&set->backtrace, memory_order_relaxed);
    unsigned nf = bt ? take_backtrace(bt, pc, frames) : 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    if (lle_unlikely(!dbg_tid)) dbg_tid = (uint32_t)lle__thread_id();
    uint32_t tid = dbg_tid;
    errs_t x;
    x.n = x.dropped = 0;   /* only the counts: the records are written when used */

    hold_t how = dh_own(dh);
    bool verify;
    lle__dslot_t e;
    lle__slab_t *s;
    uint32_t i;
    lle__dhdr_t *h;
    char *u, *end;
    for (;;) {
        e = slot_get(m, dh, pool, n, align, (feat & F_CANARY) ? L_GUARDED : L_BARE, &verify);
        if (!e.slab) {
            dh_drop(dh, how);
            flush(m, &x);
            return NULL;
        }
        s = e.slab;
        i = e.i;
        h = hdr_of(s, i);
        u = user_of(s, i);
        end = slot_end(s, i);
        /* The whole slot is the debug allocator's to read and write,
         * whatever its last user (an arena) left poisoned for ASan or
         * no-access for valgrind. */
        lle__asan_unpoison(slot_at(s, i), s->bsize);
        lle__vg_defined(slot_at(s, i), s->bsize);
        if (!verify || lle_likely(h->state == LLE_BLOCK_FREED && hdr_ok(d, h) &&
                                  (h->feat & F_POISON) && u + h->size <= end))
            break;
        /* The slot of a poisoned freed block whose header was written over
         * since it was freed: its size is not to be trusted, so neither is
         * its slot. */
        lle_site_t none = {0};
        pend(&x, LLE_ERROR_CORRUPTION, s->pool, 0, u, none, none,
             "the header of freed block %p was overwritten after it was freed (a write after "
             "free before the block); the block is withheld",
             (void *)u);
        h->state = LLE_BLOCK_KEPT;
        dh->pools[s->pool].kept_blocks++;
    }
    /* A slot freed before: its poison must still be intact.  Verified in
     * the pass that writes the fresh poison over it.  When its guard bytes
     * are found intact too, those past max(old size, n) are already what
     * the new block needs. */
    size_t intact = 0, fresh = (feat & F_POISON) ? n : 0;
    if (verify) fresh = reuse_check(m, s, i, h, fresh, &intact, &x);
    uint32_t sid = site_id(m, dh, site, pc, frames, nf);
    lle__dcount_t *cnt = sid ? count_of(m, dh, sid) : NULL;
    if (!cnt) sid = 0;
    block_stamp(d, h, u, end, n, pool, feat, sid, now, tid, intact);
    if (fresh) uniform_put(u + n - fresh, fresh, FRESH_WORD);
    alloc_counted(m, dh, cnt, u, n, pool, feat, sid, how);
    flush(m, &x);
    return u;
}

/* The header of a block of a class slab of layout g, at u. */
static inline lle__dhdr_t *hdr_at(char *u, int g)
{
    return (lle__dhdr_t *)(void *)(u - front_of_layout(g) - HDR_BYTES);
}

/* A debug block.  Inline, the common case: a block of a class slab (up to
 * LLE__TABLE_MAX bytes at the pool's alignment) of a pool without a
 * backtrace to record, by a thread whose debug heap exists, where the slot
 * handed out holds no damage to report.  The rest is alloc_general's. */
static void *block_alloc(lle_memory_manager_t *m, int pool, size_t n, size_t align,
                         const lle_site_t *site, const void *pc)
{
    lle__dbg_t *d = m->dbg;
    lle__dset_t *set = &d->pools[pool];
    lle__dheap_t *dh;
    if (lle_unlikely(n - 1 >= LLE__TABLE_MAX || align > m->pools[pool].cfg.alignment ||
                     atomic_load_explicit(&set->backtrace, memory_order_relaxed) ||
                     lle__tls.id != m->id || !(dh = lle__tls.h->dbg)))
        return alloc_general(m, pool, n, align, site, pc);
    unsigned feat = atomic_load_explicit(&set->feat, memory_order_relaxed);
    int g = (feat & F_CANARY) ? L_GUARDED : L_BARE;
    unsigned c = set->cls[g][(n + 15) >> 4];
    lle__dbin_t *b = &dh->pools[pool].bins[g][c];
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    if (lle_unlikely(!dbg_tid)) dbg_tid = (uint32_t)lle__thread_id();

    hold_t how = dh_own(dh);
    lle__dslot_t e;
    if (lle_likely(b->nfree)) {
        e = b->free[--b->nfree];
        BIN_PREFETCH_NEXT(b, feat & F_POISON);
    } else if (!(e = slot_carve(m, dh, b, pool, g, c)).slab) {
        goto general;
    }
    lle__slab_t *s = e.slab;
    char *u = s->start + (size_t)e.i * b->bsize + set->lead[g];
    char *end = s->start + (size_t)(e.i + 1) * b->bsize;
    lle__dhdr_t *h = hdr_at(u, g);
    _Atomic uint64_t *w = &s->bits[BW * (e.i >> 6)];
    uint64_t bit = (uint64_t)1 << (e.i & 63);
    size_t intact = 0;   /* > 0: the guard bytes past u + intact are in place */
    lle__asan_unpoison(s->start + (size_t)e.i * b->bsize, b->bsize);   /* see alloc_general */
    lle__vg_defined(s->start + (size_t)e.i * b->bsize, b->bsize);
    uint64_t pv = atomic_load_explicit(w + 2, memory_order_relaxed);
    if (lle_unlikely(pv & bit)) {
        /* Freed with poison: header, poison and guard bytes must be
         * intact (alloc_general reports what is not). */
        if (!(h->state == LLE_BLOCK_FREED && hdr_ok(d, h) && (h->feat & F_POISON) &&
              u + h->size <= end) ||
            !uniform_ok(u, h->size, FREED_WORD) ||
            ((h->feat & F_CANARY) && !guards_ok(d, h, u, end))) {
            b->free[b->nfree++] = e;
            goto general;
        }
        if (h->feat & F_CANARY) intact = h->size;
        atomic_store_explicit(w + 2, pv & ~bit, memory_order_relaxed);
    }
    atomic_store_explicit(w, atomic_load_explicit(w, memory_order_relaxed) | bit,
                          memory_order_relaxed);
    atomic_store_explicit(w + 1, atomic_load_explicit(w + 1, memory_order_relaxed) | bit,
                          memory_order_relaxed);
    s->used++;
    uint32_t sid = site_id(m, dh, site, pc, NULL, 0);
    lle__dcount_t *cnt = sid ? count_of(m, dh, sid) : NULL;
    if (lle_unlikely(!cnt)) sid = 0;
    block_stamp(d, h, u, end, n, pool, feat, sid,
                (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec, dbg_tid, intact);
    if (feat & F_POISON) uniform_put(u, n, FRESH_WORD);
    alloc_counted(m, dh, cnt, u, n, pool, feat, sid, how);
    return u;
general:
    dh_drop(dh, how);
    return alloc_general(m, pool, n, align, site, pc);
}

/* An allocation of a pool routed here: on guard pages (every allocation,
 * or one in N), else a debug block when a debug-block feature is on. */
static LLE__NOINLINE void *dbg_alloc_guarded(lle_memory_manager_t *m, int pool, size_t n,
                                             size_t align, const lle_site_t *site,
                                             const void *pc, unsigned every)
{
    if (every == 1 || lle__guard_sampled(every)) {
        void *g = lle__guard_alloc(m, pool, n, align, site, pc);
        if (g) return g;
    }
    if (!atomic_load_explicit(&m->dbg->pools[pool].blocks, memory_order_relaxed)) return NULL;
    return block_alloc(m, pool, n, align, site, pc);
}

/* (The guard-page case out of line: debug blocks reach block_alloc by a
 * tail call, with no frame here.) */
static void *dbg_alloc(lle_memory_manager_t *m, int pool, size_t n, size_t align,
                       const lle_site_t *site, const void *pc)
{
    const lle__dset_t *set = &m->dbg->pools[pool];
    unsigned every = atomic_load_explicit(&set->guard, memory_order_relaxed);
    if (lle_unlikely(every)) return dbg_alloc_guarded(m, pool, n, align, site, pc, every);
    if (!atomic_load_explicit(&set->blocks, memory_order_relaxed)) return NULL;
    return block_alloc(m, pool, n, align, site, pc);
}

/* ---- free ------------------------------------------------------------------------ */

/* The site of a call: the one it named, else its return address. */
static inline lle_site_t here_site(const lle_site_t *site, const void *pc)
{
    lle_site_t s = {0};
    if (site) s = *site;
    else s.pc = pc;
    return s;
}

/* Where p lies in debug slab s: slot index, or UINT32_MAX past the last. */
static uint32_t slot_index(const lle__slab_t *s, const void *p)
{
    if ((const char *)p < s->start) return UINT32_MAX;
    uint32_t i = lle__slab_index(s, p);
    return i < s->capacity ? i : UINT32_MAX;
}

/* Free under the flag of dh, s's heap; returns the result, errors gathered
 * in x.  *audit: the block's size and pool when the free is to be audited
 * (its pool is tracked). */
static lle_result_t free_locked(lle_memory_manager_t *m, lle__dheap_t *dh, lle__slab_t *s,
                                void *p, const lle_site_t *site, const void *pc, errs_t *x,
                                size_t *asize, int *apool)
{
    lle__dbg_t *d = m->dbg;
    /* Sites are put into words only for a report (dladdr is slow). */
    char here_[160], as_[160], fs_[160];
    lle_site_t fsite, none = {0};
#define FSITE() (fsite = here_site(site, pc))
#define HERE() (lle__site_describe(&fsite, here_, sizeof here_), here_)
#define AS() (describe(d, h->asite, as_, sizeof as_), as_)
#define FS() (describe(d, h->fsite, fs_, sizeof fs_), fs_)
    uint32_t i = slot_index(s, p);
    if (i == UINT32_MAX) {
        FSITE();
        pend(x, LLE_ERROR_INVALID_POINTER, s->pool, 0, p, none, fsite,
             "free of %p at %s: not a block of this manager; nothing was freed", p, HERE());
        return LLE_ERROR_INVALID_POINTER;
    }
    lle__dhdr_t *h = hdr_of(s, i);
    char *u = user_of(s, i);
    bool valid = slot_seen(s, i) && hdr_ok(d, h);
    if (!slot_used(s, i)) {
        FSITE();
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
        FSITE();
        pend(x, LLE_ERROR_CORRUPTION, s->pool, 0, u, none, fsite,
             "free of %p at %s: the header of the block at %p was overwritten (a write "
             "before the block); the block is withheld",
             p, HERE(), (void *)u);
        if (h->state != LLE_BLOCK_KEPT) {
            h->state = LLE_BLOCK_KEPT;   /* its size is unknown: never reused */
            dh->pools[s->pool].kept_blocks++;
        }
        return LLE_ERROR_CORRUPTION;
    }
    if (lle_unlikely(p != u)) {
        FSITE();
        const char *where = (char *)p > u && (char *)p < u + h->size ? "inside" : "in the guard "
                                                                                 "bytes of";
        pend(x, LLE_ERROR_INVALID_POINTER, h->pool, h->size, p, lle__dsite_site(d, h->asite),
             fsite,
             "free of %p at %s: an interior pointer, %s block %p (%zu bytes, pool %s) "
             "allocated at %s; nothing was freed",
             p, HERE(), where, (void *)u, (size_t)h->size, lle_pool_type_name(h->pool), AS());
        return LLE_ERROR_INVALID_POINTER;
    }
    if (lle_unlikely(h->state != LLE_BLOCK_LIVE)) {
        FSITE();
        pend(x, LLE_ERROR_DOUBLE_FREE, h->pool, h->size, p, lle__dsite_site(d, h->asite),
             lle__dsite_site(d, h->fsite),
             "double free of %p (%zu bytes, pool %s) at %s: allocated at %s, already freed "
             "at %s",
             p, (size_t)h->size, lle_pool_type_name(h->pool), HERE(), AS(), FS());
        return LLE_ERROR_DOUBLE_FREE;
    }
    lle__dpool_t *dp = &dh->pools[h->pool];
    lle_result_t r = LLE_SUCCESS;
    lle__asan_unpoison(slot_at(s, i), s->bsize);   /* see alloc_general */
    lle__vg_defined(slot_at(s, i), s->bsize);
    const char *bad = (h->feat & F_CANARY) ? guards_bad(d, s, i, h) : NULL;
    bool keep = false;
    if (lle_unlikely(bad != NULL)) {
        FSITE();
        long off = bad < u ? (long)(bad - u) : (long)(bad - (u + h->size));
        pend(x, LLE_ERROR_CORRUPTION, h->pool, h->size, p, lle__dsite_site(d, h->asite), fsite,
             "heap %s of block %p (%zu bytes, pool %s): the guard byte %ld %s was "
             "overwritten; allocated at %s, freed at %s",
             bad < u ? "underflow" : "overflow", p, (size_t)h->size, lle_pool_type_name(h->pool),
             bad < u ? -off : off + 1, bad < u ? "before the block" : "past its end", AS(), HERE());
        r = LLE_ERROR_CORRUPTION;
        keep = strategy(m, LLE_ERROR_CORRUPTION) == LLE_RECOVER_QUARANTINE;
        if (!keep)   /* reported once: the guards are whole again for later checks */
            guard_fill_block(guard_key(d, h), u, u + h->size, slot_end(s, i));
    }
    h->fsite = site_id(m, dh, site, pc, NULL, 0);
    if (h->asite) {
        lle__dcount_t *e = &dh->counts[h->asite - 1];   /* counted here at allocation */
        e->blocks--;
        e->bytes -= h->size;
    }
    dp->live_blocks--;
    dp->live_bytes -= h->size;
    dp->frees++;
    if (h->feat & F_TRACK) {
        *asize = h->size;
        *apool = h->pool;
    }
    if (h->feat & F_POISON) uniform_put(u, h->size, FREED_WORD);
    size_t budget = atomic_load_explicit(&d->pools[h->pool].quarantine, memory_order_relaxed);
    if (keep) {
        h->state = LLE_BLOCK_KEPT;
        dp->kept_blocks++;
    } else if (budget && (lle_likely(dp->qblocks < dp->qcap) || ring_room(m, dp))) {
        h->state = LLE_BLOCK_QUARANTINED;
        dp->ring[(dp->qhead + dp->qblocks++) & (dp->qcap - 1)] = (char *)h;
        dp->qbytes += s->bsize;
        if (dp->qbytes > budget) quarantine_trim(m, dh, h->pool, budget, x);
    } else {   /* (no quarantine, or no memory for its ring) */
        slot_put(m, dh, s, i, x);
    }
    return r;
#undef FSITE
#undef HERE
#undef AS
#undef FS
}

/* Any free of a pointer into a debug slab, s's heap held: the errors, the
 * checks of guard bytes and poison, the quarantine. */
static LLE__NOINLINE lle_result_t free_general(lle_memory_manager_t *m, lle__dheap_t *dh,
                                               hold_t how, lle__slab_t *s, void *p,
                                               const lle_site_t *site, const void *pc)
{
    errs_t x;
    x.n = x.dropped = 0;   /* only the counts: the records are written when used */
    size_t asize = 0;
    int apool = -1;
    lle_result_t r = free_locked(m, dh, s, p, site, pc, &x, &asize, &apool);
    dh_drop(dh, how);
    if (lle_unlikely(r == LLE_ERROR_DOUBLE_FREE))
        atomic_fetch_add_explicit(&m->double_frees, 1, memory_order_relaxed);
    else if (lle_unlikely(r == LLE_ERROR_INVALID_POINTER))
        atomic_fetch_add_explicit(&m->invalid_frees, 1, memory_order_relaxed);
    if (apool >= 0 && m->audit_cap) {
        lle_site_t fsite = here_site(site, pc);
        lle__audit(m, LLE_AUDIT_FREE, r, p, asize, apool, &fsite);
    }
    flush(m, &x);
    return r;
}

/* Free of a pointer into debug slab s.  Inline, the common case: the
 * start of a live block of a class slab, its header and guard bytes
 * intact, given back to a slab that keeps some other block.  The rest is
 * free_general's (it checks all of this again). */
static lle_result_t dbg_free(lle_memory_manager_t *m, lle__slab_t *s, void *p,
                             const lle_site_t *site, const void *pc)
{
    if (lle_unlikely(s->kind == LLE__SLAB_GUARD)) return lle__guard_free(m, s, p, site, pc);
    lle__dbg_t *d = m->dbg;
    lle__dheap_t *dh = s->dheap;
    hold_t how = dh_take(m, dh);
    if (lle_unlikely(s->cls == LLE__NCLASSES)) return free_general(m, dh, how, s, p, site, pc);
    int g = s->dlayout, pool = s->pool;
    const lle__dset_t *set = &d->pools[pool];
    uint32_t i = lle__slab_index(s, p);
    char *u = s->start + (size_t)i * s->bsize + set->lead[g];
    if (lle_unlikely((char *)p != u || i >= s->capacity))
        return free_general(m, dh, how, s, p, site, pc);
    lle__dhdr_t *h = hdr_at(u, g);
    char *end = u - set->lead[g] + s->bsize;
    lle__asan_unpoison(end - s->bsize, s->bsize);   /* see free_locked */
    lle__vg_defined(end - s->bsize, s->bsize);
    /* The freed poison is written over the block below: its lines past
     * the first are fetched now, while the checks run (the header is
     * trusted only further down: a wrong feat makes a useless hint). */
    if (h->feat & F_POISON) {
        size_t span = s->bsize < PF_LINES * LINE ? s->bsize : PF_LINES * LINE;
        for (size_t off = LINE; off < span; off += LINE)
            __builtin_prefetch(end - s->bsize + off, 1);
    }
    _Atomic uint64_t *w = &s->bits[BW * (i >> 6)];
    uint64_t bit = (uint64_t)1 << (i & 63), used = atomic_load_explicit(w, memory_order_relaxed);
    if (lle_unlikely(!(used & bit) || h->state != LLE_BLOCK_LIVE || h->check != hdr_check(d, h) ||
                     s->used == 1 || ((h->feat & F_CANARY) && !guards_ok(d, h, u, end))))
        return free_general(m, dh, how, s, p, site, pc);
    unsigned feat = h->feat;
    size_t size = h->size;
    h->fsite = site_id(m, dh, site, pc, NULL, 0);
    if (h->asite) {
        lle__dcount_t *c = &dh->counts[h->asite - 1];   /* counted here at allocation */
        c->blocks--;
        c->bytes -= size;
    }
    lle__dpool_t *dp = &dh->pools[pool];
    dp->live_blocks--;
    dp->live_bytes -= size;
    dp->frees++;
    if (feat & F_POISON) uniform_put(u, size, FREED_WORD);
    errs_t x;
    x.n = x.dropped = 0;   /* only the counts: the records are written when used */
    size_t budget = atomic_load_explicit(&set->quarantine, memory_order_relaxed);
    if (budget && (lle_likely(dp->qblocks < dp->qcap) || ring_room(m, dp))) {
        h->state = LLE_BLOCK_QUARANTINED;
        dp->ring[(dp->qhead + dp->qblocks++) & (dp->qcap - 1)] = (char *)h;
        dp->qbytes += s->bsize;
        if (dp->qbytes > budget) quarantine_trim(m, dh, pool, budget, &x);
    } else {
        h->state = LLE_BLOCK_FREED;
        atomic_store_explicit(w, used & ~bit, memory_order_relaxed);
        if (feat & F_POISON)
            atomic_store_explicit(w + 2, atomic_load_explicit(w + 2, memory_order_relaxed) | bit,
                                  memory_order_relaxed);
        s->used--;
        lle__dbin_t *b = &dp->bins[g][s->cls];
        b->free[b->nfree++] = (lle__dslot_t){s, i};
    }
    dh_drop(dh, how);
    if ((feat & F_TRACK) && m->audit_cap) {
        lle_site_t fsite = here_site(site, pc);
        lle__audit(m, LLE_AUDIT_FREE, LLE_SUCCESS, p, size, pool, &fsite);
    }
    flush(m, &x);
    return LLE_SUCCESS;
}

/* ---- queries ------------------------------------------------------------------------- */

/* The block of slot i (its heap's flag held), for lle_block_query. */
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
    if (h->asite && h->asite <= lle__dsite_count(d)) {
        const lle__dsite_t *e = lle__dsite_get(d, h->asite);
        out->frames = e->nframes;
        if (e->nframes) memcpy(out->backtrace, e->frames, e->nframes * sizeof *e->frames);
    }
}

static lle_result_t dbg_query(lle_memory_manager_t *m, lle__slab_t *s, const void *p,
                              lle_block_info_t *out)
{
    if (s->kind == LLE__SLAB_GUARD) return lle__guard_query(m, s, p, out);
    lle__dbg_t *d = m->dbg;
    lle_result_t r = LLE_ERROR_INVALID_POINTER;
    memset(out, 0, sizeof *out);
    lle__dheap_t *dh = s->dheap;
    hold_t how = dh_take(m, dh);
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
    dh_drop(dh, how);
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
        atomic_fetch_add_explicit(&m->invalid_frees, 1, memory_order_relaxed);
        lle_site_t here = {0};
        if (site) here = *site;
        else here.pc = pc;
        char hs[160], as[160], fs[160];
        lle__site_describe(&here, hs, sizeof hs);
        lle__site_describe(&info.alloc_site, as, sizeof as);
        lle__site_describe(&info.free_site, fs, sizeof fs);
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
    unsigned every = atomic_load_explicit(&m->guard_every[pool], memory_order_relaxed);
    if (atomic_load_explicit(&m->dbg_mask, memory_order_relaxed) >> pool & 1)
        q = dbg_alloc(m, pool, n, LLE__MIN_ALIGN, site, pc);
    else if (every > 1 && lle__guard_sampled(every))
        q = lle__guard_alloc(m, pool, n, LLE__MIN_ALIGN, site, pc);
    /* A debug block in any case (as dbg_realloc gives), even in a pool
     * whose debugging was switched off since. */
    if (!q) q = block_alloc(m, pool, n, LLE__MIN_ALIGN, site, pc);
    return q ? q : lle_pool_alloc(m, (lle_memory_pool_type_t)pool, n);
}

static void *dbg_sample(lle_memory_manager_t *m, int pool, size_t n, size_t align,
                        const void *pc)
{
    return lle__guard_alloc(m, pool, n, align, NULL, pc);
}

static const lle__dbg_ops_t ops = {dbg_alloc, dbg_free, dbg_realloc, dbg_query, dbg_sample};

/* ---- for guardpage.c ---------------------------------------------------------------- */

bool lle__dbg_tracks(lle_memory_manager_t *m, int pool)
{
    return atomic_load_explicit(&m->dbg->pools[pool].feat, memory_order_relaxed) & F_TRACK;
}

bool lle__dbg_poisons(lle_memory_manager_t *m, int pool)
{
    return atomic_load_explicit(&m->dbg->pools[pool].feat, memory_order_relaxed) & F_POISON;
}

/* Guard-page blocks are few: their per-site totals are one table under
 * site_lock (gcounts), added to the debug heaps' by lle__dbg_totals. */
uint32_t lle__dbg_site_add(lle_memory_manager_t *m, const lle_site_t *site, const void *pc,
                           size_t n)
{
    lle__dbg_t *d = m->dbg;
    uint32_t id = lle__dsite_intern(m, site, pc, NULL, 0);
    if (!id) return 0;
    pthread_mutex_lock(&d->site_lock);
    if (id > d->gcounts_cap) {
        size_t old = d->gcounts_cap;
        if (!lle__array_grow(m, (void **)&d->gcounts, &d->gcounts_cap, id, sizeof *d->gcounts,
                             64)) {
            pthread_mutex_unlock(&d->site_lock);
            return 0;
        }
        memset(d->gcounts + old, 0, (d->gcounts_cap - old) * sizeof *d->gcounts);
    }
    lle__dcount_t *e = &d->gcounts[id - 1];
    e->blocks++;
    e->bytes += n;
    e->allocs++;
    pthread_mutex_unlock(&d->site_lock);
    return id;
}

void lle__dbg_site_sub(lle_memory_manager_t *m, uint32_t id, size_t n)
{
    lle__dbg_t *d = m->dbg;
    if (!id) return;
    pthread_mutex_lock(&d->site_lock);
    lle__dcount_t *e = &d->gcounts[id - 1];
    e->blocks--;
    e->bytes -= n;
    pthread_mutex_unlock(&d->site_lock);
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
    LLE__EACH_DHEAP(d, dh) {
        hold_t how = dh_take(m, dh);
        for (int p = 0; p < LLE_POOL_COUNT; p++) {
            lle__dpool_t *dp = &dh->pools[p];
            for (unsigned k = 0; k < LLE__DLAYOUTS * LLE__NCLASSES; k++) {
                const lle__dbin_t *b = &dp->bins[k / LLE__NCLASSES][k % LLE__NCLASSES];
                for (lle__slab_t *s = b->slabs; s; s = s->next) check_slab(m, s, &x, &found);
            }
            for (lle__slab_t *s = dp->big; s; s = s->next) check_slab(m, s, &x, &found);
        }
        dh_drop(dh, how);
    }
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
    lle__dset_t *set = &d->pools[pool];
    set->cfg = *dbg;
    unsigned feat = (dbg->canary ? F_CANARY : 0) | (dbg->poison ? F_POISON : 0) |
                    (dbg->track ? F_TRACK : 0);
    atomic_store_explicit(&set->feat, feat, memory_order_relaxed);
    atomic_store_explicit(&set->backtrace, dbg->backtrace, memory_order_relaxed);
    atomic_store_explicit(&set->quarantine, dbg->quarantine, memory_order_relaxed);
    atomic_store_explicit(&set->guard, dbg->guard, memory_order_relaxed);
    atomic_store_explicit(&set->blocks, debug_on(dbg), memory_order_relaxed);
    lle__guard_config(m, pool, dbg);
    LLE__EACH_DHEAP(d, dh) {
        hold_t how = dh_take(m, dh);
        quarantine_trim(m, dh, pool, dbg->quarantine, &x);
        dh_drop(dh, how);
    }
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
    static pthread_once_t mb_once = PTHREAD_ONCE_INIT, wide_once = PTHREAD_ONCE_INIT;
    pthread_once(&mb_once, mb_setup);
    pthread_once(&wide_once, wide_setup);
    lle__dbg_t *d = lle__host_alloc(m, sizeof *d, 64, true);
    if (!d) return LLE_ERROR_OUT_OF_MEMORY;
    memset(d, 0, sizeof *d);
    pthread_mutex_init(&d->lock, NULL);
    pthread_mutex_init(&d->site_lock, NULL);
    atomic_init(&d->heaps, NULL);
    atomic_init(&d->nsites, 0);
    d->secret = fresh_secret(m);
    m->dbg = d;
    m->dbg_ops = &ops;
    lle_result_t r = lle__guard_init(m);
    if (r != LLE_SUCCESS) return r;
    for (int p = 0; p < LLE_POOL_COUNT; p++) {
        size_t a = m->pools[p].cfg.alignment;
        for (int g = 0; g < LLE__DLAYOUTS; g++) {
            size_t lead = (HDR_BYTES + front_of_layout(g) + a - 1) & ~(a - 1);
            d->pools[p].lead[g] = lead;
            /* Slot classes are multiples of 64, and lead + back guard of
             * 16: n rounded up to 16 has the class of n. */
            for (size_t k = 0; k < LLE__SMALL_TABLE; k++)
                d->pools[p].cls[g][k] = (uint8_t)lle__class_for(
                    lead + 16 * k + front_of_layout(g), a > LINE ? a : LINE);
        }
        const lle_debug_config_t *c = &m->cfg.pools[p].debug;
        if (debug_on(c) || c->guard || c->guard_start || c->guard_freed)
            lle_memory_set_debug(m, p, c);
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
    LLE__EACH_DHEAP(d, dh) {
        hold_t how = dh_take(m, dh);
        for (int p = 0; p < LLE_POOL_COUNT; p++) {
            lle__dpool_t *dp = &dh->pools[p];
            for (unsigned k = 0; k < LLE__DLAYOUTS * LLE__NCLASSES; k++) {
                lle__dbin_t *b = &dp->bins[k / LLE__NCLASSES][k % LLE__NCLASSES];
                for (lle__slab_t *s = b->slabs, *next; s; s = next) {
                    next = s->next;
                    release_slab(m, s, blocks, bytes);
                }
                b->slabs = b->carve = NULL;
                b->nslabs = b->slots = b->nfree = 0;
            }
            for (lle__slab_t *s = dp->big, *next; s; s = next) {
                next = s->next;
                release_slab(m, s, blocks, bytes);
            }
            dp->big = NULL;
            dp->qhead = dp->qblocks = dp->qbytes = 0;
            dp->phead = dp->pblocks = dp->pbytes = 0;
        }
        dh_drop(dh, how);
    }
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
    for (lle__dheap_t *dh = atomic_load_explicit(&d->heaps, memory_order_acquire), *next; dh;
         dh = next) {
        next = dh->next;
        for (int p = 0; p < LLE_POOL_COUNT; p++) {
            lle__dpool_t *dp = &dh->pools[p];
            if (dp->ring) lle__host_free(m, dp->ring, dp->qcap * sizeof *dp->ring, true);
            if (dp->pend) lle__host_free(m, dp->pend, dp->pcap * sizeof *dp->pend, true);
            for (unsigned k = 0; k < LLE__DLAYOUTS * LLE__NCLASSES; k++) {
                lle__dbin_t *b = &dp->bins[k / LLE__NCLASSES][k % LLE__NCLASSES];
                if (b->free) lle__host_free(m, b->free, b->room * sizeof *b->free, true);
            }
        }
        lle__array_free(m, (void **)&dh->counts, &dh->counts_cap, sizeof *dh->counts);
        pthread_mutex_destroy(&dh->lock);
        lle__host_free(m, dh, sizeof *dh, true);
    }
    lle__array_free(m, (void **)&d->gcounts, &d->gcounts_cap, sizeof *d->gcounts);
    pthread_mutex_destroy(&d->site_lock);
    pthread_mutex_destroy(&d->lock);
    lle__host_free(m, d, sizeof *d, true);
    m->dbg = NULL;
}

lle__dcount_t *lle__dbg_totals(lle_memory_manager_t *m, size_t *n, bool *oom)
{
    lle__dbg_t *d = m->dbg;
    *oom = false;
    *n = 0;
    size_t ns = d ? lle__dsite_count(d) : 0;
    if (!ns) return NULL;
    lle__dcount_t *t = lle__host_alloc(m, ns * sizeof *t, 16, true);
    if (!t) {
        *oom = true;
        return NULL;
    }
    memset(t, 0, ns * sizeof *t);
    LLE__EACH_DHEAP(d, dh) {
        hold_t how = dh_take(m, dh);
        size_t k = dh->counts_cap < ns ? dh->counts_cap : ns;
        for (size_t i = 0; i < k; i++) {
            t[i].blocks += dh->counts[i].blocks;
            t[i].bytes += dh->counts[i].bytes;
            t[i].allocs += dh->counts[i].allocs;
        }
        dh_drop(dh, how);
    }
    pthread_mutex_lock(&d->site_lock);
    for (size_t i = 0; i < d->gcounts_cap && i < ns; i++) {
        t[i].blocks += d->gcounts[i].blocks;
        t[i].bytes += d->gcounts[i].bytes;
        t[i].allocs += d->gcounts[i].allocs;
    }
    pthread_mutex_unlock(&d->site_lock);
    *n = ns;
    return t;
}

void lle__dbg_totals_free(lle_memory_manager_t *m, lle__dcount_t *t, size_t n)
{
    if (t) lle__host_free(m, t, n * sizeof *t, true);
}

size_t lle__dbg_tracked_live(lle_memory_manager_t *m)
{
    lle__dbg_t *d = m->dbg;
    size_t live = 0;
    if (!d) return 0;
    LLE__EACH_DHEAP(d, dh) {
        hold_t how = dh_take(m, dh);
        for (size_t i = 0; i < dh->counts_cap; i++) live += dh->counts[i].blocks;
        dh_drop(dh, how);
    }
    pthread_mutex_lock(&d->site_lock);
    for (size_t i = 0; i < d->gcounts_cap; i++) live += d->gcounts[i].blocks;
    pthread_mutex_unlock(&d->site_lock);
    return live;
}

void lle__dbg_pool_stats(lle_memory_manager_t *m, int pool, lle__dbg_pool_stats_t *out)
{
    memset(out, 0, sizeof *out);
    lle__dbg_t *d = m->dbg;
    if (!d || pool < 0 || pool >= LLE_POOL_COUNT) return;
    LLE__EACH_DHEAP(d, dh) {
        hold_t how = dh_take(m, dh);
        const lle__dpool_t *dp = &dh->pools[pool];
        out->allocs += dp->allocs;
        out->frees += dp->frees;
        out->requested += dp->requested;
        out->live_blocks += dp->live_blocks;
        out->live_bytes += dp->live_bytes;
        out->quarantined_blocks += dp->qblocks;
        out->quarantined_bytes += dp->qbytes;
        out->kept += dp->kept_blocks;
        dh_drop(dh, how);
    }
    lle__guard_pool_stats(m, pool, out);
    pthread_mutex_lock(&m->pools[pool].lock);
    out->slab_bytes = m->pools[pool].debug_bytes;
    pthread_mutex_unlock(&m->pools[pool].lock);
}
