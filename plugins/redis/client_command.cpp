// CLIENT SETNAME, GETNAME, SETINFO, ID, INFO, NO-EVICT and NO-TOUCH, kept per
// client connection by the proxy. Other subcommands (LIST, KILL, PAUSE,
// TRACKING, ...) act on a server's own clients, which are the proxy's
// connections, not the client's: they get redis's unknown-subcommand error.
#include <ctime>
#include <string>

#include "proxy_commands.hpp"
#include "resp_writer.hpp"

namespace cachemux::redis {

namespace {

// CLIENT INFO's line in redis 7.0's layout. The fields a proxy has no
// counterpart for (buffers, memory) are 0; db is always 0 (SELECT).
std::string client_info_line(const abi::LocalContext& context) {
    abi::ClientSession& client = context.client;
    std::int64_t age = std::time(nullptr) - client.connected_at();
    std::string line = "id=" + std::to_string(client.id());
    line += " addr=" + std::string(client.peer_address());
    line += " laddr=" + std::string(client.local_address());
    line += " fd=" + std::to_string(client.fd());
    line += " name=" + std::string(client.name());
    line += " age=" + std::to_string(age < 0 ? 0 : age);
    line += " idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0"
            " rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=client|info user=default redir=-1 resp=2\n";
    return line;
}

// ON or OFF, for NO-EVICT and NO-TOUCH: nothing to change on a proxy.
void on_off(const Arguments& args, abi::MessageWriter& out) {
    if (args.is(2, "on") || args.is(2, "off")) {
        out.literal("+OK\r\n");
    } else {
        out.literal("-ERR syntax error\r\n");
    }
}

void set_info(const Arguments& args, abi::MessageWriter& out) {
    if (!args.is(2, "lib-name") && !args.is(2, "lib-ver")) {
        resp::error(out, "ERR Unrecognized option '" + std::string(args[2]) + "'");
    } else if (!valid_client_attribute(args[3])) {
        resp::error(out, "ERR " + std::string(args[2]) + " cannot contain spaces, newlines or special characters.");
    } else {
        out.literal("+OK\r\n");  // accepted and not kept: no reply of the proxy's shows it
    }
}

}  // namespace

void answer_client(const abi::RequestView& request, const abi::LocalContext& context, abi::MessageWriter& out) {
    Arguments args(request);
    struct Subcommand {
        std::string_view name;   // lower case
        std::size_t arity;       // arguments, CLIENT and the subcommand included
        std::string_view full;   // as redis names it in an arity error
    };
    static constexpr Subcommand kSubcommands[] = {
        {"setname", 3, "client|setname"}, {"getname", 2, "client|getname"},   {"setinfo", 4, "client|setinfo"},
        {"id", 2, "client|id"},           {"info", 2, "client|info"},         {"no-evict", 3, "client|no-evict"},
        {"no-touch", 3, "client|no-touch"},
    };
    const Subcommand* sub = nullptr;
    for (const Subcommand& s : kSubcommands) {
        if (args.is(1, s.name)) sub = &s;
    }
    if (sub == nullptr) {
        resp::error(out, "ERR unknown subcommand '" + std::string(args[1].substr(0, 128)) + "'. Try CLIENT HELP.");
        return;
    }
    if (args.size() != sub->arity) {
        arity_error(out, sub->full);
        return;
    }
    abi::ClientSession& client = context.client;
    if (sub->name == "setname") {
        if (!valid_client_attribute(args[2])) {
            out.literal("-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
            return;
        }
        client.set_name(args[2]);  // "" clears it, as in redis
        out.literal("+OK\r\n");
    } else if (sub->name == "getname") {
        if (client.name().empty()) {
            resp::null_bulk(out);
        } else {
            resp::bulk(out, client.name());
        }
    } else if (sub->name == "setinfo") {
        set_info(args, out);
    } else if (sub->name == "id") {
        resp::integer(out, static_cast<std::int64_t>(client.id()));
    } else if (sub->name == "info") {
        resp::bulk(out, client_info_line(context));
    } else {
        on_off(args, out);
    }
}

}  // namespace cachemux::redis
