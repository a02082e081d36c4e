/*
 * lle/host.h - the backing ("host") allocator interface.
 *
 * lle-memory never calls malloc directly: every byte it holds comes from a
 * host, a methods struct given in the configuration.  The default host is the
 * system allocator; a program that has its own allocator (the Lusush shell's
 * pools, a test harness that injects faults) passes its own methods.
 *
 * Contract for implementers:
 *   alloc(ctx, size, align)   size > 0, align a power of two >= 16: 16 KiB for
 *                             slabs, what lle_pool_alloc_aligned was asked
 *                             for large blocks, 16 or 64 otherwise.  Returns
 *                             memory aligned to `align`, or NULL (memory that
 *                             is not aligned is given back and counts as a
 *                             failure).  Must be callable from any
 *                             thread (the library calls it with its own pool
 *                             locks held, never re-entrantly).
 *   free(ctx, p, size)        p was returned by alloc/realloc with that size
 *                             (the size is passed so a host needs no header).
 *   realloc(ctx, p, old, new, align)  may be NULL: the library then uses
 *                             alloc + copy + free.  On failure returns NULL and
 *                             leaves p untouched.
 *   usable_size(ctx, p)       may be NULL; used only for statistics of what
 *                             the host really reserved.
 */
#ifndef LLE_HOST_H
#define LLE_HOST_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lle_host_allocator {
    void  *(*alloc)(void *ctx, size_t size, size_t align);
    void   (*free)(void *ctx, void *p, size_t size);
    void  *(*realloc)(void *ctx, void *p, size_t old_size, size_t new_size, size_t align);
    size_t (*usable_size)(void *ctx, const void *p);
    void    *ctx;
} lle_host_allocator_t;

/* The system allocator (posix_memalign / free / realloc / malloc_usable_size).
 * The returned struct is static and immutable. */
const lle_host_allocator_t *lle_host_system(void);

#ifdef __cplusplus
}
#endif
#endif
