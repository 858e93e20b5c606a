/* access_real.c BASE REAL EFFECTIVE [threads]: access(2) looks a path up as the caller's real
 * ids (fs/open.c access_override_creds), not its effective ones as every other lookup.
 *
 * Started as root, it sets its real uid to REAL and its effective (and so fs) uid to
 * EFFECTIVE (setresuid, saved uid 0: a set-user-ID program, or a root that dropped only its
 * effective uid), then probes names in BASE/d (a mode-0700 root directory holding the file
 * "present"), relative to BASE, with access(F_OK), faccessat2(AT_EACCESS) and stat, one line each:
 *
 *   probe NAME access=ERR eaccess=ERR stat=ERR
 *
 * With "threads" a second thread idles meanwhile (a tree of two tasks: calls handed to the
 * kernel by their canonical spelling).  Natively access answers as REAL may search d and
 * the others as EFFECTIVE may. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef AT_EACCESS
#define AT_EACCESS 0x200
#endif

static void *idle(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

static const char *err(long r) {
    return r == 0 ? "0" : strerrorname_np(errno);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: access_real BASE REAL EFFECTIVE [threads]\n");
        return 2;
    }
    if (argc > 4) {
        pthread_t t;
        if (pthread_create(&t, NULL, idle, NULL)) return 3;
    }
    if (chdir(argv[1])) { perror("chdir"); return 4; }
    /* (raw: glibc's setresuid would make every thread do the same, and ours idles) */
    if (syscall(SYS_setresuid, atoi(argv[2]), atoi(argv[3]), 0)) { perror("setresuid"); return 5; }
    static const char *const names[] = {
        "d/present", "d/present/..", "d/absent/..", "d/.", "d/present/x", "d/absent",
        "d/./present", "d/../d", NULL,
    };
    for (int i = 0; names[i]; i++) {
        struct stat st;
        const char *a = err(access(names[i], F_OK));
        const char *e = err(syscall(SYS_faccessat2, AT_FDCWD, names[i], F_OK, AT_EACCESS));
        const char *s = err(stat(names[i], &st));
        printf("probe %s access=%s eaccess=%s stat=%s\n", names[i], a, e, s);
    }
    return 0;
}
