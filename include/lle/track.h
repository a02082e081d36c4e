/*
 * lle/track.h - where memory goes: call sites, live-block records, leak
 * reports, snapshots and their diff, the audit trail.
 *
 * Records exist for the blocks of pools with debugging on - tracking
 * (lle_debug_config_t.track, e.g. LLE_MEMORY_OPTIONS="pool.string.debug=track"
 * or "pool.all.debug=track") or any other feature; only tracked pools add
 * their operations to the audit trail.  Each live block knows its size, pool, call
 * site, thread and allocation time (and a backtrace when configured);
 * records are added and removed in O(1), and every call site keeps running
 * totals of its live blocks, so a leak report or a snapshot costs time in
 * the number of call sites, not of blocks.
 *
 * Reports are handed to a callback as text or JSON; the library never
 * prints.  A call site reached with different backtraces is one row per
 * backtrace.
 */
#ifndef LLE_TRACK_H
#define LLE_TRACK_H

#include <stddef.h>
#include <stdint.h>

#include "lle/config.h"
#include "lle/manager.h"
#include "lle/pool.h"
#include "lle/result.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- allocation with a call site ------------------------------------------ */

/* The call site of the expression that uses it. */
#define LLE_SITE (&(const lle_site_t){__FILE__, __LINE__, __func__, 0})

/* As lle_pool_alloc / calloc / alloc_aligned / realloc / free, recording
 * `site` (NULL: the caller's return address) for blocks of tracked pools. */
LLE_MALLOC_ATTR void *lle_pool_alloc_at(lle_memory_manager_t *m, lle_memory_pool_type_t t,
                                        size_t n, const lle_site_t *site);
LLE_MALLOC_ATTR void *lle_pool_calloc_at(lle_memory_manager_t *m, lle_memory_pool_type_t t,
                                         size_t k, size_t n, const lle_site_t *site);
LLE_MALLOC_ATTR void *lle_pool_alloc_aligned_at(lle_memory_manager_t *m, lle_memory_pool_type_t t,
                                                size_t n, size_t align, const lle_site_t *site);
void *lle_pool_realloc_at(lle_memory_manager_t *m, void *p, size_t n, const lle_site_t *site);
lle_result_t lle_pool_free_at(lle_memory_manager_t *m, void *p, const lle_site_t *site);

#define LLE_ALLOC(m, t, n) lle_pool_alloc_at((m), (t), (n), LLE_SITE)
#define LLE_CALLOC(m, t, k, n) lle_pool_calloc_at((m), (t), (k), (n), LLE_SITE)
#define LLE_ALLOC_ALIGNED(m, t, n, a) lle_pool_alloc_aligned_at((m), (t), (n), (a), LLE_SITE)
#define LLE_REALLOC(m, p, n) lle_pool_realloc_at((m), (p), (n), LLE_SITE)
#define LLE_FREE(m, p) lle_pool_free_at((m), (p), LLE_SITE)

/* ---- one block ------------------------------------------------------------- */

typedef enum lle_block_state {
    LLE_BLOCK_LIVE = 1,      /* allocated */
    LLE_BLOCK_QUARANTINED,   /* freed, waiting in the quarantine */
    LLE_BLOCK_KEPT,          /* freed and withheld for good (recovery strategy) */
    LLE_BLOCK_FREED          /* freed; the slot is free for reuse */
} lle_block_state_t;

typedef struct lle_block_info {
    const void       *start;       /* first byte of the block */
    size_t            size;        /* bytes asked for (debug blocks) or usable bytes */
    int               pool;        /* lle_memory_pool_type_t or LLE_POOL_SECONDARY */
    lle_block_state_t state;
    int               debug;       /* 1: a debug block (the fields below are known) */
    int               guarded;     /* 1: a block on guard pages (also debug) */
    lle_site_t        alloc_site;
    lle_site_t        free_site;   /* for freed blocks */
    unsigned long     thread;      /* allocating thread (kernel thread id) */
    unsigned long long time_ns;    /* allocation time, CLOCK_MONOTONIC */
    unsigned          frames;      /* backtrace frames recorded */
    const void       *backtrace[32];
} lle_block_info_t;

/*
 * What the library knows of the block that contains p (p may point inside
 * it).  LLE_SUCCESS for a live block; for a freed debug block whose slot is
 * not reused yet, LLE_ERROR_DOUBLE_FREE with the record filled (state says
 * which); LLE_ERROR_INVALID_POINTER when p is in no block of m.
 */
lle_result_t lle_block_query(lle_memory_manager_t *m, const void *p, lle_block_info_t *out);

