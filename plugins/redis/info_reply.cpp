// INFO as the proxy answers it: the sections clients read when they connect,
// in redis's layout, plus cachemux's own. Never an error: ioredis's ready
// check, Spring's health check and StackExchange.Redis all give up on one.
//
// Sections (INFO with no argument, "default", "all" or "everything" gives
// them all; otherwise the ones named, in this order; an unknown name gives
// nothing, as in redis):
//   server       redis_version (lowest_server_version), redis_mode, process,
//                port, uptime; also role:master and loading:0, which redis
//                keeps under replication and persistence, for clients that
//                ask for INFO server alone
//   clients      connected_clients: the pool's clients
//   persistence  loading:0
//   replication  role:master
//   cluster      cluster_enabled:0
//   cachemux     the proxy's version, the pool, its servers and what each
//                reported, its clients
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <string>

#include "proxy_commands.hpp"
#include "resp_writer.hpp"

namespace cachemux::redis {

namespace {

// redis's run_id: 40 hex digits, the same for the life of the process and
// new at every start (clients compare it to notice a restart).
std::string run_id(std::int64_t started_at) {
    std::uint64_t x = static_cast<std::uint64_t>(started_at) * 0x9e3779b97f4a7c15ULL ^
                      static_cast<std::uint64_t>(getpid());
    std::string id;
    char buf[17];
    while (id.size() < 40) {
        x += 0x9e3779b97f4a7c15ULL;  // splitmix64
        std::uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        std::snprintf(buf, sizeof buf, "%016" PRIx64, z);
        id += buf;
    }
    return id.substr(0, 40);
}

void field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name).append(":").append(value).append("\r\n");
}

void field(std::string& out, std::string_view name, std::int64_t value) { field(out, name, std::to_string(value)); }

void server_section(std::string& out, const abi::LocalContext& context) {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    std::int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now).count();
    std::int64_t uptime = now_s > context.started_at ? now_s - context.started_at : 0;
    utsname host{};
    uname(&host);
    out += "# Server\r\n";
    field(out, "redis_version", lowest_server_version(context.servers));
    field(out, "redis_mode", "standalone");
    field(out, "os", std::string(host.sysname) + " " + host.release + " " + host.machine);
    field(out, "arch_bits", static_cast<std::int64_t>(sizeof(void*) * 8));
    field(out, "multiplexing_api", "epoll");
    field(out, "process_id", static_cast<std::int64_t>(getpid()));
    field(out, "run_id", run_id(context.started_at));
    field(out, "tcp_port", context.port);
    field(out, "server_time_usec", std::chrono::duration_cast<std::chrono::microseconds>(now).count());
    field(out, "uptime_in_seconds", uptime);
    field(out, "uptime_in_days", uptime / 86400);
    field(out, "role", "master");
    field(out, "loading", 0);
}

void cachemux_section(std::string& out, const abi::LocalContext& context) {
    out += "# Cachemux\r\n";
    field(out, "cachemux_version", context.version);
    field(out, "pool", context.pool);
    field(out, "servers", static_cast<std::int64_t>(context.servers.size()));
    for (std::size_t i = 0; i < context.servers.size(); ++i) {
        const abi::ServerFacts& s = context.servers[i];
        std::string value = "name=" + std::string(s.name) + ",version=";
        value += s.version.empty() ? std::string_view("unknown") : s.version;
        field(out, "server" + std::to_string(i), value);
    }
    field(out, "clients", static_cast<std::int64_t>(context.clients));
}

struct Section {
    std::string_view name;
    void (*write)(std::string& out, const abi::LocalContext& context);
};

const Section kSections[] = {
    {"server", server_section},
    {"clients",
     [](std::string& out, const abi::LocalContext& c) {
         out += "# Clients\r\n";
         field(out, "connected_clients", static_cast<std::int64_t>(c.clients));
         field(out, "blocked_clients", 0);
     }},
    {"persistence",
     [](std::string& out, const abi::LocalContext&) {
         out += "# Persistence\r\n";
         field(out, "loading", 0);
         field(out, "async_loading", 0);
     }},
    {"replication",
     [](std::string& out, const abi::LocalContext&) {
         out += "# Replication\r\n";
         field(out, "role", "master");
         field(out, "connected_slaves", 0);
     }},
    {"cluster",
     [](std::string& out, const abi::LocalContext&) {
         out += "# Cluster\r\n";
         field(out, "cluster_enabled", 0);
     }},
    {"cachemux", cachemux_section},
};

}  // namespace

void answer_info(const abi::RequestView& request, const abi::LocalContext& context, abi::MessageWriter& out) {
    Arguments args(request);
    bool all = args.size() == 1;
    for (std::size_t i = 1; i < args.size(); ++i) {
        all = all || args.is(i, "default") || args.is(i, "all") || args.is(i, "everything");
    }
    std::string text;
    for (const Section& section : kSections) {
        bool wanted = all;
        for (std::size_t i = 1; i < args.size() && !wanted; ++i) {
            wanted = args.is(i, section.name);
        }
        if (wanted) {
            if (!text.empty()) text += "\r\n";  // a blank line between sections, as redis writes them
            section.write(text, context);
        }
    }
    resp::bulk(out, text);
}

}  // namespace cachemux::redis
