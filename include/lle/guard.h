/*
 * lle/guard.h - catching memory bugs where they happen: debugging modes per
 * pool, the error history and its recovery strategies, heap checks and
 * bounds checks.
 *
 * A pool with any debug feature on (lle_debug_config_t in lle/config.h)
 * serves *debug blocks*.  Layout of one:
 *
 *     with canary:    [ header | 16 guard bytes | the n bytes asked for | guard bytes ]
 *     without:        [ header | the n bytes asked for ]
 *
 * The header holds the block's size, state, sites, thread and time, and a
 * check word keyed with the manager's secret; the slot's state also lives
 * in a bitmap outside the block, so a corrupted header is reported, never
 * trusted.  Each thread that allocates debug blocks keeps them, and their
 * quarantine, in a debug heap of its own; a block freed by another thread
 * is checked and freed there at once.  Guard bytes (canary) are a pattern
 * derived from a per-manager random secret and the block's address,
 * checked on free, on realloc and by lle_detect_memory_errors().  Poison
 * fills fresh blocks with LLE_POISON_FRESH and freed ones with
 * LLE_POISON_FREED; a freed block's poison is verified when its slot is
 * handed out again (after the quarantine), and at the latest once half
 * the quarantine budget more has left the quarantine after it, so a write
 * after free is reported with the block's allocation and free sites.  A
 * double, invalid or interior free of a debug block is reported with both
 * sites of the block concerned.
 *
 * Guard pages (lle_debug_config_t.guard, for every allocation of a pool or
 * one in N sampled; or one block with lle_pool_alloc_guarded): the block
 * gets pages of its own in a region where every slot is followed by an
 * inaccessible page, and is placed against that page (or, with
 * guard_start, against the one before it).  An overflow (underflow) faults
 * at the first byte; the bytes between the block and the page's other end
 * are guard bytes, checked on free.  A freed slot's pages go back to the
 * system and stay inaccessible until the slot is reused (after 256 more
 * frees of guard-page blocks), so a use after free faults too.  The
 * library's SIGSEGV/SIGBUS handler, installed with the first guard-page
 * region, reports such a fault as an error of the manager (code
 * LLE_ERROR_BOUNDS_VIOLATION, LLE_ERROR_USE_AFTER_FREE or
 * LLE_ERROR_ACCESS_DENIED, with the block's size, pool and sites) - to the
 * error callback, then the abort handler if one is set, both called from
 * the signal handler while the process dies - and then lets the previous
 * handler or the default action (a core dump) take the signal.  A fault
 * elsewhere goes straight to the previous handler.
 *
 * Every error of the manager (these and the others: out of memory, bad
 * frees of ordinary blocks, ...) goes through one channel: it is counted
 * per code, kept in a bounded history, added to the audit trail, passed to
 * the error callback, and then handled by the code's recovery strategy.
 */
#ifndef LLE_GUARD_H
#define LLE_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "lle/config.h"
#include "lle/manager.h"
#include "lle/result.h"
#include "lle/track.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- debugging at run time ------------------------------------------------ */

/* Change the debugging features of one of the eight typed pools (the
 * secondary pool is refused).  Blocks allocated before keep theirs; frees
 * of both kinds keep working.  LLE_ERROR_INVALID_ARGUMENT for a bad pool
 * or a bad value (backtrace > 32).  A request a debug block cannot serve -
 * an alignment above 16 KiB, or a pool at its limit - gets an ordinary
 * block (down the hierarchy as usual). */
lle_result_t lle_memory_set_debug(lle_memory_manager_t *m, int pool,
                                  const lle_debug_config_t *dbg);
lle_result_t lle_memory_get_debug(lle_memory_manager_t *m, int pool, lle_debug_config_t *out);

/* ---- errors and recovery ---------------------------------------------------- */

typedef enum lle_recovery {
    /* Counted, recorded, reported to the error callback; the operation
     * fails cleanly (nothing freed that should not be) and the program
     * goes on.  The default for every code. */
    LLE_RECOVER_REPORT = 0,
    /* As REPORT, then the abort handler runs (which must not return; if it
     * does, abort() follows). */
    LLE_RECOVER_ABORT,
    /* As REPORT, and a debug block found corrupted, written after free or
     * freed twice is withheld for good: its memory is never reused. */
    LLE_RECOVER_QUARANTINE,
    /* Counted and recorded, not reported to the callback: for a program
     * that knows it repeats frees (LLE_ERROR_DOUBLE_FREE). */
    LLE_RECOVER_IGNORE
} lle_recovery_t;

/* The strategy for errors with `code`. */
lle_result_t lle_memory_set_recovery(lle_memory_manager_t *m, lle_result_t code,
                                     lle_recovery_t strategy);

