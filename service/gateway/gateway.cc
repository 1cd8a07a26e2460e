#include "service/gateway/gateway.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <deque>
#include <sys/resource.h>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "service/gateway/inbox_http.h"
#include "service/log.h"

namespace fedwall::gateway {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Bytes read at a time; a connection's read buffer holds at most the header limit plus this.
constexpr size_t kReadChunk = 64 << 10;

std::chrono::steady_clock::duration ToChrono(absl::Duration d) {
  return absl::ToChronoNanoseconds(d);
}

absl::string_view View(beast::string_view s) { return {s.data(), s.size()}; }

struct Upstream {
  std::string host;  // for the log
  std::string port;
  tcp::resolver::results_type endpoints;
};

absl::StatusOr<Upstream> ResolveUpstream(net::io_context& ioc, const std::string& url) {
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "http://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "gateway upstream \"", url, "\" must be an http:// URL (the server behind the gateway, "
        "e.g. http://127.0.0.1:3000)"));
  }
  absl::ConsumeSuffix(&rest, "/");
  if (rest.empty() || rest.find('/') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("gateway upstream \"", url, "\" must be http://host:port with no path"));
  }
  Upstream u;
  if (rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("gateway upstream \"", url, "\": bad host"));
    }
    u.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    u.port = absl::ConsumePrefix(&rest, ":") ? std::string(rest) : "80";
  } else {
    const size_t colon = rest.rfind(':');
    u.host = std::string(rest.substr(0, colon));
    u.port = colon == absl::string_view::npos ? "80" : std::string(rest.substr(colon + 1));
  }
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  u.endpoints = resolver.resolve(u.host, u.port, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("gateway upstream \"", url, "\": cannot resolve: ", ec.message()));
  }
  return u;
}

absl::StatusOr<tcp::endpoint> ParseListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("gateway listen \"", listen, "\": want host:port"));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  if (!absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("gateway listen \"", listen, "\": bad port"));
  }
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("gateway listen \"", listen, "\": not an IP address"));
  }
  return tcp::endpoint(address, static_cast<unsigned short>(port));
}

// What goes upstream: the request minus hop-by-hop headers, X-Forwarded-For appended, HTTP/1.1
// kept alive. Everything else (method, raw target, fields in order with their spelling, body)
// is the sender's.
Request Outgoing(const Request& in, const std::string& peer) {
  std::vector<absl::string_view> connection;
  for (const auto& f : in) {
    if (absl::EqualsIgnoreCase(View(f.name_string()), "connection")) connection.push_back(View(f.value()));
  }
  Request out;
  out.method_string(in.method_string());
  out.target(in.target());
  out.version(11);
  std::string forwarded_for;
  for (const auto& f : in) {
    const absl::string_view name = View(f.name_string());
    // Expect is answered by the gateway itself (100 Continue), not passed on.
    if (IsHopByHop(name, connection) || absl::EqualsIgnoreCase(name, "expect")) continue;
    if (absl::EqualsIgnoreCase(name, "x-forwarded-for")) {
      absl::StrAppend(&forwarded_for, forwarded_for.empty() ? "" : ", ", View(f.value()));
      continue;  // folded into one field, at the end
    }
    out.insert(f.name_string(), f.value());
  }
  absl::StrAppend(&forwarded_for, forwarded_for.empty() ? "" : ", ", peer);
  out.insert("X-Forwarded-For", forwarded_for);
  out.body() = in.body();
  // A chunked request arrives without Content-Length; the upstream gets the length.
  if (in.find(http::field::content_length) == in.end()) out.content_length(out.body().size());
  return out;
}

std::string Serialize(const Request& req) {
  std::string raw = absl::StrCat(View(req.method_string()), " ", View(req.target()), " HTTP/1.1\r\n");
  for (const auto& f : req) absl::StrAppend(&raw, View(f.name_string()), ": ", View(f.value()), "\r\n");
  absl::StrAppend(&raw, "\r\n", req.body());
  return raw;
}

}  // namespace

