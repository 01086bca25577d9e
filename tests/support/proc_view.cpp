#include "proc_view.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace harness {

namespace {

std::string fd_dir(pid_t pid) { return "/proc/" + std::to_string(pid) + "/fd"; }

}  // namespace

std::size_t fd_count(pid_t pid) {
    std::error_code ec;
    std::size_t n = 0;
    for (auto it = std::filesystem::directory_iterator(fd_dir(pid), ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++n;
    return n;
}

std::map<int, std::string> fd_targets(pid_t pid) {
    std::map<int, std::string> out;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(fd_dir(pid), ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        std::error_code ec2;
        auto target = std::filesystem::read_symlink(it->path(), ec2);
        out[std::atoi(it->path().filename().c_str())] = ec2 ? "?" : target.string();
    }
    return out;
}

std::string describe_fds(const std::map<int, std::string>& fds) {
    std::map<std::string, int> kinds;
    for (const auto& [fd, target] : fds) kinds[target.substr(0, target.find(':'))]++;
    std::ostringstream out;
    for (const auto& [kind, n] : kinds) out << kind << " x" << n << "  ";
    return out.str();
}

std::set<unsigned long> listen_inodes(int port) {
    std::ifstream in("/proc/net/tcp");
    std::string line;
    std::getline(in, line);  // header
    char want[32];
    std::snprintf(want, sizeof want, "0100007F:%04X", port);
    std::set<unsigned long> out;
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string sl, local, remote, st, txrx, trtm, retr, uid, timeout;
        unsigned long inode = 0;
        if (!(f >> sl >> local >> remote >> st >> txrx >> trtm >> retr >> uid >> timeout >> inode)) continue;
        if (local == want && st == "0A") out.insert(inode);  // 0A: TCP_LISTEN
    }
    return out;
}

int fd_of_inode(pid_t pid, unsigned long inode) {
    const std::string want = "socket:[" + std::to_string(inode) + "]";
    for (const auto& [fd, target] : fd_targets(pid))
        if (target == want) return fd;
    return -1;
}

}  // namespace harness
