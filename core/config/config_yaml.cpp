// See config_yaml.hpp. nutcracker 0.5.0 reads its configuration with libyaml
// and refuses a number of YAML features outright (conf_validate_tokens):
// directives, document markers, flow collections, anchors, aliases and tags.
// yaml-cpp does not report all of these as events, so they are found here
// from the events' positions in the text.
#include "config/config_yaml.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>

namespace cachemux::config_detail {
namespace {

// A node as collected from the event stream, with what the checks need.
struct RawNode {
    YamlNode::Kind kind = YamlNode::Kind::Scalar;
    std::string value;
    int line = 0;          // 1-based
    long pos = -1;         // offset of the event's mark in the decoded text
    bool is_null = false;  // reported through OnNull: "", "~", "null", ...
    bool quoted = false;   // a single- or double-quoted scalar
    std::vector<std::unique_ptr<RawNode>> items;
};

class Collector : public YAML::EventHandler {
public:
    Collector(std::string_view text) : text_(text) {}

    std::vector<std::unique_ptr<RawNode>> roots;  // one per document
    std::optional<YamlProblem> problem;           // the first one found
    std::vector<RawNode*> order;                  // every node, in event order

    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}

    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        RawNode* n = add(YamlNode::Kind::Scalar, mark, anchor);
        n->is_null = true;
    }

    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
        note(mark, "aliases ('*name') are not allowed");
        // Keep the tree shape: an alias stands where a value would.
        add(YamlNode::Kind::Scalar, mark, 0);
    }

    void OnAnchor(const YAML::Mark& mark, const std::string&) override {
        note(mark, "anchors ('&name') are not allowed");
    }

    void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  const std::string& value) override {
        check_tag(mark, tag);
        RawNode* n = add(YamlNode::Kind::Scalar, mark, anchor);
        n->value = value;
        char c = char_at(mark.pos);
        n->quoted = tag == "!" && (c == '"' || c == '\'');
    }

    void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value style) override {
        check_tag(mark, tag);
        if (style == YAML::EmitterStyle::Flow) {
            note(mark, "flow sequences ('[...]') are not allowed; write one '- item' per line");
        }
        stack_.push_back(add(YamlNode::Kind::Seq, mark, anchor));
    }
    void OnSequenceEnd() override { pop(); }

    void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value style) override {
        check_tag(mark, tag);
        if (style == YAML::EmitterStyle::Flow) {
            note(mark, "flow mappings ('{...}') are not allowed; write one 'key: value' per line");
        }
        stack_.push_back(add(YamlNode::Kind::Map, mark, anchor));
    }
    void OnMapEnd() override { pop(); }

    char char_at(long pos) const {
        if (pos < 0 || static_cast<std::size_t>(pos) >= text_.size()) return '\0';
        return text_[static_cast<std::size_t>(pos)];
    }

private:
    RawNode* add(YamlNode::Kind kind, const YAML::Mark& mark, YAML::anchor_t anchor) {
        if (anchor != 0) note(mark, "anchors ('&name') are not allowed");
        // A tag or an anchor written before the node puts the mark on it.
        char c = char_at(mark.pos);
        if (c == '!') note(mark, "tags ('!tag') are not allowed");
        if (c == '&') note(mark, "anchors ('&name') are not allowed");

        auto node = std::make_unique<RawNode>();
        node->kind = kind;
        node->line = mark.line + 1;
        node->pos = mark.pos;
        RawNode* raw = node.get();
        order.push_back(raw);
        if (stack_.empty()) {
            roots.push_back(std::move(node));
        } else {
            stack_.back()->items.push_back(std::move(node));
        }
        return raw;
    }

    void pop() {
        if (!stack_.empty()) stack_.pop_back();
    }

    void check_tag(const YAML::Mark& mark, const std::string& tag) {
        // yaml-cpp reports "?" for plain nodes and "!" for quoted or block
        // scalars; anything else was written in the file.
        if (!tag.empty() && tag != "?" && tag != "!") note(mark, "tags ('!tag') are not allowed");
    }

    void note(const YAML::Mark& mark, std::string message) {
        if (!problem) problem = YamlProblem{mark.line + 1, std::move(message)};
    }

    std::string_view text_;
    std::vector<RawNode*> stack_;
};

