// Steering by client source: a classic BPF program for SO_ATTACH_REUSEPORT_CBPF that picks the
// socket of a SO_REUSEPORT group from a hash of the packet's source IP (IPv4; for IPv6 its first
// 64 bits, masked to v6_prefix when that is shorter, folded to 32 bits), modulo the number of
// workers. Every connection and datagram of one client source (an address, or every address of
// an IPv6 prefix: protection.ipv6_prefix) then reaches the same socket, hence the same worker,
// whose guard keeps that source's state without sharing it (ARCHITECTURE rule 3). Any thread.
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

namespace rampart::guard {

// The program for `workers` sockets per group (workers >= 1). Handles IPv4 and IPv6 packets, so
// one program serves both IPv4 and dual-stack IPv6 groups.
std::vector<sock_filter> steering_program(unsigned workers, int v6_prefix = 64);
// Attaches the program to the group of `fd` (a bound SO_REUSEPORT socket). False and *error set
// when the kernel refuses.
bool attach_steering(int fd, unsigned workers, std::string* error, int v6_prefix = 64);
// Removes the program from the group of `fd` (the kernel's 4-tuple hash spreads again).
void detach_steering(int fd);
// The socket index the program picks for a source address (4 or 16 bytes): the userspace twin,
// for tests.
unsigned steering_index(const unsigned char* addr, size_t len, unsigned workers,
                        int v6_prefix = 64);

}  // namespace rampart::guard
