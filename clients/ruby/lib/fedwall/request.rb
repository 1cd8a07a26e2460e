# frozen_string_literal: true

require "json"

module Fedwall
  # Turns the caller's Ruby values into fedwall.v1 messages, and checks them on the way:
  # facts come from the caller's own code, so a wrong key or type is a programming error and
  # raises ArgumentError at once instead of being sent as something the rules misread.
  module Request
    DELIVERY_FIELDS = {
      sender_domain: :string, remote_ip: :string, signature_verified: :bool,
      received_at: :time
    }.freeze
    ACTOR_FIELDS = {
      created_at: :time, followers_count: :count, following_count: :count,
      statuses_count: :count, bot: :bool, followed_by_local_users: :bool,
      display_name: :string, bio: :string
    }.freeze

    # Raised (inside the client) for an activity that cannot be sent; it becomes an
    # INVALID_ARGUMENT failure, decided by the fail mode, like a server-side refusal.
    class BadActivity < StandardError; end

    module_function

    def build(activity, delivery: nil, actor: nil, dry_run: false, request_id: nil)
      fields = { activity_json: activity_bytes(activity), dry_run: dry_run ? true : false }
      fields[:request_id] = request_id.to_s unless request_id.nil?
      fields[:delivery] = V1::DeliveryFacts.new(**facts(delivery, DELIVERY_FIELDS, "delivery")) if delivery
      fields[:actor] = V1::ActorFacts.new(**facts(actor, ACTOR_FIELDS, "actor")) if actor
      V1::EvaluateRequest.new(**fields)
    end

    def activity_bytes(activity)
      case activity
      when String then activity.b
      when Hash
        begin
          JSON.generate(activity).b
        rescue JSON::GeneratorError, JSON::NestingError, Encoding::UndefinedConversionError => e
          raise BadActivity, "activity cannot be serialised as JSON: #{e.message}"
        end
      else
        raise ArgumentError, "activity must be a JSON String or a Hash, not #{activity.class}"
      end
    end

    # Keeps only the facts that are known (nil means unknown, never zero or false).
    def facts(hash, spec, what)
      raise ArgumentError, "#{what} facts must be a Hash, not #{hash.class}" unless hash.is_a?(Hash)

      out = {}
      hash.each do |key, value|
        name = key.to_sym
        type = spec[name]
        raise ArgumentError, "unknown #{what} fact #{key.inspect} (known: #{spec.keys.join(', ')})" unless type
        next if value.nil?

        out[name] = convert(value, type, "#{what}.#{name}")
      end
      out
    end

    def convert(value, type, name)
      case type
      when :string
        raise ArgumentError, "#{name} must be a String" unless value.is_a?(String)

        utf8(value)
      when :bool
        raise ArgumentError, "#{name} must be true or false" unless [true, false].include?(value)

        value
      when :count
        unless value.is_a?(Integer) && value >= 0 && value < 2**64
          raise ArgumentError, "#{name} must be an Integer >= 0, not #{value.inspect}"
        end

        value
      when :time
        time = value.respond_to?(:to_time) ? value.to_time : value
        raise ArgumentError, "#{name} must be a Time, not #{value.class}" unless time.is_a?(Time)

        Google::Protobuf::Timestamp.new(seconds: time.to_i, nanos: time.nsec)
      end
    end

    # Protobuf strings must be valid UTF-8; display names and bios from remote servers are
    # not always, and a bad byte must not cost the whole decision.
    def utf8(value)
      s = value.dup
      s.force_encoding(Encoding::UTF_8) if s.encoding == Encoding::BINARY
      s = s.encode(Encoding::UTF_8, invalid: :replace, undef: :replace) unless s.encoding == Encoding::UTF_8
      s.valid_encoding? ? s : s.scrub
    end
  end
end
