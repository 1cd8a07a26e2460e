// `fedwall bench --server HOST:PORT --mode unary|batch|stream`: loads a running PolicyService
// (fedwalld, or the empty-handler baseline fedwall-empty-server) with a corpus and reports
// throughput and latency percentiles (docs/cli.md, docs/performance.md).
//
// How a run goes:
//   1. Every request is built before the clock starts: activities from --corpus (one activity
//      or {"activity", "delivery", "actor"} per line, as `fedwall replay` reads) or from the
//      corpus generator; unary and stream send them one by one, batch packs them into
//      --batch-size batches. The requests cycle through the prepared set.
//   2. One probe Evaluate per channel (dry run, 5 s deadline): an unreachable server is one
//      clear error before any load.
//   3. Load: --concurrency workers, each keeping one call (unary, batch) or --window messages
//      of one stream in flight, on the gRPC callback API. Workers share nothing while they
//      run: each has its counts and its latency histogram, merged at the end. A call issued
//      during --warmup is not counted; after --duration no new call is issued and the run
//      waits for the outstanding ones (each call has a deadline, so a stuck server cannot hang
//      the run).
//   4. Throughput = decisions received for counted calls / (time from the end of the warmup
//      until the last counted answer).
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "fedwall/v1/policy_service.grpc.pb.h"
#include "fedwall/v1/policy_service.pb.h"
#include "tools/bench_stats.h"
#include "tools/commands.h"
#include "tools/corpus_line.h"
#include "tools/corpus/corpus.h"
#include "tools/files.h"
#include "tools/human_output.h"
#include "tools/json_writer.h"
#include "tools/progress.h"

namespace fedwall::tools {
namespace {

using Clock = std::chrono::steady_clock;
using fedwall::v1::EvaluateBatchRequest;
using fedwall::v1::EvaluateBatchResponse;
using fedwall::v1::EvaluateRequest;
using fedwall::v1::EvaluateResponse;
using fedwall::v1::PolicyService;

// Limits on the options (the flags' ranges say the same; RunBench checks again for callers
// that are not main.cc).
constexpr uint32_t kMaxConcurrency = 1024;  // each worker holds a 38 KiB histogram
constexpr uint32_t kMaxChannels = 256;
constexpr uint32_t kMaxBatchSize = 10000;  // fedwalld refuses more than 1024 by default
constexpr uint32_t kMaxWindow = 4096;
constexpr uint64_t kMaxCount = 1'000'000;
constexpr size_t kMaxPreparedBytes = size_t{512} << 20;  // activity bytes held in memory
constexpr absl::Duration kMaxDuration = absl::Hours(1);
// Channels used when --channels is not given. On the 2-core reference machine (client and
// server on the same cores) 2, 4 or 8 HTTP/2 connections were no faster than one in any mode,
// and unary calls had a higher p99 on several.
constexpr uint32_t kDefaultChannels = 1;
// Time allowed for the probe call (connection set-up included) and for every counted call;
// streams get it on top of the run's length.
constexpr auto kConnectTimeout = std::chrono::seconds(5);
constexpr auto kCallTimeout = std::chrono::seconds(10);
// Responses can carry evidence for many rules: accept large ones (the server's own limit on
// what it receives is 16 MiB).
constexpr int kMaxReceiveBytes = 64 << 20;

enum class Mode { kUnary, kBatch, kStream };

uint64_t Nanos(Clock::duration d) {
  return static_cast<uint64_t>(
      std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()));
}

// gRPC deadlines are on the system clock.
std::chrono::system_clock::time_point Deadline(Clock::duration from_now) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(from_now);
}

std::string CodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// Counts until zero; the run's end.
class Latch {
 public:
  explicit Latch(size_t count) : remaining_(count) {}
  void CountDown() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--remaining_ == 0) cv_.notify_all();
  }
  // True once the count reached zero; false when `timeout` passed first.
  bool WaitFor(Clock::duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return remaining_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t remaining_;
};

