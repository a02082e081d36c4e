/*
 * os.c - what the library asks of the operating system.
 */
#include <time.h>

#include "internal.h"

uint64_t lle__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