/* Runs for LLE_RECOVER_ABORT, after the error callback: a line editor
 * restores the terminal here.  NULL restores the default (abort()). */
typedef void (*lle_abort_fn)(void *user, const lle_memory_error_t *err);
lle_result_t lle_memory_set_abort_handler(lle_memory_manager_t *m, lle_abort_fn fn, void *user);

/* A kept error: the record with its message copied. */
typedef struct lle_error_record {
    lle_memory_error_t error;   /* error.message points to `text` */
    char               text[256];
} lle_error_record_t;

/* The most recent errors (cfg.error_history of them), oldest first.  Same
 * output convention as lle_track_usage; *count is the number held. */
lle_result_t lle_memory_get_errors(lle_memory_manager_t *m, lle_error_record_t *out, size_t cap,
                                   size_t *count);

/* Errors counted per code since creation: counts[code] for code <
 * min(n, LLE_RESULT_COUNT_). */
lle_result_t lle_memory_error_counts(lle_memory_manager_t *m, uint64_t *counts, size_t n);

/* ---- guard pages and access --------------------------------------------------- */

/*
 * A block of n bytes of pool t on pages of its own between inaccessible
 * pages, whatever the pool's debugging (see above); freed with
 * lle_pool_free() like any block.  Costs two system calls and at least two
 * pages of address space: for blocks worth watching, or to be made
 * read-only with lle_memory_protect().  NULL (an error reported, and
 * counted in lle_memory_stats_t.failed_allocations) when no region can be
 * mapped, n is above 64 MiB or t is not a typed pool.
 */
void *lle_pool_alloc_guarded(lle_memory_manager_t *m, lle_memory_pool_type_t t, size_t n);
/* The same, recording `site` (LLE_ALLOC_GUARDED names the calling line). */
void *lle_pool_alloc_guarded_at(lle_memory_manager_t *m, lle_memory_pool_type_t t, size_t n,
                                const lle_site_t *site);
#define LLE_ALLOC_GUARDED(m, t, n) lle_pool_alloc_guarded_at((m), (t), (n), LLE_SITE)

typedef enum lle_access {
    LLE_ACCESS_NONE = 0,
    LLE_ACCESS_READ = 1,
    LLE_ACCESS_READ_WRITE = 3
} lle_access_t;

/*
 * Change what may be done with block p, a live block on guard pages (from
 * lle_pool_alloc_guarded() or a pool with guard pages on): its pages are
 * protected, so a write to a read-only block faults and is reported as
 * LLE_ERROR_ACCESS_DENIED with the block's sites; LLE_ACCESS_READ_WRITE
 * makes it writable again.  Freeing a protected block is allowed.
 * LLE_ERROR_INVALID_ARGUMENT for a block that shares its pages with others
 * (an ordinary or debug block: it cannot be page-protected) or a bad
 * access value; LLE_ERROR_INVALID_POINTER when p is not the start of a
 * live block; LLE_ERROR_HOST_FAILURE when the system refuses (mprotect);
 * LLE_ERROR_NULL_PARAMETER for a NULL p or m.  Each refusal (but a NULL
 * m) is also reported to the error callback, naming p.
 */
lle_result_t lle_memory_protect(lle_memory_manager_t *m, void *p, lle_access_t access);

/* ---- checks ----------------------------------------------------------------- */

/*
 * Check the whole heap now: every debug block's header and guard bytes,
 * the poison of freed and quarantined ones.  Each problem is reported as
 * an error (LLE_ERROR_CORRUPTION, LLE_ERROR_USE_AFTER_FREE) with its
 * sites; *problems (if not NULL) gets their number.  Returns LLE_SUCCESS
 * when none was found, else the code of the first.
 */
lle_result_t lle_detect_memory_errors(lle_memory_manager_t *m, size_t *problems);

/*
 * Whether [p, p+len) lies inside one live block of m, in O(1).  For debug
 * blocks the block is the n bytes asked for; for others, its usable size.
 * LLE_SUCCESS when it does (out, if not NULL, describes the block);
 * LLE_ERROR_BOUNDS_VIOLATION when p is in a live block and the range runs
 * past its end (out describes the block; the violation is also reported);
 * LLE_ERROR_DOUBLE_FREE when p is in a freed debug block;
 * LLE_ERROR_INVALID_POINTER when p is in no block of m.
 * Large blocks of pools without debugging are known by their first byte
 * only: p must be their start.
 */
lle_result_t lle_memory_check_bounds(lle_memory_manager_t *m, const void *p, size_t len,
                                     lle_block_info_t *out);

#ifdef __cplusplus
}
#endif
#endif
