/* landlock_thread_domain.c PID NAME UID [stage2]: a Landlock domain entered by a thread that
 * is not the leader, then carried on by what that thread does next (review 60).
 *
 * Landlock's domain is the calling thread's credentials (landlock_restrict_self has no thread
 * synchronisation on 6.18, ABI 7): the thread alone enters it, and it passes to what that
 * thread makes and across its exec.  The program drops to UID; a second thread sets
 * no_new_privs for itself, enters a domain that handles only writes and then, by ESC_MODE:
 *   exec   -- execs this program again (stage2): the thread takes the leader's tid (de_thread)
 *   vfork  -- vforks a child that execs this program again (stage2)
 *   fork   -- forks a child that opens
 *   thread -- starts a thread of its own that opens
 * and what opens opens /proc/PID/cwd/NAME, PID a dumpable process of UID's outside the domain
 * whose cwd is below a mode-0711 directory under a name the program is not told.  Natively
 * EACCES (the domain); with ESC_NO_LANDLOCK the file is read (the control). */
#include "attack.h"
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

struct ruleset_attr { unsigned long long handled_access_fs, handled_access_net, scoped; };

static char **args;

static void attempt(void) {
    char path[512];
    snprintf(path, sizeof path, "/proc/%s/cwd/%s", args[1], args[2]);
    try_open("/proc/PID/cwd/NAME (a process outside the domain)", path);
    tally_done();
}

static void *opener(void *unused) {
    (void)unused;
    attempt();
}

static void stage2_argv(char **out) {
    out[0] = args[0]; out[1] = args[1]; out[2] = args[2]; out[3] = args[3];
    out[4] = "stage2"; out[5] = NULL;
}

static void *restricting(void *unused) {
    (void)unused;
    if (!getenv("ESC_NO_LANDLOCK")) {
        struct ruleset_attr attr = {1ULL << 1 /* LANDLOCK_ACCESS_FS_WRITE_FILE */, 0, 0};
        long fd = syscall(444 /* landlock_create_ruleset */, &attr, 8, 0);
        if (fd < 0) skipped("landlock_create_ruleset: %s", ename(errno));
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) skipped("no_new_privs: %s", ename(errno));
        if (syscall(446 /* landlock_restrict_self */, (int)fd, 0))
            skipped("landlock_restrict_self: %s", ename(errno));
        close((int)fd);
    }
    const char *mode = getenv("ESC_MODE") ? getenv("ESC_MODE") : "exec";
    char *argv2[6];
    stage2_argv(argv2);
    if (!strcmp(mode, "exec")) {
        execv("/proc/self/exe", argv2);
        skipped("execv: %s", ename(errno));
    } else if (!strcmp(mode, "vfork")) {
        pid_t child = vfork();
        if (child == 0) {
            execv("/proc/self/exe", argv2);
            _exit(127);
        }
        int status = 0;
        waitpid(child, &status, 0);
        exit(0);
    } else if (!strcmp(mode, "fork")) {
        pid_t child = fork();
        if (child == 0)
            attempt();
        int status = 0;
        waitpid(child, &status, 0);
        exit(0);
    } else {
        pthread_t thread;
        if (pthread_create(&thread, NULL, opener, NULL)) skipped("pthread_create");
        pthread_join(thread, NULL);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 4) usage("landlock_thread_domain PID NAME UID [stage2]");
    args = argv;
    if (argc > 4 && !strcmp(argv[4], "stage2")) {
        idle_thread_if_asked();
        attempt();
    }
    uid_t uid = (uid_t)atoi(argv[3]);
    if (setresuid(uid, uid, uid)) skipped("setresuid: %s", ename(errno));
    pthread_t thread;
    if (pthread_create(&thread, NULL, restricting, NULL)) skipped("pthread_create");
    for (;;)
        pause();
}