bool is_break(char c) { return c == '\n' || c == '\r'; }
bool is_blankz(std::string_view s, std::size_t i) {
    return i >= s.size() || s[i] == ' ' || s[i] == '\t' || is_break(s[i]) || s[i] == '\0';
}

// Offsets of the first character of every line.
std::vector<std::size_t> line_starts(std::string_view s) {
    std::vector<std::size_t> starts{0};
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\n' || (s[i] == '\r' && (i + 1 >= s.size() || s[i + 1] != '\n'))) {
            starts.push_back(i + 1);
        }
    }
    return starts;
}

// '---' or '...' at the start of a line followed by a blank is a document
// marker for libyaml (or an error inside a quoted scalar): never accepted.
void check_document_markers(std::string_view s) {
    auto starts = line_starts(s);
    for (std::size_t n = 0; n < starts.size(); ++n) {
        std::size_t i = starts[n];
        if (i + 3 > s.size()) continue;
        std::string_view head = s.substr(i, 3);
        if ((head == "---" || head == "...") && is_blankz(s, i + 3)) {
            throw YamlProblem{static_cast<int>(n) + 1,
                              std::string("document markers ('") + std::string(head) +
                                  "') are not allowed; the file must be a single "
                                  "YAML document without '---' or '...'"};
        }
    }
}

// End (exclusive) of a quoted scalar starting at `start`; `closed` tells
// whether its closing quote was found before the end of the text.
std::size_t quoted_end(std::string_view s, std::size_t start, bool* closed) {
    char q = s[start];
    std::size_t i = start + 1;
    *closed = false;
    while (i < s.size()) {
        if (q == '"' && s[i] == '\\') {
            i += 2;
            continue;
        }
        if (s[i] == q) {
            if (q == '\'' && i + 1 < s.size() && s[i + 1] == '\'') {
                i += 2;
                continue;
            }
            *closed = true;
            return i + 1;
        }
        ++i;
    }
    return s.size();
}

// '%' at the start of a line (outside a quoted scalar) is a directive.
void check_directives(std::string_view s, const std::vector<std::pair<std::size_t, std::size_t>>& quoted) {
    auto starts = line_starts(s);
    for (std::size_t n = 0; n < starts.size(); ++n) {
        std::size_t i = starts[n];
        if (i >= s.size() || s[i] != '%') continue;
        bool inside = false;
        for (const auto& [b, e] : quoted) {
            if (i > b && i < e) inside = true;
        }
        if (!inside) {
            throw YamlProblem{static_cast<int>(n) + 1,
                              "YAML directives ('%YAML', '%TAG') are not allowed"};
        }
    }
}

bool starts_with_at(std::string_view s, long pos, std::string_view word) {
    if (pos < 0 || static_cast<std::size_t>(pos) > s.size()) return false;
    return s.substr(static_cast<std::size_t>(pos)).starts_with(word);
}

int line_at(std::string_view s, std::size_t pos) {
    int line = 1;
    for (std::size_t i = 0; i < pos && i < s.size(); ++i) {
        if (s[i] == '\n') ++line;
    }
    return line;
}

