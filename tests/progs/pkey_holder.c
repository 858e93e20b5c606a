/* pkey_holder: a process with pages under protection keys, for the tracer's reads of them.
 *
 * Pages of its region: 0 key k, 1 key k2 whose access stays allowed (its last 4 bytes start a
 * string that runs on into page 2), 2 key k, 3 execute-only (mprotect PROT_EXEC: the kernel's execute-only key).  The
 * thread then disables access to key k (its PKRU) and prints
 *   "pkru=HEX key=K open=K2 region=HEX page=N"
 * and waits for its stdin to close.  "SKIPPED: ..." when pkey_alloc fails (no PKU).
 *
 *   pkey_holder SECRET STOPFILE
 *
 * instead opens SECRET, its path in page 0 (key k, disabled), every 50 ms until STOPFILE
 * exists, printing "TRACERPID RESULT" each time (RESULT: ok or the errno's name; the kernel
 * says EFAULT), then exits 7.  A long-running process for --attach.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long tracer_pid(void) {
    char line[256];
    long pid = -1;
    FILE *status = fopen("/proc/self/status", "r");
    while (status && fgets(line, sizeof line, status))
        if (!strncmp(line, "TracerPid:", 10))
            pid = atol(line + 10);
    if (status)
        fclose(status);
    return pid;
}

int main(int argc, char **argv) {
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
    if (argc >= 3)
        snprintf(region + 2048, 2048, "%s", argv[1]);
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
    if (argc >= 3) {
        const struct timespec pause = {0, 50 * 1000 * 1000};
        while (access(argv[2], F_OK) != 0) {
            int fd = open(region + 2048, O_RDONLY);
            int err = errno;
            if (fd >= 0)
                close(fd);
            printf("%ld %s\n", tracer_pid(), fd >= 0 ? "ok" : strerrorname_np(err));
            fflush(stdout);
            nanosleep(&pause, NULL);
        }
        return 7;
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
