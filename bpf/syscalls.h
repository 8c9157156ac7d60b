/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Syscall numbers the sensor hooks, per architecture (they are not in BTF),
 * and how sys_exit finds the number of the syscall that is returning. */
#ifndef APISONAR_SYSCALLS_H
#define APISONAR_SYSCALLS_H

#if defined(__TARGET_ARCH_x86)
#define SYS_read 0
#define SYS_write 1
#define SYS_close 3
#define SYS_readv 19
#define SYS_writev 20
#define SYS_sendfile 40
#define SYS_connect 42
#define SYS_accept 43
#define SYS_sendto 44
#define SYS_recvfrom 45
#define SYS_sendmsg 46
#define SYS_recvmsg 47
#define SYS_accept4 288
#define SYSCALL_NR(regs) BPF_CORE_READ((regs), orig_ax)
#elif defined(__TARGET_ARCH_arm64)
#define SYS_close 57
#define SYS_read 63
#define SYS_write 64
#define SYS_readv 65
#define SYS_writev 66
#define SYS_sendfile 71
#define SYS_accept 202
#define SYS_connect 203
#define SYS_sendto 206
#define SYS_recvfrom 207
#define SYS_sendmsg 211
#define SYS_recvmsg 212
#define SYS_accept4 242
#define SYSCALL_NR(regs) BPF_CORE_READ((regs), syscallno)
#else
#error "apisonar: add this architecture's syscall numbers to bpf/syscalls.h"
#endif

#endif
