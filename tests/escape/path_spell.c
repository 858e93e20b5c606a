/* path_spell: read the secret through another spelling of its path, without links.
 *
 *   path_spell MODE SECRET WORK
 *
 * MODE: dotdot   SECD/../secd/secret.txt, and ../secd/secret.txt from WORK (its sibling)
 *       slashes  every '/' doubled, and a trailing "//." on the directory part
 *       dot      "/./" between every component, and ./secret.txt after chdir(SECD)
 *       chdir    chdir(SECD) then "secret.txt"; chdir("/") then the path without its '/'
 *       dirfd    openat(open(SECD), "secret.txt"), O_PATH dirfd, openat2, dirfd of the parent
 *                with "secd/secret.txt"
 * Class 1 (path spellings).  The policy refuses fsread of SECRET's canonical path.
 */
#include "attack.h"

#include <libgen.h>
#include <linux/openat2.h>

static char secd[4096], parent[4096], base[256], dname[256];

static void split(const char *secret) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", secret);
    snprintf(base, sizeof base, "%s", basename(tmp));
    snprintf(tmp, sizeof tmp, "%s", secret);
    snprintf(secd, sizeof secd, "%s", dirname(tmp));
    snprintf(tmp, sizeof tmp, "%s", secd);
    snprintf(dname, sizeof dname, "%s", basename(tmp));
    snprintf(tmp, sizeof tmp, "%s", secd);
    snprintf(parent, sizeof parent, "%s", dirname(tmp));
}

int main(int argc, char **argv) {
    if (argc < 4)
        usage("path_spell MODE SECRET WORK");
    const char *mode = argv[1], *secret = argv[2], *work = argv[3];
    char p[8192];
    split(secret);
    if (!strcmp(mode, "dotdot")) {
        snprintf(p, sizeof p, "%s/../%s/%s", secd, dname, base);
        try_open("SECD/../secd/secret.txt", p);
        snprintf(p, sizeof p, "%s/../%s/../%s/%s", secd, dname, dname, base);
        try_open("SECD/../secd/../secd/secret.txt", p);
        if (chdir(work) == 0) {
            snprintf(p, sizeof p, "../%s/%s", dname, base);
            try_open("../secd/secret.txt from WORK", p);
        }
        snprintf(p, sizeof p, "/../../..%s", secret);
        try_open("/../../..SECRET", p);
    } else if (!strcmp(mode, "slashes")) {
        size_t j = 0;
        for (const char *c = secret; *c && j < sizeof p - 3; c++) {
            p[j++] = *c;
            if (*c == '/')
                p[j++] = '/';
        }
        p[j] = 0;
        try_open("doubled slashes", p);
        snprintf(p, sizeof p, "%s//.//%s", secd, base);
        try_open("SECD//.//secret.txt", p);
        snprintf(p, sizeof p, "//%s", secret);
        try_open("//SECRET", p);
    } else if (!strcmp(mode, "dot")) {
        size_t j = 0;
        for (const char *c = secret; *c && j < sizeof p - 4; c++) {
            p[j++] = *c;
            if (*c == '/') {
                p[j++] = '.';
                p[j++] = '/';
            }
        }
        p[j] = 0;
        try_open("/./ between components", p);
        if (chdir(secd) == 0)
            try_open("./secret.txt after chdir", "./secret.txt");
    } else if (!strcmp(mode, "chdir")) {
        if (chdir(secd) < 0)
            blocked("chdir(SECD): %s", ename(errno));
        try_open("secret.txt after chdir(SECD)", base);
        if (chdir(parent) == 0) {
            snprintf(p, sizeof p, "%s/%s", dname, base);
            try_open("secd/secret.txt after chdir(parent)", p);
        }
        if (chdir("/") == 0)
            try_open("SECRET without its leading / after chdir(/)", secret + 1);
    } else if (!strcmp(mode, "dirfd")) {
        int dfd = open(secd, O_RDONLY | O_DIRECTORY);
        if (dfd >= 0)
            try_open_at(dfd, "openat(SECD fd, secret.txt)", base, O_RDONLY);
        else
            tally("open(SECD)", -1, errno);
        int pfd = open(secd, O_PATH | O_DIRECTORY);
        if (pfd >= 0)
            try_open_at(pfd, "openat(SECD O_PATH fd, secret.txt)", base, O_RDONLY);
        else
            tally("open(SECD, O_PATH)", -1, errno);
        if (pfd >= 0) {
            struct open_how how = {.flags = O_RDONLY};
            int fd = syscall(SYS_openat2, pfd, base, &how, sizeof how);
            tally("openat2(SECD fd, secret.txt)", fd, errno);
        }
        int up = open(parent, O_RDONLY | O_DIRECTORY);
        if (up >= 0) {
            snprintf(p, sizeof p, "%s/%s", dname, base);
            try_open_at(up, "openat(parent fd, secd/secret.txt)", p, O_RDONLY);
            snprintf(p, sizeof p, "%s/../%s/%s", dname, dname, base);
            try_open_at(up, "openat(parent fd, secd/../secd/secret.txt)", p, O_RDONLY);
        }
    } else {
        usage("MODE: dotdot slashes dot chdir dirfd");
    }
    tally_done();
}
