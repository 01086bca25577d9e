// PING, ECHO, QUIT, AUTH, HELLO, SELECT, RESET, CLUSTER and ROLE as the proxy
// answers them, and the helpers every proxy command shares.
#include "proxy_commands.hpp"

#include <array>
#include <charconv>

#include "command_table.hpp"
#include "decimal.hpp"
#include "redis.hpp"
#include "resp_writer.hpp"

namespace cachemux::redis {

namespace {

constexpr std::string_view kWrongPass = "WRONGPASS invalid username-password pair or user is disabled.";
constexpr std::string_view kHelloNoAuth =
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH "
    "<user> <pass> option can be used to authenticate the client and select the RESP protocol version at the "
    "same time";

// A version as numbers, for comparing "6.2.14" with "7.0.15"; missing parts are 0.
std::array<unsigned, 3> version_numbers(std::string_view v) {
    std::array<unsigned, 3> parts{};
    for (unsigned& part : parts) {
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), part);
        if (ec != std::errc()) break;
        v.remove_prefix(static_cast<std::size_t>(end - v.data()));
        if (v.empty() || v[0] != '.') break;
        v.remove_prefix(1);
    }
    return parts;
}

// How a password check ends, whoever asked (AUTH, HELLO ... AUTH).
enum class Login { Ok, WrongUser, WrongPassword, NoPasswordSet };

// The pool has one password (redis_auth) and one user, "default".
Login check_login(std::string_view user, std::string_view password, const abi::PoolSettings& pool) {
    if (user != "default") return Login::WrongUser;
    if (pool.auth.empty()) return Login::NoPasswordSet;
    return password == pool.auth ? Login::Ok : Login::WrongPassword;
}

void answer_auth(const Arguments& args, const abi::LocalContext& context, abi::MessageWriter& out) {
    if (args.size() > 3) {
        out.literal("-ERR syntax error\r\n");
        return;
    }
    // AUTH <password> is AUTH default <password>.
    std::string_view user = args.size() == 3 ? args[1] : "default";
    Session& session = session_of(context.client.state());
    switch (check_login(user, args[args.size() - 1], context.settings)) {
    case Login::Ok:
        session.authenticated = true;
        out.literal("+OK\r\n");
        return;
    case Login::WrongUser:
        session.authenticated = false;
        resp::error(out, kWrongPass);
        return;
    case Login::WrongPassword:
        // nutcracker's wording for AUTH <password>, kept for AUTH default too.
        session.authenticated = false;
        out.literal("-ERR invalid password\r\n");
        return;
    case Login::NoPasswordSet:
        out.literal("-ERR Client sent AUTH, but no password is set\r\n");
        return;
    }
}

// redis's HELLO reply in RESP2: a flat array of field names and values.
void hello_reply(const abi::LocalContext& context, abi::MessageWriter& out) {
    resp::array_header(out, 14);
    out.literal("$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n");
    resp::bulk(out, lowest_server_version(context.servers));
    out.literal("$5\r\nproto\r\n:2\r\n$2\r\nid\r\n");
    resp::integer(out, static_cast<std::int64_t>(context.client.id()));
    out.literal("$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n");
}

