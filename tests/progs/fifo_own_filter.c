/* Two threads of a program under a seccomp filter of its own (allow-all) meet at a FIFO by
 * its path: the main thread opens DIR/fifo for reading (it blocks until a writer comes), a
 * second thread opens it for writing a moment later; each writes or reads one line.  Under
 * a filter of its own a held open runs with the other tasks stopped (its path keeps its own
 * call: Tracer._hold), so the main thread's open waited for ever for the second thread,
 * which the freeze had stopped at its own open (regs27's finding).  Prints "read: hello"
 * and exits 0, as natively.  Usage: fifo_own_filter DIR [nofilter] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static char fifo[4096];

static void *writer(void *unused) {
    (void)unused;
    usleep(100000);
    int fd = open(fifo, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        perror("writer open");
        return NULL;
    }
    if (write(fd, "hello\n", 6) != 6) perror("write");
    close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(fifo, sizeof fifo, "%s/fifo", argv[1]);
    unlink(fifo);
    if (mkfifo(fifo, 0600) < 0) {
        perror("mkfifo");
        return 2;
    }
    if (argc < 3 || strcmp(argv[2], "nofilter") != 0) {
        struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
        struct sock_fprog prog = {1, allow};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
            perror("seccomp");
            return 2;
        }
    }
    pthread_t thread;
    if (pthread_create(&thread, NULL, writer, NULL) != 0) return 2;
    int fd = open(fifo, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        perror("reader open");
        return 1;
    }
    char line[64] = "";
    ssize_t n = read(fd, line, sizeof line - 1);
    if (n > 0) line[n] = 0;
    printf("read: %s", line);
    close(fd);
    pthread_join(thread, NULL);
    unlink(fifo);
    return 0;
}