// What every worker reads during the run (set before the first call, then constant), and
// the two things they all write to.
struct Run {
  Clock::time_point measure_from;             // calls issued before this are warmup
  Clock::time_point stop_at;                  // no call is issued from this time on
  std::vector<EvaluateRequest> requests;      // unary, stream
  std::vector<EvaluateBatchRequest> batches;  // batch
  uint32_t window = 64;
  std::atomic<uint64_t> answered{0};  // for the progress bar only
  std::unique_ptr<Latch> done;        // one count per worker
};

// Counts one response: a verdict, or an item error.
void CountResponse(const EvaluateResponse& response, BenchCounts* counts) {
  if (response.has_error()) {
    ++counts->item_errors;
    return;
  }
  switch (response.verdict()) {
    case fedwall::v1::VERDICT_ACCEPT:
      ++counts->verdicts[0];
      break;
    case fedwall::v1::VERDICT_FLAG:
      ++counts->verdicts[1];
      break;
    case fedwall::v1::VERDICT_REJECT:
      ++counts->verdicts[2];
      break;
    default:  // no verdict and no error: not a decision
      ++counts->item_errors;
      return;
  }
  ++counts->activities;
}

// A load worker: Start() once; it reports to run->done when it has stopped.
class Worker {
 public:
  virtual ~Worker() = default;
  virtual void Start() = 0;
  const BenchCounts& counts() const { return counts_; }

 protected:
  BenchCounts counts_;
};

// One Evaluate (or EvaluateBatch) call in flight at a time; the next one is issued from the
// previous one's callback. Calls of one worker never overlap, so its state needs no lock.
template <bool kBatch>
class CallWorker : public Worker {
 public:
  using Request = std::conditional_t<kBatch, EvaluateBatchRequest, EvaluateRequest>;
  using Response = std::conditional_t<kBatch, EvaluateBatchResponse, EvaluateResponse>;

  CallWorker(Run* run, PolicyService::Stub* stub, size_t first) : run_(run), stub_(stub) {
    next_ = first % Requests().size();
  }

  void Start() override { Issue(); }

 private:
  const std::vector<Request>& Requests() const {
    if constexpr (kBatch) {
      return run_->batches;
    } else {
      return run_->requests;
    }
  }

  void Issue() {
    const Clock::time_point now = Clock::now();
    if (now >= run_->stop_at) {
      run_->done->CountDown();  // the last thing this worker does
      return;
    }
    const std::vector<Request>& requests = Requests();
    request_ = &requests[next_];
    next_ = next_ + 1 == requests.size() ? 0 : next_ + 1;
    context_ = std::make_unique<grpc::ClientContext>();
    context_->set_deadline(Deadline(kCallTimeout));
    response_.Clear();
    sent_ = now;
    auto callback = [this](grpc::Status status) { OnDone(status); };
    if constexpr (kBatch) {
      stub_->async()->EvaluateBatch(context_.get(), request_, &response_, std::move(callback));
    } else {
      stub_->async()->Evaluate(context_.get(), request_, &response_, std::move(callback));
    }
  }

  void OnDone(const grpc::Status& status) {
    const Clock::time_point now = Clock::now();
    if (sent_ >= run_->measure_from) {
      ++counts_.requests;
      if (!status.ok()) {
        counts_.Fail(status.error_code(), status.error_message());
      } else {
        counts_.latency.Record(Nanos(now - sent_));
        if constexpr (kBatch) {
          for (const EvaluateResponse& r : response_.responses()) CountResponse(r, &counts_);
          const int asked = request_->requests_size();
          if (response_.responses_size() < asked) {
            counts_.item_errors += static_cast<uint64_t>(asked - response_.responses_size());
          }
        } else {
          CountResponse(response_, &counts_);
        }
      }
    }
    run_->answered.fetch_add(1, std::memory_order_relaxed);
    Issue();
  }

  Run* run_;
  PolicyService::Stub* stub_;
  size_t next_ = 0;
  const Request* request_ = nullptr;
  std::unique_ptr<grpc::ClientContext> context_;
  Response response_;
  Clock::time_point sent_;
};