/* ---- reports ---------------------------------------------------------------- */

typedef enum lle_format { LLE_FORMAT_TEXT = 0, LLE_FORMAT_JSON = 1 } lle_format_t;

/* Receives a report: `len` bytes of text (NUL-terminated), valid only
 * during the call. */
typedef void (*lle_text_fn)(void *user, const char *text, size_t len);

/* Live blocks of tracked pools per call site (and backtrace). */
typedef struct lle_site_usage {
    lle_site_t site;
    unsigned   frames;
    const void *backtrace[32];
    size_t     blocks;       /* live blocks */
    size_t     bytes;        /* their bytes (as asked for) */
    uint64_t   allocations;  /* every allocation ever made there */
} lle_site_usage_t;

/* The live blocks of tracked pools, grouped by call site, sorted by bytes
 * (largest first).  Writes up to cap rows to out; *count gets the number
 * of sites with live blocks (LLE_ERROR_BUFFER_TOO_SMALL when > cap). */
lle_result_t lle_track_usage(lle_memory_manager_t *m, lle_site_usage_t *out, size_t cap,
                             size_t *count);

/* The same as a report: text (one line per site, then a total) or JSON
 * ({"blocks":N,"bytes":N,"sites":[{"file":..,"line":..,"function":..,
 * "blocks":N,"bytes":N,"allocations":N,"backtrace":[..]}]}).  A manager
 * with no tracked pool gives an empty report. */
lle_result_t lle_leak_report(lle_memory_manager_t *m, lle_format_t format, lle_text_fn fn,
                             void *user);

/* Where the leak report goes when the manager is destroyed with tracked
 * blocks still live (in addition to the LLE_ERROR_MEMORY_LEAK error).
 * NULL fn: nowhere. */
lle_result_t lle_memory_set_leak_report(lle_memory_manager_t *m, lle_format_t format,
                                        lle_text_fn fn, void *user);

/* ---- snapshots ---------------------------------------------------------------- */

typedef struct lle_snapshot lle_snapshot_t;

/* The live blocks per call site now (memory from the manager's host). */
lle_result_t lle_snapshot_take(lle_memory_manager_t *m, lle_snapshot_t **out);
void lle_snapshot_free(lle_snapshot_t *s);

typedef enum lle_diff_kind {
    LLE_DIFF_APPEARED = 1,  /* no live block there before */
    LLE_DIFF_GREW,
    LLE_DIFF_SHRANK,
    LLE_DIFF_GONE           /* no live block there after */
} lle_diff_kind_t;

typedef struct lle_snapshot_change {
    lle_site_t      site;
    lle_diff_kind_t kind;
    long long       blocks_delta, bytes_delta;
    size_t          blocks_after, bytes_after;
} lle_snapshot_change_t;

/* The call sites whose live blocks or bytes differ from `before` to
 * `after` (two snapshots of one manager), largest byte change first.  Same
 * output convention as lle_track_usage. */
lle_result_t lle_snapshot_diff(const lle_snapshot_t *before, const lle_snapshot_t *after,
                               lle_snapshot_change_t *out, size_t cap, size_t *count);

/* The diff as a report (text or JSON {"changes":[...]}). */
lle_result_t lle_snapshot_diff_report(const lle_snapshot_t *before, const lle_snapshot_t *after,
                                      lle_format_t format, lle_text_fn fn, void *user);

/* ---- audit trail ------------------------------------------------------------ */

typedef enum lle_audit_op {
    LLE_AUDIT_ALLOC = 1,
    LLE_AUDIT_FREE,
    LLE_AUDIT_REALLOC,   /* address: the new block; size: its size */
    LLE_AUDIT_ERROR      /* code says which */
} lle_audit_op_t;

typedef struct lle_audit_entry {
    lle_audit_op_t     op;
    lle_result_t       code;       /* LLE_SUCCESS, or the error */
    const void        *address;
    size_t             size;
    int                pool;
    lle_site_t         site;
    unsigned long      thread;
    unsigned long long time_ns;
} lle_audit_entry_t;

/* The last entries of the audit trail (cfg.audit_entries of them; the
 * operations of debugged pools and every error), oldest first.  Same output
 * convention as lle_track_usage; *count is the number held. */
lle_result_t lle_audit_get(lle_memory_manager_t *m, lle_audit_entry_t *out, size_t cap,
                           size_t *count);

/* The audit trail as a report (text, or JSON {"entries":[...]}). */
lle_result_t lle_audit_dump(lle_memory_manager_t *m, lle_format_t format, lle_text_fn fn,
                            void *user);

#ifdef __cplusplus
}
#endif
#endif
