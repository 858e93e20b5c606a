/* freeze_vfork_wait: a call the tree is frozen for, while a vfork parent waits for its child.
 *
 *   freeze_vfork_wait DIR
 *
 * The main thread vforks a child that stays (no exec) until another thread has renamed
 * DIR/a to DIR/b -- natively at once.  The parent cannot stop while it waits: a
 * freeze that waited for its stop (one that could not tell it from a parent its child let go,
 * Tracer._waits_for_vfork) refused the call after FREEZE_TIMEOUT (EAGAIN).  Prints
 * "rename: OK" or its errno.  Parity (class 2's freeze).
 */
#include "attack.h"

static char dir_a[4096], dir_b[4096];
static volatile int child_up;
static volatile int renamed = -1;
static volatile int rename_errno;
static volatile int done;

static void *renamer(void *arg) {
    (void)arg;
    while (!child_up)
        ;
    usleep(100000);  /* (the parent asleep in its vfork by now) */
    renamed = rename(dir_a, dir_b);
    rename_errno = errno;
    done = 1;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2)
        usage("freeze_vfork_wait DIR");
    snprintf(dir_a, sizeof dir_a, "%s/a", argv[1]);
    snprintf(dir_b, sizeof dir_b, "%s/b", argv[1]);
    int fd = open(dir_a, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        blocked("create %s: %s", dir_a, ename(errno));
    close(fd);
    pthread_t t;
    pthread_create(&t, NULL, renamer, NULL);
    pid_t child = vfork();
    if (child == 0) {
        child_up = 1;  /* (the memory is the parent's) */
        while (!done)
            usleep(1000);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    pthread_join(t, NULL);
    if (renamed == 0)
        blocked("rename: OK");
    blocked("rename: %s", ename(rename_errno));
}
