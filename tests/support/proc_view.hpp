// A process's open files and the kernel's listening sockets, from /proc:
// to tell that a reload leaks no fd and keeps a listener's very socket.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <map>
#include <set>
#include <string>

namespace harness {

// How many fds the process has open.
std::size_t fd_count(pid_t pid);

// fd -> what it is ("socket:[1234]", "/dev/null", "anon_inode:[eventfd]").
std::map<int, std::string> fd_targets(pid_t pid);

// The fds by kind, for messages: "socket x12  anon_inode x3  ...".
std::string describe_fds(const std::map<int, std::string>& fds);

// Inodes of the sockets in LISTEN state on 127.0.0.1:port (/proc/net/tcp).
std::set<unsigned long> listen_inodes(int port);

// The process's fd that is the socket with this inode, -1 if none.
int fd_of_inode(pid_t pid, unsigned long inode);

}  // namespace harness
