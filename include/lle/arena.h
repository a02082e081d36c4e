/*
 * lle/arena.h - hierarchical arenas: memory whose lifetime is a scope.
 *
 * An arena hands out memory by bumping a pointer through chunks it takes
 * from one of the manager's pools, and gives it all back at once: a reset
 * rewinds every chunk for reuse (chunks stay with the arena, so an arena
 * reset after every keystroke stops calling the pools after the first few),
 * a destroy returns the chunks to the pool.  Nothing allocated from an
 * arena is freed on its own.
 *
 * Arenas form a tree.  A child is destroyed when its parent is reset or
 * destroyed, before the parent's own memory goes; destructors registered
 * with lle_arena_defer run in reverse order of registration, after the
 * children are gone and before the memory is rewound.  A mark records a
 * position to rewind to later (scratch use inside a scope).
 *
 * Every allocation is aligned to 16 bytes (alignof(max_align_t) on the
 * platforms we build for) or to the alignment asked for.  An arena may have
 * a byte limit: an allocation that would take the bytes handed out since
 * the last reset past it fails with LLE_ERROR_ARENA_LIMIT (reported to the
 * manager's error callback, NULL returned, the arena unchanged).
 *
 * Threads: an arena and its children are used by one thread at a time (the
 * caller serialises); different arena trees may be used concurrently.  A
 * parent must not be reset or destroyed while another thread still uses one
 * of its children: the child is destroyed under it.
 *
 * Under AddressSanitizer the space of a chunk not handed out, and every
 * byte after a reset, rewind or destroy, is poisoned: reading arena memory
 * after its scope ended is reported where it happens.
 */
#ifndef LLE_ARENA_H
#define LLE_ARENA_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "lle/config.h"
#include "lle/manager.h"
#include "lle/result.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lle_arena lle_arena_t;

/* The largest alignment lle_arena_alloc_aligned accepts. */
#define LLE_ARENA_MAX_ALIGN ((size_t)4096)

typedef struct lle_arena_config {
    /* Pool the chunks come from.  Default LLE_POOL_TEMP; a child created
     * with a NULL config takes its parent's. */
    lle_memory_pool_type_t pool;
    /* Bytes handed out between resets at most (alignment padding counted);
     * SIZE_MAX (the default) for none.  0 is refused. */
    size_t limit;
    /* Size of the first chunk (rounded up to a power of two).  A new
     * chunk is as large as the arena's chunks together, up to 16 times
     * this; a larger request gets a chunk of its own size.  Default 4 KiB;
     * between 256 bytes and 1 MiB. */
    size_t chunk_size;
} lle_arena_config_t;

void lle_arena_config_default(lle_arena_config_t *cfg);

/*
 * Create an arena.  parent NULL: a root arena of manager m; else m must be
 * the parent's manager.  name is copied (NULL: "arena").  cfg NULL: the
 * defaults, or for a child its parent's pool and chunk size, no limit.
 * Errors: LLE_ERROR_NULL_PARAMETER (m or out), LLE_ERROR_INVALID_ARGUMENT
 * (bad config, or a parent of another manager), LLE_ERROR_INVALID_STATE
 * (parent being reset), LLE_ERROR_OUT_OF_MEMORY.
 */
lle_result_t lle_arena_create(lle_memory_manager_t *m, lle_arena_t *parent, const char *name,
                              const lle_arena_config_t *cfg, lle_arena_t **out);

/* Destroy a: its children first, then its destructors, then its chunks go
 * back to the pool and a is gone.  Removes a from its parent.  NULL a:
 * LLE_SUCCESS.  LLE_ERROR_INVALID_STATE when called from one of a's own
 * destructors (or an ancestor's reset in progress); nothing is done. */
lle_result_t lle_arena_destroy(lle_arena_t *a);

/* Destroy the children, run the destructors, and make every chunk's memory
 * available again; the chunks are kept (a chunk no reset cycle has used for
 * 8 resets goes back to the pool, and after 4 cycles in a row that needed
 * more than the first chunk, a first chunk as large as the others together
 * takes its place).  LLE_ERROR_INVALID_STATE from a's own destructors. */
lle_result_t lle_arena_reset(lle_arena_t *a);

/* n bytes (n == 0 is served as 1), 16-aligned.  NULL when a is NULL or
 * resetting, n is too large, the limit is reached or no memory is left; the
 * reason goes to the manager's error callback. */
void *lle_arena_alloc(lle_arena_t *a, size_t n);
/* k * n zeroed bytes; NULL also when k * n overflows. */
void *lle_arena_calloc(lle_arena_t *a, size_t k, size_t n);
/* n bytes aligned to align (a power of two up to LLE_ARENA_MAX_ALIGN). */
void *lle_arena_alloc_aligned(lle_arena_t *a, size_t n, size_t align);
/* Copies of s (NULL s gives NULL), of at most n bytes of s. */
char *lle_arena_strdup(lle_arena_t *a, const char *s);
char *lle_arena_strndup(lle_arena_t *a, const char *s, size_t n);
/* A formatted string in the arena; NULL on a format error or no memory. */
char *lle_arena_printf(lle_arena_t *a, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
char *lle_arena_vprintf(lle_arena_t *a, const char *fmt, va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 0)))
#endif
    ;