namespace {

class GatewayImpl;

// Keep-alive connections to the upstream.
class ConnectionPool {
 public:
  explicit ConnectionPool(size_t max_idle) : max_idle_(max_idle) {}
  // A connection idle for longer than this is not reused: servers close idle connections after
  // a few seconds (Node 5 s, Puma 20 s), and a request written into one that is closing would
  // fail after it may have been received (it is never sent twice).
  static constexpr auto kMaxIdle = std::chrono::seconds(2);

  std::unique_ptr<beast::tcp_stream> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    while (!idle_.empty()) {
      Idle last = std::move(idle_.back());
      idle_.pop_back();
      if (now - last.since < kMaxIdle) return std::move(last.stream);
    }
    return nullptr;
  }
  void Give(std::unique_ptr<beast::tcp_stream> s) {
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < max_idle_ && !closed_) {
      idle_.push_back({std::move(s), std::chrono::steady_clock::now()});
    }
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    idle_.clear();
  }

 private:
  struct Idle {
    std::unique_ptr<beast::tcp_stream> stream;
    std::chrono::steady_clock::time_point since;
  };
  std::mutex mu_;
  std::vector<Idle> idle_;
  const size_t max_idle_;
  bool closed_ = false;
};

// One request sent upstream and its answer read. Sent at most once: retried on a fresh
// connection only when writing it to a kept-alive one failed.
class Forward : public std::enable_shared_from_this<Forward> {
 public:
  using Done = std::function<void(absl::Status, Response)>;
  Forward(GatewayImpl* gw, size_t loop, Request req, Done done);
  void Start();

 private:
  void Connect();
  void Send();
  void OnWrite(beast::error_code ec);
  void ReadAnswer();
  void OnRead(beast::error_code ec);
  void Fail(beast::error_code ec, const char* what);

  GatewayImpl* const gw_;
  const size_t loop_;
  Request req_;
  Done done_;
  std::unique_ptr<beast::tcp_stream> stream_;
  bool reused_ = false;
  bool retried_ = false;
  bool written_ = false;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
};

class Session;

class GatewayImpl final : public InboxGateway {
 public:
  GatewayImpl(GatewayOptions options, Decider* decider)
      : options_(std::move(options)), decider_(decider) {
    // One event loop per thread, each with its own connections to the upstream: a request is
    // read, forwarded and answered on one thread, with no hand-off between threads (each
    // costs a wake-up, which is most of the latency a proxy adds on a small machine).
    const size_t n = std::max<size_t>(1, options_.threads);
    for (size_t i = 0; i < n; ++i) {
      loops_.push_back(std::make_unique<Loop>());
    }
    acceptor_.emplace(loops_[0]->ioc);
    accept_retry_.emplace(loops_[0]->ioc);
  }
  ~GatewayImpl() override { Stop(absl::ZeroDuration()); }

