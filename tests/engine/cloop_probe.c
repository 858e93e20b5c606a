/* The calls the native loop decides, and their near misses: one line per call, "label result"
 * (result: 0, or the errno's name).  argv[1]: the scene (see test_cloop.py); argv[2]: how many
 * rounds (the first call of each kind goes to Python: later ones are the native loop's). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

static int round_no;

static void say(const char *label, long rc) {
    if (round_no == 0) printf("%s %s\n", label, rc < 0 ? strerrorname_np(errno) : "0");
}

static long opened(long fd) {
    if (fd >= 0) close((int)fd);
    return fd < 0 ? -1 : 0;
}

int main(int argc, char **argv) {
    if (argc < 3 || chdir(argv[1]) < 0) return 2;
    int rounds = atoi(argv[2]);
    struct stat st;
    struct statfs sfs;
    char buf[256];
    int pub = open("pub", O_RDONLY | O_DIRECTORY);
    int top = open(".", O_RDONLY | O_DIRECTORY);
    int afd = open("pub/a.txt", O_RDONLY);
    if (pub < 0 || top < 0 || afd < 0) return 3;
    char abs_a[4096], abs_secret[4096];
    snprintf(abs_a, sizeof abs_a, "%s/pub/a.txt", argv[1]);
    snprintf(abs_secret, sizeof abs_secret, "%s/sec/secret.txt", argv[1]);
    char abs_missing[4096];
    snprintf(abs_missing, sizeof abs_missing, "%s/sec/gone.txt", argv[1]);
    /* a header search's misses: absolute, in a directory that is there or is not */
    char abs_none[4096], abs_nodir[4096], abs_sec_nodir[4096];
    snprintf(abs_none, sizeof abs_none, "%s/pub/none.h", argv[1]);
    snprintf(abs_nodir, sizeof abs_nodir, "%s/pub/no/such/x.h", argv[1]);
    snprintf(abs_sec_nodir, sizeof abs_sec_nodir, "%s/sec/no/such/x.h", argv[1]);
    for (round_no = rounds - 1; round_no >= 0; round_no--) {
        say("stat-abs", stat(abs_a, &st));
        say("lstat-rel", lstat("pub/a.txt", &st));
        /* permitted, through a symlink and by a climb ("..") */
        say("stat-publink", stat("publink/a.txt", &st));
        say("fstatat-climb", fstatat(pub, "../pub/a.txt", &st, 0));
        say("fstatat-dirfd", fstatat(pub, "a.txt", &st, AT_SYMLINK_NOFOLLOW));
        say("fstatat-dotdot", fstatat(pub, "../sec/other.txt", &st, 0));
        say("fstat-empty", fstatat(afd, "", &st, AT_EMPTY_PATH));
        say("fstat-empty-dir", fstatat(pub, "", &st, AT_EMPTY_PATH));
        say("fstatat-cwd-empty", fstatat(AT_FDCWD, "", &st, AT_EMPTY_PATH));
        say("stat-empty-noflag", fstatat(pub, "", &st, 0));
        say("open-secret", opened(open(abs_secret, O_RDONLY)));
        say("openat-secret", opened(openat(top, "sec/secret.txt", O_RDONLY)));
        say("open-other", opened(open("sec/other.txt", O_RDONLY)));
        say("open-spelled", opened(open("pub/../sec//./secret.txt", O_RDONLY)));
        say("open-dotdot-nofollow",
            opened(openat(pub, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW)));
        say("open-link", opened(open("link/secret.txt", O_RDONLY)));
        say("stat-up", stat("pub/up", &st));
        say("lstat-up", lstat("pub/up", &st));
        say("readlink-up", readlink("pub/up", buf, sizeof buf));
        say("open-trailing", opened(open("sec/", O_RDONLY | O_DIRECTORY)));
        say("open-log", opened(open("glob/x.log", O_RDONLY)));
        say("open-txt", opened(open("glob/y.txt", O_RDONLY)));
        say("write-pub", opened(open("pub/a.txt", O_WRONLY)));
        say("create-pub", opened(open("pub/new.txt", O_WRONLY | O_CREAT, 0600)));
        say("stat-missing", stat("pub/missing", &st));
        say("readlink-nothing", readlink("pub/nothing", buf, sizeof buf));
        say("open-nodir", opened(open("nodir/x", O_RDONLY)));
        say("open-sec-nodir", opened(open("sec/nodir/x", O_RDONLY)));
        say("stat-nodir-deeper", stat("nodir/deeper/x", &st));
        say("open-sec-deeper", opened(open("sec/no/dir/here/x", O_RDONLY)));
        say("stat-dangle", stat("pub/dangle", &st));
        say("lstat-dangle", lstat("pub/dangle", &st));
        say("open-missing-abs", opened(open(abs_missing, O_RDONLY)));
        say("open-abs-none", opened(open(abs_none, O_RDONLY)));
        say("open-abs-nodir", opened(open(abs_nodir, O_RDONLY)));
        say("open-abs-sec-nodir", opened(open(abs_sec_nodir, O_RDONLY)));
        say("create-nodir", opened(open("nodir/new.txt", O_WRONLY | O_CREAT, 0600)));
        say("create-pub-nodir", opened(open("pub/no/new.txt", O_WRONLY | O_CREAT, 0600)));
        say("open-missing-sec", opened(open("sec/missing", O_RDONLY)));
        say("access-secret", access("sec/secret.txt", R_OK));
        say("faccessat2-a", syscall(SYS_faccessat2, pub, "a.txt", R_OK, AT_SYMLINK_NOFOLLOW));
        say("statfs-pub", statfs("pub", &sfs));
        say("statx-other", syscall(SYS_statx, AT_FDCWD, "sec/other.txt", 0, 0x7ff, buf));
        say("getxattr-a", syscall(SYS_getxattr, "pub/a.txt", "user.x", buf, sizeof buf));
        say("stat-proc", stat("/proc/self/status", &st));
        say("chdir-sec", chdir("sec"));
        if (chdir(argv[1]) < 0) return 4;
    }
    return 0;
}
