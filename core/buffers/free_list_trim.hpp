// How many objects a free-list pool (mbufs, requests) keeps when it trims:
// the most in use since the last trim, plus a quarter of that (at least
// `min_spares`), so that steady traffic never frees what it takes again
// and a burst's surplus goes back.
#pragma once

#include <algorithm>
#include <cstddef>

namespace cachemux {

inline std::size_t trim_target(std::size_t peak_in_use, std::size_t min_spares) {
    return peak_in_use + std::max(min_spares, peak_in_use / 4);
}

}  // namespace cachemux