void append_utf8(std::string& out, std::uint32_t c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

// libyaml's reader: the characters YAML allows in a stream.
bool printable(std::uint32_t c) {
    return c == 0x09 || c == 0x0A || c == 0x0D || (c >= 0x20 && c <= 0x7E) || c == 0x85 ||
           (c >= 0xA0 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

// The input as libyaml reads it: UTF-16 when it starts with a UTF-16 byte
// order mark, UTF-8 otherwise; invalid sequences and control characters
// refused. Returned as UTF-8 without a byte order mark and with every line
// break libyaml knows ('\r', NEL, LS, PS; "\r\n" stays) written as '\n',
// since yaml-cpp does not know them all.
std::string decode(const std::string& raw) {
    std::string out;
    out.reserve(raw.size());
    auto fail_at = [&](const char* what) {
        throw YamlProblem{line_at(out, out.size()), std::string("invalid text: ") + what};
    };
    auto put = [&](std::uint32_t c) {
        if (!printable(c)) fail_at("control characters are not allowed");
        if (c == 0x85 || c == 0x2028 || c == 0x2029) {
            out += '\n';
        } else {
            append_utf8(out, c);
        }
    };
    const auto* b = reinterpret_cast<const unsigned char*>(raw.data());
    const std::size_t n = raw.size();
    if (n >= 2 && ((b[0] == 0xFF && b[1] == 0xFE) || (b[0] == 0xFE && b[1] == 0xFF))) {
        const bool le = b[0] == 0xFF;
        auto unit = [&](std::size_t i) -> std::uint32_t {
            return le ? (b[i] | (b[i + 1] << 8)) : ((b[i] << 8) | b[i + 1]);
        };
        for (std::size_t i = 2; i < n;) {
            if (i + 1 >= n) fail_at("incomplete UTF-16 character");
            std::uint32_t c = unit(i);
            i += 2;
            if (c >= 0xDC00 && c <= 0xDFFF) fail_at("unexpected low surrogate area");
            if (c >= 0xD800 && c <= 0xDBFF) {
                if (i + 1 >= n) fail_at("incomplete UTF-16 surrogate pair");
                std::uint32_t low = unit(i);
                if (low < 0xDC00 || low > 0xDFFF) fail_at("expected low surrogate area");
                i += 2;
                c = 0x10000 + ((c & 0x3FF) << 10) + (low & 0x3FF);
            }
            if (c == 0xFEFF && out.empty()) continue;
            put(c);
        }
    } else {
        std::size_t i = (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) ? 3 : 0;
        while (i < n) {
            unsigned char lead = b[i];
            std::size_t width = lead < 0x80 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3
                                              : (lead & 0xF8) == 0xF0 ? 4 : 0;
            if (width == 0) fail_at("invalid leading UTF-8 octet");
            if (i + width > n) fail_at("incomplete UTF-8 octet sequence");
            std::uint32_t c = width == 1 ? lead : width == 2 ? (lead & 0x1F) : width == 3 ? (lead & 0x0F) : (lead & 0x07);
            for (std::size_t k = 1; k < width; ++k) {
                if ((b[i + k] & 0xC0) != 0x80) fail_at("invalid trailing UTF-8 octet");
                c = (c << 6) | (b[i + k] & 0x3F);
            }
            bool shortest = width == 1 || (width == 2 && c >= 0x80) || (width == 3 && c >= 0x800) ||
                            (width == 4 && c >= 0x10000);
            if (!shortest) fail_at("invalid length of a UTF-8 sequence");
            if ((c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF) fail_at("invalid Unicode character");
            i += width;
            if (c == '\r' && !(i < n && b[i] == '\n')) {
                out += '\n';  // a lone CR ends a line for libyaml
                continue;
            }
            put(c);
        }
    }
    return out;
}

// libyaml takes a tab for a separator only where no simple key may start:
// after ':' but not after a block '-' or '?' ("-\tvalue" is an error there,
// though yaml-cpp reads it). `pos` is where the node after the indicator
// starts.
void check_tab_after(std::string_view s, long pos, char indicator) {
    if (pos < 0) return;
    std::size_t k = std::min(static_cast<std::size_t>(pos), s.size());
    while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t' || is_break(s[k - 1]))) --k;
    if (k == 0 || s[k - 1] != indicator) return;
    std::size_t at = k - 1;
    // Only an indicator that starts its line (after indentation) counts.
    std::size_t j = at;
    while (j > 0 && s[j - 1] == ' ') --j;
    if (j > 0 && !is_break(s[j - 1])) return;
    for (std::size_t f = at + 1; f < s.size() && (s[f] == ' ' || s[f] == '\t'); ++f) {
        if (s[f] == '\t') {
            throw YamlProblem{line_at(s, at),
                              std::string("YAML syntax error: a tab after '") + indicator +
                                  "' is not allowed (use spaces)"};
        }
    }
}

void check_tabs(std::string_view s, const RawNode& node) {
    for (std::size_t i = 0; i < node.items.size(); ++i) {
        const RawNode& item = *node.items[i];
        if (node.kind == YamlNode::Kind::Seq) check_tab_after(s, item.pos, '-');
        if (node.kind == YamlNode::Kind::Map && i % 2 == 0) check_tab_after(s, item.pos, '?');
        check_tabs(s, item);
    }
}

// 1-based line of the last non-blank character before `pos`.
int line_before(std::string_view s, long pos) {
    std::size_t i = pos < 0 ? 0 : std::min(static_cast<std::size_t>(pos), s.size());
    while (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t' || is_break(s[i - 1]))) --i;
    auto starts = line_starts(s);
    int line = 0;
    for (std::size_t start : starts) {
        if (start > (i == 0 ? 0 : i - 1)) break;
        ++line;
    }
    return line == 0 ? 1 : line;
}

YamlNode convert(const RawNode& raw) {
    YamlNode node;
    node.kind = raw.kind;
    node.value = raw.value;
    node.line = raw.line;
    node.items.reserve(raw.items.size());
    for (const auto& item : raw.items) node.items.push_back(convert(*item));
    return node;
}

}  // namespace

YamlNode read_yaml(const std::string& text) {
    // Everything below works on UTF-8 text without a byte order mark, with
    // libyaml's line breaks turned into '\n'.
    const std::string decoded = decode(text);
    const std::string_view body = decoded;
    check_document_markers(body);

    Collector collector(body);
    int documents = 0;
    try {
        std::istringstream in(decoded);
        YAML::Parser parser(in);
        // Two documents are already one too many. Stopping there also avoids
        // a yaml-cpp 0.7 bug: on a stray ',' HandleNextDocument() reports an
        // empty document forever without consuming anything (yaml-cpp #1040).
        while (documents < 2 && parser.HandleNextDocument(collector)) ++documents;
    } catch (const YAML::Exception& e) {
        int line = e.mark.is_null() ? 1 : e.mark.line + 1;
        throw YamlProblem{line, "YAML syntax error: " + e.msg};
    } catch (const std::exception& e) {
        throw YamlProblem{1, std::string("YAML syntax error: ") + e.what()};
    }

    // Values yaml-cpp reports as null are plain scalars to libyaml: "" or
    // the word written ("~", "null", ...). An empty value borrows the mark
    // of the next token, so a word at that mark belongs to the next node
    // when that node starts at the same place.
    std::vector<std::pair<std::size_t, std::size_t>> quoted;
    auto& order = collector.order;
    for (std::size_t i = 0; i < order.size(); ++i) {
        RawNode* n = order[i];
        if (n->quoted) {
            auto b = static_cast<std::size_t>(n->pos);
            bool closed = false;
            quoted.emplace_back(b, quoted_end(body, b, &closed));
            // yaml-cpp takes a quoted scalar without its closing quote to
            // the end of the file (swallowing the pools after it); libyaml,
            // and so nutcracker, refuses the file (found by fuzz/config).
            if (!closed) {
                throw YamlProblem{n->line, "YAML syntax error: a quoted scalar is not closed before the end of the file"};
            }
        }
        if (!n->is_null) continue;
        bool borrowed = i + 1 < order.size() && order[i + 1]->pos == n->pos;
        if (!borrowed) {
            for (std::string_view word : {"NULL", "Null", "null", "~"}) {
                if (starts_with_at(body, n->pos, word)) {
                    n->value = std::string(word);
                    break;
                }
            }
        }
        if (n->value.empty()) {
            // The value is empty: put it on the line of the ':' or '-' before it.
            n->line = line_before(body, n->pos);
        }
    }
    check_directives(body, quoted);
    for (const auto& root : collector.roots) check_tabs(body, *root);

    if (collector.problem) throw *collector.problem;
    if (documents == 0 || collector.roots.empty()) {
        throw YamlProblem{1, "the configuration is empty: it must define at least one pool"};
    }
    if (documents > 1) {
        // The usual cause is a ',' starting a line: point at the first one.
        int line = 1;
        auto starts = line_starts(body);
        for (std::size_t n = 0; n < starts.size(); ++n) {
            std::size_t i = starts[n];
            while (i < body.size() && (body[i] == ' ' || body[i] == '\t')) ++i;
            if (i < body.size() && body[i] == ',') {
                line = static_cast<int>(n) + 1;
                break;
            }
        }
        throw YamlProblem{line, "YAML syntax error: unexpected text after the document (a stray ','?)"};
    }
    return convert(*collector.roots.front());
}

}  // namespace cachemux::config_detail
