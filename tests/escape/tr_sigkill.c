/* tr_sigkill: SIGKILL traced processes at random moments -- between a call's entry and its
 * exit, during the tracer's first injected mmap of the scratch area, in a multi-threaded
 * process -- and then check that the tracer still decides every call right.
 *
 *   tr_sigkill SECRET DECOY [CHILDREN]
 *
 * Each child (in a thread of its own, too) opens DECOY and SECRET in a loop and is killed
 * after 0..3 ms.  Any open of the secret that succeeds is counted in a shared page.  At the
 * end, this process (and a fresh child) must still be refused the secret and allowed the decoy.
 * Class 6 (SIGKILL of the tracee between entry and exit: the tracer must not desync).
 */
#include "attack.h"

#include <pthread.h>
#include <sys/mman.h>

static const char *secret, *decoy;
static volatile long *got;

static void *hammer(void *arg) {
    (void)arg;
    for (;;) {
        int fd = open(decoy, O_RDONLY);
        if (fd >= 0)
            close(fd);
        fd = open(secret, O_RDONLY);
        if (fd >= 0) {
            if (is_secret_fd(fd))
                __atomic_add_fetch(got, 1, __ATOMIC_SEQ_CST);
            close(fd);
        }
    }
    return NULL;
}

static const char *check_now(void) {
    static char out[256];
    int d = open(decoy, O_RDONLY);
    int derr = errno;
    int s = open(secret, O_RDONLY);
    int serr = errno;
    snprintf(out, sizeof out, "decoy %s, secret %s", d >= 0 ? "opened" : ename(derr),
             s >= 0 ? (is_secret_fd(s) ? "READ" : "opened?") : ename(serr));
    if (s >= 0 && is_secret_fd(s))
        __atomic_add_fetch(got, 1, __ATOMIC_SEQ_CST);
    if (d >= 0)
        close(d);
    if (s >= 0)
        close(s);
    return out;
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("tr_sigkill SECRET DECOY [CHILDREN]");
    secret = argv[1];
    decoy = argv[2];
    int children = argc > 3 ? atoi(argv[3]) : 150;
    got = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    srand(getpid());
    for (int i = 0; i < children; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            pthread_t th;
            if (i % 2)
                pthread_create(&th, NULL, hammer, NULL);
            hammer(NULL);
        }
        usleep(rand() % 3000);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    char after_parent[256], after_child[256] = "";
    snprintf(after_parent, sizeof after_parent, "%s", check_now());
    int p[2];
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        const char *r = check_now();
        write(p[1], r, strlen(r));
        _exit(0);
    }
    close(p[1]);
    ssize_t n = read(p[0], after_child, sizeof after_child - 1);
    after_child[n < 0 ? 0 : n] = 0;
    waitpid(pid, NULL, 0);
    note("after %d killed children: parent: %s; new child: %s", children, after_parent,
         after_child);
    if (*got)
        escaped("the secret was read %ld times", *got);
    if (strncmp(after_parent, "decoy opened", 12) || strncmp(after_child, "decoy opened", 12))
        blocked("the secret was never read, but the tracer went wrong: parent: %s; child: %s",
                after_parent, after_child);
    blocked("the secret was never read; afterwards the decoy still opens and the secret not");
}
