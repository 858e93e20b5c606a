/* sig_zleader.c MODE: signal a live process outside the traced tree that looks like a
 * zombie child of the tree, under a policy whose only permit of signal calls is
 * tree-scoped (target = "tree": tests/escape/test_escape_redteam18.py).
 *
 * A tree-scoped permit counts one ended task as the tree's: a zombie whose parent is a
 * task of the tree (Tracer._unreaped_child, /proc/PID/stat state Z) -- a child that has
 * just exited, which make or a pool kills.  But /proc says Z for a thread-group leader
 * that ended while its threads run on (pthread_exit in main): the process lives, and
 * kill(pid) reaches every thread of it.  `systrace --attach` traces the process and the
 * children it makes from then on; a child made *before* the attach is outside the tree,
 * yet its parent is the attached process.
 *
 * This program forks VICTIM first: it starts a thread, and its main thread calls
 * pthread_exit -- a live process with a zombie leader.  Then (with $ESC_WAIT_TRACER) it
 * says "ready PID" and waits for the tracer; then
 *
 *   kill      kill(VICTIM, SIGKILL)
 *   pgrp      kill(-pgid, SIGKILL) of a process group of VICTIM's own (setpgid), its only
 *             member
 *
 * ESCAPED when the call worked and VICTIM ended by SIGKILL (waitpid); BLOCKED with the
 * call's errno otherwise.  Class 6 (attacks on the tracer: what a tree-scoped signal rule
 * covers), red team 18 of issue 11.
 */
#include "attack.h"

#include <sys/prctl.h>

static void *victim_thread(void *arg) {
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

/* Whether /proc/PID/stat says the process's leader is a zombie. */
static int leader_zombie(pid_t pid) { return process_state(pid) == 'Z'; }

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "kill") && strcmp(argv[1], "pgrp")))
        usage("sig_zleader kill|pgrp");
    int group = !strcmp(argv[1], "pgrp");
    pid_t victim = fork();
    if (victim < 0)
        blocked("fork: %s", ename(errno));
    if (victim == 0) {
        if (group)
            setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* (it ends with us, or within a minute) */
        alarm(60);
        pthread_t t;
        if (pthread_create(&t, NULL, victim_thread, NULL))
            _exit(1);
        pthread_exit(NULL); /* the leader ends, the process lives on */
    }
    if (group)
        setpgid(victim, victim); /* (whichever runs first) */
    double until = now_s() + 10;
    while (!leader_zombie(victim) && now_s() < until)
        usleep(1000);
    if (!leader_zombie(victim)) {
        kill(victim, SIGKILL);
        skipped("the victim's leader did not become a zombie");
    }
    wait_for_tracer();
    note("victim %d: its leader a zombie, a thread of it alive", victim);
    int rc = syscall(SYS_kill, group ? -victim : victim, SIGKILL);
    int err = errno;
    if (rc < 0) /* (the victim ends with us: its parent-death signal) */
        blocked("kill(%d, SIGKILL): %s", group ? -victim : victim, ename(err));
    int status = 0;
    if (waitpid(victim, &status, 0) != victim)
        blocked("kill worked, waitpid: %s", ename(errno));
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        escaped("a live process outside the tree (pid %d) killed by kill(%d, SIGKILL)", victim,
                group ? -victim : victim);
    blocked("the victim ended otherwise (status %#x)", status);
}
