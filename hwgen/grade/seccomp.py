"""The seccomp filter every child that runs student code installs: a classic-BPF program built here, with the
standard library only (no libseccomp), and handed to the sandbox worker as bytes (hwgen/grade/worker.py installs
it with prctl(PR_SET_SECCOMP) through ctypes, after PR_SET_NO_NEW_PRIVS).

What it refuses, with EPERM (ENOSYS for clone3, so that the C library falls back to clone, which is checked):

- new namespaces: unshare, setns, clone with a CLONE_NEW* flag (a user namespace would let a child mount its
  own tmpfs and write past --memory);
- mounts: mount, umount2, pivot_root, chroot and the new mount API;
- SysV IPC and POSIX message queues (shm*, sem*, msg*, mq_*): kernel objects that outlive the run and are
  counted in no limit;
- sockets other than AF_UNIX (socket, socketpair): AF_VSOCK, AF_NETLINK, ... (--unshare-net covers only IP);
  and any socket outside the run: connect, sendmsg, sendmmsg, and sendto with an address (a Unix socket's path
  stays reachable on a read-only mount, and no namespace hides it: the user's D-Bus, Docker, X11 or agent
  sockets at the unshare and none levels);
- other processes: ptrace, process_vm_readv/writev, kcmp, pidfd_getfd, and every way to send a signal (kill,
  tkill, tgkill, rt_(tg)sigqueueinfo, pidfd_send_signal, and making another process a file's owner, whom the
  kernel signals on I/O: fcntl F_SETOWN(_EX), ioctl FIOSETOWN/SIOCSPGRP): no signal to, or look into, the worker
  or anyone else;
- new programs: execve, execveat (the child never needs one);
- kernel state outside the run: keyctl, add_key, request_key (keyrings outlive the run), bpf, perf_event_open,
  userfaultfd, io_uring_*, memfd_create, memfd_secret (attack surface, or memory outside RLIMIT_AS).

Only x86-64 has a table; elsewhere `program()` returns None and the sandbox says that no filter is in use.
"""

from __future__ import annotations

import os
import struct

# struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6] (little-endian: low word first)
NR, ARCH, ARG0, ARG1, ARG4, ARG4_HIGH = 0, 4, 16, 24, 48, 52
LD_W_ABS, JEQ_K, JSET_K, JGE_K, RET_K = 0x20, 0x15, 0x45, 0x35, 0x06
ALLOW, ERRNO = 0x7FFF0000, 0x00050000
EPERM, ENOSYS = 1, 38
AUDIT_ARCH_X86_64 = 0xC000003E
X32_BIT = 0x40000000  # x32 system calls on x86-64: refused as a whole
AF_UNIX = 1
CLONE_NEW = 0x7E020080  # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME

DENIED_X86_64 = {
    "unshare": 272, "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442,
    "shmget": 29, "shmat": 30, "shmctl": 31, "semget": 64, "semop": 65, "semctl": 66, "shmdt": 67, "msgget": 68,
    "msgsnd": 69, "msgrcv": 70, "msgctl": 71, "semtimedop": 220, "mq_open": 240, "mq_unlink": 241,
    "mq_timedsend": 242, "mq_timedreceive": 243, "mq_notify": 244, "mq_getsetattr": 245,
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312, "pidfd_getfd": 438,
    "kill": 62, "tkill": 200, "tgkill": 234, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297, "pidfd_send_signal": 424,
    "execve": 59, "execveat": 322,
    "connect": 42, "sendmsg": 46, "sendmmsg": 307,
    "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "memfd_create": 319, "memfd_secret": 447,
}
# Level none only, where the host's files are the run's: Landlock keeps their contents (truncate(2) only from its
# ABI 3) but not their mode, owner, times or extended attributes (the grading user's class folder made unreadable
# would cost later students).
DENIED_ON_HOST_X86_64 = {
    "chmod": 90, "fchmod": 91, "fchmodat": 268, "fchmodat2": 452, "chown": 92, "fchown": 93, "lchown": 94,
    "fchownat": 260, "truncate": 76, "utime": 132, "utimes": 235, "futimesat": 261, "utimensat": 280, "setxattr": 188,
    "lsetxattr": 189, "fsetxattr": 190, "removexattr": 197, "lremovexattr": 198, "fremovexattr": 199,
}
SOCKET_X86_64 = (41, 53)  # socket, socketpair: only AF_UNIX
SENDTO_X86_64 = 44  # only without an address (to a connected socket: the child's own socketpairs)
# fcntl F_SETOWN, F_SETOWN_EX; ioctl FIOSETOWN, SIOCSPGRP: the kernel would send SIGIO (or, after F_SETSIG, any
# signal, SIGKILL too) to the process named, as `kill` would
OWNER_X86_64 = {72: (8, 15), 16: (0x8901, 0x8902)}
CLONE_X86_64, CLONE3_X86_64 = 56, 435


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    """One struct sock_filter."""
    return struct.pack("=HBBI", code, jt, jf, k)


