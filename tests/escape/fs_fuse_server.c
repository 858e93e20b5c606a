/* fs_fuse_server.c: a FUSE file system that answers each reader differently (red team 44).
 *
 *   fs_fuse_server MNT TARGET COMM
 *
 * Mounts itself at MNT (root: /dev/fuse is root's) and serves, from outside the traced tree,
 * one name, "d", in its root: to a request made by a task whose comm is COMM (the program)
 * "d" is a symlink to TARGET; to any other reader (the tracer's own lookups) it is an empty
 * directory.  Nothing is renamed, nothing races: the answer depends on who asks, which a FUSE
 * server sees in every request (its pid).  Nothing is cached: every entry and attribute is
 * valid for 0 s, so each lookup of "d" reaches the server.  Prints "ready" once mounted.
 * COMM "": "d" is a directory to every reader, and answering makes no call but the read and
 * write of /dev/fuse (a server in the traced tree that stops nowhere: fuse47).
 * HOLDER (optional, review 26): "thread" starts a second thread that waits forever in pause(),
 * never in a ptrace stop; "child" forks a child, after mounting, that holds the same /dev/fuse
 * file and waits forever in pause() (the server's stop then ends nothing: the connection lives
 * while the child holds it); "inflight" forks a child that sends the /dev/fuse descriptor over a
 * socketpair of its own, closes it and waits forever holding both ends (the file is then held
 * by a message in flight, by no process: killing every holder of /dev/fuse aborts nothing).
 * "newapi" mounts with fsopen("fuse")/fsconfig/fsmount/move_mount instead of mount(2):
 * fsopen stops nowhere where a policy permits it (filterplan), so the watch fuse47 armed at
 * mount(2) and fsopen was never armed.
 * Each way fuse47's watch, which killed a holder only when every
 * thread of it sat in a ptrace stop, left the deadlock as it was.
 * Written against linux/fuse.h alone (no libfuse, no fusermount on this machine). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

enum { ROOT = 1, DIR_D = 2, LINK_D = 3 };

static const char *target, *comm;
static int fd;

static int program_asks(unsigned pid) {
    char path[64], name[64] = "";
    if (!comm[0])
        return 0;  /* (COMM "": every reader alike, and no call made to answer: fuse47) */
    snprintf(path, sizeof path, "/proc/%u/comm", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    if (!fgets(name, sizeof name, f))
        name[0] = 0;
    fclose(f);
    name[strcspn(name, "\n")] = 0;
    return strcmp(name, comm) == 0;
}

static void attr_of(uint64_t node, struct fuse_attr *a) {
    memset(a, 0, sizeof *a);
    a->ino = node;
    a->nlink = 1;
    a->blksize = 4096;
    if (node == LINK_D) {
        a->mode = S_IFLNK | 0777;
        a->size = strlen(target);
    } else {
        a->mode = S_IFDIR | 0755;
        a->nlink = 2;
    }
}

static void reply(uint64_t unique, int error, const void *body, size_t len) {
    char buf[8192];
    struct fuse_out_header *h = (struct fuse_out_header *)buf;
    if (len > sizeof buf - sizeof *h)
        len = sizeof buf - sizeof *h;
    h->unique = unique;
    h->error = error;
    h->len = (uint32_t)(sizeof *h + (error ? 0 : len));
    if (!error && len)
        memcpy(buf + sizeof *h, body, len);
    if (write(fd, buf, h->len) < 0 && errno != ENOENT)
        perror("fs_fuse_server: write");
}

