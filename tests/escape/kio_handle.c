/* kio_handle: open the secret by file handle -- open_by_handle_at takes no path at all.
 *
 *   kio_handle MODE SECRET [TYPE HEX]
 *
 * MODE: given  open_by_handle_at(fd of "/", handle TYPE/HEX): a handle learned elsewhere
 *              (handles are stable and, on ext4, little more than an inode number)
 *       self   name_to_handle_at(SECRET), then open_by_handle_at
 * Class 5 (I/O the kernel does for the program without a path).
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc < 3)
        usage("kio_handle MODE SECRET [TYPE HEX]");
    const char *mode = argv[1], *secret = argv[2];
    struct {
        struct file_handle fh;
        unsigned char bytes[MAX_HANDLE_SZ];
    } h;
    memset(&h, 0, sizeof h);
    if (!strcmp(mode, "given")) {
        if (argc < 5)
            usage("given TYPE HEX");
        h.fh.handle_type = atoi(argv[3]);
        const char *hex = argv[4];
        size_t n = strlen(hex) / 2;
        for (size_t i = 0; i < n && i < MAX_HANDLE_SZ; i++)
            sscanf(hex + 2 * i, "%2hhx", &h.fh.f_handle[i]);
        h.fh.handle_bytes = n;
    } else if (!strcmp(mode, "self")) {
        int mount_id;
        h.fh.handle_bytes = MAX_HANDLE_SZ;
        if (name_to_handle_at(AT_FDCWD, secret, &h.fh, &mount_id, 0) < 0)
            blocked("name_to_handle_at: %s", ename(errno));
    } else {
        usage("MODE: given self");
    }
    int mount_fd = open("/", O_RDONLY | O_DIRECTORY);
    int fd = open_by_handle_at(mount_fd, &h.fh, O_RDONLY);
    if (fd < 0) {
        if (errno == EOPNOTSUPP && !tracer_pid())
            skipped("this file system does not export file handles");
        blocked("open_by_handle_at: %s", ename(errno));
    }
    if (is_secret_fd(fd))
        escaped("open_by_handle_at opened the secret (fd -> %s)", fd_name(fd));
    blocked("open_by_handle_at opened something else (%s)", fd_name(fd));
}
