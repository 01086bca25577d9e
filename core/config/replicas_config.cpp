// `replicas:` and its policies (`write`, `read`, `read_failover`): keys of
// cachemux's, not nutcracker's. A pool with replicas keeps further full
// copies of its ring, each a server list of its own (see PoolConfig).
//
//   replicas:
//    - servers:
//       - 127.0.0.1:11213:1 b1
//    - servers:
//       - 127.0.0.1:11215:1 c1
//
// Pass 1 checks that shape (nutcracker's structure rules cannot hold for
// it: it is a list of mappings); pass 2 reads each server line with the
// code of `servers:`; finish() applies the rules below.
#include <cstddef>
#include <string>
#include <string_view>

#include "config/config_text.hpp"
#include "config/pool_parser.hpp"

namespace cachemux::config_detail {
namespace {

using Kind = YamlNode::Kind;

// 8 copies in all: each write goes to every live copy, so the number of
// copies bounds a write's fan-out, and the core keeps a request's copy
// index in a byte.
constexpr std::size_t kMaxReplicas = 7;

const char* const kPolicyKeys[] = {"write", "read", "read_failover", "backfill_ttl"};

const char* item_kind(const YamlNode& n) {
    return n.kind == Kind::Scalar && n.value.empty() ? "an empty item" : kind_name(n);
}

// One `- servers:` item of the list.
void check_replica_shape(const std::string& file, const std::string& pool, const YamlNode& item) {
    const std::string key(kReplicasKey);
    if (item.kind != Kind::Map) {
        fail(file, item.line, pool, key,
             std::string("a replica must be a mapping holding its server list (write '- servers:' and the "
                         "copy's server lines under it), not ") +
                 item_kind(item));
    }
    const YamlNode* servers_key = nullptr;
    for (std::size_t i = 0; i + 1 < item.items.size(); i += 2) {
        const YamlNode& k = item.items[i];
        if (k.kind != Kind::Scalar) {
            fail(file, k.line, pool, key, std::string("a replica's keys must be scalars, not ") + kind_name(k));
        }
        if (k.value != "servers") {
            fail(file, k.line, pool, key,
                 "unknown key " + show(k.value) +
                     " in a replica: a replica has only 'servers', its own server list (the pool's "
                     "other settings apply to every copy)");
        }
        if (servers_key) {
            fail(file, k.line, pool, key,
                 "a replica has one 'servers' list (there is already one on line " +
                     std::to_string(servers_key->line) + ")");
        }
        servers_key = &k;
    }
    if (!servers_key) {
        fail(file, item.line, pool, key, "a replica needs a 'servers' list of its own");
    }
    const YamlNode& servers = item.items[1];
    if (servers.kind == Kind::Scalar && servers.value.empty()) {
        fail(file, servers_key->line, pool, key,
             "a replica's 'servers' is empty: every copy needs at least one server ('- host:port:weight "
             "[name]' lines under it)");
    }
    if (servers.kind != Kind::Seq) {
        fail(file, servers.line, pool, key,
             std::string("a replica's 'servers' must be a list of server lines, one '- host:port:weight "
                         "[name]' per line, not ") +
                 kind_name(servers));
    }
    for (const YamlNode& line : servers.items) {
        if (line.kind != Kind::Scalar) {
            fail(file, line.line, pool, key, std::string("server lines must be scalars, not ") + kind_name(line));
        }
    }
}

// A choice between two words, such as "all" or "one".
template <typename T>
T choose(const std::string& file, const std::string& pool, const YamlNode& key, const YamlNode& value,
         std::string_view a, T a_is, std::string_view b, T b_is) {
    if (value.value == a) return a_is;
    if (value.value == b) return b_is;
    fail(file, value.line, pool, key.value,
         "invalid value " + show(value.value) + " (expected " + std::string(a) + " or " + std::string(b) + ")");
}

}  // namespace

void check_replicas_shape(const std::string& file, const std::string& pool, const YamlNode& key,
                          const YamlNode& value) {
    const std::string k(kReplicasKey);
    if (value.kind == Kind::Scalar && value.value.empty()) {
        fail(file, key.line, pool, k,
             "is empty: list the further copies of the pool, each as '- servers:' with that copy's "
             "server lines under it");
    }
    if (value.kind != Kind::Seq) {
        fail(file, value.line, pool, k,
             std::string("must be a list of copies, each '- servers:' with that copy's server lines "
                         "under it, not ") +
                 kind_name(value));
    }
    for (const YamlNode& item : value.items) check_replica_shape(file, pool, item);
}

void PoolParser::add_replicas(const YamlNode& key, const YamlNode& list) {
    note_key(key, list);
    for (const YamlNode& item : list.items) {
        replica_lines_.push_back(item.line);
        std::vector<ServerConfig>& copy = pool_.replicas.emplace_back();
        const YamlNode& servers = item.items[1];  // of the one key, 'servers' (check_replica_shape)
        for (const YamlNode& server : servers.items) {
            check_not_empty(file_, server, &pool_.name, &key.value);
            add_server(key, server, copy);
        }
    }
}

// `write`, `read`, `read_failover` and `backfill_ttl`; false for any other key.
bool PoolParser::set_copy_policy(const YamlNode& key, const YamlNode& value) {
    using P = PoolConfig;
    const std::string& k = key.value;
    const std::string& pool = pool_.name;
    if (k == "write") {
        pool_.copy_write = choose(file_, pool, key, value, "all", P::CopyWrite::All, "one", P::CopyWrite::One);
    } else if (k == "read") {
        pool_.copy_read = choose(file_, pool, key, value, "primary", P::CopyRead::Primary, "spread",
                                 P::CopyRead::Spread);
    } else if (k == "read_failover") {
        pool_.read_failover_on_miss = choose(file_, pool, key, value, "miss", true, "error", false);
    } else if (k == "backfill_ttl") {
        pool_.backfill_ttl_s = number(key, value);
    } else {
        return false;
    }
    return true;
}

// The copies as a whole: the policies need copies, and the copies need a
// timeout and a bound.
void PoolParser::check_copies() {
    const std::string& name = pool_.name;
    if (pool_.replicas.empty()) {
        for (const char* k : kPolicyKeys) {
            if (!seen_.count(k)) continue;
            fail(file_, pool_.line_of(k), name, k,
                 "applies only to a pool with replicas: add a 'replicas:' list of further copies, or remove "
                 "the key");
        }
        return;
    }
    if (pool_.replicas.size() > kMaxReplicas) {
        fail(file_, replica_lines_[kMaxReplicas], name, std::string(kReplicasKey),
             "too many replicas: at most " + std::to_string(kMaxReplicas) + " (" +
                 std::to_string(kMaxReplicas + 1) +
                 " copies with 'servers'), since every write goes to each copy, which bounds its fan-out, "
                 "and the core keeps a request's copy index in a byte");
    }
    if (pool_.timeout_ms > 0) return;
    if (seen_.count("timeout")) {
        fail(file_, pool_.line_of("timeout"), name, "timeout",
             "must be above 0 in a pool with replicas (line " + std::to_string(pool_.line_of("replicas")) +
                 "): 0 waits forever, and a write goes to every copy, so one copy that stops answering "
                 "would hang every write");
    }
    fail(file_, pool_.line_of("replicas"), name, std::string(kReplicasKey),
         "needs 'timeout' (in milliseconds, e.g. 'timeout: 400'): a write goes to every copy, and "
         "without a timeout one copy that stops answering would hang every write (nutcracker's "
         "default is to wait forever)");
}

// A memcache copy that rejoins after an ejection missed the writes and
// deletes of its outage: it must be emptied first, or it would serve values
// older than its outage. So flush_on_rejoin defaults to true there and
// cannot be turned off. Redis pools never flush (their servers hold data).
void PoolParser::resolve_flush_on_rejoin() {
    if (pool_.replicas.empty() || pool_.redis || !pool_.auto_eject_hosts) return;
    if (seen_.count("flush_on_rejoin") && !pool_.flush_on_rejoin) {
        fail(file_, pool_.line_of("flush_on_rejoin"), pool_.name, "flush_on_rejoin",
             "cannot be false in a memcache pool with replicas and 'auto_eject_hosts: true': a copy that "
             "rejoins after an ejection missed the writes and deletes made while it was out, so it must be "
             "emptied first, or it would serve values older than its outage");
    }
    pool_.flush_on_rejoin = true;
}

}  // namespace cachemux::config_detail
