/*
 * bench/adapter_malloc.c - set-up of the malloc adapter.
 *
 * There is nothing to create; init only finds out which shared object
 * provides the malloc this process calls, so a run whose LD_PRELOAD did not
 * take effect is visible in its RESULT line (impl=libc.so.6 where
 * impl=libjemalloc.so.2 was meant).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int bench_malloc_init(const bench_opts_t *o, bench_result_t *r)
{
    (void)o;
    const char *impl = "unknown";
    Dl_info info;
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    if (sym && dladdr(sym, &info) && info.dli_fname) {
        const char *slash = strrchr(info.dli_fname, '/');
        impl = slash ? slash + 1 : info.dli_fname;
    }
    bench_kv(r, "impl", "%s", impl);
    return 0;
}

int bench_malloc_fini(bench_result_t *r, int run_failed)
{
    (void)r;
    (void)run_failed;
    return 0;
}