  absl::Status Init() {
    if (options_.reject_status != 202 && options_.reject_status != 403) {
      return absl::InvalidArgumentError("gateway reject_status must be 202 or 403");
    }
    for (const std::string& p : options_.inbox_paths) {
      if (absl::Status s = CheckInboxPattern(p); !s.ok()) return s;
    }
    absl::StatusOr<AddressSet> trusted = AddressSet::Parse(options_.trusted_proxies);
    if (!trusted.ok()) return trusted.status();
    trusted_ = *std::move(trusted);
    absl::StatusOr<Upstream> upstream = ResolveUpstream(loops_[0]->ioc, options_.upstream);
    if (!upstream.ok()) return upstream.status();
    upstream_ = *std::move(upstream);
    absl::StatusOr<tcp::endpoint> endpoint = ParseListen(options_.listen);
    if (!endpoint.ok()) return endpoint.status();
    beast::error_code ec;
    acceptor_->open(endpoint->protocol(), ec);
    if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(*endpoint, ec);
    if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("gateway: cannot listen on ", options_.listen, ": ", ec.message()));
    }
    const tcp::endpoint bound = acceptor_->local_endpoint();
    address_ = bound.address().is_v6() ? absl::StrCat("[", bound.address().to_string(), "]:", bound.port())
                                       : absl::StrCat(bound.address().to_string(), ":", bound.port());
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY &&
        options_.max_connections + 256 > files.rlim_cur) {
      service::LogWarning(absl::StrCat(
          "gateway: max_connections is ", options_.max_connections, " but this process may open ",
          files.rlim_cur, " files (ulimit -n); raise the limit (LimitNOFILE= in systemd) or "
          "lower gateway.max_connections"));
    }
    Accept();
    for (auto& loop : loops_) {
      threads_.emplace_back([l = loop.get()] { l->ioc.run(); });
    }
    return absl::OkStatus();
  }

  std::string address() const override { return address_; }
  const GatewayCounters& counters() const override { return counters_; }

  void Deliver(std::string raw, std::function<void(absl::Status)> done) override {
    if (stopping_.load()) {
      done(absl::UnavailableError("the inbox gateway is stopping"));
      return;
    }
    http::request_parser<http::string_body> parser;
    parser.eager(true);
    parser.body_limit(std::max<size_t>(options_.max_body_bytes, raw.size()));
    parser.header_limit(static_cast<std::uint32_t>(std::max<size_t>(options_.max_header_bytes, raw.size())));
    beast::error_code ec;
    parser.put(net::buffer(raw), ec);
    if (!ec && !parser.is_done()) parser.put_eof(ec);
    if (ec || !parser.is_done()) {
      done(absl::InvalidArgumentError(absl::StrCat("the held request cannot be read: ",
                                                   ec ? ec.message() : "incomplete")));
      return;
    }
    auto op = std::make_shared<Forward>(this, 0, parser.release(), [this, done](absl::Status s, Response res) {
      if (s.ok() && res.result_int() / 100 != 2) {
        s = absl::FailedPreconditionError(absl::StrCat("the server answered ", res.result_int(), " ",
                                                       View(res.reason())));
      }
      if (s.ok()) counters_.delivered_held.fetch_add(1, std::memory_order_relaxed);
      done(s);
    });
    net::post(loops_[0]->ioc, [op] { op->Start(); });
  }

  void Stop(absl::Duration drain) override {
    {
      std::lock_guard<std::mutex> lock(stop_mu_);
      if (stopped_) return;
      stopped_ = true;
    }
    stopping_.store(true);
    net::post(acceptor_->get_executor(), [this] {
      beast::error_code ec;
      acceptor_->close(ec);
      accept_retry_->cancel();
    });
    const absl::Time deadline = absl::Now() + drain;
    while (in_flight_.load() > 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
    for (auto& loop : loops_) {
      loop->pool.Close();
      loop->ioc.stop();
    }
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

  const GatewayOptions& options() const { return options_; }
  Decider* decider() const { return decider_; }
  const AddressSet& trusted() const { return trusted_; }
  const Upstream& upstream() const { return upstream_; }
  // The event loop a connection or forward runs on.
  struct Loop {
    net::io_context ioc{1};
    // Keeps run() going while the loop has nothing to do (until Stop).
    net::executor_work_guard<net::io_context::executor_type> work = net::make_work_guard(ioc);
    ConnectionPool pool{64};
  };
  Loop& loop(size_t i) { return *loops_[i]; }
  GatewayCounters& mutable_counters() { return counters_; }
  std::atomic<size_t>& in_flight() { return in_flight_; }
  std::atomic<size_t>& connections() { return connections_; }

 private:
  void Accept();

  const GatewayOptions options_;
  Decider* const decider_;
  // Declared before the loops, so that they outlive the handlers the loops destroy.
  GatewayCounters counters_;
  std::atomic<size_t> in_flight_{0};
  std::atomic<size_t> connections_{0};
  std::atomic<bool> stopping_{false};
  std::vector<std::unique_ptr<Loop>> loops_;
  std::optional<tcp::acceptor> acceptor_;  // on loops_[0]
  std::optional<net::steady_timer> accept_retry_;
  size_t next_loop_ = 0;                   // where the next connection goes
  AddressSet trusted_;
  Upstream upstream_;
  std::string address_;
  std::vector<std::thread> threads_;
  std::mutex stop_mu_;
  bool stopped_ = false;
};

Forward::Forward(GatewayImpl* gw, size_t loop, Request req, Done done)
    : gw_(gw), loop_(loop), req_(std::move(req)), done_(std::move(done)),
      buffer_(gw->options().max_header_bytes + kReadChunk) {}

void Forward::Start() {
  stream_ = gw_->loop(loop_).pool.Take();
  reused_ = stream_ != nullptr;
  if (stream_ == nullptr) {
    Connect();
  } else {
    Send();
  }
}

void Forward::Connect() {
  stream_ = std::make_unique<beast::tcp_stream>(gw_->loop(loop_).ioc.get_executor());
  stream_->expires_after(ToChrono(gw_->options().upstream_timeout));
  stream_->async_connect(gw_->upstream().endpoints,
                         [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
                           if (ec) return self->Fail(ec, "connect");
                           beast::error_code ignored;
                           self->stream_->socket().set_option(tcp::no_delay(true), ignored);
                           self->Send();
                         });
}

void Forward::Send() {
  stream_->expires_after(ToChrono(gw_->options().upstream_timeout));
  http::async_write(*stream_, req_, [self = shared_from_this()](beast::error_code ec, size_t) {
    self->OnWrite(ec);
  });
}

void Forward::OnWrite(beast::error_code ec) {
  if (ec) return Fail(ec, "send");
  written_ = true;
  buffer_.clear();
  ReadAnswer();
}

void Forward::ReadAnswer() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(gw_->options().max_header_bytes));
  parser_->body_limit(gw_->options().max_response_bytes);
  http::async_read(*stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code read_ec, size_t) {
                     self->OnRead(read_ec);
                   });
}

