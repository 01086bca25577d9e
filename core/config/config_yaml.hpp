// The YAML layer of the config reader: yaml-cpp events turned into a small
// tree that keeps what nutcracker's libyaml-based checks need (lines, styles,
// raw scalar text), after rejecting the YAML features nutcracker rejects.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace cachemux::config_detail {

struct YamlNode {
    enum class Kind { Scalar, Map, Seq };
    Kind kind = Kind::Scalar;
    std::string value;  // scalars: the text exactly as libyaml would give it
    int line = 0;       // 1-based
    // Map: key, value, key, value, ...   Seq: the elements.
    std::vector<YamlNode> items;
};

// Thrown for YAML-level problems; the caller adds the file name.
struct YamlProblem {
    int line;  // 1-based
    std::string message;
};

// Parses `text` as nutcracker 0.5.0 would accept it at the YAML level:
// exactly one document, no directives, no '---'/'...' markers, no flow
// collections, no anchors, aliases or tags. Returns the root node.
// Throws YamlProblem.
YamlNode read_yaml(const std::string& text);

}  // namespace cachemux::config_detail