// HELLO [protover [AUTH user password] [SETNAME name]], checked in redis's order.
void answer_hello(const abi::RequestView& request, const abi::LocalContext& context, abi::MessageWriter& out) {
    Arguments args(request);
    if (args.size() >= 2) {
        std::int64_t version = 0;
        if (!parse_strict_int64(args[1], &version)) {
            out.literal("-ERR Protocol version is not an integer or out of range\r\n");
            return;
        }
        if (version < 2 || version > 3) {
            out.literal("-NOPROTO unsupported protocol version\r\n");
            return;
        }
        if (version == 3) {
            // Until RESP3 exists: redis's exact text for a command it does not
            // have, the one on which Jedis and Lettuce fall back to RESP2.
            out.copy(unknown_command_error(request.keys));
            return;
        }
    }
    std::size_t user = 0, name = 0;  // argument indices, 0 when absent
    for (std::size_t i = 2; i < args.size(); ++i) {
        std::size_t more = args.size() - 1 - i;
        if (args.is(i, "auth") && more >= 2) {
            user = i + 1;
            i += 2;
        } else if (args.is(i, "setname") && more >= 1) {
            name = i + 1;
            if (!valid_client_attribute(args[name])) {
                out.literal("-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
                return;
            }
            i += 1;
        } else {
            resp::error(out, "ERR Syntax error in HELLO option '" + std::string(args[i]) + "'");
            return;
        }
    }
    Session& session = session_of(context.client.state());
    if (user != 0) {
        switch (check_login(args[user], args[user + 1], context.settings)) {
        case Login::Ok:
            session.authenticated = true;
            break;
        case Login::NoPasswordSet:
            break;  // as redis's default user without a password: any password will do
        case Login::WrongUser:
        case Login::WrongPassword:
            resp::error(out, kWrongPass);
            return;
        }
    }
    if (!context.settings.auth.empty() && !session.authenticated) {
        resp::error(out, kHelloNoAuth);
        return;
    }
    if (name != 0) {
        context.client.set_name(args[name]);
    }
    hello_reply(context, out);
}

// The proxy presents every pool as database 0 (nutcracker's README says
// so); the pool's redis_db is what its server connections select.
void answer_select(const Arguments& args, abi::MessageWriter& out) {
    std::int64_t index = 0;
    if (!parse_strict_int64(args[1], &index)) {
        out.literal("-ERR value is not an integer or out of range\r\n");
    } else if (index != 0) {
        out.literal("-ERR DB index is out of range\r\n");
    } else {
        out.literal("+OK\r\n");
    }
}

}  // namespace

bool Arguments::is(std::size_t i, std::string_view lower) const { return equals_ignoring_case((*this)[i], lower); }

void answer_proxy_command(const abi::RequestView& request, const abi::LocalContext& context,
                          abi::MessageWriter& out) {
    Arguments args(request);
    switch (request.info.command) {
    case cmd::ping:
        if (args.size() > 2) {
            arity_error(out, "ping");
        } else if (args.size() == 2) {
            resp::bulk_key(out, request, 1);
        } else {
            out.literal("+PONG\r\n");
        }
        return;
    case cmd::echo:
        resp::bulk_key(out, request, 1);
        return;
    case cmd::quit:
        out.literal("+OK\r\n");  // the core closes the connection once it is written
        return;
    case cmd::auth:
        answer_auth(args, context, out);
        return;
    case cmd::hello:
        answer_hello(request, context, out);
        return;
    case cmd::select:
        answer_select(args, out);
        return;
    case cmd::reset:
        // What RESET undoes that the proxy keeps: the name and the login.
        context.client.set_name({});
        session_of(context.client.state()).authenticated = false;
        out.literal("+RESET\r\n");
        return;
    case cmd::cluster:
        out.literal("-ERR This instance has cluster support disabled\r\n");
        return;
    case cmd::role:
        // A master without replicas, as INFO replication says: clients that
        // discover a topology (Lettuce's MasterReplica) see one node, the proxy.
        out.literal("*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n");
        return;
    case cmd::client:
        answer_client(request, context, out);
        return;
    case cmd::info:
        answer_info(request, context, out);
        return;
    default:
        out.copy(unknown_command_error(request.keys));
        return;
    }
}

std::string_view lowest_server_version(std::span<const abi::ServerFacts> servers) {
    std::string_view lowest;
    for (const abi::ServerFacts& server : servers) {
        if (!server.version.empty() &&
            (lowest.empty() || version_numbers(server.version) < version_numbers(lowest))) {
            lowest = server.version;
        }
    }
    return lowest.empty() ? kFallbackVersion : lowest;
}

bool valid_client_attribute(std::string_view text) {
    for (char ch : text) {
        if (ch < '!' || ch > '~') return false;
    }
    return true;
}

std::string unknown_command_error(std::span<const abi::KeyRef> args) {
    // redis quotes up to 128 bytes of the name and of the arguments.
    std::string name = args.empty() ? std::string() : std::string(args[0].view().substr(0, 128));
    std::string quoted;
    for (std::size_t i = 1; i < args.size() && quoted.size() < 128; ++i) {
        quoted += "'" + std::string(args[i].view().substr(0, 128 - quoted.size())) + "' ";
    }
    std::string text = "-ERR unknown command '" + name + "', with args beginning with: " + quoted;
    for (char& ch : text) {
        if (ch == '\r' || ch == '\n') ch = ' ';
    }
    return text + "\r\n";
}

void arity_error(abi::MessageWriter& out, std::string_view name) {
    out.literal("-ERR wrong number of arguments for '");
    out.copy(name);
    out.literal("' command\r\n");
}

}  // namespace cachemux::redis
