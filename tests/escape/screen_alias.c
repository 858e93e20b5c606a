/* Review 44: a console's screen read through a device of another kind that shows it --
 * /dev/vcsN (its text), /dev/vcsuN (the same, as UTF-32) and /dev/vcsaN (the same, each
 * character with its attribute, after a 4-byte header) are one screen, console N's, and
 * /dev/vcs, /dev/vcsu, /dev/vcsa the screen of whichever console is in front.  A rule
 * refusing /dev/vcsN by its name was passed by /dev/vcsaN, /dev/vcsuN, and by /dev/vcsa and
 * /dev/vcsu (decided by the numbered screens of their own kind only: red team 66).
 *
 *   screen_alias NAME [node|written] [threads]
 *
 * reads NAME's first bytes, takes the characters out of them by the device's kind (its minor
 * number: 0-63 text, 64-127 UTF-32, 128-191 character and attribute) and looks for the
 * secret.  ESCAPED when it is there, else BLOCKED.  With ``node`` (review 46) the screen is
 * read through a node of the program's own, ./node, made (mknod, root) with the device
 * number of NAME, /dev/vcsN.  With ``written`` (review 47) NAME is opened for writing first
 * (and closed): a question about writing NAME, answered ``permit burst``, left a burst of NAME
 * that answered the read's question about another of the screen's names.  With ``node
 * threads`` (review 47) two threads open and read ./node (NAME /dev/vcsN: text) at once; the
 * first the approver permits goes on to a question about the screen, which waits while the
 * other's question about ./node is answered ``permit burst``: that burst settled the waiting
 * question about the screen. */
#include "attack.h"
#include <sys/sysmacros.h>

static void *reader(void *arg) {
    int fd = open((const char *)arg, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    char raw[8192];
    ssize_t n = read(fd, raw, sizeof raw - 1);
    if (n > 0) {
        for (ssize_t i = 0; i < n; i++) if (!raw[i]) raw[i] = ' ';
        raw[n] = 0;
        if (strstr(raw, SECRET_MAGIC)) escaped("read the screen through %s (a thread)",
                                               (const char *)arg);
    }
    close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) blocked("usage: screen_alias NAME");
    if (argc > 2 && strcmp(argv[2], "node") == 0) {
        /* (NAME /dev/vcsN: its number, not a stat -- a rule refusing the screen refuses that) */
        unsigned long n = strtoul(argv[1] + strcspn(argv[1], "0123456789"), NULL, 10);
        if (mknod("node", S_IFCHR | 0600, makedev(7, n)) < 0)
            blocked("mknod node: %s", ename(errno));
        argv[1] = "node";
        if (argc > 3 && strcmp(argv[3], "threads") == 0) {
            pthread_t other;
            if (pthread_create(&other, NULL, reader, "node") != 0) blocked("pthread_create");
            reader("node");
            pthread_join(other, NULL);
            blocked("neither thread read the screen through node");
        }
    }
    if (argc > 2 && strcmp(argv[2], "written") == 0) {
        int w = open(argv[1], O_WRONLY | O_CLOEXEC);
        if (w < 0) blocked("open %s for writing: %s", argv[1], ename(errno));
        close(w);
    }
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0) blocked("open %s: %s", argv[1], ename(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 7)
        skipped("%s is not a screen", argv[1]);
    unsigned char raw[8192];
    ssize_t n = read(fd, raw, sizeof raw);
    if (n < 0) blocked("read %s: %s", argv[1], ename(errno));
    unsigned int kind = minor(st.st_rdev) / 64;
    size_t start = kind == 2 ? 4 : 0, step = kind == 0 ? 1 : kind == 1 ? 4 : 2;
    char text[sizeof raw + 1];
    size_t len = 0;
    for (size_t i = start; i < (size_t)n; i += step) text[len++] = raw[i] ? (char)raw[i] : ' ';
    text[len] = 0;
    if (strstr(text, SECRET_MAGIC)) escaped("read the screen through %s", argv[1]);
    blocked("no secret on the screen through %s (%zd bytes)", argv[1], n);
}
