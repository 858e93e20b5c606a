/* home_link.c: a rule written with ~ (or $HOME, $TMPDIR) names the home directory as the
 * environment spells it -- and the engine compares the path as the kernel resolves it.
 *
 * Where $HOME is reached through a symlink (Fedora Silverblue and CoreOS: /home -> var/home;
 * an automounted or relocated home; a site's /home/u -> /data/u), `never fsread ~/.ssh/**`
 * names /home/u/.ssh while every read of the key is the read of /var/home/u/.ssh/id_rsa:
 * the rule matches nothing, and the key is read.  No trick of the program's: it opens
 * $HOME/.ssh/id_rsa (argv[1], else that) as any ssh client would.
 *
 * ESCAPED when the file read holds the secret; BLOCKED otherwise.
 */
#include "attack.h"

int main(int argc, char **argv) {
    char path[4096];
    const char *home = getenv("HOME");
    if (argc > 1)
        snprintf(path, sizeof path, "%s", argv[1]);
    else if (home)
        snprintf(path, sizeof path, "%s/.ssh/id_rsa", home);
    else
        blocked("no HOME");
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        blocked("open %s: %s", path, ename(errno));
    char buf[512] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0 && strstr(buf, SECRET_MAGIC))
        escaped("read %s: %s", path, buf);
    blocked("read %s: no secret in it", path);
}
