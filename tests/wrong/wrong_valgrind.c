/*
 * wrong_valgrind.c - one deliberate memory bug per case, for valgrind to
 * find in memory the library holds (built with LLE_ANNOTATE, see
 * src/sanitizer.h).  Run as `wrong_valgrind CASE` under valgrind by
 * tests/wrong/expect_valgrind.cmake: the test passes only when valgrind
 * reports the expected error and nothing else.  The case `clean` does the
 * same traffic with no bug and must get no report at all.
 *
 * Cases:
 *   use_after_free     write into a slab block after freeing it
 *   overflow           write one byte past a block asked for as 64 bytes
 *                      (64 is a size class: the block's usable size is
 *                      also 64, and valgrind is told the usable size)
 *   uninitialised      branch on a byte of a fresh block never written
 *   remote_free        write into a block another thread freed
 *   large_free         write into a freed (cached) large block
 *   arena_reset        write into an arena allocation after a reset
 *   secure_use_after_free  write into a freed secure block (lle/secure.h;
 *                      the library wiped it first)
 *   clean              none of the above
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <lle/memory.h>

static void *free_in_thread(void *arg)
{
    void **job = arg;
    lle_pool_free(job[0], job[1]);
    return NULL;
}

static int run(lle_memory_manager_t *m, const char *what)
{
    int bug = strcmp(what, "clean") != 0;
    int all = !bug;
    int known = 0;
    if (all || !strcmp(what, "use_after_free")) {
        known = 1;
        volatile char *p = lle_pool_alloc(m, LLE_POOL_STRING, 48);
        memset((void *)p, 1, 48);
        lle_pool_free(m, (void *)p);
        if (bug) p[20] = 2;
    }
    if (all || !strcmp(what, "overflow")) {
        known = 1;
        volatile char *p = lle_pool_alloc(m, LLE_POOL_STRING, 64);
        memset((void *)p, 1, 64);
        if (bug) p[64] = 2;
        lle_pool_free(m, (void *)p);
    }
    if (all || !strcmp(what, "uninitialised")) {
        known = 1;
        volatile char *p = lle_pool_alloc(m, LLE_POOL_EVENT, 32);
        p[0] = 1;
        if (bug && p[7] == 42) puts("unlikely");
        lle_pool_free(m, (void *)p);
    }
    if (all || !strcmp(what, "remote_free")) {
        known = 1;
        volatile char *p = lle_pool_alloc(m, LLE_POOL_EVENT, 96);
        memset((void *)p, 1, 96);
        void *job[2] = {m, (void *)p};
        pthread_t t;
        if (pthread_create(&t, NULL, free_in_thread, job) != 0) return 2;
        pthread_join(t, NULL);
        if (bug) p[50] = 2;
        /* Enough blocks that the owner's bin runs dry and collects it. */
        void *more[400];
        for (int i = 0; i < 400; i++) more[i] = lle_pool_alloc(m, LLE_POOL_EVENT, 96);
        for (int i = 0; i < 400; i++) lle_pool_free(m, more[i]);
    }
    if (all || !strcmp(what, "large_free")) {
        known = 1;
        volatile char *p = lle_pool_alloc(m, LLE_POOL_STRING, 20000);  /* above the classes */
        memset((void *)p, 1, 20000);
        lle_pool_free(m, (void *)p);
        if (bug) p[100] = 2;
        p = lle_pool_alloc(m, LLE_POOL_STRING, 20000);                 /* from the cache */
        memset((void *)p, 1, 20000);
        p = lle_pool_realloc(m, (void *)p, 400000);                    /* through the host */
        if (p && p[19999] != 1) puts("realloc lost the contents");
        lle_pool_free(m, (void *)p);
    }
    if (all || !strcmp(what, "arena_reset")) {
        known = 1;
        lle_arena_t *a = NULL;
        if (lle_arena_create(m, NULL, "wrong", NULL, &a) != LLE_SUCCESS) return 2;
        volatile char *p = lle_arena_alloc(a, 40);
        memset((void *)p, 1, 40);
        lle_arena_reset(a);
        if (bug) p[8] = 2;
        p = lle_arena_alloc(a, 40);
        memset((void *)p, 3, 40);
        lle_arena_destroy(a);
    }
    if (all || !strcmp(what, "secure_use_after_free")) {
        known = 1;
        volatile char *p = lle_secure_alloc(m, 64);
        volatile char *q = lle_secure_alloc(m, 3000);   /* a mapping of its own */
        if (!p || !q) return 2;
        memset((void *)p, 1, 64);
        memset((void *)q, 1, 3000);
        if (p[7] != 1) puts("secure block lost its contents");
        lle_secure_free(m, (void *)p);
        if (bug) p[20] = 2;
        lle_secure_free(m, (void *)q);
    }
    if (!known) {
        fprintf(stderr, "wrong_valgrind: no case '%s'\n", what);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: wrong_valgrind CASE\n");
        return 2;
    }
    lle_memory_config_t cfg;
    lle_memory_config_default(&cfg);
    cfg.read_environment = false;
    lle_memory_manager_t *m = NULL;
    if (lle_memory_manager_create(&cfg, &m) != LLE_SUCCESS) return 2;
    int rc = run(m, argv[1]);
    lle_memory_manager_destroy(m);
    return rc;
}
