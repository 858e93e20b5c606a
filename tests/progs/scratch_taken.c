/* The address where the tracer maps its scratch area (argv[1], scratch.BASE) taken by the
 * program first, with a plain mmap whose address is only a hint (no MAP_FIXED: no guard stops
 * it), so that the tracer's MAP_FIXED_NOREPLACE mmap fails; then, beside a second thread (the
 * opens must be held), it opens argv[3] twice and tells whether its own mapping (argv[2]
 * bytes) was written: the held copies must never go into the program's memory.
 * Prints "mapped at-base|elsewhere", "open0 RESULT", "open1 RESULT", "written N". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void *idle(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    unsigned long base = strtoul(argv[1], NULL, 0), size = strtoul(argv[2], NULL, 0);
    unsigned char *area = mmap((void *)base, size, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    printf("mapped %s\n", area == (void *)base ? "at-base" : "elsewhere");
    pthread_t thread;
    if (pthread_create(&thread, NULL, idle, NULL) != 0) return 3;
    for (int i = 0; i < 2; i++) {
        int fd = open(argv[3], O_RDONLY);
        printf("open%d %s\n", i, fd >= 0 ? "ok" : strerrorname_np(errno));
        if (fd >= 0) close(fd);
    }
    size_t written = 0;
    if (area != MAP_FAILED)
        for (size_t at = 0; at < size; at += 4096) {
            /* (only the pages the program touched or the tracer wrote: mincore) */
            unsigned char in;
            if (mincore(area + at, 4096, &in) == 0 && in & 1)
                for (size_t i = 0; i < 4096; i++) written += area[at + i] != 0;
        }
    printf("written %zu\n", written);
    fflush(stdout);
    _exit(0);
}
