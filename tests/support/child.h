/*
 * child.h - running a piece of a test in a child process, to check what a
 * sanitizer reports when that piece touches memory it must not (the report
 * ends the child, not the test).  HAVE_ASAN is defined when the tests are
 * built with AddressSanitizer, RUNNING_ON_VALGRIND tells a run under
 * valgrind.
 */
#ifndef LLE_TEST_CHILD_H
#define LLE_TEST_CHILD_H

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
/* RUNNING_ON_VALGRIND: non-zero under valgrind (0 without its headers),
 * for the pieces whose deliberate faults valgrind would report itself or
 * whose limits its own mappings would not fit. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include "test_util.h"

/* Run body(arg) in a child process; returns its wait status and stores
 * what it wrote to stderr in err (NUL-terminated, at most cap - 1 bytes). */
static inline int run_child(void (*body)(int), int arg, char *err, size_t cap)
{
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        body(arg);
        _exit(0);
    }
    close(fd[1]);
    size_t len = 0;
    ssize_t k;
    while (len + 1 < cap && (k = read(fd[0], err + len, cap - 1 - len)) > 0) len += (size_t)k;
    err[len] = '\0';
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

#endif
