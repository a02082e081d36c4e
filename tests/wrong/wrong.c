/*
 * wrong.c - programs with one deliberate memory bug each: the catalogue of
 * docs/DETECTION.md.  `PROGRAM BUG` runs one bug; `PROGRAM --list` lists
 * them (name, the lle error code that names it, what it does).
 *
 * One source, two back ends chosen at compile time:
 *
 *   WRONG_LLE  lle-wrong: blocks of LLE_POOL_STRING through LLE_ALLOC,
 *              LLE_FREE and LLE_REALLOC (which record their call sites), an
 *              error callback that prints one line per error and counts
 *              them, and at the end lle_detect_memory_errors() (so that an
 *              overflow of a block never freed is found too) and the
 *              manager's destruction (leaks, with the leak report).  The
 *              debugging mode comes from LLE_MEMORY_OPTIONS.
 *   otherwise  malloc-wrong: the same bugs with malloc, free and realloc,
 *              to run under other allocators (LD_PRELOAD) and valgrind.
 *
 * Everything is printed on stderr, unbuffered, so that it interleaves in
 * order with what a tool prints there:
 *
 *   [wrong] bug NAME: WHAT     first
 *   [wrong] fault              just before the faulty statement
 *   [wrong] after              just after it
 *   [wrong] end                after the program's own work (the bug and a
 *                              few more allocations), before the final
 *                              checks, destruction and exit
 *   [wrong] exit N             last, with the status
 *   [wrong] n/a: WHY           the bug cannot be written with this back end
 *   lle: CODE alloc=SITE free=SITE: MESSAGE     each error the library
 *                              reports (SITE is FILE:LINE, or - unknown)
 *   lle: leak: LINE            each line of the leak report
 *
 * A report between "fault" and "after" came at the faulty statement itself,
 * one between "after" and "end" later in the program (at a free or an
 * allocation), one after "end" at the final checks or at exit.
 *
 * Exit status: 0 the program ran to its end and (lle) the library reported
 * nothing; 3 (lle) the library reported at least one error; 4 the bug does
 * not apply to this back end (or is not built yet); 1 a setup failure;
 * 2 bad usage.
 *
 * The lines that allocate or free the blocks concerned carry a marker
 * comment "@BUG:WHAT"; tests/wrong/check.cmake finds them and checks that
 * the sites the library reports are these lines.  Keep one statement and
 * one marker on such a line.
 *
 * Every pointer goes through launder(), which hides where it came from:
 * the compiler can then neither warn about the bugs (they are deliberate)
 * nor optimise them away.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef WRONG_LLE
#include <lle/memory.h>
#else
#include <obstack.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

enum {
    EXIT_CLEAN = 0,      /* ran to the end, nothing reported */
    EXIT_SETUP = 1,      /* the program itself failed */
    EXIT_USAGE = 2,
    EXIT_REPORTED = 3,   /* lle reported at least one error */
    EXIT_NA = 4          /* not applicable to this back end, or not built yet */
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("[wrong] ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void fault(void) { say("fault"); }
static void after(void) { say("after"); }

/* p, with its origin hidden from the optimiser; pending stores are done. */
static void *launder(void *p)
{
    __asm__ volatile("" : "+r"(p) : : "memory");
    return p;
}

/* ---- the back ends ------------------------------------------------------- */

#ifdef WRONG_LLE

#define WRONG_POOL LLE_POOL_STRING

static lle_memory_manager_t *mgr;

#define W_ALLOC(n) launder(LLE_ALLOC(mgr, WRONG_POOL, (n)))
#define W_FREE(p) ((void)LLE_FREE(mgr, launder(p)))
#define W_REALLOC(p, n) launder(LLE_REALLOC(mgr, launder(p), (n)))

static const char *const code_names[LLE_RESULT_COUNT_] = {
    [LLE_SUCCESS] = "LLE_SUCCESS",
    [LLE_ERROR_NULL_PARAMETER] = "LLE_ERROR_NULL_PARAMETER",
    [LLE_ERROR_INVALID_ARGUMENT] = "LLE_ERROR_INVALID_ARGUMENT",
    [LLE_ERROR_OUT_OF_MEMORY] = "LLE_ERROR_OUT_OF_MEMORY",
    [LLE_ERROR_INVALID_POINTER] = "LLE_ERROR_INVALID_POINTER",
    [LLE_ERROR_DOUBLE_FREE] = "LLE_ERROR_DOUBLE_FREE",
    [LLE_ERROR_INVALID_STATE] = "LLE_ERROR_INVALID_STATE",
    [LLE_ERROR_INVALID_STATE_TRANSITION] = "LLE_ERROR_INVALID_STATE_TRANSITION",
    [LLE_ERROR_INVALID_OPTION] = "LLE_ERROR_INVALID_OPTION",
    [LLE_ERROR_POOL_LIMIT] = "LLE_ERROR_POOL_LIMIT",
    [LLE_ERROR_NOT_SUPPORTED] = "LLE_ERROR_NOT_SUPPORTED",
    [LLE_ERROR_MEMORY_LEAK] = "LLE_ERROR_MEMORY_LEAK",
    [LLE_ERROR_HOST_FAILURE] = "LLE_ERROR_HOST_FAILURE",
    [LLE_ERROR_SELFTEST_FAILED] = "LLE_ERROR_SELFTEST_FAILED",
    [LLE_ERROR_BUFFER_TOO_SMALL] = "LLE_ERROR_BUFFER_TOO_SMALL",
    [LLE_ERROR_ARENA_LIMIT] = "LLE_ERROR_ARENA_LIMIT",
    [LLE_ERROR_DEAD_OBJECT] = "LLE_ERROR_DEAD_OBJECT",
    [LLE_ERROR_CORRUPTION] = "LLE_ERROR_CORRUPTION",
    [LLE_ERROR_USE_AFTER_FREE] = "LLE_ERROR_USE_AFTER_FREE",
    [LLE_ERROR_BOUNDS_VIOLATION] = "LLE_ERROR_BOUNDS_VIOLATION",
    [LLE_ERROR_ACCESS_DENIED] = "LLE_ERROR_ACCESS_DENIED",
};

static const char *code_name(lle_result_t r)
{
    return (unsigned)r < LLE_RESULT_COUNT_ && code_names[r] ? code_names[r] : "LLE_ERROR_?";
}

/* Errors reported, per code. */
static unsigned long reported[LLE_RESULT_COUNT_];
static unsigned long reported_total;

static void site_text(const lle_site_t *s, char *buf, size_t len)
{
    if (s->file) snprintf(buf, len, "%s:%d", s->file, s->line);
    else if (s->pc) snprintf(buf, len, "pc:%p", s->pc);
    else snprintf(buf, len, "-");
}

static void on_error(void *user, const lle_memory_error_t *e)
{
    (void)user;
    char as[256], fs[256];
    site_text(&e->alloc_site, as, sizeof as);
    site_text(&e->free_site, fs, sizeof fs);
    fprintf(stderr, "lle: %s alloc=%s free=%s: %s\n", code_name(e->code), as, fs,
            e->message ? e->message : "");
    if ((unsigned)e->code < LLE_RESULT_COUNT_) reported[e->code]++;
    reported_total++;
}

static void on_leak_report(void *user, const char *text, size_t len)
{
    (void)user;
    const char *p = text, *end = text + len;
    while (p < end && *p) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        fprintf(stderr, "lle: leak: %.*s\n", (int)n, p);
        p += n + (nl != NULL);
    }
}

