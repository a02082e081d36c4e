/*
 * lle/config.h - configuration of a memory manager.
 *
 * A configuration is a plain struct: fill it with lle_memory_config_default(),
 * change what you need, pass it to lle_memory_manager_create().  At creation
 * the environment variable LLE_MEMORY_OPTIONS (unless cfg->read_environment
 * is false) is applied on top, with the syntax of
 * lle_memory_config_apply_options().
 */
#ifndef LLE_CONFIG_H
#define LLE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lle/host.h"
#include "lle/result.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The typed pools of the specification (section 2.1). */
typedef enum lle_memory_pool_type {
    LLE_POOL_BUFFER = 0,  /* text buffer storage */
    LLE_POOL_EVENT,       /* input and display events: small, very frequent */
    LLE_POOL_STRING,      /* strings and text fragments */
    LLE_POOL_TEMP,        /* short-lived scratch */
    LLE_POOL_HISTORY,     /* history entries */
    LLE_POOL_SYNTAX,      /* syntax highlighting */
    LLE_POOL_COMPLETION,  /* tab completion candidates */
    LLE_POOL_CUSTOM,      /* user customisation */
    LLE_POOL_COUNT
} lle_memory_pool_type_t;

/* Index of the secondary (general) pool in per-pool tables such as
 * lle_memory_stats_t.pools: it follows the eight typed pools. */
#define LLE_POOL_SECONDARY LLE_POOL_COUNT
#define LLE_POOL_TABLE_SIZE (LLE_POOL_COUNT + 1)

/* Name of a pool type ("buffer", "event", ..., "secondary"), NULL when out of
 * range.  These are the names used in LLE_MEMORY_OPTIONS. */
const char *lle_pool_type_name(int pool);

/*
 * Debugging of one pool (lle/guard.h, lle/track.h).  All off by default: a
 * pool with every feature off runs at full speed.  When any is on, every
 * allocation of the pool is a *debug block* (a header with its sites, guard
 * bytes around it) served by a debug heap per thread: a few times slower,
 * never blind.  Features can be changed at run time with lle_memory_set_debug();
 * blocks keep the features they were allocated with.
 */
typedef struct lle_debug_config {
    /* Record each live block's call site, thread and time; leak reports,
     * snapshots, the audit trail. */
    bool     track;
    /* Also record a backtrace of this many frames (0-32; needs track). */
    unsigned backtrace;
    /* Guard bytes before and after each block, keyed with a per-manager
     * random secret, checked on free and by lle_detect_memory_errors(). */
    bool     canary;
    /* Fill fresh blocks with LLE_POISON_FRESH and freed ones with
     * LLE_POISON_FREED; a freed block's poison is verified before its
     * memory is used again. */
    bool     poison;
    /* Bytes of freed blocks held back from reuse (FIFO), 0 for none; each
     * thread's debug heap holds up to this many. */
    size_t   quarantine;
    /* Guard pages (lle/guard.h): 0 off; 1 every allocation of the pool;
     * N > 1 one allocation in N, at random intervals (N on average), like
     * GWP-ASan: the other allocations keep the pool's fast path (and its
     * other features: with any of the above on, they are debug blocks). */
    unsigned guard;
    /* Place guard-page blocks at the start of their page, so that an
     * underflow faults at once (an overflow is then caught on free by the
     * guard bytes after the block); default: at the end, an overflow
     * faults at once. */
    bool     guard_start;
    /* How a freed guard-page block catches a use after free.
     *   LLE_GUARD_FREED_AUTO   FAULT for guard 0 (blocks asked for with
     *                          lle_pool_alloc_guarded) and 1, POISON when
     *                          sampled (guard > 1)
     *   LLE_GUARD_FREED_FAULT  its pages become inaccessible: a read or
     *                          write faults at once (two system calls a
     *                          block, several microseconds on some systems)
     *   LLE_GUARD_FREED_POISON it is filled with LLE_POISON_FREED, verified
     *                          when its slot is reused and by
     *                          lle_detect_memory_errors(): a write is
     *                          reported then, with both sites (no system
     *                          call once the slot exists) */
    int      guard_freed;
} lle_debug_config_t;

