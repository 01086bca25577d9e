#include "reloader.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <thread>

#include "stats_reader.hpp"

namespace harness {

using namespace std::chrono_literals;

namespace {

long long ms(Clock::duration d) { return std::chrono::duration_cast<Millis>(d).count(); }

}  // namespace

Reloader::Reloader(Proxy& proxy) : proxy_(proxy) {
    std::string m = metrics(proxy_.stats_port());
    auto ok = metric(m, "cachemux_config_reloads_total");
    auto failed = metric(m, "cachemux_config_reload_failures_total");
    auto gen = metric(m, "cachemux_config_generation");
    REQUIRE_MESSAGE(ok.has_value(), "no cachemux_config_reloads_total in /metrics:\n" << escape(m, 3000));
    REQUIRE_MESSAGE(failed.has_value(), "no cachemux_config_reload_failures_total in /metrics");
    REQUIRE_MESSAGE(gen.has_value(), "no cachemux_config_generation in /metrics");
    ok_ = static_cast<long long>(*ok);
    failed_ = static_cast<long long>(*failed);
    CHECK(ok_ == 0);
    CHECK(failed_ == 0);
    CHECK(*gen == 1);
}

std::string Reloader::reload(const std::vector<PoolSpec>& pools) {
    write_file(proxy_.config_path(), pools_yaml(pools));
    const auto sent = Clock::now();
    last_signal_ = sent;
    proxy_.process().signal(SIGUSR1);
    const auto deadline = sent + 5000ms * kSlackFactor;
    std::string m;
    while (Clock::now() < deadline) {
        m = metrics(proxy_.stats_port());
        auto ok = metric(m, "cachemux_config_reloads_total");
        auto failed = metric(m, "cachemux_config_reload_failures_total");
        if (failed && static_cast<long long>(*failed) > failed_) {
            failed_ = static_cast<long long>(*failed);
            return "the reload failed (cachemux_config_reload_failures_total " + std::to_string(failed_) +
                   "); log:\n" + tail(proxy_.output(), 3000);
        }
        if (ok && static_cast<long long>(*ok) > ok_) {
            const long long was = ok_;
            ok_ = static_cast<long long>(*ok);
            const long long took = ms(Clock::now() - sent);
            max_ms_ = std::max(max_ms_, took);
            all_ms_.push_back(took);
            if (ok_ != was + 1)
                return "reloads_total jumped from " + std::to_string(was) + " to " + std::to_string(ok_);
            return "";
        }
        if (!proxy_.process().running()) return "the proxy exited: " + proxy_.process().describe();
        std::this_thread::sleep_for(5ms);
    }
    return "no reload counted within " + std::to_string(ms(deadline - sent)) + " ms; /metrics:\n" + escape(m, 1500) +
           "\nlog:\n" + tail(proxy_.output(), 3000);
}

std::string Reloader::slowest(std::size_t n) const {
    auto v = all_ms_;
    std::sort(v.rbegin(), v.rend());
    std::string out;
    for (std::size_t i = 0; i < std::min(n, v.size()); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
    return out;
}

}  // namespace harness