def _x86_64(on_host: bool) -> bytes:
    """The filter for x86-64 (`on_host`: also DENIED_ON_HOST_X86_64)."""
    deny = sorted({*DENIED_X86_64.values(), *(DENIED_ON_HOST_X86_64.values() if on_host else ())})
    # Layout: check arch, load nr, refuse x32; then one JEQ per denied call (jumping to the shared `ret EPERM`
    # at the end); then socket, socketpair, clone3 and clone, each with its own short block; then ALLOW.
    head = [_op(LD_W_ABS, ARCH), _op(JEQ_K, AUDIT_ARCH_X86_64, 1, 0), _op(RET_K, ERRNO | EPERM),
            _op(LD_W_ABS, NR), _op(JGE_K, X32_BIT, 0, 1), _op(RET_K, ERRNO | ENOSYS)]
    # In the tail, a jump target "deny" is the shared `ret EPERM`, resolved below.
    tail: list[tuple[int, int, int | str, int | str]] = [
        (JEQ_K, SOCKET_X86_64[0], 1, 0), (JEQ_K, SOCKET_X86_64[1], 0, 3),  # socket or socketpair:
        (LD_W_ABS, ARG0, 0, 0), (JEQ_K, AF_UNIX, 0, "deny"), (RET_K, ALLOW, 0, 0),  # family AF_UNIX, else EPERM
        (JEQ_K, CLONE3_X86_64, 0, 1), (RET_K, ERRNO | ENOSYS, 0, 0),
        (JEQ_K, CLONE_X86_64, 0, 3), (LD_W_ABS, ARG0, 0, 0), (JSET_K, CLONE_NEW, "deny", 0),  # clone: flags
        (RET_K, ALLOW, 0, 0),
    ]
    for nr, commands in OWNER_X86_64.items():  # fcntl, ioctl: no command that makes the kernel signal another process
        tail += [(JEQ_K, nr, 0, len(commands) + 2), (LD_W_ABS, ARG1, 0, 0),
                 *[(JEQ_K, command, "deny", 0) for command in commands], (RET_K, ALLOW, 0, 0)]
    tail += [(JEQ_K, SENDTO_X86_64, 0, 5), (LD_W_ABS, ARG4, 0, 0), (JEQ_K, 0, 0, "deny"),
             (LD_W_ABS, ARG4_HIGH, 0, 0), (JEQ_K, 0, 0, "deny"), (RET_K, ALLOW, 0, 0)]
    tail += [(RET_K, ALLOW, 0, 0), (RET_K, ERRNO | EPERM, 0, 0)]
    body = [_op(JEQ_K, nr, len(deny) - i + len(tail) - 2, 0) for i, nr in enumerate(deny)]
    last = len(tail) - 1
    return b"".join(head + body + [_op(code, k, last - i - 1 if jt == "deny" else int(jt),
                                       last - i - 1 if jf == "deny" else int(jf))
                                   for i, (code, k, jt, jf) in enumerate(tail)])


def program(on_host: bool = False) -> bytes | None:
    """The filter for this machine's architecture, as the bytes of a sock_filter array; None where there is none.
    `on_host`: the run's files are the host's (level none), so changing any file's metadata is refused too."""
    return _x86_64(on_host) if os.uname().machine == "x86_64" else None
