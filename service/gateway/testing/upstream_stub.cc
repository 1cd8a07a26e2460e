#include "service/gateway/testing/upstream_stub.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace fedwall::gateway_testing {

UpstreamStub::UpstreamStub(int status, bool interim) : status_(status), interim_(interim) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 64) != 0) {
    std::abort();
  }
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  accept_thread_ = std::thread([this] {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard<std::mutex> lock(mu_);
      fds_.push_back(fd);
      workers_.emplace_back([this, fd] { Serve(fd); });
    }
  });
}

UpstreamStub::~UpstreamStub() {
  stop_ = true;
  accept_thread_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : fds_) shutdown(fd, SHUT_RDWR);
  }
  for (std::thread& t : workers_) t.join();
  for (int fd : fds_) close(fd);
  close(listen_fd_);
}

std::string UpstreamStub::url() const { return absl::StrCat("http://127.0.0.1:", port_); }

std::vector<UpstreamStub::Received> UpstreamStub::received() const {
  std::lock_guard<std::mutex> lock(mu_);
  return received_;
}

bool UpstreamStub::WaitFor(size_t n, double seconds) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (received_.size() >= n) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

void UpstreamStub::Serve(int fd) {
  std::string buf;
  char chunk[65536];
  while (!stop_) {
    size_t end = buf.find("\r\n\r\n");
    while (end == std::string::npos) {
      const ssize_t n = read(fd, chunk, sizeof chunk);
      if (n <= 0) return;
      buf.append(chunk, static_cast<size_t>(n));
      end = buf.find("\r\n\r\n");
    }
    Received r;
    r.head = buf.substr(0, end + 2);
    size_t length = 0;
    // HTTP/1.0, or Connection: close: answer, then close (nginx waits for that).
    bool close_after = absl::StrContains(r.head.substr(0, r.head.find("\r\n")), "HTTP/1.0");
    for (absl::string_view line : absl::StrSplit(r.head, "\r\n")) {
      if (absl::StartsWithIgnoreCase(line, "content-length:")) {
        (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(15)), &length);
      }
      if (absl::StartsWithIgnoreCase(line, "connection:") &&
          absl::StrContains(absl::AsciiStrToLower(line), "close")) {
        close_after = true;
      }
    }
    buf.erase(0, end + 4);
    while (buf.size() < length) {
      const ssize_t n = read(fd, chunk, sizeof chunk);
      if (n <= 0) return;
      buf.append(chunk, static_cast<size_t>(n));
    }
    r.body = buf.substr(0, length);
    buf.erase(0, length);
    {
      std::lock_guard<std::mutex> lock(mu_);
      received_.push_back(std::move(r));
    }
    const std::string body = "upstream says hi";
    const std::string answer = absl::StrCat(interim_ ? "HTTP/1.1 100 Continue\r\n\r\n" : "",
                                            "HTTP/1.1 ", status_, " Whatever\r\nX-Upstream: yes\r\n",
                                            close_after ? "Connection: close\r\n" : "",
                                            "Content-Length: ", body.size(), "\r\n\r\n", body);
    if (write(fd, answer.data(), answer.size()) != static_cast<ssize_t>(answer.size())) return;
    if (close_after) {
      shutdown(fd, SHUT_RDWR);
      return;
    }
  }
}

std::string RawExchange(const std::string& host, int port, const std::string& raw,
                        double timeout_seconds, bool half_close) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  size_t sent = 0;
  while (sent < raw.size()) {
    const ssize_t n = send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  if (half_close) shutdown(fd, SHUT_WR);
  std::string out;
  char chunk[65536];
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) break;
    out.append(chunk, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

int StatusOf(const std::string& response) {
  int status = 0;
  if (response.size() < 12 || !absl::StartsWith(response, "HTTP/1.")) return 0;
  (void)absl::SimpleAtoi(response.substr(9, 3), &status);
  return status;
}

}  // namespace fedwall::gateway_testing