static void *waits_forever(void *unused) {
    (void)unused;
    for (;;)
        pause();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: fs_fuse_server MNT TARGET COMM [thread|child]\n");
        return 2;
    }
    target = argv[2];
    comm = argv[3];
    fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        printf("SKIPPED: /dev/fuse: %s\n", strerror(errno));
        return 0;
    }
    const char *holder = argc == 5 ? argv[4] : "";
    char opts[128];
    if (strcmp(holder, "newapi") == 0) {
        char fdtext[16];
        snprintf(fdtext, sizeof fdtext, "%d", fd);
        int fs = fsopen("fuse", FSOPEN_CLOEXEC);
        if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "source", "rt44fuse", 0) != 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "fd", fdtext, 0) != 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "rootmode", "40000", 0) != 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "user_id", "0", 0) != 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "group_id", "0", 0) != 0 ||
            fsconfig(fs, FSCONFIG_SET_FLAG, "allow_other", NULL, 0) != 0 ||
            fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0) {
            printf("SKIPPED: fsopen/fsconfig fuse: %s\n", strerror(errno));
            return 0;
        }
        int m = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
        if (m < 0 || move_mount(m, "", AT_FDCWD, argv[1], MOVE_MOUNT_F_EMPTY_PATH) != 0) {
            printf("SKIPPED: fsmount/move_mount fuse: %s\n", strerror(errno));
            return 0;
        }
    } else {
        snprintf(opts, sizeof opts, "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", fd);
        if (mount("rt44fuse", argv[1], "fuse", MS_NOSUID | MS_NODEV, opts) != 0) {
            printf("SKIPPED: mount fuse: %s\n", strerror(errno));
            return 0;
        }
    }
    if (strcmp(holder, "thread") == 0) {
        pthread_t t;
        if (pthread_create(&t, NULL, waits_forever, NULL) != 0) {
            printf("SKIPPED: pthread_create\n");
            return 0;
        }
    } else if (strcmp(holder, "child") == 0) {
        pid_t child = fork();
        if (child < 0) {
            printf("SKIPPED: fork: %s\n", strerror(errno));
            return 0;
        }
        if (child == 0)
            waits_forever(NULL);  /* (holds fd: the connection lives while it does) */
    } else if (strcmp(holder, "inflight") == 0) {
        pid_t child = fork();
        if (child < 0) {
            printf("SKIPPED: fork: %s\n", strerror(errno));
            return 0;
        }
        if (child == 0) {
            int pair[2];
            if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0)
                _exit(1);
            char byte = 0, control[CMSG_SPACE(sizeof(int))];
            struct iovec iov = {&byte, 1};
            struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                                 .msg_controllen = sizeof control};
            struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(c), &fd, sizeof(int));
            if (sendmsg(pair[0], &msg, 0) != 1)
                _exit(1);
            close(fd);  /* (held now by the message alone) */
            waits_forever(NULL);
        }
    }
    printf("ready\n");
    fflush(stdout);
    static char buf[1 << 20];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR || errno == ENOENT || errno == EAGAIN)
                continue;
            return 0;  /* ENODEV: unmounted */
        }
        struct fuse_in_header *in = (struct fuse_in_header *)buf;
        const char *body = buf + sizeof *in;
        switch (in->opcode) {
        case FUSE_INIT: {
            const struct fuse_init_in *ii = (const void *)body;
            struct fuse_init_out o;
            memset(&o, 0, sizeof o);
            o.major = FUSE_KERNEL_VERSION;
            o.minor = ii->minor < FUSE_KERNEL_MINOR_VERSION ? ii->minor : FUSE_KERNEL_MINOR_VERSION;
            o.max_readahead = ii->max_readahead;
            o.max_write = 4096;
            o.max_background = 4;
            o.congestion_threshold = 3;
            o.time_gran = 1;
            reply(in->unique, 0, &o, sizeof o);
            break;
        }
        case FUSE_LOOKUP: {
            if (in->nodeid != ROOT || strcmp(body, "d") != 0) {
                reply(in->unique, -ENOENT, NULL, 0);
                break;
            }
            struct fuse_entry_out e;
            memset(&e, 0, sizeof e);
            e.nodeid = program_asks(in->pid) ? LINK_D : DIR_D;
            attr_of(e.nodeid, &e.attr);
            reply(in->unique, 0, &e, sizeof e);
            break;
        }
        case FUSE_GETATTR: {
            struct fuse_attr_out a;
            memset(&a, 0, sizeof a);
            attr_of(in->nodeid, &a.attr);
            reply(in->unique, 0, &a, sizeof a);
            break;
        }
        case FUSE_READLINK:
            if (in->nodeid == LINK_D)
                reply(in->unique, 0, target, strlen(target));
            else
                reply(in->unique, -EINVAL, NULL, 0);
            break;
        case FUSE_OPENDIR: {
            struct fuse_open_out o;
            memset(&o, 0, sizeof o);
            reply(in->unique, 0, &o, sizeof o);
            break;
        }
        case FUSE_READDIR:
        case FUSE_RELEASEDIR:
        case FUSE_ACCESS:
        case FUSE_FLUSH:
            reply(in->unique, 0, NULL, 0);
            break;
        case FUSE_STATFS: {
            struct fuse_statfs_out s;
            memset(&s, 0, sizeof s);
            s.st.bsize = s.st.frsize = 4096;
            s.st.namelen = 255;
            reply(in->unique, 0, &s, sizeof s);
            break;
        }
        case FUSE_FORGET:
        case FUSE_BATCH_FORGET:
        case FUSE_INTERRUPT:
            break;
        case FUSE_DESTROY:
            reply(in->unique, 0, NULL, 0);
            return 0;
        default:
            reply(in->unique, -ENOSYS, NULL, 0);
        }
    }
}