/* A manager configured from LLE_MEMORY_OPTIONS, reporting to on_error. */
static lle_memory_manager_t *new_manager(void)
{
    lle_memory_config_t cfg;
    lle_memory_config_default(&cfg);
    cfg.error_fn = on_error;
    lle_memory_manager_t *m = NULL;
    if (lle_memory_manager_create(&cfg, &m) != LLE_SUCCESS) return NULL;
    return m;
}

static int setup(void)
{
    mgr = new_manager();
    if (!mgr) {
        say("cannot create the memory manager (LLE_MEMORY_OPTIONS?)");
        return EXIT_SETUP;
    }
    if (lle_memory_set_leak_report(mgr, LLE_FORMAT_TEXT, on_leak_report, NULL) != LLE_SUCCESS) {
        say("cannot set the leak report");
        return EXIT_SETUP;
    }
    return EXIT_CLEAN;
}

/* The final checks: the whole heap, then the manager's destruction. */
static int finish(void)
{
    size_t problems = 0;
    (void)lle_detect_memory_errors(mgr, &problems);
    (void)lle_memory_manager_destroy(mgr);
    mgr = NULL;
    if (reported_total == 0) {
        say("lle reported no error");
        return EXIT_CLEAN;
    }
    char list[512] = "";
    size_t len = 0;
    for (int c = 0; c < LLE_RESULT_COUNT_; c++)
        if (reported[c] && len < sizeof list)
            len += (size_t)snprintf(list + len, sizeof list - len, " %s x%lu", code_name(c),
                                    reported[c]);
    say("lle reported %lu errors:%s", reported_total, list);
    return EXIT_REPORTED;
}

