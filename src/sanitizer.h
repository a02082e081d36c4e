/*
 * sanitizer.h - hooks that tell AddressSanitizer which bytes of our own
 * memory may be touched.  They compile to nothing unless the library is
 * built with -fsanitize=address.
 *
 * Contract with the pools: a block the pools hand out is unpoisoned over
 * its usable size (lle_pool_* do it on the way out), so a module may leave
 * poisoned bytes in a block it frees, except its first 16 bytes, where the
 * pools keep their free-list link.
 */
#ifndef LLE_SANITIZER_H
#define LLE_SANITIZER_H

#include <stddef.h>

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

#endif