void Forward::OnRead(beast::error_code ec) {
  if (ec) return Fail(ec, "read the answer");
  // 100 Continue, 102, 103 Early Hints: interim answers; the final one follows.
  if (parser_->get().result_int() / 100 == 1) return ReadAnswer();
  const bool reusable = parser_->keep_alive() && !parser_->need_eof();
  Response res = parser_->release();
  if (reusable) {
    stream_->expires_never();
    gw_->loop(loop_).pool.Give(std::move(stream_));
  }
  done_(absl::OkStatus(), std::move(res));
}

void Forward::Fail(beast::error_code ec, const char* what) {
  // A kept-alive connection the upstream had closed: the request did not go out; once more,
  // on a new connection. Once written, never again (the server may have taken it).
  if (reused_ && !retried_ && !written_ && ec != beast::error::timeout) {
    retried_ = true;
    reused_ = false;
    parser_.reset();
    Connect();
    return;
  }
  stream_.reset();
  const absl::Status s = ec == beast::error::timeout
                             ? absl::DeadlineExceededError(absl::StrCat("upstream timed out (", what, ")"))
                             : absl::UnavailableError(absl::StrCat("upstream: cannot ", what, ": ", ec.message()));
  done_(s, Response{});
}

// One client connection: read a request, decide, answer (or forward and relay), repeat while
// the connection is kept alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(GatewayImpl* gw, size_t loop, tcp::socket socket)
      : gw_(gw), loop_(loop), stream_(std::move(socket)),
        buffer_(gw->options().max_header_bytes + kReadChunk) {
    beast::error_code ec;
    stream_.socket().set_option(tcp::no_delay(true), ec);  // answers go out at once
    const tcp::endpoint peer = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      net::ip::address a = peer.address();
      if (a.is_v6() && a.to_v6().is_v4_mapped()) a = net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6());
      peer_ = a.to_string();
    }
  }
  ~Session() {
    Done();
    gw_->connections().fetch_sub(1);
  }

  void Start() { Read(); }

 private:
  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(gw_->options().max_header_bytes));
    parser_->body_limit(gw_->options().max_body_bytes);
    stream_.expires_after(ToChrono(gw_->options().read_timeout));
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  // A sender that asks "Expect: 100-continue" waits for it before sending the body.
  void OnHeader(beast::error_code ec, size_t n) {
    if (ec) return OnRead(ec, n);
    const auto expect = parser_->get().find(http::field::expect);
    if (expect != parser_->get().end() && absl::EqualsIgnoreCase(View(expect->value()), "100-continue") &&
        !parser_->is_done()) {
      static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue, sizeof(kContinue) - 1),
                       [self = shared_from_this()](beast::error_code write_ec, size_t) {
                         if (write_ec) return self->Close();
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    GatewayCounters& c = gw_->mutable_counters();
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
        ec == net::error::operation_aborted) {
      return Close();
    }
    if (ec == beast::error::timeout) {  // the stream has closed the socket already
      if (parser_->got_some()) c.timeouts.fetch_add(1, std::memory_order_relaxed);
      return Close();
    }
    if (ec == http::error::body_limit) {
      c.too_large.fetch_add(1, std::memory_order_relaxed);
      return Answer(http::status::payload_too_large,
                    absl::StrCat("the body is over ", gw_->options().max_body_bytes, " bytes\n"), false);
    }
    if (ec == http::error::header_limit) {
      c.too_large.fetch_add(1, std::memory_order_relaxed);
      return Answer(http::status::request_header_fields_too_large, "headers too large\n", false);
    }
    if (ec == http::error::buffer_overflow) {  // a chunk header or trailer without end
      c.too_large.fetch_add(1, std::memory_order_relaxed);
      return Answer(http::status::request_header_fields_too_large, "framing too large\n", false);
    }
    if (ec) {
      c.bad_requests.fetch_add(1, std::memory_order_relaxed);
      return Answer(http::status::bad_request, absl::StrCat("malformed request: ", ec.message(), "\n"), false);
    }
    req_ = parser_->release();
    keep_alive_ = req_.keep_alive();
    Handle();
  }

  void Handle() {
    GatewayCounters& c = gw_->mutable_counters();
    const GatewayOptions& o = gw_->options();
    if (!IsInboxPath(View(req_.target()), o.inbox_paths)) {
      c.bad_requests.fetch_add(1, std::memory_order_relaxed);
      return Answer(http::status::not_found, "not an inbox of this gateway\n", keep_alive_);
    }
    if (req_.method() != http::verb::post) {
      c.bad_requests.fetch_add(1, std::memory_order_relaxed);
      return Answer(http::status::method_not_allowed, "inboxes take POST\n", keep_alive_, "Allow", "POST");
    }
    if (gw_->in_flight().fetch_add(1) >= o.max_in_flight) {
      gw_->in_flight().fetch_sub(1);
      c.overloaded.fetch_add(1, std::memory_order_relaxed);
      return Answer(http::status::service_unavailable, "overloaded, retry later\n", keep_alive_,
                    "Retry-After", "1");
    }
    counted_ = true;
    c.requests.fetch_add(1, std::memory_order_relaxed);

    std::vector<absl::string_view> forwarded_for, signature, signature_input;
    std::optional<absl::Time> date;
    for (const auto& f : req_) {
      const absl::string_view name = View(f.name_string());
      if (absl::EqualsIgnoreCase(name, "x-forwarded-for")) forwarded_for.push_back(View(f.value()));
      if (absl::EqualsIgnoreCase(name, "signature")) signature.push_back(View(f.value()));
      if (absl::EqualsIgnoreCase(name, "signature-input")) signature_input.push_back(View(f.value()));
      if (absl::EqualsIgnoreCase(name, "date") && !date) date = ParseHttpDate(View(f.value()));
    }
    const Signer signer = SigningDomain(signature, signature_input);
    if (signer.ambiguous) {
      // The server could verify another key than the one whose domain the rules would see.
      c.bad_requests.fetch_add(1, std::memory_order_relaxed);
      return Answer(http::status::bad_request,
                    "ambiguous HTTP signature: several key ids, or a key URL with user info\n",
                    keep_alive_);
    }
    client_ = ClientAddress(peer_, forwarded_for, gw_->trusted());
    const absl::Time now = absl::Now();

    fedwall::v1::EvaluateRequest request;
    request.set_activity_json(req_.body());
    fedwall::v1::DeliveryFacts* delivery = request.mutable_delivery();
    if (!client_.empty()) delivery->set_remote_ip(client_);
    if (!signer.domain.empty()) delivery->set_sender_domain(signer.domain);
    delivery->mutable_received_at()->set_seconds(absl::ToUnixSeconds(now));

    std::unique_ptr<HeldRequest> held;
    if (o.flag == FlagMode::kHold) {
      held = std::make_unique<HeldRequest>();
      held->raw = Serialize(Outgoing(req_, peer_));
      held->deliver_before = (date ? *date : now) + o.hold_window;
    }
    gw_->decider()->Decide(
        std::move(request), o.flag_effects, std::move(held),
        [self = shared_from_this()](Evaluation e) {
          net::post(self->stream_.get_executor(),
                    [self, e = std::move(e)]() mutable { self->OnDecided(std::move(e)); });
        });
  }

  void OnDecided(Evaluation e) {
    GatewayCounters& c = gw_->mutable_counters();
    const GatewayOptions& o = gw_->options();
    switch (e.outcome) {
      case Evaluation::Outcome::kBadActivity:
        c.bad_requests.fetch_add(1, std::memory_order_relaxed);
        return Answer(http::status::bad_request, absl::StrCat("not an activity: ", e.error, "\n"), keep_alive_);
      case Evaluation::Outcome::kUnavailable:
        if (o.fail_open) {
          c.failed_open.fetch_add(1, std::memory_order_relaxed);
          service::LogWarning(absl::StrCat("gateway: no decision (", e.error, "); forwarded (fail open)"));
          return Forward();
        }
        c.failed_closed.fetch_add(1, std::memory_order_relaxed);
        service::LogWarning(absl::StrCat("gateway: no decision (", e.error, "); refused with 503 (fail closed)"));
        return Answer(http::status::service_unavailable, "no decision could be made, retry later\n",
                      keep_alive_, "Retry-After", "30");
      case Evaluation::Outcome::kNotStored:
        c.failed_closed.fetch_add(1, std::memory_order_relaxed);
        service::LogWarning(absl::StrCat("gateway: ", e.error, "; refused with 503"));
        return Answer(http::status::service_unavailable, "cannot keep this delivery now, retry later\n",
                      keep_alive_, "Retry-After", "30");
      case Evaluation::Outcome::kDecided:
        break;
    }
    const fedwall::v1::EvaluateResponse& r = e.response;
    if (r.verdict() == fedwall::v1::VERDICT_REJECT) {
      c.rejected.fetch_add(1, std::memory_order_relaxed);
      std::vector<std::string> rules;
      for (const auto& m : r.matches()) rules.push_back(m.rule_id());
      service::LogInfo(absl::StrCat("gateway: rejected a delivery from ", client_, " to ",
                                        View(req_.target()), "; rules: ", absl::StrJoin(rules, ",")));
      return Answer(static_cast<http::status>(o.reject_status),
                    o.reject_status == 202 ? "" : "refused by this server's policy\n", keep_alive_);
    }
    if (r.verdict() == fedwall::v1::VERDICT_FLAG) {
      c.flagged.fetch_add(1, std::memory_order_relaxed);
      if (o.flag == FlagMode::kHold) {
        c.held.fetch_add(1, std::memory_order_relaxed);
        return Answer(http::status::accepted, "", keep_alive_);
      }
    }
    Forward();
  }

  void Forward() {
    gw_->mutable_counters().forwarded.fetch_add(1, std::memory_order_relaxed);
    auto op = std::make_shared<class Forward>(
        gw_, loop_, Outgoing(req_, peer_), [self = shared_from_this()](absl::Status s, Response res) {
          net::post(self->stream_.get_executor(), [self, s = std::move(s), res = std::move(res)]() mutable {
            self->OnForwarded(std::move(s), std::move(res));
          });
        });
    op->Start();
  }

  void OnForwarded(absl::Status s, Response res) {
    if (!s.ok()) {
      gw_->mutable_counters().upstream_errors.fetch_add(1, std::memory_order_relaxed);
      service::LogWarning(absl::StrCat("gateway: ", s.message()));
      return Answer(s.code() == absl::StatusCode::kDeadlineExceeded ? http::status::gateway_timeout
                                                                   : http::status::bad_gateway,
                    "the server behind the gateway did not answer\n", keep_alive_);
    }
    // Relay the answer without its hop-by-hop fields.
    std::vector<absl::string_view> connection;
    for (const auto& f : res) {
      if (absl::EqualsIgnoreCase(View(f.name_string()), "connection")) connection.push_back(View(f.value()));
    }
    auto out = std::make_shared<Response>();
    out->result(res.result_int());
    out->reason(res.reason());
    out->version(req_.version());
    for (const auto& f : res) {
      if (!IsHopByHop(View(f.name_string()), connection) &&
          !absl::EqualsIgnoreCase(View(f.name_string()), "content-length")) {
        out->insert(f.name_string(), f.value());
      }
    }
    out->body() = std::move(res.body());
    Send(std::move(out));
  }

  void Answer(http::status status, std::string body, bool keep_alive, const char* extra_name = nullptr,
              const char* extra_value = nullptr) {
    auto res = std::make_shared<Response>(status, req_.version() == 10 ? 10 : 11);
    res->set(http::field::server, "fedwall-gateway");
    res->set(http::field::date, FormatHttpDate(absl::Now()));
    if (!body.empty()) res->set(http::field::content_type, "text/plain; charset=utf-8");
    if (extra_name != nullptr) res->set(extra_name, extra_value);
    res->body() = std::move(body);
    keep_alive_ = keep_alive;
    Send(std::move(res));
  }

  void Send(std::shared_ptr<Response> res) {
    res->keep_alive(keep_alive_);
    res->prepare_payload();
    stream_.expires_after(ToChrono(gw_->options().read_timeout));
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
      self->Done();
      if (ec || !self->keep_alive_) return self->Close();
      self->Read();
    });
  }

  void Done() {
    if (counted_) {
      counted_ = false;
      gw_->in_flight().fetch_sub(1);
    }
  }

  // Closes after the answer has gone out: the send side first, then what the peer still
  // sends is read and dropped for a moment (64 KiB, 1 s at most), so that unread input does not
  // make the kernel reset the connection before the peer has read the answer (a 413, a 400).
  void Close() {
    Done();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return stream_.close();
    stream_.expires_after(std::chrono::seconds(1));
    Drain(64 << 10);
  }

  void Drain(size_t left) {
    auto sink = std::make_shared<std::array<char, 4096>>();
    stream_.async_read_some(net::buffer(*sink), [self = shared_from_this(), sink, left](
                                                    beast::error_code ec, size_t n) {
      if (ec || n >= left) return self->stream_.close();
      self->Drain(left - n);
    });
  }

  GatewayImpl* const gw_;
  const size_t loop_;  // the event loop this connection lives on
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Request req_;
  std::string peer_;
  std::string client_;
  bool keep_alive_ = false;
  bool counted_ = false;  // holds one of in_flight
};

