/* learn_hidden.c: a program learned reading the visible files of a directory reads its
 * hidden ones the next time.
 *
 * Learning widens a directory listed and then read entry by entry into fsread DIR/* once
 * every *visible* entry was read (`cat *`, a shell glob, skips dotfiles) -- and a glob's *
 * matches a leading dot.  The learned rule grants the .env next to the sources, which the
 * learning run never opened.
 *
 *   learn_hidden           lists "." and reads every entry whose name has no leading dot;
 *                          with $READ_HIDDEN set, the hidden ones too
 *
 * ESCAPED when a file read holds the secret, BLOCKED otherwise.
 */
#include "attack.h"

#include <dirent.h>

int main(void) {
    int hidden = getenv("READ_HIDDEN") != NULL, files = 0, refused = 0, last = 0;
    DIR *d = opendir(".");
    if (!d)
        blocked("opendir: %s", ename(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (e->d_name[0] == '.' && !hidden)
            continue;
        int fd = open(e->d_name, O_RDONLY);
        if (fd < 0) {
            refused++;
            last = errno;
            continue;
        }
        char buf[256] = {0};
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        files++;
        if (n > 0 && strstr(buf, SECRET_MAGIC))
            escaped("read %s: %s", e->d_name, buf);
    }
    blocked("read %d files, %d refused (last: %s)", files, refused, refused ? ename(last) : "-");
}