// One bidirectional stream keeping up to run->window requests unanswered, one write at a
// time, one read always posted. Responses are matched to their send time by request_id (the
// stream's sequence number). Reactions may run concurrently: the state is under mu_, and
// the Start* calls are made after releasing it.
class StreamWorker : public Worker,
                     public grpc::ClientBidiReactor<EvaluateRequest, EvaluateResponse> {
 public:
  StreamWorker(Run* run, PolicyService::Stub* stub, size_t first) : run_(run), stub_(stub) {
    next_ = first % run_->requests.size();
  }

  void Start() override {
    context_.set_deadline(Deadline(run_->stop_at - Clock::now() + kCallTimeout));
    stub_->async()->EvaluateStream(&context_, this);
    StartRead(&response_);
    Action action;
    {
      std::lock_guard<std::mutex> lock(mu_);
      action = PumpLocked(Clock::now());
    }
    Do(action);
    StartCall();
  }

  void OnWriteDone(bool ok) override {
    Action action = kNothing;
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
      if (!ok) {
        broken_ = true;  // the read fails too, then OnDone has the status
        return;
      }
      action = PumpLocked(Clock::now());
    }
    Do(action);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream is ending; OnDone follows
    const Clock::time_point now = Clock::now();
    Action action = kNothing;
    {
      std::lock_guard<std::mutex> lock(mu_);
      uint64_t id = 0;
      auto it = absl::SimpleAtoi(response_.request_id(), &id) ? pending_.find(id) : pending_.end();
      if (it == pending_.end()) {
        ++counts_.item_errors;  // an answer to nothing we asked
      } else {
        if (it->second >= run_->measure_from) {
          counts_.latency.Record(Nanos(now - it->second));
          CountResponse(response_, &counts_);
        }
        pending_.erase(it);
      }
      action = PumpLocked(now);
    }
    run_->answered.fetch_add(1, std::memory_order_relaxed);
    StartRead(&response_);
    Do(action);
  }

  void OnDone(const grpc::Status& status) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!status.ok()) counts_.Fail(status.error_code(), status.error_message());
    }
    run_->done->CountDown();  // the last thing this worker does
  }

 private:
  enum Action { kNothing, kWrite, kWritesDone };

  // Decides the next write: another request while the run lasts and the window has room,
  // the end of the writes once it is over and every answer is in.
  Action PumpLocked(Clock::time_point now) {
    if (broken_ || writing_ || writes_done_) return kNothing;
    if (now < run_->stop_at) {
      if (pending_.size() >= run_->window) return kNothing;
      const uint64_t id = ++sequence_;
      request_.CopyFrom(run_->requests[next_]);
      next_ = next_ + 1 == run_->requests.size() ? 0 : next_ + 1;
      request_.set_request_id(absl::StrCat(id));
      pending_.emplace(id, now);
      if (now >= run_->measure_from) ++counts_.requests;
      writing_ = true;
      return kWrite;
    }
    if (!pending_.empty()) return kNothing;
    writes_done_ = true;
    return kWritesDone;
  }

  // request_ is not touched until OnWriteDone (writing_ guards it).
  void Do(Action action) {
    if (action == kWrite) StartWrite(&request_);
    if (action == kWritesDone) StartWritesDone();
  }

  Run* run_;
  PolicyService::Stub* stub_;
  grpc::ClientContext context_;
  EvaluateResponse response_;  // the posted read's target
  EvaluateRequest request_;    // the write in flight

  std::mutex mu_;
  size_t next_ = 0;
  uint64_t sequence_ = 0;
  absl::flat_hash_map<uint64_t, Clock::time_point> pending_;  // request id -> sent at
  bool writing_ = false;
  bool writes_done_ = false;
  bool broken_ = false;
};

// ----- Preparing the requests ---------------------------------------------------------------

// Fills `request` from one corpus line: an activity, or a wrapper object with an "activity"
// object and optional "delivery" and "actor" facts in proto3 JSON (and no "type"), as
// `fedwall replay` reads. A line that is not valid JSON is sent as it is (the server's answer
// to it is part of the benchmark). Returns an error message for a malformed wrapper, or "".
std::string FillRequest(std::string_view line, simdjson::ondemand::parser& json,
                        EvaluateRequest* request) {
  simdjson::padded_string padded;
  CorpusLine split;
  std::string error = SplitCorpusLine(line, json, padded, &split);
  request->set_activity_json(std::string(split.activity_json));
  if (!error.empty() || split.facts_json.empty()) return error;
  EvaluateRequest facts;
  google::protobuf::util::JsonParseOptions parse_options;
  parse_options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(split.facts_json.data(), split.facts_json.size()), &facts,
      parse_options);
  if (!status.ok()) {
    return absl::StrCat("facts: not proto3 JSON of DeliveryFacts/ActorFacts: ",
                        status.message().as_string());
  }
  if (facts.has_delivery()) *request->mutable_delivery() = facts.delivery();
  if (facts.has_actor()) *request->mutable_actor() = facts.actor();
  return "";
}

