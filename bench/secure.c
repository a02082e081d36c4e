/*
 * secure.c - lle-bench-secure: the secure pool, sealing and the history
 * store (run by bench/run-secure.sh, which interleaves the modes and
 * takes medians).
 *
 *   lle-bench-secure alloc-lle     64 B secure alloc + write + free
 *   lle-bench-secure alloc-sodium  the same with sodium_malloc / sodium_free
 *   lle-bench-secure seal          seal + unseal of 64 B, 4 KiB, 64 KiB
 *   lle-bench-secure rotate        key rotation with 10,000 sealed blocks
 *   lle-bench-secure history       10,000 generated shell commands and 100
 *                                  large entries: bytes saved, read latency
 *   lle-bench-secure idle          lle_memory_idle with sealing work pending
 *                                  (cold history entries and marked blocks,
 *                                  key rotation): how far past its budget
 *                                  each call ends, for budgets of 100 us,
 *                                  500 us and 2 ms
 *
 * Each prints one or more lines `RESULT mode=... key=value ...`; times are
 * medians of the mode's own repetitions, in nanoseconds.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <lle/memory.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_u64);
    return v[n / 2];
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static lle_memory_manager_t *manager(void)
{
    lle_memory_config_t cfg;
    lle_memory_config_default(&cfg);
    cfg.read_environment = false;
    lle_memory_manager_t *m;
    if (lle_memory_manager_create(&cfg, &m) != LLE_SUCCESS) {
        fprintf(stderr, "manager creation failed\n");
        exit(1);
    }
    return m;
}

/* ---- 64 B alloc + write + free ---------------------------------------------------- */

#define REPS 9

static void alloc_lle(void)
{
    lle_memory_manager_t *m = manager();
    enum { N = 200000 };
    uint64_t t[REPS];
    for (int r = 0; r < REPS; r++) {
        uint64_t t0 = now_ns();
        for (int i = 0; i < N; i++) {
            void *p = lle_secure_alloc(m, 64);
            memset(p, i, 64);
            lle_secure_free(m, p);
        }
        t[r] = (now_ns() - t0) / N;
    }
    printf("RESULT mode=alloc-lle ns_per_op=%llu\n", (unsigned long long)median(t, REPS));
    lle_memory_manager_destroy(m);
}

static void alloc_sodium(void)
{
    enum { N = 5000 };
    uint64_t t[REPS];
    for (int r = 0; r < REPS; r++) {
        uint64_t t0 = now_ns();
        for (int i = 0; i < N; i++) {
            void *p = sodium_malloc(64);
            if (!p) {
                fprintf(stderr, "sodium_malloc failed\n");
                exit(1);
            }
            memset(p, i, 64);
            sodium_free(p);
        }
        t[r] = (now_ns() - t0) / N;
    }
    printf("RESULT mode=alloc-sodium ns_per_op=%llu\n", (unsigned long long)median(t, REPS));
}

/* ---- seal / unseal ------------------------------------------------------------------ */

static void seal(void)
{
    lle_memory_manager_t *m = manager();
    const size_t sizes[] = {64, 4096, 65536};
    for (int k = 0; k < 3; k++) {
        size_t n = sizes[k];
        unsigned char *p = lle_secure_alloc(m, n);
        memset(p, 0x5a, n);
        enum { N = 201 };
        uint64_t ts[N], tu[N];
        for (int i = 0; i < N; i++) {
            uint64_t t0 = now_ns();
            lle_seal(m, p);
            uint64_t t1 = now_ns();
            if (lle_unseal(m, p) != LLE_SUCCESS) {
                fprintf(stderr, "unseal failed\n");
                exit(1);
            }
            ts[i] = t1 - t0;
            tu[i] = now_ns() - t1;
        }
        printf("RESULT mode=seal size=%zu seal_ns=%llu unseal_ns=%llu\n", n,
               (unsigned long long)median(ts, N), (unsigned long long)median(tu, N));
        lle_secure_free(m, p);
    }
    lle_secure_stats_t st;
    lle_secure_get_stats(m, &st);
    printf("RESULT mode=seal-stats seals=%llu seal_ns_avg=%llu unseal_ns_avg=%llu\n",
           (unsigned long long)st.seals, (unsigned long long)st.seal_ns_avg,
           (unsigned long long)st.unseal_ns_avg);
    lle_memory_manager_destroy(m);
}

