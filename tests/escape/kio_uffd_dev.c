/* kio_uffd_dev.c: an unsafe call's power reached through a device (issue 11, red team).
 *
 * userfaultfd(2) is an unsafe call (it lets a reader stall the kernel mid-copy and fill the
 * caller's pages): refused unless a rule names it, and a tracee that has one is treated as
 * written to anywhere.  Since Linux 6.1 the same descriptor comes from /dev/userfaultfd:
 * open it, ioctl(USERFAULTFD_IOC_NEW).  Neither is the userfaultfd call, so neither was
 * refused, and nothing marked the address space.
 *
 *   kio_uffd_dev
 *
 * ESCAPED when a working userfaultfd (UFFDIO_API answered) was obtained from the device;
 * SKIPPED when the kernel has no /dev/userfaultfd (or only root may open it and we are not).
 */
#include "attack.h"

#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

int main(void) {
    int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    if (dev < 0 && (errno == ENOENT || errno == ENODEV))
        skipped("no /dev/userfaultfd");
    if (dev < 0 && errno == EACCES && geteuid() != 0)
        skipped("/dev/userfaultfd is root's");
    if (dev < 0)
        blocked("open /dev/userfaultfd: %s", ename(errno));
    int uffd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC);
    if (uffd < 0)
        blocked("USERFAULTFD_IOC_NEW: %s", ename(errno));
    struct uffdio_api api = {.api = UFFD_API};
    if (ioctl(uffd, UFFDIO_API, &api) < 0)
        blocked("UFFDIO_API: %s", ename(errno));
    escaped("a userfaultfd from /dev/userfaultfd (features %llx)", (unsigned long long)api.features);
}