// Reads the first `count` non-blank lines of a corpus. Errors (printed) return false.
bool ReadCorpus(const BenchOptions& options, std::vector<EvaluateRequest>* requests,
                std::ostream& err) {
  std::FILE* file =
      options.corpus_path == "-" ? stdin : std::fopen(options.corpus_path.c_str(), "rb");
  if (file == nullptr) {
    err << "fedwall bench: " << options.corpus_path << ": " << std::strerror(errno) << "\n";
    return false;
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(
      file, file == stdin ? +[](std::FILE*) { return 0; } : &std::fclose);
  LineReader reader(file, options.max_line_bytes);
  simdjson::ondemand::parser json;
  size_t bytes = 0;
  std::string_view line;
  while (requests->size() < options.count) {
    LineReader::Result r = reader.Next(&line);
    if (r == LineReader::Result::kEnd) break;
    if (r == LineReader::Result::kError) {
      err << "fedwall bench: " << options.corpus_path << ": read error: " << reader.error() << "\n";
      return false;
    }
    if (r == LineReader::Result::kTooLong) {
      err << "fedwall bench: " << options.corpus_path << ":" << reader.line_number()
          << ": longer than " << options.max_line_bytes << " bytes\n";
      return false;
    }
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    EvaluateRequest request;
    std::string problem = FillRequest(line, json, &request);
    if (!problem.empty()) {
      err << "fedwall bench: " << options.corpus_path << ":" << reader.line_number() << ": "
          << problem << "\n";
      return false;
    }
    bytes += request.activity_json().size();
    if (bytes > kMaxPreparedBytes) {
      err << "fedwall bench: " << options.corpus_path << ": the first " << requests->size() + 1
          << " activities hold more than " << (kMaxPreparedBytes >> 20)
          << " MiB; take fewer with --count\n";
      return false;
    }
    requests->push_back(std::move(request));
  }
  if (requests->empty()) {
    err << "fedwall bench: " << options.corpus_path << ": no activities in it\n";
    return false;
  }
  return true;
}

// Parses a --duration/--warmup value ("10s", "500ms", "1m"); false (printed) when invalid.
bool ParseFlagDuration(std::string_view flag, const std::string& text, bool allow_zero,
                       absl::Duration* out, std::ostream& err) {
  if (!absl::ParseDuration(text, out) || *out < absl::ZeroDuration() ||
      (!allow_zero && *out == absl::ZeroDuration()) || *out > kMaxDuration) {
    err << "fedwall bench: " << flag << ": expected a duration " << (allow_zero ? "" : "above 0 ")
        << "up to 1h such as 10s, 500ms or 2m, got \"" << Printable(text) << "\"\n";
    return false;
  }
  return true;
}

template <typename T>
bool InRange(std::string_view flag, T value, T low, T high, std::ostream& err) {
  if (value >= low && value <= high) return true;
  err << "fedwall bench: " << flag << ": " << value << " is outside " << low << ".." << high
      << "\n";
  return false;
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& server) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  // A channel of its own per connection: without this, channels to the same address share
  // one subchannel (one TCP connection) and --channels would change nothing.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), args);
}

