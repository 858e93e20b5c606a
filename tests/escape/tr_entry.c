/* tr_entry.c: the tracer's code run at a program's entry point (red team 5, issue 11).
 *
 * At the exec of a process whose former image had held arguments, the tracer maps the scratch
 * area in one stop: it writes "mov eax, 9; syscall; int3" over the new image's entry point
 * and lets the task run to the trap (Tracer._premap_scratch).  The entry point is the
 * program's to choose: one in a page that is not executable faults at the first instruction,
 * and the tracer kept the SIGSEGV back and let the task run the written code again, for ever
 * -- the tracer at full CPU and the tree stuck, where natively the program dies at once.
 *
 *   usage: tr_entry PROGRAM     (PROGRAM: entry_data, whose entry point is in a data page)
 *
 * A second thread and a child keep the tree at several tasks, so this open is held (the
 * scratch area mapped) and the exec premaps.  Prints the exec's failure; else PROGRAM dies. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *idle(void *arg) {
    pause();
    return arg;
}

int main(int argc, char **argv) {
    if (argc != 2)
        return 64;
    pthread_t thread;
    pthread_create(&thread, NULL, idle, NULL);
    if (fork() == 0) {
        sleep(2);
        _exit(0);
    }
    int fd = open("/etc/hostname", O_RDONLY); /* held: the scratch area is mapped */
    printf("open -> %d\n", fd >= 0 ? 0 : fd);
    fflush(stdout);
    execl(argv[1], argv[1], (char *)NULL);
    perror("exec");
    return 1;
}
