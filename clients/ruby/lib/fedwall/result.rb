# frozen_string_literal: true

module Fedwall
  # Why an activity could not be decided: a gRPC code name (UNAVAILABLE, DEADLINE_EXCEEDED,
  # INVALID_ARGUMENT, ...) and a human-readable message.
  ItemError = Struct.new(:code, :message, keyword_init: true) do
    def to_s
      "#{code}: #{message}"
    end
  end

  # What made a rule's condition true: a field and the matched span (byte offsets).
  Evidence = Struct.new(:field, :text, :start, :end, keyword_init: true)

  # One rule that fired (or a synthetic match such as blocklist:suspend).
  Match = Struct.new(:rule_id, :reason, :score, :monitor, :evidence, keyword_init: true) do
    def monitor?
      monitor
    end
  end

  # The decision on one activity. Plain Ruby values only, so callers never touch protobuf
  # objects. When fedwall could not decide (transport failure or item error), failed? is true,
  # error says why, and the verdict is the client's fail mode (:accept or :reject).
  class Result
    VERDICTS = %i[accept flag reject].freeze
    EFFECTS = %i[strip_media mark_sensitive unlist followers_only].freeze

    attr_reader :verdict, :effects, :score, :matches, :policy_version, :flag_id, :request_id,
                :error

    def initialize(verdict:, effects: [], score: 0.0, matches: [], policy_version: nil,
                   flag_id: nil, request_id: nil, error: nil)
      raise ArgumentError, "unknown verdict #{verdict.inspect}" unless VERDICTS.include?(verdict)

      @verdict = verdict
      @effects = effects.freeze
      @score = score
      @matches = matches.freeze
      @policy_version = policy_version
      @flag_id = flag_id
      @request_id = request_id
      @error = error
      freeze
    end

    # A result standing in for a decision fedwall could not make.
    def self.failure(fail_mode, code, message, request_id: nil)
      new(verdict: fail_mode == :closed ? :reject : :accept, request_id: request_id,
          error: ItemError.new(code: code, message: message))
    end

    def failed?
      !@error.nil?
    end

    def accept?
      @verdict == :accept
    end

    def flag?
      @verdict == :flag
    end

    def reject?
      @verdict == :reject
    end

    # Rule ids of the enforce-mode matches (monitor-mode rules change nothing).
    def rule_ids
      @matches.reject(&:monitor).map(&:rule_id)
    end

    def to_s
      parts = [verdict.to_s.upcase]
      parts << "effects=#{effects.join(',')}" unless effects.empty?
      parts << "rules=#{rule_ids.join(',')}" unless rule_ids.empty?
      parts << "flag_id=#{flag_id}" if flag_id
      parts << "failed (#{error})" if failed?
      parts.join(" ")
    end
    alias inspect to_s
  end
end
