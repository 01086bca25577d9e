// Pass 2 and 3 of the config reader for one pool (see config.cpp): every
// "key: value" through its key's setter, then the pool validated as a whole.
// Internal to core/config/.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/config_yaml.hpp"

namespace cachemux::config_detail {

class PoolParser {
public:
    PoolParser(const std::string& file, const YamlNode& name, const HostResolver& resolver);

    // One value of `key`: a scalar value, or one item of its list.
    void handle(const YamlNode& key, const YamlNode& value);
    // The whole `replicas:` list, whose shape check_replicas_shape() checked
    // in pass 1 (replicas_config.cpp).
    void add_replicas(const YamlNode& key, const YamlNode& list);

    // conf_validate_pool(), and the checks of the cachemux keys.
    PoolConfig finish();

private:
    void note_key(const YamlNode& key, const YamlNode& value);
    void resolve_protocol();
    static bool known(const std::string& k);
    int number(const YamlNode& key, const YamlNode& value);
    bool boolean(const YamlNode& key, const YamlNode& value);
    void set_listen(const YamlNode& key, const YamlNode& value);
    void resolve(const YamlNode& key, const YamlNode& value, const std::string& host, int port);
    void add_server(const YamlNode& key, const YamlNode& value, std::vector<ServerConfig>& into);
    void sort_servers();
    // replicas_config.cpp:
    bool set_copy_policy(const YamlNode& key, const YamlNode& value);
    void check_copies();
    void resolve_flush_on_rejoin();

    const std::string& file_;
    const HostResolver& resolver_;
    PoolConfig pool_;
    bool listen_set_ = false;
    std::map<std::string, int> seen_;  // key -> line of its first value
    std::vector<int> replica_lines_;   // line of each `replicas:` item
};

// Not nutcracker's: `replicas:` is the one key whose value is a list of
// mappings (each `- servers:` and a list of server lines), so pass 1 checks
// its shape with check_replicas_shape() (replicas_config.cpp) instead of
// nutcracker's rules, and it is not the pool's one list. Throws ConfigError
// naming the key.
inline constexpr std::string_view kReplicasKey = "replicas";
void check_replicas_shape(const std::string& file, const std::string& pool, const YamlNode& key,
                          const YamlNode& value);

}  // namespace cachemux::config_detail
