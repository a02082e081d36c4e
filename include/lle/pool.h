/*
 * lle/pool.h - allocation.
 *
 * Blocks come from the typed pool named in the call (primary), else from the
 * secondary pool, else from the emergency reserve; when all three fail the
 * call returns NULL and reports LLE_ERROR_OUT_OF_MEMORY to the error
 * callback.  Every block is aligned to at least 16 bytes (max_align_t) and
 * to its pool's configured alignment, and never moves while it is live.
 *
 * Any thread may free any block.  Freeing a pointer that is not a live block
 * of this manager never reaches the host allocator: it returns
 * LLE_ERROR_INVALID_POINTER (foreign, stack or interior pointer) or
 * LLE_ERROR_DOUBLE_FREE (a block that is already free) and changes nothing.
 */
#ifndef LLE_POOL_H
#define LLE_POOL_H

#include <stddef.h>

#include "lle/config.h"
#include "lle/manager.h"
#include "lle/result.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define LLE_MALLOC_ATTR __attribute__((malloc, warn_unused_result))
#else
#define LLE_MALLOC_ATTR
#endif

/* n bytes from pool t.  n == 0 is served as 1 byte (a unique, freeable
 * pointer).  NULL for a NULL manager, t out of range, n too large, or no
 * memory anywhere. */
LLE_MALLOC_ATTR void *lle_pool_alloc(lle_memory_manager_t *m, lle_memory_pool_type_t t, size_t n);

/* k*n zeroed bytes; NULL if k*n overflows. */
LLE_MALLOC_ATTR void *lle_pool_calloc(lle_memory_manager_t *m, lle_memory_pool_type_t t, size_t k,
                                      size_t n);

/* n bytes aligned to `align` (a power of two; up to the page size it is
 * served from slabs, above it from the host).  NULL with
 * LLE_ERROR_INVALID_ARGUMENT reported when align is not a power of two. */
LLE_MALLOC_ATTR void *lle_pool_alloc_aligned(lle_memory_manager_t *m, lle_memory_pool_type_t t,
                                             size_t n, size_t align);

/*
 * Resize a block, keeping its pool and the pool's alignment (a block from
 * lle_pool_alloc_aligned keeps a larger alignment only while it stays in
 * place, or when it is a large block).  p NULL: like alloc from
 * LLE_POOL_CUSTOM.  n == 0: frees p and returns NULL.  When p is not a live
 * block returns NULL, reports the error (LLE_ERROR_USE_AFTER_FREE for a
 * freed block, LLE_ERROR_INVALID_POINTER for a foreign one), and touches
 * nothing.  A debug block (lle/guard.h) always moves.  When no memory is available returns NULL and p is still
 * valid and unchanged.  The block stays in place when its size class (or
 * large block) already fits n.
 */
void *lle_pool_realloc(lle_memory_manager_t *m, void *p, size_t n);

/* Free p.  NULL p: LLE_SUCCESS, nothing done. */
lle_result_t lle_pool_free(lle_memory_manager_t *m, void *p);

/* The bytes usable at p (>= the size asked for); 0 when p is not a live
 * block of m. */
size_t lle_pool_usable_size(lle_memory_manager_t *m, const void *p);

/* The pool a live block came from (LLE_POOL_SECONDARY for the secondary
 * pool and the emergency reserve), or -1 when p is not a live block of m. */
int lle_pool_owner(lle_memory_manager_t *m, const void *p);

/* The largest request any pool accepts (larger ones fail at once). */
#define LLE_POOL_MAX_REQUEST (((size_t)1 << 40))

#ifdef __cplusplus
}
#endif
#endif