/* The end of a run that did not apply: the manager goes, silently. */
static void discard(void)
{
    (void)lle_memory_set_error_callback(mgr, NULL, NULL);
    (void)lle_memory_manager_destroy(mgr);
    mgr = NULL;
}

#define BACKEND "lle-memory"

#else /* malloc */

#define W_ALLOC(n) launder(malloc(n))
#define W_FREE(p) free(launder(p))
#define W_REALLOC(p, n) launder(realloc(launder(p), (n)))

static int setup(void) { return EXIT_CLEAN; }
static int finish(void) { return EXIT_CLEAN; }
static void discard(void) {}

#define BACKEND "malloc"

#endif

/* Set by a bug that cannot be written with this back end. */
static const char *not_applicable;

/* ---- the bugs -------------------------------------------------------------- */

/* Nothing wrong: the control, which every tool must pass in silence. */
static void bug_none(void)
{
    char *p = W_ALLOC(32);
    strcpy(p, "fine");
    fault();
    p[0] = 'F';
    after();
    W_FREE(p);
}

/* strcpy into a block of strlen bytes: the terminating NUL lands one byte
 * past the end. */
static void bug_overflow1(void)
{
    static const char text[] = "hello, world!";   /* 13 characters */
    char *p = W_ALLOC(strlen(text)); /* @overflow1:alloc */
    fault();
    strcpy(p, text);
    after();
    W_FREE(p); /* @overflow1:free */
}

/* 48 bytes written into a block of 32, with a neighbour allocated after it. */
static void bug_overflow16(void)
{
    char *p = W_ALLOC(32); /* @overflow16:alloc */
    char *next = W_ALLOC(32);
    memset(next, 'n', 32);
    fault();
    memset(p, 'x', 48);
    after();
    W_FREE(p); /* @overflow16:free */
    W_FREE(next);
}

/* The byte before the block written (index -1), with a neighbour
 * allocated before it. */
static void bug_underflow(void)
{
    char *before = W_ALLOC(32);
    memset(before, 'b', 32);
    char *p = W_ALLOC(32); /* @underflow:alloc */
    memset(p, 'p', 32);
    fault();
    p[-1] = 'x';
    after();
    W_FREE(p); /* @underflow:free */
    W_FREE(before);
}

/* One byte past a large block (100,000 bytes). */
static void bug_overflow_large(void)
{
    size_t n = 100000;
    char *p = W_ALLOC(n); /* @overflow_large:alloc */
    memset(p, 'a', n);
    fault();
    p[n] = 'x';
    after();
    W_FREE(p); /* @overflow_large:free */
}

/* A byte of a freed block written. */
static void bug_uaf_write(void)
{
    char *p = W_ALLOC(32); /* @uaf_write:alloc */
    strcpy(p, "the line");
    W_FREE(p); /* @uaf_write:free */
    fault();
    p[8] = 'x';
    after();
}

/* A freed block written after a block of the same size was allocated
 * (which, without a quarantine, is usually the same memory). */
static void bug_uaf_reused(void)
{
    char *p = W_ALLOC(32); /* @uaf_reused:alloc */
    W_FREE(p); /* @uaf_reused:free */
    char *q = W_ALLOC(32);
    memset(q, 'q', 32);
    say("the new block %s the freed one", q == p ? "is" : "is not");
    fault();
    p[8] = 'x';
    after();
    W_FREE(q);
}

/* A byte of a freed block read (not written). */
static void bug_read_after_free(void)
{
    char *p = W_ALLOC(32); /* @read_after_free:alloc */
    strcpy(p, "secret");
    W_FREE(p); /* @read_after_free:free */
    fault();
    volatile char c = p[0];
    (void)c;
    after();
}

static void bug_double_free(void)
{
    char *p = W_ALLOC(32); /* @double_free:alloc */
    W_FREE(p); /* @double_free:free */
    fault();
    W_FREE(p); /* @double_free:again */
    after();
}

static void bug_triple_free(void)
{
    char *p = W_ALLOC(32); /* @triple_free:alloc */
    W_FREE(p); /* @triple_free:free */
    fault();
    W_FREE(p); /* @triple_free:again */
    W_FREE(p); /* @triple_free:third */
    after();
}

