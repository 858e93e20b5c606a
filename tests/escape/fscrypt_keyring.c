/* Red team 60: a lookup whose answer depends on who looks -- an fscrypt directory whose key
 * (a v1 policy's, found in the looker's own keyrings) only the program holds.
 *
 *   fscrypt_keyring MOUNT SECRET [make|open]
 *
 * MOUNT is a file system that takes encryption (ext4 -O encrypt).  The program joins a session
 * keyring of its own and adds a "logon" key "fscrypt:0011223344556677" to it (add_key and
 * keyctl are in no alias), sets a v1 policy naming that key on MOUNT/enc (an fswrite of a
 * directory no rule names), makes MOUNT/enc/link, a symlink to SECRET, and drops the caches,
 * so that no inode keeps the key it found.  Then it opens MOUNT/enc/link.  A process whose
 * keyrings lack the key -- the tracer, which resolves the name before the kernel does --
 * looks "link" up as a no-key name (a base64 ciphertext): ENOENT, a missing name the rule
 * does not name.  The kernel looks it up for the program, with the key: the symlink, then
 * the secret.  The note line says what a keyless process saw.  "make" stops once the link
 * is made (a test makes it before the run: an encrypted directory planted earlier, whose
 * key the program only adds), "open" starts at the key; both by default.  With
 * $ESC_WAIT_TRACER, "open" waits for systrace --attach once the key is added.  "keyed": the
 * key is in the session keyring the program was started in (a resident tracer's client's).
 * Review 41: "stash" (natively, before the run) puts the key in the user's persistent
 * keyring -- a keyring no process searches until one links it in -- for a minute;
 * "persistent" links that keyring into the program's own thread keyring
 * (keyctl(KEYCTL_GET_PERSISTENT), an operation of no widening set on main) and opens the
 * link; "unstash" takes the key out again. */
#include "attack.h"

#include <linux/fscrypt.h>
#include <linux/keyctl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static const char DESCRIPTOR[8] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4)
        usage("fscrypt_keyring MOUNT SECRET [make|open|keyed|stash|persistent|unstash]");
    int make = argc == 3 || strcmp(argv[3], "make") == 0;
    int use = argc == 3 || strcmp(argv[3], "open") == 0;
    char enc[4096], link[4096];
    snprintf(enc, sizeof enc, "%s/enc", argv[1]);
    snprintf(link, sizeof link, "%s/enc/link", argv[1]);
    if (argc == 4 && strcmp(argv[3], "keyed") == 0) goto keyed;  /* (its caller added the key) */
    if (argc != 4 || (strcmp(argv[3], "persistent") != 0 && strcmp(argv[3], "stash") != 0 &&
                      strcmp(argv[3], "unstash") != 0))
        goto session;
    /* the persistent keyring of this user, linked into this thread's own keyring (made) */
    long persistent = syscall(SYS_keyctl, KEYCTL_GET_PERSISTENT, -1, KEY_SPEC_THREAD_KEYRING);
    if (persistent < 0) skipped("keyctl(GET_PERSISTENT): %s", ename(errno));
    if (strcmp(argv[3], "persistent") == 0) {
        /* (no keyless child here: its JOIN_SESSION_KEYRING is a widening stop of its own) */
        for (int pass = 0; pass < 2; pass++)
            if (write_file("/proc/sys/vm/drop_caches", "2") < 0)
                skipped("drop_caches: %s", ename(errno));
        try_open("open(enc/link) with the persistent keyring's key", link);
        tally_done();
    }
    if (strcmp(argv[3], "unstash") == 0) {
        long found = syscall(SYS_keyctl, KEYCTL_SEARCH, persistent, "logon",
                             "fscrypt:0011223344556677", 0);
        if (found >= 0) syscall(SYS_keyctl, KEYCTL_INVALIDATE, found);
        return 0;
    }
    {
        struct fscrypt_key stashed = {.mode = 0, .size = FSCRYPT_MAX_KEY_SIZE};
        memset(stashed.raw, 0x41, sizeof stashed.raw);
        long id = syscall(SYS_add_key, "logon", "fscrypt:0011223344556677", &stashed,
                          sizeof stashed, persistent);
        if (id < 0) skipped("add_key into the persistent keyring: %s", ename(errno));
        syscall(SYS_keyctl, KEYCTL_SET_TIMEOUT, id, 120);  /* (gone by itself, if left) */
        blocked("stashed");
    }
session:
    if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0)
        skipped("keyctl(JOIN_SESSION_KEYRING): %s", ename(errno));
    struct fscrypt_key key = {.mode = 0, .size = FSCRYPT_MAX_KEY_SIZE};
    memset(key.raw, 0x41, sizeof key.raw);
    if (syscall(SYS_add_key, "logon", "fscrypt:0011223344556677", &key, sizeof key,
                KEY_SPEC_SESSION_KEYRING) < 0)
        skipped("add_key(logon fscrypt:...): %s", ename(errno));
    if (!make) goto use;
    if (mkdir(enc, 0755) < 0 && errno != EEXIST) skipped("mkdir %s: %s", enc, ename(errno));
    int dir = open(enc, O_RDONLY | O_DIRECTORY);
    struct fscrypt_policy_v1 policy = {
        .version = FSCRYPT_POLICY_V1,
        .contents_encryption_mode = FSCRYPT_MODE_AES_256_XTS,
        .filenames_encryption_mode = FSCRYPT_MODE_AES_256_CTS,
        .flags = FSCRYPT_POLICY_FLAGS_PAD_32};
    memcpy(policy.master_key_descriptor, DESCRIPTOR, sizeof DESCRIPTOR);
    if (dir < 0 || ioctl(dir, FS_IOC_SET_ENCRYPTION_POLICY, &policy) < 0)
        skipped("a v1 encryption policy on %s: %s", enc, ename(errno));
    if (symlink(argv[2], link) < 0) blocked("symlink in the encrypted directory: %s", ename(errno));
    if (syncfs(dir) < 0) skipped("syncfs: %s", ename(errno));
    close(dir);
    if (!use) blocked("made %s", link);
use:
    wait_for_tracer();  /* (--attach: the key was there before the tracer came) */
keyed:
    note("tracer %d, parent %d", tracer_pid(), (int)getppid());
    /* (no dentry or inode of the directory keeps the key it found: the next lookup looks for
     * it in the keyrings of whoever looks) */
    for (int pass = 0; pass < 2; pass++)  /* (a dentry used lately survives one pass) */
        if (write_file("/proc/sys/vm/drop_caches", "2") < 0)
            skipped("drop_caches: %s", ename(errno));
    pid_t keyless = fork();
    if (keyless == 0) {  /* a keyring of its own, empty: what a process without the key sees */
        struct stat st;
        syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL);
        int seen = lstat(link, &st);
        note("without the key, lstat(enc/link): %s", seen < 0 ? ename(errno) : "found");
        _exit(0);
    }
    if (keyless > 0) waitpid(keyless, NULL, 0);
    try_open("open(enc/link) with the key", link);
    tally_done();
}
