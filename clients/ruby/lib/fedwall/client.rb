# frozen_string_literal: true

begin
  require "grpc"
  require "fedwall/v1/policy_service_services_pb"
rescue LoadError => e
  raise LoadError, "fedwall: #{e.message}. The client needs the grpc gem (Debian: ruby-grpc) " \
                   "and the generated stubs fedwall/v1/*_pb.rb on $LOAD_PATH (the packaged gem " \
                   "has them in lib/; from a checkout run `rake generate` or `bin/generate DIR`)"
end
require "fedwall/request"
require "fedwall/result"

module Fedwall
  # A client of fedwalld's PolicyService. One instance is meant to be shared by every thread
  # of a process (Sidekiq, Puma): the underlying gRPC stub is thread-safe, and one HTTP/2
  # connection carries all calls.
  #
  # It never raises for a failure of fedwall itself (down, slow, overloaded, refusing an
  # item): the Result is failed? and its verdict is the fail mode, :accept for :open and
  # :reject for :closed. It raises ArgumentError for mistakes in the caller's code (a wrong
  # option or fact).
  class Client
    FAIL_MODES = %i[open closed].freeze
    VERDICTS = { VERDICT_ACCEPT: :accept, VERDICT_FLAG: :flag, VERDICT_REJECT: :reject }.freeze
    EFFECTS = {
      EFFECT_STRIP_MEDIA: :strip_media, EFFECT_MARK_SENSITIVE: :mark_sensitive,
      EFFECT_UNLIST: :unlist, EFFECT_FOLLOWERS_ONLY: :followers_only
    }.freeze
    CODE_NAMES = GRPC::Core::StatusCodes.constants.to_h do |c|
      [GRPC::Core::StatusCodes.const_get(c), c.to_s]
    end.freeze

    attr_reader :address, :deadline, :fail_mode

    # address:        "host:port" of fedwalld's gRPC port.
    # deadline:       seconds allowed for one call (and for one batch call).
    # fail_mode:      :open (accept when fedwall cannot decide) or :closed (reject).
    # credentials:    nil for plaintext (a private address), or GRPC::Core::ChannelCredentials
    #                 for TLS.
    # max_batch_items: evaluate_batch sends at most this many per call (the server's
    #                 max_batch_items, 1024 by default).
    # logger:         optional Logger; failures are logged at warn level.
    def initialize(address:, deadline: 0.25, fail_mode: :open, credentials: nil,
                   max_batch_items: 1024, logger: nil, channel_args: {})
      raise ArgumentError, "address must be a non-empty String" unless address.is_a?(String) && !address.empty?
      raise ArgumentError, "deadline must be a positive number of seconds" unless deadline.is_a?(Numeric) && deadline.positive?
      raise ArgumentError, "fail_mode must be :open or :closed" unless FAIL_MODES.include?(fail_mode)
      unless credentials.nil? || credentials.is_a?(GRPC::Core::ChannelCredentials)
        raise ArgumentError, "credentials must be nil or GRPC::Core::ChannelCredentials"
      end
      raise ArgumentError, "max_batch_items must be >= 1" unless max_batch_items.is_a?(Integer) && max_batch_items >= 1

      @address = address
      @deadline = deadline
      @fail_mode = fail_mode
      @credentials = credentials || :this_channel_is_insecure
      @max_batch_items = max_batch_items
      @logger = logger
      @channel_args = channel_args
      @lock = Mutex.new
      @stub = nil
      @pid = nil
    end

    # Decides on one activity (a JSON String exactly as received, or a parsed Hash).
    # delivery: / actor: facts as Hashes with the snake_case keys of DeliveryFacts / ActorFacts;
    # a nil value means unknown. Returns a Fedwall::Result.
    def evaluate(activity, delivery: nil, actor: nil, dry_run: false, request_id: nil, deadline: nil)
      request = begin
        Request.build(activity, delivery: delivery, actor: actor, dry_run: dry_run, request_id: request_id)
      rescue Request::BadActivity => e
        return failure("INVALID_ARGUMENT", e.message, request_id)
      end
      response = call { |stub| stub.evaluate(request, deadline: deadline_at(deadline)) }
      return failure(*response, request_id) if response.is_a?(Array)

      result_of(response)
    end

    # Decides on many activities, returning one Result per item in the same order. An item is
    # an activity (String or Hash with string keys), or a Hash with the symbol keys
    # :activity, :delivery, :actor, :dry_run, :request_id. A bad item fails alone; a failure
    # of the whole call fails every item of it.
    def evaluate_batch(items, deadline: nil)
      raise ArgumentError, "items must be an Array" unless items.is_a?(Array)

      items.each_slice(@max_batch_items).flat_map { |slice| batch_call(slice, deadline) }
    end

    # Closes the connection; a later call opens a new one.
    def close
      @lock.synchronize do
        @channel&.close
        @stub = nil
      end
    end

    private

    def batch_call(items, deadline)
      results = Array.new(items.size)
      requests = []
      positions = []
      items.each_with_index do |item, i|
        args = item.is_a?(Hash) && item.key?(:activity) ? item : { activity: item }
        unknown = args.keys - %i[activity delivery actor dry_run request_id]
        raise ArgumentError, "unknown batch item keys #{unknown.inspect}" unless unknown.empty?

        begin
          requests << Request.build(args[:activity], delivery: args[:delivery], actor: args[:actor],
                                                     dry_run: args[:dry_run], request_id: args[:request_id])
          positions << i
        rescue Request::BadActivity => e
          results[i] = failure("INVALID_ARGUMENT", e.message, args[:request_id])
        end
      end
      return results if requests.empty?

      batch = V1::EvaluateBatchRequest.new(requests: requests)
      response = call { |stub| stub.evaluate_batch(batch, deadline: deadline_at(deadline)) }
      if !response.is_a?(Array) && response.responses.size != requests.size
        response = ["INTERNAL", "batch answered #{response.responses.size} of #{requests.size} items"]
      end
      positions.each_with_index do |pos, k|
        results[pos] = if response.is_a?(Array)
                         failure(*response, requests[k].request_id)
                       else
                         result_of(response.responses[k])
                       end
      end
      results
    end

    def deadline_at(deadline)
      Time.now + (deadline || @deadline)
    end

    # Runs one RPC; returns its response, or [code, message] when fedwall could not answer.
    def call
      yield stub
    rescue GRPC::BadStatus => e
      [CODE_NAMES.fetch(e.code, e.code.to_s), e.details.to_s]
    rescue StandardError => e
      # The gRPC core raises other errors too (e.g. a channel closed under us); none of them
      # may reach the caller as an exception.
      ["UNAVAILABLE", "#{e.class}: #{e.message}"]
    end

    # The stub is made on first use, and again in a forked child: a gRPC channel must not
    # cross a fork (Puma and Sidekiq swarm fork after loading the app).
    def stub
      pid = Process.pid
      return @stub if @stub && @pid == pid

      @lock.synchronize do
        return @stub if @stub && @pid == pid

        @channel = GRPC::Core::Channel.new(@address, @channel_args, @credentials)
        @stub = V1::PolicyService::Stub.new(@address, @credentials, channel_override: @channel)
        @pid = pid
        @stub
      end
    end

    def result_of(response)
      if response.error
        return failure(response.error.code, response.error.message, response.request_id)
      end

      verdict = VERDICTS[response.verdict]
      return failure("UNKNOWN", "unexpected verdict #{response.verdict.inspect}", response.request_id) unless verdict

      Result.new(
        verdict: verdict,
        effects: response.effects.filter_map { |e| EFFECTS[e] },
        score: response.score,
        matches: response.matches.map { |m| match_of(m) },
        policy_version: response.policy_version,
        flag_id: response.flag_id.empty? ? nil : response.flag_id,
        request_id: response.request_id.empty? ? nil : response.request_id
      )
    end

    def match_of(m)
      Match.new(
        rule_id: m.rule_id, reason: m.reason, score: m.score, monitor: m.monitor,
        evidence: m.evidence.map { |e| Evidence.new(field: e.field, text: e.text, start: e.start, end: e.end) }.freeze
      )
    end

    def failure(code, message, request_id)
      @logger&.warn("fedwall: #{code}: #{message} (failing #{@fail_mode})")
      Result.failure(@fail_mode, code, message, request_id: request_id.nil? || request_id == "" ? nil : request_id.to_s)
    end
  end
end
