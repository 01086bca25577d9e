// nutcracker's YAML configuration, read with yaml-cpp and validated the way
// nutcracker 0.5.0 validates it (src/nc_conf.c): the same files are accepted
// and rejected, but every error names the file, the line and the key.
//
// nutcracker checks a file in three passes and so does this reader:
//   1. the shape of the YAML (conf_validate_document/_tokens/_structure):
//      one document, a mapping of pool names to mappings whose values are
//      scalars or, for exactly one key per pool, a list of scalars (but for
//      cachemux's `replicas:`, whose shape is its own: replicas_config.cpp);
//   2. every "key: value" (and every list item) through its key's setter
//      (conf_set_num, conf_set_bool, conf_set_listen, conf_add_server, ...);
//   3. each pool as a whole, then the pools together (conf_validate_pool,
//      conf_post_validate).
// Hash and distribution names are not checked here: plugins provide them and
// the core checks them later (see PoolConfig::line_of and config_error()).
#include "config/config.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "config/config_text.hpp"
#include "config/config_yaml.hpp"
#include "config/pool_parser.hpp"

namespace cachemux {
namespace {

using config_detail::check_not_empty;
using config_detail::fail;
using config_detail::kind_name;
using config_detail::nc_compare;
using config_detail::nc_less;
using config_detail::PoolParser;
using config_detail::show;
using config_detail::where;
using config_detail::YamlNode;
using Kind = YamlNode::Kind;

// ---------------------------------------------------------------------------
// Pass 1: the shape nutcracker's conf_validate_structure() allows.

// The top-level `plugins:` list. A pool cannot be a list, so a list there is
// never a nutcracker pool and a `plugins:` mapping still is one.
bool is_plugin_list(const YamlNode& name, const YamlNode& value) {
    return name.kind == Kind::Scalar && name.value == "plugins" && value.kind == Kind::Seq;
}

void check_structure(const YamlNode& root, const std::string& file) {
    if (root.kind != Kind::Map) {
        fail(file, root.line,
             std::string("the top level must be a mapping of pool names to pool settings, not ") +
                 kind_name(root));
    }
    for (std::size_t i = 0; i + 1 < root.items.size(); i += 2) {
        const YamlNode& name = root.items[i];
        const YamlNode& pool = root.items[i + 1];
        if (name.kind != Kind::Scalar) {
            fail(file, name.line, std::string("a pool name must be a scalar, not ") + kind_name(name));
        }
        if (is_plugin_list(name, pool)) {
            continue;  // read by read_plugin_list()
        }
        if (pool.kind != Kind::Map) {
            if (pool.kind == Kind::Scalar && pool.value.empty()) {
                fail(file, name.line, name.value,
                     "has no settings: a pool must be a mapping with at least 'listen' and "
                     "'servers'");
            }
            fail(file, pool.line, name.value,
                 std::string("must be a mapping of settings (indented 'key: value' lines), not ") +
                     kind_name(pool));
        }
        const YamlNode* list_key = nullptr;
        for (std::size_t j = 0; j + 1 < pool.items.size(); j += 2) {
            const YamlNode& key = pool.items[j];
            const YamlNode& value = pool.items[j + 1];
            if (key.kind != Kind::Scalar) {
                fail(file, key.line, name.value,
                     std::string("a key must be a scalar, not ") + kind_name(key));
            }
            if (key.value == config_detail::kReplicasKey) {
                config_detail::check_replicas_shape(file, name.value, key, value);
                continue;  // a list of mappings, and not the pool's one list
            }
            if (value.kind == Kind::Map) {
                fail(file, value.line, name.value, key.value,
                     "nested mappings are not allowed; a value must be a scalar or a list");
            }
            if (value.kind == Kind::Seq) {
                if (list_key) {
                    fail(file, key.line, name.value, key.value,
                         "a pool may have only one list (there is already one at key '" +
                             list_key->value + "', line " + std::to_string(list_key->line) + ")");
                }
                list_key = &key;
                for (const YamlNode& item : value.items) {
                    if (item.kind != Kind::Scalar) {
                        fail(file, item.line, name.value, key.value,
                             std::string("list items must be scalars, not ") + kind_name(item));
                    }
                }
            }
        }
        if (!list_key) {
            fail(file, name.line, name.value,
                 "has no 'servers' list (a '- host:port:weight' item per line)");
        }
    }
}

// ---------------------------------------------------------------------------
// Pass 2 and 3 of each pool: PoolParser (pool_parser.cpp). Then the pools
// together:

// conf_post_validate(): what involves several pools.
void check_pools(const std::string& file, std::vector<PoolConfig>& pools) {
    // nutcracker checks the listen addresses first; the names are checked
    // first here only so that a pool written twice is reported as such.
    std::stable_sort(pools.begin(), pools.end(),
                     [](const PoolConfig& a, const PoolConfig& b) { return nc_less(a.name, b.name); });
    for (std::size_t i = 0; i + 1 < pools.size(); ++i) {
        if (nc_compare(pools[i].name, pools[i + 1].name) == 0) {
            int first = std::min(pools[i].line, pools[i + 1].line);
            int second = std::max(pools[i].line, pools[i + 1].line);
            fail(file, second, pools[i].name,
                 "duplicate pool name (first defined on line " + std::to_string(first) + ")");
        }
    }

    std::vector<const PoolConfig*> by_listen;
    for (const auto& p : pools) by_listen.push_back(&p);
    std::stable_sort(by_listen.begin(), by_listen.end(), [](const PoolConfig* a, const PoolConfig* b) {
        return nc_less(a->listen.pname, b->listen.pname);
    });
    for (std::size_t i = 0; i + 1 < by_listen.size(); ++i) {
        const PoolConfig* a = by_listen[i];
        const PoolConfig* b = by_listen[i + 1];
        if (nc_compare(a->listen.pname, b->listen.pname) == 0) {
            if (a->line > b->line) std::swap(a, b);
            fail(file, b->line_of("listen"), b->name, "listen",
                 "listen address " + show(b->listen.pname) + " is already used by pool '" + a->name +
                     "' (line " + std::to_string(a->line_of("listen")) + ")");
        }
    }
}

}  // namespace

std::string resolve_with_getaddrinfo(const std::string& host, int port) {
    // nc_resolve_inet(): the C string (so up to a NUL), any family, TCP.
    addrinfo hints{};
    hints.ai_flags = AI_NUMERICSERV;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* result = nullptr;
    std::string service = std::to_string(port);
    int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &result);
    if (rc != 0) return ::gai_strerror(rc);
    ::freeaddrinfo(result);
    return "";
}