enum { LLE_GUARD_FREED_AUTO = 0, LLE_GUARD_FREED_FAULT = 1, LLE_GUARD_FREED_POISON = 2 };

/* The fill patterns of lle_debug_config_t.poison. */
#define LLE_POISON_FRESH 0xCD
#define LLE_POISON_FREED 0xDD

typedef struct lle_pool_config {
    /* Bytes of slabs taken from the host when the manager is created. */
    size_t initial_size;
    /* Upper bound on the bytes the pool may hold (slabs and large blocks).
     * When it is reached the allocation falls to the secondary pool. */
    size_t max_size;
    /* Preferred block size: the largest slab the pool takes from the host,
     * a power of two from 64 KiB to 512 KiB.  Requests up to block_size/8
     * are served from slabs (each size class from the smallest slab, 16 KiB
     * or more, that holds 8 of its blocks); larger ones come straight from
     * the host with a small header. */
    size_t block_size;
    /* Minimum alignment of every block of the pool: a power of two from 16
     * to the page size (4096). */
    size_t alignment;
    /* Capacity multiplier when the pool grows (> 1.0, at most 4.0). */
    double growth_factor;
    /* Utilisation (bytes of live blocks in slabs / bytes of slabs) at or
     * above which the pool's slabs of the size needed grow by growth_factor
     * instead of one at a time, and below which empty slabs go back to the
     * host down to the initial size.  0 < shrink < grow <= 1. */
    double grow_threshold;
    double shrink_threshold;
    /* Debugging features of the pool (all off by default). */
    lle_debug_config_t debug;
} lle_pool_config_t;

/* ---- the secure pool's configuration (lle/secure.h) ------------------------ */

/* How sensitive a block's content is (spec 10.2).  The sealing policy
 * compares it with lle_secure_config_t.sensitive_level. */
typedef enum lle_sensitivity {
    LLE_SENSITIVITY_LOW = 0,
    LLE_SENSITIVITY_MEDIUM,
    LLE_SENSITIVITY_HIGH,
    LLE_SENSITIVITY_CRITICAL,
    LLE_SENSITIVITY_COUNT
} lle_sensitivity_t;

typedef enum lle_secure_lock_policy {
    LLE_SECURE_LOCK_REPORT = 0,   /* continue unlocked, counted and reported */
    LLE_SECURE_LOCK_REQUIRED = 1  /* fail the allocation (reported) */
} lle_secure_lock_policy_t;

/* Longest cold-seal age and rotation interval accepted (30 and 365 days). */
#define LLE_SECURE_COLD_SEAL_MAX_MS ((uint64_t)30 * 24 * 3600 * 1000)
#define LLE_SECURE_ROTATE_MAX_MS ((uint64_t)365 * 24 * 3600 * 1000)

typedef struct lle_secure_config {
    lle_secure_lock_policy_t lock_policy;   /* default LLE_SECURE_LOCK_REPORT */
    /* The policy flags of spec 10.2: what cold sealing seals (the calls
     * lle_secure_seal_cold and lle_history_seal_cold, and lle_memory_idle
     * with cold_seal_ms set).  encrypt_all_allocations: every block;
     * encrypt_sensitive_data: blocks of sensitivity >= sensitive_level.
     * Defaults: false, true, LLE_SENSITIVITY_MEDIUM. */
    bool              encrypt_sensitive_data;
    bool              encrypt_all_allocations;
    lle_sensitivity_t sensitive_level;
    /* Bytes of secure mappings (guard pages included) the manager may
     * hold; 0: no limit but the lock limit.  Default 0. */
    size_t            max_bytes;
    /* Cold sealing from lle_memory_idle: entries of history stores, and
     * secure blocks marked with lle_secure_auto_seal, that the policy
     * covers and that were not used for this many milliseconds are
     * sealed, a few at a time within the idle budget.  0: off (the
     * default); at most LLE_SECURE_COLD_SEAL_MAX_MS. */
    uint64_t          cold_seal_ms;
    /* Key rotation from lle_memory_idle: once the sealing keys are this
     * many milliseconds old, new keys are drawn and the sealed blocks are
     * re-sealed with them, a few at a time within the idle budget (the
     * old keys are wiped when the last one is done).  0: off (the
     * default); at most LLE_SECURE_ROTATE_MAX_MS. */
    uint64_t          rotate_interval_ms;
} lle_secure_config_t;

