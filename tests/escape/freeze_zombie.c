/* freeze_zombie: a call the tree is frozen for, while another process's leader has exited
 * and its thread lives on.
 *
 *   freeze_zombie DIR
 *
 * A child process starts a thread and ends its main thread (pthread_exit): a zombie the
 * kernel reports only with its group's end.  A freeze interrupted it and waited for a stop
 * that never comes, then refused the call (EAGAIN, after FREEZE_TIMEOUT).  Meanwhile the
 * parent renames DIR/a to DIR/b -- natively at once.  Prints "rename: OK" or its errno.
 * Parity (class 2's freeze).
 */
#include "attack.h"

static void *idle(void *arg) {
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2)
        usage("freeze_zombie DIR");
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s/a", argv[1]);
    snprintf(b, sizeof b, "%s/b", argv[1]);
    int fd = open(a, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        blocked("create %s: %s", a, ename(errno));
    close(fd);
    int ready[2];
    if (pipe(ready) < 0)
        blocked("pipe: %s", ename(errno));
    pid_t child = fork();
    if (child == 0) {
        pthread_t t;
        pthread_create(&t, NULL, idle, NULL);
        close(ready[1]);  /* (the thread keeps no copy: closed before the leader exits) */
        pthread_exit(NULL);
    }
    close(ready[1]);
    char c;
    while (read(ready[0], &c, 1) > 0) {
    }
    char state = 0;
    for (int i = 0; i < 1000 && state != 'Z'; i++) {  /* until the leader is a zombie */
        char path[64], line[512];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)child);
        FILE *f = fopen(path, "re");
        if (f && fgets(line, sizeof line, f)) {
            char *end = strrchr(line, ')');
            if (end && end[1])
                state = end[2];
        }
        if (f)
            fclose(f);
        if (state != 'Z')
            usleep(1000);
    }
    int r = rename(a, b);
    int err = errno;
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    printf("note: the leader's state: %c\n", state);
    if (r == 0)
        blocked("rename: OK");
    blocked("rename: %s", ename(err));
}
