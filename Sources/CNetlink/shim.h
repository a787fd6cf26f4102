// The C surface of lvsctl: libnl-3, libnl-genl-3 and the kernel's IPVS UAPI header.
// Only the LVSNetlink target imports this module.
#ifndef LVSCTL_CNETLINK_SHIM_H
#define LVSCTL_CNETLINK_SHIM_H

#include <netlink/netlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/errno.h>
#include <netlink/socket.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>

/* setns(2) is only declared by <sched.h> under _GNU_SOURCE; declare it here. */
extern int setns(int fd, int nstype);

/* Moves the calling thread into the network namespace open at fd (CLONE_NEWNET). */
static inline int lvs_setns_net(int fd) { return setns(fd, 0x40000000); }

/* The thread-local errno, readable from Swift right after a failed call. */
static inline int lvs_errno(void) { return errno; }

/* Sets an int socket option; returns 0 or -errno. */
static inline int lvs_setsockopt_int(int fd, int level, int name, int value) {
    return setsockopt(fd, level, name, &value, sizeof(value)) == 0 ? 0 : -errno;
}

/* Reads an int socket option; returns the value or -errno. */
static inline int lvs_getsockopt_int(int fd, int level, int name) {
    int value = 0; socklen_t len = sizeof(value);
    return getsockopt(fd, level, name, &value, &len) == 0 ? value : -errno;
}

/* Sets SO_RCVTIMEO and SO_SNDTIMEO; returns 0 or -errno. */
static inline int lvs_set_timeouts(int fd, long sec, long usec) {
    struct timeval tv = { .tv_sec = sec, .tv_usec = usec };
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) return -errno;
    return 0;
}

/* send(2) / recv(2) returning the count or -errno. */
/* Both retry when a signal interrupts them: the daemon's SIGTERM/SIGHUP handlers must not fail a write. */
static inline long lvs_send(int fd, const void *buf, unsigned long len) {
    long n;
    do { n = send(fd, buf, len, 0); } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}
static inline long lvs_recv(int fd, void *buf, unsigned long len, int dontwait) {
    long n;
    do { n = recv(fd, buf, len, MSG_TRUNC | (dontwait ? MSG_DONTWAIT : 0)); } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

#endif