/* Run fn(arg) when a is next reset, rewound past this point, or destroyed.
 * Destructors run in reverse order of registration, once each, and may not
 * use a (its calls return LLE_ERROR_INVALID_STATE or NULL meanwhile).
 * Errors: NULL a or fn, LLE_ERROR_INVALID_STATE, LLE_ERROR_OUT_OF_MEMORY
 * (the registration takes a few bytes of the arena, counted in its limit). */
lle_result_t lle_arena_defer(lle_arena_t *a, void (*fn)(void *arg), void *arg);

/* A position in an arena.  Its fields are private. */
typedef struct lle_arena_mark {
    const void *arena_;
    void    *chunk_;
    void    *pos_;
    void    *dtors_;
    size_t   used_;
    uint64_t epoch_;
    uint64_t child_seq_;
} lle_arena_mark_t;

/* The current position of a (a zeroed mark for NULL a). */
lle_arena_mark_t lle_arena_mark(const lle_arena_t *a);
/* Go back to mark: children created since are destroyed, destructors
 * registered since run, memory handed out since is available again.
 * LLE_ERROR_INVALID_ARGUMENT when the mark is not a position a still has
 * (taken from another arena, before a reset, or after where a is now). */
lle_result_t lle_arena_rewind(lle_arena_t *a, const lle_arena_mark_t *mark);

/* Change the limit (SIZE_MAX: none).  LLE_ERROR_INVALID_ARGUMENT for 0 or
 * a limit below the bytes already handed out. */
lle_result_t lle_arena_set_limit(lle_arena_t *a, size_t limit);

typedef struct lle_arena_stats {
    const char *name;          /* valid while the arena lives */
    int         pool;          /* lle_memory_pool_type_t of its chunks */
    unsigned    depth;         /* 0 for a root */
    size_t      children;      /* direct children */
    size_t      used;          /* bytes handed out since the last reset (padding included) */
    size_t      peak_used;     /* most bytes handed out between two resets */
    size_t      limit;         /* SIZE_MAX: none */
    size_t      chunks;        /* chunks held */
    size_t      chunk_bytes;   /* their usable bytes */
    size_t      chunk_allocs;  /* chunks ever taken from the pool */
    size_t      chunk_frees;   /* chunks given back before destroy (unused for 8 resets) */
    uint64_t    allocs;        /* allocations since the last reset */
    uint64_t    total_allocs;  /* allocations since creation */
    uint64_t    resets;
    uint64_t    rewinds;
    uint64_t    destructors_run;
    uint64_t    limit_failures;
} lle_arena_stats_t;

lle_result_t lle_arena_get_stats(const lle_arena_t *a, lle_arena_stats_t *out);

/* The arena's parent (NULL for a root) and its manager. */
lle_arena_t *lle_arena_parent(const lle_arena_t *a);
lle_memory_manager_t *lle_arena_manager(const lle_arena_t *a);

/*
 * The tree below a, one line per arena, children indented by two spaces
 * under their parent:
 *     session: 1296/4064 B used in 1 chunk, 7 allocs, 2 children
 * Writes at most cap bytes (NUL included) to buf and stores in *needed
 * (when not NULL) the length of the whole text without the NUL.
 * LLE_ERROR_BUFFER_TOO_SMALL when it did not fit (buf then holds a
 * truncated, NUL-terminated text if cap > 0).
 */
lle_result_t lle_arena_format_tree(const lle_arena_t *a, char *buf, size_t cap, size_t *needed);

/* ---- the four scopes of a line editor ------------------------------------
 *
 * A session lasts as long as the editor; an edit is one call that reads a
 * line; an event is one key or signal; a frame is one redraw.  Each scope
 * has an arena, a child of the scope around it (session > edit > event >
 * frame), created on first use:
 *
 *     session  LLE_POOL_CUSTOM   edit   LLE_POOL_STRING
 *     event    LLE_POOL_EVENT    frame  LLE_POOL_TEMP
 *
 * Ending a scope resets its arena, which destroys the arenas of the scopes
 * inside it: a pointer to an inner scope's arena must be fetched again with
 * lle_scope_arena after an outer scope ended.  Like arenas, a scope set is
 * used by one thread at a time.
 */
typedef enum lle_scope {
    LLE_SCOPE_SESSION = 0,
    LLE_SCOPE_EDIT,
    LLE_SCOPE_EVENT,
    LLE_SCOPE_FRAME,
    LLE_SCOPE_COUNT
} lle_scope_t;

typedef struct lle_scopes lle_scopes_t;

lle_result_t lle_scopes_create(lle_memory_manager_t *m, lle_scopes_t **out);
/* Destroys the session arena and with it every scope's. */
lle_result_t lle_scopes_destroy(lle_scopes_t *s);
/* The arena of scope `which` (and of the scopes around it), created when
 * missing; NULL for a bad argument or no memory. */
lle_arena_t *lle_scope_arena(lle_scopes_t *s, lle_scope_t which);
/* End scope `which`: reset its arena (when it exists), destroying those of
 * the scopes inside it. */
lle_result_t lle_scope_end(lle_scopes_t *s, lle_scope_t which);

#ifdef __cplusplus
}
#endif
#endif
