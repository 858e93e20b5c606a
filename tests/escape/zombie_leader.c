/* zombie_leader.c: a process whose leader has exited while a second thread lives on (review
 * 56).  Prints its pid, then the leader calls pthread_exit: /proc/PID shows a zombie whose
 * memory is gone (task->mm NULL), its thread group alive.  __ptrace_may_access skips the
 * dumpability check for a task without memory, so a task of its ids follows its leader's
 * ns/ links (the credentials and namespaces remain); its cwd is ENOENT (its fs is gone). */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *idle(void *arg) {
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

int main(void) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, idle, NULL) != 0)
        return 1;
    printf("%d\n", (int)getpid());
    fflush(stdout);
    pthread_exit(NULL);
}
