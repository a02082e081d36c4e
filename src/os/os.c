/*
 * os.c - what the library asks of the operating system.
 */
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

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
