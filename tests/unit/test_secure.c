/*
 * test_secure.c - the secure pool (lle/secure.h): blocks share slabs,
 * are zero-filled, wiped on free and when realloc moves or shrinks them
 * (the slab is scanned for the secret afterwards), are known to the pool
 * calls, sit between guard pages, are locked (or, at a lock limit of zero,
 * handled by the configured policy, in a child process) and are zero in a
 * forked child.
 */
#include <linux/capability.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "child.h"
#include "rec.h"
#include "test_util.h"

#define DATA 16384   /* data bytes of a shared secure slab */

/* A secret whose bytes (0xa0..0xbf) appear nowhere else in the tests' data. */
static void fill_secret(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(0xa0 + (i * 7) % 32);
}

/* How many bytes of [p, p+n) are a byte of the secret (p may be freed). */
static size_t secret_bytes(const unsigned char *p, size_t n)
{
    size_t k = 0;
    unsigned char buf[256];
    for (size_t i = 0; i < n; i += sizeof buf) {
        size_t len = n - i < sizeof buf ? n - i : sizeof buf;
        peek_bytes(buf, p + i, len);
        for (size_t j = 0; j < len; j++) k += buf[j] >= 0xa0 && buf[j] <= 0xbf;
    }
    return k;
}

static void test_blocks_share_a_slab(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = rec_manager(&r);
    void *p[100];
    for (int i = 0; i < 100; i++) {
        p[i] = lle_secure_alloc(m, 64);
        assert_non_null(p[i]);
        assert_true(mem_all_zero(p[i], 64));
        memset(p[i], i + 1, 64);
    }
    lle_secure_stats_t st;
    assert_int_equal(lle_secure_get_stats(m, &st), LLE_SUCCESS);
    assert_int_equal(st.slabs, 1);                 /* 100 blocks, one mapping */
    assert_int_equal(st.live_blocks, 100);
    assert_int_equal(st.live_bytes, 6400);
    assert_int_equal(st.allocs, 100);
    assert_int_equal(st.data_bytes, DATA);
    assert_true(st.guard_pages >= 2);
    assert_int_equal(st.locked_bytes + st.unlocked_bytes, DATA);
    assert_int_equal(st.locked_bytes, st.lock_failures ? 0 : DATA);
    assert_int_equal(st.nodump_bytes, DATA);
    assert_int_equal(st.nofork_bytes, DATA);
    /* Known to the pool calls. */
    assert_int_equal(lle_pool_usable_size(m, p[3]), 64);
    assert_true(lle_secure_owns(m, (char *)p[3] + 10));
    assert_int_equal(lle_secure_length(m, p[3]), 64);
    lle_block_info_t info;
    assert_int_equal(lle_block_query(m, (char *)p[5] + 7, &info), LLE_SUCCESS);
    assert_ptr_equal(info.start, p[5]);
    assert_int_equal(lle_memory_check_bounds(m, p[5], 64, NULL), LLE_SUCCESS);
    assert_int_equal(lle_memory_check_bounds(m, p[5], 65, NULL), LLE_ERROR_BOUNDS_VIOLATION);
    for (int i = 0; i < 100; i++) {
        const unsigned char *c = p[i];
        for (int k = 0; k < 64; k++) assert_int_equal(c[k], i + 1);
    }
    for (int i = 0; i < 50; i++) assert_int_equal(lle_secure_free(m, p[i]), LLE_SUCCESS);
    for (int i = 50; i < 100; i++) assert_int_equal(lle_pool_free(m, p[i]), LLE_SUCCESS);
    assert_int_equal(lle_pool_free(m, p[7]), LLE_ERROR_DOUBLE_FREE);
    assert_int_equal(lle_secure_free(m, p[8]), LLE_ERROR_DOUBLE_FREE);
    assert_int_equal(lle_secure_get_stats(m, &st), LLE_SUCCESS);
    assert_int_equal(st.live_blocks, 0);
    assert_int_equal(st.frees, 100);
    assert_int_equal(st.wiped_bytes, 6400);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* The first block of a fresh 2 KiB class is the slab's first: the slab's
 * data is [p0, p0 + DATA), all of it readable. */
static void test_free_wipes_the_slab(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = rec_manager(&r);
    unsigned char *p0 = lle_secure_alloc(m, 2000);
    unsigned char *p1 = lle_secure_alloc(m, 2000);
    assert_non_null(p0);
    assert_ptr_equal(p1, p0 + 2048);
    memset(p0, 0x11, 2000);
    fill_secret(p1, 2000);
    assert_int_equal(secret_bytes(p0, DATA), 2000);
    assert_int_equal(lle_secure_free(m, p1), LLE_SUCCESS);
    assert_int_equal(secret_bytes(p0, DATA), 0);   /* no byte of the secret in the slab */
    assert_true(mem_all_zero(p1, 2048));

    /* realloc that moves the block wipes the old copy */
    unsigned char *q = lle_secure_alloc(m, 30);
    unsigned char *keep = lle_secure_alloc(m, 30);   /* keeps the 32 B slab mapped */
    fill_secret(q, 30);
    void *moved = q;
    assert_int_equal(lle_secure_realloc(m, &moved, 100), LLE_SUCCESS);
    assert_ptr_not_equal(moved, q);
    assert_true(mem_all_zero(q, 32));
    assert_int_equal(secret_bytes(moved, 30), 30);
    assert_true(mem_all_zero((char *)moved + 30, 70));
    /* shrinking in place wipes the tail */
    void *same = moved;
    assert_int_equal(lle_secure_realloc(m, &same, 65), LLE_SUCCESS);
    assert_ptr_equal(same, moved);
    fill_secret(same, 65);
    assert_int_equal(lle_secure_realloc(m, &same, 70), LLE_SUCCESS);
    assert_int_equal(lle_secure_realloc(m, &same, 66), LLE_SUCCESS);
    assert_ptr_equal(same, moved);
    assert_true(mem_all_zero((char *)same + 66, 62));
    /* lle_pool_realloc keeps a secure block secure */
    void *g = lle_pool_realloc(m, same, 4000);
    assert_non_null(g);
    assert_true(lle_secure_owns(m, g));
    assert_int_equal(secret_bytes(g, 65), 65);
    assert_true(mem_all_zero(moved, 128));
    assert_null(lle_pool_realloc(m, g, 0));       /* pool semantics: frees */
    assert_false(lle_secure_owns(m, g));
    lle_secure_stats_t st;
    assert_int_equal(lle_secure_get_stats(m, &st), LLE_SUCCESS);
    assert_int_equal(st.live_blocks, 2);
    lle_secure_free(m, keep);
    lle_secure_free(m, p0);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void test_wipe_primitive(void **state)
{
    (void)state;
    unsigned char buf[256];
    fill_secret(buf, sizeof buf);
    lle_secure_wipe(buf, sizeof buf);
    volatile unsigned char *v = buf;
    for (size_t i = 0; i < sizeof buf; i++) assert_int_equal(v[i], 0);
    lle_secure_wipe(NULL, 10);   /* nothing */
}

static void test_large_blocks(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = rec_manager(&r);
    unsigned char *p = lle_secure_alloc(m, 100000);
    assert_non_null(p);
    assert_true(mem_all_zero(p, 100000));
    fill_secret(p, 100000);
    lle_secure_stats_t st;
    lle_secure_get_stats(m, &st);
    assert_int_equal(st.large_regions, 1);
    assert_int_equal(lle_pool_usable_size(m, p), 102400);   /* whole pages */
    void *q = p;
    assert_int_equal(lle_secure_realloc(m, &q, 300000), LLE_SUCCESS);
    assert_int_equal(secret_bytes(q, 100000), 100000);
    assert_true(mem_all_zero((char *)q + 100000, 200000));
    assert_int_equal(lle_secure_free(m, q), LLE_SUCCESS);
    lle_secure_get_stats(m, &st);
    assert_int_equal(st.large_regions, 0);
    assert_int_equal(st.mapped_bytes, 0);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void test_bad_input(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = rec_manager(&r);
    lle_memory_manager_t *other = rec_manager(&(rec_t){0});
    unsigned char *p = lle_secure_alloc(m, 40);
    fill_secret(p, 40);
    void *q = p;
    /* realloc to 0: an error, the block and its content unchanged */
    assert_int_equal(lle_secure_realloc(m, &q, 0), LLE_ERROR_INVALID_ARGUMENT);
    assert_ptr_equal(q, p);
    assert_int_equal(secret_bytes(p, 40), 40);
    assert_int_equal(r.e[r.n - 1].code, LLE_ERROR_INVALID_ARGUMENT);
    /* ordinary, stack, interior, other manager's pointers */
    char *plain = lle_pool_alloc(m, LLE_POOL_STRING, 40);
    char stack[16];
    void *theirs = lle_secure_alloc(other, 40);
    assert_int_equal(lle_secure_free(m, plain), LLE_ERROR_INVALID_POINTER);
    assert_int_equal(lle_secure_free(m, stack), LLE_ERROR_INVALID_POINTER);
    assert_int_equal(lle_secure_free(m, p + 8), LLE_ERROR_INVALID_POINTER);
    assert_int_equal(lle_secure_free(m, theirs), LLE_ERROR_INVALID_POINTER);
    assert_int_equal(lle_pool_free(m, theirs), LLE_ERROR_INVALID_POINTER);
    void *t = theirs;
    assert_int_equal(lle_secure_realloc(m, &t, 80), LLE_ERROR_INVALID_POINTER);
    assert_int_equal(lle_secure_free(m, NULL), LLE_SUCCESS);
    assert_null(lle_secure_alloc_ex(m, (lle_memory_pool_type_t)99, 8, LLE_SENSITIVITY_LOW));
    assert_null(lle_secure_alloc_ex(m, LLE_POOL_CUSTOM, 8, (lle_sensitivity_t)9));
    assert_null(lle_secure_alloc(m, (size_t)1 << 40));
    assert_int_equal(r.e[r.n < 16 ? r.n - 1 : 15].code, LLE_ERROR_INVALID_ARGUMENT);
    lle_secure_stats_t st;
    lle_secure_get_stats(m, &st);
    assert_int_equal(st.live_blocks, 1);
    /* a zero-byte block is a unique, freeable block */
    void *z1 = lle_secure_alloc(m, 0), *z2 = lle_secure_alloc(m, 0);
    assert_non_null(z1);
    assert_ptr_not_equal(z1, z2);
    lle_secure_free(m, z1);
    lle_secure_free(m, z2);
    lle_pool_free(m, plain);
    lle_secure_free(other, theirs);
    assert_int_equal(lle_memory_manager_destroy(other), LLE_SUCCESS);
    /* a block still live at destruction is a leak (and is wiped) */
    assert_int_equal(lle_memory_manager_destroy(m), LLE_ERROR_MEMORY_LEAK);
}

static void test_max_bytes(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = rec_manager(&r);
    lle_secure_config_t c;
    lle_secure_config_default(&c);
    c.max_bytes = 64 * 1024;
    assert_int_equal(lle_secure_configure(m, &c), LLE_SUCCESS);
    void *a = lle_secure_alloc(m, 10000);   /* 16 KiB of data: a 32 KiB mapping */
    assert_non_null(a);
    assert_null(lle_secure_alloc(m, 60000));
    assert_int_equal(r.e[r.n - 1].code, LLE_ERROR_POOL_LIMIT);
    c.lock_policy = (lle_secure_lock_policy_t)7;
    assert_int_equal(lle_secure_configure(m, &c), LLE_ERROR_INVALID_ARGUMENT);
    lle_secure_free(m, a);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- in a child: guard pages, fork, lock limit ------------------------------------ */

static void child_guard(int which)
{
    rec_t r;
    lle_memory_manager_t *m = rec_manager(&r);
    unsigned char *p0 = lle_secure_alloc(m, 2000);   /* first block of its slab */
    signal(SIGSEGV, SIG_DFL);   /* cmocka's handler would catch the fault */
    volatile unsigned char *v = which ? p0 + DATA : p0 - 1;
    (void)*v;   /* faults */
    _exit(3);
}

static void test_guard_pages(void **state)
{
    (void)state;
    if (RUNNING_ON_VALGRIND) skip();   /* valgrind reports the deliberate fault itself */
    char err[256];
    for (int which = 0; which < 2; which++) {
        int st = run_child(child_guard, which, err, sizeof err);
        if (!WIFSIGNALED(st)) print_message("which %d status %x: %s\n", which, st, err);
        assert_true(WIFSIGNALED(st));
        assert_int_equal(WTERMSIG(st), SIGSEGV);
    }
}

static void child_fork(int arg)
{
    (void)arg;
    rec_t r;
    lle_memory_manager_t *m = rec_manager(&r);
    unsigned char *p = lle_secure_alloc(m, 64);
    fill_secret(p, 64);
    pid_t pid = fork();
    if (pid == 0) {
        int wiped = secret_bytes(p, 64) == 0 && mem_all_zero(p, 64);
        lle_secure_free(m, p);
        lle_memory_manager_destroy(m);   /* nothing left for a leak checker */
        _exit(wiped ? 0 : 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    /* the parent keeps its copy */
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0 && secret_bytes(p, 64) == 64;
    lle_secure_free(m, p);
    lle_memory_manager_destroy(m);
    _exit(ok ? 0 : 1);
}

static void test_wiped_in_forked_child(void **state)
{
    (void)state;
#ifndef MADV_WIPEONFORK
    skip();
#endif
    char err[256];
    int st = run_child(child_fork, 0, err, sizeof err);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* Give up CAP_IPC_LOCK (a root test run has it and would ignore the limit). */
static void drop_ipc_lock(void)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) != 0) return;
    d[0].effective &= ~(1u << CAP_IPC_LOCK);
    d[0].permitted &= ~(1u << CAP_IPC_LOCK);
    syscall(SYS_capset, &h, d);
}

static void say(const char *s)
{
    ssize_t k = write(2, s, strlen(s));
    (void)k;
}

/* Exit 0: as expected; 77: the system still locks (limit not enforced). */
static void child_lock_limit(int required)
{
    drop_ipc_lock();
    struct rlimit rl = {0, 0};
    if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0) _exit(77);
    rec_t r;
    lle_memory_manager_t *m = rec_manager(&r);
    lle_secure_config_t c;
    lle_secure_config_default(&c);
    c.lock_policy = required ? LLE_SECURE_LOCK_REQUIRED : LLE_SECURE_LOCK_REPORT;
    lle_secure_configure(m, &c);
    unsigned char *p = lle_secure_alloc(m, 64);
    lle_secure_stats_t st;
    lle_secure_get_stats(m, &st);
    int code = 0;
    if (st.lock_failures == 0 && p) {
        say("the lock limit is not enforced here");
        code = 77;
    } else if (r.n < 1 || r.e[0].code != LLE_ERROR_LOCK_LIMIT) {
        say("no LLE_ERROR_LOCK_LIMIT report");
        code = 1;
    } else if (required && (p || st.failed_allocs != 1 || st.mapped_bytes != 0)) {
        say("required: the allocation was not refused");
        code = 2;
    } else if (!required && (!p || st.unlocked_bytes != DATA || st.locked_bytes != 0)) {
        say("report: the allocation did not continue unlocked");
        code = 3;
    } else if (!required) {
        /* sealing works with the keys in unlocked memory, reported again */
        fill_secret(p, 64);
        if (lle_seal(m, p) != LLE_SUCCESS || lle_unseal(m, p) != LLE_SUCCESS ||
            secret_bytes(p, 64) != 64)
            code = 4;
    }
    lle_secure_free(m, p);
    lle_memory_manager_destroy(m);
    _exit(code);
}

static void test_lock_limit_zero(void **state)
{
    (void)state;
    char err[256];
    for (int required = 0; required < 2; required++) {
        int st = run_child(child_lock_limit, required, err, sizeof err);
        assert_true(WIFEXITED(st));
        if (WEXITSTATUS(st) == 77) {
            print_message("skipped: %s (RLIMIT_MEMLOCK 0 does not stop mlock here)\n", err);
            skip();
        }
        if (WEXITSTATUS(st) != 0) print_message("child: %s\n", err);
        assert_int_equal(WEXITSTATUS(st), 0);
    }
}

/* The secure pool in the manager's statistics: its mappings and blocks in
 * the total and in the JSON, exactly (a 64-byte class slab: 16 KiB of data
 * between guard pages, mapped in 16 KiB granules; a 5000-byte block: two
 * pages of its own). */
static size_t granules(size_t bytes)
{
    return (bytes + 16383) / 16384 * 16384;
}

static void test_counted_in_manager_stats(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = rec_manager(&r);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    assert_int_equal(page, 4096);   /* the layout below assumes it */
    lle_memory_stats_t before, st;
    assert_int_equal(lle_memory_get_stats(m, &before), LLE_SUCCESS);
    void *p[10];
    for (int i = 0; i < 10; i++) p[i] = lle_secure_alloc(m, 60);   /* class 64 */
    void *big = lle_secure_alloc(m, 5000);                         /* 8192 of data */
    assert_non_null(big);
    assert_int_equal(lle_memory_get_stats(m, &st), LLE_SUCCESS);
    size_t slab_map = granules(DATA + 2 * page), big_map = granules(8192 + 2 * page);
    assert_int_equal(slab_map, 32768);
    assert_int_equal(big_map, 16384);
    assert_int_equal(st.total.reserved_bytes - before.total.reserved_bytes, slab_map + big_map);
    assert_int_equal(st.total.peak_reserved - before.total.peak_reserved, slab_map + big_map);
    assert_int_equal(st.total.in_use_bytes - before.total.in_use_bytes, 10 * 64 + 8192);
    assert_int_equal(st.total.live_blocks - before.total.live_blocks, 11);
    assert_int_equal(st.total.alloc_count - before.total.alloc_count, 11);
    assert_int_equal(st.total.requested_bytes - before.total.requested_bytes, 600 + 5000);
    assert_int_equal(st.total.granted_bytes - before.total.granted_bytes, 640 + 8192);
    assert_int_equal(st.total.slabs - before.total.slabs, 2);
    /* No pool's row has them. */
    for (int k = 0; k < LLE_POOL_TABLE_SIZE; k++)
        assert_int_equal(st.pools[k].reserved_bytes, before.pools[k].reserved_bytes);

    char json[16384];
    size_t need = 0;
    assert_int_equal(lle_memory_stats_json(m, json, sizeof json, &need), LLE_SUCCESS);
    const char *sec = strstr(json, "\"secure\":{");
    assert_non_null(sec);
    char want[128];
    snprintf(want, sizeof want, "\"mapped_bytes\":%zu,", slab_map + big_map);
    assert_non_null(strstr(sec, want));
    assert_non_null(strstr(sec, "\"in_use_bytes\":8832,"));
    assert_non_null(strstr(sec, "\"live_blocks\":11,"));
    assert_non_null(strstr(sec, "\"large_regions\":1,"));
    const char *total = strstr(json, "\"total\":{");
    assert_non_null(total);
    snprintf(want, sizeof want, "\"reserved_bytes\":%zu,", st.total.reserved_bytes);
    assert_non_null(strstr(total, want));

    /* Freed: the large mapping goes, the slab stays (one empty slab is kept
     * a class); nothing is in use. */
    for (int i = 0; i < 10; i++) assert_int_equal(lle_secure_free(m, p[i]), LLE_SUCCESS);
    assert_int_equal(lle_secure_free(m, big), LLE_SUCCESS);
    assert_int_equal(lle_memory_get_stats(m, &st), LLE_SUCCESS);
    assert_int_equal(st.total.reserved_bytes - before.total.reserved_bytes, slab_map);
    assert_int_equal(st.total.in_use_bytes, before.total.in_use_bytes);
    assert_int_equal(st.total.live_blocks, before.total.live_blocks);
    assert_int_equal(st.total.free_count - before.total.free_count, 11);
    assert_int_equal(r.n, 0);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

#ifdef HAVE_ASAN
static volatile char sink;

/* 0: write into a freed secure block; 1: read one; 2: read a block of the
 * slab never handed out. */
static void touch_freed_secure(int how)
{
    lle_memory_manager_t *m = test_manager(NULL);
    char *p = lle_secure_alloc(m, 64);
    char *q = lle_secure_alloc(m, 64);
    memset(p, 0x5a, 64);
    lle_secure_free(m, p);
    if (how == 0) p[10] = 1;
    if (how == 1) sink = p[10];
    if (how == 2) sink = q[64 * 5];
}
#endif

/* AddressSanitizer sees a use of a freed secure block (the library wipes
 * it first: the wipe checks of the other tests still pass under ASan). */
static void test_asan_sees_use_after_free(void **state)
{
    (void)state;
#ifdef HAVE_ASAN
    static char err[16384];
    for (int how = 0; how < 3; how++) {
        int status = run_child(touch_freed_secure, how, err, sizeof err);
        assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_non_null(strstr(err, "AddressSanitizer"));
        assert_non_null(strstr(err, "use-after-poison"));
    }
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks_share_a_slab),
        cmocka_unit_test(test_free_wipes_the_slab),
        cmocka_unit_test(test_wipe_primitive),
        cmocka_unit_test(test_large_blocks),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_max_bytes),
        cmocka_unit_test(test_guard_pages),
        cmocka_unit_test(test_wiped_in_forked_child),
        cmocka_unit_test(test_lock_limit_zero),
        cmocka_unit_test(test_counted_in_manager_stats),
        cmocka_unit_test(test_asan_sees_use_after_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
