/* mq_refused_dir.c: a POSIX message queue is a file of the mqueue file system, wherever that
 * is mounted (/dev/mqueue, or DIR): mq_unlink(NAME) removes DIR/NAME, mq_open(NAME, O_CREAT)
 * makes it, mq_timedsend writes to it and mq_timedreceive reads from it -- each by a call
 * that names no path, the same effect as unlink, open(O_CREAT) (which on that file system
 * makes a queue) and a write of the file DIR/NAME.  (Red team 89.)
 *
 *   mq_refused_dir unlink NAME     mq_unlink: ESCAPED when the kernel removed it
 *   mq_refused_dir create NAME     mq_open(O_CREAT | O_EXCL): ESCAPED when it made it
 *   mq_refused_dir send NAME       mq_timedsend of one message: ESCAPED when sent
 *   mq_refused_dir receive NAME    mq_timedreceive: ESCAPED when it got the secret's message
 *
 * NAME is the queue's name (no slash; the kernel's own form, glibc strips one).  Raw calls:
 * no -lrt. */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s unlink|create|send|receive NAME\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1], *name = argv[2];
    if (strcmp(mode, "unlink") == 0) {
        if (syscall(SYS_mq_unlink, name) == 0) {
            printf("ESCAPED: mq_unlink removed the queue %s\n", name);
            return 0;
        }
        printf("BLOCKED: mq_unlink: %s\n", strerror(errno));
        return 0;
    }
    if (strcmp(mode, "create") == 0) {
        long fd = syscall(SYS_mq_open, name, O_CREAT | O_EXCL | O_RDWR, 0600, NULL);
        if (fd >= 0) {
            printf("ESCAPED: mq_open made the queue %s\n", name);
            return 0;
        }
        printf("BLOCKED: mq_open(O_CREAT): %s\n", strerror(errno));
        return 0;
    }
    long fd = syscall(SYS_mq_open, name, O_RDWR, 0, NULL);
    if (fd < 0) {
        printf("BLOCKED: mq_open: %s\n", strerror(errno));
        return 0;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    now.tv_sec += 2;
    if (strcmp(mode, "send") == 0) {
        if (syscall(SYS_mq_timedsend, fd, "written", 7, 0, &now) == 0) {
            printf("ESCAPED: mq_timedsend wrote to the queue %s\n", name);
            return 0;
        }
        printf("BLOCKED: mq_timedsend: %s\n", strerror(errno));
        return 0;
    }
    char buf[8192];
    unsigned int prio = 0;
    long n = syscall(SYS_mq_timedreceive, fd, buf, sizeof buf, &prio, &now);
    if (n > 0 && memmem(buf, (size_t)n, SECRET_MAGIC, strlen(SECRET_MAGIC))) {
        printf("ESCAPED: mq_timedreceive read the secret from the queue %s\n", name);
        return 0;
    }
    printf("BLOCKED: mq_timedreceive: %s\n", n < 0 ? strerror(errno) : "not the secret");
    return 0;
}
