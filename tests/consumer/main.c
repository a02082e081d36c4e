/*
 * A program outside the project: it sees lle-memory only as installed
 * (headers under <prefix>/include/lle, library under <prefix>/lib...).
 * Exit status 0 when every call succeeded.
 */
#include <stdio.h>
#include <string.h>

#include <lle/memory.h>

int main(void)
{
    lle_memory_manager_t *m = NULL;
    lle_result_t r = lle_memory_manager_create(NULL, &m);
    if (r != LLE_SUCCESS || m == NULL) {
        fprintf(stderr, "consumer: lle_memory_manager_create failed (%d)\n", (int)r);
        return 1;
    }

    char *s = lle_pool_alloc(m, LLE_POOL_STRING, 100);
    if (s == NULL) {
        fprintf(stderr, "consumer: lle_pool_alloc returned NULL\n");
        (void)lle_memory_manager_destroy(m);
        return 1;
    }
    memset(s, 'x', 99);
    s[99] = '\0';
    if (strlen(s) != 99) {
        fprintf(stderr, "consumer: block does not hold 100 bytes\n");
        (void)lle_memory_manager_destroy(m);
        return 1;
    }

    r = lle_pool_free(m, s);
    if (r != LLE_SUCCESS) {
        fprintf(stderr, "consumer: lle_pool_free failed (%d)\n", (int)r);
        (void)lle_memory_manager_destroy(m);
        return 1;
    }

    r = lle_memory_manager_destroy(m);
    if (r != LLE_SUCCESS) {
        fprintf(stderr, "consumer: lle_memory_manager_destroy failed (%d)\n", (int)r);
        return 1;
    }

    puts("consumer: ok");
    return 0;
}
