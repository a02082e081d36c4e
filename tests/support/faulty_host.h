/*
 * faulty_host.h - a host allocator that fails on command (the tests'
 * counterpart of SQLite's faultsim), and counts what is outstanding so a
 * test can prove the library gave everything back.
 */
#ifndef LLE_TEST_FAULTY_HOST_H
#define LLE_TEST_FAULTY_HOST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <lle/host.h>

typedef struct faulty_host {
    lle_host_allocator_t methods;  /* pass &fh.methods as cfg.host */
    /* Failure rules, checked on every alloc/realloc call (0 = off). */
    uint64_t fail_nth;        /* fail the Nth call only (1-based) */
    uint64_t fail_every;      /* fail every Nth call */
    size_t   fail_above;      /* fail requests larger than this */
    int      fail_all;        /* fail everything while set */
    /* Counters. */
    _Atomic uint64_t calls;
    _Atomic uint64_t failures;
    _Atomic int64_t  outstanding_bytes;
    _Atomic int64_t  outstanding_blocks;
    _Atomic uint64_t size_mismatch;  /* free called with a size other than allocated */
} faulty_host_t;

void faulty_host_init(faulty_host_t *fh);

#endif