void GatewayImpl::Accept() {
  const size_t loop = next_loop_;
  next_loop_ = (next_loop_ + 1) % loops_.size();
  acceptor_->async_accept(loops_[loop]->ioc.get_executor(), [this, loop](beast::error_code ec,
                                                                         tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_->is_open()) return;
    if (ec) {
      // Out of file descriptors (or memory): wait a little instead of spinning on accept.
      service::LogWarning(absl::StrCat("gateway: accept failed: ", ec.message()));
      accept_retry_->expires_after(std::chrono::milliseconds(100));
      accept_retry_->async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec) Accept();
      });
      return;
    }
    if (connections_.fetch_add(1) >= options_.max_connections) {
      connections_.fetch_sub(1);
      beast::error_code ignored;
      socket.close(ignored);  // over the limit: closed at once, before reading
    } else {
      auto session = std::make_shared<Session>(this, loop, std::move(socket));
      net::post(loops_[loop]->ioc, [session] { session->Start(); });  // on its own loop
    }
    Accept();
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<InboxGateway>> InboxGateway::Start(GatewayOptions options,
                                                                  Decider* decider) {
  auto gw = std::make_unique<GatewayImpl>(std::move(options), decider);
  if (absl::Status s = gw->Init(); !s.ok()) return s;
  return gw;
}

}  // namespace fedwall::gateway
