/*
 * lle/result.h - the one error channel of lle-memory.
 *
 * Every fallible call returns an lle_result_t (or NULL for the allocation
 * calls, whose reason is then reported to the manager's error callback).
 * Codes are stable: new ones are only ever appended.
 */
#ifndef LLE_RESULT_H
#define LLE_RESULT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lle_result {
    LLE_SUCCESS = 0,
    LLE_ERROR_NULL_PARAMETER,          /* a required pointer was NULL */
    LLE_ERROR_INVALID_ARGUMENT,        /* a value out of its documented range */
    LLE_ERROR_OUT_OF_MEMORY,           /* every level of the hierarchy failed */
    LLE_ERROR_INVALID_POINTER,         /* not a block of this manager (foreign, interior, stack) */
    LLE_ERROR_DOUBLE_FREE,             /* the block is already free */
    LLE_ERROR_INVALID_STATE,           /* the call is not allowed in the current state */
    LLE_ERROR_INVALID_STATE_TRANSITION,/* the transition table forbids it */
    LLE_ERROR_INVALID_OPTION,          /* a bad LLE_MEMORY_OPTIONS entry */
    LLE_ERROR_POOL_LIMIT,              /* a pool reached its maximum size */
    LLE_ERROR_NOT_SUPPORTED,           /* not built yet; see README "Not yet" */
    LLE_ERROR_MEMORY_LEAK,             /* blocks were still live at shutdown */
    LLE_ERROR_HOST_FAILURE,            /* the host allocator refused */
    LLE_ERROR_SELFTEST_FAILED,         /* a self-test run failed */
    LLE_ERROR_BUFFER_TOO_SMALL,        /* output did not fit; the length needed is returned */
    LLE_ERROR_ARENA_LIMIT,             /* an arena reached its byte limit */
    LLE_ERROR_DEAD_OBJECT,             /* the object was already destroyed */
    LLE_ERROR_CORRUPTION,              /* guard bytes or a block header were overwritten */
    LLE_ERROR_USE_AFTER_FREE,          /* a freed block was written (its poison changed) */
    LLE_ERROR_BOUNDS_VIOLATION,        /* a range does not lie inside one live block */
    LLE_ERROR_ACCESS_DENIED,           /* a block was written while read-only (lle_memory_protect) */
    LLE_ERROR_LOCK_LIMIT,              /* secure memory could not be locked in RAM (RLIMIT_MEMLOCK) */
    LLE_ERROR_NOT_SEALED,              /* unseal of a block that is not sealed */
    LLE_ERROR_KEY_ROTATED,             /* a sealed block's key was rotated away: it cannot be unsealed */
    LLE_ERROR_NOT_FOUND,               /* no entry under that key */
    LLE_ERROR_INVALID_ENCODING,        /* text is not valid UTF-8 */
    LLE_ERROR_INVALID_POSITION,        /* a text position past the end, inside a codepoint or cluster */
    LLE_ERROR_INVALID_LINE_INDEX,      /* a line index past the last line */
    LLE_ERROR_SIZE_LIMIT,              /* a text would pass its configured maximum size */
    LLE_RESULT_COUNT_
} lle_result_t;

/* A short English description of r; never NULL (unknown codes give
 * "unknown result code"). */
const char *lle_result_string(lle_result_t r);

/* A call site: where an allocation or free was made.  The allocation
 * macros of lle/track.h fill it from __FILE__, __LINE__ and __func__; calls
 * without a site record the caller's return address instead (`pc`), which
 * reports resolve to a symbol when they can.  All zero: unknown. */
typedef struct lle_site {
    const char *file;
    int         line;
    const char *func;
    const void *pc;
} lle_site_t;

/* What the manager reports to its error callback: the structured error
 * record.  The library never prints: this record is the only place details
 * go.  `message` is a NUL-terminated English sentence (under 512 bytes) valid only during the
 * callback (lle_memory_get_errors() keeps copies).  The sites are known
 * for blocks of pools with debugging on (lle/guard.h); else they are zero. */
typedef struct lle_memory_error {
    lle_result_t code;
    int          pool;      /* lle_memory_pool_type_t, or -1 when none applies */
    size_t       size;      /* requested size, 0 when none applies */
    const void  *address;   /* the pointer concerned, NULL when none applies */
    const char  *message;
    lle_site_t   alloc_site;/* where the block concerned was allocated */
    lle_site_t   free_site; /* where it was freed (for errors about freed blocks) */
    unsigned long thread;   /* the thread that met the error (its kernel thread id) */
    unsigned long long time_ns; /* when: CLOCK_MONOTONIC nanoseconds */
} lle_memory_error_t;

typedef void (*lle_memory_error_fn)(void *user, const lle_memory_error_t *err);

#ifdef __cplusplus
}
#endif
#endif
