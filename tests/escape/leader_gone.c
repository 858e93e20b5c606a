/* leader_gone.c -- review 48: a process whose leader ended (pthread_exit in main) while its
 * threads run on, against red team 71's "a leader's end ends its process" (Tracer._gone).
 *
 * The main thread calls pthread_exit(): the leader is a zombie, its threads live on.  Once
 * /proc says so ('Z'), a thread:
 *   leader_gone open PATH      opens PATH itself
 *   leader_gone thread PATH    makes a new thread, which opens PATH
 *   leader_gone exec PATH      execs this program as "after PATH" (de_thread with a zombie
 *                              leader: the thread takes the leader's tid), which opens PATH
 * Natively PATH opens (ESCAPED when it is the secret); under `never fsread PATH` it must not.
 */
#include "attack.h"

static const char *path;
static pid_t leader;
static char self[4096];  /* (/proc/self/exe is gone with the leader) */

static void wait_leader_zombie(void) {
    while (process_state(leader) != 'Z')
        usleep(1000);
}

static void *opener(void *arg) {
    (void)arg;
    try_open("open from a thread of a process whose leader ended", path);
    tally_done();
}

static void *maker(void *arg) {
    (void)arg;
    wait_leader_zombie();
    pthread_t t;
    if (pthread_create(&t, NULL, opener, NULL) != 0)
        skipped("pthread_create");
    for (;;) pause();
}

static void *direct(void *arg) {
    (void)arg;
    wait_leader_zombie();
    opener(NULL);
    return NULL;
}

static void *execer(void *arg) {
    (void)arg;
    wait_leader_zombie();
    char *argv[] = {"leader_gone", "after", (char *)path, NULL};
    execv(self, argv);
    skipped("exec: %s", ename(errno));
}

int main(int argc, char **argv) {
    if (argc != 3) usage("leader_gone open|thread|exec|after PATH");
    path = argv[2];
    leader = getpid();
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) skipped("readlink /proc/self/exe: %s", ename(errno));
    self[n] = 0;
    if (strcmp(argv[1], "after") == 0) {
        try_open("open after an exec from a thread of a process whose leader ended", path);
        tally_done();
    }
    void *(*run)(void *) = strcmp(argv[1], "open") == 0 ? direct
                         : strcmp(argv[1], "thread") == 0 ? maker : execer;
    pthread_t t;
    if (pthread_create(&t, NULL, run, NULL) != 0)
        skipped("pthread_create");
    pthread_exit(NULL);
}
