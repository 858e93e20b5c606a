/* fuse_attack.h: what the FUSE attack programs share (fs_fuse.c, fs_fuse_climb.c,
 * fs_fuse_ns.c; red team 44 and review 24): a second thread that only waits (a tree of two
 * tasks: held and frozen calls), an open of a path that is the secret or not, and a link of
 * it to WORK/stolen read back -- each ending the run with its verdict.  Include after
 * attack.h. */
#ifndef FUSE_ATTACK_H
#define FUSE_ATTACK_H

static void *fuse_idle(void *arg) {
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

/* A second task of the tree, for the rest of the run. */
static void second_thread(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, fuse_idle, NULL) != 0)
        skipped("pthread_create");
}

/* ``how`` made WORK/stolen: is it the secret? */
static void read_stolen(const char *stolen, const char *how) {
    int fd = open(stolen, O_RDONLY);
    if (fd < 0)
        blocked("%s made %s but it cannot be opened: %s", how, stolen, ename(errno));
    if (is_secret_fd(fd))
        escaped("%s: %s is the secret", how, stolen);
    blocked("%s: %s is not the secret", how, stolen);
}

/* Open ``path``: the secret or not. */
static void open_secret(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        blocked("open %s: %s", path, ename(errno));
    if (is_secret_fd(fd))
        escaped("opened the secret as %s (%s)", path, fd_name(fd));
    blocked("opened %s, not the secret", fd_name(fd));
}

/* Link ``path`` to ``stolen`` and read it back. */
static void link_secret(const char *path, const char *stolen) {
    if (link(path, stolen) != 0)
        blocked("link %s: %s", path, ename(errno));
    read_stolen(stolen, "link");
}

#endif
