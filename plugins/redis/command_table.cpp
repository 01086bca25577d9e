#include "command_table.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cachemux::redis {
namespace {

// The index: open addressing with linear probing over 512 one-byte slots
// (load about a quarter, so nearly every lookup is one probe and one compare),
// built at compile time from the lower-case names.
constexpr std::size_t kSlots = 512;
constexpr std::uint8_t kEmpty = 0xff;
static_assert(command_count < kEmpty, "ids must fit a slot byte");
static_assert((kSlots & (kSlots - 1)) == 0);

constexpr char lower(char ch) {
    return (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch + ('a' - 'A')) : ch;
}

// FNV-1a, 32 bits, over bytes already lower-cased.
constexpr std::uint32_t hash_lower(std::string_view s) {
    std::uint32_t h = 2166136261u;
    for (char ch : s) {
        h ^= static_cast<unsigned char>(ch);
        h *= 16777619u;
    }
    return h;
}

struct Index {
    std::array<std::uint8_t, kSlots> slot{};
    std::size_t longest_probe = 0;
};

constexpr Index build_index() {
    Index ix;
    for (auto& s : ix.slot) s = kEmpty;
    for (const Command& c : command_table) {
        std::size_t i = hash_lower(c.name) & (kSlots - 1);
        std::size_t probes = 1;
        while (ix.slot[i] != kEmpty) {
            i = (i + 1) & (kSlots - 1);
            ++probes;
        }
        ix.slot[i] = static_cast<std::uint8_t>(c.id);
        if (probes > ix.longest_probe) ix.longest_probe = probes;
    }
    return ix;
}

constexpr Index kIndex = build_index();
static_assert(kIndex.longest_probe <= 4, "pick another hash or table size");

constexpr bool table_is_sane() {
    for (std::size_t i = 0; i < command_table.size(); ++i) {
        const Command& c = command_table[i];
        if (c.id != i || c.name.empty() || c.name.size() > max_command_name) return false;
        for (char ch : c.name) {
            if (ch < 'a' || ch > 'z') return false;
        }
        if (i > 0 && !(command_table[i - 1].name < c.name)) return false;  // sorted, unique
        if (c.arity == 0) return false;
        // Only commands whose every key can be found are split.
        if (c.merge != Merge::None && c.keys != KeyRule::All && c.keys != KeyRule::Pairs)
            return false;
        // Every command sent to a server has a copy rule (the core refuses an
        // Unclassified one in a pool with copies); one the proxy answers has none.
        if ((c.keys == KeyRule::Proxy) != (c.copies == abi::CopyRule::Unclassified)) return false;
    }
    return true;
}
static_assert(table_is_sane());

}  // namespace

const Command* find_command(std::string_view name) {
    const std::size_t n = name.size();
    if (n == 0 || n > max_command_name) return nullptr;
    char buf[max_command_name];
    std::uint32_t h = 2166136261u;
    for (std::size_t i = 0; i < n; ++i) {
        const char ch = lower(name[i]);
        buf[i] = ch;
        h ^= static_cast<unsigned char>(ch);
        h *= 16777619u;
    }
    const std::string_view lowered(buf, n);
    for (std::size_t i = h & (kSlots - 1);; i = (i + 1) & (kSlots - 1)) {
        const std::uint8_t id = kIndex.slot[i];
        if (id == kEmpty) return nullptr;
        const Command& c = command_table[id];
        if (c.name == lowered) return &c;
    }
}

}  // namespace cachemux::redis
