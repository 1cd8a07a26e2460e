// UpstreamStub: a stand-in for the server behind the inbox gateway, for tests. It records every
// request exactly as the bytes arrived (request line, header lines, body) and answers each with
// a fixed status. Kept-alive connections are served until the peer closes.
//
// Example:
//   UpstreamStub upstream(202);
//   ... gateway with options.upstream = upstream.url() ...
//   std::vector<UpstreamStub::Received> got = upstream.received();
#ifndef FEDWALL_SERVICE_GATEWAY_TESTING_UPSTREAM_STUB_H_
#define FEDWALL_SERVICE_GATEWAY_TESTING_UPSTREAM_STUB_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fedwall::gateway_testing {

class UpstreamStub {
 public:
  struct Received {
    std::string head;  // request line and header lines, each ending in \r\n, without the blank line
    std::string body;
  };
  // `interim`: each answer is preceded by "HTTP/1.1 100 Continue" (as Puma and Go send when a
  // request asks for it).
  explicit UpstreamStub(int status = 202, bool interim = false);
  ~UpstreamStub();

  std::string url() const;  // http://127.0.0.1:PORT
  int port() const { return port_; }
  std::vector<Received> received() const;
  // Waits up to `seconds` for at least `n` requests.
  bool WaitFor(size_t n, double seconds) const;

 private:
  void Serve(int fd);
  int listen_fd_ = -1;
  int port_ = 0;
  int status_;
  bool interim_;
  std::atomic<bool> stop_{false};
  std::thread accept_thread_;
  mutable std::mutex mu_;
  std::vector<Received> received_;
  std::vector<std::thread> workers_;
  std::vector<int> fds_;
};

// Sends `raw` to host:port over a new connection and returns everything read until the peer
// closes or `timeout_seconds` pass ("" when the connection fails).
std::string RawExchange(const std::string& host, int port, const std::string& raw,
                        double timeout_seconds = 5, bool half_close = true);

// The status code of a raw HTTP response ("HTTP/1.1 202 Accepted..." -> 202), or 0.
int StatusOf(const std::string& response);

}  // namespace fedwall::gateway_testing

#endif  // FEDWALL_SERVICE_GATEWAY_TESTING_UPSTREAM_STUB_H_