static void rotate(void)
{
    lle_memory_manager_t *m = manager();
    enum { N = 10000 };
    void **p = malloc(N * sizeof *p);
    for (int i = 0; i < N; i++) {
        p[i] = lle_secure_alloc_ex(m, (lle_memory_pool_type_t)(i % LLE_POOL_COUNT), 64,
                                   LLE_SENSITIVITY_HIGH);
        memset(p[i], i, 64);
        lle_seal(m, p[i]);
    }
    uint64_t t[5];
    size_t k = 0;
    for (int r = 0; r < 5; r++) {
        uint64_t t0 = now_ns();
        lle_seal_rotate_keys(m, &k);
        t[r] = now_ns() - t0;
    }
    lle_secure_stats_t st;
    lle_secure_get_stats(m, &st);
    printf("RESULT mode=rotate blocks=%zu rotation_ns=%llu locked_bytes=%zu unlocked_bytes=%zu\n", k,
           (unsigned long long)median(t, 5), st.locked_bytes, st.unlocked_bytes);
    for (int i = 0; i < N; i++) lle_secure_free(m, p[i]);
    free(p);
    lle_memory_manager_destroy(m);
}

/* ---- history store -------------------------------------------------------------------- */

static const char *const cmds[] = {"git", "ls", "cd", "grep", "make", "vim", "ssh", "docker",
                                   "kubectl", "cargo", "python3", "find", "curl", "rsync", "tar"};
static const char *const args[] = {"-la", "status", "commit -m 'fix build'", "-rn TODO src/",
                                   "-j8", "src/main.c", "user@host.example.org", "ps -a",
                                   "get pods -n default", "build --release", "-m pytest -x",
                                   ". -name '*.c' -newer Makefile", "-sSL https://example.org/x",
                                   "-avz ./ backup:/srv/", "xzf release.tar.gz"};

/* A realistic command line: a command, 1-4 arguments, sometimes a pipe. */
static size_t gen_cmd(char *out, size_t cap)
{
    size_t k = (size_t)snprintf(out, cap, "%s", cmds[next() % 15]);
    int nargs = 1 + (int)(next() % 4);
    for (int i = 0; i < nargs && k < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, " %s", args[next() % 15]);
    if (next() % 5 == 0 && k < cap) k += (size_t)snprintf(out + k, cap - k, " | grep -v x%u",
                                                          (unsigned)(next() % 1000));
    return k < cap ? k : cap - 1;
}

/* A large entry: a pasted script or heredoc of 2-64 KiB of command lines. */
static size_t gen_large(char *out, size_t want)
{
    size_t k = 0;
    while (k + 256 < want) {
        k += gen_cmd(out + k, 200);
        out[k++] = '\n';
    }
    return k;
}

static void history(void)
{
    lle_memory_manager_t *m = manager();
    lle_history_store_t *h;
    lle_history_create(m, &h);
    enum { SMALL = 10000, LARGE = 100 };
    char key[32], buf[256];
    char *big = malloc(65536);
    for (int i = 0; i < SMALL; i++) {
        size_t n = gen_cmd(buf, sizeof buf);
        snprintf(key, sizeof key, "%d", i);
        lle_history_put(h, key, buf, n, LLE_SENSITIVITY_LOW);
    }
    for (int i = 0; i < LARGE; i++) {
        size_t n = gen_large(big, 2048 + (size_t)(next() % (62 * 1024)));
        snprintf(key, sizeof key, "large-%d", i);
        lle_history_put(h, key, big, n, LLE_SENSITIVITY_LOW);
    }
    lle_history_stats_t st;
    lle_history_get_stats(h, &st);
    /* read latency: small entries, large (compressed) entries */
    enum { READS = 2001 };
    uint64_t ts[READS], tl[READS / 10];
    size_t len;
    for (int i = 0; i < READS; i++) {
        snprintf(key, sizeof key, "%d", (int)(next() % SMALL));
        uint64_t t0 = now_ns();
        lle_history_get(h, key, buf, sizeof buf, &len);
        ts[i] = now_ns() - t0;
    }
    for (int i = 0; i < READS / 10; i++) {
        snprintf(key, sizeof key, "large-%d", (int)(next() % LARGE));
        uint64_t t0 = now_ns();
        lle_history_get(h, key, big, 65536, &len);
        tl[i] = now_ns() - t0;
    }
    printf("RESULT mode=history entries=%zu compressed=%zu original=%zu stored=%zu saved=%zu "
           "ratio=%.3f read_small_ns=%llu read_large_ns=%llu\n",
           st.entries, st.compressed_entries, st.original_bytes, st.stored_bytes, st.bytes_saved,
           st.compression_ratio, (unsigned long long)median(ts, READS),
           (unsigned long long)median(tl, READS / 10));
    free(big);
    lle_history_destroy(h);
    lle_memory_manager_destroy(m);
}

/* ---- idle upkeep with sealing work pending ------------------------------------------ */

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Each call's overshoot: how far past its budget (wall clock, as the
 * budget is meant) it returned.  On a busy machine a call may also lose
 * the CPU to another process for a time slice (milliseconds): calls
 * during which the thread was switched out involuntarily (getrusage's
 * ru_nivcsw) are counted apart, and the percentiles are of the others. */
static long preemptions(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_nivcsw;
}

