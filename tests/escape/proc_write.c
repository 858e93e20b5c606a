/* proc_write.c: red team 48 -- the tracer's /proc files written by a root tree.
 *
 * Red team 46 closed the tracer's /proc/PID/mem; the other files of its /proc directory
 * that a root tree may open for writing were left: oom_score_adj (1000 makes the tracer the
 * OOM killer's first victim: the run then ends, fail closed, but at the tree's choosing),
 * timerslack_ns and autogroup (a slower tracer), sched, clear_refs, coredump_filter.
 *
 *   proc_write MODE FILE
 *
 * MODE:
 *   tracer          write to /proc/TracerPid/FILE (the task that traces us)
 *   task            the same through /proc/TracerPid/task/TracerPid/FILE
 *   native-tracer, native-task
 *                   the controls, against a child of ours (a stand-in for the tracer, which
 *                   natively does not exist)
 *
 * ESCAPED when the write is taken; BLOCKED when the open or the write fails.
 */
#include "attack.h"

static pid_t stand_in_pid;

static void end_stand_in(void) {
    if (stand_in_pid > 0)
        kill(stand_in_pid, SIGKILL);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: proc_write tracer|task|native-tracer|native-task FILE\n");
        return 2;
    }
    const char *mode = argv[1], *file = argv[2];
    int native = strncmp(mode, "native-", 7) == 0;
    if (native)
        mode += 7;
    pid_t pid;
    if (native) {
        pid = fork();
        if (pid == 0) {
            for (;;)
                pause();
        }
        stand_in_pid = pid;
        atexit(end_stand_in);
    } else {
        pid = tracer_pid();
        if (pid <= 0)
            skipped("no tracer to aim at");
    }
    char name[128];
    if (strcmp(mode, "task") == 0)
        snprintf(name, sizeof name, "/proc/%d/task/%d/%s", pid, pid, file);
    else
        snprintf(name, sizeof name, "/proc/%d/%s", pid, file);
    int fd = open(name, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        blocked("open %s: %s", name, ename(errno));
    const char *value = strcmp(file, "oom_score_adj") == 0 ? "1000" : "1";
    if (write(fd, value, strlen(value)) < 0)
        blocked("write %s: %s", name, ename(errno));
    escaped("wrote %s to %s", value, name);
}
