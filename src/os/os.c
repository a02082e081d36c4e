/*
 * os.c - what the library asks of the operating system.
 */
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "sanitizer.h"

uint64_t lle__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t lle__now_coarse_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The kernel's id of the calling thread, asked once per thread. */
unsigned long lle__thread_id(void)
{
    static _Thread_local unsigned long tid;
    if (!tid) tid = (unsigned long)syscall(SYS_gettid);
    return tid;
}

/* ---- mappings of the library's own (guard pages) ------------------------------ */

void *lle__os_reserve(size_t bytes, size_t align)
{
    size_t len = bytes + align - LLE__PAGE;
    char *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return NULL;
    char *a = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
    if (a > p) munmap(p, (size_t)(a - p));
    if (a + bytes < p + len) munmap(a + bytes, (size_t)(p + len - (a + bytes)));
    return a;
}

void *lle__os_zeroed(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void lle__os_release(void *p, size_t bytes)
{
    /* AddressSanitizer keeps the poison of an unmapped range: a later
     * mapping at the same addresses (another manager's page map root, say)
     * would read as poisoned.  Given back as it was mapped. */
    lle__asan_unpoison(p, bytes);
    munmap(p, bytes);
}

bool lle__os_protect(void *p, size_t bytes, int access)
{
    int prot = (access & 1 ? PROT_READ : 0) | (access & 2 ? PROT_WRITE : 0);
    return mprotect(p, bytes, prot) == 0;
}

bool lle__os_lock(void *p, size_t bytes)
{
    return mlock(p, bytes) == 0;
}

void lle__os_unlock(void *p, size_t bytes)
{
    munlock(p, bytes);
}

unsigned lle__os_conceal(void *p, size_t bytes)
{
    unsigned got = 0;
#ifdef MADV_DONTDUMP
    if (madvise(p, bytes, MADV_DONTDUMP) == 0) got |= 1;
#endif
#ifdef MADV_WIPEONFORK
    if (madvise(p, bytes, MADV_WIPEONFORK) == 0) got |= 2;
#endif
#ifdef MADV_DONTFORK
    if (!(got & 2) && madvise(p, bytes, MADV_DONTFORK) == 0) got |= 2;
#endif
    return got;
}
