// fedwall-empty-server: the "empty handler" baseline of docs/performance.md. It serves
// fedwall.v1.PolicyService with the same gRPC callback API and the same transport settings as
// fedwalld (16 MiB messages, 1000 calls per connection), but decides nothing: every request
// is answered at once with its request_id and VERDICT_ACCEPT (a batch with one such response
// per request; a stream with one per message read). `fedwall bench` against it measures the
// transport's ceiling on this machine, which fedwalld's numbers are compared with.
//
//   fedwall-empty-server [--listen 127.0.0.1:0]
//   -> prints "listening on 127.0.0.1:PORT" once it accepts calls; SIGTERM or SIGINT stops
//      it cleanly (exit 0).
//
// Threads: gRPC's own. The stream reactor's state is under a mutex because its read and write
// reactions may run concurrently.
#include <grpcpp/grpcpp.h>
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>

#include "fedwall/v1/policy_service.grpc.pb.h"
#include "fedwall/v1/policy_service.pb.h"

namespace {

using fedwall::v1::EvaluateBatchRequest;
using fedwall::v1::EvaluateBatchResponse;
using fedwall::v1::EvaluateRequest;
using fedwall::v1::EvaluateResponse;

// fedwalld's default transport limit on one received message.
constexpr int kMaxReceiveMessageBytes = 16 << 20;
// Calls one connection may have open at once, as fedwalld allows.
constexpr int kMaxConcurrentStreams = 1000;
// Responses of one stream queued for writing before the server stops reading from it: the
// client's unread answers cannot grow the server's memory without bound.
constexpr size_t kMaxQueuedResponses = 1024;
// SIGTERM: calls still running after this are cancelled.
constexpr auto kDrainTimeout = std::chrono::seconds(2);

void Answer(const EvaluateRequest& request, EvaluateResponse* response) {
  response->set_request_id(request.request_id());
  response->set_verdict(fedwall::v1::VERDICT_ACCEPT);
}

// EvaluateStream: one response per request read, written one at a time in read order.
// Reactions decide under mu_ what to start next; the Start* and Finish calls are made after
// releasing it (Finish leads to OnDone, which deletes the reactor).
class EchoReactor : public grpc::ServerBidiReactor<EvaluateRequest, EvaluateResponse> {
 public:
  EchoReactor() { StartRead(&request_); }

  void OnReadDone(bool ok) override {
    Next next;
    {
      std::lock_guard<std::mutex> lock(mu_);
      reading_ = false;
      if (!ok || write_failed_) {  // the client is done writing, or gone
        reads_done_ = true;
      } else {
        queue_.emplace_back();
        Answer(request_, &queue_.back());
        if (!writing_) {  // then the queue held nothing: this is the front
          writing_ = true;
          next.write = &queue_.front();
        }
        if (queue_.size() < kMaxQueuedResponses) {
          reading_ = true;
          next.read = true;
        }
      }
      next.finish = ShouldFinishLocked();
      next.cancelled = write_failed_;
    }
    Apply(next);
  }

  void OnWriteDone(bool ok) override {
    Next next;
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.pop_front();
      writing_ = false;
      if (!ok) {  // the stream is broken: stop answering; the read in flight fails too
        write_failed_ = true;
        queue_.clear();
      } else {
        if (!queue_.empty()) {
          writing_ = true;
          next.write = &queue_.front();
        }
        if (!reading_ && !reads_done_ && queue_.size() < kMaxQueuedResponses) {
          reading_ = true;
          next.read = true;
        }
      }
      next.finish = ShouldFinishLocked();
      next.cancelled = write_failed_;
    }
    Apply(next);
  }

  void OnDone() override { delete this; }

 private:
  struct Next {
    // Stable until OnWriteDone pops it: deque::emplace_back does not move elements.
    const EvaluateResponse* write = nullptr;
    bool read = false;
    bool finish = false;
    bool cancelled = false;  // finish with CANCELLED (a write failed), else OK
  };

  // True once, when nothing is left to read or write.
  bool ShouldFinishLocked() {
    if (finished_ || writing_ || reading_ || !(reads_done_ || write_failed_)) return false;
    finished_ = true;
    return true;
  }

  void Apply(const Next& next) {
    if (next.write != nullptr) StartWrite(next.write);
    if (next.read) StartRead(&request_);
    if (next.finish) Finish(next.cancelled ? grpc::Status::CANCELLED : grpc::Status::OK);
  }

  std::mutex mu_;
  EvaluateRequest request_;             // target of the read in flight
  std::deque<EvaluateResponse> queue_;  // front: the write in flight
  bool reading_ = true;
  bool writing_ = false;
  bool reads_done_ = false;
  bool write_failed_ = false;
  bool finished_ = false;
};

class EmptyPolicyService final : public fedwall::v1::PolicyService::CallbackService {
 public:
  // The generated synchronous overloads stay visible (they are never called here), so the
  // callback ones below do not hide them (-Woverloaded-virtual).
  using fedwall::v1::PolicyService::CallbackService::Evaluate;
  using fedwall::v1::PolicyService::CallbackService::EvaluateBatch;
  using fedwall::v1::PolicyService::CallbackService::EvaluateStream;

  grpc::ServerUnaryReactor* Evaluate(grpc::CallbackServerContext* context,
                                     const EvaluateRequest* request,
                                     EvaluateResponse* response) override {
    Answer(*request, response);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* EvaluateBatch(grpc::CallbackServerContext* context,
                                          const EvaluateBatchRequest* request,
                                          EvaluateBatchResponse* response) override {
    response->mutable_responses()->Reserve(request->requests_size());
    for (const EvaluateRequest& r : request->requests()) Answer(r, response->add_responses());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerBidiReactor<EvaluateRequest, EvaluateResponse>* EvaluateStream(
      grpc::CallbackServerContext* /*context*/) override {
    return new EchoReactor();
  }
};

// "HOST:PORT" with the port the server got (the listen address may say port 0).
std::string Address(const std::string& listen, int port) {
  const size_t colon = listen.rfind(':');
  const std::string host = colon == std::string::npos ? listen : listen.substr(0, colon);
  return host + ":" + std::to_string(port);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "fedwall-empty-server: PolicyService answering every call at once with ACCEPT (the "
      "empty-handler baseline for `fedwall bench`)",
      "fedwall-empty-server"};
  std::string listen = "127.0.0.1:0";
  app.add_option("--listen", listen, "HOST:PORT to listen on; port 0 picks a free port")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  // Block the stop signals in every thread (gRPC's threads inherit the mask); the main thread
  // waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  EmptyPolicyService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "fedwall-empty-server: cannot listen on " << listen << "\n";
    return 1;
  }
  std::cout << "listening on " << Address(listen, port) << std::endl;

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  server->Shutdown(std::chrono::system_clock::now() + kDrainTimeout);
  server->Wait();
  return 0;
}
