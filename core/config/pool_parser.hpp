// Pass 2 and 3 of the config reader for one pool (see config.cpp): every
// "key: value" through its key's setter, then the pool validated as a whole.
// Internal to core/config/.
#pragma once

#include <map>
#include <string>

#include "config/config.hpp"
#include "config/config_yaml.hpp"

namespace cachemux::config_detail {

class PoolParser {
public:
    PoolParser(const std::string& file, const YamlNode& name, const HostResolver& resolver);

    // One value of `key`: a scalar value, or one item of its list.
    void handle(const YamlNode& key, const YamlNode& value);

    // conf_validate_pool().
    PoolConfig finish();

private:
    void resolve_protocol();
    static bool known(const std::string& k);
    int number(const YamlNode& key, const YamlNode& value);
    bool boolean(const YamlNode& key, const YamlNode& value);
    void set_listen(const YamlNode& key, const YamlNode& value);
    void resolve(const YamlNode& key, const YamlNode& value, const std::string& host, int port);
    void add_server(const YamlNode& key, const YamlNode& value);

    const std::string& file_;
    const HostResolver& resolver_;
    PoolConfig pool_;
    bool listen_set_ = false;
    std::map<std::string, int> seen_;  // key -> line of its first value
};

}  // namespace cachemux::config_detail
