/* A forked child without its parent's scratch area (close 23).  The parent takes the area
 * (argv[1], scratch.BASE; argv[2] bytes) out of its children with MADV_DONTFORK through
 * process_madvise -- refused by the filter (red team 76), so this runs under a tracer with that
 * guard lifted (tests/escape/unguarded.py), as if through a door no guard knows -- after an
 * open beside a second thread (held: the area is mapped by then), then forks.  The child,
 * with MODE "own", first maps its own writable (and executable: the tracer's return trampolines
 * would run there) memory at the area's address with a hint mmap
 * (no MAP_FIXED: no guard stops it); with "none" it maps nothing.  Then it opens argv[3]
 * twice (held: its parent's tasks run beside it) and tells whether its own mapping was
 * written: the tracer must never write its copies into the program's memory, nor into
 * nothing.
 *
 *   area_not_copied BASE SIZE FILE own|none
 *
 * Prints "advised RESULT", "mapped at-base|elsewhere|none", "open0 RESULT", "open1 RESULT",
 * "written N" (the child's). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static void *idle(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 5) return 2;
    unsigned long base = strtoul(argv[1], NULL, 0), size = strtoul(argv[2], NULL, 0);
    int own = strcmp(argv[4], "own") == 0;
    setvbuf(stdout, NULL, _IOLBF, 0);  /* (each line out before a fault could end the child) */
    pthread_t thread;
    if (pthread_create(&thread, NULL, idle, NULL) != 0) return 3;
    int fd = open(argv[3], O_RDONLY);  /* (held: the tracer maps its area, if not yet) */
    if (fd >= 0) close(fd);
    int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    struct iovec area = {(void *)base, size};
    long advised = pidfd < 0 ? -1 : syscall(SYS_process_madvise, pidfd, &area, 1,
                                            MADV_DONTFORK, 0);
    printf("advised %s\n", advised < 0 ? strerrorname_np(errno) : "ok");
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) return 4;
    if (child > 0) {
        int status;
        waitpid(child, &status, 0);
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
    unsigned char *mine = MAP_FAILED;
    if (own) {
        mine = mmap((void *)base, size, PROT_READ | PROT_WRITE | PROT_EXEC,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        printf("mapped %s\n", mine == (void *)base ? "at-base" : "elsewhere");
    } else {
        printf("mapped none\n");
    }
    for (int i = 0; i < 2; i++) {
        fd = open(argv[3], O_RDONLY);
        printf("open%d %s\n", i, fd >= 0 ? "ok" : strerrorname_np(errno));
        if (fd >= 0) close(fd);
    }
    size_t written = 0;
    if (mine == (void *)base)
        for (size_t at = 0; at < size; at += 4096) {
            /* (only the pages the program touched or the tracer wrote: mincore) */
            unsigned char in;
            if (mincore(mine + at, 4096, &in) == 0 && in & 1)
                for (size_t i = 0; i < 4096; i++) written += mine[at + i] != 0;
        }
    printf("written %zu\n", written);
    fflush(stdout);
    _exit(0);
}
