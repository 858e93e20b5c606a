/* tr_memory: write into a process that is not ours -- the tracer, or any process outside
 * the traced tree -- or into our own read-only pages (where the tracer keeps its copies).
 *
 *   tr_memory MODE PID ADDRESS FD
 *
 * PID ADDRESS FD come from `victim` (a process outside the tree): a page holding "INTACT" and
 * its descriptor of its own /proc/self/mem.  The tracer modes aim at TracerPid instead, and
 * use the victim only in the control run (where no tracer exists).
 *
 * MODE: ptrace          PTRACE_SEIZE the victim, PTRACE_POKEDATA "PWNED" into its page
 *       ptrace_suspend  the same with PTRACE_O_SUSPEND_SECCOMP (turns off the victim's filter)
 *       sibling         PTRACE_SEIZE a child of ours (a traced sibling process)
 *       procmem         open /proc/PID/mem read-write, pwrite "PWNED"
 *       vmwritev        process_vm_writev "PWNED"
 *       tracer_mem      open /proc/<TracerPid>/mem read-write (stand-in: the victim)
 *       tracer_fd       re-open the tracer's own descriptor of /proc/<us>/mem through
 *                       /proc/<TracerPid>/fd/N (stand-in: the victim's FD)
 *       self_mem        open /proc/self/mem (/proc/thread-self/mem, /proc/self/task/TID/../../mem,
 *                       /proc/self/fd/N of an O_PATH fd of it) read-write and write a
 *                       read-only page of ours (under systrace: the scratch area where the
 *                       checked copies of arguments live)
 * Class 6 (attacks on the tracer and on processes outside the tree).
 */
#include "attack.h"

#include <dirent.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#define SCRATCH_BASE 0x100000000000UL

static const char pwned[8] = "PWNED";

/* the fd of `pid` that is a descriptor of /proc/<who>/mem, or -1 */
static int find_mem_fd(pid_t pid, pid_t who) {
    char dir[64], link[128], want[64], got[256];
    snprintf(dir, sizeof dir, "/proc/%d/fd", pid);
    snprintf(want, sizeof want, "/proc/%d/mem", who);
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = -1;
    while (d && (e = readdir(d))) {
        snprintf(link, sizeof link, "%s/%s", dir, e->d_name);
        ssize_t n = readlink(link, got, sizeof got - 1);
        if (n > 0) {
            got[n] = 0;
            if (!strcmp(got, want))
                found = atoi(e->d_name);
        }
    }
    if (d)
        closedir(d);
    return found;
}

int main(int argc, char **argv) {
    if (argc < 5)
        usage("tr_memory MODE PID ADDRESS FD");
    const char *mode = argv[1];
    pid_t victim = atoi(argv[2]);
    unsigned long addr = strtoul(argv[3], NULL, 16);
    int vfd = atoi(argv[4]);
    pid_t tracer = tracer_pid();
    long word;
    memcpy(&word, pwned, sizeof word);

    if (!strcmp(mode, "ptrace") || !strcmp(mode, "ptrace_suspend")) {
        long opts = !strcmp(mode, "ptrace_suspend") ? PTRACE_O_SUSPEND_SECCOMP : 0;
        if (ptrace(PTRACE_SEIZE, victim, 0, opts) < 0)
            blocked("PTRACE_SEIZE of pid %d: %s", victim, ename(errno));
        ptrace(PTRACE_INTERRUPT, victim, 0, 0);
        waitpid(victim, NULL, __WALL);
        long rc = ptrace(PTRACE_POKEDATA, victim, addr, word);
        ptrace(PTRACE_DETACH, victim, 0, 0);
        if (rc < 0)
            blocked("PTRACE_POKEDATA: %s", ename(errno));
        escaped("ptrace wrote into pid %d, outside the traced tree", victim);
    } else if (!strcmp(mode, "sibling")) {
        pid_t child = fork();
        if (child == 0) {
            pause();
            _exit(0);
        }
        long rc = ptrace(PTRACE_SEIZE, child, 0, 0);
        int err = errno;
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        if (rc < 0)
            blocked("PTRACE_SEIZE of our child: %s", ename(err));
        escaped("we trace our child ourselves (its calls no longer reach the tracer's checks)");
    } else if (!strcmp(mode, "procmem")) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/mem", victim);
        int fd = open(path, O_RDWR);
        if (fd < 0)
            blocked("open(/proc/PID/mem, O_RDWR): %s", ename(errno));
        if (pwrite(fd, pwned, sizeof pwned, addr) < 0)
            blocked("pwrite: %s", ename(errno));
        escaped("wrote into pid %d through /proc/PID/mem", victim);
    } else if (!strcmp(mode, "vmwritev")) {
        struct iovec local = {(void *)pwned, sizeof pwned}, remote = {(void *)addr, sizeof pwned};
        if (syscall(SYS_process_vm_writev, victim, &local, 1, &remote, 1, 0) < 0)
            blocked("process_vm_writev: %s", ename(errno));
        escaped("wrote into pid %d with process_vm_writev", victim);
    } else if (!strcmp(mode, "tracer_mem")) {
        pid_t target = tracer > 0 ? tracer : victim;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/mem", target);
        int fd = open(path, O_RDWR);
        if (fd < 0)
            blocked("open(/proc/%s/mem, O_RDWR): %s", tracer > 0 ? "TRACER" : "VICTIM",
                    ename(errno));
        if (tracer <= 0 && pwrite(fd, pwned, sizeof pwned, addr) < 0)
            blocked("pwrite: %s", ename(errno));
        escaped("a read-write descriptor of pid %d's memory (%s)", target,
                tracer > 0 ? "the tracer" : "the stand-in");
    } else if (!strcmp(mode, "tracer_fd")) {
        pid_t target = tracer > 0 ? tracer : victim;
        int n = tracer > 0 ? find_mem_fd(tracer, getpid()) : vfd;
        if (n < 0)
            blocked("the tracer holds no descriptor of our memory that we can see");
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/fd/%d", target, n);
        int fd = open(path, O_RDWR);
        if (fd < 0)
            blocked("open(%s, O_RDWR): %s", path, ename(errno));
        unsigned long where = tracer > 0 ? SCRATCH_BASE : addr;
        if (pwrite(fd, pwned, sizeof pwned, where) < 0)
            blocked("re-opened %s (-> %s) but pwrite failed: %s", path, fd_name(fd), ename(errno));
        escaped("wrote through the re-opened %s (-> %s)", path, fd_name(fd));
    } else if (!strcmp(mode, "self_mem")) {
        char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        /* under systrace: the scratch area, where the checked copies live */
        unsigned long where = tracer > 0 ? SCRATCH_BASE : (unsigned long)ro;
        char spellings[4][128];
        snprintf(spellings[0], 128, "/proc/self/mem");
        snprintf(spellings[1], 128, "/proc/thread-self/mem");
        snprintf(spellings[2], 128, "/proc/self/task/%d/../../mem", (int)gettid());
        int opath = open("/proc/self/mem", O_PATH);
        snprintf(spellings[3], 128, "/proc/self/fd/%d", opath);
        for (int i = 0; i < 4; i++) {
            int fd = open(spellings[i], O_RDWR);
            if (fd < 0) {
                tally(spellings[i], -1, errno);
                continue;
            }
            if (pwrite(fd, pwned, sizeof pwned, where) >= 0)
                escaped("wrote our own read-only page at %#lx through %s", where, spellings[i]);
            tally(spellings[i], -1, errno);
        }
        tally_done();
    }
    usage("MODE: ptrace ptrace_suspend sibling procmem vmwritev tracer_mem tracer_fd self_mem");
}
