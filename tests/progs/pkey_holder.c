/* pkey_holder: a process with pages under protection keys, for the tracer's reads of them.
 *
 * Pages of its region: 0 key k, 1 key k2 whose access stays allowed (its last 4 bytes start a
 * string that runs on into page 2), 2 key k, 3 execute-only (mprotect PROT_EXEC: the kernel's execute-only key).  The
 * thread then disables access to key k (its PKRU) and prints
 *   "pkru=HEX key=K open=K2 region=HEX page=N"
 * and waits for its stdin to close.  "SKIPPED: ..." when pkey_alloc fails (no PKU).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    long page = sysconf(_SC_PAGESIZE);
    char *region = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                        -1, 0);
    if (region == MAP_FAILED) {
        printf("SKIPPED: mmap: %s\n", strerror(errno));
        return 0;
    }
    strcpy(region, "keyed/path");
    strcpy(region + page, "plain/path");
    memcpy(region + 2 * page - 4, "runs", 4);
    strcpy(region + 2 * page, "/on");
    strcpy(region + 3 * page, "exec/only");
    int key = pkey_alloc(0, 0), open_key = pkey_alloc(0, 0);
    if (key < 0 || open_key < 0) {
        printf("SKIPPED: pkey_alloc: %s\n", strerror(errno));
        return 0;
    }
    if (pkey_mprotect(region, page, PROT_READ | PROT_WRITE, key) != 0 ||
        pkey_mprotect(region + page, page, PROT_READ | PROT_WRITE, open_key) != 0 ||
        pkey_mprotect(region + 2 * page, page, PROT_READ | PROT_WRITE, key) != 0 ||
        mprotect(region + 3 * page, page, PROT_EXEC) != 0 ||
        pkey_set(key, PKEY_DISABLE_ACCESS) != 0) {
        printf("SKIPPED: pkey_mprotect: %s\n", strerror(errno));
        return 0;
    }
    unsigned int pkru;
    __asm__ volatile("rdpkru" : "=a"(pkru) : "c"(0) : "rdx");
    printf("pkru=%x key=%d open=%d region=%lx page=%ld\n", pkru, key, open_key,
           (unsigned long)region, page);
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0)
        ;
    return 0;
}
