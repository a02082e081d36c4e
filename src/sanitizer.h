/*
 * sanitizer.h - hooks that tell AddressSanitizer and valgrind's memcheck
 * which bytes of our own memory may be touched, so that neither tool is
 * blinded by the pools.  The ASan hooks compile to nothing unless the
 * library is built with -fsanitize=address; the valgrind hooks compile to
 * nothing unless it is built with LLE_ANNOTATE (CMake option of that name),
 * and then they are valgrind client requests, which cost a few instructions
 * and do nothing when the program does not run under valgrind.
 *
 * Contract with the pools: a block the pools hand out is unpoisoned over
 * its usable size (lle_pool_* do it on the way out), so a module may leave
 * poisoned bytes in a block it frees, except its first 16 bytes, where the
 * pools keep their free-list link.  A block the pools take back is
 * poisoned by them past those 16 bytes.
 *
 * What valgrind is told (LLE_ANNOTATE):
 *   - every slab whose blocks src/pool lays out (small and emergency) is
 *     a memcheck mempool whose handle is its header (made in slab_new,
 *     destroyed when the slab goes back to the host); its memory is
 *     no-access except the blocks handed out, each of which is a pool
 *     chunk of the block's usable size, so a read of uninitialised bytes,
 *     a write past the block, a use after free and a leak are all
 *     reported as for malloc'd memory;
 *   - large blocks are chunks of one mempool per manager (see large.c);
 *   - the allocator's own accesses to the free-list link inside a free
 *     block are bracketed by lle__link_open / lle__link_close;
 *   - arenas mark their free space no-access and each allocation
 *     accessible but undefined over the bytes asked for (arena.c).
 * Memory given back to the host is first made accessible again, as the
 * host handed it out, and so is every mapping given back to the system
 * (lle__os_release): AddressSanitizer would keep its poison for the next
 * mapping at the same addresses.
 */
#ifndef LLE_SANITIZER_H
#define LLE_SANITIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__SANITIZE_ADDRESS__)
#define LLE__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LLE__ASAN 1
#endif
#endif

#ifdef LLE__ASAN
#include <sanitizer/asan_interface.h>
#define lle__asan_poison(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define lle__asan_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define lle__asan_poison(p, n)   ((void)(p), (void)(n))
#define lle__asan_unpoison(p, n) ((void)(p), (void)(n))
#endif

/* Bytes at the start of a freed pool block that must stay addressable. */
#define LLE__ASAN_KEEP 16

/* ---- valgrind ---------------------------------------------------------- */

#if defined(LLE_ANNOTATE) && LLE_ANNOTATE
#include <valgrind/memcheck.h>
#define LLE__VALGRIND 1
#endif

#ifdef LLE__VALGRIND
/* A memcheck mempool, keyed by any address that stays unique while the
 * pool lives; destroying it forgets the chunks still in it (a manager
 * destroyed with live blocks).  Destroying a pool never made is allowed
 * (a manager whose creation failed half-way). */
#define lle__vg_pool_new(pool) VALGRIND_CREATE_MEMPOOL((pool), 0, 0)
#define lle__vg_pool_drop(pool)                                             \
    do {                                                                    \
        if (VALGRIND_MEMPOOL_EXISTS(pool)) VALGRIND_DESTROY_MEMPOOL(pool);  \
    } while (0)
/* A chunk of n bytes at p handed out (accessible, undefined) / taken back
 * (no access) / moved to q with n bytes (contents and states unchanged). */
#define lle__vg_alloc(pool, p, n)   VALGRIND_MEMPOOL_ALLOC((pool), (p), (n))
#define lle__vg_free(pool, p)       VALGRIND_MEMPOOL_FREE((pool), (p))
#define lle__vg_move(pool, p, q, n) VALGRIND_MEMPOOL_CHANGE((pool), (p), (q), (n))
#define lle__vg_noaccess(p, n)  ((void)VALGRIND_MAKE_MEM_NOACCESS((p), (n)))
#define lle__vg_undefined(p, n) ((void)VALGRIND_MAKE_MEM_UNDEFINED((p), (n)))
#define lle__vg_defined(p, n)   ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#else
/* Nothing at all, arguments not evaluated: the default build's fast paths
 * stay exactly as they are without these hooks. */
