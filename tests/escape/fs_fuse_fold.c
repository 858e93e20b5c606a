/* fs_fuse_fold.c: a case-insensitive file system, served through FUSE from outside the traced
 * tree (red team 86): the case-folding directory docs/security.md's limits name ("Rules name
 * paths, not files": ext4/tmpfs +F, untested for want of CONFIG_UNICODE), on a kernel without
 * it -- as an exFAT or NTFS stick mounted by a FUSE driver, or ciopfs, answers.
 *
 *   fs_fuse_fold MNT
 *
 * Mounts itself at MNT (root) and serves "secd/secret.txt", whose content is SECRET_MAGIC,
 * to every reader alike (a benign server: it answers the tracer as it answers the program);
 * names are compared without regard to case, so "SECD/Secret.TXT" is the same file.  Nothing
 * is cached (every entry and attribute valid for 0 s).  Prints "ready" once mounted.  Written
 * against linux/fuse.h alone, as fs_fuse_server.c is. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_TEXT "S3CR3T-7f1d9a42-do-not-leak\n"  /* (attack.h's SECRET_MAGIC) */

enum { ROOT = 1, SECD = 2, SECRET = 3 };

static int fd;

static void attr_of(uint64_t node, struct fuse_attr *a) {
    memset(a, 0, sizeof *a);
    a->ino = node;
    a->blksize = 4096;
    if (node == SECRET) {
        a->mode = S_IFREG | 0644;
        a->nlink = 1;
        a->size = strlen(SECRET_TEXT);
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
        perror("fs_fuse_fold: write");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: fs_fuse_fold MNT\n");
        return 2;
    }
    fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        printf("SKIPPED: /dev/fuse: %s\n", strerror(errno));
        return 0;
    }
    char opts[128];
    snprintf(opts, sizeof opts, "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", fd);
    if (mount("rt86fold", argv[1], "fuse", MS_NOSUID | MS_NODEV, opts) != 0) {
        printf("SKIPPED: mount fuse: %s\n", strerror(errno));
        return 0;
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
            uint64_t node = 0;
            if (in->nodeid == ROOT && strcasecmp(body, "secd") == 0)
                node = SECD;
            else if (in->nodeid == SECD && strcasecmp(body, "secret.txt") == 0)
                node = SECRET;
            if (!node) {
                reply(in->unique, -ENOENT, NULL, 0);
                break;
            }
            struct fuse_entry_out e;
            memset(&e, 0, sizeof e);
            e.nodeid = node;
            attr_of(node, &e.attr);
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
        case FUSE_OPEN:
        case FUSE_OPENDIR: {
            struct fuse_open_out o;
            memset(&o, 0, sizeof o);
            o.open_flags = FOPEN_DIRECT_IO;
            reply(in->unique, 0, &o, sizeof o);
            break;
        }
        case FUSE_READ: {
            const struct fuse_read_in *r = (const void *)body;
            size_t len = strlen(SECRET_TEXT), off = r->offset < len ? r->offset : len;
            size_t want = len - off < r->size ? len - off : r->size;
            reply(in->unique, 0, SECRET_TEXT + off, in->nodeid == SECRET ? want : 0);
            break;
        }
        case FUSE_READDIR:
        case FUSE_RELEASE:
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