/* free of an array on the stack.  The 16 bytes before it are zeros, so
 * that what an allocator reads there is the same on every run. */
static void bug_free_stack(void)
{
    struct {
        _Alignas(16) unsigned char before[16];
        unsigned char buf[32];
    } frame;
    memset(&frame, 0, sizeof frame);
    fault();
    W_FREE(frame.buf); /* @free_stack:free */
    after();
}

/* free of a pointer 8 bytes into a live block, then of the block. */
static void bug_free_interior(void)
{
    char *p = W_ALLOC(32); /* @free_interior:alloc */
    memcpy(p, "0123456789abcdef0123456789abcde", 32);
    fault();
    W_FREE(p + 8); /* @free_interior:free */
    after();
    W_FREE(p);
}

#ifdef WRONG_LLE
/* free through one manager of a block of another. */
static void bug_free_foreign(void)
{
    lle_memory_manager_t *other = new_manager();
    if (!other) {
        say("cannot create the second manager");
        exit(EXIT_SETUP);
    }
    char *p = launder(LLE_ALLOC(other, WRONG_POOL, 32)); /* @free_foreign:alloc */
    memset(p, 'o', 32);
    fault();
    W_FREE(p); /* @free_foreign:free */
    after();
    (void)LLE_FREE(other, p);
    (void)lle_memory_manager_destroy(other);
}
#else
/* free of memory from another allocation API: the second of two pages
 * from mmap (the first is zeros, so what free reads before the pointer is
 * the same on every run). */
static void bug_free_foreign(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        say("mmap failed");
        exit(EXIT_SETUP);
    }
    char *p = launder(map + page); /* @free_foreign:alloc */
    memset(p, 'o', 32);
    fault();
    W_FREE(p); /* @free_foreign:free */
    after();
    munmap(map, 2 * page);
}
#endif

/* A block allocated, written, and its only pointer dropped. */
static void bug_leak(void)
{
    char *p = W_ALLOC(48); /* @leak:alloc */
    memset(p, 'l', 48);
    fault();
    p = launder(NULL);
    after();
    (void)p;
}

/* realloc of a block already freed. */
static void bug_realloc_freed(void)
{
    char *p = W_ALLOC(32); /* @realloc_freed:alloc */
    strcpy(p, "grow me");
    W_FREE(p); /* @realloc_freed:free */
    fault();
    char *q = W_REALLOC(p, 64); /* @realloc_freed:realloc */
    after();
    if (q) W_FREE(q);
}

#ifdef WRONG_LLE
/* A string of an arena written after the arena was reset. */
static void bug_arena_reset(void)
{
    lle_arena_config_t cfg;
    lle_arena_config_default(&cfg);
    cfg.pool = WRONG_POOL;
    lle_arena_t *a = NULL;
    if (lle_arena_create(mgr, NULL, "wrong", &cfg, &a) != LLE_SUCCESS) {
        say("cannot create the arena");
        exit(EXIT_SETUP);
    }
    char *s = launder(lle_arena_strdup(a, "prompt> ")); /* @arena_reset:alloc */
    (void)lle_arena_reset(a); /* @arena_reset:free */
    fault();
    s[0] = 'x'; /* @arena_reset:write */
    after();
    (void)lle_arena_destroy(a);
}
#else
#define obstack_chunk_alloc malloc
#define obstack_chunk_free free
/* The C library's own arena, an obstack: a string written after the
 * obstack was freed back to its start (its first chunk is kept). */
static void bug_arena_reset(void)
{
    struct obstack ob;
    obstack_init(&ob);
    char *s = launder(obstack_copy0(&ob, "prompt> ", 8)); /* @arena_reset:alloc */
    obstack_free(&ob, s); /* @arena_reset:free */
    fault();
    s[0] = 'x';
    after();
    obstack_free(&ob, NULL);
}
#endif

/* A block made read-only, then written. */
static void bug_readonly(void)
{
#ifdef WRONG_LLE
    char *p = launder(LLE_ALLOC_GUARDED(mgr, WRONG_POOL, 64)); /* @readonly:alloc */
    strcpy(p, "history entry");
    if (lle_memory_protect(mgr, p, LLE_ACCESS_READ) != LLE_SUCCESS) {
        say("cannot make the block read-only");
        exit(EXIT_SETUP);
    }
    fault();
    p[0] = 'H';
    after();
    (void)lle_memory_protect(mgr, p, LLE_ACCESS_READ_WRITE);
    W_FREE(p);
#else
    not_applicable = "malloc has no read-only blocks";
#endif
}

