# frozen_string_literal: true

require "fedwall/result"

module Fedwall
  # Glue between fedwall and Mastodon, written against duck-typed objects (anything with the
  # methods Mastodon's Account and Status have), so it loads and is tested without Rails.
  #
  # CreateHook is prepended to Mastodon's ActivityPub::Activity::Create by the initializer in
  # examples/mastodon_initializer.rb. That is a patch of Mastodon's internals (the class,
  # its #perform, @json, @account and @options are not a public API): pin it to the Mastodon
  # version you tested it with.
  module Mastodon
    # The forms of the public collection Mastodon accepts in to/cc.
    PUBLIC_COLLECTION = "https://www.w3.org/ns/activitystreams#Public"
    PUBLIC_FORMS = [PUBLIC_COLLECTION, "as:Public", "Public"].freeze
    # Mastodon's visibilities from widest to narrowest; effects only ever narrow.
    VISIBILITY_RANK = { "public" => 0, "unlisted" => 1, "private" => 2, "limited" => 3, "direct" => 3 }.freeze
    # Mastodon refuses report comments longer than this.
    REPORT_COMMENT_LIMIT = 1000

    # What the hook uses; set once at boot with Fedwall::Mastodon.configure.
    class Config
      # client: a Fedwall::Client (nil: the hook does nothing).
      # on_flag: called as on_flag.(status, result, account) after a FLAGged status is made.
      # on_reject: called as on_reject.(json, account, result) when an activity is dropped.
      # logger: where the hook reports errors of its own and of the callbacks.
      attr_accessor :client, :on_flag, :on_reject, :logger
    end

    class << self
      def config
        @config ||= Config.new
      end

      def configure
        yield config
        config
      end
    end

    module_function

    # ActorFacts from a Mastodon Account. Anything the object does not have is left out, so
    # the rules see it as unknown.
    def actor_facts(account)
      facts = {}
      facts[:created_at] = account.created_at if account.respond_to?(:created_at) && account.created_at
      %i[followers_count following_count statuses_count].each do |name|
        next unless account.respond_to?(name)

        value = account.public_send(name)
        # Mastodon's cached counters can drift below zero; fedwall's counts cannot.
        facts[name] = [Integer(value), 0].max unless value.nil?
      end
      facts[:bot] = account.bot? ? true : false if account.respond_to?(:bot?)
      followed = followed_by_local_users(account)
      facts[:followed_by_local_users] = followed unless followed.nil?
      if account.respond_to?(:display_name) && account.display_name.is_a?(String) && !account.display_name.empty?
        facts[:display_name] = account.display_name
      end
      facts[:bio] = account.note if account.respond_to?(:note) && account.note.is_a?(String) && !account.note.empty?
      facts
    end

    # Mastodon: account.followers.local.exists? (one indexed query). nil when the object
    # cannot tell; never "false" by guessing.
    def followed_by_local_users(account)
      return nil unless account.respond_to?(:followers)

      followers = account.followers
      return nil unless followers.respond_to?(:local)

      followers.local.exists? ? true : false
    end

    # DeliveryFacts: the domain that delivered the activity (the relay when it came through
    # one). received_at is left to fedwalld's clock unless given.
    def delivery_facts(account, relayed_through: nil, received_at: nil)
      facts = {}
      sender = relayed_through || account
      domain = sender.respond_to?(:domain) ? sender.domain : nil
      facts[:sender_domain] = domain if domain.is_a?(String) && !domain.empty?
      facts[:received_at] = received_at if received_at
      facts
    end

    # Applies effects to an ActivityPub object Hash before Mastodon reads it, so the status
    # is created already sensitive, unlisted or without media (nothing is ever distributed
    # in its unmoderated form). Mutates and returns object.
    def rewrite_object!(object, effects, followers_url: nil)
      return object unless object.is_a?(Hash)

      object["sensitive"] = true if effects.include?(:mark_sensitive)
      object["attachment"] = [] if effects.include?(:strip_media)
      to = as_array(object["to"])
      cc = as_array(object["cc"])
      if effects.include?(:followers_only)
        to -= PUBLIC_FORMS
        cc -= PUBLIC_FORMS
        to << followers_url if followers_url && !to.include?(followers_url)
        object["to"] = to
        object["cc"] = cc
      elsif effects.include?(:unlist) && to.any? { |a| PUBLIC_FORMS.include?(a) }
        # Mastodon reads "public in cc, not in to" as unlisted.
        object["to"] = to - PUBLIC_FORMS
        object["cc"] = cc.any? { |a| PUBLIC_FORMS.include?(a) } ? cc : cc + [PUBLIC_COLLECTION]
      end
      object
    end

    # Applies effects to a status already created (the object may have come by reference,
    # fetched inside Mastodon, where rewrite_object! could not reach it). Only narrows:
    # never widens a visibility or un-marks a status. Returns the effects that changed it.
    def apply_effects(status, effects)
      attrs = {}
      applied = []
      if effects.include?(:mark_sensitive) && !(status.respond_to?(:sensitive) && status.sensitive)
        attrs[:sensitive] = true
        applied << :mark_sensitive
      end
      target = if effects.include?(:followers_only) then "private"
               elsif effects.include?(:unlist) then "unlisted"
               end
      if target && status.respond_to?(:visibility)
        current = VISIBILITY_RANK.fetch(status.visibility.to_s, 0)
        if current < VISIBILITY_RANK[target]
          attrs[:visibility] = target.to_sym
          applied << (target == "private" ? :followers_only : :unlist)
        end
      end
      if effects.include?(:strip_media) && status.respond_to?(:media_attachments)
        media = status.media_attachments
        unless media.empty?
          media.respond_to?(:destroy_all) ? media.destroy_all : media.each(&:destroy)
          applied << :strip_media
        end
      end
      status.update!(attrs) unless attrs.empty?
      applied
    end

    # A report comment naming the flag and the rules, within Mastodon's length limit.
    def report_comment(result)
      rules = result.matches.reject(&:monitor).map { |m| "#{m.rule_id} (#{m.reason})" }
      text = +"fedwall"
      text << " flag #{result.flag_id}" if result.flag_id
      text << ": " << rules.join("; ") unless rules.empty?
      text.length > REPORT_COMMENT_LIMIT ? "#{text[0, REPORT_COMMENT_LIMIT - 1]}…" : text
    end

    # Asks fedwall about an inbound Create. Never raises: an error of this glue itself is a
    # failed Result under the client's fail mode, like fedwall being down.
    def evaluate_create(json, account, options = {})
      client = config.client
      client.evaluate(json,
                      actor: actor_facts(account),
                      delivery: delivery_facts(account, relayed_through: options[:relayed_through_actor]),
                      request_id: json["id"].is_a?(String) ? json["id"] : nil)
    rescue StandardError => e
      config.logger&.error("fedwall: evaluating a Create failed: #{e.class}: #{e.message}")
      Result.failure(client.respond_to?(:fail_mode) ? client.fail_mode : :open, "INTERNAL", "#{e.class}: #{e.message}")
    end

    # Whether Mastodon created the status just now. A redelivered Create finds the status
    # that already exists: it was moderated (and reported) the first time.
    def fresh?(status)
      !status.respond_to?(:previously_new_record?) || status.previously_new_record?
    end

    def as_array(value)
      case value
      when nil then []
      when Array then value.dup
      else [value]
      end
    end

    def run_callback(name, *args)
      callback = config.public_send(name)
      callback&.call(*args)
    rescue StandardError => e
      config.logger&.error("fedwall: #{name} failed: #{e.class}: #{e.message}")
    end

    # Prepended to ActivityPub::Activity::Create: asks fedwall before Mastodon creates the
    # status. REJECT: return without creating it. Effects: rewrite the object first, and apply
    # them to the created status. FLAG: create it, then call on_flag (file a report, or rely
    # on fedwall's own review queue, where the flag already is). A status that already
    # existed (a redelivery) is returned untouched.
    module CreateHook
      def perform
        hook = Fedwall::Mastodon
        return super if hook.config.client.nil? || !@json.is_a?(Hash)

        result = hook.evaluate_create(@json, @account, @options || {})
        if result.reject?
          hook.run_callback(:on_reject, @json, @account, result)
          return nil
        end

        unless result.effects.empty?
          followers_url = @account.respond_to?(:followers_url) ? @account.followers_url : nil
          hook.rewrite_object!(@json["object"], result.effects, followers_url: followers_url)
        end
        status = super
        return status unless status.respond_to?(:update!) && hook.fresh?(status)

        hook.apply_effects(status, result.effects) unless result.effects.empty?
        hook.run_callback(:on_flag, status, result, @account) if result.flag?
        status
      end
    end
  end
end