static void idle_budget(uint64_t budget_ns)
{
    lle_memory_config_t cfg;
    lle_memory_config_default(&cfg);
    cfg.read_environment = false;
    cfg.secure.cold_seal_ms = 1;
    cfg.secure.rotate_interval_ms = 1;
    lle_memory_manager_t *m;
    if (lle_memory_manager_create(&cfg, &m) != LLE_SUCCESS) exit(1);
    /* Pending work: 2,000 history entries the policy covers (commands of
     * MEDIUM sensitivity, 20 large ones compressed), 4,000 marked blocks
     * of 64 B to 64 KiB, 1,000 sealed blocks for one rotation. */
    lle_history_store_t *h;
    lle_history_create(m, &h);
    char key[32], buf[256];
    char *big = malloc(65536);
    for (int i = 0; i < 2000; i++) {
        size_t n = gen_cmd(buf, sizeof buf);
        snprintf(key, sizeof key, "%d", i);
        lle_history_put(h, key, buf, n, LLE_SENSITIVITY_MEDIUM);
    }
    for (int i = 0; i < 20; i++) {
        size_t n = gen_large(big, 2048 + (size_t)(next() % (62 * 1024)));
        snprintf(key, sizeof key, "large-%d", i);
        lle_history_put(h, key, big, n, LLE_SENSITIVITY_MEDIUM);
    }
    enum { MARKED = 4000, SEALED = 1000 };
    static const size_t sizes[] = {64, 64, 64, 64, 256, 1024, 4096, 65536};
    void **p = malloc((MARKED + SEALED) * sizeof *p);
    for (int i = 0; i < MARKED + SEALED; i++) {
        size_t n = i < MARKED ? sizes[next() % 8] : 64;
        p[i] = lle_secure_alloc(m, n);
        memset(p[i], i, n);
        if (i < MARKED) lle_secure_auto_seal(m, p[i], true);
        else lle_seal(m, p[i]);
    }
    sleep_ms(10);   /* everything cold, the keys older than the interval */
    enum { MAXCALLS = 200000 };
    uint64_t *over = malloc(MAXCALLS * sizeof *over);
    size_t calls = 0, within = 0, undisturbed = 0;
    uint64_t disturbed_max = 0;
    lle_idle_report_t rep;
    lle_secure_stats_t st;
    bool rotating = true;
    do {
        long pre = preemptions();
        lle_memory_idle(m, budget_ns, &rep);
        bool disturbed = preemptions() != pre;
        uint64_t o = rep.elapsed_ns > budget_ns ? rep.elapsed_ns - budget_ns : 0;
        calls++;
        if (disturbed) {
            if (o > disturbed_max) disturbed_max = o;
        } else {
            within += o == 0;
            over[undisturbed++] = o;
        }
        lle_secure_get_stats(m, &st);
        if (rotating && st.idle_rotations) {   /* one rotation: a fixed amount of work */
            lle_secure_config_t sc;
            lle_secure_get_config(m, &sc);
            sc.rotate_interval_ms = 0;
            lle_secure_configure(m, &sc);
            rotating = false;
        }
    } while (rep.work_left && calls < MAXCALLS);
    lle_history_stats_t hs;
    lle_history_get_stats(h, &hs);
    size_t u = undisturbed ? undisturbed : 1;
    if (!undisturbed) over[0] = 0;
    qsort(over, u, sizeof *over, cmp_u64);
    printf("RESULT mode=idle budget_us=%llu calls=%zu undisturbed=%zu within=%zu "
           "over_p50_ns=%llu over_p90_ns=%llu over_p99_ns=%llu over_max_ns=%llu "
           "disturbed_max_ns=%llu sealed=%llu resealed=%llu rotations=%llu history_sealed=%zu\n",
           (unsigned long long)(budget_ns / 1000), calls, undisturbed, within,
           (unsigned long long)over[u / 2], (unsigned long long)over[u * 9 / 10],
           (unsigned long long)over[u * 99 / 100], (unsigned long long)over[u - 1],
           (unsigned long long)disturbed_max,
           (unsigned long long)st.idle_sealed, (unsigned long long)st.idle_resealed,
           (unsigned long long)st.idle_rotations, hs.sealed_entries);
    free(over);
    for (int i = 0; i < MARKED + SEALED; i++) lle_secure_free(m, p[i]);
    free(p);
    free(big);
    lle_history_destroy(h);
    lle_memory_manager_destroy(m);
}

static void idle(void)
{
    idle_budget(100000);
    idle_budget(500000);
    idle_budget(2000000);
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0) return 1;
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "alloc-lle")) alloc_lle();
    else if (!strcmp(mode, "alloc-sodium")) alloc_sodium();
    else if (!strcmp(mode, "seal")) seal();
    else if (!strcmp(mode, "rotate")) rotate();
    else if (!strcmp(mode, "history")) history();
    else if (!strcmp(mode, "idle")) idle();
    else {
        fprintf(stderr,
                "usage: lle-bench-secure alloc-lle|alloc-sodium|seal|rotate|history|idle\n");
        return 2;
    }
    return 0;
}