Config parse_config(const std::string& yaml_text, const std::string& file) {
    return parse_config(yaml_text, file, resolve_with_getaddrinfo);
}

// `plugins:` items: each a non-empty scalar, none twice.
void read_plugin_list(const std::string& file, const YamlNode& name, const YamlNode& list,
                      std::vector<PluginRef>& out) {
    if (!out.empty()) {
        fail(file, name.line, "duplicate 'plugins' list (the first is on line " +
                                  std::to_string(out.front().line) + ")");
    }
    for (const YamlNode& item : list.items) {
        if (item.kind != Kind::Scalar || item.value.empty()) {
            fail(file, item.line,
                 std::string("'plugins' items must be plugin names or paths, not ") +
                     (item.kind == Kind::Scalar ? "an empty value" : kind_name(item)));
        }
        for (const PluginRef& seen : out) {
            if (seen.spec == item.value) {
                fail(file, item.line, "plugin " + show(item.value) + " is listed twice (also on line " +
                                          std::to_string(seen.line) + ")");
            }
        }
        out.push_back({item.value, item.line});
    }
}

Config parse_config(const std::string& yaml_text, const std::string& file, const HostResolver& resolver) {
    YamlNode root;
    try {
        root = config_detail::read_yaml(yaml_text);
    } catch (const config_detail::YamlProblem& p) {
        fail(file, p.line, p.message);
    }

    check_structure(root, file);

    Config config;
    config.file = file;
    for (std::size_t i = 0; i + 1 < root.items.size(); i += 2) {
        const YamlNode& name = root.items[i];
        const YamlNode& body = root.items[i + 1];
        if (is_plugin_list(name, body)) {
            read_plugin_list(file, name, body, config.plugins);
            continue;
        }
        check_not_empty(file, name, nullptr, nullptr);
        PoolParser parser(file, name, resolver);
        for (std::size_t j = 0; j + 1 < body.items.size(); j += 2) {
            const YamlNode& key = body.items[j];
            const YamlNode& value = body.items[j + 1];
            check_not_empty(file, key, &name.value, nullptr);
            if (key.value == config_detail::kReplicasKey) {
                parser.add_replicas(key, value);  // a tree of its own (check_replicas_shape)
            } else if (value.kind == Kind::Seq) {
                for (const YamlNode& item : value.items) {
                    check_not_empty(file, item, &name.value, &key.value);
                    parser.handle(key, item);
                }
            } else {
                check_not_empty(file, value, &name.value, &key.value);
                parser.handle(key, value);
            }
        }
        config.pools.push_back(parser.finish());
    }
    if (config.pools.empty()) {
        fail(file, 1, "the configuration defines no pools");
    }
    check_pools(file, config.pools);
    return config;
}

Config load_config(const std::string& file) {
    std::FILE* fp = std::fopen(file.c_str(), "rb");
    if (!fp) {
        int err = errno;
        throw ConfigOpenError(file + ": cannot open configuration file: " + std::strerror(err));
    }
    std::string text;
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, fp)) > 0) text.append(buf, n);
    bool failed = std::ferror(fp) != 0;
    int err = errno;
    std::fclose(fp);
    if (failed) {
        throw ConfigError(file + ": cannot read configuration file: " + std::strerror(err));
    }
    return parse_config(text, file);
}

ConfigError config_error(const std::string& file, const PoolConfig& pool, const std::string& key,
                         const std::string& detail) {
    return ConfigError(where(file, pool.line_of(key), &pool.name, &key) + detail);
}

}  // namespace cachemux