// One Evaluate (dry run) on the channel. "" when the server answered (whatever the answer:
// even INVALID_ARGUMENT shows a PolicyService is there); else the error line.
std::string Probe(PolicyService::Stub* stub, const EvaluateRequest& sample,
                  const std::string& server) {
  EvaluateRequest probe = sample;
  probe.set_request_id("fedwall-bench-probe");
  probe.set_dry_run(true);
  EvaluateResponse response;
  grpc::ClientContext context;
  context.set_deadline(Deadline(kConnectTimeout));
  grpc::Status status = stub->Evaluate(&context, probe, &response);
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::StrCat("cannot reach ", server, ": ", CodeName(status.error_code()), ": ",
                          status.error_message());
    case grpc::StatusCode::UNIMPLEMENTED:
      return absl::StrCat(server,
                          " does not serve fedwall.v1.PolicyService: ", status.error_message());
    default:
      return "";
  }
}

double Share(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

double Millis(uint64_t nanos) { return static_cast<double>(nanos) / 1e6; }

}  // namespace

int RunBench(const BenchOptions& options, std::ostream& out, std::ostream& err) {
  // ----- Options ----------------------------------------------------------------------------
  Mode mode;
  if (options.mode == "unary") {
    mode = Mode::kUnary;
  } else if (options.mode == "batch") {
    mode = Mode::kBatch;
  } else if (options.mode == "stream") {
    mode = Mode::kStream;
  } else {
    err << "fedwall bench: --mode: expected unary, batch or stream, got \""
        << Printable(options.mode) << "\"\n";
    return 2;
  }
  if (options.server.empty()) {
    err << "fedwall bench: --server HOST:PORT is required (or set FEDWALL_SERVER)\n";
    return 2;
  }
  absl::Duration duration, warmup;
  if (!ParseFlagDuration("--duration", options.duration, false, &duration, err) ||
      !ParseFlagDuration("--warmup", options.warmup, true, &warmup, err) ||
      !InRange<uint64_t>("--concurrency", options.concurrency, 1, kMaxConcurrency, err) ||
      !InRange<uint64_t>("--channels", options.channels, 0, kMaxChannels, err) ||
      !InRange<uint64_t>("--batch-size", options.batch_size, 1, kMaxBatchSize, err) ||
      !InRange<uint64_t>("--window", options.window, 1, kMaxWindow, err) ||
      !InRange<uint64_t>("--count", options.count, 1, kMaxCount, err)) {
    return 2;
  }
  const uint32_t channels =
      std::min(options.channels == 0 ? kDefaultChannels : options.channels, options.concurrency);
  const uint32_t batch_size = mode == Mode::kBatch ? options.batch_size : 1;

  // ----- Requests ---------------------------------------------------------------------------
  Run run;
  run.window = options.window;
  std::string source;
  if (!options.corpus_path.empty()) {
    if (!ReadCorpus(options, &run.requests, err)) return 1;
    source = absl::StrCat(run.requests.size(), " activities from ", options.corpus_path);
  } else {
    corpus::CorpusOptions corpus_options;
    corpus_options.seed = options.seed;
    corpus_options.creates_only = options.creates_only;
    corpus::CorpusGenerator generator(corpus_options);
    run.requests.resize(options.count);
    size_t bytes = 0;
    for (uint64_t i = 0; i < options.count; ++i) {
      run.requests[i].set_activity_json(generator.Generate(i).json);
      bytes += run.requests[i].activity_json().size();
      if (bytes > kMaxPreparedBytes) {
        err << "fedwall bench: " << i + 1 << " generated activities hold more than "
            << (kMaxPreparedBytes >> 20) << " MiB; take fewer with --count\n";
        return 1;
      }
    }
    source = absl::StrCat(options.count, " generated ",
                          options.creates_only ? "Create activities" : "activities", " (seed ",
                          options.seed, ")");
  }
  size_t activity_bytes = 0;
  for (size_t i = 0; i < run.requests.size(); ++i) {
    run.requests[i].set_request_id(absl::StrCat("bench-", i));
    run.requests[i].set_dry_run(!options.store_flags);
    activity_bytes += run.requests[i].activity_json().size();
  }
  const EvaluateRequest sample = run.requests.front();
  if (mode == Mode::kBatch) {
    // Enough full batches to send every activity once, wrapping around at the end. Item j
    // is request j % n: moved the first time, then copied from the batch it went to.
    const size_t n = run.requests.size();
    const size_t batches = (n + batch_size - 1) / batch_size;
    run.batches.resize(batches);
    for (size_t j = 0; j < batches * batch_size; ++j) {
      EvaluateRequest* item = run.batches[j / batch_size].add_requests();
      if (j < n) {
        *item = std::move(run.requests[j]);
      } else {
        const size_t first = j % n;
        *item = run.batches[first / batch_size].requests(static_cast<int>(first % batch_size));
      }
    }
    run.requests.clear();
    run.requests.shrink_to_fit();
  }

  // ----- Connections ------------------------------------------------------------------------
  std::vector<std::shared_ptr<grpc::Channel>> channel_list;
  std::vector<std::unique_ptr<PolicyService::Stub>> stubs;
  for (uint32_t i = 0; i < channels; ++i) {
    channel_list.push_back(MakeChannel(options.server));
    stubs.push_back(PolicyService::NewStub(channel_list.back()));
    std::string problem = Probe(stubs.back().get(), sample, options.server);
    if (!problem.empty()) {
      err << "fedwall bench: " << problem << "\n";
      return 1;
    }
  }

  // ----- Load -------------------------------------------------------------------------------
  const size_t prepared = mode == Mode::kBatch ? run.batches.size() : run.requests.size();
  std::vector<std::unique_ptr<Worker>> workers;
  for (uint32_t i = 0; i < options.concurrency; ++i) {
    PolicyService::Stub* stub = stubs[i % channels].get();
    // Workers start spread over the prepared requests, so they do not all send the same ones.
    const size_t first = static_cast<size_t>(uint64_t{i} * prepared / options.concurrency);
    switch (mode) {
      case Mode::kUnary:
        workers.push_back(std::make_unique<CallWorker<false>>(&run, stub, first));
        break;
      case Mode::kBatch:
        workers.push_back(std::make_unique<CallWorker<true>>(&run, stub, first));
        break;
      case Mode::kStream:
        workers.push_back(std::make_unique<StreamWorker>(&run, stub, first));
        break;
    }
  }
  run.done = std::make_unique<Latch>(workers.size());
  const Clock::time_point start = Clock::now();
  run.measure_from = start + absl::ToChronoNanoseconds(warmup);
  run.stop_at = run.measure_from + absl::ToChronoNanoseconds(duration);
  const uint64_t total_ms = static_cast<uint64_t>(absl::ToInt64Milliseconds(warmup + duration));
  ProgressBar progress(err, options.output.progress,
                       absl::StrCat("bench ", options.mode, " ", options.server), total_ms,
                       mode == Mode::kStream ? "responses" : "calls");
  for (auto& worker : workers) worker->Start();
  while (!run.done->WaitFor(std::chrono::milliseconds(100))) {
    const auto elapsed_ms = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
    // ProgressBar reads the clock only every 64th update (it expects one update per item);
    // this loop wakes ten times a second, so each wake-up counts as that many.
    for (int i = 0; i < 64; ++i) {
      progress.Update(std::min(elapsed_ms, total_ms), run.answered.load(std::memory_order_relaxed));
    }
  }
  const Clock::time_point finished = Clock::now();
  progress.Finish();

  BenchCounts total;
  for (const auto& worker : workers) total.Merge(worker->counts());
  workers.clear();
  // Until the last counted answer (before stop_at when every worker stopped early, e.g. the
  // server went away).
  const double seconds =
      std::max(0.0, std::chrono::duration<double>(finished - run.measure_from).count());
  const double per_second = seconds > 0 ? static_cast<double>(total.activities) / seconds : 0;

  if (total.errors > 0 && total.activities == 0 && total.item_errors == 0) {
    err << "fedwall bench: every call failed (" << total.errors
        << "); the first: " << CodeName(total.first_error_code) << ": " << total.first_error_message
        << "\n";
    return 1;
  }

  const LatencyHistogram& h = total.latency;
  constexpr const char* kVerdictNames[] = {"ACCEPT", "FLAG", "REJECT"};
  if (options.json) {
    JsonWriter w(options.output.pretty);
    w.BeginObject();
    w.Key("mode");
    w.String(options.mode);
    w.Key("server");
    w.String(options.server);
    w.Key("concurrency");
    w.Number(options.concurrency);
    w.Key("channels");
    w.Number(channels);
    w.Key("window");
    w.Number(mode == Mode::kStream ? options.window : 1);
    w.Key("batch_size");
    w.Number(batch_size);
    w.Key("duration_seconds");
    w.Number(seconds);
    w.Key("requests");
    w.Number(static_cast<double>(total.requests));
    w.Key("activities");
    w.Number(static_cast<double>(total.activities));
    w.Key("errors");
    w.Number(static_cast<double>(total.errors));
    w.Key("item_errors");
    w.Number(static_cast<double>(total.item_errors));
    w.Key("activities_per_second");
    w.Number(per_second);
    w.Key("latency_ms");
    w.BeginObject();
    w.Key("p50");
    w.Number(Millis(h.Percentile(0.5)));
    w.Key("p90");
    w.Number(Millis(h.Percentile(0.9)));
    w.Key("p99");
    w.Number(Millis(h.Percentile(0.99)));
    w.Key("p999");
    w.Number(Millis(h.Percentile(0.999)));
    w.Key("max");
    w.Number(Millis(h.max()));
    w.EndObject();
    w.Key("verdicts");
    w.BeginObject();
    for (size_t i = 0; i < 3; ++i) {
      w.Key(kVerdictNames[i]);
      w.Number(static_cast<double>(total.verdicts[i]));
    }
    w.EndObject();
    w.EndObject();
    out << w.str() << "\n";
    return 0;
  }

  const bool color = options.output.color;
  const char* unit = mode == Mode::kStream ? "message" : "call";
  out << "fedwall bench: " << options.mode << " against " << options.server << "\n";
  out << "  " << options.concurrency << (mode == Mode::kStream ? " streams" : " calls in flight");
  if (mode == Mode::kStream) out << " of up to " << options.window << " requests each";
  if (mode == Mode::kBatch) out << " of " << batch_size << " activities each";
  out << ", on " << CountNoun(channels, "connection", "connections") << "\n";
  out << "  " << source << ", "
      << absl::StrFormat("%.1f", static_cast<double>(activity_bytes) / 1e6) << " MB; "
      << (options.store_flags ? "flags stored" : "dry run") << "\n";
  out << "  measured " << absl::StrFormat("%.2f", seconds) << " s"
      << (warmup > absl::ZeroDuration()
              ? absl::StrCat(" after a ", absl::FormatDuration(warmup), " warmup")
              : std::string(", no warmup"))
      << "\n\n";

  out << absl::StrFormat("%-12s %s", mode == Mode::kStream ? "messages" : "calls",
                         absl::StrCat(total.requests, " sent, ", total.errors, " failed",
                                      mode == Mode::kStream ? " streams" : ""))
      << "\n";
  out << absl::StrFormat("%-12s %d decided, %d item errors", "activities", total.activities,
                         total.item_errors)
      << "\n";
  out << absl::StrFormat("%-12s ", "throughput")
      << Paint(color, kBold, absl::StrFormat("%.0f activities/s", per_second));
  if (mode == Mode::kBatch && seconds > 0) {
    out << absl::StrFormat(" (%.0f calls/s)", static_cast<double>(total.requests) / seconds);
  }
  out << "\n";
  out << absl::StrFormat("%-12s p50 %s   p90 %s   p99 %s   p99.9 %s   max %s  (per %s)", "latency",
                         FormatNanos(h.Percentile(0.5)), FormatNanos(h.Percentile(0.9)),
                         FormatNanos(h.Percentile(0.99)), FormatNanos(h.Percentile(0.999)),
                         FormatNanos(h.max()), unit)
      << "\n";
  out << absl::StrFormat("%-12s", "verdicts");
  for (size_t i = 0; i < 3; ++i) {
    out << " " << Paint(color, VerdictColor(static_cast<Verdict>(i + 1)), kVerdictNames[i])
        << absl::StrFormat(" %d (%.1f%%)", total.verdicts[i],
                           Share(total.verdicts[i], total.activities));
  }
  out << "\n";
  if (total.errors > 0) {
    out << "\nfirst error: " << CodeName(total.first_error_code) << ": "
        << total.first_error_message << "\n";
  }
  return 0;
}

}  // namespace fedwall::tools