/* ---- the program ------------------------------------------------------------ */

typedef struct bug {
    const char *name;
    void (*run)(void);
    const char *code;   /* what lle-memory reports for it ("-": nothing applies) */
    const char *what;
} bug_t;

static const bug_t bugs[] = {
    {"none", bug_none, "-", "nothing wrong (the control)"},
    {"overflow1", bug_overflow1, "LLE_ERROR_CORRUPTION|LLE_ERROR_BOUNDS_VIOLATION", "heap overflow by 1 byte (strcpy)"},
    {"overflow16", bug_overflow16, "LLE_ERROR_CORRUPTION|LLE_ERROR_BOUNDS_VIOLATION", "heap overflow by 16 bytes"},
    {"underflow", bug_underflow, "LLE_ERROR_CORRUPTION|LLE_ERROR_BOUNDS_VIOLATION", "heap underflow (index -1)"},
    {"overflow_large", bug_overflow_large, "LLE_ERROR_CORRUPTION|LLE_ERROR_BOUNDS_VIOLATION",
     "overflow by 1 byte of a 100,000-byte block"},
    {"uaf_write", bug_uaf_write, "LLE_ERROR_USE_AFTER_FREE", "write after free"},
    {"uaf_reused", bug_uaf_reused, "LLE_ERROR_USE_AFTER_FREE",
     "write after free, the block reused"},
    {"read_after_free", bug_read_after_free, "LLE_ERROR_USE_AFTER_FREE", "read after free"},
    {"double_free", bug_double_free, "LLE_ERROR_DOUBLE_FREE", "double free"},
    {"triple_free", bug_triple_free, "LLE_ERROR_DOUBLE_FREE", "triple free"},
    {"free_stack", bug_free_stack, "LLE_ERROR_INVALID_POINTER", "free of a stack pointer"},
    {"free_interior", bug_free_interior, "LLE_ERROR_INVALID_POINTER",
     "free of an interior pointer"},
    {"free_foreign", bug_free_foreign, "LLE_ERROR_INVALID_POINTER",
     "free of another manager's pointer"},
    {"leak", bug_leak, "LLE_ERROR_MEMORY_LEAK", "a leak"},
    {"realloc_freed", bug_realloc_freed, "LLE_ERROR_USE_AFTER_FREE", "realloc of a freed block"},
    {"arena_reset", bug_arena_reset, "LLE_ERROR_USE_AFTER_FREE",
     "arena memory written after a reset"},
    {"readonly", bug_readonly, "LLE_ERROR_ACCESS_DENIED", "a read-only block written"},
};
#define NBUGS (sizeof bugs / sizeof bugs[0])

/* What the program goes on doing after its bug: allocations of assorted
 * sizes, written and freed, as a real program would (an allocator that
 * checks its free lists when it reuses memory gets its chance here). */
static void carry_on(void)
{
    char *blocks[64];
    for (int i = 0; i < 64; i++) {
        size_t n = 8 + (size_t)(i * 37) % 200;
        blocks[i] = W_ALLOC(n);
        memset(blocks[i], 'a' + i % 26, n);
    }
    for (int i = 63; i >= 0; i--) W_FREE(blocks[i]);
}

static int usage(void)
{
    fprintf(stderr, "usage: %s-wrong BUG | --list\nbugs:", BACKEND);
    for (size_t i = 0; i < NBUGS; i++) fprintf(stderr, " %s", bugs[i].name);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    setvbuf(stderr, NULL, _IONBF, 0);
    if (argc != 2) return usage();
    if (strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < NBUGS; i++)
            printf("%s\t%s\t%s\n", bugs[i].name, bugs[i].code, bugs[i].what);
        return EXIT_CLEAN;
    }
    const bug_t *b = NULL;
    for (size_t i = 0; i < NBUGS; i++)
        if (strcmp(argv[1], bugs[i].name) == 0) b = &bugs[i];
    if (!b) return usage();

    say("bug %s: %s (%s)", b->name, b->what, BACKEND);
    int status = setup();
    if (status != EXIT_CLEAN) return status;
    b->run();
    if (not_applicable) {
        discard();
        say("n/a: %s", not_applicable);
        say("exit %d", EXIT_NA);
        return EXIT_NA;
    }
    carry_on();
    say("end");
    status = finish();
    say("exit %d", status);
    return status;
}
