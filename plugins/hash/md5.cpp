// md5 as nutcracker computes it: the first four digest bytes read little-endian.
#include <md5.h>

#include "hash_plugin.hpp"

namespace {
std::uint32_t md5(const char* key, std::size_t len) noexcept {
    MD5_CTX ctx;
    unsigned char d[MD5_DIGEST_LENGTH];
    MD5Init(&ctx);
    MD5Update(&ctx, reinterpret_cast<const unsigned char*>(key), len);
    MD5Final(d, &ctx);
    return std::uint32_t{d[0]} | std::uint32_t{d[1]} << 8 | std::uint32_t{d[2]} << 16 |
           std::uint32_t{d[3]} << 24;
}
}  // namespace

CACHEMUX_HASH_PLUGIN("md5", md5)
