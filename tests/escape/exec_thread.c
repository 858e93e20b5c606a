/* exec_thread.c: an exec in a process of several threads (red team 8).
 *
 * The exec kills the other threads.  A freeze had stopped them for the exec (it runs with the
 * tree stopped), and the stops it kept for them outlived them: handled at the thaw, each tid
 * no task had any more was taken for a child's first stop still to come -- for the rest of
 * the run the tree was never "alone" again and the native loop stayed off (and a child later
 * given such a tid would have been started on that stale stop).
 *
 *   exec_thread leader|thread FILE   three idle threads; the leader, or a fourth thread,
 *                                    execs "after"
 *   exec_thread after FILE           stats FILE 2000 times and prints "after: N ok"
 */
#include "attack.h"

static char *file;

static void *idle(void *unused) {
    (void)unused;
    for (;;) pause();
}

static void run_after(void) {
    char *argv[] = {"exec_thread", "after", file, NULL};
    execv("/proc/self/exe", argv);
    printf("exec: %s\n", ename(errno));
    exit(1);
}

static void *execer(void *unused) {
    (void)unused;
    run_after();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) usage("exec_thread leader|thread|after FILE");
    file = argv[2];
    if (strcmp(argv[1], "after") == 0) {
        struct stat st;
        int ok = 0;
        for (int i = 0; i < 2000; i++) ok += stat(file, &st) == 0;
        printf("after: %d ok\n", ok);
        return 0;
    }
    pthread_t t;
    for (int i = 0; i < 3; i++)
        if (pthread_create(&t, NULL, idle, NULL) != 0) return 1;
    if (strcmp(argv[1], "leader") == 0) run_after();
    if (pthread_create(&t, NULL, execer, NULL) != 0) return 1;
    for (;;) pause();
}
