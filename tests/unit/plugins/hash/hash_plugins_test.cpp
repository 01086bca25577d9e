// The hash plugins against values observed from nutcracker 0.5.0 itself
// (see nutcracker_hash_vectors.hpp for how they were obtained).
#include <doctest/doctest.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "../plugin_loader.hpp"
#include "nutcracker_hash_vectors.hpp"

using cachemux::test::LoadedPlugin;

namespace {

constexpr std::array<std::string_view, 12> kHashNames = {
    "one_at_a_time", "md5",     "crc16",    "crc32",   "crc32a", "fnv1_64",
    "fnv1a_64",      "fnv1_32", "fnv1a_32", "hsieh",   "murmur", "jenkins"};

}  // namespace

TEST_CASE("every hash plugin exports exactly its one hash function") {
    for (auto name : kHashNames) {
        CAPTURE(name);
        LoadedPlugin p(name);
        const auto& d = p.descriptor();
        CHECK(d.abi_version == cachemux::abi::kAbiVersion);
        REQUIRE(d.hashes.size() == 1);
        CHECK(d.hashes[0].name == name);
        CHECK(static_cast<bool>(d.hashes[0].hash));
        CHECK(d.distributions.empty());
        CHECK(d.protocols.empty());
    }
}

TEST_CASE("hash values equal nutcracker's") {
    for (auto name : kHashNames) {
        CAPTURE(name);
        LoadedPlugin p(name);
        const auto fn = p.hash(name);
        int n = 0;
        for (const auto& v : kNutcrackerHashes) {
            if (v.hash != name) continue;
            ++n;
            CAPTURE(std::string(v.key, v.len));
            CHECK(fn(v.key, v.len) == v.value);
        }
        CHECK(n >= 60);
    }
}

TEST_CASE("well-known values") {
    // Published reference values for the standard algorithms.
    LoadedPlugin crc32a("crc32a"), md5("md5"), fnv1a_32("fnv1a_32"), fnv1_32("fnv1_32"), oaat("one_at_a_time");
    CHECK(crc32a.hash("crc32a")("123456789", 9) == 0xcbf43926u);
    CHECK(md5.hash("md5")("", 0) == 0xd98c1dd4u);  // d41d8cd9... read little-endian
    CHECK(fnv1a_32.hash("fnv1a_32")("a", 1) == 0xe40c292cu);
    CHECK(fnv1_32.hash("fnv1_32")("a", 1) == 0x050c5d7eu);
    CHECK(oaat.hash("one_at_a_time")("a", 1) == 0xca2e9442u);
    LoadedPlugin crc16("crc16"), crc32("crc32");
    // nutcracker 0.5.0's crc16 is CRC-16/XMODEM without the 16-bit truncation:
    // equal to XMODEM on keys of up to 2 bytes (XMODEM("a") = 0x7c87).
    CHECK(crc16.hash("crc16")("a", 1) == 0x7c87u);
    CHECK(crc32.hash("crc32")("123456789", 9) == ((0xcbf43926u >> 16) & 0x7fffu));
}

TEST_CASE("results do not depend on the key's alignment") {
    const std::string key = "an unaligned key \xe9\xff that is long enough";
    for (auto name : kHashNames) {
        CAPTURE(name);
        LoadedPlugin p(name);
        const auto fn = p.hash(name);
        for (std::size_t len = 0; len <= key.size(); ++len) {
            const std::uint32_t want = fn(key.data(), len);
            for (std::size_t off = 1; off < 8; ++off) {
                std::vector<char> buf(off + len + 1);
                std::memcpy(buf.data() + off, key.data(), len);
                CHECK(fn(buf.data() + off, len) == want);
            }
        }
    }
}

TEST_CASE("empty keys do not crash") {
    // nutcracker never hashes an empty key (server_pool_hash returns 0 for
    // it); the functions still have to be safe on one.
    for (auto name : kHashNames) {
        LoadedPlugin p(name);
        (void)p.hash(name)("", 0);
    }
    LoadedPlugin hsieh("hsieh"), oaat("one_at_a_time");
    CHECK(hsieh.hash("hsieh")("", 0) == 0u);
    CHECK(oaat.hash("one_at_a_time")("", 0) == 0u);
}