#define lle__vg_pool_new(pool)      ((void)0)
#define lle__vg_pool_drop(pool)     ((void)0)
#define lle__vg_alloc(pool, p, n)   ((void)0)
#define lle__vg_free(pool, p)       ((void)0)
#define lle__vg_move(pool, p, q, n) ((void)0)
#define lle__vg_noaccess(p, n)      ((void)0)
#define lle__vg_undefined(p, n)     ((void)0)
#define lle__vg_defined(p, n)       ((void)0)
#endif

/* ---- both tools --------------------------------------------------------- */

/* The allocator reads or writes the free-list link in the first word of a
 * block it holds free: open before, close after (valgrind; under ASan the
 * link is always addressable, LLE__ASAN_KEEP).  A block being carved from
 * the slab's no-access memory gets its link with lle__link_new instead of
 * lle__link_open. */
#define lle__link_open(p)  lle__vg_defined((p), sizeof(void *))
#define lle__link_close(p) lle__vg_noaccess((p), sizeof(void *))
#define lle__link_new(p)                                    \
    do {                                                    \
        lle__asan_link_new(p);                              \
        lle__vg_defined((p), sizeof(void *));               \
    } while (0)
#ifdef LLE__ASAN
#define lle__asan_link_new(p) lle__asan_unpoison((p), LLE__ASAN_KEEP)
#else
#define lle__asan_link_new(p) ((void)0)
#endif

/* A pool block of `usable` bytes at p handed out of / taken back into the
 * valgrind pool `pool`.  Taking back poisons it for ASan past the link. */
#define lle__block_out(pool, p, usable) lle__vg_alloc((pool), (p), (usable))
#define lle__block_back(pool, p, usable)                    \
    do {                                                    \
        lle__vg_free((pool), (p));                          \
        lle__asan_block_back((p), (usable));                \
    } while (0)
#ifdef LLE__ASAN
#define lle__asan_block_back(p, usable) \
    lle__asan_poison((char *)(p) + LLE__ASAN_KEEP, (usable) - LLE__ASAN_KEEP)
#else
#define lle__asan_block_back(p, usable) ((void)0)
#endif

/* Memory the library holds but no caller may touch (a slab's blocks not
 * handed out, an arena's free space), and memory handed out fresh
 * (accessible, contents undefined). */
#define lle__mem_noaccess(p, n)                             \
    do {                                                    \
        lle__asan_poison((p), (n));                         \
        lle__vg_noaccess((p), (n));                         \
    } while (0)
#define lle__mem_fresh(p, n)                                \
    do {                                                    \
        lle__asan_unpoison((p), (n));                       \
        lle__vg_undefined((p), (n));                        \
    } while (0)

/* Whether the n bytes at p (n <= 64) may be read without either tool
 * objecting: false for a freed block, poisoned or no-access memory.  For
 * the checks that look at memory a caller passed in to tell a live object
 * from a dead one (lle_ref_release of a released object, a collector
 * traverse reporting a stale pointer): they must not turn into reports of
 * the very misuse they exist to catch.  Always true in a build with
 * neither tool. */
static inline bool lle__readable(const void *p, size_t n)
{
#ifdef LLE__ASAN
    if (__asan_region_is_poisoned((void *)(uintptr_t)p, n)) return false;
#endif
#ifdef LLE__VALGRIND
    unsigned char vbits[64];
    if (n > sizeof vbits) n = sizeof vbits;
    /* 3: some byte is not addressable (silently: no error is reported). */
    if (VALGRIND_GET_VBITS(p, vbits, n) == 3) return false;
#endif
    (void)p;
    (void)n;
    return true;
}

#endif