typedef struct lle_memory_config {
    lle_pool_config_t pools[LLE_POOL_TABLE_SIZE]; /* 8 typed + secondary */
    /* Bytes reserved from the host at creation and used only when the host
     * fails; 0 disables the reserve.  Rounded up to 16 KiB. */
    size_t emergency_reserve;
    /* Entries kept in each pool's resize history (ring). */
    size_t resize_history;
    /* Host bytes of freed large blocks (up to 256 KiB each) kept for reuse
     * by the next large request of the same pool and size class, instead
     * of going back to the host at once; they count in their pool's
     * reserved bytes and limit, and trimming releases them.  Default 8m,
     * at most 64m; 0 disables the cache. */
    size_t large_cache;
    /* Entries of the audit trail (recent operations of debugged pools and
     * every error), 0 to keep none.  Default 0, at most 1048576. */
    size_t audit_entries;
    /* Errors kept in the error history (lle_memory_get_errors).  Default
     * 64, at most 65536. */
    size_t error_history;
    /* Backing allocator; NULL means lle_host_system(). The struct is copied. */
    const lle_host_allocator_t *host;
    /* Apply LLE_MEMORY_OPTIONS at creation (default true). */
    bool read_environment;
    /* Error reports, also of creation itself (a bad option names itself
     * here).  NULL: errors are only returned. */
    lle_memory_error_fn error_fn;
    void *error_user;
    /* The secure pool (lle/secure.h); lle_secure_configure changes it
     * later.  Defaults: see lle_secure_config_t. */
    lle_secure_config_t secure;
} lle_memory_config_t;

/* Fill cfg with the defaults documented in README.md. cfg must not be NULL. */
void lle_memory_config_default(lle_memory_config_t *cfg);

/*
 * Apply an option string to cfg: comma-separated key=value entries.
 *   emergency_reserve=SIZE  resize_history=N  large_cache=SIZE
 *   pool.NAME.initial=SIZE  pool.NAME.max=SIZE  pool.NAME.block=SIZE
 *   pool.NAME.align=N       pool.NAME.growth=REAL
 *   pool.NAME.grow_threshold=REAL  pool.NAME.shrink_threshold=REAL
 *   pool.NAME.debug=FEATURES  pool.NAME.quarantine=SIZE  pool.NAME.backtrace=N
 *   pool.NAME.guard=off|all|N  pool.NAME.guard_side=end|start
 *   pool.NAME.guard_freed=auto|fault|poison
 *   audit=N  error_history=N
 *   secure.lock=report|required  secure.level=low|medium|high|critical
 *   secure.encrypt_sensitive=on|off  secure.encrypt_all=on|off  secure.max=SIZE
 *   secure.cold_seal=DURATION  secure.rotate=DURATION
 * NAME is a pool type name, "secondary", or "all" (every pool).  FEATURES is
 * "off", "full" (track, canary, poison, 1m quarantine) or features joined
 * by '+': track, canary, poison, quarantine (1m unless set otherwise).  SIZE is a decimal number with an
 * optional k, m or g suffix (powers of 1024).  DURATION is "off", 0, or a
 * decimal number with a unit: ms, s, min, h or d.  White space around entries is
 * ignored; an empty string is valid and changes nothing.
 *
 * On any error cfg is left unchanged, LLE_ERROR_INVALID_OPTION is returned
 * and, if errbuf is not NULL, a sentence naming the offending entry is
 * written to it (truncated to errlen, always NUL-terminated).
 */
lle_result_t lle_memory_config_apply_options(lle_memory_config_t *cfg, const char *options,
                                             char *errbuf, size_t errlen);

/* Check a configuration for consistency; same error reporting as above. */
lle_result_t lle_memory_config_validate(const lle_memory_config_t *cfg, char *errbuf,
                                        size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
